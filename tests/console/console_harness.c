#include "console_harness.h"

#include "console/cv_pty.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

Harness *
harness_start(const char *relay_path, const char *const *extra)
{
    return harness_start_full(relay_path, extra, false);
}

Harness *
harness_start_full(const char *relay_path, const char *const *extra, bool by_path)
{
    g_autoptr(CvError) err = NULL;
    g_autofree char *slave_path = NULL;
    Harness *h = g_new0(Harness, 1);
    int master, ready[2];

    h->dir = g_dir_make_tmp("cocoon-console-XXXXXX", NULL);
    g_assert_nonnull(h->dir);
    h->socket = g_build_filename(h->dir, "console.sock", NULL);
    if (cv_pty_open(&master, &slave_path, &h->slave, &err) < 0)
        g_error("%s", err->message);
    if (by_path) {
        /* The VMM keeps the master; the relay opens the slave by name. */
        close(h->slave);
        h->slave = master;
        master = -1;
    }
    g_assert_cmpint(pipe2(ready, O_CLOEXEC), ==, 0);

    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_ptr_array_add(argv, (char *)relay_path);
    g_ptr_array_add(argv, by_path ? "--pty" : "--pty-fd");
    g_ptr_array_add(argv, by_path ? slave_path : "3");
    g_ptr_array_add(argv, "--socket");
    g_ptr_array_add(argv, h->socket);
    g_ptr_array_add(argv, "--ready-fd");
    g_ptr_array_add(argv, "4");
    for (int i = 0; extra && extra[i]; i++)
        g_ptr_array_add(argv, (char *)extra[i]);
    g_ptr_array_add(argv, NULL);

    h->relay = fork();
    g_assert_cmpint(h->relay, >=, 0);
    if (h->relay == 0) {
        /* dup2 clears close-on-exec on the copies: exactly these two are inherited. */
        int m = by_path ? open("/dev/null", O_RDONLY) : dup(master), w = dup(ready[1]);
        if (m < 0 || w < 0 || dup2(m, 3) < 0 || dup2(w, 4) < 0)
            _exit(127);
        execv(relay_path, (char **)argv->pdata);
        _exit(127);
    }
    if (master >= 0)
        close(master);
    close(ready[1]);
    struct pollfd pfd = {.fd = ready[0], .events = POLLIN};
    char c = 0;
    if (poll(&pfd, 1, 10000) != 1 || read(ready[0], &c, 1) != 1 || c != 'R')
        g_error("the relay did not report ready");
    close(ready[0]);
    return h;
}

int
harness_wait_relay(Harness *h, int timeout_ms)
{
    gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    int status;

    while (g_get_monotonic_time() < end) {
        pid_t r = waitpid(h->relay, &status, WNOHANG);
        if (r == h->relay) {
            h->relay = 0;
            return status;
        }
        g_usleep(10000);
    }
    return -1;
}

void
harness_free(Harness *h)
{
    if (!h)
        return;
    if (h->relay > 0) {
        kill(h->relay, SIGKILL);
        waitpid(h->relay, NULL, 0);
    }
    if (h->slave >= 0)
        close(h->slave);
    unlink(h->socket);
    rmdir(h->dir);
    g_free(h->socket);
    g_free(h->dir);
    g_free(h);
}

gssize
test_read_some(int fd, GByteArray *out, gsize max, int timeout_ms)
{
    guint8 buf[65536];
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    int r;

    do {
        r = poll(&pfd, 1, timeout_ms);
    } while (r < 0 && errno == EINTR);
    if (r <= 0)
        return 0;
    ssize_t n = read(fd, buf, MIN(max, sizeof(buf)));
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return 0;
    if (n <= 0)
        return -1; /* EOF, or EIO on a PTY */
    g_byte_array_append(out, buf, n);
    return n;
}

bool
test_read_exact(int fd, GByteArray *out, gsize len, int timeout_ms)
{
    gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    gsize goal = out->len + len;

    while (out->len < goal) {
        int left = (int)((end - g_get_monotonic_time()) / 1000);
        if (left <= 0)
            return false;
        if (test_read_some(fd, out, goal - out->len, left) < 0)
            return false;
    }
    return true;
}

bool
test_read_to_eof(int fd, GByteArray *out, int timeout_ms)
{
    gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

    for (;;) {
        int left = (int)((end - g_get_monotonic_time()) / 1000);
        if (left <= 0)
            return false;
        if (test_read_some(fd, out, 65536, left) < 0)
            return true;
    }
}

void
test_write_all(int fd, const void *data, gsize len)
{
    const guint8 *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            g_error("write failed: %s", g_strerror(errno));
        p += n;
        len -= n;
    }
}
