#include "console/console_terminal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#define VIR_FROM_THIS VIR_FROM_STREAMS

#define TERMINAL_IN_BUF 4096
#define TERMINAL_OUT_BUF (64 * 1024)

static const int terminal_signals[] = {SIGINT, SIGTERM, SIGHUP};

/* The self-pipe the signal handler writes to; one session per process. */
static int terminal_signal_pipe[2] = {-1, -1};
static volatile sig_atomic_t terminal_signal_seen;

static void
terminal_on_signal(int signo)
{
    int saved = errno;
    char c = (char)signo;
    terminal_signal_seen = signo;
    if (write(terminal_signal_pipe[1], &c, 1) < 0) {
        /* the pipe is full: a wake-up is pending anyway */
    }
    errno = saved;
}

typedef struct {
    const ConsoleTerminalOptions *opts;
    int conn;
    bool tty;
    struct termios saved_tio;
    struct sigaction saved_sig[G_N_ELEMENTS(terminal_signals)];
    struct sigaction saved_pipe;
    bool signals_set;
    int saved_conn_flags;
    guint8 to_conn[TERMINAL_IN_BUF];
    gsize to_conn_len;
    guint8 to_out[TERMINAL_OUT_BUF];
    gsize to_out_len;
    bool in_eof;
} TerminalSession;

static int
terminal_write_all(int fd, const void *data, gsize len)
{
    const guint8 *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            struct pollfd pfd = {.fd = fd, .events = POLLOUT};
            poll(&pfd, 1, -1);
            continue;
        }
        if (n < 0)
            return -1;
        p += n;
        len -= n;
    }
    return 0;
}

static int
terminal_setup(TerminalSession *s, CvError **err)
{
    if (pipe2(terminal_signal_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
        cv_error_set_errno(err, VIR_FROM_THIS, errno, "cannot create a pipe");
        return -1;
    }
    terminal_signal_seen = 0;
    struct sigaction sa = {.sa_handler = terminal_on_signal};
    sigemptyset(&sa.sa_mask);
    for (gsize i = 0; i < G_N_ELEMENTS(terminal_signals); i++)
        sigaction(terminal_signals[i], &sa, &s->saved_sig[i]);
    struct sigaction ign = {.sa_handler = SIG_IGN};
    sigemptyset(&ign.sa_mask);
    sigaction(SIGPIPE, &ign, &s->saved_pipe);
    s->signals_set = true;

    s->saved_conn_flags = fcntl(s->conn, F_GETFL);
    if (s->saved_conn_flags >= 0)
        fcntl(s->conn, F_SETFL, s->saved_conn_flags | O_NONBLOCK);

    s->tty = isatty(s->opts->in_fd);
    if (s->tty) {
        struct termios raw;
        if (tcgetattr(s->opts->in_fd, &s->saved_tio) < 0) {
            s->tty = false;
            cv_error_set_errno(err, VIR_FROM_THIS, errno, "cannot get terminal attributes");
            return -1;
        }
        raw = s->saved_tio;
        cfmakeraw(&raw);
        raw.c_cc[VMIN] = 1;
        raw.c_cc[VTIME] = 0;
        if (tcsetattr(s->opts->in_fd, TCSAFLUSH, &raw) < 0) {
            s->tty = false;
            cv_error_set_errno(err, VIR_FROM_THIS, errno, "cannot set terminal to raw mode");
            return -1;
        }
    }
    return 0;
}

static void
terminal_restore(TerminalSession *s)
{
    if (s->tty)
        tcsetattr(s->opts->in_fd, TCSADRAIN, &s->saved_tio);
    if (s->saved_conn_flags >= 0)
        fcntl(s->conn, F_SETFL, s->saved_conn_flags);
    if (s->signals_set) {
        sigaction(SIGPIPE, &s->saved_pipe, NULL);
        for (gsize i = 0; i < G_N_ELEMENTS(terminal_signals); i++)
            sigaction(terminal_signals[i], &s->saved_sig[i], NULL);
    }
    for (int i = 0; i < 2; i++) {
        if (terminal_signal_pipe[i] >= 0)
            close(terminal_signal_pipe[i]);
        terminal_signal_pipe[i] = -1;
    }
}

/* Returns 1 when the escape character was typed, 0 otherwise, -1 on error. */
static int
terminal_read_input(TerminalSession *s, CvError **err)
{
    gsize room = sizeof(s->to_conn) - s->to_conn_len;
    ssize_t n = read(s->opts->in_fd, s->to_conn + s->to_conn_len, room);

    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return 0;
    if (n < 0 && errno != EIO) {
        cv_error_set_errno(err, VIR_FROM_THIS, errno, "cannot read console input");
        return -1;
    }
    if (n <= 0) {
        s->in_eof = true; /* EIO: the terminal went away */
        return 0;
    }
    guint8 *esc = memchr(s->to_conn + s->to_conn_len, CONSOLE_TERMINAL_ESCAPE_CHAR, n);
    if (esc) {
        s->to_conn_len = esc - s->to_conn;
        return 1;
    }
    s->to_conn_len += n;
    return 0;
}

/* Returns 1 when the relay closed, 0 otherwise, -1 on error. */
static int
terminal_read_conn(TerminalSession *s, CvError **err)
{
    gsize room = sizeof(s->to_out) - s->to_out_len;
    ssize_t n = recv(s->conn, s->to_out + s->to_out_len, room, MSG_DONTWAIT);

    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return 0;
    if (n < 0 && errno != ECONNRESET) {
        cv_error_set_errno(err, VIR_FROM_THIS, errno, "cannot read from the console");
        return -1;
    }
    if (n <= 0)
        return 1;
    s->to_out_len += n;
    return 0;
}

static int
terminal_flush_conn(TerminalSession *s, CvError **err)
{
    ssize_t n = send(s->conn, s->to_conn, s->to_conn_len, MSG_DONTWAIT | MSG_NOSIGNAL);

    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return 0;
    if (n < 0) {
        cv_error_set_errno(err, VIR_FROM_THIS, errno, "cannot write to the console");
        return -1;
    }
    memmove(s->to_conn, s->to_conn + n, s->to_conn_len - n);
    s->to_conn_len -= n;
    return 0;
}

static int
terminal_flush_out(TerminalSession *s, bool all, CvError **err)
{
    ssize_t n;

    if (all) {
        n = terminal_write_all(s->opts->out_fd, s->to_out, s->to_out_len) < 0
                ? -1
                : (ssize_t)s->to_out_len;
    } else {
        n = write(s->opts->out_fd, s->to_out, s->to_out_len);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            return 0;
    }
    if (n < 0) {
        cv_error_set_errno(err, VIR_FROM_THIS, errno, "cannot write console output");
        return -1;
    }
    memmove(s->to_out, s->to_out + n, s->to_out_len - n);
    s->to_out_len -= n;
    return 0;
}

static int
terminal_loop(TerminalSession *s, ConsoleTerminalEnd *ret_end, CvError **err)
{
    for (;;) {
        struct pollfd pfd[4] = {
            {.fd = terminal_signal_pipe[0], .events = POLLIN},
            {.fd = s->in_eof || s->to_conn_len ? -1 : s->opts->in_fd, .events = POLLIN},
            {.fd = s->conn,
             .events = (s->to_out_len ? 0 : POLLIN) | (s->to_conn_len ? POLLOUT : 0)},
            {.fd = s->to_out_len ? s->opts->out_fd : -1, .events = POLLOUT},
        };
        int timeout = -1;
        if (s->in_eof && s->to_conn_len == 0 && s->to_out_len == 0)
            timeout = s->opts->idle_timeout_ms;

        int n = poll(pfd, G_N_ELEMENTS(pfd), timeout);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            cv_error_set_errno(err, VIR_FROM_THIS, errno, "poll failed");
            return -1;
        }
        if (n == 0) {
            *ret_end = CONSOLE_TERMINAL_INPUT_END;
            return 0;
        }
        if (pfd[0].revents || terminal_signal_seen) {
            *ret_end = CONSOLE_TERMINAL_SIGNAL;
            return 0;
        }
        if (pfd[3].revents && terminal_flush_out(s, false, err) < 0)
            return -1;
        if (pfd[2].revents & POLLOUT && terminal_flush_conn(s, err) < 0)
            return -1;
        if (pfd[2].revents & (POLLIN | POLLHUP | POLLERR)) {
            int r = terminal_read_conn(s, err);
            if (r < 0)
                return -1;
            if (r == 1) {
                if (terminal_flush_out(s, true, err) < 0)
                    return -1;
                *ret_end = CONSOLE_TERMINAL_CLOSED;
                return 0;
            }
        }
        if (pfd[1].revents) {
            int r = terminal_read_input(s, err);
            if (r < 0)
                return -1;
            if (s->to_conn_len && terminal_flush_conn(s, err) < 0)
                return -1;
            if (r == 1) {
                /* What came before the escape still goes out, if the socket takes it now. */
                *ret_end = CONSOLE_TERMINAL_ESCAPE;
                return 0;
            }
        }
    }
}

int
console_terminal_run(int conn_fd, const ConsoleTerminalOptions *opts, ConsoleTerminalEnd *ret_end,
                     CvError **err)
{
    g_autofree TerminalSession *s = g_new0(TerminalSession, 1);
    ConsoleTerminalEnd end = CONSOLE_TERMINAL_CLOSED;
    int ret = -1;

    s->opts = opts;
    s->conn = conn_fd;
    s->saved_conn_flags = -1;

    if (opts->domain_name) {
        g_autofree char *banner = g_strdup_printf(
            "Connected to domain '%s'\nEscape character is ^] (Ctrl + ])\n", opts->domain_name);
        if (terminal_write_all(opts->out_fd, banner, strlen(banner)) < 0) {
            cv_error_set_errno(err, VIR_FROM_THIS, errno, "cannot write console output");
            return -1;
        }
    }
    if (terminal_setup(s, err) == 0 && terminal_loop(s, &end, err) == 0)
        ret = 0;
    terminal_restore(s);
    if (ret == 0 && ret_end)
        *ret_end = end;
    return ret;
}
