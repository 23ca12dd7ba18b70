#include "domain_watch.h"

#include <errno.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "driver/local_lifecycle.h"
#include "util/cv_sync.h"

#define WATCH_RESCAN_MS 1000

struct DomainWatch {
    CocoonConn *conn;
    GThread *thread;
    int wake_fd; /* eventfd: rescan now, or stop */
    gint stop;
};

static int
watch_pidfd_open(int pid)
{
#ifdef SYS_pidfd_open
    return (int)syscall(SYS_pidfd_open, pid, 0);
#else
    (void)pid;
    errno = ENOSYS;
    return -1;
#endif
}

static gpointer
watch_thread(gpointer data)
{
    DomainWatch *w = data;
    g_autoptr(GHashTable) reboots = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    while (!g_atomic_int_get(&w->stop)) {
        local_lifecycle_check_all(w->conn);
        local_events_check_reboots(w->conn, reboots);
        g_autoptr(GArray) pids = local_lifecycle_active_pids(w->conn);
        g_autofree struct pollfd *fds = g_new0(struct pollfd, pids->len + 1);
        nfds_t n = 0;
        fds[n++] = (struct pollfd){.fd = w->wake_fd, .events = POLLIN};
        for (guint i = 0; i < pids->len; i++) {
            int fd = watch_pidfd_open(g_array_index(pids, int, i));
            if (fd >= 0)
                fds[n++] = (struct pollfd){.fd = fd, .events = POLLIN};
        }
        int rc = poll(fds, n, WATCH_RESCAN_MS);
        if (rc > 0 && (fds[0].revents & POLLIN)) {
            uint64_t v;
            if (read(w->wake_fd, &v, sizeof(v)) < 0) {
                /* nothing to drain */
            }
        }
        for (nfds_t i = 1; i < n; i++)
            close(fds[i].fd);
    }
    return NULL;
}

int
domain_watch_ensure(CocoonConn *conn, CvError **err)
{
    LocalDriverPriv *priv = conn->priv;
    int rc = 0;
    cv_mutex_lock(&priv->watch_lock);
    if (!priv->watch) {
        int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (fd < 0) {
            cv_error_set_errno(err, VIR_FROM_CH, errno, "cannot create eventfd");
            rc = -1;
        } else {
            DomainWatch *w = g_new0(DomainWatch, 1);
            w->conn = conn;
            w->wake_fd = fd;
            w->thread = g_thread_new("cocoon-watch", watch_thread, w);
            priv->watch = w;
        }
    }
    cv_mutex_unlock(&priv->watch_lock);
    return rc;
}

void
domain_watch_wake(LocalDriverPriv *priv)
{
    cv_mutex_lock(&priv->watch_lock);
    if (priv->watch) {
        uint64_t one = 1;
        if (write(priv->watch->wake_fd, &one, sizeof(one)) < 0) {
            /* a pending wake-up is as good */
        }
    }
    cv_mutex_unlock(&priv->watch_lock);
}

void
domain_watch_stop(LocalDriverPriv *priv)
{
    cv_mutex_lock(&priv->watch_lock);
    DomainWatch *w = g_steal_pointer(&priv->watch);
    cv_mutex_unlock(&priv->watch_lock);
    if (!w)
        return;
    g_atomic_int_set(&w->stop, 1);
    uint64_t one = 1;
    if (write(w->wake_fd, &one, sizeof(one)) < 0) {
        /* the thread still sees stop within a rescan period */
    }
    g_thread_join(w->thread);
    close(w->wake_fd);
    g_free(w);
}
