#include "backend_common.h"

#include <fcntl.h>
#include <glib.h>
#include <string.h>
#include <unistd.h>

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

bool
backend_common_log_has(const char *path, const char *needle)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    bool found = false;
    char buf[8192];
    size_t want = strlen(needle), keep = 0; /* kept between reads: a match may span two */
    off_t at = 0;
    for (;;) {
        ssize_t n = pread(fd, buf + keep, sizeof(buf) - 1 - keep, at);
        if (n <= 0)
            break;
        at += n;
        size_t len = keep + (size_t)n;
        buf[len] = '\0';
        if (g_strstr_len(buf, (gssize)len, needle)) {
            found = true;
            break;
        }
        keep = MIN(len, want - 1);
        memmove(buf, buf + len - keep, keep);
    }
    close(fd);
    return found;
}
