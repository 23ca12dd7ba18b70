#include <string.h>

#include "remote_priv.h"
#include "util/cv_sync.h"

/*
 * Domain events over the callback path (§1.10, feature 14): CONNECT_DOMAIN_EVENT_CALLBACK_
 * REGISTER_ANY (316) gives a callbackID chosen by the server, events come as 318 carrying
 * it, 317 ends a registration. The id the caller sees is the server's callbackID. Callbacks
 * run on the connection's reader thread, outside every lock of ours.
 */

typedef struct {
    gint refs; /* the table's, and one per callback running */
    int callback_id;
    CocoonDomainEventFunc cb;
    void *opaque;
    GDestroyNotify free_opaque;
} RemoteEventReg;

static RemoteEventReg *
event_reg_ref(RemoteEventReg *reg)
{
    g_atomic_int_inc(&reg->refs);
    return reg;
}

static void
event_reg_unref(RemoteEventReg *reg)
{
    if (!g_atomic_int_dec_and_test(&reg->refs))
        return;
    if (reg->free_opaque)
        reg->free_opaque(reg->opaque);
    g_free(reg);
}

int
remote_event_register_any(CocoonConn *conn, CocoonDomain *dom, int event_id,
                          CocoonDomainEventFunc cb, void *opaque,
                          GDestroyNotify free_opaque, CvError **err)
{
    RemotePriv *priv = remote_priv(conn);
    if (!priv->events_supported) {
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_NO_SUPPORT, "%s",
                     "virConnectDomainEventRegisterAny");
        return -1;
    }
    cvr_nonnull_domain filter;
    cvr_connect_domain_event_callback_register_any_args args = {.eventID = event_id};
    if (dom) {
        remote_domain_to_wire(dom, &filter);
        args.dom = &filter;
    }
    cvr_connect_domain_event_callback_register_any_ret ret;
    if (remote_call(conn, CVR_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY,
                    (xdrproc_t)xdr_cvr_connect_domain_event_callback_register_any_args, &args,
                    (xdrproc_t)xdr_cvr_connect_domain_event_callback_register_any_ret, &ret,
                    sizeof(ret), err) < 0)
        return -1;

    RemoteEventReg *reg = g_new0(RemoteEventReg, 1);
    reg->refs = 1;
    reg->callback_id = ret.callbackID;
    reg->cb = cb;
    reg->opaque = opaque;
    reg->free_opaque = free_opaque;
    cv_mutex_lock(&priv->event_lock);
    RemoteEventReg *old = g_hash_table_lookup(priv->events, GINT_TO_POINTER(reg->callback_id));
    g_hash_table_replace(priv->events, GINT_TO_POINTER(reg->callback_id), reg);
    cv_mutex_unlock(&priv->event_lock);
    if (old)
        event_reg_unref(old); /* a server reusing an id: the old one is gone there */
    return reg->callback_id;
}

int
remote_event_deregister_any(CocoonConn *conn, int callback_id, CvError **err)
{
    RemotePriv *priv = remote_priv(conn);
    cv_mutex_lock(&priv->event_lock);
    bool known = g_hash_table_contains(priv->events, GINT_TO_POINTER(callback_id));
    cv_mutex_unlock(&priv->event_lock);
    if (!known) {
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_INVALID_ARG,
                     "could not find event callback %d for deletion", callback_id);
        return -1;
    }
    cvr_connect_domain_event_callback_deregister_any_args args = {.callbackID = callback_id};
    if (remote_call(conn, CVR_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY,
                    (xdrproc_t)xdr_cvr_connect_domain_event_callback_deregister_any_args, &args,
                    NULL, NULL, 0, err) < 0)
        return -1;
    cv_mutex_lock(&priv->event_lock);
    RemoteEventReg *reg = g_hash_table_lookup(priv->events, GINT_TO_POINTER(callback_id));
    if (reg)
        g_hash_table_remove(priv->events, GINT_TO_POINTER(callback_id));
    cv_mutex_unlock(&priv->event_lock);
    if (reg)
        event_reg_unref(reg);
    return 0;
}

/* The registration of callbackID, with a reference, or NULL. */
static RemoteEventReg *
event_reg_find(RemotePriv *priv, int callback_id)
{
    cv_mutex_lock(&priv->event_lock);
    RemoteEventReg *reg = g_hash_table_lookup(priv->events, GINT_TO_POINTER(callback_id));
    if (reg)
        event_reg_ref(reg);
    cv_mutex_unlock(&priv->event_lock);
    return reg;
}

static void
event_deliver(RemotePriv *priv, int callback_id, const cvr_nonnull_domain *wdom,
              const CocoonDomainEvent *ev)
{
    RemoteEventReg *reg = event_reg_find(priv, callback_id);
    if (!reg)
        return;
    g_autoptr(CocoonDomain) dom = remote_domain_from_wire(priv->conn, wdom);
    reg->cb(priv->conn, dom, ev, reg->opaque);
    event_reg_unref(reg);
}

void
remote_event_message(RemoteConn *rc, const cvr_message_header *hdr, const guint8 *body,
                     size_t len, void *opaque)
{
    RemotePriv *priv = opaque;
    g_autoptr(CvError) err = NULL;
    /* a malformed event has nothing to deliver */
    switch (hdr->proc) {
    case CVR_PROC_DOMAIN_EVENT_CALLBACK_LIFECYCLE: {
        cvr_domain_event_callback_lifecycle_msg m;
        if (rpc_message_decode_body(body, len,
                                    (xdrproc_t)xdr_cvr_domain_event_callback_lifecycle_msg, &m,
                                    sizeof(m), &err) < 0)
            return;
        CocoonDomainEvent ev = {.event_id = VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                .event = m.msg.event,
                                .detail = m.msg.detail};
        event_deliver(priv, m.callbackID, &m.msg.dom, &ev);
        xdr_free((xdrproc_t)xdr_cvr_domain_event_callback_lifecycle_msg, (char *)&m);
        return;
    }
    case CVR_PROC_DOMAIN_EVENT_CALLBACK_REBOOT: {
        cvr_domain_event_callback_reboot_msg m;
        if (rpc_message_decode_body(body, len, (xdrproc_t)xdr_cvr_domain_event_callback_reboot_msg,
                                    &m, sizeof(m), &err) < 0)
            return;
        CocoonDomainEvent ev = {.event_id = VIR_DOMAIN_EVENT_ID_REBOOT};
        event_deliver(priv, m.callbackID, &m.dom, &ev);
        xdr_free((xdrproc_t)xdr_cvr_domain_event_callback_reboot_msg, (char *)&m);
        return;
    }
    case CVR_PROC_DOMAIN_EVENT_CALLBACK_BALLOON_CHANGE: {
        cvr_domain_event_callback_balloon_change_msg m;
        if (rpc_message_decode_body(body, len,
                                    (xdrproc_t)xdr_cvr_domain_event_callback_balloon_change_msg,
                                    &m, sizeof(m), &err) < 0)
            return;
        CocoonDomainEvent ev = {.event_id = VIR_DOMAIN_EVENT_ID_BALLOON_CHANGE,
                                .actual_kib = m.actual};
        event_deliver(priv, m.callbackID, &m.dom, &ev);
        xdr_free((xdrproc_t)xdr_cvr_domain_event_callback_balloon_change_msg, (char *)&m);
        return;
    }
    default:
        return; /* an event Cocoon does not raise */
    }
}

void
remote_event_free_all(RemotePriv *priv)
{
    cv_mutex_lock(&priv->event_lock);
    GList *regs = g_hash_table_get_values(priv->events);
    g_hash_table_remove_all(priv->events);
    cv_mutex_unlock(&priv->event_lock);
    g_list_free_full(regs, (GDestroyNotify)event_reg_unref);
}
