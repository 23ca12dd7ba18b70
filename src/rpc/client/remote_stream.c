#include <errno.h>
#include <glib-unix.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "remote_priv.h"
#include "util/cv_sync.h"

/*
 * Console streams over STREAM packets (../shared/protocol/libvirt-rpc.md §1.9), offered to the
 * caller as one end of a socket pair, like the local driver's relay socket: get_fd gives that
 * end, recv/send read and write it. A pump thread moves bytes between the other end and the
 * wire: what the caller writes goes out as STREAM CONTINUE packets; what the server sends
 * (queued by the connection's reader thread, which must never block) is written back. The
 * server's end (OK) becomes EOF on the socket; its ERROR is kept for recv and finish.
 * finish sends an empty OK, abort an empty ERROR; each waits for the server's empty OK.
 */

/* How long finish/abort wait for the server's confirmation. */
#define REMOTE_STREAM_CONFIRM_TIMEOUT_S 10
#define REMOTE_STREAM_READ_CHUNK 65536

typedef struct {
    RemoteConn *rc; /* ref */
    guint serial;
    int user_fd;  /* the caller's end */
    int pump_fd;  /* ours, non-blocking */
    int wake_fd;  /* eventfd: wakes the pump */
    GThread *pump;

    GMutex lock;
    GCond cond;
    /* under lock */
    GByteArray *inbuf;  /* server data not yet written to pump_fd */
    bool stop;          /* the pump must exit */
    bool eof;           /* the server ended the stream */
    bool eof_passed;    /* ... and the caller's end has seen it (SHUT_WR) */
    bool sent_end;      /* we sent finish or abort */
    bool confirmed;     /* ... and the server answered it */
    bool routed;        /* the connection still routes our packets */
    CvError *error;     /* the server's ERROR, or the lost connection */
} RemoteStream;

static void
stream_wake(RemoteStream *rs)
{
    uint64_t one = 1;
    if (write(rs->wake_fd, &one, sizeof(one)) < 0) {
        /* the counter is saturated: the pump is awake anyway */
    }
}

static void
stream_error_give(const CvError *from, CvError **err)
{
    if (err && !*err)
        *err = cv_error_copy(from);
}

/* The connection's reader thread (under the connection's lock): record, never block. */
static bool
stream_packet(const cvr_message_header *hdr, const guint8 *body, size_t len,
              const CvError *lost, void *opaque)
{
    RemoteStream *rs = opaque;
    if (hdr && hdr->type != CVR_STREAM)
        return false;
    cv_mutex_lock(&rs->lock);
    if (!hdr) {
        if (!rs->eof && !rs->error && !rs->confirmed) {
            if (lost)
                rs->error = cv_error_copy(lost);
            else
                cv_error_set(&rs->error, VIR_FROM_RPC, VIR_ERR_INTERNAL_ERROR,
                             "client socket is closed");
        }
        rs->routed = false;
    } else if (hdr->status == CVR_CONTINUE) {
        if (!rs->sent_end && !rs->eof)
            g_byte_array_append(rs->inbuf, body, (guint)len);
    } else if (hdr->status == CVR_OK) {
        if (rs->sent_end)
            rs->confirmed = true;
        else
            rs->eof = true;
    } else if (hdr->status == CVR_ERROR) {
        if (!rs->error)
            remote_conn_error_from_wire(body, len, &rs->error);
        if (rs->sent_end)
            rs->confirmed = true;
    }
    g_cond_broadcast(&rs->cond);
    cv_mutex_unlock(&rs->lock);
    stream_wake(rs);
    return false;
}

static cvr_message_header
stream_header(const RemoteStream *rs, int status)
{
    cvr_message_header h = {.prog = CVR_REMOTE_PROGRAM,
                            .vers = CVR_REMOTE_VERSION,
                            .proc = CVR_PROC_DOMAIN_OPEN_CONSOLE,
                            .type = CVR_STREAM,
                            .serial = rs->serial,
                            .status = status};
    return h;
}

/* Send what the caller has written so far (pump_fd readable). 0: more may come; 1: the
 * caller closed its end; -1: the connection failed (recorded). */
static int
stream_forward_out(RemoteStream *rs, guint8 *chunk)
{
    for (;;) {
        ssize_t n = read(rs->pump_fd, chunk, REMOTE_STREAM_READ_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno == EAGAIN ? 0 : 1;
        if (n == 0)
            return 1;
        cvr_message_header h = stream_header(rs, CVR_CONTINUE);
        g_autoptr(CvError) err = NULL;
        if (remote_conn_send(rs->rc, rpc_message_encode_raw(&h, chunk, (size_t)n), &err) < 0) {
            cv_mutex_lock(&rs->lock);
            if (!rs->error)
                rs->error = g_steal_pointer(&err);
            cv_mutex_unlock(&rs->lock);
            return -1;
        }
    }
}

/* Write queued server data to the caller's end; lock held. */
static void
stream_forward_in_locked(RemoteStream *rs)
{
    while (rs->inbuf->len > 0) {
        ssize_t n = send(rs->pump_fd, rs->inbuf->data, rs->inbuf->len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            if (errno != EAGAIN)
                g_byte_array_set_size(rs->inbuf, 0); /* the caller's end is gone */
            return;
        }
        g_byte_array_remove_range(rs->inbuf, 0, (guint)n);
    }
    if ((rs->eof || rs->error) && !rs->eof_passed) {
        shutdown(rs->pump_fd, SHUT_WR); /* the caller reads EOF */
        rs->eof_passed = true;
    }
}

static gpointer
stream_pump(gpointer data)
{
    RemoteStream *rs = data;
    g_autofree guint8 *chunk = g_malloc(REMOTE_STREAM_READ_CHUNK);
    bool reading = true;
    for (;;) {
        cv_mutex_lock(&rs->lock);
        stream_forward_in_locked(rs);
        bool stop = rs->stop;
        bool want_out = rs->inbuf->len > 0;
        cv_mutex_unlock(&rs->lock);
        if (stop)
            break;

        /* a caller's end that is closed would poll HUP forever: leave it out then */
        struct pollfd pfd[2] = {
            {.fd = reading || want_out ? rs->pump_fd : -1,
             .events = (short)((reading ? POLLIN : 0) | (want_out ? POLLOUT : 0))},
            {.fd = rs->wake_fd, .events = POLLIN},
        };
        if (poll(pfd, 2, -1) < 0 && errno != EINTR)
            break;
        if (pfd[1].revents & POLLIN) {
            uint64_t v;
            if (read(rs->wake_fd, &v, sizeof(v)) < 0) {
                /* nothing to clear */
            }
        }
        if (reading && (pfd[0].revents & (POLLIN | POLLHUP)))
            reading = stream_forward_out(rs, chunk) == 0;
    }
    return NULL;
}

/* Stop the pump and send what the caller wrote before it (finish keeps every keystroke). */
static void
stream_pump_stop(RemoteStream *rs, bool flush)
{
    if (!rs->pump)
        return;
    cv_mutex_lock(&rs->lock);
    rs->stop = true;
    cv_mutex_unlock(&rs->lock);
    stream_wake(rs);
    g_thread_join(rs->pump);
    rs->pump = NULL;
    if (flush) {
        g_autofree guint8 *chunk = g_malloc(REMOTE_STREAM_READ_CHUNK);
        stream_forward_out(rs, chunk);
    }
}

static ssize_t
stream_recv(CocoonStream *st, char *buf, size_t n, CvError **err)
{
    RemoteStream *rs = st->priv;
    for (;;) {
        ssize_t r = recv(rs->user_fd, buf, n, st->nonblock ? MSG_DONTWAIT : 0);
        if (r > 0)
            return r;
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return -2;
        if (r < 0) {
            cv_error_set_errno(err, VIR_FROM_STREAMS, errno, "cannot read from the stream");
            return -1;
        }
        /* EOF: the server's end, or its error */
        cv_mutex_lock(&rs->lock);
        CvError *e = rs->error;
        if (e)
            stream_error_give(e, err);
        cv_mutex_unlock(&rs->lock);
        return e ? -1 : 0;
    }
}

static ssize_t
stream_send(CocoonStream *st, const char *data, size_t n, CvError **err)
{
    RemoteStream *rs = st->priv;
    cv_mutex_lock(&rs->lock);
    bool closed = rs->eof || rs->sent_end || rs->error;
    if (rs->error)
        stream_error_give(rs->error, err);
    else if (closed)
        cv_error_set(err, VIR_FROM_STREAMS, VIR_ERR_OPERATION_INVALID, "stream is not open");
    cv_mutex_unlock(&rs->lock);
    if (closed)
        return -1;
    size_t done = 0;
    while (done < n) {
        ssize_t w = send(rs->user_fd, data + done, n - done, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            cv_error_set_errno(err, VIR_FROM_STREAMS, errno, "cannot write to the stream");
            return -1;
        }
        done += (size_t)w;
    }
    return (ssize_t)n;
}

/* Send the end packet (OK: finish, ERROR: abort) and wait for its confirmation. */
static int
stream_end(CocoonStream *st, int status, CvError **err)
{
    RemoteStream *rs = st->priv;
    stream_pump_stop(rs, status == CVR_OK);
    cv_mutex_lock(&rs->lock);
    if (rs->sent_end || rs->eof || rs->error) {
        /* the server ended it first (or it is already ended): nothing to hand-shake */
        int r = 0;
        if (rs->error && status == CVR_OK) {
            stream_error_give(rs->error, err);
            r = -1;
        }
        rs->sent_end = true;
        cv_mutex_unlock(&rs->lock);
        return r;
    }
    rs->sent_end = true;
    cv_mutex_unlock(&rs->lock);

    cvr_message_header h = stream_header(rs, status);
    if (remote_conn_send(rs->rc, rpc_message_encode_raw(&h, NULL, 0), err) < 0)
        return -1;

    gint64 deadline =
        g_get_monotonic_time() + REMOTE_STREAM_CONFIRM_TIMEOUT_S * G_TIME_SPAN_SECOND;
    int r = 0;
    cv_mutex_lock(&rs->lock);
    while (!rs->confirmed && rs->routed && !rs->error) {
        if (!cv_cond_wait_until(&rs->cond, &rs->lock, deadline))
            break;
    }
    if (status == CVR_OK && rs->error) {
        stream_error_give(rs->error, err);
        r = -1;
    } else if (status == CVR_OK && !rs->confirmed) {
        cv_error_set(err, VIR_FROM_STREAMS, VIR_ERR_OPERATION_TIMEOUT,
                     "the server did not confirm the end of the stream");
        r = -1;
    }
    cv_mutex_unlock(&rs->lock);
    return r;
}

static int
stream_finish(CocoonStream *st, CvError **err)
{
    return stream_end(st, CVR_OK, err);
}

static int
stream_abort(CocoonStream *st, CvError **err)
{
    return stream_end(st, CVR_ERROR, err);
}

static int
stream_get_fd(CocoonStream *st)
{
    return ((RemoteStream *)st->priv)->user_fd;
}

static void
stream_free(void *p)
{
    RemoteStream *rs = p;
    if (!rs)
        return;
    stream_pump_stop(rs, false);
    cv_mutex_lock(&rs->lock);
    bool open = !rs->sent_end && !rs->eof && !rs->error;
    cv_mutex_unlock(&rs->lock);
    if (open) {
        /* dropped without finish or abort: tell the server, do not wait for it */
        cvr_message_header h = stream_header(rs, CVR_ERROR);
        g_autoptr(CvError) err = NULL;
        remote_conn_send(rs->rc, rpc_message_encode_raw(&h, NULL, 0), &err);
    }
    remote_conn_stream_remove(rs->rc, rs->serial);
    remote_conn_unref(rs->rc);
    close(rs->user_fd);
    close(rs->pump_fd);
    close(rs->wake_fd);
    g_byte_array_unref(rs->inbuf);
    cv_error_free(rs->error);
    g_cond_clear(&rs->cond);
    g_mutex_clear(&rs->lock);
    g_free(rs);
}

static const CocoonStreamOps remote_stream_ops = {
    .recv = stream_recv,
    .send = stream_send,
    .finish = stream_finish,
    .abort = stream_abort,
    .get_fd = stream_get_fd,
    .free_priv = stream_free,
};

/* A stream with its socket pair and wake fd, not yet routed nor pumped. */
static RemoteStream *
stream_new(RemoteConn *rc, CvError **err)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        cv_error_set_errno(err, VIR_FROM_STREAMS, errno, "cannot create a socket pair");
        return NULL;
    }
    int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (efd < 0) {
        cv_error_set_errno(err, VIR_FROM_STREAMS, errno, "cannot create an eventfd");
        close(sv[0]);
        close(sv[1]);
        return NULL;
    }
    g_unix_set_fd_nonblocking(sv[1], TRUE, NULL);
    RemoteStream *rs = g_new0(RemoteStream, 1);
    rs->rc = remote_conn_ref(rc);
    rs->user_fd = sv[0];
    rs->pump_fd = sv[1];
    rs->wake_fd = efd;
    rs->inbuf = g_byte_array_new();
    rs->routed = true;
    g_mutex_init(&rs->lock);
    g_cond_init(&rs->cond);
    return rs;
}

int
remote_domain_open_console(CocoonDomain *dom, const char *dev_name, CocoonStream *st,
                           unsigned int flags, CvError **err)
{
    RemoteConn *rc = remote_priv(dom->conn)->rc;
    RemoteStream *rs = stream_new(rc, err);
    if (!rs)
        return -1;
    /* routed before the call: the server's data may follow its REPLY at once */
    rs->serial = remote_conn_serial_next(rc);
    remote_conn_stream_add(rc, rs->serial, stream_packet, rs);

    char *dev = (char *)dev_name;
    cvr_domain_open_console_args args = {.dev_name = dev_name ? &dev : NULL, .flags = flags};
    remote_domain_to_wire(dom, &args.dom);
    if (remote_conn_call(rc, rs->serial, CVR_PROC_DOMAIN_OPEN_CONSOLE,
                         (xdrproc_t)xdr_cvr_domain_open_console_args, &args, NULL, NULL, 0,
                         err) < 0) {
        rs->sent_end = true; /* nothing to abort on the server */
        stream_free(rs);
        return -1;
    }
    rs->pump = g_thread_new("cocoon-stream-pump", stream_pump, rs);
    cocoon_stream_bind(st, &remote_stream_ops, rs);
    return 0;
}
