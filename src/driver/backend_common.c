#include "backend_common.h"

#include <glib.h>

static int
backend_common_validate_action(const char *element, DomainLifecycleAction action,
                               const char *backend_name, CvError **err)
{
    switch (action) {
    case DOMAIN_LIFECYCLE_ACTION_DEFAULT:
    case DOMAIN_LIFECYCLE_ACTION_DESTROY:
    case DOMAIN_LIFECYCLE_ACTION_RESTART:
        return 0;
    default:
        break;
    }
    const char *name = domain_lifecycle_action_to_string(action);
    cv_error_set(err, VIR_FROM_DOMAIN, VIR_ERR_CONFIG_UNSUPPORTED,
                 "<%s> action '%s' is not supported by the %s backend", element,
                 name ? name : "?", backend_name);
    return -1;
}

int
backend_common_validate_lifecycle(const DomainDef *def, const char *backend_name,
                                  CvError **err)
{
    if (backend_common_validate_action("on_poweroff", def->on_poweroff, backend_name, err) < 0 ||
        backend_common_validate_action("on_reboot", def->on_reboot, backend_name, err) < 0 ||
        backend_common_validate_action("on_crash", def->on_crash, backend_name, err) < 0)
        return -1;
    return 0;
}

char *
backend_common_tap_name(const DomainDef *def, const BackendLowerCtx *ctx, size_t i)
{
    if (ctx->tap_names && ctx->tap_names[i])
        return g_strdup(ctx->tap_names[i]);
    if (def->nets[i]->target_dev)
        return g_strdup(def->nets[i]->target_dev);
    return g_strdup_printf("vnet%zu", i);
}

const char *
backend_common_disk_path(const DomainDef *def, const BackendLowerCtx *ctx, size_t i)
{
    if (ctx->disk_paths && ctx->disk_paths[i])
        return ctx->disk_paths[i];
    return def->disks[i]->source;
}
