#include "local.h"

#include <string.h>

#include "driver/domain_events.h"
#include "driver/domain_launch.h"
#include "driver/local_lifecycle.h"

/*
 * The domain events beyond lifecycle that the local driver raises: REBOOT (a guest reset:
 * FC's process restarted on the guest's reset, CH's vm.reboot, or whatever the CH process
 * code notices), BALLOON_CHANGE (a live setmem), JOB_COMPLETED (snapshots and save/restore
 * report their jobs here). Each is delivered to the callbacks registered for its id.
 */

static void
emit(CocoonConn *conn, const char *name, const unsigned char *uuid, int id,
     const CocoonDomainEvent *ev)
{
    LocalDriverPriv *priv = conn->priv;
    domain_events_emit(priv->events, conn, name, uuid, id, ev);
}

void
local_events_emit_reboot(CocoonConn *conn, const char *name, const unsigned char *uuid, int id)
{
    CocoonDomainEvent ev = {.event_id = VIR_DOMAIN_EVENT_ID_REBOOT};
    emit(conn, name, uuid, id, &ev);
}

void
local_events_emit_balloon_change(CocoonConn *conn, const char *name, const unsigned char *uuid,
                                 int id, unsigned long long actual_kib)
{
    CocoonDomainEvent ev = {.event_id = VIR_DOMAIN_EVENT_ID_BALLOON_CHANGE,
                            .actual_kib = actual_kib};
    emit(conn, name, uuid, id, &ev);
}

void
local_events_emit_job_completed(CocoonConn *conn, const char *name, const unsigned char *uuid,
                                int id, const CocoonTypedParams *params)
{
    CocoonTypedParams none = {0};
    CocoonDomainEvent ev = {.event_id = VIR_DOMAIN_EVENT_ID_JOB_COMPLETED,
                            .params = params ? params : &none};
    emit(conn, name, uuid, id, &ev);
}

/* The "reboot" notes of a boot's waiter (CH resets its guest in place, the process stays). */
static unsigned int
reboot_notes(DomainStore *store, const char *name)
{
    g_autofree char *live = domain_store_live_dir(store, name);
    g_autofree char *path = g_build_filename(live, DOMAIN_LAUNCH_NOTES, NULL);
    g_autofree char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL))
        return 0;
    unsigned int n = 0;
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    for (char **l = lines; *l; l++)
        n += strcmp(*l, DOMAIN_LAUNCH_NOTE_REBOOT) == 0;
    return n;
}

/* What the watcher saw of one running domain: its VMM and how many resets were noted. */
typedef struct {
    int pid;
    unsigned int reboots;
} RebootSeen;

void
local_events_check_reboots(CocoonConn *conn, GHashTable *seen)
{
    LocalDriverPriv *priv = conn->priv;
    g_autoptr(GPtrArray) entries = NULL;
    if (domain_store_list(priv->store, &entries, NULL) < 0)
        return;
    g_autoptr(GHashTable) alive = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint i = 0; i < entries->len; i++) {
        DomainStoreEntry *e = entries->pdata[i];
        if (!domain_status_is_active(&e->status))
            continue;
        g_hash_table_add(alive, e->name);
        unsigned int n = reboot_notes(priv->store, e->name);
        RebootSeen *s = g_hash_table_lookup(seen, e->name);
        if (!s || s->pid != e->status.pid) {
            /* a boot seen for the first time: what it noted before is history */
            s = g_new(RebootSeen, 1);
            *s = (RebootSeen){.pid = e->status.pid, .reboots = n};
            g_hash_table_replace(seen, g_strdup(e->name), s);
            continue;
        }
        for (; s->reboots < n; s->reboots++)
            local_events_emit_reboot(conn, e->name, e->uuid, e->status.id);
    }
    GHashTableIter it;
    gpointer key;
    g_hash_table_iter_init(&it, seen);
    while (g_hash_table_iter_next(&it, &key, NULL))
        if (!g_hash_table_contains(alive, key))
            g_hash_table_iter_remove(&it);
}
