#include "driver/local_console.h"

#include <errno.h>
#include <fcntl.h>
#include <libvirt/libvirt.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "console/console_proto.h"
#include "console/cv_pty.h"
#include "util/cv_paths.h"
#include "util/cv_process.h"

/*
 * The local driver's consoles: the PTY pair, the relay process (spawned detached, readiness
 * reported on a pipe so nobody sleeps) and the stream bound to a viewer connection.
 */

#define VIR_FROM_THIS VIR_FROM_STREAMS

#define RELAY_NAME "cocoon-console-relay"
/* What the relay says on stderr before it detaches, kept for the error message. */
#define RELAY_STDERR_MAX 4096
/* How long a relay that failed gets to be gone after SIGKILL. */
#define RELAY_KILL_WAIT_MS 2000

char *
local_console_socket_path(const char *live_dir)
{
    return g_build_filename(live_dir, "console.sock", NULL);
}

int
local_console_pty_open(int *ret_master, int *ret_slave, CvError **err)
{
    int master, slave;

    if (cv_pty_open(&master, NULL, &slave, err) < 0)
        return -1;
    *ret_master = master;
    *ret_slave = slave;
    return 0;
}

/* ---- the relay binary -------------------------------------------------------------------- */

/* Where the relay is: $COCOON_CONSOLE_RELAY, next to the running program, or libexecdir. */
static char *
relay_binary_find(CvError **err)
{
    return cv_paths_helper_find(RELAY_NAME, "console relay", "COCOON_CONSOLE_RELAY",
                                "tools/relay", err);
}

/* ---- starting the relay ------------------------------------------------------------------ */

static void
relay_fd_close(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* Read fd to its end (or until the deadline, in monotonic µs); at most RELAY_STDERR_MAX kept.
 * Returns false on timeout. */
static bool
relay_read_to_end(int fd, GString *out, gint64 deadline)
{
    char buf[512];
    for (;;) {
        gint64 left = (deadline - g_get_monotonic_time()) / 1000;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (left <= 0)
            return false;
        int n = poll(&pfd, 1, (int)MIN(left, G_MAXINT));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        ssize_t r = read(fd, buf, sizeof(buf));
        if (r < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (r <= 0)
            return true;
        if (out->len < RELAY_STDERR_MAX)
            g_string_append_len(out, buf, MIN((gsize)r, RELAY_STDERR_MAX - out->len));
    }
}

/* The ready byte: 1 when it came, 0 on EOF (the relay died before it was ready), -1 on
 * timeout. */
static int
relay_read_ready(int fd, gint64 deadline)
{
    for (;;) {
        gint64 left = (deadline - g_get_monotonic_time()) / 1000;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (left <= 0)
            return -1;
        int n = poll(&pfd, 1, (int)MIN(left, G_MAXINT));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        char byte = 0;
        ssize_t r = read(fd, &byte, 1);
        if (r < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        return r == 1 && byte == 'R' ? 1 : 0;
    }
}

/* The relay's own words from its stderr ("error: cannot bind …" → "cannot bind …"). */
static const char *
relay_message(GString *text)
{
    g_strstrip(text->str);
    text->len = strlen(text->str);
    if (g_str_has_prefix(text->str, "error: "))
        return text->str + strlen("error: ");
    return text->len ? text->str : "no message";
}

void
local_console_relay_clear(LocalConsoleRelay *relay)
{
    relay_fd_close(&relay->ready_fd);
    relay_fd_close(&relay->stderr_fd);
    g_clear_pointer(&relay->binary, g_free);
    g_clear_pointer(&relay->log_path, g_free);
}

void
local_console_relay_abort(LocalConsoleRelay *relay)
{
    if (relay->pid > 0 && cv_process_alive(relay->pid, relay->start_time)) {
        kill(relay->pid, SIGKILL);
        cv_process_wait_exit(relay->pid, relay->start_time, RELAY_KILL_WAIT_MS);
    }
    relay_fd_close(&relay->ready_fd);
    relay_fd_close(&relay->stderr_fd);
}

int
local_console_relay_spawn(const char *live_dir, int master_fd, const char *pty_path, pid_t vm_pid,
                          LocalConsoleRelay *ret_relay, CvError **err)
{
    if ((master_fd < 0) == (pty_path == NULL)) {
        cv_error_set(err, VIR_FROM_THIS, VIR_ERR_INTERNAL_ERROR,
                     "a console relay needs either a PTY master or a PTY path");
        return -1;
    }
    g_autofree char *relay = relay_binary_find(err);
    if (!relay)
        return -1;
    g_autofree char *sock = local_console_socket_path(live_dir);
    g_autofree char *log = g_build_filename(live_dir, "console-relay.log", NULL);
    g_autofree char *pid_arg = g_strdup_printf("%d", (int)vm_pid);

    /* cv_process_spawn hands over fds 0-2: the PTY master (FC) as stdin, the ready pipe as
     * stdout, the error pipe as stderr; --detached has the relay move them where it wants */
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_ptr_array_add(argv, relay);
    g_ptr_array_add(argv, pty_path ? "--pty" : "--pty-fd");
    g_ptr_array_add(argv, pty_path ? (char *)pty_path : "0");
    g_ptr_array_add(argv, "--socket");
    g_ptr_array_add(argv, sock);
    if (vm_pid > 0) {
        g_ptr_array_add(argv, "--pid");
        g_ptr_array_add(argv, pid_arg);
    }
    g_ptr_array_add(argv, "--log");
    g_ptr_array_add(argv, log);
    g_ptr_array_add(argv, "--detached");
    g_ptr_array_add(argv, "--ready-fd");
    g_ptr_array_add(argv, "1");
    g_ptr_array_add(argv, NULL);

    int ready[2] = {-1, -1}, errp[2] = {-1, -1};
    if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
        cv_error_set_errno(err, VIR_FROM_THIS, errno, "cannot create the console relay's pipes");
        relay_fd_close(&ready[0]);
        relay_fd_close(&ready[1]);
        return -1;
    }
    pid_t pid = 0;
    int rc = cv_process_spawn((const char *const *)argv->pdata, pty_path ? -1 : master_fd,
                              ready[1], errp[1], &pid, err);
    relay_fd_close(&ready[1]);
    relay_fd_close(&errp[1]);
    if (rc < 0) {
        relay_fd_close(&ready[0]);
        relay_fd_close(&errp[0]);
        return -1;
    }
    *ret_relay = (LocalConsoleRelay){
        .pid = pid,
        .ready_fd = ready[0],
        .stderr_fd = errp[0],
        .binary = g_steal_pointer(&relay),
        .log_path = g_steal_pointer(&log),
    };
    /* fails only when it is gone already, which the wait then tells */
    cv_process_start_time(pid, &ret_relay->start_time, NULL);
    return 0;
}

int
local_console_relay_wait(LocalConsoleRelay *relay, CvError **err)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)cv_process_start_timeout_ms() * 1000;
    int r = relay_read_ready(relay->ready_fd, deadline);
    if (r == 1) {
        relay_fd_close(&relay->ready_fd);
        relay_fd_close(&relay->stderr_fd);
        return 0;
    }
    if (r < 0) {
        cv_error_set(err, VIR_FROM_THIS, VIR_ERR_OPERATION_TIMEOUT,
                     "console relay '%s' did not start in time", relay->binary);
    } else {
        /* it is on its way out: what it said is complete once its stderr closes */
        g_autoptr(GString) text = g_string_new(NULL);
        if (relay_read_to_end(relay->stderr_fd, text, deadline) && text->len > 0)
            cv_error_set(err, VIR_FROM_THIS, VIR_ERR_OPERATION_FAILED,
                         "cannot start the console relay: %s", relay_message(text));
        else
            cv_error_set(err, VIR_FROM_THIS, VIR_ERR_OPERATION_FAILED,
                         "the console relay exited before it was ready (see '%s')",
                         relay->log_path);
    }
    local_console_relay_abort(relay);
    return -1;
}

int
local_console_relay_start(const char *live_dir, int master_fd, const char *pty_path, pid_t vm_pid,
                          pid_t *ret_pid, CvError **err)
{
    LocalConsoleRelay relay;
    if (local_console_relay_spawn(live_dir, master_fd, pty_path, vm_pid, &relay, err) < 0)
        return -1;
    int rc = local_console_relay_wait(&relay, err);
    if (rc == 0)
        *ret_pid = relay.pid;
    local_console_relay_clear(&relay);
    return rc;
}

/* ---- the stream -------------------------------------------------------------------------- */

typedef struct {
    int fd; /* the viewer connection after the handshake; -1 once finished */
} ConsoleStreamPriv;

static int
console_stream_fd(CocoonStream *st, CvError **err)
{
    ConsoleStreamPriv *p = st->priv;
    if (p->fd < 0)
        cv_error_set(err, VIR_FROM_THIS, VIR_ERR_OPERATION_INVALID, "stream is not open");
    return p->fd;
}

static ssize_t
console_stream_recv(CocoonStream *st, char *buf, size_t n, CvError **err)
{
    int fd = console_stream_fd(st, err);
    if (fd < 0)
        return -1;
    for (;;) {
        ssize_t r = recv(fd, buf, n, st->nonblock ? MSG_DONTWAIT : 0);
        if (r >= 0)
            return r;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN && st->nonblock)
            return -2;
        if (errno == EAGAIN) {
            struct pollfd pfd = {.fd = fd, .events = POLLIN};
            poll(&pfd, 1, -1);
            continue;
        }
        if (errno == ECONNRESET)
            return 0; /* the relay went away with our keystrokes unread: still the end */
        cv_error_set_errno(err, VIR_FROM_THIS, errno, "cannot read from the console");
        return -1;
    }
}

static ssize_t
console_stream_send(CocoonStream *st, const char *buf, size_t n, CvError **err)
{
    int fd = console_stream_fd(st, err);
    size_t done = 0;
    if (fd < 0)
        return -1;
    while (done < n) {
        ssize_t w = send(fd, buf + done, n - done, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN) {
            struct pollfd pfd = {.fd = fd, .events = POLLOUT};
            poll(&pfd, 1, -1);
            continue;
        }
        if (w < 0) {
            cv_error_set_errno(err, VIR_FROM_THIS, errno, "cannot write to the console");
            return -1;
        }
        done += (size_t)w;
    }
    return (ssize_t)n;
}

static int
console_stream_close(CocoonStream *st, bool reset)
{
    ConsoleStreamPriv *p = st->priv;
    if (p->fd < 0)
        return 0;
    if (reset) {
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        setsockopt(p->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    } else {
        shutdown(p->fd, SHUT_RDWR);
    }
    close(p->fd);
    p->fd = -1;
    return 0;
}

static int
console_stream_finish(CocoonStream *st, CvError **err)
{
    return console_stream_close(st, false);
}

static int
console_stream_abort(CocoonStream *st, CvError **err)
{
    return console_stream_close(st, true);
}

static int
console_stream_get_fd(CocoonStream *st)
{
    return ((ConsoleStreamPriv *)st->priv)->fd;
}

static void
console_stream_free_priv(void *data)
{
    ConsoleStreamPriv *p = data;
    if (p && p->fd >= 0)
        close(p->fd);
    g_free(p);
}

static const CocoonStreamOps console_stream_ops = {
    .recv = console_stream_recv,
    .send = console_stream_send,
    .finish = console_stream_finish,
    .abort = console_stream_abort,
    .get_fd = console_stream_get_fd,
    .free_priv = console_stream_free_priv,
};

/* Connect to the relay's socket; OPERATION_INVALID when nothing listens there. */
static int
console_connect(const char *path, CvError **err)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(addr.sun_path)) {
        cv_error_set(err, VIR_FROM_THIS, VIR_ERR_INTERNAL_ERROR,
                     "console socket path '%s' is too long", path);
        return -1;
    }
    strcpy(addr.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        cv_error_set_errno(err, VIR_FROM_THIS, errno, "cannot create a socket");
        return -1;
    }
    while (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        if (errno == EINTR)
            continue;
        int saved = errno;
        close(fd);
        if (saved == ENOENT || saved == ECONNREFUSED) {
            cv_error_set(err, VIR_FROM_THIS, VIR_ERR_OPERATION_INVALID,
                         "cannot find a console relay for this domain");
            return -1;
        }
        cv_error_set_errno(err, VIR_FROM_THIS, saved, "cannot connect to console socket '%s'",
                           path);
        return -1;
    }
    return fd;
}

int
local_console_open(const char *live_dir, unsigned int flags, CocoonStream *st, CvError **err)
{
    const unsigned int known = VIR_DOMAIN_CONSOLE_FORCE | VIR_DOMAIN_CONSOLE_SAFE;
    if (flags & ~known) {
        cv_error_set(err, VIR_FROM_THIS, VIR_ERR_INVALID_ARG,
                     "unsupported flags (0x%x) in function %s", flags & ~known, __func__);
        return -1;
    }
    /* force wins over safe, as in the relay: taking over is what the user asked for */
    ConsoleMode mode = (flags & VIR_DOMAIN_CONSOLE_FORCE)  ? CONSOLE_MODE_FORCE
                       : (flags & VIR_DOMAIN_CONSOLE_SAFE) ? CONSOLE_MODE_SAFE
                                                           : CONSOLE_MODE_INTERACTIVE;
    g_autofree char *path = local_console_socket_path(live_dir);
    int fd = console_connect(path, err);
    if (fd < 0)
        return -1;
    if (console_client_attach_fd(fd, mode, err) < 0) {
        close(fd);
        return -1;
    }
    if (st->nonblock)
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    ConsoleStreamPriv *p = g_new0(ConsoleStreamPriv, 1);
    p->fd = fd;
    if (st->ops && st->ops->free_priv)
        st->ops->free_priv(st->priv);
    cocoon_stream_bind(st, &console_stream_ops, p);
    return 0;
}
