/*
 * libFuzzer target: the HTTP/1.1 reply parser of the VMM client (src/util/cv_http.c), which
 * reads whatever a VMM's API socket sends: a hostile or broken VMM must not take the driver
 * down. A server thread of this process accepts the client's connection and answers with the
 * input's bytes, then ends the connection; the client sends 1 to 3 pipelined requests (the
 * first byte picks how many and their methods) and must come back with replies or an error,
 * never a crash, a leak or a wait past its timeout.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fuzz_fail.h"
#include "util/cv_http.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CLIENT_TIMEOUT_MS 5000

static char *socket_path;
static int listen_fd = -1;

static GMutex lock;
static GCond cond;
static const uint8_t *reply_data; /* under lock: what the next connection is answered */
static size_t reply_size;
static bool reply_ready, served;

static gpointer
server_thread(gpointer unused)
{
    for (;;) {
        int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        g_mutex_lock(&lock);
        while (!reply_ready)
            g_cond_wait(&cond, &lock);
        const uint8_t *data = reply_data;
        size_t size = reply_size;
        g_mutex_unlock(&lock);

        size_t off = 0;
        while (off < size) {
            ssize_t n = send(fd, data + off, size - off, MSG_NOSIGNAL);
            if (n <= 0)
                break; /* the client gave up on the reply: fine */
            off += (size_t)n;
        }
        shutdown(fd, SHUT_WR);
        char buf[4096];
        while (recv(fd, buf, sizeof(buf), 0) > 0) {
        }
        close(fd);

        g_mutex_lock(&lock);
        reply_ready = false;
        served = true;
        g_cond_broadcast(&cond);
        g_mutex_unlock(&lock);
    }
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
    socket_path = g_strdup_printf("%s/cocoon-fuzz-http-%d.sock", g_get_tmp_dir(), getpid());
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    g_strlcpy(addr.sun_path, socket_path, sizeof(addr.sun_path));
    unlink(socket_path);
    listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
        listen(listen_fd, 4) < 0)
        FUZZ_FAIL("cannot listen on '%s': %s", socket_path, g_strerror(errno));
    atexit(cleanup);
    g_thread_new("server", server_thread, NULL);
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const methods[] = {"GET", "PUT", "PATCH", "HEAD"};
    if (size < 1)
        return 0;
    unsigned int sel = data[0];
    data++;
    size--;

    g_mutex_lock(&lock);
    reply_data = data;
    reply_size = size;
    reply_ready = true;
    served = false;
    g_cond_broadcast(&cond);
    g_mutex_unlock(&lock);

    CvHttpCall calls[3] = {
        {.method = methods[sel & 3], .path = "/vm.info"},
        {.method = methods[(sel >> 2) & 3], .path = "/machine-config", .body = "{\"a\":1}"},
        {.method = methods[(sel >> 4) & 3], .path = "/actions"},
    };
    size_t n = 1 + (sel >> 6) % 3;
    gint64 start = g_get_monotonic_time();
    g_autoptr(CvHttpConn) conn = cv_http_conn_new(socket_path, CLIENT_TIMEOUT_MS);
    g_autoptr(CvError) err = NULL;
    int rc = cv_http_conn_pipeline(conn, calls, n, &err);
    if (rc < 0 && (!err || !err->message))
        FUZZ_FAIL("a failed request without an error");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        CvHttpReply *r = &calls[i].reply;
        if (!r->body || strlen(r->body) > r->body_len || r->body[r->body_len] != '\0' ||
            r->status < 0 || r->status > 999)
            FUZZ_FAIL("reply %zu is malformed: status %ld", i, r->status);
    }
    for (size_t i = 0; i < n; i++)
        cv_http_reply_clear(&calls[i].reply);
    if (err && err->code == VIR_ERR_OPERATION_TIMEOUT)
        FUZZ_FAIL("a reply that ended was waited for until the timeout (%lld ms)",
                (long long)(g_get_monotonic_time() - start) / 1000);
    g_clear_pointer(&conn, cv_http_conn_free);

    g_mutex_lock(&lock);
    while (!served)
        g_cond_wait(&cond, &lock);
    g_mutex_unlock(&lock);
    return 0;
}
