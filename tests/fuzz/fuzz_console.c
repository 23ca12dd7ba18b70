/*
 * libFuzzer target: the console viewer protocol (console_proto.h), from both ends.
 *  - the relay's end: a real relay (console_relay.c, on its own thread, over a PTY) serves up
 *    to three viewers whose bytes come from the input as chunks [viewer][length][bytes]: request
 *    lines, partial lines, over-long lines, keystrokes after attaching, takeovers. Each viewer
 *    then half-closes and must see the relay close it within a few seconds, and the relay must
 *    still answer a well-behaved viewer afterwards.
 *  - the client's end: console_client_attach_fd reading the input as the relay's answer, and
 *    console_proto_parse_request reading it as a request line.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fuzz_fail.h"
#include "console/console_relay.h"
#include "console/cv_pty.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define VIEWERS 3
#define CLOSE_TIMEOUT_MS 5000

static ConsoleRelay *relay;
static char *socket_path;
static int pty_slave = -1;

static gpointer
relay_thread(gpointer unused)
{
    g_autoptr(CvError) err = NULL;
    if (console_relay_run(relay, &err) < 0)
        FUZZ_FAIL("relay: %s", err->message);
    return NULL;
}

static void
cleanup(void)
{
    if (socket_path)
        unlink(socket_path);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    g_autoptr(CvError) err = NULL;
    int master = -1;
    if (cv_pty_open(&master, NULL, &pty_slave, &err) < 0)
        FUZZ_FAIL("%s", err->message);
    socket_path = g_strdup_printf("%s/cocoon-fuzz-console-%d.sock", g_get_tmp_dir(), getpid());
    atexit(cleanup);
    ConsoleRelayConfig cfg = {.socket_path = socket_path, .scrollback = 4096,
                              .viewer_buffer = 65536, .log_fd = -1};
    relay = console_relay_new(&cfg, &master, &err);
    if (!relay)
        FUZZ_FAIL("%s", err->message);
    g_thread_new("relay", relay_thread, NULL);
    /* some scrollback for the viewers that attach */
    if (write(pty_slave, "guest boot\r\n", 12) != 12)
        FUZZ_FAIL("cannot write to the PTY");
    return 0;
}

static int
viewer_connect(void)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    g_strlcpy(addr.sun_path, socket_path, sizeof(addr.sun_path));
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
        FUZZ_FAIL("cannot connect to the relay: %s", g_strerror(errno));
    return fd;
}

static void
drain_pty(void)
{
    char buf[4096];
    struct pollfd pfd = {.fd = pty_slave, .events = POLLIN};
    while (poll(&pfd, 1, 0) > 0 && read(pty_slave, buf, sizeof(buf)) > 0) {
    }
}

/* Read what the relay sends until it closes; false when it does not within the timeout. The
 * guest side keeps reading meanwhile: an interactive viewer's keystrokes wait for the PTY to
 * take them (back-pressure), and its end is seen only after them. */
static bool
viewer_wait_closed(int fd)
{
    char buf[65536];
    gint64 deadline = g_get_monotonic_time() + CLOSE_TIMEOUT_MS * 1000;
    for (;;) {
        int left = (int)((deadline - g_get_monotonic_time()) / 1000);
        struct pollfd pfd[2] = {{.fd = fd, .events = POLLIN}, {.fd = pty_slave, .events = POLLIN}};
        if (left <= 0 || poll(pfd, 2, left) <= 0)
            return false;
        if (pfd[1].revents & POLLIN)
            drain_pty();
        if (!(pfd[0].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
            return true;
    }
}

static void
fuzz_relay(const uint8_t *data, size_t size)
{
    int fds[VIEWERS] = {-1, -1, -1};
    size_t pos = 0;
    while (pos + 2 <= size) {
        unsigned int v = data[pos] % VIEWERS;
        size_t len = MIN((size_t)data[pos + 1], size - pos - 2);
        pos += 2;
        if (fds[v] < 0)
            fds[v] = viewer_connect();
        if (len && send(fds[v], data + pos, len, MSG_NOSIGNAL) < 0 && errno != EPIPE &&
            errno != ECONNRESET)
            FUZZ_FAIL("send to the relay: %s", g_strerror(errno));
        pos += len;
        drain_pty();
    }
    for (int v = 0; v < VIEWERS; v++) {
        if (fds[v] < 0)
            continue;
        shutdown(fds[v], SHUT_WR);
        if (!viewer_wait_closed(fds[v]))
            FUZZ_FAIL("the relay did not close viewer %d after its end", v);
        close(fds[v]);
    }
    drain_pty();

    int fd = viewer_connect();
    g_autoptr(CvError) err = NULL;
    if (console_client_attach_fd(fd, CONSOLE_MODE_READONLY, &err) < 0)
        FUZZ_FAIL("a read-only viewer is refused after the input: %s", err->message);
    close(fd);
}

static void
fuzz_client(const uint8_t *data, size_t size)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        abort();
    /* the request the client sends (< 30 bytes) fits the socket buffer: nobody reads it */
    size_t n = MIN(size, (size_t)60000);
    if (n && send(sv[1], data, n, MSG_NOSIGNAL) != (ssize_t)n)
        abort();
    shutdown(sv[1], SHUT_WR);
    g_autoptr(CvError) err = NULL;
    ConsoleMode mode = size ? (ConsoleMode)(data[0] % CONSOLE_MODE_LAST) : CONSOLE_MODE_READONLY;
    if (console_client_attach_fd(sv[0], mode, &err) < 0 && (!err || !err->message))
        FUZZ_FAIL("attach failed without an error");
    close(sv[0]);
    close(sv[1]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autofree char *line = g_strndup((const char *)data, size);
    ConsoleMode mode;
    g_autoptr(CvError) err = NULL;
    if (console_proto_parse_request(line, &mode, &err) == 0 &&
        (mode < 0 || mode >= CONSOLE_MODE_LAST))
        FUZZ_FAIL("parse gave mode %d", mode);
    g_autofree char *reply = console_proto_format_error(line);
    if (strchr(reply, '\n') != reply + strlen(reply) - 1)
        FUZZ_FAIL("an ERR reply of more than one line");

    fuzz_client(data, size);
    fuzz_relay(data, size);
    return 0;
}
