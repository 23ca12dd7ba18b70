#include <string.h>

#include "rpc_dispatch.h"
#include "util/cv_sync.h"

/*
 * Domain events. The modern path (316/317, events as 318 carrying our callbackID) and the
 * legacy one (105/106 and 167/168, events as 107). Each registration is one driver callback
 * whose opaque holds a reference to the client; the callback runs on whatever thread noticed
 * the change and only queues a message. A client's registrations end with its connection.
 */

typedef struct {
    RpcClient *client; /* ref */
    int callback_id;   /* ours, for 318; unused on the legacy path */
    bool legacy;
} RpcEventReg;

static void
event_reg_free(gpointer p)
{
    RpcEventReg *reg = p;
    rpc_client_unref(reg->client);
    g_free(reg);
}

/* The message of ev for reg (the legacy or the callback form), or NULL when ev has none
 * there. */
static GBytes *
event_encode(const RpcEventReg *reg, const CocoonDomain *dom, const CocoonDomainEvent *ev)
{
    cvr_message_header h = {.prog = CVR_REMOTE_PROGRAM,
                            .vers = CVR_REMOTE_VERSION,
                            .type = CVR_MESSAGE,
                            .serial = 0,
                            .status = CVR_OK};
    cvr_nonnull_domain wdom = {.name = dom->name, .id = dom->id};
    memcpy(wdom.uuid, dom->uuid, CVR_UUID_LEN);
    switch (ev->event_id) {
    case VIR_DOMAIN_EVENT_ID_LIFECYCLE: {
        cvr_domain_event_callback_lifecycle_msg m = {
            .callbackID = reg->callback_id,
            .msg = {.dom = wdom, .event = ev->event, .detail = ev->detail}};
        if (reg->legacy) {
            h.proc = CVR_PROC_DOMAIN_EVENT_LIFECYCLE;
            return rpc_message_encode(&h, (xdrproc_t)xdr_cvr_domain_event_lifecycle_msg, &m.msg,
                                      NULL);
        }
        h.proc = CVR_PROC_DOMAIN_EVENT_CALLBACK_LIFECYCLE;
        return rpc_message_encode(&h, (xdrproc_t)xdr_cvr_domain_event_callback_lifecycle_msg, &m,
                                  NULL);
    }
    case VIR_DOMAIN_EVENT_ID_REBOOT: {
        cvr_domain_event_callback_reboot_msg m = {.callbackID = reg->callback_id, .dom = wdom};
        if (reg->legacy) {
            h.proc = CVR_PROC_DOMAIN_EVENT_REBOOT;
            return rpc_message_encode(&h, (xdrproc_t)xdr_cvr_domain_event_reboot_msg, &m.dom,
                                      NULL);
        }
        h.proc = CVR_PROC_DOMAIN_EVENT_CALLBACK_REBOOT;
        return rpc_message_encode(&h, (xdrproc_t)xdr_cvr_domain_event_callback_reboot_msg, &m,
                                  NULL);
    }
    case VIR_DOMAIN_EVENT_ID_BALLOON_CHANGE: {
        cvr_domain_event_callback_balloon_change_msg m = {
            .callbackID = reg->callback_id, .dom = wdom, .actual = ev->actual_kib};
        if (reg->legacy) {
            cvr_domain_event_balloon_change_msg l = {.dom = wdom, .actual = ev->actual_kib};
            h.proc = CVR_PROC_DOMAIN_EVENT_BALLOON_CHANGE;
            return rpc_message_encode(&h, (xdrproc_t)xdr_cvr_domain_event_balloon_change_msg, &l,
                                      NULL);
        }
        h.proc = CVR_PROC_DOMAIN_EVENT_CALLBACK_BALLOON_CHANGE;
        return rpc_message_encode(&h, (xdrproc_t)xdr_cvr_domain_event_callback_balloon_change_msg,
                                  &m, NULL);
    }
    case VIR_DOMAIN_EVENT_ID_JOB_COMPLETED: {
        if (reg->legacy)
            return NULL; /* libvirt has no legacy form of it */
        cvr_domain_event_callback_job_completed_msg m = {.callbackID = reg->callback_id,
                                                         .dom = wdom};
        rpc_typed_params_to_wire(ev->params, &m.params.params_val, &m.params.params_len);
        h.proc = CVR_PROC_DOMAIN_EVENT_CALLBACK_JOB_COMPLETED;
        GBytes *msg = rpc_message_encode(
            &h, (xdrproc_t)xdr_cvr_domain_event_callback_job_completed_msg, &m, NULL);
        for (u_int i = 0; i < m.params.params_len; i++) {
            g_free(m.params.params_val[i].field);
            if (m.params.params_val[i].value.type == VIR_TYPED_PARAM_STRING)
                g_free(m.params.params_val[i].value.cvr_typed_param_value_u.s);
        }
        g_free(m.params.params_val);
        return msg;
    }
    default:
        return NULL; /* never raised */
    }
}

static void
event_deliver(CocoonConn *conn, const CocoonDomain *dom, const CocoonDomainEvent *ev,
              void *opaque)
{
    RpcEventReg *reg = opaque;
    GBytes *msg = event_encode(reg, dom, ev);
    if (msg)
        rpc_client_send(reg->client, msg);
}

/* Register with the driver; on success *ret_driver_id. */
static int
event_register(RpcCall *call, int event_id, const cvr_nonnull_domain *filter, bool legacy,
               int callback_id, int *ret_driver_id, CvError **err)
{
    RPC_REQUIRE(call, connectDomainEventRegisterAny, err);
    g_autoptr(CocoonDomain) dom = filter ? rpc_domain_from_wire(call, filter) : NULL;
    RpcEventReg *reg = g_new0(RpcEventReg, 1);
    reg->client = rpc_client_ref(call->client);
    reg->callback_id = callback_id;
    reg->legacy = legacy;
    int id = RPC_DRIVER(call, connectDomainEventRegisterAny)(call->conn, dom, event_id,
                                                             event_deliver, reg,
                                                             event_reg_free, err);
    if (id < 0) {
        event_reg_free(reg); /* not registered: the driver did not take it */
        return -1;
    }
    *ret_driver_id = id;
    return 0;
}

static void
event_deregister(RpcServer *srv, int driver_id)
{
    const CocoonDriver *drv = srv->conn->driver;
    g_autoptr(CvError) err = NULL;
    if (drv->connectDomainEventDeregisterAny)
        drv->connectDomainEventDeregisterAny(srv->conn, driver_id, &err);
}

static void
event_deregister_table(RpcServer *srv, GHashTable *table)
{
    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init(&it, table);
    while (g_hash_table_iter_next(&it, NULL, &value))
        event_deregister(srv, GPOINTER_TO_INT(value));
    g_hash_table_destroy(table);
}

void
rpc_event_deregister_all(RpcServer *srv, GHashTable *events, GHashTable *legacy_events)
{
    event_deregister_table(srv, events);
    event_deregister_table(srv, legacy_events);
}

/* Keep driver_id under key in table (c's lock); false if c is gone (then deregistered). */
static bool
event_keep(RpcCall *call, GHashTable *(*table_of)(RpcClient *), int key, int driver_id)
{
    RpcClient *c = call->client;
    cv_mutex_lock(&c->lock);
    bool alive = !c->dead;
    if (alive)
        g_hash_table_insert(table_of(c), GINT_TO_POINTER(key), GINT_TO_POINTER(driver_id));
    cv_mutex_unlock(&c->lock);
    if (!alive)
        event_deregister(call->srv, driver_id);
    return alive;
}

static GHashTable *
table_events(RpcClient *c)
{
    return c->events;
}

static GHashTable *
table_legacy(RpcClient *c)
{
    return c->legacy_events;
}

/* Take key out of table; false if it was not there. */
static bool
event_take(RpcCall *call, GHashTable *(*table_of)(RpcClient *), int key, int *ret_driver_id)
{
    RpcClient *c = call->client;
    gpointer value;
    cv_mutex_lock(&c->lock);
    bool found = g_hash_table_lookup_extended(table_of(c), GINT_TO_POINTER(key), NULL, &value);
    if (found)
        g_hash_table_remove(table_of(c), GINT_TO_POINTER(key));
    cv_mutex_unlock(&c->lock);
    if (found)
        *ret_driver_id = GPOINTER_TO_INT(value);
    return found;
}

static bool
event_legacy_registered(RpcCall *call, int event_id)
{
    cv_mutex_lock(&call->client->lock);
    bool found = g_hash_table_contains(call->client->legacy_events, GINT_TO_POINTER(event_id));
    cv_mutex_unlock(&call->client->lock);
    return found;
}

/* ---- modern path ---- */

static int
callback_register_any(RpcCall *call, void *a, void *r, CvError **err)
{
    cvr_connect_domain_event_callback_register_any_args *args = a;
    cvr_connect_domain_event_callback_register_any_ret *ret = r;
    cv_mutex_lock(&call->client->lock);
    int callback_id = call->client->next_callback_id++;
    cv_mutex_unlock(&call->client->lock);
    int driver_id;
    if (event_register(call, args->eventID, args->dom, false, callback_id, &driver_id, err) < 0)
        return -1;
    event_keep(call, table_events, callback_id, driver_id);
    ret->callbackID = callback_id;
    return 0;
}

static int
callback_deregister_any(RpcCall *call, void *a, void *r, CvError **err)
{
    cvr_connect_domain_event_callback_deregister_any_args *args = a;
    int driver_id;
    if (!event_take(call, table_events, args->callbackID, &driver_id)) {
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_INVALID_ARG,
                     "callback %d is not registered", args->callbackID);
        return -1;
    }
    event_deregister(call->srv, driver_id);
    return 0;
}

/* ---- legacy path ---- */

static int
legacy_register_id(RpcCall *call, int event_id, CvError **err)
{
    if (event_legacy_registered(call, event_id)) {
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_INTERNAL_ERROR,
                     "domain event %d already registered", event_id);
        return -1;
    }
    int driver_id;
    if (event_register(call, event_id, NULL, true, 0, &driver_id, err) < 0)
        return -1;
    event_keep(call, table_legacy, event_id, driver_id);
    return 0;
}

static int
legacy_deregister_id(RpcCall *call, int event_id, CvError **err)
{
    int driver_id;
    if (!event_take(call, table_legacy, event_id, &driver_id)) {
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_INTERNAL_ERROR,
                     "domain event %d not registered", event_id);
        return -1;
    }
    event_deregister(call->srv, driver_id);
    return 0;
}

static int
legacy_register(RpcCall *call, void *a, void *r, CvError **err)
{
    cvr_connect_domain_event_register_ret *ret = r;
    if (!event_legacy_registered(call, VIR_DOMAIN_EVENT_ID_LIFECYCLE) &&
        legacy_register_id(call, VIR_DOMAIN_EVENT_ID_LIFECYCLE, err) < 0)
        return -1;
    ret->cb_registered = 1;
    return 0;
}

static int
legacy_deregister(RpcCall *call, void *a, void *r, CvError **err)
{
    cvr_connect_domain_event_register_ret *ret = r;
    if (legacy_deregister_id(call, VIR_DOMAIN_EVENT_ID_LIFECYCLE, err) < 0)
        return -1;
    ret->cb_registered = 0;
    return 0;
}

static int
legacy_register_any(RpcCall *call, void *a, void *r, CvError **err)
{
    cvr_connect_domain_event_register_any_args *args = a;
    return legacy_register_id(call, args->eventID, err);
}

static int
legacy_deregister_any(RpcCall *call, void *a, void *r, CvError **err)
{
    cvr_connect_domain_event_register_any_args *args = a;
    return legacy_deregister_id(call, args->eventID, err);
}

const RpcProcedure rpc_event_procedures[] = {
    {CVR_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY, "virConnectDomainEventRegisterAny",
     RPC_XDR(cvr_connect_domain_event_callback_register_any_args),
     RPC_XDR(cvr_connect_domain_event_callback_register_any_ret), callback_register_any, 0},
    {CVR_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY,
     "virConnectDomainEventDeregisterAny",
     RPC_XDR(cvr_connect_domain_event_callback_deregister_any_args), RPC_NONE,
     callback_deregister_any, 0},
    {CVR_PROC_CONNECT_DOMAIN_EVENT_REGISTER, "virConnectDomainEventRegister", RPC_NONE,
     RPC_XDR(cvr_connect_domain_event_register_ret), legacy_register, 0},
    {CVR_PROC_CONNECT_DOMAIN_EVENT_DEREGISTER, "virConnectDomainEventDeregister", RPC_NONE,
     RPC_XDR(cvr_connect_domain_event_register_ret), legacy_deregister, 0},
    {CVR_PROC_CONNECT_DOMAIN_EVENT_REGISTER_ANY, "virConnectDomainEventRegisterAny",
     RPC_XDR(cvr_connect_domain_event_register_any_args), RPC_NONE, legacy_register_any, 0},
    {CVR_PROC_CONNECT_DOMAIN_EVENT_DEREGISTER_ANY, "virConnectDomainEventDeregisterAny",
     RPC_XDR(cvr_connect_domain_event_register_any_args), RPC_NONE, legacy_deregister_any, 0},
};
const size_t rpc_event_procedures_len = G_N_ELEMENTS(rpc_event_procedures);
