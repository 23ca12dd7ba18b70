#include <errno.h>
#include <string.h>
#include <sys/epoll.h>

#include "rpc_dispatch.h"
#include "util/cv_sync.h"

/*
 * Console streams (DOMAIN_OPEN_CONSOLE, protocol brief §1.9). The open runs on a worker like
 * any call; from then on the loop thread relays: bytes the driver's stream has become STREAM
 * packets (status CONTINUE, at most 262144 bytes each), the client's STREAM packets go to the
 * driver's stream, and finish/abort are confirmed with an empty STREAM OK. A client whose
 * queue is long stops the reading of its streams until the queue drains.
 */

#define RPC_STREAM_HIGH_WATER (1024 * 1024)

cvr_message_header
rpc_stream_header(const RpcStream *s, int status)
{
    cvr_message_header h = {.prog = s->prog,
                            .vers = s->vers,
                            .proc = s->proc,
                            .type = CVR_STREAM,
                            .serial = s->serial,
                            .status = status};
    return h;
}

static void
stream_free(gpointer p)
{
    RpcStream *s = p;
    cocoon_stream_free(s->st);
    if (s->job)
        rpc_archive_job_unref(s->job);
    g_free(s);
}

void
rpc_stream_close(RpcStream *s, bool abort)
{
    RpcServer *srv = s->client->srv;
    if (s->fd >= 0)
        epoll_ctl(srv->epfd, EPOLL_CTL_DEL, s->fd, NULL);
    if (s->job) {
        rpc_archive_close(s);
    } else if (abort) {
        g_autoptr(CvError) err = NULL;
        cocoon_stream_abort(s->st, &err); /* the client is gone: nobody to tell */
    }
    rpc_server_defer_free(srv, s, stream_free);
}

void
rpc_stream_remove(RpcStream *s, bool abort)
{
    RpcClient *c = s->client;
    cv_mutex_lock(&c->lock);
    bool mine = g_hash_table_lookup(c->streams, GUINT_TO_POINTER(s->serial)) == s;
    if (mine)
        g_hash_table_remove(c->streams, GUINT_TO_POINTER(s->serial));
    cv_mutex_unlock(&c->lock);
    if (mine)
        rpc_stream_close(s, abort);
}

void
rpc_stream_send_status(RpcStream *s, int status, const CvError *err)
{
    cvr_message_header h = rpc_stream_header(s, status);
    GBytes *msg = status == CVR_ERROR ? rpc_message_encode_error(&h, err)
                                      : rpc_message_encode(&h, NULL, NULL, NULL);
    rpc_client_send(s->client, msg);
}

static void
stream_set_polled(RpcStream *s, bool polled)
{
    if (s->fd < 0)
        return;
    struct epoll_event ev = {.events = polled ? EPOLLIN : 0, .data.ptr = &s->watch};
    epoll_ctl(s->client->srv->epfd, EPOLL_CTL_MOD, s->fd, &ev);
    s->paused = !polled;
}

void
rpc_stream_handle_events(RpcStream *s, guint32 events)
{
    if (s->job) {
        rpc_archive_handle_events(s, events);
        return;
    }
    static guint8 *buf; /* loop thread only */
    if (!buf)
        buf = g_malloc(CVR_STREAM_CHUNK_MAX);
    g_autoptr(CvError) err = NULL;
    ssize_t n = cocoon_stream_recv(s->st, (char *)buf, CVR_STREAM_CHUNK_MAX, &err);
    if (n == -2)
        return;
    if (n < 0) {
        rpc_stream_send_status(s, CVR_ERROR, err);
        rpc_stream_remove(s, true);
        return;
    }
    if (n == 0) {
        /* the console's end closed first: tell the client the stream is over */
        rpc_stream_send_status(s, CVR_OK, NULL);
        rpc_stream_remove(s, false);
        return;
    }
    cvr_message_header h = rpc_stream_header(s, CVR_CONTINUE);
    RpcClient *c = s->client;
    cv_mutex_lock(&c->lock);
    rpc_client_send_locked(c, rpc_message_encode_raw(&h, buf, (size_t)n));
    bool full = c->out_bytes > RPC_STREAM_HIGH_WATER;
    cv_mutex_unlock(&c->lock);
    if (full)
        stream_set_polled(s, false);
}

void
rpc_stream_resume_all(RpcClient *c)
{
    cv_mutex_lock(&c->lock);
    GList *streams = g_hash_table_get_values(c->streams);
    cv_mutex_unlock(&c->lock);
    for (GList *l = streams; l; l = l->next) {
        RpcStream *s = l->data;
        if (s->paused)
            stream_set_polled(s, true);
    }
    g_list_free(streams);
}

void
rpc_stream_handle_packet(RpcClient *c, const cvr_message_header *hdr, const guint8 *data,
                         size_t len)
{
    cv_mutex_lock(&c->lock);
    RpcStream *s = g_hash_table_lookup(c->streams, GUINT_TO_POINTER(hdr->serial));
    cv_mutex_unlock(&c->lock);
    if (!s || s->proc != hdr->proc || s->prog != hdr->prog)
        return; /* a stream already ended: its late packets are dropped */
    if (s->job) {
        rpc_archive_handle_packet(s, hdr, data, len);
        return;
    }

    g_autoptr(CvError) err = NULL;
    switch (hdr->status) {
    case CVR_CONTINUE:
        if (len && cocoon_stream_send(s->st, (const char *)data, len, &err) < 0) {
            rpc_stream_send_status(s, CVR_ERROR, err);
            rpc_stream_remove(s, true);
        }
        return;
    case CVR_OK: /* finish */
        if (cocoon_stream_finish(s->st, &err) < 0)
            rpc_stream_send_status(s, CVR_ERROR, err);
        else
            rpc_stream_send_status(s, CVR_OK, NULL);
        rpc_stream_remove(s, false);
        return;
    case CVR_ERROR: /* abort */
        cocoon_stream_abort(s->st, &err);
        rpc_stream_send_status(s, CVR_OK, NULL);
        rpc_stream_remove(s, false);
        return;
    default:
        return;
    }
}

int
rpc_stream_register(RpcCall *call, RpcStream *s, guint32 events, CvError **err)
{
    RpcClient *c = call->client;
    s->watch.kind = RPC_WATCH_STREAM;
    s->watch.obj = s;
    s->client = c;
    s->proc = call->hdr->proc;
    s->serial = call->hdr->serial;
    cv_mutex_lock(&c->lock);
    if (c->dead || g_hash_table_contains(c->streams, GUINT_TO_POINTER(s->serial))) {
        cv_mutex_unlock(&c->lock);
        cv_error_set(err, VIR_FROM_STREAMS, VIR_ERR_RPC, "a stream with serial %u is open",
                     call->hdr->serial);
        return -1;
    }
    /* the REPLY goes out before any stream data: both leave through the same queue */
    cvr_message_header h = rpc_call_reply_header(call);
    rpc_client_send_locked(c, rpc_message_encode(&h, NULL, NULL, NULL));
    g_hash_table_insert(c->streams, GUINT_TO_POINTER(s->serial), s);
    if (s->fd >= 0) {
        struct epoll_event ev = {.events = events, .data.ptr = &s->watch};
        if (epoll_ctl(c->srv->epfd, EPOLL_CTL_ADD, s->fd, &ev) < 0 && !s->job)
            s->fd = -1; /* writes still go through; nothing to read */
    }
    cv_mutex_unlock(&c->lock);
    return 0;
}

static int
domain_open_console(RpcCall *call, void *a, void *r, CvError **err)
{
    RPC_REQUIRE(call, domainOpenConsole, err);
    cvr_domain_open_console_args *args = a;
    g_autoptr(CocoonDomain) dom = rpc_domain_from_wire(call, &args->dom);
    g_autoptr(CocoonStream) st = cocoon_stream_new(VIR_STREAM_NONBLOCK);
    const char *dev_name = args->dev_name ? *args->dev_name : NULL;
    if (RPC_DRIVER(call, domainOpenConsole)(dom, dev_name, st, args->flags, err) < 0)
        return -1;

    RpcStream *s = g_new0(RpcStream, 1);
    s->prog = CVR_REMOTE_PROGRAM;
    s->vers = CVR_REMOTE_VERSION;
    s->st = g_steal_pointer(&st);
    s->fd = cocoon_stream_get_fd(s->st);
    if (rpc_stream_register(call, s, EPOLLIN, err) < 0) {
        g_autoptr(CvError) aerr = NULL;
        cocoon_stream_abort(s->st, &aerr);
        stream_free(s);
        return -1;
    }
    return RPC_HANDLER_REPLIED;
}

const RpcProcedure rpc_stream_procedures[] = {
    {CVR_PROC_DOMAIN_OPEN_CONSOLE, "virDomainOpenConsole",
     RPC_XDR(cvr_domain_open_console_args), RPC_NONE, domain_open_console, RPC_PROC_WRITE},
};
const size_t rpc_stream_procedures_len = G_N_ELEMENTS(rpc_stream_procedures);
