#pragma once

#include <glib.h>
#include <stdbool.h>
#include <sys/types.h>

#include "cocoon_protocol.h"
#include "driver/driver.h"
#include "rpc_server.h"

/*
 * The server's objects, shared by rpc_server.c (loop), rpc_client.c (one connection) and the
 * rpc_dispatch*.c files. Threads: the loop thread owns listeners, the client set, input
 * buffers and streams' fds; workers call the driver (the loop only for RPC_PROC_INLINE reads,
 * which never wait); driver event callbacks may run anywhere.
 * Everything a worker or a callback touches on a client is under client->lock.
 */

typedef struct RpcClient RpcClient;
typedef struct RpcStream RpcStream;
typedef struct RpcArchiveJob RpcArchiveJob; /* rpc_dispatch_archive.c */

typedef enum {
    RPC_WATCH_WAKE,
    RPC_WATCH_LISTENER,
    RPC_WATCH_CLIENT,
    RPC_WATCH_STREAM,
} RpcWatchKind;

/* What an epoll event points at. */
typedef struct {
    RpcWatchKind kind;
    void *obj;
} RpcWatch;

typedef struct {
    RpcWatch watch;
    int fd;
    bool read_only;
} RpcListener;

struct RpcServer {
    CocoonConn *conn; /* borrowed */
    RpcServerConfig config;
    int epfd;
    int wake_fd; /* eventfd: quit, and clients whose reading may resume */
    RpcWatch wake_watch;
    GPtrArray *listeners; /* RpcListener *, loop thread */
    GHashTable *clients;  /* set of RpcClient * (one ref each), loop thread */
    GThreadPool *pool;
    GPtrArray *graveyard; /* objects freed after the current batch of events, loop thread */
    GMutex resume_lock;
    GPtrArray *resume;    /* RpcClient * (ref) whose calls in flight dropped below the limit */
    volatile gint quit;
    guint64 next_client_id;
    GMutex archive_lock;
    GCond archive_cond;
    unsigned int archive_workers; /* under archive_lock: snapshot archive threads running */
};

struct RpcClient {
    gint refs;
    RpcServer *srv;
    RpcWatch watch;
    guint64 id;

    GMutex lock;
    /* under lock */
    int fd;                 /* -1 once disconnected */
    bool dead;              /* disconnected: everything sent is dropped */
    bool opened;            /* CONNECT_OPEN done */
    bool read_only;
    char *uri;              /* what CONNECT_GET_URI answers */
    bool want_out;          /* EPOLLOUT armed */
    bool reading_paused;    /* too many calls in flight */
    unsigned int input_holds; /* streams whose descriptor is full: no input parsed meanwhile */
    bool close_after_flush; /* a fatal protocol error was queued */
    GQueue outq;            /* GBytes * */
    size_t out_off;         /* bytes of the head already written */
    size_t out_bytes;       /* bytes queued, not yet written */
    unsigned int inflight;  /* calls handed to the workers, not yet answered */
    GHashTable *events;     /* our callbackID → driver's callback id (316/317) */
    GHashTable *legacy_events; /* eventID → driver's callback id (105/106, 167/168) */
    int next_callback_id;
    GHashTable *streams;    /* serial → RpcStream * */

    /* loop thread only */
    guint8 *inbuf;
    size_t in_len, in_cap;
};

struct RpcStream {
    RpcWatch watch;
    RpcClient *client; /* borrowed: a stream never outlives its client's connection */
    CocoonStream *st;   /* a console's driver stream, NULL for an archive */
    RpcArchiveJob *job; /* a snapshot archive's transfer (rpc_dispatch_archive.c), or NULL */
    guint prog, vers;
    int proc;
    guint serial;
    int fd;            /* cocoon_stream_get_fd or the archive's socket, -1: none */
    bool paused;       /* not polled while the client's queue is long */
};

/* ---- rpc_client.c ---- */

RpcClient *rpc_client_new(RpcServer *srv, int fd, bool read_only);
RpcClient *rpc_client_ref(RpcClient *c);
void rpc_client_unref(RpcClient *c);

/* Queue msg (taken) for c; drops it if c is gone. Any thread. A client whose queue goes over
 * the limit is shut down (the loop then disconnects it). */
void rpc_client_send(RpcClient *c, GBytes *msg);

/* rpc_client_send with c->lock already held. */
void rpc_client_send_locked(RpcClient *c, GBytes *msg);

/* Loop thread: socket events (EPOLLIN/OUT/HUP/ERR). */
void rpc_client_handle_events(RpcClient *c, guint32 events);

/* Loop thread: close the connection, end streams and event registrations. */
void rpc_client_disconnect(RpcClient *c);

/* Loop thread: parse buffered input again (after calls in flight dropped). */
void rpc_client_resume_reading(RpcClient *c);

/* Loop thread: stop parsing c's input (a stream cannot take more), or start again. */
void rpc_client_hold_input(RpcClient *c, bool hold);

/* Any thread: a call handed to the workers has been answered. */
void rpc_client_call_done(RpcClient *c);

/* Recompute the epoll interest of c; c->lock held. */
void rpc_client_update_events_locked(RpcClient *c);

/* ---- rpc_server.c ---- */

/* Free obj with fn after the current batch of events (loop thread). */
void rpc_server_defer_free(RpcServer *srv, gpointer obj, GDestroyNotify fn);

/* Ask the loop to resume reading c (any thread). */
void rpc_server_schedule_resume(RpcServer *srv, RpcClient *c);

/* ---- rpc_dispatch.c ---- */

/* Loop thread: one complete message of c (without its length word). Returns -1 when c must be
 * disconnected after its queue is flushed, 1 when the message went to the workers, else 0. */
int rpc_dispatch_message(RpcClient *c, const guint8 *buf, size_t len);

/* The worker pool's function: RpcJob *job. */
void rpc_dispatch_job_run(gpointer job, gpointer srv);

/* ---- rpc_dispatch_stream.c ---- */

/* Loop thread: a STREAM packet from the client. */
void rpc_stream_handle_packet(RpcClient *c, const cvr_message_header *hdr, const guint8 *data,
                              size_t len);

/* Loop thread: the stream's fd is readable. */
void rpc_stream_handle_events(RpcStream *s, guint32 events);

/* Loop thread: the client's queue drained: poll paused streams again. */
void rpc_stream_resume_all(RpcClient *c);

/* Loop thread: end s (abort its driver side), unregister it, free it later. */
void rpc_stream_close(RpcStream *s, bool abort);

/* Loop thread: take s out of its client's table and end it (rpc_stream_close). */
void rpc_stream_remove(RpcStream *s, bool abort);

/* Any thread: send s's STREAM packet of status (ERROR: err's body, else empty). */
void rpc_stream_send_status(RpcStream *s, int status, const CvError *err);

/* Any thread: the header of s's STREAM packets. */
cvr_message_header rpc_stream_header(const RpcStream *s, int status);

/* ---- rpc_dispatch_archive.c ---- */

/* Loop thread: events of an archive stream's socket. */
void rpc_archive_handle_events(RpcStream *s, guint32 events);

/* Loop thread: a STREAM packet of the client for an archive stream. */
void rpc_archive_handle_packet(RpcStream *s, const cvr_message_header *hdr, const guint8 *data,
                               size_t len);

/* Loop thread: the archive stream is ending: close its socket, drop its hold on the input. */
void rpc_archive_close(RpcStream *s);

/* Drop a reference to job (any thread). */
void rpc_archive_job_unref(RpcArchiveJob *job);

/* The server is going away: wait for the archive threads (their sockets are closed). */
void rpc_archive_wait_all(RpcServer *srv);

/* ---- rpc_dispatch_event.c ---- */

/* Any thread, c->lock not held: deregister the driver callbacks of the tables (taken). */
void rpc_event_deregister_all(RpcServer *srv, GHashTable *events, GHashTable *legacy_events);
