#include "backend_common.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

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

/* ---- the guest's address: the kernel's ip= ---------------------------------------------- */

unsigned int
backend_common_ip_prefix(const DomainNetIPDef *ip)
{
    unsigned char addr[sizeof(struct in6_addr)] = {0};
    if (ip->prefix || ip->is_ipv6)
        return ip->prefix ? ip->prefix : 64;
    if (inet_pton(AF_INET, ip->address, addr) != 1)
        return 0;
    if (addr[0] < 128)
        return 8;
    if (addr[0] < 192)
        return 16;
    if (addr[0] < 224)
        return 24;
    return 0;
}

char *
backend_common_netmask(bool is_ipv6, unsigned int prefix)
{
    unsigned char mask[sizeof(struct in6_addr)] = {0};
    char text[INET6_ADDRSTRLEN];
    for (unsigned int i = 0; i < prefix && i < (is_ipv6 ? 128u : 32u); i++)
        mask[i / 8] |= (unsigned char)(0x80u >> (i % 8));
    /* cannot fail: the buffer fits any address of the family */
    g_assert(inet_ntop(is_ipv6 ? AF_INET6 : AF_INET, mask, text, sizeof(text)));
    return g_strdup(text);
}

static int G_GNUC_PRINTF(3, 4)
backend_common_refuse(CvError **err, const char *backend_name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *what = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    cv_error_set(err, VIR_FROM_DOMAIN, VIR_ERR_CONFIG_UNSUPPORTED,
                 "%s is not supported by the %s backend%s", what, backend_name,
                 ": the guest's address is passed as the kernel's ip=, one IPv4 address with "
                 "at most a default gateway");
    return -1;
}

int
backend_common_validate_guest_ip(const DomainDef *def, const DomainNetDef *net,
                                 const char *backend_name, CvError **err)
{
    if (net->type != DOMAIN_NET_TYPE_BRIDGE)
        return 0; /* host end and peer: the driver sets them on the TAP */
    if (net->nroutes > 0 && net->nips == 0)
        return backend_common_refuse(err, backend_name,
                                     "<interface type='bridge'> <route> without an <ip>");
    if (net->nips > 1)
        return backend_common_refuse(err, backend_name,
                                     "<interface type='bridge'> with more than one <ip>");
    for (size_t i = 0; i < net->nips; i++) {
        const DomainNetIPDef *ip = &net->ips[i];
        if (ip->is_ipv6 || ip->peer)
            return backend_common_refuse(err, backend_name,
                                         "<interface type='bridge'> <ip> %s '%s'",
                                         ip->peer ? "peer" : "IPv6 address",
                                         ip->peer ? ip->peer : ip->address);
        if (backend_common_ip_prefix(ip) == 0)
            return backend_common_refuse(err, backend_name,
                                         "<interface type='bridge'> <ip> address '%s' without "
                                         "a prefix", ip->address);
        if (!def->os.kernel)
            return backend_common_refuse(err, backend_name,
                                         "<interface type='bridge'> <ip> without a <kernel>");
    }
    for (size_t i = 0; i < net->nroutes; i++) {
        const DomainNetRouteDef *route = &net->routes[i];
        if (route->is_ipv6 || route->prefix != 0 || strcmp(route->address, "0.0.0.0") != 0 ||
            i > 0)
            return backend_common_refuse(err, backend_name,
                                         "<interface type='bridge'> <route> to '%s/%u'",
                                         route->address, route->prefix);
    }
    return 0;
}

/* Whether the kernel command line sets parameter key (before a "--", after which all is init's). */
static bool
backend_common_cmdline_has(const char *cmdline, const char *key)
{
    g_auto(GStrv) words = g_strsplit_set(cmdline ? cmdline : "", " \t\n", -1);
    size_t len = strlen(key);
    for (char **w = words; *w; w++) {
        if (strcmp(*w, "--") == 0)
            break;
        if (strncmp(*w, key, len) == 0 && ((*w)[len] == '=' || (*w)[len] == '\0'))
            return true;
    }
    return false;
}

char *
backend_common_kernel_ip(const DomainDef *def)
{
    if (!def->os.kernel || backend_common_cmdline_has(def->os.cmdline, "ip"))
        return NULL;
    for (size_t i = 0; i < def->nnets; i++) {
        const DomainNetDef *net = def->nets[i];
        for (size_t j = 0; j < net->nips; j++) {
            const DomainNetIPDef *ip = &net->ips[j];
            if (ip->is_ipv6)
                continue;
            const char *client = NULL;
            const char *gateway = "";
            if (net->type == DOMAIN_NET_TYPE_BRIDGE) {
                client = ip->address;
                if (net->nroutes > 0)
                    gateway = net->routes[0].gateway;
            } else if (ip->peer) {
                client = ip->peer;
                gateway = ip->address;
            }
            if (!client)
                continue;
            g_autofree char *mask = backend_common_netmask(false, backend_common_ip_prefix(ip));
            return g_strdup_printf("ip=%s::%s:%s::eth%zu:off", client, gateway, mask, i);
        }
    }
    return NULL;
}
