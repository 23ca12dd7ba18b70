/* cocoonvirsh: errors, the connection, domain arguments, files and state words. */

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

void cli_error(const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    fflush(stdout);
    fprintf(stderr, "error: %s\n", msg);
    fflush(stderr);
}

void cli_print_extra(const CliCtl *ctl, const char *fmt, ...)
{
    va_list ap;

    if (ctl->quiet)
        return;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
}

void cli_error_report(const CvError *err)
{
    cli_error("%s", err && err->message ? err->message : "an error occurred, but the cause is unknown");
}

void cli_no_support(CvError **err, const char *api)
{
    cv_error_set(err, VIR_FROM_NONE, VIR_ERR_NO_SUPPORT, "%s", api);
}

CocoonConn *cli_conn(CliCtl *ctl)
{
    g_autoptr(CvError) err = NULL;

    if (ctl->conn)
        return ctl->conn;
    ctl->conn = cocoon_conn_open(ctl->uri, ctl->readonly ? VIR_CONNECT_RO : 0, &err);
    if (!ctl->conn) {
        cli_error("failed to connect to the hypervisor");
        cli_error_report(err);
    }
    return ctl->conn;
}

/* The whole of s as a non-negative int (virsh takes an id only in that form). */
static bool util_parse_id(const char *s, int *ret_id)
{
    char *end = NULL;
    long v;

    if (!g_ascii_isdigit(s[0]))
        return false;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > G_MAXINT)
        return false;
    *ret_id = (int)v;
    return true;
}

CocoonDomain *cli_domain_lookup(CliCtl *ctl, const CliArgs *args, const char *optname,
                                unsigned int by)
{
    const char *n = cli_args_string(args, optname);
    CocoonConn *conn = cli_conn(ctl);
    const CocoonDriver *drv;
    CocoonDomain *dom = NULL;
    unsigned char uuid[DOMAIN_UUID_LEN];
    int id;

    if (!conn || !n)
        return NULL;
    drv = conn->driver;
    /* Like virsh: try each accepted form in turn; the one message names what the user typed,
     * followed by the name lookup's reason when it is more than "no such domain". */
    g_autoptr(CvError) name_err = NULL;
    if ((by & CLI_BY_ID) && drv->domainLookupByID && util_parse_id(n, &id)) {
        g_autoptr(CvError) err = NULL;
        dom = drv->domainLookupByID(conn, id, &err);
    }
    if (!dom && (by & CLI_BY_UUID) && drv->domainLookupByUUID &&
        strlen(n) == DOMAIN_UUID_STRING_LEN - 1 && domain_uuid_parse(n, uuid) == 0) {
        g_autoptr(CvError) err = NULL;
        dom = drv->domainLookupByUUID(conn, uuid, &err);
    }
    if (!dom && (by & CLI_BY_NAME) && drv->domainLookupByName)
        dom = drv->domainLookupByName(conn, n, &name_err);
    if (!dom) {
        cli_error("failed to get domain '%s'", n);
        if (name_err && name_err->code != VIR_ERR_NO_DOMAIN && name_err->message)
            cli_error("%s", name_err->message);
    }
    return dom;
}

char *cli_file_read(const char *path)
{
    g_autoptr(GString) buf = g_string_new(NULL);
    char chunk[8192];
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        cli_error("Failed to open file '%s': %s", path, g_strerror(errno));
        return NULL;
    }
    while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            cli_error("Failed to read file '%s': %s", path, g_strerror(errno));
            close(fd);
            return NULL;
        }
        g_string_append_len(buf, chunk, n);
    }
    close(fd);
    return g_string_free(g_steal_pointer(&buf), FALSE);
}

const char *cli_state_to_string(int state)
{
    switch (state) {
    case VIR_DOMAIN_NOSTATE: return "no state";
    case VIR_DOMAIN_RUNNING: return "running";
    case VIR_DOMAIN_BLOCKED: return "idle";
    case VIR_DOMAIN_PAUSED: return "paused";
    case VIR_DOMAIN_SHUTDOWN: return "in shutdown";
    case VIR_DOMAIN_SHUTOFF: return "shut off";
    case VIR_DOMAIN_CRASHED: return "crashed";
    case VIR_DOMAIN_PMSUSPENDED: return "pmsuspended";
    }
    return "unknown";
}

/* Reason words per state, indexed by libvirt's reason numbers. */
static const char *const running_reasons[] = {
    "unknown", "booted", "migrated", "restored", "from snapshot", "unpaused",
    "migration canceled", "save canceled", "event wakeup", "crashed", "post-copy",
    "post-copy failed",
};
static const char *const paused_reasons[] = {
    "unknown", "user", "migrating", "saving", "dumping", "I/O error", "watchdog",
    "from snapshot", "shutting down", "creating snapshot", "crashed", "starting up",
    "post-copy", "post-copy failed", "api error",
};
static const char *const shutdown_reasons[] = { "unknown", "user" };
static const char *const shutoff_reasons[] = {
    "unknown", "shutdown", "destroyed", "crashed", "migrated", "saved", "failed",
    "from snapshot", "daemon",
};
static const char *const crashed_reasons[] = { "unknown", "panicked" };

#define REASON(table, r) ((r) >= 0 && (size_t)(r) < G_N_ELEMENTS(table) ? (table)[r] : "unknown")

const char *cli_state_reason_to_string(int state, int reason)
{
    switch (state) {
    case VIR_DOMAIN_RUNNING: return REASON(running_reasons, reason);
    case VIR_DOMAIN_PAUSED: return REASON(paused_reasons, reason);
    case VIR_DOMAIN_SHUTDOWN: return REASON(shutdown_reasons, reason);
    case VIR_DOMAIN_SHUTOFF: return REASON(shutoff_reasons, reason);
    case VIR_DOMAIN_CRASHED: return REASON(crashed_reasons, reason);
    }
    return "unknown";
}

void cli_uuid_string(const CocoonDomain *dom, char buf[DOMAIN_UUID_STRING_LEN])
{
    domain_uuid_format(dom->uuid, buf);
}
