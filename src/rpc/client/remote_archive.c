#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "remote_priv.h"
#include "util/cv_sync.h"

/*
 * snapshot-export and snapshot-import through cocoond (cocoon_protocol.x says how the archive
 * travels). Export: the reader thread queues the server's chunks, the caller's thread writes
 * them to fd; a queue over REMOTE_ARCHIVE_HIGH_WATER stops the reader until it drains, so the
 * client holds a few chunks while the socket's back-pressure reaches the server. Import: the
 * caller's thread reads fd and sends chunks (the socket's back-pressure slows it), then the end,
 * and waits for the server's answer. Progress is the server's (its MESSAGE packets), drawn on
 * the caller's thread as it comes.
 */

#define REMOTE_ARCHIVE_HIGH_WATER (4 * CVR_STREAM_CHUNK_MAX)

typedef struct {
    RemoteConn *rc;
    guint serial;
    GMutex lock;
    GCond cond;
    /* under lock */
    GQueue chunks; /* GBytes *: export data not yet written */
    size_t queued;
    bool holding;  /* the reader waits for the queue to drain */
    bool ended;    /* the server's OK or ERROR, or the connection lost */
    CvError *error;
    guint8 *result; /* import: the body of the server's OK */
    size_t result_len;
    bool progressed; /* done/total are news */
    unsigned long long done, total;
} RemoteArchive;

/* The reader thread, under the connection's lock: record only. */
static bool
archive_packet(const cvr_message_header *hdr, const guint8 *body, size_t len,
               const CvError *lost, void *opaque)
{
    RemoteArchive *ra = opaque;
    bool hold = false;
    cvr_cocoon_archive_progress prog;
    if (hdr && hdr->type == CVR_MESSAGE) {
        g_autoptr(CvError) perr = NULL;
        if (rpc_message_decode_body(body, len, (xdrproc_t)xdr_cvr_cocoon_archive_progress, &prog,
                                    sizeof(prog), &perr) < 0)
            return false;
        cv_mutex_lock(&ra->lock);
        ra->done = prog.done;
        ra->total = prog.total;
        ra->progressed = true;
        g_cond_broadcast(&ra->cond);
        cv_mutex_unlock(&ra->lock);
        return false;
    }
    cv_mutex_lock(&ra->lock);
    if (ra->ended) {
        /* nothing after the end */
    } else if (!hdr) {
        if (lost)
            ra->error = cv_error_copy(lost);
        else
            cv_error_set(&ra->error, VIR_FROM_RPC, VIR_ERR_INTERNAL_ERROR,
                         "client socket is closed");
        ra->ended = true;
    } else if (hdr->status == CVR_CONTINUE) {
        if (len) {
            g_queue_push_tail(&ra->chunks, g_bytes_new(body, len));
            ra->queued += len;
        }
        hold = ra->holding = ra->queued > REMOTE_ARCHIVE_HIGH_WATER;
    } else if (hdr->status == CVR_OK) {
        ra->result = g_memdup2(body, len);
        ra->result_len = len;
        ra->ended = true;
    } else if (hdr->status == CVR_ERROR) {
        remote_conn_error_from_wire(body, len, &ra->error);
        ra->ended = true;
    }
    g_cond_broadcast(&ra->cond);
    cv_mutex_unlock(&ra->lock);
    return hold;
}

static void
archive_init(RemoteArchive *ra, CocoonConn *conn)
{
    memset(ra, 0, sizeof(*ra));
    ra->rc = remote_priv(conn)->rc;
    g_mutex_init(&ra->lock);
    g_cond_init(&ra->cond);
    g_queue_init(&ra->chunks);
    /* routed before the call: the server's data may follow its REPLY at once */
    ra->serial = remote_conn_serial_next(ra->rc);
    remote_conn_stream_add(ra->rc, ra->serial, archive_packet, ra);
}

static void
archive_clear(RemoteArchive *ra)
{
    remote_conn_stream_remove(ra->rc, ra->serial);
    g_queue_clear_full(&ra->chunks, (GDestroyNotify)g_bytes_unref);
    cv_error_free(ra->error);
    g_free(ra->result);
    g_cond_clear(&ra->cond);
    g_mutex_clear(&ra->lock);
}

static int
archive_call(RemoteArchive *ra, int proc, xdrproc_t args_filter, const void *args,
             CvError **err)
{
    return remote_conn_call_prog(ra->rc, CVR_COCOON_PROGRAM, CVR_COCOON_VERSION, ra->serial,
                                 proc, args_filter, args, NULL, NULL, 0, err);
}

/* An empty STREAM packet of status for the stream (the end, or an abort). */
static int
archive_send_status(RemoteArchive *ra, int proc, int status, CvError **err)
{
    cvr_message_header h = {.prog = CVR_COCOON_PROGRAM,
                            .vers = CVR_COCOON_VERSION,
                            .proc = proc,
                            .type = CVR_STREAM,
                            .serial = ra->serial,
                            .status = status};
    return remote_conn_send(ra->rc, rpc_message_encode_raw(&h, NULL, 0), err);
}

/* Draw the server's latest progress if it is news; ra->lock held (dropped meanwhile). */
static void
progress_report_locked(RemoteArchive *ra, const CocoonProgress *progress)
{
    if (!ra->progressed)
        return;
    ra->progressed = false;
    unsigned long long done = ra->done, total = ra->total;
    if (!progress || !progress->func)
        return;
    cv_mutex_unlock(&ra->lock);
    progress->func(done, total, progress->opaque);
    cv_mutex_lock(&ra->lock);
}

static int
write_all(int fd, const guint8 *data, size_t len)
{
    while (len) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

int
remote_cocoon_snapshot_export(CocoonDomain *dom, const char *snap, int fd,
                              const CocoonProgress *progress, unsigned int flags, CvError **err)
{
    RemoteArchive ra;
    archive_init(&ra, dom->conn);
    cvr_cocoon_snapshot_export_args args = {.snapshot = (char *)snap, .flags = flags};
    remote_domain_to_wire(dom, &args.dom);
    int ret = -1;
    if (archive_call(&ra, CVR_COCOON_PROC_SNAPSHOT_EXPORT,
                     (xdrproc_t)xdr_cvr_cocoon_snapshot_export_args, &args, err) < 0)
        goto out;
    for (;;) {
        cv_mutex_lock(&ra.lock);
        for (;;) {
            progress_report_locked(&ra, progress);
            if (!g_queue_is_empty(&ra.chunks) || ra.ended)
                break;
            cv_cond_wait(&ra.cond, &ra.lock);
        }
        GBytes *chunk = g_queue_pop_head(&ra.chunks);
        if (chunk)
            ra.queued -= g_bytes_get_size(chunk);
        bool release = ra.holding && ra.queued <= REMOTE_ARCHIVE_HIGH_WATER / 2;
        if (release)
            ra.holding = false;
        cv_mutex_unlock(&ra.lock);
        if (release)
            remote_conn_stream_release(ra.rc, ra.serial);
        if (!chunk)
            break; /* ended, everything written */
        gsize len;
        const guint8 *data = g_bytes_get_data(chunk, &len);
        int w = write_all(fd, data, len);
        int e = errno;
        g_bytes_unref(chunk);
        if (w < 0) {
            cv_error_set_errno(err, VIR_FROM_STREAMS, e, "cannot write the archive");
            g_autoptr(CvError) aerr = NULL;
            archive_send_status(&ra, CVR_COCOON_PROC_SNAPSHOT_EXPORT, CVR_ERROR, &aerr);
            goto out;
        }
    }
    if (ra.error) {
        if (err && !*err)
            *err = g_steal_pointer(&ra.error);
        goto out;
    }
    ret = 0;
out:
    archive_clear(&ra);
    return ret;
}

/* Send fd's bytes as the stream's data, then its end. -1 with *err: nothing sent after it. */
static int
import_send(RemoteArchive *ra, int fd, const CocoonProgress *progress, CvError **err)
{
    g_autofree guint8 *buf = g_malloc(CVR_STREAM_CHUNK_MAX);
    cvr_message_header h = {.prog = CVR_COCOON_PROGRAM,
                            .vers = CVR_COCOON_VERSION,
                            .proc = CVR_COCOON_PROC_SNAPSHOT_IMPORT,
                            .type = CVR_STREAM,
                            .serial = ra->serial,
                            .status = CVR_CONTINUE};
    for (;;) {
        cv_mutex_lock(&ra->lock);
        progress_report_locked(ra, progress);
        bool ended = ra->ended;
        cv_mutex_unlock(&ra->lock);
        if (ended)
            return 0; /* the server refused the archive: its answer is there */
        ssize_t n = read(fd, buf, CVR_STREAM_CHUNK_MAX);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            cv_error_set_errno(err, VIR_FROM_STREAMS, errno, "cannot read the archive");
            g_autoptr(CvError) aerr = NULL;
            archive_send_status(ra, CVR_COCOON_PROC_SNAPSHOT_IMPORT, CVR_ERROR, &aerr);
            return -1;
        }
        if (n == 0)
            return archive_send_status(ra, CVR_COCOON_PROC_SNAPSHOT_IMPORT, CVR_OK, err);
        if (remote_conn_send(ra->rc, rpc_message_encode_raw(&h, buf, (size_t)n), err) < 0)
            return -1;
    }
}

CocoonDomain *
remote_cocoon_snapshot_import(CocoonConn *conn, const char *dom_name, int fd,
                              const char *new_name, const CocoonProgress *progress,
                              unsigned int flags, char **ret_snap, CvError **err)
{
    RemoteArchive ra;
    archive_init(&ra, conn);
    char *dn = (char *)dom_name, *nn = (char *)new_name;
    cvr_cocoon_snapshot_import_args args = {
        .dom_name = dom_name ? &dn : NULL, .new_name = new_name ? &nn : NULL, .flags = flags};
    CocoonDomain *dom = NULL;
    if (archive_call(&ra, CVR_COCOON_PROC_SNAPSHOT_IMPORT,
                     (xdrproc_t)xdr_cvr_cocoon_snapshot_import_args, &args, err) < 0 ||
        import_send(&ra, fd, progress, err) < 0)
        goto out;
    cv_mutex_lock(&ra.lock);
    for (;;) {
        progress_report_locked(&ra, progress);
        if (ra.ended)
            break;
        cv_cond_wait(&ra.cond, &ra.lock);
    }
    cv_mutex_unlock(&ra.lock);
    if (ra.error) {
        if (err && !*err)
            *err = g_steal_pointer(&ra.error);
        goto out;
    }
    cvr_cocoon_snapshot_import_ret ret;
    if (rpc_message_decode_body(ra.result, ra.result_len,
                                (xdrproc_t)xdr_cvr_cocoon_snapshot_import_ret, &ret, sizeof(ret),
                                err) < 0)
        goto out;
    dom = remote_domain_from_wire(conn, &ret.dom);
    if (ret_snap)
        *ret_snap = g_strdup(ret.snapshot);
    xdr_free((xdrproc_t)xdr_cvr_cocoon_snapshot_import_ret, (char *)&ret);
out:
    archive_clear(&ra);
    return dom;
}
