#include "console/console_proto.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/cv_mem.h"

#define VIR_FROM_THIS VIR_FROM_STREAMS

/* How long a client waits for the relay's answer: it answers at once unless wedged. */
#define CONSOLE_PROTO_REPLY_TIMEOUT_MS 30000

static const char *const console_mode_names[CONSOLE_MODE_LAST] = {
    [CONSOLE_MODE_INTERACTIVE] = "interactive",
    [CONSOLE_MODE_FORCE] = "force",
    [CONSOLE_MODE_SAFE] = "safe",
    [CONSOLE_MODE_READONLY] = "readonly",
};

/* The C escape of a byte that has a letter one (\n, \t, …), or 0. */
static char
console_proto_escape_letter(unsigned char c)
{
    switch (c) {
    case '\b': return 'b';
    case '\f': return 'f';
    case '\n': return 'n';
    case '\r': return 'r';
    case '\t': return 't';
    case '\v': return 'v';
    case '\\': return '\\';
    case '"': return '"';
    default: return 0;
    }
}

/* s with control, non-ASCII, quote and backslash bytes as C escapes, for messages. */
static char *
console_proto_escape(const char *s)
{
    char *out = cv_xmalloc(strlen(s) * 4 + 1);
    char *o = out;

    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char letter = console_proto_escape_letter(*p);
        if (letter) {
            *o++ = '\\';
            *o++ = letter;
        } else if (*p < 0x20 || *p >= 0x7f) {
            o += sprintf(o, "\\%03o", *p);
        } else {
            *o++ = (char)*p;
        }
    }
    *o = '\0';
    return out;
}

const char *
console_mode_to_string(ConsoleMode mode)
{
    return (mode >= 0 && mode < CONSOLE_MODE_LAST) ? console_mode_names[mode] : "unknown";
}

int
console_mode_from_string(const char *str)
{
    for (int i = 0; i < CONSOLE_MODE_LAST; i++) {
        if (str && strcmp(str, console_mode_names[i]) == 0)
            return i;
    }
    return -1;
}

int
console_proto_parse_request(const char *line, ConsoleMode *ret_mode, CvError **err)
{
    size_t len = strlen(line);

    if (len > 0 && line[len - 1] == '\n')
        len--;
    cv_autofree char *copy = cv_xstrndup(line, len);
    if (strncmp(copy, "ATTACH ", strlen("ATTACH ")) != 0) {
        cv_autofree char *esc = console_proto_escape(copy);
        cv_error_set(err, VIR_FROM_THIS, VIR_ERR_RPC, "expected 'ATTACH <mode>', got '%s'", esc);
        return -1;
    }
    int mode = console_mode_from_string(copy + strlen("ATTACH "));
    if (mode < 0) {
        cv_autofree char *esc = console_proto_escape(copy + strlen("ATTACH "));
        cv_error_set(err, VIR_FROM_THIS, VIR_ERR_INVALID_ARG, "unknown console mode '%s'", esc);
        return -1;
    }
    *ret_mode = mode;
    return 0;
}

char *
console_proto_format_error(const char *message)
{
    char *reply = cv_xasprintf("ERR %s\n", message);
    for (char *p = reply + strlen("ERR "); p[1]; p++) {
        if (*p == '\r' || *p == '\n')
            *p = ' ';
    }
    return reply;
}

static int
console_proto_write_all(int fd, const char *buf, size_t len, CvError **err)
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
console_proto_read_line(int fd, char *buf, size_t size, CvError **err)
{
    size_t used = 0;

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
    cv_autofree char *req = cv_xasprintf("ATTACH %s\n", console_mode_to_string(mode));
    if (console_proto_write_all(fd, req, strlen(req), err) < 0)
        return -1;
    if (console_proto_read_line(fd, reply, sizeof(reply), err) < 0)
        return -1;
    if (strcmp(reply, "OK") == 0)
        return 0;
    if (strncmp(reply, "ERR ", strlen("ERR ")) == 0) {
        cv_error_set(err, VIR_FROM_THIS, VIR_ERR_OPERATION_FAILED, "%s", reply + strlen("ERR "));
        return -1;
    }
    cv_autofree char *esc = console_proto_escape(reply);
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
