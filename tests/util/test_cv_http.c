/*
 * The HTTP/1.1-over-UNIX-socket client (src/util/cv_http.h) against a scripted server running
 * in a thread of this process: it listens on a socket in a temporary directory, plays raw reply
 * bytes written here (so the framing is exactly what each case needs), and records every
 * request and every accepted connection. Covers request framing, reply framing (Content-Length,
 * chunked, none, split writes, NUL bytes), persistent connections and reconnection, and the
 * errors a caller tells apart (unreachable socket, timeout, dropped connection, bad reply).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/cv_error.h"
#include "util/cv_http.h"

/* ------------------------------------------------------------------------------------------ */
/* The scripted server                                                                         */

typedef enum {
    AFTER_KEEP,        /* keep the connection and read the next request */
    AFTER_CLOSE,       /* close right after the reply */
    AFTER_CLOSE_LATER, /* neither read nor close for LINGER_MS, then close */
    AFTER_HANG,        /* read nothing more; wait for the client to go away */
} ServerAfter;

#define LINGER_MS 150

/* What the server does with one request. */
typedef struct {
    const char *reply; /* raw bytes; NULL: no reply at all */
    size_t reply_len;  /* 0: strlen(reply) */
    size_t trickle;    /* the first `trickle` bytes are written one at a time */
    unsigned int trickle_us; /* pause between two trickled bytes */
    /* reply only once this many further requests are in: a client that waits for each reply
     * before sending the next request gets nothing */
    unsigned int await_pipelined;
    ServerAfter after;
} ServerStep;

/* One request as received. */
typedef struct {
    unsigned int conn; /* 1-based number of the accepted connection it came on */
    char *method;
    char *path;
    char *version;
    GPtrArray *names;  /* header names, lower-cased */
    GPtrArray *values; /* header values, surrounding blanks removed */
    GByteArray *body;
} ServerRequest;

typedef struct {
    char *dir;
    char *path;
    int listen_fd;
    int stop_pipe[2];
    GThread *thread;
    const ServerStep *steps;
    size_t n_steps;

    GMutex lock; /* protects what follows */
    GCond cond;
    unsigned int accepts;
    unsigned int closes;
    GPtrArray *requests; /* ServerRequest */
    bool bad_request;    /* something arrived that is not an HTTP request */
} Server;

static void
server_request_free(gpointer data)
{
    ServerRequest *req = data;
    g_free(req->method);
    g_free(req->path);
    g_free(req->version);
    g_ptr_array_unref(req->names);
    g_ptr_array_unref(req->values);
    g_byte_array_unref(req->body);
    g_free(req);
}

/* How often the header `name` (lower case) occurs in req; its last value in *ret_value. */
static unsigned int
server_request_header(const ServerRequest *req, const char *name, const char **ret_value)
{
    unsigned int n = 0;
    for (guint i = 0; i < req->names->len; i++) {
        if (g_str_equal(req->names->pdata[i], name)) {
            n++;
            if (ret_value)
                *ret_value = req->values->pdata[i];
        }
    }
    return n;
}

static bool
server_stopping(const Server *srv)
{
    struct pollfd p = {.fd = srv->stop_pipe[0], .events = POLLIN};
    return poll(&p, 1, 0) > 0;
}

/* Wait until fd is readable: 1, or the server is stopping: 0. */
static int
server_wait_readable(Server *srv, int fd)
{
    struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = srv->stop_pipe[0], .events = POLLIN}};
    for (;;) {
        int n = poll(p, 2, -1);
        if (n < 0 && errno == EINTR)
            continue;
        g_assert_cmpint(n, >, 0);
        if (p[1].revents)
            return 0;
        return 1;
    }
}

/*
 * Parse one request at the start of buf. Returns its length and fills *ret_req once it is
 * complete, 0 while more bytes are needed, -1 when it is not HTTP.
 */
static gssize
server_request_parse(const GByteArray *buf, ServerRequest **ret_req)
{
    if (buf->len == 0)
        return 0;
    const char *data = (const char *)buf->data;
    const char *end = memmem(data, buf->len, "\r\n\r\n", 4);
    if (!end)
        return 0;
    size_t head_len = end - data + 4;
    g_autofree char *head = g_strndup(data, end - data);
    g_auto(GStrv) lines = g_strsplit(head, "\r\n", -1);
    if (!lines[0])
        return -1;
    g_auto(GStrv) first = g_strsplit(lines[0], " ", -1);
    if (g_strv_length(first) != 3)
        return -1;

    ServerRequest *req = g_new0(ServerRequest, 1);
    req->method = g_strdup(first[0]);
    req->path = g_strdup(first[1]);
    req->version = g_strdup(first[2]);
    req->names = g_ptr_array_new_with_free_func(g_free);
    req->values = g_ptr_array_new_with_free_func(g_free);
    req->body = g_byte_array_new();
    for (size_t i = 1; lines[i]; i++) {
        const char *colon = strchr(lines[i], ':');
        if (!colon) {
            server_request_free(req);
            return -1;
        }
        g_ptr_array_add(req->names, g_ascii_strdown(lines[i], colon - lines[i]));
        g_ptr_array_add(req->values, g_strstrip(g_strdup(colon + 1)));
    }

    size_t body_len = 0;
    const char *cl = NULL;
    if (server_request_header(req, "content-length", &cl)) {
        char *tail = NULL;
        guint64 v = g_ascii_strtoull(cl, &tail, 10);
        if (!*cl || *tail || v > 64 * 1024 * 1024) {
            server_request_free(req);
            return -1;
        }
        body_len = v;
    }
    if (buf->len < head_len + body_len) {
        server_request_free(req);
        return 0;
    }
    g_byte_array_append(req->body, buf->data + head_len, body_len);
    *ret_req = req;
    return head_len + body_len;
}

/* Read the next request on fd: 1 (recorded), 0 the client closed, -1 stop or garbage. */
static int
server_read_request(Server *srv, int fd, GByteArray *buf, unsigned int conn)
{
    for (;;) {
        ServerRequest *req = NULL;
        gssize used = server_request_parse(buf, &req);
        if (used < 0) {
            g_mutex_lock(&srv->lock);
            srv->bad_request = true;
            g_mutex_unlock(&srv->lock);
            return -1;
        }
        if (used > 0) {
            g_byte_array_remove_range(buf, 0, used);
            req->conn = conn;
            g_mutex_lock(&srv->lock);
            g_ptr_array_add(srv->requests, req);
            g_cond_broadcast(&srv->cond);
            g_mutex_unlock(&srv->lock);
            return 1;
        }
        if (!server_wait_readable(srv, fd))
            return -1;
        guint8 chunk[65536];
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 0; /* EOF or reset: the client went away */
        g_byte_array_append(buf, chunk, n);
    }
}

/* How many complete requests buf holds. */
static unsigned int
server_buffered_requests(const GByteArray *buf)
{
    g_autoptr(GByteArray) rest = g_byte_array_new();
    unsigned int n = 0;
    ServerRequest *req = NULL;
    gssize used;

    g_byte_array_append(rest, buf->data, buf->len);
    while ((used = server_request_parse(rest, &req)) > 0) {
        server_request_free(req);
        g_byte_array_remove_range(rest, 0, used);
        n++;
    }
    return n;
}

/* Read into buf until it holds n complete requests: true, or false when the client went away
 * or the server is stopping. */
static bool
server_await_requests(Server *srv, int fd, GByteArray *buf, unsigned int n)
{
    while (server_buffered_requests(buf) < n) {
        if (!server_wait_readable(srv, fd))
            return false;
        guint8 chunk[65536];
        ssize_t got = read(fd, chunk, sizeof(chunk));
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return false;
        g_byte_array_append(buf, chunk, got);
    }
    return true;
}

/* Write len bytes; false when the client went away or the server is stopping. */
static bool
server_write(Server *srv, int fd, const char *data, size_t len)
{
    while (len > 0) {
        if (server_stopping(srv))
            return false;
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        data += n;
        len -= n;
    }
    return true;
}

static bool
server_play(Server *srv, int fd, const ServerStep *step)
{
    if (!step->reply)
        return true;
    size_t len = step->reply_len ? step->reply_len : strlen(step->reply);
    size_t i = 0;
    for (; i < step->trickle && i < len; i++) {
        if (!server_write(srv, fd, step->reply + i, 1))
            return false;
        g_usleep(step->trickle_us);
    }
    return server_write(srv, fd, step->reply + i, len - i);
}

/* Wait, reading and dropping anything, until the client closes or the server stops. */
static void
server_hang(Server *srv, int fd)
{
    while (server_wait_readable(srv, fd)) {
        char sink[4096];
        ssize_t n = read(fd, sink, sizeof(sink));
        if (n == 0 || (n < 0 && errno != EINTR))
            return;
    }
}

static void
server_close(Server *srv, int *fd)
{
    close(*fd);
    *fd = -1;
    g_mutex_lock(&srv->lock);
    srv->closes++;
    g_cond_broadcast(&srv->cond);
    g_mutex_unlock(&srv->lock);
}

static gpointer
server_thread(gpointer data)
{
    Server *srv = data;
    size_t next = 0;
    int fd = -1;
    unsigned int conn = 0;
    g_autoptr(GByteArray) buf = g_byte_array_new();

    for (;;) {
        if (fd < 0) {
            if (!server_wait_readable(srv, srv->listen_fd))
                break;
            fd = accept4(srv->listen_fd, NULL, NULL, SOCK_CLOEXEC);
            g_assert_cmpint(fd, >=, 0);
            g_byte_array_set_size(buf, 0);
            g_mutex_lock(&srv->lock);
            conn = ++srv->accepts;
            g_cond_broadcast(&srv->cond);
            g_mutex_unlock(&srv->lock);
        }
        int r = server_read_request(srv, fd, buf, conn);
        if (r < 0)
            break;
        if (r == 0) {
            server_close(srv, &fd);
            continue;
        }
        /* A request beyond the script is recorded and left unanswered. */
        static const ServerStep drop = {.reply = NULL, .after = AFTER_CLOSE};
        const ServerStep *step = next < srv->n_steps ? &srv->steps[next++] : &drop;
        if (!server_await_requests(srv, fd, buf, step->await_pipelined) ||
            !server_play(srv, fd, step)) {
            server_close(srv, &fd);
            continue;
        }
        switch (step->after) {
        case AFTER_KEEP:
            break;
        case AFTER_CLOSE_LATER:
            g_usleep(LINGER_MS * 1000);
            server_close(srv, &fd);
            break;
        case AFTER_HANG:
            server_hang(srv, fd);
            server_close(srv, &fd);
            break;
        case AFTER_CLOSE:
            server_close(srv, &fd);
            break;
        }
    }
    if (fd >= 0)
        server_close(srv, &fd);
    return NULL;
}

/* Start a server playing steps (borrowed; must outlive the server) on a fresh socket. */
static Server *
server_start(const ServerStep *steps, size_t n_steps)
{
    Server *srv = g_new0(Server, 1);
    g_autoptr(GError) gerr = NULL;
    srv->dir = g_dir_make_tmp("cv-http-XXXXXX", &gerr);
    g_assert_no_error(gerr);
    srv->path = g_build_filename(srv->dir, "api.sock", NULL);
    srv->steps = steps;
    srv->n_steps = n_steps;
    srv->requests = g_ptr_array_new_with_free_func(server_request_free);
    g_mutex_init(&srv->lock);
    g_cond_init(&srv->cond);
    g_assert_cmpint(pipe2(srv->stop_pipe, O_CLOEXEC), ==, 0);

    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    g_assert_cmpuint(strlen(srv->path), <, sizeof(addr.sun_path));
    strcpy(addr.sun_path, srv->path);
    srv->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    g_assert_cmpint(srv->listen_fd, >=, 0);
    g_assert_cmpint(bind(srv->listen_fd, (struct sockaddr *)&addr, sizeof(addr)), ==, 0);
    g_assert_cmpint(listen(srv->listen_fd, 16), ==, 0);
    srv->thread = g_thread_new("http-server", server_thread, srv);
    return srv;
}

/* Stop the thread; afterwards the recorded state can be read without the lock. */
static void
server_stop(Server *srv)
{
    if (!srv->thread)
        return;
    g_assert_cmpint(write(srv->stop_pipe[1], "x", 1), ==, 1);
    g_thread_join(srv->thread);
    srv->thread = NULL;
}

static void
server_free(Server *srv)
{
    server_stop(srv);
    close(srv->listen_fd);
    close(srv->stop_pipe[0]);
    close(srv->stop_pipe[1]);
    unlink(srv->path);
    g_assert_cmpint(rmdir(srv->dir), ==, 0);
    g_ptr_array_unref(srv->requests);
    g_mutex_clear(&srv->lock);
    g_cond_clear(&srv->cond);
    g_free(srv->path);
    g_free(srv->dir);
    g_free(srv);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Server, server_free)

/* Wait (at most 5 s) until the server has closed `closes` connections. */
static void
server_wait_closes(Server *srv, unsigned int closes)
{
    gint64 deadline = g_get_monotonic_time() + 5 * G_TIME_SPAN_SECOND;
    g_mutex_lock(&srv->lock);
    while (srv->closes < closes) {
        if (!g_cond_wait_until(&srv->cond, &srv->lock, deadline))
            break;
    }
    unsigned int seen = srv->closes;
    g_mutex_unlock(&srv->lock);
    g_assert_cmpuint(seen, >=, closes);
}

static const ServerRequest *
server_request(const Server *srv, guint i)
{
    g_assert_cmpuint(i, <, srv->requests->len);
    return srv->requests->pdata[i];
}

/* Stop srv, which must have accepted `accepts` connections and received `requests` requests. */
static void
server_finish(Server *srv, unsigned int accepts, unsigned int requests)
{
    server_stop(srv);
    g_assert_cmpuint(srv->accepts, ==, accepts);
    g_assert_cmpuint(srv->requests->len, ==, requests);
}

/* ------------------------------------------------------------------------------------------ */
/* Checks shared by the cases                                                                  */

/* A reply the client must not touch on failure. */
#define REPLY_UNTOUCHED {.status = -7, .body = NULL, .body_len = 77}

static void
check_reply_untouched(const CvHttpReply *reply)
{
    g_assert_cmpint(reply->status, ==, -7);
    g_assert_null(reply->body);
    g_assert_cmpuint(reply->body_len, ==, 77);
}

static void
check_error(const CvError *err, int code)
{
    g_assert_nonnull(err);
    g_assert_cmpint(err->code, ==, code);
    g_assert_nonnull(err->message);
    g_assert_cmpstr(err->message, !=, "");
}

static void
check_body(const CvHttpReply *reply, const char *expected, size_t len)
{
    g_assert_nonnull(reply->body);
    g_assert_cmpuint(reply->body_len, ==, len);
    g_assert_cmpmem(reply->body, reply->body_len, expected, len);
    g_assert_cmpint(reply->body[len], ==, '\0');
}

/* The outcome of a request that must have succeeded with status and exactly the want_len bytes
 * of want as body. */
static void
check_reply(int rc, const CvError *err, const CvHttpReply *reply, int status, const char *want,
            size_t want_len)
{
    g_assert_null(err);
    g_assert_cmpint(rc, ==, 0);
    g_assert_cmpint(reply->status, ==, status);
    check_body(reply, want, want_len);
}

/* The outcome of a request that must have failed with code, leaving reply as it was. */
static void
check_failure(int rc, const CvError *err, int code, const CvHttpReply *reply)
{
    g_assert_cmpint(rc, ==, -1);
    check_error(err, code);
    check_reply_untouched(reply);
}

/* One request on conn that must succeed with status and the body want (want_len bytes). */
static void
expect_reply(CvHttpConn *conn, const char *method, const char *path, const char *body,
             int status, const char *want, size_t want_len)
{
    g_autoptr(CvError) err = NULL;
    g_auto(CvHttpReply) reply = REPLY_UNTOUCHED;
    int rc = cv_http_conn_request(conn, method, path, body, &reply, &err);
    check_reply(rc, err, &reply, status, want, want_len);
}

/* The same as a one-shot request to the socket sock, bounded by timeout_ms. */
static void
expect_reply_once(const char *sock, unsigned int timeout_ms, const char *method, const char *path,
                  const char *body, int status, const char *want, size_t want_len)
{
    g_autoptr(CvError) err = NULL;
    g_auto(CvHttpReply) reply = REPLY_UNTOUCHED;
    int rc = cv_http_request(sock, method, path, body, timeout_ms, &reply, &err);
    check_reply(rc, err, &reply, status, want, want_len);
}

/* A one-shot GET of path from the socket sock (bounded by timeout_ms) that must fail with code. */
static void
expect_failure_once(const char *sock, unsigned int timeout_ms, const char *path, int code)
{
    g_autoptr(CvError) err = NULL;
    g_auto(CvHttpReply) reply = REPLY_UNTOUCHED;
    int rc = cv_http_request(sock, "GET", path, NULL, timeout_ms, &reply, &err);
    check_failure(rc, err, code, &reply);
}

/* The request line and the headers every request must have. */
static void
check_request(const ServerRequest *req, const char *method, const char *path)
{
    g_assert_cmpstr(req->method, ==, method);
    g_assert_cmpstr(req->path, ==, path);
    g_assert_cmpstr(req->version, ==, "HTTP/1.1");
    const char *host = NULL;
    g_assert_cmpuint(server_request_header(req, "host", &host), ==, 1);
    g_assert_cmpstr(host, !=, "");
    g_assert_cmpuint(server_request_header(req, "transfer-encoding", NULL), ==, 0);
}

/* A request without body: no Content-Length, or Content-Length: 0 (required unless GET). */
static void
check_request_no_body(const ServerRequest *req)
{
    const char *cl = NULL;
    unsigned int n = server_request_header(req, "content-length", &cl);
    if (g_str_equal(req->method, "GET"))
        g_assert_cmpuint(n, <=, 1);
    else
        g_assert_cmpuint(n, ==, 1);
    if (n)
        g_assert_cmpstr(cl, ==, "0");
    g_assert_cmpuint(req->body->len, ==, 0);
}

/* A request carrying body as JSON. */
static void
check_request_json(const ServerRequest *req, const char *body)
{
    const char *ct = NULL;
    const char *cl = NULL;
    g_assert_cmpuint(server_request_header(req, "content-type", &ct), ==, 1);
    g_assert_cmpstr(ct, ==, "application/json");
    g_assert_cmpuint(server_request_header(req, "content-length", &cl), ==, 1);
    g_autofree char *expected_cl = g_strdup_printf("%zu", strlen(body));
    g_assert_cmpstr(cl, ==, expected_cl);
    g_assert_cmpmem(req->body->data, req->body->len, body, strlen(body));
}

static gint64
elapsed_ms(gint64 start)
{
    return (g_get_monotonic_time() - start) / 1000;
}

/* ------------------------------------------------------------------------------------------ */
/* Requests and replies                                                                        */

#define MACHINE_JSON "{\"vcpu_count\": 2, \"mem_size_mib\": 256, \"smt\": false}"

static void
test_get_content_length(void)
{
    static const ServerStep steps[] = {
        {.reply = "HTTP/1.1 200 OK\r\n"
                  "Server: Firecracker API\r\n"
                  "Connection: keep-alive\r\n"
                  "Content-Type: application/json\r\n"
                  "Content-Length: 52\r\n"
                  "\r\n" MACHINE_JSON},
    };
    g_assert_cmpuint(strlen(MACHINE_JSON), ==, 52);
    g_autoptr(Server) srv = server_start(steps, G_N_ELEMENTS(steps));

    expect_reply_once(srv->path, 0, "GET", "/machine-config", NULL, 200, MACHINE_JSON,
                      strlen(MACHINE_JSON));

    server_stop(srv);
    g_assert_cmpuint(srv->requests->len, ==, 1);
    const ServerRequest *req = server_request(srv, 0);
    check_request(req, "GET", "/machine-config");
    check_request_no_body(req);
    g_assert_cmpuint(server_request_header(req, "content-type", NULL), ==, 0);
    g_assert_false(srv->bad_request);
}

#define DRIVE_JSON                                                                                 \
    "{\"drive_id\": \"rootfs\", \"path_on_host\": \"/var/lib/a b/r\\u00e9.ext4\", "                \
    "\"is_root_device\": true, \"is_read_only\": false}"

static void
test_put_json_204(void)
{
    /* 204 carries no body by definition: no Content-Length, the connection stays open. */
    static const ServerStep steps[] = {
        {.reply = "HTTP/1.1 204 No Content\r\nServer: Firecracker API\r\n\r\n"},
        {.reply = "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"},
    };
    g_autoptr(Server) srv = server_start(steps, G_N_ELEMENTS(steps));
    g_autoptr(CvHttpConn) conn = cv_http_conn_new(srv->path, 2000);

    for (int i = 0; i < 2; i++)
        expect_reply(conn, "PUT", "/drives/rootfs", DRIVE_JSON, 204, "", 0);

    server_stop(srv);
    g_assert_cmpuint(srv->requests->len, ==, 2);
    for (guint i = 0; i < 2; i++) {
        const ServerRequest *req = server_request(srv, i);
        check_request(req, "PUT", "/drives/rootfs");
        check_request_json(req, DRIVE_JSON);
        g_assert_cmpuint(req->conn, ==, 1);
    }
    g_assert_cmpuint(srv->accepts, ==, 1);
}

static void
test_put_large_body(void)
{
    /* Larger than a socket buffer, so the client has to cope with partial writes. */
    static const ServerStep steps[] = {
        {.reply = "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"},
    };
    GString *json = g_string_new("{\"data\": \"");
    for (int i = 0; i < 600000; i++)
        g_string_append_c(json, 'a' + i % 26);
    g_string_append(json, "\"}");
    g_autofree char *body = g_string_free(json, FALSE);
    g_autoptr(Server) srv = server_start(steps, G_N_ELEMENTS(steps));

    expect_reply_once(srv->path, 5000, "PATCH", "/vm/config", body, 204, "", 0);

    server_stop(srv);
    g_assert_cmpuint(srv->requests->len, ==, 1);
    check_request(server_request(srv, 0), "PATCH", "/vm/config");
    check_request_json(server_request(srv, 0), body);
}

static void
test_put_no_body(void)
{
    static const ServerStep steps[] = {
        {.reply = "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"},
    };
    g_autoptr(Server) srv = server_start(steps, G_N_ELEMENTS(steps));

    expect_reply_once(srv->path, 2000, "PUT", "/api/v1/vm.boot", NULL, 204, "", 0);

    server_stop(srv);
    g_assert_cmpuint(srv->requests->len, ==, 1);
    const ServerRequest *req = server_request(srv, 0);
    check_request(req, "PUT", "/api/v1/vm.boot");
    check_request_no_body(req);
}

#define FAULT_JSON "{\"fault_message\": \"The id from the path does not match the id from the body!\"}"

static void
test_status_400_is_reply(void)
{
    g_autofree char *raw = g_strdup_printf("HTTP/1.1 400 Bad Request\r\n"
                                           "Content-Type: application/json\r\n"
                                           "Content-Length: %zu\r\n\r\n%s",
                                           strlen(FAULT_JSON), FAULT_JSON);
    const ServerStep steps[] = {
        {.reply = raw},
        {.reply = "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\n\r\noops!"},
    };
    g_autoptr(Server) srv = server_start(steps, G_N_ELEMENTS(steps));
    g_autoptr(CvHttpConn) conn = cv_http_conn_new(srv->path, 2000);

    expect_reply(conn, "PUT", "/drives/other", DRIVE_JSON, 400, FAULT_JSON, strlen(FAULT_JSON));
    /* An error status leaves the connection usable. */
    expect_reply(conn, "GET", "/", NULL, 500, "oops!", 5);

    server_finish(srv, 1, 2);
}

static void
test_chunked(void)
{
    /* Sizes in both cases of hex, extensions with and without a value, then a Content-Length
     * reply on the same connection: the chunked body must be consumed exactly. */
    static const ServerStep steps[] = {
        {.reply = "HTTP/1.1 200 OK\r\n"
                  "Content-Type: application/json\r\n"
                  "Transfer-Encoding: chunked\r\n"
                  "\r\n"
                  "a\r\n{\"state\": \r\n"
                  "C;name=value\r\n\"Running\", \"\r\n"
                  "1;ext\r\nv\r\n"
                  "10\r\nersion\": \"1.7.0\"\r\n"
                  "1;a=\"b\"\r\n}\r\n"
                  "0\r\n"
                  "\r\n"},
        {.reply = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"},
    };
    static const char expected[] = "{\"state\": \"Running\", \"version\": \"1.7.0\"}";
    g_autoptr(Server) srv = server_start(steps, G_N_ELEMENTS(steps));
    g_autoptr(CvHttpConn) conn = cv_http_conn_new(srv->path, 2000);

    expect_reply(conn, "GET", "/vm", NULL, 200, expected, strlen(expected));
    expect_reply(conn, "GET", "/vm", NULL, 200, "{}", 2);

    server_finish(srv, 1, 2);
}

static void
test_split_writes(void)
{
    /* The headers and the start of the body one byte per write, the rest in one write. */
    static const char raw[] = "HTTP/1.1 200 OK\r\n"
                              "Content-Type: application/json\r\n"
                              "Content-Length: 27\r\n"
                              "\r\n"
                              "{\"a\": \"x\\r\\n\\r\\ny\", \"b\": 1}";
    static const ServerStep steps[] = {
        {.reply = raw, .trickle = sizeof(raw) - 1 - 20, .trickle_us = 300},
    };
    const char *body = strstr(raw, "\r\n\r\n") + 4;
    g_assert_cmpuint(strlen(body), ==, 27);
    g_autoptr(Server) srv = server_start(steps, G_N_ELEMENTS(steps));

    expect_reply_once(srv->path, 5000, "GET", "/vm.info", NULL, 200, body, 27);
}

static void
test_nul_bytes(void)
{
    static const char raw[] = "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nab\0cd\0\0ef";
    static const ServerStep steps[] = {
        {.reply = raw, .reply_len = sizeof(raw) - 1},
    };
    g_autoptr(Server) srv = server_start(steps, G_N_ELEMENTS(steps));

    expect_reply_once(srv->path, 2000, "GET", "/bin", NULL, 200, "ab\0cd\0\0ef", 9);
}

static void
test_reply_at_limit(void)
{
    /* Exactly CV_HTTP_MAX_REPLY bytes is still accepted. */
    size_t body_len = CV_HTTP_MAX_REPLY;
    g_autofree char *head = g_strdup_printf("HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", body_len);
    size_t head_len = strlen(head);
    g_autofree char *raw = g_malloc(head_len + body_len);
    memcpy(raw, head, head_len);
    for (size_t i = 0; i < body_len; i++)
        raw[head_len + i] = (char)('A' + (i * 7) % 53);
    const ServerStep steps[] = {{.reply = raw, .reply_len = head_len + body_len}};
    g_autoptr(Server) srv = server_start(steps, G_N_ELEMENTS(steps));

    expect_reply_once(srv->path, 10000, "GET", "/big", NULL, 200, raw + head_len, body_len);
}

/* ------------------------------------------------------------------------------------------ */
/* Connections                                                                                 */

static void
test_persistent(void)
{
    static const ServerStep steps[] = {
        {.reply = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none"},
        {.reply = "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"},
        {.reply = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nthree"},
    };
    g_autoptr(Server) srv = server_start(steps, G_N_ELEMENTS(steps));
    g_autoptr(CvHttpConn) conn = cv_http_conn_new(srv->path, 0);

    expect_reply(conn, "GET", "/1", NULL, 200, "one", 3);
    expect_reply(conn, "PUT", "/2", "{}", 204, "", 0);
    expect_reply(conn, "PATCH", "/3", NULL, 200, "three", 5);

    server_finish(srv, 1, 3);
    check_request(server_request(srv, 0), "GET", "/1");
    check_request(server_request(srv, 1), "PUT", "/2");
    check_request_json(server_request(srv, 1), "{}");
    check_request(server_request(srv, 2), "PATCH", "/3");
    check_request_no_body(server_request(srv, 2));
    g_assert_false(srv->bad_request);
}

static void
test_nothing_connected_before_use(void)
{
    /* cv_http_conn_new connects nothing; freeing an unused connection is fine too. */
    static const ServerStep steps[] = {
        {.reply = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"},
    };
    g_autoptr(Server) srv = server_start(steps, G_N_ELEMENTS(steps));
    CvHttpConn *unused = cv_http_conn_new(srv->path, 0);
    g_assert_nonnull(unused);
    cv_http_conn_free(unused);
    cv_http_conn_free(NULL);
    cv_http_reply_clear(NULL);

    g_autoptr(CvHttpConn) conn = cv_http_conn_new(srv->path, 0);
    g_usleep(50 * 1000);
    g_mutex_lock(&srv->lock);
    unsigned int accepts = srv->accepts;
    g_mutex_unlock(&srv->lock);
    g_assert_cmpuint(accepts, ==, 0);

    g_autoptr(CvError) err = NULL;
    g_auto(CvHttpReply) reply = REPLY_UNTOUCHED;
    int rc = cv_http_conn_request(conn, "GET", "/", NULL, &reply, &err);
    check_reply(rc, err, &reply, 200, "ok", 2);
    cv_http_reply_clear(&reply);
    g_assert_null(reply.body);
    g_assert_cmpuint(reply.body_len, ==, 0);
    g_assert_cmpint(reply.status, ==, 0);
}

static void
test_connection_close_header(void)
{
    /* The server announces the close but keeps the socket open (unread) a while: a client
     * that ignored the header would send its next request into a dying connection. */
    static const ServerStep steps[] = {
        {.reply = "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 5\r\n\r\nfirst",
         .after = AFTER_CLOSE_LATER},
        {.reply = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond"},
    };
    g_autoptr(Server) srv = server_start(steps, G_N_ELEMENTS(steps));
    g_autoptr(CvHttpConn) conn = cv_http_conn_new(srv->path, 3000);

    expect_reply(conn, "GET", "/a", NULL, 200, "first", 5);
    expect_reply(conn, "GET", "/b", NULL, 200, "second", 6);

    server_finish(srv, 2, 2);
    g_assert_cmpuint(server_request(srv, 0)->conn, ==, 1);
    g_assert_cmpuint(server_request(srv, 1)->conn, ==, 2);
}

static void
test_silent_close(void)
{
    /* The server closes after the reply without saying so; the next request, made once the
     * close has happened, goes out on a new connection. */
    static const ServerStep steps[] = {
        {.reply = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst", .after = AFTER_CLOSE},
        {.reply = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond"},
    };
    g_autoptr(Server) srv = server_start(steps, G_N_ELEMENTS(steps));
    g_autoptr(CvHttpConn) conn = cv_http_conn_new(srv->path, 3000);

    expect_reply(conn, "GET", "/a", NULL, 200, "first", 5);
    server_wait_closes(srv, 1);
    expect_reply(conn, "PUT", "/b", "{\"x\": 1}", 200, "second", 6);

    server_finish(srv, 2, 2);
    g_assert_cmpuint(server_request(srv, 1)->conn, ==, 2);
    check_request_json(server_request(srv, 1), "{\"x\": 1}");
}

static void
test_close_without_reply(void)
{
    /* The request reached the server, which dropped the connection: an error, never a second
     * attempt; the connection is opened again for the next request. */
    static const ServerStep steps[] = {
        {.reply = NULL, .after = AFTER_CLOSE},
        {.reply = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nlater"},
    };
    g_autoptr(Server) srv = server_start(steps, G_N_ELEMENTS(steps));
    g_autoptr(CvHttpConn) conn = cv_http_conn_new(srv->path, 3000);
    g_autoptr(CvError) err = NULL;
    g_auto(CvHttpReply) reply = REPLY_UNTOUCHED;

    gint64 start = g_get_monotonic_time();
    int rc = cv_http_conn_request(conn, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}",
                                  &reply, &err);
    check_failure(rc, err, VIR_ERR_OPERATION_FAILED, &reply);
    g_assert_cmpint(elapsed_ms(start), <, 2000); /* the drop is noticed, not timed out */

    g_mutex_lock(&srv->lock);
    guint seen = srv->requests->len;
    g_mutex_unlock(&srv->lock);
    g_assert_cmpuint(seen, ==, 1);

    expect_reply(conn, "GET", "/next", NULL, 200, "later", 5);

    server_finish(srv, 2, 2);
    g_assert_cmpstr(server_request(srv, 0)->path, ==, "/actions");
    g_assert_cmpstr(server_request(srv, 1)->path, ==, "/next");
}

static void
test_pipeline(void)
{
    /* Three requests in one batch: the server answers none before it has them all, and the
     * replies, a refusal among them, come back in order on the one connection, which stays
     * open for what follows. */
    static const ServerStep steps[] = {
        {.reply = "HTTP/1.1 204 No Content\r\n\r\n", .await_pipelined = 2},
        {.reply = "HTTP/1.1 400 Bad Request\r\nContent-Length: 22\r\n\r\n"
                  "{\"fault_message\":\"no\"}"},
        {.reply = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nthree"},
        {.reply = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nafter"},
    };
    g_autoptr(Server) srv = server_start(steps, G_N_ELEMENTS(steps));
    g_autoptr(CvHttpConn) conn = cv_http_conn_new(srv->path, 3000);
    g_autoptr(CvError) err = NULL;
    CvHttpCall calls[] = {
        {.method = "PUT", .path = "/machine-config", .body = MACHINE_JSON},
        {.method = "PUT", .path = "/boot-source", .body = "{}"},
        {.method = "GET", .path = "/"},
    };

    int rc = cv_http_conn_pipeline(conn, calls, G_N_ELEMENTS(calls), &err);
    check_reply(rc, err, &calls[0].reply, 204, "", 0);
    check_reply(rc, err, &calls[1].reply, 400, "{\"fault_message\":\"no\"}", 22);
    check_reply(rc, err, &calls[2].reply, 200, "three", 5);
    for (size_t i = 0; i < G_N_ELEMENTS(calls); i++)
        cv_http_reply_clear(&calls[i].reply);
    expect_reply(conn, "GET", "/after", NULL, 200, "after", 5);

    server_finish(srv, 1, 4);
    check_request(server_request(srv, 0), "PUT", "/machine-config");
    check_request_json(server_request(srv, 0), MACHINE_JSON);
    check_request(server_request(srv, 1), "PUT", "/boot-source");
    check_request_json(server_request(srv, 1), "{}");
    check_request(server_request(srv, 2), "GET", "/");
    check_request_no_body(server_request(srv, 2));
    check_request(server_request(srv, 3), "GET", "/after");
    g_assert_false(srv->bad_request);
}

static void
test_pipeline_closed_midway(void)
{
    /* The server closes after the first reply: an error for the batch, the first reply kept,
     * the second left empty, nothing sent twice. */
    static const ServerStep steps[] = {
        {.reply = "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n",
         .await_pipelined = 1, .after = AFTER_CLOSE},
    };
    g_autoptr(Server) srv = server_start(steps, G_N_ELEMENTS(steps));
    g_autoptr(CvHttpConn) conn = cv_http_conn_new(srv->path, 3000);
    g_autoptr(CvError) err = NULL;
    CvHttpCall calls[] = {
        {.method = "PUT", .path = "/drives/a", .body = "{}"},
        {.method = "PUT", .path = "/drives/b", .body = "{}"},
    };

    int rc = cv_http_conn_pipeline(conn, calls, G_N_ELEMENTS(calls), &err);
    g_assert_cmpint(rc, ==, -1);
    check_error(err, VIR_ERR_OPERATION_FAILED);
    g_assert_cmpint(calls[0].reply.status, ==, 204);
    g_assert_cmpint(calls[1].reply.status, ==, 0);
    g_assert_null(calls[1].reply.body);
    cv_http_reply_clear(&calls[0].reply);

    server_wait_closes(srv, 1);
    server_finish(srv, 1, 1);
}

/* ------------------------------------------------------------------------------------------ */
/* Errors                                                                                      */

static void
test_no_socket(void)
{
    g_autoptr(GError) gerr = NULL;
    g_autofree char *dir = g_dir_make_tmp("cv-http-XXXXXX", &gerr);
    g_assert_no_error(gerr);
    g_autofree char *path = g_build_filename(dir, "missing.sock", NULL);
    g_autofree char *expected = g_strdup_printf("cannot connect to socket '%s'", path);

    for (int i = 0; i < 2; i++) {
        g_autoptr(CvError) err = NULL;
        g_auto(CvHttpReply) reply = REPLY_UNTOUCHED;
        int rc;
        if (i == 0) {
            rc = cv_http_request(path, "GET", "/", NULL, 0, &reply, &err);
        } else {
            g_autoptr(CvHttpConn) conn = cv_http_conn_new(path, 0);
            rc = cv_http_conn_request(conn, "GET", "/", NULL, &reply, &err);
        }
        check_failure(rc, err, VIR_ERR_SYSTEM_ERROR, &reply);
        g_assert_cmpint(err->sys_errno, ==, ENOENT);
        g_assert_nonnull(strstr(err->message, expected));
        g_assert_nonnull(strstr(err->message, "No such file or directory"));
    }
    g_assert_cmpint(rmdir(dir), ==, 0);
}

static void
test_timeout(void)
{
    /* The server reads the request and never answers. */
    static const ServerStep steps[] = {
        {.reply = NULL, .after = AFTER_HANG},
    };
    g_autoptr(Server) srv = server_start(steps, G_N_ELEMENTS(steps));
    g_autoptr(CvError) err = NULL;
    g_auto(CvHttpReply) reply = REPLY_UNTOUCHED;

    gint64 start = g_get_monotonic_time();
    int rc = cv_http_request(srv->path, "GET", "/vm.info", NULL, 200, &reply, &err);
    gint64 ms = elapsed_ms(start);
    check_failure(rc, err, VIR_ERR_OPERATION_TIMEOUT, &reply);
    g_assert_cmpint(ms, >=, 150);
    g_assert_cmpint(ms, <, 2000);

    server_stop(srv);
    g_assert_cmpuint(srv->requests->len, ==, 1);
}

static void
test_timeout_whole_request(void)
{
    /* A reply trickling in a byte every 50 ms (3 s in all): the limit bounds the whole
     * request, not each read. */
    static const char raw[] = "HTTP/1.1 200 OK\r\n"
                              "Content-Length: 40\r\n"
                              "\r\n"
                              "0123456789012345678901234567890123456789";
    static const ServerStep steps[] = {
        {.reply = raw, .trickle = sizeof(raw) - 1, .trickle_us = 50000, .after = AFTER_HANG},
    };
    g_autoptr(Server) srv = server_start(steps, G_N_ELEMENTS(steps));
    g_autoptr(CvHttpConn) conn = cv_http_conn_new(srv->path, 300);
    g_autoptr(CvError) err = NULL;
    g_auto(CvHttpReply) reply = REPLY_UNTOUCHED;

    gint64 start = g_get_monotonic_time();
    int rc = cv_http_conn_request(conn, "GET", "/slow", NULL, &reply, &err);
    gint64 ms = elapsed_ms(start);
    check_failure(rc, err, VIR_ERR_OPERATION_TIMEOUT, &reply);
    g_assert_cmpint(ms, <, 2000);
}

static void
test_reply_too_large(void)
{
    /* The server announces one byte over the limit (and sends nothing more). */
    g_autofree char *raw = g_strdup_printf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n{",
                                           CV_HTTP_MAX_REPLY + 1);
    const ServerStep steps[] = {{.reply = raw, .after = AFTER_HANG}};
    g_autoptr(Server) srv = server_start(steps, G_N_ELEMENTS(steps));

    expect_failure_once(srv->path, 3000, "/huge", VIR_ERR_OPERATION_FAILED);
}

static void
test_chunked_too_large(void)
{
    /* Chunks adding up to one byte over the limit, all actually sent. */
    size_t half = CV_HTTP_MAX_REPLY / 2;
    GString *s = g_string_new("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 2; i++) {
        g_string_append_printf(s, "%zx\r\n", half);
        size_t at = s->len;
        g_string_set_size(s, at + half);
        memset(s->str + at, 'z', half);
        g_string_append(s, "\r\n");
    }
    g_string_append(s, "1\r\nz\r\n0\r\n\r\n");
    size_t raw_len = s->len;
    g_autofree char *raw = g_string_free(s, FALSE);
    const ServerStep steps[] = {{.reply = raw, .reply_len = raw_len, .after = AFTER_HANG}};
    g_autoptr(Server) srv = server_start(steps, G_N_ELEMENTS(steps));

    expect_failure_once(srv->path, 10000, "/huge", VIR_ERR_OPERATION_FAILED);
}

static void
test_garbage_reply(void)
{
    static const ServerStep steps[] = {
        {.reply = "hello\r\n\r\n", .after = AFTER_HANG},
    };
    g_autoptr(Server) srv = server_start(steps, G_N_ELEMENTS(steps));

    expect_failure_once(srv->path, 3000, "/", VIR_ERR_OPERATION_FAILED);
}

static void
test_error_then_reconnect(void)
{
    /* After a bad reply the connection is closed by the client and opened anew. */
    static const ServerStep steps[] = {
        {.reply = "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", .after = AFTER_HANG},
        {.reply = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"},
    };
    g_autoptr(Server) srv = server_start(steps, G_N_ELEMENTS(steps));
    g_autoptr(CvHttpConn) conn = cv_http_conn_new(srv->path, 3000);
    g_autoptr(CvError) err = NULL;
    g_auto(CvHttpReply) reply = REPLY_UNTOUCHED;

    int rc = cv_http_conn_request(conn, "GET", "/bad", NULL, &reply, &err);
    check_failure(rc, err, VIR_ERR_OPERATION_FAILED, &reply);
    /* The client closed its end: the server's hang ends. */
    server_wait_closes(srv, 1);

    expect_reply(conn, "GET", "/good", NULL, 200, "ok", 2);

    server_finish(srv, 2, 2);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/util/http/get-content-length", test_get_content_length);
    g_test_add_func("/util/http/put-json-204", test_put_json_204);
    g_test_add_func("/util/http/put-large-body", test_put_large_body);
    g_test_add_func("/util/http/put-no-body", test_put_no_body);
    g_test_add_func("/util/http/status-400-is-reply", test_status_400_is_reply);
    g_test_add_func("/util/http/chunked", test_chunked);
    g_test_add_func("/util/http/split-writes", test_split_writes);
    g_test_add_func("/util/http/nul-bytes", test_nul_bytes);
    g_test_add_func("/util/http/reply-at-limit", test_reply_at_limit);
    g_test_add_func("/util/http/persistent", test_persistent);
    g_test_add_func("/util/http/nothing-connected-before-use", test_nothing_connected_before_use);
    g_test_add_func("/util/http/connection-close-header", test_connection_close_header);
    g_test_add_func("/util/http/silent-close", test_silent_close);
    g_test_add_func("/util/http/close-without-reply", test_close_without_reply);
    g_test_add_func("/util/http/pipeline", test_pipeline);
    g_test_add_func("/util/http/pipeline-closed-midway", test_pipeline_closed_midway);
    g_test_add_func("/util/http/no-socket", test_no_socket);
    g_test_add_func("/util/http/timeout", test_timeout);
    g_test_add_func("/util/http/timeout-whole-request", test_timeout_whole_request);
    g_test_add_func("/util/http/reply-too-large", test_reply_too_large);
    g_test_add_func("/util/http/chunked-too-large", test_chunked_too_large);
    g_test_add_func("/util/http/garbage-reply", test_garbage_reply);
    g_test_add_func("/util/http/error-then-reconnect", test_error_then_reconnect);
    return g_test_run();
}
