#include "rpc_server.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rpc_server_priv.h"
#include "util/cv_sync.h"

/*
 * The event loop: epoll over the listeners, the clients, the console streams and one eventfd
 * that wakes the loop for quit and for clients whose reading may resume. Level-triggered; an
 * object closed during a batch of events is freed only after the batch.
 */

#define RPC_DEFAULT_WORKERS 8
#define RPC_DEFAULT_MAX_CLIENTS 1024
#define RPC_DEFAULT_MAX_CLIENT_CALLS 32
#define RPC_DEFAULT_MAX_CLIENT_QUEUE (32u * 1024 * 1024)
#define RPC_EVENTS_PER_WAIT 64

typedef struct {
    gpointer obj;
    GDestroyNotify fn;
} Deferred;

static void
deferred_free(gpointer p)
{
    Deferred *d = p;
    d->fn(d->obj);
    g_free(d);
}

void
rpc_server_defer_free(RpcServer *srv, gpointer obj, GDestroyNotify fn)
{
    Deferred *d = g_new(Deferred, 1);
    d->obj = obj;
    d->fn = fn;
    g_ptr_array_add(srv->graveyard, d);
}

static void
server_wake(RpcServer *srv)
{
    guint64 one = 1;
    ssize_t n = write(srv->wake_fd, &one, sizeof(one));
    (void)n; /* a full counter is still a wake-up */
}

void
rpc_server_schedule_resume(RpcServer *srv, RpcClient *c)
{
    cv_mutex_lock(&srv->resume_lock);
    g_ptr_array_add(srv->resume, rpc_client_ref(c));
    cv_mutex_unlock(&srv->resume_lock);
    server_wake(srv);
}

void
rpc_server_quit(RpcServer *srv)
{
    g_atomic_int_set(&srv->quit, 1);
    server_wake(srv);
}

RpcServer *
rpc_server_new(CocoonConn *conn, const RpcServerConfig *config, CvError **err)
{
    g_autoptr(GError) gerr = NULL;
    RpcServer *srv = g_new0(RpcServer, 1);
    srv->conn = conn;
    if (config)
        srv->config = *config;
    if (!srv->config.workers)
        srv->config.workers = RPC_DEFAULT_WORKERS;
    if (!srv->config.max_clients)
        srv->config.max_clients = RPC_DEFAULT_MAX_CLIENTS;
    if (!srv->config.max_client_calls)
        srv->config.max_client_calls = RPC_DEFAULT_MAX_CLIENT_CALLS;
    if (!srv->config.max_client_queue)
        srv->config.max_client_queue = RPC_DEFAULT_MAX_CLIENT_QUEUE;
    srv->epfd = -1;
    srv->wake_fd = -1;
    srv->listeners = g_ptr_array_new();
    srv->clients = g_hash_table_new(g_direct_hash, g_direct_equal);
    srv->graveyard = g_ptr_array_new_with_free_func(deferred_free);
    srv->resume = g_ptr_array_new();
    g_mutex_init(&srv->resume_lock);
    g_mutex_init(&srv->archive_lock);
    g_cond_init(&srv->archive_cond);

    srv->epfd = epoll_create1(EPOLL_CLOEXEC);
    srv->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (srv->epfd < 0 || srv->wake_fd < 0) {
        cv_error_set_errno(err, VIR_FROM_RPC, errno, "cannot create the event loop");
        rpc_server_free(srv);
        return NULL;
    }
    srv->wake_watch.kind = RPC_WATCH_WAKE;
    srv->wake_watch.obj = srv;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &srv->wake_watch};
    if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, srv->wake_fd, &ev) < 0) {
        cv_error_set_errno(err, VIR_FROM_RPC, errno, "cannot watch the wake-up descriptor");
        rpc_server_free(srv);
        return NULL;
    }
    srv->pool = g_thread_pool_new(rpc_dispatch_job_run, srv, (gint)srv->config.workers, FALSE,
                                  &gerr);
    if (!srv->pool) {
        cv_error_set(err, VIR_FROM_RPC, VIR_ERR_INTERNAL_ERROR, "cannot start the workers: %s",
                     gerr->message);
        rpc_server_free(srv);
        return NULL;
    }
    return srv;
}

int
rpc_server_add_listener(RpcServer *srv, int fd, bool read_only, CvError **err)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
        fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
        cv_error_set_errno(err, VIR_FROM_RPC, errno, "cannot set up listening socket %d", fd);
        close(fd);
        return -1;
    }
    RpcListener *l = g_new0(RpcListener, 1);
    l->watch.kind = RPC_WATCH_LISTENER;
    l->watch.obj = l;
    l->fd = fd;
    l->read_only = read_only;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &l->watch};
    if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        cv_error_set_errno(err, VIR_FROM_RPC, errno, "cannot watch listening socket %d", fd);
        close(fd);
        g_free(l);
        return -1;
    }
    g_ptr_array_add(srv->listeners, l);
    return 0;
}

/* Who connected: the peer's credentials as the kernel saw them at connect time. */
static void
server_log_peer(RpcServer *srv, const RpcClient *c, int fd)
{
    if (!srv->config.log)
        return;
    struct ucred cred;
    socklen_t len = sizeof(cred);
    g_autofree char *msg = NULL;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0)
        msg = g_strdup_printf("client %" G_GUINT64_FORMAT " connected%s: pid %d uid %u gid %u",
                              c->id, c->read_only ? " (read-only)" : "", (int)cred.pid,
                              (unsigned int)cred.uid, (unsigned int)cred.gid);
    else
        msg = g_strdup_printf("client %" G_GUINT64_FORMAT " connected%s: peer unknown (%s)",
                              c->id, c->read_only ? " (read-only)" : "", g_strerror(errno));
    srv->config.log(true, msg, srv->config.log_opaque);
}

static void
server_accept(RpcServer *srv, RpcListener *l)
{
    /* a few per wake-up, so one busy listener cannot starve the clients */
    for (int i = 0; i < 16; i++) {
        int fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0)
            return; /* EAGAIN, or a client gone before we got to it */
        if (g_hash_table_size(srv->clients) >= srv->config.max_clients) {
            close(fd);
            continue;
        }
        RpcClient *c = rpc_client_new(srv, fd, l->read_only);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &c->watch};
        if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
            rpc_client_disconnect(c);
            rpc_client_unref(c);
            continue;
        }
        g_hash_table_add(srv->clients, c);
        server_log_peer(srv, c, fd);
    }
}

static void
server_handle_wake(RpcServer *srv)
{
    guint64 count;
    while (read(srv->wake_fd, &count, sizeof(count)) > 0) {
    }
    cv_mutex_lock(&srv->resume_lock);
    GPtrArray *resume = srv->resume;
    srv->resume = g_ptr_array_new();
    cv_mutex_unlock(&srv->resume_lock);
    for (guint i = 0; i < resume->len; i++) {
        RpcClient *c = resume->pdata[i];
        rpc_client_resume_reading(c);
        rpc_client_unref(c);
    }
    g_ptr_array_free(resume, TRUE);
}

int
rpc_server_run(RpcServer *srv, CvError **err)
{
    struct epoll_event events[RPC_EVENTS_PER_WAIT];
    while (!g_atomic_int_get(&srv->quit)) {
        int n = epoll_wait(srv->epfd, events, RPC_EVENTS_PER_WAIT, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            cv_error_set_errno(err, VIR_FROM_RPC, errno, "cannot wait for events");
            return -1;
        }
        for (int i = 0; i < n; i++) {
            RpcWatch *w = events[i].data.ptr;
            switch (w->kind) {
            case RPC_WATCH_WAKE:
                server_handle_wake(srv);
                break;
            case RPC_WATCH_LISTENER:
                server_accept(srv, w->obj);
                break;
            case RPC_WATCH_CLIENT:
                rpc_client_handle_events(w->obj, events[i].events);
                break;
            case RPC_WATCH_STREAM:
                rpc_stream_handle_events(w->obj, events[i].events);
                break;
            }
        }
        /* nothing of this batch can point at these any more */
        g_ptr_array_set_size(srv->graveyard, 0);
    }
    return 0;
}

void
rpc_server_free(RpcServer *srv)
{
    if (!srv)
        return;
    if (srv->clients) {
        GList *clients = g_hash_table_get_keys(srv->clients);
        for (GList *l = clients; l; l = l->next)
            rpc_client_disconnect(l->data);
        g_list_free(clients);
    }
    /* the archive threads see their sockets closed and stop */
    rpc_archive_wait_all(srv);
    /* the workers finish the calls in flight; their replies go nowhere */
    if (srv->pool) {
        g_thread_pool_free(srv->pool, FALSE, TRUE);
        cv_sync_taken(srv);
    }
    if (srv->graveyard)
        g_ptr_array_free(srv->graveyard, TRUE);
    if (srv->resume) {
        for (guint i = 0; i < srv->resume->len; i++)
            rpc_client_unref(srv->resume->pdata[i]);
        g_ptr_array_free(srv->resume, TRUE);
    }
    for (guint i = 0; srv->listeners && i < srv->listeners->len; i++) {
        RpcListener *l = srv->listeners->pdata[i];
        close(l->fd);
        g_free(l);
    }
    if (srv->listeners)
        g_ptr_array_free(srv->listeners, TRUE);
    if (srv->clients)
        g_hash_table_destroy(srv->clients);
    if (srv->wake_fd >= 0)
        close(srv->wake_fd);
    if (srv->epfd >= 0)
        close(srv->epfd);
    g_mutex_clear(&srv->resume_lock);
    g_mutex_clear(&srv->archive_lock);
    g_cond_clear(&srv->archive_cond);
    g_free(srv);
}
