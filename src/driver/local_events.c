#include "local.h"

#include "driver/domain_events.h"

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
