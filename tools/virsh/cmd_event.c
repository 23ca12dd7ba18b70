/* cocoonvirsh: event — wait for domain events and print them as virsh does. */

#include <string.h>

#include "cli.h"
#include "util/cv_sync.h"

/* virsh's names of the event ids, by id (libvirt 9.0: 0 … 26) */
static const char *const event_names[] = {
    "lifecycle",       "reboot",         "rtc-change",          "watchdog",
    "io-error",        "graphics",       "io-error-reason",     "control-error",
    "block-job",       "disk-change",    "tray-change",         "pm-wakeup",
    "pm-suspend",      "balloon-change", "pm-suspend-disk",     "device-removed",
    "block-job-2",     "tunable",        "agent-lifecycle",     "device-added",
    "migration-iteration", "job-completed", "device-removal-failed", "metadata-change",
    "block-threshold", "memory-failure", "memory-device-size-change",
};

static const char *const lifecycle_events[] = {
    "Defined", "Undefined", "Started", "Suspended", "Resumed",
    "Stopped", "Shutdown",  "PMSuspended", "Crashed",
};

static const char *const lifecycle_details[][9] = {
    {"Added", "Updated", "Renamed", "Snapshot"},
    {"Removed", "Renamed"},
    {"Booted", "Migrated", "Restored", "Snapshot", "Event wakeup", "Recreated"},
    {"Paused", "Migrated", "I/O Error", "Watchdog", "Restored", "Snapshot", "API error",
     "Post-copy", "Post-copy Error"},
    {"Unpaused", "Migrated", "Snapshot", "Post-copy", "Post-copy Error"},
    {"Shutdown", "Destroyed", "Crashed", "Migrated", "Saved", "Failed", "Snapshot",
     "Daemon"},
    {"Finished", "Finished after guest request", "Finished after host request"},
    {"Memory", "Disk"},
    {"Panicked", "Crashloaded"},
};

typedef struct {
    GMutex lock;
    GCond cond;
    unsigned int count;
    bool timestamp;
} EventWait;

static void print_event(const CocoonDomain *dom, const CocoonDomainEvent *ev, bool timestamp)
{
    if (timestamp) {
        g_autoptr(GDateTime) now = g_date_time_new_now_local();
        g_autofree char *t = g_date_time_format(now, "%Y-%m-%d %H:%M:%S.%f");
        t[strlen(t) - 3] = '\0'; /* milliseconds */
        printf("%s+0000: ", t);
    }
    const char *name = ev->event_id >= 0 && ev->event_id < (int)G_N_ELEMENTS(event_names)
                           ? event_names[ev->event_id]
                           : "unknown";
    switch (ev->event_id) {
    case VIR_DOMAIN_EVENT_ID_LIFECYCLE: {
        bool known = ev->event >= 0 && ev->event < (int)G_N_ELEMENTS(lifecycle_events);
        const char *detail = known && ev->detail >= 0 && ev->detail < 9
                                 ? lifecycle_details[ev->event][ev->detail]
                                 : NULL;
        printf("event '%s' for domain '%s': %s %s\n", name, dom->name,
               known ? lifecycle_events[ev->event] : "unknown", detail ? detail : "unknown");
        break;
    }
    case VIR_DOMAIN_EVENT_ID_BALLOON_CHANGE:
        printf("event '%s' for domain '%s': %lluKiB\n", name, dom->name, ev->actual_kib);
        break;
    case VIR_DOMAIN_EVENT_ID_JOB_COMPLETED:
        printf("event '%s' for domain '%s':\n", name, dom->name);
        for (size_t i = 0; ev->params && i < ev->params->n; i++) {
            const CocoonTypedParam *p = &ev->params->params[i];
            if (p->type == VIR_TYPED_PARAM_STRING)
                printf("\t%s: %s\n", p->field, p->value.s);
            else if (p->type == VIR_TYPED_PARAM_INT)
                printf("\t%s: %d\n", p->field, p->value.i);
            else
                printf("\t%s: %llu\n", p->field, p->value.ul);
        }
        break;
    default:
        printf("event '%s' for domain '%s'\n", name, dom->name);
        break;
    }
    fflush(stdout);
}

static void event_wait_clear(gpointer p)
{
    EventWait *w = p;
    g_mutex_clear(&w->lock);
    g_cond_clear(&w->cond);
}

static void event_wait_release(gpointer p)
{
    g_atomic_rc_box_release_full(p, event_wait_clear);
}

static void on_event(CocoonConn *conn, const CocoonDomain *dom, const CocoonDomainEvent *ev,
                     void *opaque)
{
    EventWait *w = opaque;
    cv_mutex_lock(&w->lock);
    print_event(dom, ev, w->timestamp);
    w->count++;
    g_cond_broadcast(&w->cond);
    cv_mutex_unlock(&w->lock);
}

static bool cmd_event(CliCtl *ctl, const CliArgs *args)
{
    const char *event = cli_args_string(args, "event");
    const char *timeout_s = cli_args_string(args, "timeout");
    bool all = cli_args_bool(args, "all"), loop = cli_args_bool(args, "loop");
    g_autoptr(CocoonDomain) dom = NULL;
    guint64 timeout = 0;
    CocoonConn *conn;
    int ids[G_N_ELEMENTS(event_names)];
    size_t nids = 0;
    bool ok = true;

    if (cli_args_bool(args, "list")) {
        for (size_t i = 0; i < G_N_ELEMENTS(event_names); i++)
            printf("%s\n", event_names[i]);
        return true;
    }
    if (!event && !all) {
        cli_error("one of --list, --all, or --event <type> is required");
        return false;
    }
    if (event && all) {
        cli_error("Options --all and --event are mutually exclusive");
        return false;
    }
    if (timeout_s && (!g_ascii_string_to_unsigned(timeout_s, 10, 1, G_MAXINT / 1000, &timeout,
                                                   NULL))) {
        cli_error("Numeric value '%s' for <timeout> option is malformed or out of range",
                  timeout_s);
        return false;
    }
    int wanted = -1;
    for (size_t i = 0; event && i < G_N_ELEMENTS(event_names); i++)
        if (strcmp(event_names[i], event) == 0)
            wanted = (int)i;
    if (event && wanted < 0) {
        cli_error("unknown event type %s", event);
        return false;
    }
    if (!(conn = cli_conn(ctl)))
        return false;
    if (cli_args_string(args, "domain") &&
        !(dom = cli_domain_lookup(ctl, args, "domain", CLI_BY_ANY)))
        return false;

    /* shared with the callbacks, which may still run while they are deregistered: each
     * registration holds a reference */
    EventWait *wp = g_atomic_rc_box_new0(EventWait);
    wp->timestamp = cli_args_bool(args, "timestamp");
    g_mutex_init(&wp->lock);
    g_cond_init(&wp->cond);
#define w (*wp)
    for (int id = 0; id < (int)G_N_ELEMENTS(event_names); id++) {
        if (!all && id != wanted)
            continue;
        g_autoptr(CvError) err = NULL;
        int cb = CLI_CALL(conn, connectDomainEventRegisterAny, "virConnectDomainEventRegisterAny",
                          -1, &err, conn, dom, id, on_event, g_atomic_rc_box_acquire(wp),
                          event_wait_release, &err);
        if (cb < 0) {
            event_wait_release(wp);
            cli_error_report(err);
            ok = false;
            break;
        }
        ids[nids++] = cb;
    }
    bool timed_out = false;
    if (ok) {
        gint64 deadline = timeout ? g_get_monotonic_time() + (gint64)timeout * G_TIME_SPAN_SECOND
                                  : G_MAXINT64;
        cv_mutex_lock(&w.lock);
        while ((loop || w.count == 0) && !timed_out)
            if (!cv_cond_wait_until(&w.cond, &w.lock, deadline))
                timed_out = true;
        cv_mutex_unlock(&w.lock);
    }
    for (size_t i = 0; i < nids; i++) {
        g_autoptr(CvError) err = NULL;
        if (conn->driver->connectDomainEventDeregisterAny)
            conn->driver->connectDomainEventDeregisterAny(conn, ids[i], &err);
    }
    if (ok) {
        cv_mutex_lock(&w.lock);
        if (timed_out)
            printf("event loop timed out\n");
        printf("events received: %u\n", w.count);
        cv_mutex_unlock(&w.lock);
    }
#undef w
    event_wait_release(wp);
    /* virsh fails when the loop ended by its timeout */
    return ok && !timed_out;
}

static const CliOpt opts_event[] = {
    { "domain", CLI_OPT_STRING, 0, "filter by domain name, id or uuid" },
    { "event", CLI_OPT_STRING, CLI_OPT_POSITIONAL, "which event type to wait for" },
    { "all", CLI_OPT_BOOL, 0, "wait for all events instead of just one type" },
    { "loop", CLI_OPT_BOOL, 0, "loop until timeout or interrupt, rather than one-shot" },
    { "timeout", CLI_OPT_STRING, 0, "timeout seconds" },
    { "list", CLI_OPT_BOOL, 0, "list valid event types" },
    { "timestamp", CLI_OPT_BOOL, 0, "show timestamp for each printed event" },
    { NULL },
};

const CliCmd cli_cmds_event[] = {
    { "event", CLI_GROUP_DOMAIN, cmd_event, opts_event, "Domain Events",
      "List event types, or wait for domain events to occur" },
    { NULL },
};
