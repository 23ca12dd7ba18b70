#include "backend_common.h"

#include <glib.h>
#include <stdarg.h>
#include <string.h>

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

/* "WHAT is not supported by the BACKEND backend[: BECAUSE]" */
static int G_GNUC_PRINTF(4, 5)
machine_refuse(CvError **err, const char *backend_name, const char *because, const char *fmt,
               ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *what = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    cv_error_set(err, VIR_FROM_DOMAIN, VIR_ERR_CONFIG_UNSUPPORTED,
                 "%s is not supported by the %s backend%s%s", what, backend_name,
                 because ? ": " : "", because ? because : "");
    return -1;
}

int
backend_common_validate_machine(const DomainDef *def, const char *backend_name, bool acpi_ok,
                                CvError **err)
{
    bool x86 = !def->os.arch || strcmp(def->os.arch, "x86_64") == 0;
    if (def->feature_apic && !x86)
        return machine_refuse(err, backend_name, "an x86 feature", "<features> <apic/> on '%s'",
                              def->os.arch);
    if (def->feature_pae && !x86)
        return machine_refuse(err, backend_name, "an x86 feature", "<features> <pae/> on '%s'",
                              def->os.arch);
    if (def->feature_acpi && !acpi_ok)
        return machine_refuse(err, backend_name, "its Arm machine is described by a device tree",
                              "<features> <acpi/> on '%s'",
                              def->os.arch ? def->os.arch : "x86_64");
    for (size_t i = 0; i < def->ntimers; i++) {
        const DomainTimerDef *t = &def->timers[i];
        if (strcmp(t->name, "hpet") == 0 && t->present != 0)
            return machine_refuse(err, backend_name, "it has no HPET", "<timer name='hpet'>");
        if (strcmp(t->name, "tsc") == 0)
            return machine_refuse(err, backend_name, NULL, "<timer name='tsc'>");
        if (strcmp(t->name, "kvmclock") == 0 && t->present == 0)
            return machine_refuse(err, backend_name, "kvmclock is the guest's clock",
                                  "<timer name='kvmclock' present='no'>");
    }
    return 0;
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
