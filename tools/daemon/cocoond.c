/*
 * cocoond: serves the local driver over libvirt's RPC protocol, so Debian's virsh,
 * python3-libvirt and virt-manager drive Cocoon with no client-side change.
 *
 *   cocoond [--root DIR] [--run-dir DIR] [--socket PATH] [--ro-socket PATH]
 *           [--socket-group GROUP] [--verbose]
 */

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cocoond_socket.h"
#include "driver/config.h"
#include "driver/driver.h"
#include "driver/local.h"
#include "rpc/rpc_server.h"
#include "util/cv_paths.h"

static RpcServer *the_server;
static bool verbose;

/*
 * SIGTERM and SIGINT are blocked in every thread (main blocks them before any other exists,
 * the others inherit that) and taken by one thread waiting in sigwait, which tells the
 * server to quit. An asynchronous handler could run on any thread, pool workers included,
 * and ThreadSanitizer holds a signal back until its thread makes an intercepted call, which
 * a worker idle in GLib's queue does not: cocoond under TSan ignored SIGTERM (found by the
 * concurrency test's TSan run). Children start with an empty mask (cv_process).
 */
static void
signals_block(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    pthread_sigmask(SIG_BLOCK, set, NULL);
}

static sigset_t quit_signals;

static void *
signal_thread(void *data)
{
    RpcServer *srv = data;
    int sig = 0;
    while (sigwait(&quit_signals, &sig) != 0)
        ;
    rpc_server_quit(srv);
    return NULL;
}

static void G_GNUC_PRINTF(1, 2)
log_verbose(const char *fmt, ...)
{
    if (!verbose)
        return;
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    fprintf(stderr, "cocoond: %s\n", msg);
}

/* Who connects is always logged (an audit trail of a root daemon); the rest with --verbose. */
static void
log_server(bool audit, const char *message, void *opaque)
{
    if (audit)
        fprintf(stderr, "cocoond: %s\n", message);
    else
        log_verbose("%s", message);
}

static int
fail(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

static int
fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    fprintf(stderr, "cocoond: error: %s\n", msg);
    return EXIT_FAILURE;
}

/* One daemon per root: an flock on <root>/cocoond.lock, held for the daemon's life. */
static int
daemon_lock(const char *root, char **ret_error)
{
    if (g_mkdir_with_parents(root, 0700) < 0) {
        *ret_error = g_strdup_printf("cannot create root '%s': %s", root, g_strerror(errno));
        return -1;
    }
    g_autofree char *path = g_build_filename(root, "cocoond.lock", NULL);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        *ret_error = g_strdup_printf("cannot open '%s': %s", path, g_strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        g_autofree char *pid = NULL;
        g_file_get_contents(path, &pid, NULL, NULL);
        if (pid)
            g_strstrip(pid);
        *ret_error = e == EWOULDBLOCK
                         ? g_strdup_printf("another cocoond (pid %s) is already serving root '%s'",
                                           pid && *pid ? pid : "unknown", root)
                         : g_strdup_printf("cannot lock '%s': %s", path, g_strerror(e));
        close(fd);
        return -1;
    }
    g_autofree char *pid = g_strdup_printf("%d\n", getpid());
    if (ftruncate(fd, 0) == 0 && write(fd, pid, strlen(pid)) < 0) {
        /* the pid is only a hint for the error above */
    }
    return fd;
}

static char *
embed_uri(const char *root, const char *run)
{
    g_autofree char *r = g_uri_escape_string(root, "/", FALSE);
    g_autofree char *u = g_uri_escape_string(run, "/", FALSE);
    return g_strdup_printf("cocoon:///embed?root=%s&run=%s", r, u);
}

int
main(int argc, char **argv)
{
    signals_block(&quit_signals);
    g_autofree char *root = NULL, *run = NULL, *sock = NULL, *ro_sock = NULL, *group = NULL;
    gboolean opt_verbose = FALSE;
    GOptionEntry entries[] = {
        {"root", 0, 0, G_OPTION_ARG_FILENAME, &root,
         "persistent state (default /var/lib/cocoon, or $XDG_DATA_HOME/cocoon)", "DIR"},
        {"run-dir", 0, 0, G_OPTION_ARG_FILENAME, &run,
         "live state (default /run/cocoon, or $XDG_RUNTIME_DIR/cocoon)", "DIR"},
        {"socket", 0, 0, G_OPTION_ARG_FILENAME, &sock,
         "read-write socket (default /run/libvirt/virtcocoond-sock, or "
         "$XDG_RUNTIME_DIR/libvirt/virtcocoond-sock)",
         "PATH"},
        {"ro-socket", 0, 0, G_OPTION_ARG_FILENAME, &ro_sock,
         "read-only socket (default: the read-write socket's path + \"-ro\")", "PATH"},
        {"socket-group", 0, 0, G_OPTION_ARG_STRING, &group,
         "group allowed on the read-write socket (mode 0660 instead of 0600)", "GROUP"},
        {"verbose", 'v', 0, G_OPTION_ARG_NONE, &opt_verbose, "log to stderr", NULL},
        {NULL}};
    g_autoptr(GOptionContext) ctx = g_option_context_new(NULL);
    g_option_context_set_summary(ctx, "Serve Cocoon to libvirt clients (virsh, python3-libvirt, "
                                      "virt-manager) over libvirt's RPC protocol.");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_autoptr(GError) gerr = NULL;
    if (!g_option_context_parse(ctx, &argc, &argv, &gerr))
        return fail("%s (try --help)", gerr->message);
    if (argc > 1)
        return fail("unexpected argument '%s' (try --help)", argv[1]);
    verbose = opt_verbose;

    /* cocoon.conf(5) gives the defaults of --root, --run-dir and --socket-group */
    g_autoptr(CvError) conf_err = NULL;
    g_autoptr(CocoonConfig) conf = cocoon_config_load(NULL, &conf_err);
    if (!conf)
        return fail("%s", conf_err->message);
    if (!root && conf->root)
        root = g_strdup(conf->root);
    if (!run && conf->run)
        run = g_strdup(conf->run);
    if (!group && conf->socket_group)
        group = g_strdup(conf->socket_group);

    gid_t gid = (gid_t)-1;
    if (group) {
        struct group *gr = getgrnam(group);
        if (!gr)
            return fail("unknown group '%s'", group);
        gid = gr->gr_gid;
    }
    if (!root)
        root = cv_paths_default_root();
    if (!run)
        run = cv_paths_default_run();
    g_autofree char *root_abs = g_canonicalize_filename(root, NULL);
    g_autofree char *run_abs = g_canonicalize_filename(run, NULL);

    g_autofree char *lock_error = NULL;
    int lock_fd = daemon_lock(root_abs, &lock_error);
    if (lock_fd < 0)
        return fail("%s", lock_error);

    g_autofree char *uri = embed_uri(root_abs, run_abs);
    g_autoptr(CvError) err = NULL;
    g_autoptr(CocoonConn) conn = cocoon_conn_open(uri, 0, &err);
    if (!conn)
        return fail("cannot open the driver on root '%s': %s", root_abs, err->message);
    log_verbose("serving root '%s', live state in '%s'", root_abs, run_abs);
    g_autoptr(CvError) autostart_err = NULL;
    int autostart_failed = local_conn_autostart(conn, &autostart_err);
    if (autostart_failed > 0)
        fprintf(stderr, "cocoond: %d autostart domain(s) failed to start: %s\n", autostart_failed,
                autostart_err ? autostart_err->message : "");

    /* listening sockets: from systemd, else our own */
    g_autofree int *fds = NULL;
    g_autofree bool *fds_ro = NULL;
    int nfds = cocoond_socket_activated(&fds, &fds_ro);
    g_autoptr(GPtrArray) created = g_ptr_array_new_with_free_func(g_free);
    if (nfds == 0) {
        if (!sock)
            sock = cv_paths_daemon_socket();
        if (!ro_sock)
            ro_sock = g_strconcat(sock, "-ro", NULL);
        fds = g_new0(int, 2);
        fds_ro = g_new0(bool, 2);
        fds[0] = cocoond_socket_listen(sock, gid != (gid_t)-1 ? 0660 : 0600, gid, &err);
        if (fds[0] < 0)
            return fail("%s", err->message);
        g_ptr_array_add(created, g_strdup(sock));
        fds[1] = cocoond_socket_listen(ro_sock, 0666, (gid_t)-1, &err);
        if (fds[1] < 0) {
            unlink(sock);
            return fail("%s", err->message);
        }
        g_ptr_array_add(created, g_strdup(ro_sock));
        fds_ro[1] = true;
        nfds = 2;
        log_verbose("listening on '%s' and '%s' (read-only)", sock, ro_sock);
    } else {
        log_verbose("listening on %d socket(s) from systemd", nfds);
    }

    int rc = EXIT_SUCCESS;
    /* each connection's peer (pid, uid, gid) goes to the log */
    RpcServerConfig server_cfg = {.log = log_server};
    the_server = rpc_server_new(conn, &server_cfg, &err);
    if (!the_server) {
        rc = fail("%s", err->message);
        goto out;
    }
    for (int i = 0; i < nfds; i++) {
        if (rpc_server_add_listener(the_server, fds[i], fds_ro[i], &err) < 0) {
            rc = fail("%s", err->message);
            goto out;
        }
    }

    signal(SIGPIPE, SIG_IGN);
    pthread_t signals;
    int perr = pthread_create(&signals, NULL, signal_thread, the_server);
    if (perr != 0) {
        rc = fail("cannot start the signal thread: %s", g_strerror(perr));
        goto out;
    }
    if (rpc_server_run(the_server, &err) < 0)
        rc = fail("%s", err->message);
    log_verbose("shutting down");
    /* when the run ended for another reason, the thread still waits: it must be done before
     * the server goes */
    pthread_kill(signals, SIGTERM);
    pthread_join(signals, NULL);

out:
    for (guint i = 0; i < created->len; i++)
        unlink(created->pdata[i]);
    rpc_server_free(the_server);
    the_server = NULL;
    close(lock_fd);
    return rc;
}
