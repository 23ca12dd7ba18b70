#include "console/console_proto.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define VIR_FROM_THIS VIR_FROM_STREAMS

/* How long a client waits for the relay's answer: it answers at once unless wedged. */
#define CONSOLE_PROTO_REPLY_TIMEOUT_MS 30000

static const char *const console_mode_names[CONSOLE_MODE_LAST] = {
    [CONSOLE_MODE_INTERACTIVE] = "interactive",
    [CONSOLE_MODE_FORCE] = "force",
    [CONSOLE_MODE_SAFE] = "safe",
    [CONSOLE_MODE_READONLY] = "readonly",
};

const char *
console_mode_to_string(ConsoleMode mode)
{
    return (mode >= 0 && mode < CONSOLE_MODE_LAST) ? console_mode_names[mode] : "unknown";
}

int
console_mode_from_string(const char *str)
{
    for (int i = 0; i < CONSOLE_MODE_LAST; i++) {
        if (g_strcmp0(str, console_mode_names[i]) == 0)
            return i;
    }
    return -1;
}

int
console_proto_parse_request(const char *line, ConsoleMode *ret_mode, CvError **err)
{
    gsize len = strlen(line);

    if (len > 0 && line[len - 1] == '\n')
        len--;
    g_autofree char *copy = g_strndup(line, len);
    if (!g_str_has_prefix(copy, "ATTACH ")) {
        g_autofree char *esc = g_strescape(copy, NULL);
        cv_error_set(err, VIR_FROM_THIS, VIR_ERR_RPC, "expected 'ATTACH <mode>', got '%s'", esc);
        return -1;
    }
    int mode = console_mode_from_string(copy + strlen("ATTACH "));
    if (mode < 0) {
        g_autofree char *esc = g_strescape(copy + strlen("ATTACH "), NULL);
        cv_error_set(err, VIR_FROM_THIS, VIR_ERR_INVALID_ARG, "unknown console mode '%s'", esc);
        return -1;
    }
    *ret_mode = mode;
    return 0;
}

char *
console_proto_format_error(const char *message)
{
    g_autofree char *flat = g_strdup(message);
    g_strdelimit(flat, "\r\n", ' ');
    return g_strdup_printf("ERR %s\n", flat);
}

static int
console_proto_write_all(int fd, const char *buf, gsize len, CvError **err)
{
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            cv_error_set_errno(err, VIR_FROM_THIS, errno, "cannot send the console request");
            return -1;
        }
        buf += n;
        len -= n;
    }
    return 0;
}

static int
console_proto_read_line(int fd, char *buf, gsize size, CvError **err)
{
    gsize used = 0;

    while (used + 1 < size) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int r = poll(&pfd, 1, CONSOLE_PROTO_REPLY_TIMEOUT_MS);
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0) {
            cv_error_set(err, VIR_FROM_THIS, VIR_ERR_OPERATION_TIMEOUT,
                         "no answer from the console relay");
            return -1;
        }
        ssize_t n = read(fd, buf + used, 1);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n < 0) {
            cv_error_set_errno(err, VIR_FROM_THIS, errno, "cannot read the console relay's answer");
            return -1;
        }
        if (n == 0) {
            cv_error_set(err, VIR_FROM_THIS, VIR_ERR_OPERATION_FAILED,
                         "the console relay closed the connection");
            return -1;
        }
        if (buf[used] == '\n') {
            buf[used] = '\0';
            return 0;
        }
        used++;
    }
    cv_error_set(err, VIR_FROM_THIS, VIR_ERR_RPC, "console relay answer too long");
    return -1;
}

int
console_client_attach_fd(int fd, ConsoleMode mode, CvError **err)
{
    char reply[512];

    if (mode < 0 || mode >= CONSOLE_MODE_LAST) {
        cv_error_set(err, VIR_FROM_THIS, VIR_ERR_INVALID_ARG, "unknown console mode %d", mode);
        return -1;
    }
    g_autofree char *req = g_strdup_printf("ATTACH %s\n", console_mode_to_string(mode));
    if (console_proto_write_all(fd, req, strlen(req), err) < 0)
        return -1;
    if (console_proto_read_line(fd, reply, sizeof(reply), err) < 0)
        return -1;
    if (strcmp(reply, "OK") == 0)
        return 0;
    if (g_str_has_prefix(reply, "ERR ")) {
        cv_error_set(err, VIR_FROM_THIS, VIR_ERR_OPERATION_FAILED, "%s", reply + strlen("ERR "));
        return -1;
    }
    g_autofree char *esc = g_strescape(reply, NULL);
    cv_error_set(err, VIR_FROM_THIS, VIR_ERR_RPC, "unexpected console relay answer '%s'", esc);
    return -1;
}

int
console_client_attach(const char *socket_path, ConsoleMode mode, int *ret_fd, CvError **err)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};

    if (strlen(socket_path) >= sizeof(addr.sun_path)) {
        cv_error_set(err, VIR_FROM_THIS, VIR_ERR_INVALID_ARG,
                     "console socket path '%s' is too long", socket_path);
        return -1;
    }
    strcpy(addr.sun_path, socket_path);

    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        cv_error_set_errno(err, VIR_FROM_THIS, errno, "cannot create a socket");
        return -1;
    }
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        cv_error_set_errno(err, VIR_FROM_THIS, errno, "cannot connect to console socket '%s'",
                           socket_path);
        close(fd);
        return -1;
    }
    if (console_client_attach_fd(fd, mode, err) < 0) {
        close(fd);
        return -1;
    }
    *ret_fd = fd;
    return 0;
}
