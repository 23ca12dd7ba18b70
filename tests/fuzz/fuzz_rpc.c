/*
 * libFuzzer target: the RPC server's input path. The first byte picks a read-write or a
 * read-only connection; the rest is what a client sends on its socket: frames (length word,
 * header, XDR arguments) for any program, version, procedure and type. They go through the
 * real reader (rpc_client.c), framing (rpc_message.c), dispatch table and handlers
 * (rpc_dispatch*.c) on the real worker pool, against a stub driver (fuzz_stub_driver.c). The
 * replies are read and dropped. After the client's EOF every call is answered, the connection
 * is gone and no event registration is left: anything else (and any sanitizer report) aborts.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz_fail.h"
#include "fuzz_stub_driver.h"
#include "rpc/rpc_server.h"
#include "rpc/rpc_server_priv.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static CocoonConn fuzz_conn = {.driver = &fuzz_stub_driver, .uri = (char *)"cocoon:///system"};
static RpcServer *fuzz_srv;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    /* small limits, so pausing and resuming a busy client is reached with small inputs */
    RpcServerConfig cfg = {.workers = 2, .max_client_calls = 4, .max_client_queue = 256 * 1024};
    g_autoptr(CvError) err = NULL;
    fuzz_srv = rpc_server_new(&fuzz_conn, &cfg, &err);
    if (!fuzz_srv)
        FUZZ_FAIL("cannot create the server: %s", err->message);
    return 0;
}

static unsigned int
client_inflight(RpcClient *c, bool *ret_dead)
{
    g_mutex_lock(&c->lock);
    unsigned int n = c->inflight;
    *ret_dead = c->dead;
    g_mutex_unlock(&c->lock);
    return n;
}

/* What the loop thread does between two batches: resume paused clients, free the dead. */
static void
loop_housekeeping(void)
{
    g_mutex_lock(&fuzz_srv->resume_lock);
    GPtrArray *resume = fuzz_srv->resume;
    fuzz_srv->resume = g_ptr_array_new();
    g_mutex_unlock(&fuzz_srv->resume_lock);
    for (guint i = 0; i < resume->len; i++) {
        rpc_client_resume_reading(resume->pdata[i]);
        rpc_client_unref(resume->pdata[i]);
    }
    g_ptr_array_free(resume, TRUE);
}

static void
drain(int fd)
{
    char buf[65536];
    while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0) {
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    bool read_only = data[0] & 1;
    data++;
    size--;

    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0)
        abort();
    RpcClient *c = rpc_client_new(fuzz_srv, sv[0], read_only);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &c->watch};
    if (epoll_ctl(fuzz_srv->epfd, EPOLL_CTL_ADD, sv[0], &ev) < 0)
        abort();
    g_hash_table_add(fuzz_srv->clients, rpc_client_ref(c));

    size_t off = 0;
    bool shut = false, dead = false;
    while (!dead) {
        if (off < size) {
            ssize_t n = send(sv[1], data + off, size - off, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n > 0)
                off += (size_t)n;
            else if (n < 0 && errno != EAGAIN)
                off = size; /* the server shut the connection */
        }
        if (off == size && !shut) {
            shutdown(sv[1], SHUT_WR);
            shut = true;
        }
        drain(sv[1]);
        /* every call handed to the workers is answered before the next read, so the EOF is
         * seen only when the calls before it are done */
        while (client_inflight(c, &dead) > 0)
            g_usleep(20);
        loop_housekeeping();
        client_inflight(c, &dead);
        if (!dead)
            rpc_client_handle_events(c, EPOLLIN | EPOLLOUT);
    }
    while (client_inflight(c, &dead) > 0)
        g_usleep(20);
    g_ptr_array_set_size(fuzz_srv->graveyard, 0);
    close(sv[1]);
    rpc_client_unref(c);
    if (fuzz_stub_registrations() != 0)
        FUZZ_FAIL("event registrations outlived their connection");
    return 0;
}
