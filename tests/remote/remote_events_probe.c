/*
 * remote_events_probe URI XMLFILE: through the remote driver, register for lifecycle events
 * of every domain, define XMLFILE, undefine it, and print each event the callback receives
 * (it runs on the client's reader thread) as "event NAME EVENT DETAIL". Exit 0 when both
 * arrived, 1 on an error, 2 when the server has no events (prints "no events: …").
 */

#include <stdio.h>
#include <stdlib.h>

#include "driver/driver_remote.h"
#include "rpc/client/remote_client.h"

typedef struct {
    GMutex lock;
    GCond cond;
    GString *seen;
    int count;
    bool freed;
} Probe;

static void
probe_event(CocoonConn *conn, const CocoonDomain *dom, const CocoonDomainEvent *ev, void *opaque)
{
    Probe *p = opaque;
    g_mutex_lock(&p->lock);
    g_string_append_printf(p->seen, "event %s %d %d\n", dom->name, ev->event, ev->detail);
    p->count++;
    g_cond_broadcast(&p->cond);
    g_mutex_unlock(&p->lock);
}

static void
probe_free(void *opaque)
{
    ((Probe *)opaque)->freed = true;
}

static int
probe_fail(const char *what, CvError *err)
{
    fprintf(stderr, "%s: %s\n", what, err ? err->message : "?");
    cv_error_free(err);
    return 1;
}

int
main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s URI XMLFILE\n", argv[0]);
        return 1;
    }
    cocoon_conn_set_remote_opener(remote_driver_open);
    CvError *err = NULL;
    g_autofree char *xml = NULL;
    if (!g_file_get_contents(argv[2], &xml, NULL, NULL))
        return probe_fail("read", NULL);
    g_autoptr(CocoonConn) conn = cocoon_conn_open(argv[1], 0, &err);
    if (!conn)
        return probe_fail("open", err);

    Probe p = {.seen = g_string_new(NULL)};
    g_mutex_init(&p.lock);
    g_cond_init(&p.cond);
    int id = conn->driver->connectDomainEventRegisterAny(conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                                         probe_event, &p, probe_free, &err);
    if (id < 0) {
        int code = err->code;
        printf("no events: %s\n", err->message);
        cv_error_free(err);
        g_string_free(p.seen, TRUE);
        return code == VIR_ERR_NO_SUPPORT ? 2 : 1;
    }
    g_autoptr(CocoonDomain) dom = conn->driver->domainDefineXMLFlags(conn, xml, 0, &err);
    if (!dom)
        return probe_fail("define", err);
    if (conn->driver->domainUndefineFlags(dom, 0, &err) < 0)
        return probe_fail("undefine", err);

    gint64 deadline = g_get_monotonic_time() + 10 * G_TIME_SPAN_SECOND;
    g_mutex_lock(&p.lock);
    while (p.count < 2 && g_cond_wait_until(&p.cond, &p.lock, deadline))
        ;
    g_mutex_unlock(&p.lock);

    if (conn->driver->connectDomainEventDeregisterAny(conn, id, &err) < 0)
        return probe_fail("deregister", err);
    fputs(p.seen->str, stdout);
    printf("freed %s\n", p.freed ? "yes" : "no");
    int ok = p.count >= 2 && p.freed;
    g_string_free(p.seen, TRUE);
    g_cond_clear(&p.cond);
    g_mutex_clear(&p.lock);
    return ok ? 0 : 1;
}
