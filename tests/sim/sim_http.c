/* Minimal HTTP/1.1 server on a UNIX socket for the hypervisor simulators (test tools only). */
#include "sim_http.h"

#include "sim_log.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <poll.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define SIM_HTTP_MAX_REQUEST (4 * 1024 * 1024)

struct SimHttpServer {
    int listen_fd;
    guint listen_watch;
    char *server_name;
    SimHttpHandler handler;
    gpointer user_data;
    GList *conns;
};

typedef struct {
    SimHttpServer *srv;
    int fd;
    guint watch;
    GByteArray *in;
    gboolean continue_sent;
} SimHttpConn;

int
sim_http_listen_unix(const char *path)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    int fd;

    if (strlen(path) >= sizeof(addr.sun_path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    strcpy(addr.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 16) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

void
sim_http_response_set_body(SimHttpResponse *resp, int status, char *body)
{
    g_free(resp->body);
    resp->status = status;
    resp->body = body;
}

void
sim_http_response_add_header(SimHttpResponse *resp, const char *name, const char *value)
{
    g_ptr_array_add(resp->headers, g_strdup_printf("%s: %s", name, value));
}

static const char *
sim_http_reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    default: return "Unknown";
    }
}

static gboolean
sim_http_write_all(int fd, const char *buf, gsize len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                struct pollfd p = { .fd = fd, .events = POLLOUT };
                if (poll(&p, 1, 5000) <= 0)
                    return FALSE;
                continue;
            }
            return FALSE;
        }
        buf += n;
        len -= (gsize)n;
    }
    return TRUE;
}

static void
sim_http_conn_close(SimHttpConn *c)
{
    c->srv->conns = g_list_remove(c->srv->conns, c);
    if (c->watch)
        g_source_remove(c->watch);
    close(c->fd);
    g_byte_array_unref(c->in);
    g_free(c);
}

static const char *
sim_http_header(const char *head, const char *name)
{
    gsize nlen = strlen(name);
    const char *p = strstr(head, "\r\n");

    while (p && p[2] != '\0') {
        p += 2;
        if (g_ascii_strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
            p += nlen + 1;
            while (*p == ' ' || *p == '\t')
                p++;
            return p;
        }
        p = strstr(p, "\r\n");
    }
    return NULL;
}

static gboolean
sim_http_header_is(const char *head, const char *name, const char *value)
{
    const char *v = sim_http_header(head, name);

    return v && g_ascii_strncasecmp(v, value, strlen(value)) == 0;
}

static gboolean
sim_http_send(SimHttpConn *c, SimHttpResponse *resp, gboolean close_conn)
{
    g_autoptr(GString) out = g_string_new(NULL);
    gsize blen = resp->body ? strlen(resp->body) : 0;

    g_string_append_printf(out, "HTTP/1.1 %d %s\r\nServer: %s\r\n", resp->status,
                           sim_http_reason(resp->status), c->srv->server_name);
    g_string_append_printf(out, "Connection: %s\r\n", close_conn ? "close" : "keep-alive");
    for (guint i = 0; i < resp->headers->len; i++)
        g_string_append_printf(out, "%s\r\n", (const char *)resp->headers->pdata[i]);
    if (resp->status != 204) {
        if (blen > 0)
            g_string_append(out, "Content-Type: application/json\r\n");
        g_string_append_printf(out, "Content-Length: %zu\r\n", blen);
    }
    g_string_append(out, "\r\n");
    if (resp->status != 204 && blen > 0)
        g_string_append_len(out, resp->body, (gssize)blen);
    return sim_http_write_all(c->fd, out->str, out->len);
}

static void
sim_http_send_simple(SimHttpConn *c, int status)
{
    SimHttpResponse resp = { .status = status, .headers = g_ptr_array_new_with_free_func(g_free) };

    sim_http_send(c, &resp, TRUE);
    g_ptr_array_unref(resp.headers);
}

/* Returns 1 when a request was handled, 0 when more input is needed, -1 to close. */
static int
sim_http_conn_process(SimHttpConn *c)
{
    const char *data = (const char *)c->in->data;
    const char *end = g_strstr_len(data, (gssize)c->in->len, "\r\n\r\n");
    g_autofree char *head = NULL;
    g_auto(GStrv) reqline = NULL;
    const char *cl;
    gsize head_len, body_len = 0;
    gboolean close_conn;
    SimHttpRequest req = { 0 };
    SimHttpResponse resp = { 0 };
    g_autofree char *body = NULL;
    gboolean ok;

    if (!end)
        return c->in->len > 65536 ? -1 : 0;
    head_len = (gsize)(end - data) + 4;
    head = g_strndup(data, head_len - 2);
    {
        char *eol = strstr(head, "\r\n");
        g_autofree char *line = g_strndup(head, (gsize)(eol - head));
        reqline = g_strsplit(line, " ", 3);
    }
    if (g_strv_length(reqline) != 3 || !g_str_has_prefix(reqline[2], "HTTP/1.")) {
        sim_http_send_simple(c, 400);
        return -1;
    }
    if (sim_http_header(head, "Transfer-Encoding")) {
        sim_http_send_simple(c, 400);
        return -1;
    }
    cl = sim_http_header(head, "Content-Length");
    if (cl) {
        char *e = NULL;
        guint64 v = g_ascii_strtoull(cl, &e, 10);
        if (e == cl || v > SIM_HTTP_MAX_REQUEST) {
            sim_http_send_simple(c, 400);
            return -1;
        }
        body_len = (gsize)v;
    }
    if (c->in->len < head_len + body_len) {
        if (!c->continue_sent && sim_http_header_is(head, "Expect", "100-continue")) {
            c->continue_sent = TRUE;
            if (!sim_http_write_all(c->fd, "HTTP/1.1 100 Continue\r\n\r\n", 25))
                return -1;
        }
        return 0;
    }
    c->continue_sent = FALSE;
    if (body_len > 0)
        body = g_strndup(data + head_len, body_len);
    g_byte_array_remove_range(c->in, 0, (guint)(head_len + body_len));

    close_conn = sim_http_header_is(head, "Connection", "close");
    req.method = reqline[0];
    req.path = reqline[1];
    req.body = body;
    req.body_len = body_len;
    resp.status = 500;
    resp.headers = g_ptr_array_new_with_free_func(g_free);
    c->srv->handler(&req, &resp, c->srv->user_data);
    sim_log_request(req.method, req.path, body, resp.status);
    ok = sim_http_send(c, &resp, close_conn);
    if (resp.after)
        resp.after(resp.after_data);
    g_free(resp.body);
    g_ptr_array_unref(resp.headers);
    return ok && !close_conn ? 1 : -1;
}

static gboolean
sim_http_conn_readable(gint fd, GIOCondition cond, gpointer user_data)
{
    SimHttpConn *c = user_data;
    char buf[16384];
    ssize_t n = read(fd, buf, sizeof(buf));
    int r;

    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return G_SOURCE_CONTINUE;
    if (n <= 0) {
        c->watch = 0;
        sim_http_conn_close(c);
        return G_SOURCE_REMOVE;
    }
    g_byte_array_append(c->in, (const guint8 *)buf, (guint)n);
    while ((r = sim_http_conn_process(c)) == 1)
        ;
    if (r < 0) {
        c->watch = 0;
        sim_http_conn_close(c);
        return G_SOURCE_REMOVE;
    }
    return G_SOURCE_CONTINUE;
}

static gboolean
sim_http_accept(gint fd, GIOCondition cond, gpointer user_data)
{
    SimHttpServer *srv = user_data;
    int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    SimHttpConn *c;

    if (cfd < 0)
        return G_SOURCE_CONTINUE;
    c = g_new0(SimHttpConn, 1);
    c->srv = srv;
    c->fd = cfd;
    c->in = g_byte_array_new();
    c->watch = g_unix_fd_add(cfd, G_IO_IN | G_IO_HUP | G_IO_ERR, sim_http_conn_readable, c);
    srv->conns = g_list_prepend(srv->conns, c);
    return G_SOURCE_CONTINUE;
}

SimHttpServer *
sim_http_server_new(int listen_fd, const char *server_name, SimHttpHandler handler,
                    gpointer user_data)
{
    SimHttpServer *srv = g_new0(SimHttpServer, 1);

    srv->listen_fd = listen_fd;
    srv->server_name = g_strdup(server_name);
    srv->handler = handler;
    srv->user_data = user_data;
    fcntl(listen_fd, F_SETFD, FD_CLOEXEC);
    srv->listen_watch = g_unix_fd_add(listen_fd, G_IO_IN, sim_http_accept, srv);
    return srv;
}

void
sim_http_server_free(SimHttpServer *srv)
{
    if (!srv)
        return;
    while (srv->conns)
        sim_http_conn_close(srv->conns->data);
    g_source_remove(srv->listen_watch);
    close(srv->listen_fd);
    g_free(srv->server_name);
    g_free(srv);
}
