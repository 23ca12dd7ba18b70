#include <errno.h>
#include <glib-unix.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rpc_dispatch.h"
#include "util/cv_sync.h"

/*
 * snapshot-export and snapshot-import through the daemon (Cocoon's program, the stream rules
 * in cocoon_protocol.x). The driver call runs on a thread of its own with one end of a socket
 * pair as its fd; the loop thread moves bytes between the other end and the client's STREAM
 * packets with back-pressure both ways, so the daemon holds a few chunks at most:
 *  - export: the socket is read only while the client's queue is short (the console rule of
 *    rpc_dispatch_stream.c); a full socket stops the driver's writes.
 *  - import: a chunk the socket does not take whole is kept (one at most) and the client's
 *    input is not parsed until the socket has taken it; the client's writes stop in turn.
 * The thread records its result, then closes its end: the loop sees EOF (export) or the
 * hang-up (import) and ends the stream with the result. A client gone mid-way closes the
 * loop's end: the export fails on EPIPE, the import on its cut-short archive. The thread sends
 * the driver's progress as MESSAGE packets of the stream (whole percents, 10 a second at most).
 */

#define ARCHIVE_PROGRESS_INTERVAL_US 100000

struct RpcArchiveJob {
    gint refs;
    bool import;
    RpcServer *srv;
    CocoonConn *conn;
    /* the call's arguments */
    CocoonDomain *dom; /* export */
    char *snap;        /* export */
    char *dom_name;    /* import, may be NULL */
    char *new_name;    /* import, may be NULL */
    unsigned int flags;
    int fd; /* the thread's end */
    RpcClient *client; /* ref: where progress goes */
    guint serial;
    int proc;
    int last_pct;      /* the thread's: progress sent */
    gint64 last_us;

    GMutex lock;
    /* under lock */
    bool done;
    CvError *err;
    CocoonDomain *result_dom; /* import */
    char *result_snap;        /* import */

    /* loop thread only (import) */
    guint8 *pend; /* what the socket did not take of the last chunk */
    size_t pend_len, pend_off;
    bool held;      /* the client's input is held until pend is written */
    bool finishing; /* the client's end came: the socket is shut for writing */
};

static void
job_free(RpcArchiveJob *job)
{
    if (job->fd >= 0)
        close(job->fd);
    cocoon_domain_free(job->dom);
    cocoon_domain_free(job->result_dom);
    g_free(job->snap);
    g_free(job->dom_name);
    g_free(job->new_name);
    g_free(job->result_snap);
    g_free(job->pend);
    cv_error_free(job->err);
    if (job->client)
        rpc_client_unref(job->client);
    g_mutex_clear(&job->lock);
    g_free(job);
}

void
rpc_archive_job_unref(RpcArchiveJob *job)
{
    if (job && g_atomic_int_dec_and_test(&job->refs))
        job_free(job);
}

void
rpc_archive_wait_all(RpcServer *srv)
{
    cv_mutex_lock(&srv->archive_lock);
    while (srv->archive_workers)
        cv_cond_wait(&srv->archive_cond, &srv->archive_lock);
    cv_mutex_unlock(&srv->archive_lock);
}

/* ---- the thread ---------------------------------------------------------------------------- */

static void
archive_progress(unsigned long long done, unsigned long long total, void *opaque)
{
    RpcArchiveJob *job = opaque;
    int pct = total ? (int)(done * 100 / total) : 100;
    gint64 now = g_get_monotonic_time();
    if (pct == job->last_pct ||
        (now - job->last_us < ARCHIVE_PROGRESS_INTERVAL_US && pct != 100))
        return;
    job->last_pct = pct;
    job->last_us = now;
    cvr_cocoon_archive_progress body = {.done = done, .total = total};
    cvr_message_header h = {.prog = CVR_COCOON_PROGRAM,
                            .vers = CVR_COCOON_VERSION,
                            .proc = job->proc,
                            .type = CVR_MESSAGE,
                            .serial = job->serial,
                            .status = CVR_OK};
    rpc_client_send(job->client,
                    rpc_message_encode(&h, (xdrproc_t)xdr_cvr_cocoon_archive_progress, &body,
                                       NULL));
}

static gpointer
archive_thread(gpointer data)
{
    RpcArchiveJob *job = data;
    CvError *err = NULL;
    CocoonDomain *dom = NULL;
    char *snap = NULL;
    CocoonProgress progress = {.func = archive_progress, .opaque = job};
    job->last_pct = -1;
    if (job->import)
        dom = job->conn->driver->cocoonSnapshotImport(job->conn, job->dom_name, job->fd,
                                                      job->new_name, &progress, job->flags,
                                                      &snap, &err);
    else if (job->conn->driver->cocoonSnapshotExport(job->dom, job->snap, job->fd, &progress,
                                                     job->flags, &err) < 0 && !err)
        cv_error_set(&err, VIR_FROM_RPC, VIR_ERR_INTERNAL_ERROR, "the export failed");
    if (job->import && !dom && !err)
        cv_error_set(&err, VIR_FROM_RPC, VIR_ERR_INTERNAL_ERROR, "the import failed");
    cv_mutex_lock(&job->lock);
    job->done = true;
    job->err = err;
    job->result_dom = dom;
    job->result_snap = snap;
    cv_mutex_unlock(&job->lock);
    /* the result first, the hang-up after: the loop reads the one when it sees the other */
    close(job->fd);
    job->fd = -1;
    RpcServer *srv = job->srv;
    rpc_archive_job_unref(job);
    cv_mutex_lock(&srv->archive_lock);
    srv->archive_workers--;
    g_cond_broadcast(&srv->archive_cond);
    cv_mutex_unlock(&srv->archive_lock);
    return NULL;
}

/* Make the stream of call for job and start the thread; the REPLY is sent here. */
static int
archive_start(RpcCall *call, RpcArchiveJob *job, CvError **err)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        cv_error_set_errno(err, VIR_FROM_RPC, errno, "cannot create a socket pair");
        rpc_archive_job_unref(job);
        return -1;
    }
    g_unix_set_fd_nonblocking(sv[0], TRUE, NULL);
    job->fd = sv[1];
    job->srv = call->srv;
    job->conn = call->conn;
    job->client = rpc_client_ref(call->client);
    job->serial = call->hdr->serial;
    job->proc = call->hdr->proc;

    RpcStream *s = g_new0(RpcStream, 1);
    s->prog = CVR_COCOON_PROGRAM;
    s->vers = CVR_COCOON_VERSION;
    s->fd = sv[0];
    s->job = job;
    /* export: data to read; import: the thread's hang-up (EPOLLOUT only while a chunk waits) */
    guint32 events = job->import ? EPOLLRDHUP : EPOLLIN;
    if (rpc_stream_register(call, s, events, err) < 0) {
        close(sv[0]);
        rpc_archive_job_unref(job);
        g_free(s);
        return -1;
    }
    /* from here the stream owns job's first reference; the thread takes a second */
    g_atomic_int_inc(&job->refs);
    cv_mutex_lock(&call->srv->archive_lock);
    call->srv->archive_workers++;
    cv_mutex_unlock(&call->srv->archive_lock);
    GError *gerr = NULL;
    GThread *t = g_thread_try_new("cocoon-archive", archive_thread, job, &gerr);
    if (t) {
        g_thread_unref(t);
        return RPC_HANDLER_REPLIED;
    }
    /* the REPLY is out: the failure ends the stream (the hang-up below) */
    cv_mutex_lock(&job->lock);
    job->done = true;
    cv_error_set(&job->err, VIR_FROM_RPC, VIR_ERR_INTERNAL_ERROR, "cannot start a thread: %s",
                 gerr->message);
    cv_mutex_unlock(&job->lock);
    g_error_free(gerr);
    close(job->fd);
    job->fd = -1;
    rpc_archive_job_unref(job);
    cv_mutex_lock(&call->srv->archive_lock);
    call->srv->archive_workers--;
    cv_mutex_unlock(&call->srv->archive_lock);
    return RPC_HANDLER_REPLIED;
}

/* ---- the loop thread ----------------------------------------------------------------------- */

/* The thread has hung up: end the stream with its result. */
static void
archive_end(RpcStream *s)
{
    RpcArchiveJob *job = s->job;
    cv_mutex_lock(&job->lock);
    bool done = job->done;
    cv_mutex_unlock(&job->lock);
    if (!done)
        return; /* cannot happen: the thread closes its end after the result */
    if (job->err) {
        rpc_stream_send_status(s, CVR_ERROR, job->err);
    } else if (!job->import) {
        rpc_stream_send_status(s, CVR_OK, NULL);
    } else {
        cvr_cocoon_snapshot_import_ret ret = {.snapshot = job->result_snap};
        ret.dom.name = job->result_dom->name;
        memcpy(ret.dom.uuid, job->result_dom->uuid, CVR_UUID_LEN);
        ret.dom.id = job->result_dom->id;
        cvr_message_header h = rpc_stream_header(s, CVR_OK);
        g_autoptr(CvError) err = NULL;
        GBytes *msg = rpc_message_encode(&h, (xdrproc_t)xdr_cvr_cocoon_snapshot_import_ret,
                                         &ret, &err);
        if (!msg) {
            h.status = CVR_ERROR;
            msg = rpc_message_encode_error(&h, err);
        }
        rpc_client_send(s->client, msg);
    }
    rpc_stream_remove(s, false);
}

static void
archive_set_events(RpcStream *s, guint32 events)
{
    struct epoll_event ev = {.events = events, .data.ptr = &s->watch};
    epoll_ctl(s->client->srv->epfd, EPOLL_CTL_MOD, s->fd, &ev);
}

static void
export_readable(RpcStream *s)
{
    static guint8 *buf; /* loop thread only */
    if (!buf)
        buf = g_malloc(CVR_STREAM_CHUNK_MAX);
    ssize_t n = read(s->fd, buf, CVR_STREAM_CHUNK_MAX);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        archive_end(s);
        return;
    }
    cvr_message_header h = rpc_stream_header(s, CVR_CONTINUE);
    RpcClient *c = s->client;
    cv_mutex_lock(&c->lock);
    rpc_client_send_locked(c, rpc_message_encode_raw(&h, buf, (size_t)n));
    /* a few chunks queued at most: the rest waits in the socket, then in the thread */
    bool full = c->out_bytes > 4 * CVR_STREAM_CHUNK_MAX;
    cv_mutex_unlock(&c->lock);
    if (full) {
        archive_set_events(s, 0);
        s->paused = true; /* rpc_stream_resume_all polls it again once the queue drained */
    }
}

/* Write what is pending of the last chunk. 1: all written; 0: the socket is full; -1: the
 * thread has closed its end. */
static int
import_flush(RpcStream *s)
{
    RpcArchiveJob *job = s->job;
    while (job->pend_off < job->pend_len) {
        ssize_t n = send(s->fd, job->pend + job->pend_off, job->pend_len - job->pend_off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno == EAGAIN ? 0 : -1;
        job->pend_off += (size_t)n;
    }
    job->pend_off = job->pend_len = 0;
    return 1;
}

static void
import_release(RpcStream *s)
{
    if (!s->job->held)
        return;
    s->job->held = false;
    rpc_client_hold_input(s->client, false);
}

void
rpc_archive_handle_events(RpcStream *s, guint32 events)
{
    RpcArchiveJob *job = s->job;
    if (!job->import) {
        export_readable(s);
        return;
    }
    if (job->pend_len) {
        int r = import_flush(s);
        if (r == 1) {
            archive_set_events(s, EPOLLRDHUP);
            import_release(s); /* may parse packets that end s: s stays valid this batch */
            return;
        }
        if (r == 0)
            return;
        job->pend_off = job->pend_len = 0; /* the thread is gone: its result follows */
        import_release(s);
    }
    if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        archive_end(s);
}

/* A chunk of the archive from the client: to the socket, the rest kept. */
static void
import_data(RpcStream *s, const guint8 *data, size_t len)
{
    RpcArchiveJob *job = s->job;
    if (job->finishing || !len)
        return;
    g_assert(!job->pend_len); /* the input is held while a chunk waits */
    job->pend = g_realloc(job->pend, len);
    memcpy(job->pend, data, len);
    job->pend_len = len;
    job->pend_off = 0;
    int r = import_flush(s);
    if (r < 0)
        job->pend_off = job->pend_len = 0; /* the thread is gone: the hang-up ends s */
    if (r != 0)
        return;
    job->held = true;
    rpc_client_hold_input(s->client, true);
    archive_set_events(s, EPOLLRDHUP | EPOLLOUT);
}

void
rpc_archive_handle_packet(RpcStream *s, const cvr_message_header *hdr, const guint8 *data,
                          size_t len)
{
    RpcArchiveJob *job = s->job;
    switch (hdr->status) {
    case CVR_CONTINUE:
        if (job->import)
            import_data(s, data, len);
        return; /* an export takes no data */
    case CVR_OK:
        if (job->import && !job->finishing) {
            /* the archive's end: the thread reads EOF, its result ends the stream */
            job->finishing = true;
            shutdown(s->fd, SHUT_WR);
            return;
        }
        if (job->import)
            return;
        /* an export the client finishes early: as an abort */
        G_GNUC_FALLTHROUGH;
    case CVR_ERROR: /* abort: the thread fails on its closed socket */
        rpc_stream_send_status(s, CVR_OK, NULL);
        rpc_stream_remove(s, true);
        return;
    default:
        return;
    }
}

void
rpc_archive_close(RpcStream *s)
{
    if (s->job->held) {
        s->job->held = false;
        rpc_client_hold_input(s->client, false);
    }
    if (s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
    }
}

/* ---- the procedures ------------------------------------------------------------------------ */

static RpcArchiveJob *
job_new(bool import, unsigned int flags)
{
    RpcArchiveJob *job = g_new0(RpcArchiveJob, 1);
    job->refs = 1;
    job->import = import;
    job->flags = flags;
    job->fd = -1;
    g_mutex_init(&job->lock);
    return job;
}

static int
cocoon_snapshot_export(RpcCall *call, void *a, void *r, CvError **err)
{
    (void)r;
    RPC_REQUIRE(call, cocoonSnapshotExport, err);
    cvr_cocoon_snapshot_export_args *args = a;
    RpcArchiveJob *job = job_new(false, args->flags);
    job->dom = rpc_domain_from_wire(call, &args->dom);
    job->snap = g_strdup(args->snapshot);
    return archive_start(call, job, err);
}

static int
cocoon_snapshot_import(RpcCall *call, void *a, void *r, CvError **err)
{
    (void)r;
    RPC_REQUIRE(call, cocoonSnapshotImport, err);
    cvr_cocoon_snapshot_import_args *args = a;
    RpcArchiveJob *job = job_new(true, args->flags);
    job->dom_name = args->dom_name ? g_strdup(*args->dom_name) : NULL;
    job->new_name = args->new_name ? g_strdup(*args->new_name) : NULL;
    return archive_start(call, job, err);
}

/* Both need a read-write connection: an export carries the guest's memory and disks, which
 * libvirt never hands to a read-only client (virDomainMemoryPeek, virDomainBlockPeek). */
const RpcProcedure rpc_archive_procedures[] = {
    {CVR_COCOON_PROC_SNAPSHOT_EXPORT, "cocoonSnapshotExport",
     RPC_XDR(cvr_cocoon_snapshot_export_args), RPC_NONE, cocoon_snapshot_export,
     RPC_PROC_WRITE},
    {CVR_COCOON_PROC_SNAPSHOT_IMPORT, "cocoonSnapshotImport",
     RPC_XDR(cvr_cocoon_snapshot_import_args), RPC_NONE, cocoon_snapshot_import,
     RPC_PROC_WRITE},
};
const size_t rpc_archive_procedures_len = G_N_ELEMENTS(rpc_archive_procedures);
