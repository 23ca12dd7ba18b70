#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rpc_message.h"
#include "rpc_server_priv.h"
#include "util/cv_sync.h"

/*
 * One client connection: its input buffer (loop thread), its output queue (any thread, under
 * the lock; written straight away when the socket takes it, else when the loop sees EPOLLOUT),
 * and its end.
 */

#define RPC_READ_CHUNK 65536

RpcClient *
rpc_client_new(RpcServer *srv, int fd, bool read_only)
{
    RpcClient *c = g_new0(RpcClient, 1);
    c->refs = 1;
    c->srv = srv;
    c->watch.kind = RPC_WATCH_CLIENT;
    c->watch.obj = c;
    c->id = ++srv->next_client_id;
    g_mutex_init(&c->lock);
    c->fd = fd;
    c->read_only = read_only;
    g_queue_init(&c->outq);
    c->events = g_hash_table_new(g_direct_hash, g_direct_equal);
    c->legacy_events = g_hash_table_new(g_direct_hash, g_direct_equal);
    c->streams = g_hash_table_new(g_direct_hash, g_direct_equal);
    c->next_callback_id = 1;
    return c;
}

RpcClient *
rpc_client_ref(RpcClient *c)
{
    g_atomic_int_inc(&c->refs);
    return c;
}

void
rpc_client_unref(RpcClient *c)
{
    if (!c || !g_atomic_int_dec_and_test(&c->refs))
        return;
    g_queue_clear_full(&c->outq, (GDestroyNotify)g_bytes_unref);
    if (c->fd >= 0)
        close(c->fd);
    if (c->events)
        g_hash_table_destroy(c->events);
    if (c->legacy_events)
        g_hash_table_destroy(c->legacy_events);
    if (c->streams)
        g_hash_table_destroy(c->streams);
    g_free(c->uri);
    g_free(c->inbuf);
    g_mutex_clear(&c->lock);
    g_free(c);
}

void
rpc_client_update_events_locked(RpcClient *c)
{
    if (c->dead || c->fd < 0)
        return;
    struct epoll_event ev = {.data.ptr = &c->watch};
    if (!c->reading_paused && !c->close_after_flush && !c->input_holds)
        ev.events |= EPOLLIN;
    if (c->want_out)
        ev.events |= EPOLLOUT;
    epoll_ctl(c->srv->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Write what the socket takes. -1 when the connection is broken. */
static int
client_flush_locked(RpcClient *c)
{
    while (!g_queue_is_empty(&c->outq)) {
        GBytes *head = g_queue_peek_head(&c->outq);
        gsize size;
        const guint8 *data = g_bytes_get_data(head, &size);
        ssize_t n = send(c->fd, data + c->out_off, size - c->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            return -1;
        }
        c->out_off += (size_t)n;
        c->out_bytes -= (size_t)n;
        if (c->out_off == size) {
            g_bytes_unref(g_queue_pop_head(&c->outq));
            c->out_off = 0;
        }
    }
    return 0;
}

void
rpc_client_send_locked(RpcClient *c, GBytes *msg)
{
    if (c->dead || !msg) {
        if (msg)
            g_bytes_unref(msg);
        return;
    }
    gsize size = g_bytes_get_size(msg);
    /* one message always fits in an empty queue; a client that does not read stops here */
    if (!g_queue_is_empty(&c->outq) && c->out_bytes + size > c->srv->config.max_client_queue) {
        g_bytes_unref(msg);
        c->close_after_flush = true;
        g_queue_clear_full(&c->outq, (GDestroyNotify)g_bytes_unref);
        c->out_bytes = 0;
        c->out_off = 0;
        /* the loop sees the hang-up and disconnects */
        shutdown(c->fd, SHUT_RDWR);
        return;
    }
    bool was_empty = g_queue_is_empty(&c->outq);
    g_queue_push_tail(&c->outq, msg);
    c->out_bytes += size;
    if (was_empty && client_flush_locked(c) < 0) {
        shutdown(c->fd, SHUT_RDWR);
        return;
    }
    if (!g_queue_is_empty(&c->outq) && !c->want_out) {
        c->want_out = true;
        rpc_client_update_events_locked(c);
    }
}

void
rpc_client_send(RpcClient *c, GBytes *msg)
{
    cv_mutex_lock(&c->lock);
    rpc_client_send_locked(c, msg);
    cv_mutex_unlock(&c->lock);
}

void
rpc_client_call_done(RpcClient *c)
{
    cv_mutex_lock(&c->lock);
    c->inflight--;
    bool resume = c->reading_paused && !c->dead &&
                  c->inflight < c->srv->config.max_client_calls;
    cv_mutex_unlock(&c->lock);
    if (resume)
        rpc_server_schedule_resume(c->srv, c);
}

void
rpc_client_disconnect(RpcClient *c)
{
    RpcServer *srv = c->srv;
    cv_mutex_lock(&c->lock);
    if (c->dead) {
        cv_mutex_unlock(&c->lock);
        return;
    }
    c->dead = true;
    epoll_ctl(srv->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
    g_queue_clear_full(&c->outq, (GDestroyNotify)g_bytes_unref);
    c->out_bytes = 0;
    GHashTable *events = c->events;
    GHashTable *legacy = c->legacy_events;
    c->events = g_hash_table_new(g_direct_hash, g_direct_equal);
    c->legacy_events = g_hash_table_new(g_direct_hash, g_direct_equal);
    GList *streams = g_hash_table_get_values(c->streams);
    g_hash_table_remove_all(c->streams);
    cv_mutex_unlock(&c->lock);

    for (GList *l = streams; l; l = l->next)
        rpc_stream_close(l->data, true);
    g_list_free(streams);
    rpc_event_deregister_all(srv, events, legacy);
    if (g_hash_table_remove(srv->clients, c)) {
        if (srv->config.log) {
            g_autofree char *msg =
                g_strdup_printf("client %" G_GUINT64_FORMAT " disconnected", c->id);
            srv->config.log(false, msg, srv->config.log_opaque);
        }
        rpc_server_defer_free(srv, c, (GDestroyNotify)rpc_client_unref);
    }
}

/* Hand complete messages in the buffer to the dispatcher. -1: disconnect now. */
static int
client_parse_input(RpcClient *c)
{
    size_t pos = 0;
    int ret = 0;
    while (c->in_len - pos >= CVR_MESSAGE_LEN_SIZE) {
        cv_mutex_lock(&c->lock);
        bool paused = c->reading_paused || c->close_after_flush || c->dead || c->input_holds;
        cv_mutex_unlock(&c->lock);
        if (paused)
            break;
        guint32 len = rpc_message_length(c->inbuf + pos);
        if (len < RPC_MESSAGE_LEN_MIN || len > RPC_MESSAGE_LEN_MAX) {
            g_autoptr(CvError) err = NULL;
            cv_error_set(&err, VIR_FROM_RPC, VIR_ERR_RPC,
                         "packet %u bytes received from client, must be %d to %d bytes", len,
                         RPC_MESSAGE_LEN_MIN, RPC_MESSAGE_LEN_MAX);
            cvr_message_header hdr = {.prog = CVR_REMOTE_PROGRAM, .vers = CVR_REMOTE_VERSION,
                                      .type = CVR_REPLY, .status = CVR_ERROR};
            cv_mutex_lock(&c->lock);
            rpc_client_send_locked(c, rpc_message_encode_error(&hdr, err));
            c->close_after_flush = true;
            rpc_client_update_events_locked(c);
            cv_mutex_unlock(&c->lock);
            ret = -1;
            break;
        }
        if (c->in_len - pos < len) {
            if (len > c->in_cap) {
                c->in_cap = len;
                /* room for the whole message: moved to the front below */
                guint8 *bigger = g_malloc(c->in_cap);
                memcpy(bigger, c->inbuf + pos, c->in_len - pos);
                g_free(c->inbuf);
                c->inbuf = bigger;
                c->in_len -= pos;
                pos = 0;
            }
            break;
        }
        if (rpc_dispatch_message(c, c->inbuf + pos + CVR_MESSAGE_LEN_SIZE,
                                 len - CVR_MESSAGE_LEN_SIZE) < 0) {
            pos += len;
            ret = -1;
            break;
        }
        pos += len;
    }
    if (pos) {
        memmove(c->inbuf, c->inbuf + pos, c->in_len - pos);
        c->in_len -= pos;
    }
    /* a big message's buffer is not kept once it has been handled */
    size_t pending = c->in_len >= CVR_MESSAGE_LEN_SIZE ? rpc_message_length(c->inbuf) : 0;
    if (c->in_cap > 4 * RPC_READ_CHUNK && c->in_len <= RPC_READ_CHUNK &&
        pending <= 2 * RPC_READ_CHUNK) {
        c->in_cap = 2 * RPC_READ_CHUNK;
        c->inbuf = g_realloc(c->inbuf, c->in_cap);
    }
    return ret;
}

static void
client_handle_input(RpcClient *c)
{
    if (c->in_cap - c->in_len < RPC_READ_CHUNK && c->in_cap < 2 * RPC_READ_CHUNK) {
        c->in_cap = 2 * RPC_READ_CHUNK;
        c->inbuf = g_realloc(c->inbuf, c->in_cap);
    }
    if (c->in_cap == c->in_len) {
        /* a full buffer waits for the dispatcher (calls in flight); nothing to read into */
        return;
    }
    ssize_t n = recv(c->fd, c->inbuf + c->in_len, c->in_cap - c->in_len, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        rpc_client_disconnect(c);
        return;
    }
    c->in_len += (size_t)n;
    client_parse_input(c);
}

static void
client_maybe_close(RpcClient *c)
{
    cv_mutex_lock(&c->lock);
    bool close_now = c->close_after_flush && g_queue_is_empty(&c->outq);
    cv_mutex_unlock(&c->lock);
    if (close_now)
        rpc_client_disconnect(c);
}

void
rpc_client_resume_reading(RpcClient *c)
{
    cv_mutex_lock(&c->lock);
    if (c->dead || c->inflight >= c->srv->config.max_client_calls) {
        cv_mutex_unlock(&c->lock);
        return;
    }
    c->reading_paused = false;
    cv_mutex_unlock(&c->lock);
    client_parse_input(c);
    cv_mutex_lock(&c->lock);
    rpc_client_update_events_locked(c);
    cv_mutex_unlock(&c->lock);
    client_maybe_close(c);
}

void
rpc_client_hold_input(RpcClient *c, bool hold)
{
    cv_mutex_lock(&c->lock);
    if (hold)
        c->input_holds++;
    else if (c->input_holds)
        c->input_holds--;
    bool parse = !hold && !c->input_holds && !c->dead;
    rpc_client_update_events_locked(c);
    cv_mutex_unlock(&c->lock);
    if (!parse)
        return;
    client_parse_input(c);
    cv_mutex_lock(&c->lock);
    rpc_client_update_events_locked(c);
    cv_mutex_unlock(&c->lock);
    client_maybe_close(c);
}

void
rpc_client_handle_events(RpcClient *c, guint32 events)
{
    cv_mutex_lock(&c->lock);
    bool dead = c->dead;
    cv_mutex_unlock(&c->lock);
    if (dead)
        return;
    if (events & EPOLLOUT) {
        cv_mutex_lock(&c->lock);
        int rc = client_flush_locked(c);
        bool drained = g_queue_is_empty(&c->outq);
        if (rc == 0 && drained && c->want_out) {
            c->want_out = false;
            rpc_client_update_events_locked(c);
        }
        cv_mutex_unlock(&c->lock);
        if (rc < 0) {
            rpc_client_disconnect(c);
            return;
        }
        if (drained)
            rpc_stream_resume_all(c);
        client_maybe_close(c);
    }
    if (events & (EPOLLERR | EPOLLHUP)) {
        rpc_client_disconnect(c);
        return;
    }
    if (events & EPOLLIN) {
        cv_mutex_lock(&c->lock);
        bool closing = c->close_after_flush;
        cv_mutex_unlock(&c->lock);
        if (closing) {
            rpc_client_disconnect(c);
            return;
        }
        client_handle_input(c);
        cv_mutex_lock(&c->lock);
        dead = c->dead;
        cv_mutex_unlock(&c->lock);
        if (!dead)
            client_maybe_close(c);
    }
}
