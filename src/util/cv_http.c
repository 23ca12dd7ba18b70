#include "cv_http.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* A status line and headers longer than this are not from a VMM. */
#define CV_HTTP_MAX_HEAD (64 * 1024)
/* Nor is a chunk-size line longer than this. */
#define CV_HTTP_MAX_LINE 4096
#define CV_HTTP_READ_SIZE 8192

struct CvHttpConn {
    char *socket_path;
    unsigned int timeout_ms;
    int fd; /* -1: not connected */
};

/* One exchange: the connection, its deadline and what was read of the reply so far. */
typedef struct {
    CvHttpConn *conn;
    gint64 deadline; /* monotonic µs */
    GString *in;
    size_t pos; /* how much of in is consumed */
} CvHttpExchange;

CvHttpConn *
cv_http_conn_new(const char *socket_path, unsigned int timeout_ms)
{
    CvHttpConn *conn = g_new0(CvHttpConn, 1);
    conn->socket_path = g_strdup(socket_path);
    conn->timeout_ms = timeout_ms ? timeout_ms : CV_HTTP_TIMEOUT_MS;
    conn->fd = -1;
    return conn;
}

static void
cv_http_conn_close(CvHttpConn *conn)
{
    if (conn->fd >= 0) {
        close(conn->fd);
        conn->fd = -1;
    }
}

void
cv_http_conn_free(CvHttpConn *conn)
{
    if (!conn)
        return;
    cv_http_conn_close(conn);
    g_free(conn->socket_path);
    g_free(conn);
}

static void
cv_http_set_timeout(CvHttpExchange *x, CvError **err)
{
    cv_error_set(err, VIR_FROM_NONE, VIR_ERR_OPERATION_TIMEOUT, "no reply on socket '%s' within %u ms",
                 x->conn->socket_path, x->conn->timeout_ms);
}

static void
cv_http_set_failed(CvHttpExchange *x, const char *why, CvError **err)
{
    cv_error_set(err, VIR_FROM_NONE, VIR_ERR_OPERATION_FAILED, "request on socket '%s' failed: %s",
                 x->conn->socket_path, why);
}

/* Wait until fd is ready for events before the deadline: 0, or -1 with *err (timeout). */
static int
cv_http_wait(CvHttpExchange *x, short events, CvError **err)
{
    for (;;) {
        gint64 left = x->deadline - g_get_monotonic_time();
        if (left <= 0) {
            cv_http_set_timeout(x, err);
            return -1;
        }
        struct pollfd pfd = {.fd = x->conn->fd, .events = events};
        int n = poll(&pfd, 1, (int)MIN((left + 999) / 1000, G_MAXINT));
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR) {
            cv_http_set_failed(x, g_strerror(errno), err);
            return -1;
        }
    }
}

static int
cv_http_connect(CvHttpExchange *x, CvError **err)
{
    CvHttpConn *conn = x->conn;
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    size_t len = strlen(conn->socket_path);

    if (len >= sizeof(addr.sun_path)) {
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_INTERNAL_ERROR, "socket path '%s' is too long",
                     conn->socket_path);
        return -1;
    }
    memcpy(addr.sun_path, conn->socket_path, len + 1);
    conn->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (conn->fd < 0) {
        cv_error_set_errno(err, VIR_FROM_NONE, errno, "cannot create a socket");
        return -1;
    }
    int rc;
    while ((rc = connect(conn->fd, (struct sockaddr *)&addr, sizeof(addr))) < 0 && errno == EINTR)
        ;
    if (rc < 0 && errno == EAGAIN) {
        /* the server's backlog is full: writable once it accepted */
        int soerr = 0;
        socklen_t slen = sizeof(soerr);
        if (cv_http_wait(x, POLLOUT, err) < 0)
            goto fail;
        getsockopt(conn->fd, SOL_SOCKET, SO_ERROR, &soerr, &slen);
        errno = soerr;
        rc = soerr ? -1 : 0;
    }
    if (rc < 0) {
        cv_error_set_errno(err, VIR_FROM_NONE, errno, "cannot connect to socket '%s'",
                           conn->socket_path);
        goto fail;
    }
    return 0;

fail:
    cv_http_conn_close(conn);
    return -1;
}

/* Whether an idle persistent connection was closed by the server (or says something unasked,
 * which leaves it unusable too). */
static bool
cv_http_conn_stale(const CvHttpConn *conn)
{
    struct pollfd pfd = {.fd = conn->fd, .events = POLLIN};
    return poll(&pfd, 1, 0) != 0;
}

static int
cv_http_send_all(CvHttpExchange *x, const char *data, size_t len, CvError **err)
{
    while (len > 0) {
        ssize_t n = send(x->conn->fd, data, len, MSG_NOSIGNAL);
        if (n >= 0) {
            data += n;
            len -= (size_t)n;
        } else if (errno == EAGAIN) {
            if (cv_http_wait(x, POLLOUT, err) < 0)
                return -1;
        } else if (errno != EINTR) {
            cv_http_set_failed(x, g_strerror(errno), err);
            return -1;
        }
    }
    return 0;
}

/* Read what the server sent next into x->in: 0, or -1 with *err (the connection closed, the
 * time ran out, or the reply grew past limit bytes). */
static int
cv_http_fill(CvHttpExchange *x, size_t limit, CvError **err)
{
    if (x->in->len >= limit) {
        cv_http_set_failed(x, "the reply is too large", err);
        return -1;
    }
    for (;;) {
        size_t old = x->in->len;
        size_t room = MIN((size_t)CV_HTTP_READ_SIZE, limit - old);
        g_string_set_size(x->in, old + room);
        ssize_t n = recv(x->conn->fd, x->in->str + old, room, 0);
        g_string_set_size(x->in, old + (n > 0 ? (size_t)n : 0));
        if (n > 0)
            return 0;
        if (n == 0) {
            cv_http_set_failed(x, "the server closed the connection before replying in full",
                               err);
            return -1;
        }
        if (errno == EAGAIN) {
            if (cv_http_wait(x, POLLIN, err) < 0)
                return -1;
        } else if (errno != EINTR) {
            cv_http_set_failed(x, g_strerror(errno), err);
            return -1;
        }
    }
}

/* Have at least n unconsumed bytes in x->in. */
static int
cv_http_need(CvHttpExchange *x, size_t n, size_t limit, CvError **err)
{
    while (x->in->len - x->pos < n) {
        if (cv_http_fill(x, limit, err) < 0)
            return -1;
    }
    return 0;
}

/* The next CRLF-terminated line from x->in, consumed; *ret_len excludes the CRLF. */
static const char *
cv_http_line(CvHttpExchange *x, size_t limit, size_t *ret_len, CvError **err)
{
    for (;;) {
        const char *start = x->in->str + x->pos;
        const char *eol = g_strstr_len(start, (gssize)(x->in->len - x->pos), "\r\n");
        if (eol) {
            *ret_len = (size_t)(eol - start);
            x->pos += *ret_len + 2;
            return start;
        }
        if (x->in->len - x->pos > CV_HTTP_MAX_LINE) {
            cv_http_set_failed(x, "the reply has an overlong line", err);
            return NULL;
        }
        if (cv_http_fill(x, limit, err) < 0)
            return NULL;
    }
}

/* What the head of a reply says about its body. */
typedef struct {
    long status;
    gint64 content_length; /* -1: none given */
    bool chunked;
    bool close;
} CvHttpHead;

/* The value of header line `Name: value` when its name is name (any case), else NULL. */
static const char *
cv_http_header_value(const char *line, size_t len, const char *name, size_t *ret_len)
{
    size_t nlen = strlen(name);
    if (len <= nlen || line[nlen] != ':' || g_ascii_strncasecmp(line, name, nlen) != 0)
        return NULL;
    const char *v = line + nlen + 1;
    const char *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    *ret_len = (size_t)(end - v);
    return v;
}

/* Whether the comma-separated header value holds token (any case). */
static bool
cv_http_value_has(const char *v, size_t len, const char *token)
{
    g_autofree char *copy = g_strndup(v, len);
    g_auto(GStrv) items = g_strsplit(copy, ",", -1);
    for (char **i = items; *i; i++) {
        if (g_ascii_strcasecmp(g_strstrip(*i), token) == 0)
            return true;
    }
    return false;
}

static int
cv_http_read_head(CvHttpExchange *x, CvHttpHead *ret_head, CvError **err)
{
    size_t len;
    const char *line = cv_http_line(x, CV_HTTP_MAX_HEAD, &len, err);
    if (!line)
        return -1;
    /* HTTP/1.x NNN reason */
    if (len < 12 || strncmp(line, "HTTP/1.", 7) != 0 || line[8] != ' ' ||
        !g_ascii_isdigit(line[9]) || !g_ascii_isdigit(line[10]) || !g_ascii_isdigit(line[11]) ||
        (len > 12 && line[12] != ' ')) {
        cv_http_set_failed(x, "the reply is not HTTP", err);
        return -1;
    }
    CvHttpHead head = {
        .status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0'),
        .content_length = -1,
        .close = line[7] == '0', /* HTTP/1.0 closes unless told otherwise */
    };
    for (;;) {
        if (!(line = cv_http_line(x, CV_HTTP_MAX_HEAD, &len, err)))
            return -1;
        if (len == 0)
            break;
        size_t vlen;
        const char *v;
        if ((v = cv_http_header_value(line, len, "Content-Length", &vlen))) {
            g_autofree char *num = g_strndup(v, vlen);
            guint64 n;
            if (!g_ascii_string_to_unsigned(num, 10, 0, G_MAXINT64, &n, NULL)) {
                cv_http_set_failed(x, "the reply has a bad Content-Length", err);
                return -1;
            }
            head.content_length = (gint64)n;
        } else if ((v = cv_http_header_value(line, len, "Transfer-Encoding", &vlen))) {
            head.chunked = cv_http_value_has(v, vlen, "chunked");
        } else if ((v = cv_http_header_value(line, len, "Connection", &vlen))) {
            if (cv_http_value_has(v, vlen, "close"))
                head.close = true;
            else if (cv_http_value_has(v, vlen, "keep-alive"))
                head.close = false;
        }
    }
    *ret_head = head;
    return 0;
}

/* Move n bytes from x->in to body. */
static void
cv_http_take(CvHttpExchange *x, GString *body, size_t n)
{
    g_string_append_len(body, x->in->str + x->pos, (gssize)n);
    x->pos += n;
}

/* Fill body from the chunked encoding: hex size lines (extensions ignored), data, a 0 chunk,
 * trailers up to an empty line. */
static int
cv_http_read_chunked(CvHttpExchange *x, GString *body, CvError **err)
{
    size_t limit = CV_HTTP_MAX_REPLY + CV_HTTP_MAX_HEAD;
    for (;;) {
        size_t len;
        const char *line = cv_http_line(x, limit, &len, err);
        if (!line)
            return -1;
        g_autofree char *text = g_strndup(line, len);
        char *ext = strchr(text, ';');
        if (ext)
            *ext = '\0';
        guint64 size;
        if (!g_ascii_string_to_unsigned(g_strstrip(text), 16, 0, CV_HTTP_MAX_REPLY, &size,
                                        NULL) ||
            body->len + size > CV_HTTP_MAX_REPLY) {
            cv_http_set_failed(x, "the reply has a bad or too large chunk", err);
            return -1;
        }
        if (size == 0)
            break;
        if (cv_http_need(x, size + 2, limit, err) < 0)
            return -1;
        cv_http_take(x, body, size);
        if (memcmp(x->in->str + x->pos, "\r\n", 2) != 0) {
            cv_http_set_failed(x, "the reply has a malformed chunk", err);
            return -1;
        }
        x->pos += 2;
    }
    for (;;) {
        size_t len;
        if (!cv_http_line(x, limit, &len, err))
            return -1;
        if (len == 0)
            return 0;
    }
}

/* Fill body up to the end of the connection. */
static int
cv_http_read_to_eof(CvHttpExchange *x, GString *body, CvError **err)
{
    for (;;) {
        cv_http_take(x, body, x->in->len - x->pos);
        if (body->len > CV_HTTP_MAX_REPLY) {
            cv_http_set_failed(x, "the reply is too large", err);
            return -1;
        }
        g_string_truncate(x->in, 0);
        x->pos = 0;
        g_string_set_size(x->in, CV_HTTP_READ_SIZE);
        ssize_t n = recv(x->conn->fd, x->in->str, CV_HTTP_READ_SIZE, 0);
        g_string_set_size(x->in, n > 0 ? (size_t)n : 0);
        if (n == 0)
            return 0;
        if (n < 0 && errno == EAGAIN) {
            if (cv_http_wait(x, POLLIN, err) < 0)
                return -1;
        } else if (n < 0 && errno != EINTR) {
            cv_http_set_failed(x, g_strerror(errno), err);
            return -1;
        }
    }
}

/* Read one reply into ret_reply; *ret_close tells whether the connection is done with.
 * more_expected: further replies (to pipelined requests) may follow this one's bytes. */
static int
cv_http_read_reply(CvHttpExchange *x, const char *method, bool more_expected,
                   CvHttpReply *ret_reply, bool *ret_close, CvError **err)
{
    CvHttpHead head;
    /* interim 1xx replies come before the real one */
    do {
        if (cv_http_read_head(x, &head, err) < 0)
            return -1;
    } while (head.status >= 100 && head.status < 200);

    g_autoptr(GString) body = g_string_new(NULL);
    bool no_body = strcmp(method, "HEAD") == 0 || head.status == 204 || head.status == 304;
    bool to_eof = false;
    if (no_body) {
        /* nothing */
    } else if (head.chunked) {
        if (cv_http_read_chunked(x, body, err) < 0)
            return -1;
    } else if (head.content_length >= 0) {
        if (head.content_length > CV_HTTP_MAX_REPLY) {
            cv_http_set_failed(x, "the reply is too large", err);
            return -1;
        }
        size_t n = (size_t)head.content_length;
        if (cv_http_need(x, n, x->pos + n, err) < 0)
            return -1;
        cv_http_take(x, body, n);
    } else {
        to_eof = true;
        if (cv_http_read_to_eof(x, body, err) < 0)
            return -1;
    }
    /* bytes beyond the last reply were never asked for: do not reuse such a connection */
    *ret_close = head.close || to_eof || (!more_expected && x->pos != x->in->len);
    ret_reply->status = head.status;
    ret_reply->body_len = body->len;
    ret_reply->body = g_string_free(g_steal_pointer(&body), FALSE);
    return 0;
}

static char *
cv_http_format_request(const char *method, const char *path,
                       const char *body)
{
    GString *req = g_string_sized_new(256 + (body ? strlen(body) : 0));
    g_string_append_printf(req, "%s %s HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n",
                           method, path);
    if (body)
        g_string_append_printf(req, "Content-Type: application/json\r\nContent-Length: %zu\r\n",
                               strlen(body));
    else if (strcmp(method, "GET") != 0)
        g_string_append(req, "Content-Length: 0\r\n");
    g_string_append(req, "\r\n");
    if (body)
        g_string_append(req, body);
    return g_string_free(req, FALSE);
}

int
cv_http_conn_pipeline(CvHttpConn *conn, CvHttpCall *calls, size_t n, CvError **err)
{
    g_autoptr(GString) in = g_string_sized_new(CV_HTTP_READ_SIZE);
    CvHttpExchange x = {
        .conn = conn,
        .deadline = g_get_monotonic_time() + (gint64)conn->timeout_ms * 1000,
        .in = in,
    };
    g_autoptr(GString) reqs = g_string_new(NULL);
    bool close_after = true;

    for (size_t i = 0; i < n; i++) {
        g_autofree char *req = cv_http_format_request(calls[i].method, calls[i].path,
                                                      calls[i].body);
        g_string_append(reqs, req);
    }
    if (conn->fd >= 0 && cv_http_conn_stale(conn))
        cv_http_conn_close(conn);
    if (conn->fd < 0 && cv_http_connect(&x, err) < 0)
        return -1;
    if (cv_http_send_all(&x, reqs->str, reqs->len, err) < 0)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        bool last = i + 1 == n;
        if (cv_http_read_reply(&x, calls[i].method, !last, &calls[i].reply, &close_after, err) < 0)
            goto fail;
        if (close_after && !last) {
            cv_http_set_failed(&x, "the server closed the connection before replying to every "
                                   "request", err);
            goto fail;
        }
    }
    if (close_after)
        cv_http_conn_close(conn);
    return 0;

fail:
    cv_http_conn_close(conn);
    return -1;
}

int
cv_http_conn_request(CvHttpConn *conn, const char *method, const char *path, const char *body,
                     CvHttpReply *ret_reply, CvError **err)
{
    CvHttpCall call = {.method = method, .path = path, .body = body};

    if (cv_http_conn_pipeline(conn, &call, 1, err) < 0)
        return -1;
    *ret_reply = call.reply;
    return 0;
}

int
cv_http_request(const char *socket_path, const char *method, const char *path, const char *body,
                unsigned int timeout_ms, CvHttpReply *ret_reply, CvError **err)
{
    g_autoptr(CvHttpConn) conn = cv_http_conn_new(socket_path, timeout_ms);
    return cv_http_conn_request(conn, method, path, body, ret_reply, err);
}

void
cv_http_reply_clear(CvHttpReply *reply)
{
    if (!reply)
        return;
    g_clear_pointer(&reply->body, g_free);
    reply->body_len = 0;
    reply->status = 0;
}
