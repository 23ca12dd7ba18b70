#include "rpc_dispatch.h"

#include <string.h>

#include "driver/driver_nowait.h"
#include "util/cv_sync.h"

/*
 * Message routing (loop thread) and call execution (worker threads): keepalive answered at
 * once, stream packets to the stream code, calls to the workers; every call gets exactly one
 * REPLY, an error one when anything goes wrong, NO_SUPPORT for what nobody serves.
 */

#define RPC_PROC_TABLE_SIZE 512

typedef struct {
    RpcClient *client; /* ref */
    cvr_message_header hdr;
    size_t len;
    guint8 body[];
} RpcJob;

static const RpcProcedure *remote_table[RPC_PROC_TABLE_SIZE];
static const RpcProcedure *cocoon_table[RPC_PROC_TABLE_SIZE];

static void
table_fill(const RpcProcedure **table, const RpcProcedure *procs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        g_assert(procs[i].proc > 0 && procs[i].proc < RPC_PROC_TABLE_SIZE);
        g_assert(!table[procs[i].proc]);
        table[procs[i].proc] = &procs[i];
    }
}

static gpointer
tables_init(gpointer unused)
{
    table_fill(remote_table, rpc_connect_procedures, rpc_connect_procedures_len);
    table_fill(remote_table, rpc_domain_procedures, rpc_domain_procedures_len);
    table_fill(remote_table, rpc_lifecycle_procedures, rpc_lifecycle_procedures_len);
    table_fill(remote_table, rpc_stream_procedures, rpc_stream_procedures_len);
    table_fill(remote_table, rpc_event_procedures, rpc_event_procedures_len);
    table_fill(remote_table, rpc_snapshot_procedures, rpc_snapshot_procedures_len);
    table_fill(remote_table, rpc_save_procedures, rpc_save_procedures_len);
    table_fill(remote_table, rpc_node_procedures, rpc_node_procedures_len);
    table_fill(remote_table, rpc_stats_procedures, rpc_stats_procedures_len);
    table_fill(cocoon_table, rpc_cocoon_procedures, rpc_cocoon_procedures_len);
    table_fill(cocoon_table, rpc_cocoon_ext_procedures, rpc_cocoon_ext_procedures_len);
    table_fill(cocoon_table, rpc_archive_procedures, rpc_archive_procedures_len);
    return NULL;
}

static const RpcProcedure *
table_lookup(guint prog, int proc)
{
    static GOnce once = G_ONCE_INIT;
    g_once(&once, tables_init, NULL);
    if (proc <= 0 || proc >= RPC_PROC_TABLE_SIZE)
        return NULL;
    return prog == CVR_COCOON_PROGRAM ? cocoon_table[proc] : remote_table[proc];
}

int
rpc_no_support(RpcCall *call, CvError **err)
{
    cv_error_set(err, VIR_FROM_NONE, VIR_ERR_NO_SUPPORT, "%s", call->api);
    return -1;
}

CocoonDomain *
rpc_domain_from_wire(RpcCall *call, const cvr_nonnull_domain *d)
{
    return cocoon_domain_new(call->conn, d->name, (const unsigned char *)d->uuid, d->id);
}

void
rpc_domain_to_wire(const CocoonDomain *dom, cvr_nonnull_domain *ret)
{
    ret->name = g_strdup(dom->name);
    memcpy(ret->uuid, dom->uuid, CVR_UUID_LEN);
    ret->id = dom->id;
}

int
rpc_domain_call_flags(RpcCall *call, RpcDomainFlagsFunc fn, const cvr_nonnull_domain *d,
                      unsigned int flags, CvError **err)
{
    if (!fn)
        return rpc_no_support(call, err);
    g_autoptr(CocoonDomain) dom = rpc_domain_from_wire(call, d);
    return fn(dom, flags, err);
}

int
rpc_domain_call(RpcCall *call, RpcDomainFunc fn, const cvr_nonnull_domain *d, CvError **err)
{
    if (!fn)
        return rpc_no_support(call, err);
    g_autoptr(CocoonDomain) dom = rpc_domain_from_wire(call, d);
    return fn(dom, err);
}

cvr_message_header
rpc_call_reply_header(const RpcCall *call)
{
    cvr_message_header h = *call->hdr;
    h.type = CVR_REPLY;
    h.status = CVR_OK;
    return h;
}

static GBytes *
reply_error(const cvr_message_header *call_hdr, const CvError *err)
{
    cvr_message_header h = *call_hdr;
    h.type = CVR_REPLY;
    return rpc_message_encode_error(&h, err);
}

/* The whole of one call: its reply (NULL: none to send, the client is gone or the handler
 * replied itself). On a worker, or on the loop thread for RPC_PROC_INLINE procedures. */
static GBytes *
call_execute(RpcServer *srv, RpcClient *c, const cvr_message_header *hdr, const guint8 *body,
             size_t len)
{
    g_autoptr(CvError) err = NULL;
    const RpcProcedure *p = table_lookup(hdr->prog, hdr->proc);
    g_autofree char *unknown = NULL;
    const char *api = p ? p->api : NULL;
    if (!api && hdr->prog == CVR_REMOTE_PROGRAM)
        api = rpc_names_remote_api(hdr->proc);
    if (!api)
        api = unknown = g_strdup_printf("procedure %d of program 0x%x", hdr->proc, hdr->prog);
    RpcCall call = {.srv = srv, .client = c, .conn = srv->conn, .hdr = hdr, .api = api};

    cv_mutex_lock(&c->lock);
    bool opened = c->opened, read_only = c->read_only, dead = c->dead;
    cv_mutex_unlock(&c->lock);
    if (dead)
        return NULL;
    if (!p || !p->handler) {
        rpc_no_support(&call, &err);
        return reply_error(hdr, err);
    }
    if (!opened && !(p->flags & RPC_PROC_NO_OPEN)) {
        cv_error_set(&err, VIR_FROM_RPC, VIR_ERR_RPC, "connection not open");
        return reply_error(hdr, err);
    }
    if (read_only && (p->flags & RPC_PROC_WRITE)) {
        cv_error_set(&err, VIR_FROM_NONE, VIR_ERR_OPERATION_DENIED,
                     "read only access prevents %s", api);
        return reply_error(hdr, err);
    }

    /* the arguments and answers of the procedures we serve are small: on the stack */
    union {
        guint8 bytes[512];
        double align;
    } args_buf, ret_buf;
    g_autofree void *args_heap = NULL, *ret_heap = NULL;
    void *args = NULL, *ret = NULL;
    if (p->args_size)
        args = p->args_size <= sizeof(args_buf) ? memset(args_buf.bytes, 0, p->args_size)
                                                : (args_heap = g_malloc0(p->args_size));
    if (p->ret_size)
        ret = p->ret_size <= sizeof(ret_buf) ? memset(ret_buf.bytes, 0, p->ret_size)
                                             : (ret_heap = g_malloc0(p->ret_size));
    if (p->args_filter) {
        if (rpc_message_decode_body(body, len, p->args_filter, args, p->args_size, &err) < 0)
            return reply_error(hdr, err);
    } else if (len != 0) {
        cv_error_set(&err, VIR_FROM_RPC, VIR_ERR_RPC, "unexpected arguments to %s", api);
        return reply_error(hdr, err);
    }

    int rc = p->handler(&call, args, ret, &err);
    if (p->args_filter)
        xdr_free(p->args_filter, args);
    if (rc == RPC_HANDLER_REPLIED)
        return NULL;
    if (rc < 0) {
        if (!err)
            cv_error_set(&err, VIR_FROM_RPC, VIR_ERR_INTERNAL_ERROR, "%s failed", api);
        return reply_error(hdr, err);
    }
    cvr_message_header h = rpc_call_reply_header(&call);
    GBytes *msg = rpc_message_encode(&h, p->ret_filter, ret, &err);
    if (p->ret_filter)
        xdr_free(p->ret_filter, ret);
    return msg ? msg : reply_error(hdr, err);
}

void
rpc_dispatch_job_run(gpointer data, gpointer user_data)
{
    RpcJob *job = data;
    cv_sync_taken(job);
    GBytes *msg = call_execute(user_data, job->client, &job->hdr, job->body, job->len);
    if (msg)
        rpc_client_send(job->client, msg);
    rpc_client_call_done(job->client);
    rpc_client_unref(job->client);
    g_free(job);
    /* the server's teardown comes after every job (g_thread_pool_free waits for them) */
    cv_sync_handover(user_data);
}

/* Loop thread: a CALL for the workers. */
static void
dispatch_queue_call(RpcClient *c, const cvr_message_header *hdr, const guint8 *body, size_t len)
{
    RpcJob *job = g_malloc(sizeof(RpcJob) + len);
    job->client = rpc_client_ref(c);
    job->hdr = *hdr;
    job->len = len;
    memcpy(job->body, body, len);
    cv_mutex_lock(&c->lock);
    c->inflight++;
    if (c->inflight >= c->srv->config.max_client_calls) {
        c->reading_paused = true;
        rpc_client_update_events_locked(c);
    }
    cv_mutex_unlock(&c->lock);
    cv_sync_handover(job);
    g_thread_pool_push(c->srv->pool, job, NULL);
}

/*
 * Loop thread: answer a read-only call here, without the round trip through a worker, when
 * its procedure is one that never waits (RPC_PROC_INLINE) and the client has no call in
 * flight (so its answers keep the order of its calls). The driver gives up where it would
 * wait after all (a VMM to reconcile, a slow search: driver_nowait.h); the call then goes to
 * the workers as any other. 1: answered here, 0: not.
 */
static int
dispatch_try_inline(RpcClient *c, const cvr_message_header *hdr, const guint8 *body, size_t len)
{
    const RpcProcedure *p = table_lookup(hdr->prog, hdr->proc);
    if (!p || !(p->flags & RPC_PROC_INLINE))
        return 0;
    cv_mutex_lock(&c->lock);
    bool idle = c->inflight == 0;
    cv_mutex_unlock(&c->lock);
    if (!idle)
        return 0;
    cocoon_nowait_begin();
    GBytes *msg = call_execute(c->srv, c, hdr, body, len);
    if (cocoon_nowait_end()) {
        if (msg)
            g_bytes_unref(msg);
        return 0;
    }
    if (msg)
        rpc_client_send(c, msg);
    return 1;
}

static void
dispatch_keepalive(RpcClient *c, const cvr_message_header *hdr)
{
    if (hdr->vers != CVR_KEEPALIVE_VERSION || hdr->type != CVR_MESSAGE ||
        hdr->proc != CVR_KEEPALIVE_PROC_PING)
        return; /* PONGs (we send no PINGs) and anything else: nothing to answer */
    rpc_client_send(c, rpc_message_encode_pong());
}

int
rpc_dispatch_message(RpcClient *c, const guint8 *buf, size_t len)
{
    g_autoptr(CvError) err = NULL;
    cvr_message_header hdr;
    if (rpc_message_decode_header(buf, len, &hdr, &err) < 0)
        return -1; /* cannot happen with len >= 24; be safe */
    const guint8 *body = buf + CVR_MESSAGE_HEADER_SIZE;
    size_t body_len = len - CVR_MESSAGE_HEADER_SIZE;

    if (hdr.prog == CVR_KEEPALIVE_PROGRAM) {
        dispatch_keepalive(c, &hdr);
        return 0;
    }
    bool is_call = hdr.type == CVR_CALL || hdr.type == CVR_CALL_WITH_FDS;
    guint want_vers = hdr.prog == CVR_REMOTE_PROGRAM   ? CVR_REMOTE_VERSION
                      : hdr.prog == CVR_COCOON_PROGRAM ? CVR_COCOON_VERSION
                                                       : 0;
    if (!want_vers || hdr.vers != want_vers) {
        if (!is_call)
            return 0;
        cv_error_set(&err, VIR_FROM_RPC, VIR_ERR_RPC, "cannot find program 0x%x version %u",
                     hdr.prog, hdr.vers);
        rpc_client_send(c, reply_error(&hdr, err));
        return 0;
    }
    switch (hdr.type) {
    case CVR_CALL:
        if (dispatch_try_inline(c, &hdr, body, body_len))
            return 0;
        dispatch_queue_call(c, &hdr, body, body_len);
        return 1;
    case CVR_CALL_WITH_FDS:
        cv_error_set(&err, VIR_FROM_RPC, VIR_ERR_RPC,
                     "passing file descriptors is not supported by this server");
        rpc_client_send(c, reply_error(&hdr, err));
        return 0;
    case CVR_STREAM:
        rpc_stream_handle_packet(c, &hdr, body, body_len);
        return 0;
    default:
        return 0; /* replies, events and holes from a client mean nothing to us */
    }
}
