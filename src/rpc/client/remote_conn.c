#include "remote_conn.h"

#include <errno.h>
#include <libvirt/virterror.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "util/cv_sync.h"

/*
 * The socket, the reader thread and the table of calls waiting for their answers. Locks:
 * rc->lock guards the tables and the dead flag; rc->write_lock keeps each message whole on
 * the socket. A thread never takes rc->lock while holding write_lock.
 */

typedef struct {
    guint serial;
    bool done;
    cvr_message_header hdr;
    guint8 *body; /* the whole message after the length word; the payload starts at 24 */
    size_t len;
    GCond cond;
} RemotePending;

typedef struct {
    RemoteStreamFunc fn;
    void *opaque;
} RemoteStreamRoute;

struct RemoteConn {
    gint refs;
    int fd;
    GThread *reader;
    RemoteMessageFunc on_message;
    void *opaque;

    GMutex write_lock;

    GMutex lock;
    /* under lock */
    guint next_serial;
    bool dead;           /* the reader has stopped: nothing more will arrive */
    bool closing;        /* remote_conn_close: EOF is expected */
    CvError *dead_error; /* why the reader stopped, for the calls it left waiting */
    GHashTable *pending; /* serial → RemotePending * (owned by the waiting caller) */
    GHashTable *streams; /* serial → RemoteStreamRoute * */
    bool held;           /* the reader waits for the stream of held_serial to take its queue */
    guint held_serial;
    GCond held_cond;
};

RemoteConn *
remote_conn_ref(RemoteConn *rc)
{
    g_atomic_int_inc(&rc->refs);
    return rc;
}

void
remote_conn_unref(RemoteConn *rc)
{
    if (!rc || !g_atomic_int_dec_and_test(&rc->refs))
        return;
    if (rc->fd >= 0)
        close(rc->fd);
    g_hash_table_destroy(rc->pending);
    g_hash_table_destroy(rc->streams);
    cv_error_free(rc->dead_error);
    g_mutex_clear(&rc->lock);
    g_mutex_clear(&rc->write_lock);
    g_cond_clear(&rc->held_cond);
    g_free(rc);
}

void
remote_conn_error_from_wire(const guint8 *body, size_t len, CvError **err)
{
    cvr_error e;
    g_autoptr(CvError) derr = NULL;
    if (rpc_message_decode_body(body, len, (xdrproc_t)xdr_cvr_error, &e, sizeof(e), &derr) <
        0) {
        cv_error_set(err, VIR_FROM_RPC, VIR_ERR_RPC, "cannot decode the error of the server");
        return;
    }
    if (err && !*err) {
        CvError *ce = g_new0(CvError, 1);
        ce->code = e.code;
        ce->domain = e.domain;
        /* the server's text already carries libvirt's prefix: keep it word for word */
        ce->message = g_strdup(e.message && *e.message ? *e.message : "unknown error");
        *err = ce;
    }
    xdr_free((xdrproc_t)xdr_cvr_error, (char *)&e);
}

/* ---- writing ---- */

static int
conn_write_all(RemoteConn *rc, const guint8 *buf, size_t len, CvError **err)
{
    while (len > 0) {
        ssize_t n = send(rc->fd, buf, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            cv_error_set_errno(err, VIR_FROM_RPC, errno, "Cannot write data");
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

int
remote_conn_send(RemoteConn *rc, GBytes *msg, CvError **err)
{
    g_autoptr(GBytes) owned = msg;
    cv_mutex_lock(&rc->lock);
    bool dead = rc->dead;
    cv_mutex_unlock(&rc->lock);
    if (dead) {
        cv_error_set(err, VIR_FROM_RPC, VIR_ERR_INTERNAL_ERROR, "client socket is closed");
        return -1;
    }
    gsize len;
    const guint8 *data = g_bytes_get_data(owned, &len);
    cv_mutex_lock(&rc->write_lock);
    int r = conn_write_all(rc, data, len, err);
    cv_mutex_unlock(&rc->write_lock);
    return r;
}

/* ---- reading (the reader thread) ---- */

/* 1: read all of buf; 0: EOF before the first byte; -1: error or EOF inside (errno). */
static int
conn_read_all(int fd, guint8 *buf, size_t len, bool first)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, buf + got, len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0) {
            if (got == 0 && first)
                return 0;
            errno = EIO;
            return -1;
        }
        got += (size_t)n;
    }
    return 1;
}

static void
conn_answer_ping(RemoteConn *rc)
{
    g_autoptr(CvError) err = NULL;
    remote_conn_send(rc, rpc_message_encode_pong(), &err);
}

/* Route one message; takes buf (the message without its length word). */
static void
conn_route(RemoteConn *rc, const cvr_message_header *hdr, guint8 *buf, size_t len)
{
    const guint8 *body = buf + CVR_MESSAGE_HEADER_SIZE;
    size_t body_len = len - CVR_MESSAGE_HEADER_SIZE;

    if (hdr->prog == CVR_KEEPALIVE_PROGRAM) {
        if (hdr->type == CVR_MESSAGE && hdr->proc == CVR_KEEPALIVE_PROC_PING)
            conn_answer_ping(rc);
        g_free(buf);
        return;
    }
    switch (hdr->type) {
    case CVR_REPLY: {
        cv_mutex_lock(&rc->lock);
        RemotePending *p = g_hash_table_lookup(rc->pending, GUINT_TO_POINTER(hdr->serial));
        if (p && !p->done) {
            p->done = true;
            p->hdr = *hdr;
            p->body = g_steal_pointer(&buf);
            p->len = len;
            g_cond_signal(&p->cond);
        }
        cv_mutex_unlock(&rc->lock);
        break;
    }
    case CVR_STREAM: {
        cv_mutex_lock(&rc->lock);
        RemoteStreamRoute *r = g_hash_table_lookup(rc->streams, GUINT_TO_POINTER(hdr->serial));
        if (r && r->fn(hdr, body, body_len, NULL, r->opaque)) {
            /* back-pressure: the socket fills and the server stops sending */
            rc->held = true;
            rc->held_serial = hdr->serial;
            while (rc->held && !rc->closing)
                cv_cond_wait(&rc->held_cond, &rc->lock);
        }
        cv_mutex_unlock(&rc->lock);
        break;
    }
    case CVR_MESSAGE:
        if (hdr->prog == CVR_REMOTE_PROGRAM && rc->on_message) {
            rc->on_message(rc, hdr, body, body_len, rc->opaque);
        } else if (hdr->prog == CVR_COCOON_PROGRAM) {
            /* Cocoon's messages belong to the stream of their serial (progress) */
            cv_mutex_lock(&rc->lock);
            RemoteStreamRoute *r =
                g_hash_table_lookup(rc->streams, GUINT_TO_POINTER(hdr->serial));
            if (r)
                r->fn(hdr, body, body_len, NULL, r->opaque);
            cv_mutex_unlock(&rc->lock);
        }
        break;
    default:
        break; /* nothing else is meant for a client */
    }
    g_free(buf);
}

/* The reader stopped: wake every waiting call and tell every stream. */
static void
conn_set_dead(RemoteConn *rc, CvError *why)
{
    cv_mutex_lock(&rc->lock);
    rc->dead = true;
    rc->dead_error = why;
    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init(&it, rc->pending);
    while (g_hash_table_iter_next(&it, NULL, &value))
        g_cond_signal(&((RemotePending *)value)->cond);
    g_hash_table_iter_init(&it, rc->streams);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        RemoteStreamRoute *r = value;
        r->fn(NULL, NULL, 0, why, r->opaque);
    }
    cv_mutex_unlock(&rc->lock);
}

static gpointer
conn_reader(gpointer data)
{
    RemoteConn *rc = data;
    CvError *why = NULL;
    for (;;) {
        guint8 lenbuf[CVR_MESSAGE_LEN_SIZE];
        int r = conn_read_all(rc->fd, lenbuf, sizeof(lenbuf), true);
        if (r <= 0) {
            if (r == 0 || errno == EIO)
                cv_error_set_errno(&why, VIR_FROM_RPC, EIO, "End of file while reading data");
            else
                cv_error_set_errno(&why, VIR_FROM_RPC, errno, "Cannot recv data");
            break;
        }
        guint32 total = rpc_message_length(lenbuf);
        if (total < RPC_MESSAGE_LEN_MIN || total > RPC_MESSAGE_LEN_MAX) {
            cv_error_set(&why, VIR_FROM_RPC, VIR_ERR_RPC, "packet %u bytes received from server "
                         "too large, want %d", total, RPC_MESSAGE_LEN_MAX);
            break;
        }
        size_t len = total - CVR_MESSAGE_LEN_SIZE;
        guint8 *buf = g_malloc(len);
        if (conn_read_all(rc->fd, buf, len, false) < 0) {
            g_free(buf);
            cv_error_set_errno(&why, VIR_FROM_RPC, errno, "Cannot recv data");
            break;
        }
        cvr_message_header hdr;
        if (rpc_message_decode_header(buf, len, &hdr, &why) < 0) {
            g_free(buf);
            break;
        }
        conn_route(rc, &hdr, buf, len);
    }
    conn_set_dead(rc, why);
    remote_conn_unref(rc);
    return NULL;
}

/* ---- set-up and calls ---- */

RemoteConn *
remote_conn_connect(const char *path, RemoteMessageFunc on_message, void *opaque,
                    CvError **err)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(addr.sun_path)) {
        cv_error_set(err, VIR_FROM_RPC, VIR_ERR_INTERNAL_ERROR,
                     "UNIX socket path '%s' too long", path);
        return NULL;
    }
    strcpy(addr.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        cv_error_set_errno(err, VIR_FROM_RPC, errno, "Failed to create socket");
        return NULL;
    }
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        int e = errno;
        close(fd);
        cv_error_set_errno(err, VIR_FROM_RPC, e, "Failed to connect socket to '%s'", path);
        return NULL;
    }
    RemoteConn *rc = g_new0(RemoteConn, 1);
    rc->refs = 1;
    rc->fd = fd;
    rc->on_message = on_message;
    rc->opaque = opaque;
    g_mutex_init(&rc->lock);
    g_mutex_init(&rc->write_lock);
    g_cond_init(&rc->held_cond);
    rc->pending = g_hash_table_new(NULL, NULL);
    rc->streams = g_hash_table_new_full(NULL, NULL, NULL, g_free);
    rc->reader = g_thread_new("cocoon-rpc-reader", conn_reader, remote_conn_ref(rc));
    return rc;
}

void
remote_conn_close(RemoteConn *rc)
{
    if (!rc)
        return;
    cv_mutex_lock(&rc->lock);
    rc->closing = true;
    g_cond_broadcast(&rc->held_cond);
    cv_mutex_unlock(&rc->lock);
    shutdown(rc->fd, SHUT_RDWR); /* the reader sees EOF and stops */
    g_thread_join(rc->reader);
    rc->reader = NULL;
    remote_conn_unref(rc);
}

guint
remote_conn_serial_next(RemoteConn *rc)
{
    cv_mutex_lock(&rc->lock);
    guint s = rc->next_serial++;
    cv_mutex_unlock(&rc->lock);
    return s;
}

/* Wait for p's answer; rc->lock held. false when the connection died first (*err). */
static bool
conn_wait_locked(RemoteConn *rc, RemotePending *p, CvError **err)
{
    while (!p->done && !rc->dead)
        cv_cond_wait(&p->cond, &rc->lock);
    if (p->done)
        return true;
    if (rc->dead_error && !rc->closing) {
        if (err && !*err)
            *err = cv_error_copy(rc->dead_error);
    } else {
        cv_error_set(err, VIR_FROM_RPC, VIR_ERR_INTERNAL_ERROR, "client socket is closed");
    }
    return false;
}

static int
conn_decode_reply(const RemotePending *p, int proc, xdrproc_t ret_filter, void *ret,
                  size_t ret_size, CvError **err)
{
    const guint8 *body = p->body + CVR_MESSAGE_HEADER_SIZE;
    size_t len = p->len - CVR_MESSAGE_HEADER_SIZE;
    if (p->hdr.status == CVR_ERROR) {
        remote_conn_error_from_wire(body, len, err);
        return -1;
    }
    if (p->hdr.status != CVR_OK || p->hdr.proc != proc) {
        cv_error_set(err, VIR_FROM_RPC, VIR_ERR_RPC, "unexpected reply to procedure %d", proc);
        return -1;
    }
    if (!ret_filter) {
        if (len != 0) {
            cv_error_set(err, VIR_FROM_RPC, VIR_ERR_RPC,
                         "unexpected payload in the reply to procedure %d", proc);
            return -1;
        }
        return 0;
    }
    return rpc_message_decode_body(body, len, ret_filter, ret, ret_size, err);
}

int
remote_conn_call(RemoteConn *rc, guint serial, int proc, xdrproc_t args_filter,
                 const void *args, xdrproc_t ret_filter, void *ret, size_t ret_size,
                 CvError **err)
{
    return remote_conn_call_prog(rc, CVR_REMOTE_PROGRAM, CVR_REMOTE_VERSION, serial, proc,
                                 args_filter, args, ret_filter, ret, ret_size, err);
}

int
remote_conn_call_prog(RemoteConn *rc, guint prog, guint vers, guint serial, int proc,
                      xdrproc_t args_filter, const void *args, xdrproc_t ret_filter, void *ret,
                      size_t ret_size, CvError **err)
{
    cvr_message_header h = {.prog = prog,
                            .vers = vers,
                            .proc = proc,
                            .type = CVR_CALL,
                            .serial = serial,
                            .status = CVR_OK};
    GBytes *msg = rpc_message_encode(&h, args_filter, args, err);
    if (!msg)
        return -1;

    RemotePending p = {.serial = serial};
    g_cond_init(&p.cond);
    cv_mutex_lock(&rc->lock);
    g_hash_table_insert(rc->pending, GUINT_TO_POINTER(serial), &p);
    cv_mutex_unlock(&rc->lock);

    int r = remote_conn_send(rc, msg, err);
    cv_mutex_lock(&rc->lock);
    bool answered = r == 0 && conn_wait_locked(rc, &p, err);
    g_hash_table_remove(rc->pending, GUINT_TO_POINTER(serial));
    cv_mutex_unlock(&rc->lock);
    g_cond_clear(&p.cond);

    if (answered)
        r = conn_decode_reply(&p, proc, ret_filter, ret, ret_size, err);
    else
        r = -1;
    g_free(p.body);
    return r;
}

void
remote_conn_stream_add(RemoteConn *rc, guint serial, RemoteStreamFunc fn, void *opaque)
{
    RemoteStreamRoute *r = g_new0(RemoteStreamRoute, 1);
    r->fn = fn;
    r->opaque = opaque;
    cv_mutex_lock(&rc->lock);
    g_hash_table_replace(rc->streams, GUINT_TO_POINTER(serial), r);
    if (rc->dead)
        fn(NULL, NULL, 0, rc->dead_error, opaque);
    cv_mutex_unlock(&rc->lock);
}

void
remote_conn_stream_release(RemoteConn *rc, guint serial)
{
    cv_mutex_lock(&rc->lock);
    if (rc->held && rc->held_serial == serial) {
        rc->held = false;
        g_cond_broadcast(&rc->held_cond);
    }
    cv_mutex_unlock(&rc->lock);
}

void
remote_conn_stream_remove(RemoteConn *rc, guint serial)
{
    cv_mutex_lock(&rc->lock);
    g_hash_table_remove(rc->streams, GUINT_TO_POINTER(serial));
    cv_mutex_unlock(&rc->lock);
    remote_conn_stream_release(rc, serial);
}
