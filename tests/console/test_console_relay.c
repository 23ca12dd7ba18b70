/*
 * Integration tests of the console relay: a real PTY whose slave side plays the VMM, the real
 * cocoon-console-relay binary, viewers attached through console_client_attach().
 *
 *   test_console_relay RELAY_BINARY CASE
 */
#include "console_harness.h"

#include "console/console_proto.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define TIMEOUT_MS 20000

static const char *relay_path;

static int
attach(Harness *h, ConsoleMode mode)
{
    g_autoptr(CvError) err = NULL;
    int fd = -1;

    if (console_client_attach(h->socket, mode, &fd, &err) < 0)
        g_error("attach %s: %s", console_mode_to_string(mode), err->message);
    return fd;
}

/* Attach expecting a refusal; returns the error message. */
static char *
attach_refused(Harness *h, ConsoleMode mode)
{
    g_autoptr(CvError) err = NULL;
    int fd = -1;

    if (console_client_attach(h->socket, mode, &fd, &err) == 0)
        g_error("attach %s was accepted, expected a refusal", console_mode_to_string(mode));
    g_assert_cmpint(err->code, ==, VIR_ERR_OPERATION_FAILED);
    return g_strdup(err->message);
}

static GBytes *
make_data(gsize len, guint32 seed)
{
    g_autoptr(GRand) rand = g_rand_new_with_seed(seed);
    guint8 *data = g_malloc(len);
    for (gsize i = 0; i < len; i++)
        data[i] = (guint8)g_rand_int(rand);
    return g_bytes_new_take(data, len);
}

static char *
sha256(const void *data, gsize len)
{
    return g_compute_checksum_for_data(G_CHECKSUM_SHA256, data, len);
}

typedef struct {
    int fd;
    GBytes *data;
} Writer;

/* The VMM printing: written from a thread so the test can read at the same time. */
static gpointer
writer_run(gpointer opaque)
{
    Writer *w = opaque;
    gsize len;
    const guint8 *p = g_bytes_get_data(w->data, &len);
    /* Uneven chunks, like a guest's console output. */
    for (gsize off = 0, step = 1; off < len; step = step * 7 % 65521 + 1) {
        gsize n = MIN(step, len - off);
        test_write_all(w->fd, p + off, n);
        off += n;
    }
    return NULL;
}

static void
assert_same_bytes(GByteArray *got, GBytes *want, const char *who)
{
    gsize len;
    const guint8 *p = g_bytes_get_data(want, &len);
    g_autofree char *a = sha256(got->data, got->len);
    g_autofree char *b = sha256(p, len);
    if (got->len != len || strcmp(a, b) != 0)
        g_error("%s: received %u bytes (sha256 %s), expected %zu bytes (sha256 %s)", who, got->len,
                a, len, b);
}

/* Nothing more arrives on fd within ms. */
static void
assert_quiet(int fd, int ms, const char *who)
{
    g_autoptr(GByteArray) extra = g_byte_array_new();
    gssize n = test_read_some(fd, extra, 4096, ms);
    if (n > 0) {
        g_autofree char *raw = g_strndup((char *)extra->data, extra->len);
        g_autofree char *esc = g_strescape(raw, NULL);
        g_error("%s: unexpected bytes '%s'", who, esc);
    }
}

static void
case_fanout(void)
{
    g_autoptr(Harness) h = harness_start(relay_path, NULL);
    int fds[3] = {attach(h, CONSOLE_MODE_INTERACTIVE), attach(h, CONSOLE_MODE_READONLY),
                  attach(h, CONSOLE_MODE_READONLY)};
    Writer w = {h->slave, make_data(1024 * 1024, 1)};
    GThread *t = g_thread_new("writer", writer_run, &w);

    /* Read round-robin so all three progress together. */
    GByteArray *got[3] = {g_byte_array_new(), g_byte_array_new(), g_byte_array_new()};
    gsize want = g_bytes_get_size(w.data);
    gint64 end = g_get_monotonic_time() + TIMEOUT_MS * 1000LL;
    while (got[0]->len < want || got[1]->len < want || got[2]->len < want) {
        g_assert_cmpint(g_get_monotonic_time(), <, end);
        for (int i = 0; i < 3; i++) {
            if (got[i]->len < want)
                g_assert_cmpint(test_read_some(fds[i], got[i], want - got[i]->len, 10), >=, 0);
        }
    }
    g_thread_join(t);
    for (int i = 0; i < 3; i++) {
        g_autofree char *who = g_strdup_printf("viewer %d", i);
        assert_same_bytes(got[i], w.data, who);
        g_byte_array_unref(got[i]);
        close(fds[i]);
    }
    g_bytes_unref(w.data);
}

static void
case_scrollback(void)
{
    g_autoptr(Harness) h = harness_start(relay_path, NULL);
    /* An early viewer tells us when the relay has consumed the boot log. */
    int early = attach(h, CONSOLE_MODE_READONLY);
    g_autoptr(GBytes) boot = make_data(100 * 1024, 2);
    gsize boot_len;
    const guint8 *boot_p = g_bytes_get_data(boot, &boot_len);
    test_write_all(h->slave, boot_p, boot_len);
    g_autoptr(GByteArray) seen = g_byte_array_new();
    g_assert_true(test_read_exact(early, seen, boot_len, TIMEOUT_MS));

    /* A late viewer gets the last 64 KiB (the default scrollback) first, then live output. */
    int late = attach(h, CONSOLE_MODE_INTERACTIVE);
    test_write_all(h->slave, "LIVE\r\n", 6);
    g_autoptr(GByteArray) got = g_byte_array_new();
    gsize keep = 64 * 1024;
    g_assert_true(test_read_exact(late, got, keep + 6, TIMEOUT_MS));
    g_assert_cmpmem(got->data, keep, boot_p + boot_len - keep, keep);
    g_assert_cmpmem(got->data + keep, 6, "LIVE\r\n", 6);
    assert_quiet(late, 200, "late viewer");

    /* A smaller --scrollback keeps only that much. */
    const char *extra[] = {"--scrollback", "16", NULL};
    g_autoptr(Harness) h2 = harness_start(relay_path, extra);
    int e2 = attach(h2, CONSOLE_MODE_READONLY);
    test_write_all(h2->slave, "0123456789abcdefghijklmnopqrstuv", 32);
    g_autoptr(GByteArray) s2 = g_byte_array_new();
    g_assert_true(test_read_exact(e2, s2, 32, TIMEOUT_MS));
    int l2 = attach(h2, CONSOLE_MODE_READONLY);
    g_autoptr(GByteArray) g2 = g_byte_array_new();
    g_assert_true(test_read_exact(l2, g2, 16, TIMEOUT_MS));
    g_assert_cmpmem(g2->data, 16, "ghijklmnopqrstuv", 16);
    assert_quiet(l2, 200, "late viewer (small scrollback)");
    close(early);
    close(late);
    close(e2);
    close(l2);
}

/* What the VMM receives within ms. */
static GByteArray *
vm_input(Harness *h, gsize expect, int ms)
{
    GByteArray *in = g_byte_array_new();
    if (expect)
        test_read_exact(h->slave, in, expect, ms);
    test_read_some(h->slave, in, 4096, 200); /* and nothing more */
    return in;
}

static void
case_exclusive(void)
{
    g_autoptr(Harness) h = harness_start(relay_path, NULL);
    int a = attach(h, CONSOLE_MODE_INTERACTIVE);

    g_autofree char *msg = attach_refused(h, CONSOLE_MODE_INTERACTIVE);
    g_assert_cmpstr(msg, ==, "operation failed: active console session exists for this domain");

    /* Read-only input is ignored; the interactive session's input reaches the VM. */
    int ro = attach(h, CONSOLE_MODE_READONLY);
    test_write_all(ro, "ro-input", 8);
    g_autoptr(GByteArray) sync = g_byte_array_new();
    test_write_all(h->slave, "sync", 4); /* the relay has handled ro's bytes once ro sees this */
    g_assert_true(test_read_exact(ro, sync, 4, TIMEOUT_MS));
    test_write_all(a, "rw-input", 8);
    g_autoptr(GByteArray) in = vm_input(h, 8, TIMEOUT_MS);
    g_assert_cmpmem(in->data, in->len, "rw-input", 8);

    /* safe needs exclusive access: refused while others are attached. */
    g_autofree char *smsg = attach_refused(h, CONSOLE_MODE_SAFE);
    g_assert_nonnull(strstr(smsg, "active console session exists"));

    /* force takes over: the previous session is told and disconnected. */
    int f = attach(h, CONSOLE_MODE_FORCE);
    g_autoptr(GByteArray) told = g_byte_array_new();
    g_assert_true(test_read_to_eof(a, told, TIMEOUT_MS));
    g_autofree char *told_s = g_strndup((char *)told->data, told->len);
    if (!strstr(told_s, "taken over"))
        g_error("the displaced viewer got '%s', expected a take-over notice", told_s);
    test_write_all(f, "force-input", 11);
    g_autoptr(GByteArray) in2 = vm_input(h, 11, TIMEOUT_MS);
    g_assert_cmpmem(in2->data, in2->len, "force-input", 11);
    /* The read-only viewer was not disturbed. */
    test_write_all(h->slave, "still", 5);
    g_autoptr(GByteArray) ro_got = g_byte_array_new();
    g_assert_true(test_read_exact(ro, ro_got, 5, TIMEOUT_MS));
    g_assert_cmpmem(ro_got->data, 5, "still", 5);
    close(a);
    close(f);

    /* With the session gone and a read-only viewer still there, safe is still refused. */
    g_autoptr(GByteArray) drain = g_byte_array_new();
    test_read_some(h->slave, drain, 4096, 100);
    g_autofree char *smsg2 = NULL;
    for (int i = 0; i < 100 && !smsg2; i++) {
        g_autoptr(CvError) err = NULL;
        int fd = -1;
        if (console_client_attach(h->socket, CONSOLE_MODE_SAFE, &fd, &err) == 0) {
            close(fd); /* the relay had not yet noticed f closing: retry */
            g_usleep(20000);
            continue;
        }
        if (strstr(err->message, "active console session")) {
            g_usleep(20000);
            continue;
        }
        smsg2 = g_strdup(err->message);
    }
    g_assert_nonnull(smsg2);
    g_assert_nonnull(strstr(smsg2, "other viewers are attached"));
    close(ro);

    /* Alone, safe is granted, and then read-only viewers are refused. */
    int s = -1;
    for (int i = 0; i < 100 && s < 0; i++) {
        g_autoptr(CvError) err = NULL;
        if (console_client_attach(h->socket, CONSOLE_MODE_SAFE, &s, &err) < 0)
            g_usleep(20000);
    }
    g_assert_cmpint(s, >=, 0);
    g_autofree char *romsg = attach_refused(h, CONSOLE_MODE_READONLY);
    g_assert_nonnull(strstr(romsg, "safe"));
    close(s);

    /* A malformed request gets an ERR line. */
    g_autoptr(CvError) err = NULL;
    int bad = -1;
    g_assert_cmpint(console_client_attach(h->socket, CONSOLE_MODE_LAST, &bad, &err), ==, -1);
    int raw = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    g_strlcpy(addr.sun_path, h->socket, sizeof(addr.sun_path));
    g_assert_cmpint(connect(raw, (struct sockaddr *)&addr, sizeof(addr)), ==, 0);
    test_write_all(raw, "ATTACH sideways\n", 16);
    g_autoptr(GByteArray) reply = g_byte_array_new();
    g_assert_true(test_read_to_eof(raw, reply, TIMEOUT_MS));
    g_autofree char *reply_s = g_strndup((char *)reply->data, reply->len);
    g_assert_cmpstr(reply_s, ==, "ERR invalid argument: unknown console mode 'sideways'\n");
    close(raw);
}

static void
case_hangup_full(bool by_path)
{
    g_autofree char *log = g_build_filename(g_get_tmp_dir(), "cocoon-console-hangup-XXXXXX", NULL);
    int log_fd = g_mkstemp(log);
    g_assert_cmpint(log_fd, >=, 0);
    close(log_fd);
    const char *extra[] = {"--log", log, NULL};
    g_autoptr(Harness) h = harness_start_full(relay_path, extra, by_path);
    int a = attach(h, CONSOLE_MODE_INTERACTIVE);

    /* Both directions, byte-exact, whichever end the relay holds. */
    test_write_all(a, "in\x03\r\n", 5);
    g_autoptr(GByteArray) in = vm_input(h, 5, TIMEOUT_MS);
    g_assert_cmpmem(in->data, in->len, "in\x03\r\n", 5);
    int b = attach(h, CONSOLE_MODE_READONLY);

    test_write_all(h->slave, "reboot: Power down\r\n", 20);
    g_autoptr(GByteArray) got_a = g_byte_array_new();
    g_autoptr(GByteArray) got_b = g_byte_array_new();
    if (by_path) {
        /* The kernel discards a slave's unread input when the master closes: a VMM holding the
         * master can only count on bytes the relay has already taken. */
        g_assert_true(test_read_exact(a, got_a, 20, TIMEOUT_MS));
        g_assert_true(test_read_exact(b, got_b, 20, TIMEOUT_MS));
    }
    close(h->slave); /* the VMM exits: the PTY hangs up */
    h->slave = -1;
    for (int fd = a; fd >= 0; fd = fd == a ? b : -1) {
        GByteArray *got = fd == a ? got_a : got_b;
        g_assert_true(test_read_to_eof(fd, got, TIMEOUT_MS));
        g_assert_cmpmem(got->data, got->len, "reboot: Power down\r\n", 20);
        close(fd);
    }
    int status = harness_wait_relay(h, TIMEOUT_MS);
    g_assert_true(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    g_assert_false(g_file_test(h->socket, G_FILE_TEST_EXISTS));

    g_autofree char *log_text = NULL;
    g_assert_true(g_file_get_contents(log, &log_text, NULL, NULL));
    if (!strstr(log_text, "ending: console hang-up"))
        g_error("the relay's log does not record the hang-up:\n%s", log_text);
    unlink(log);
}

static void
case_pid(void)
{
    /* The VMM process (its PTY still open elsewhere): only its death can end the relay. */
    pid_t vmm = fork();
    g_assert_cmpint(vmm, >=, 0);
    if (vmm == 0) {
        pause();
        _exit(0);
    }
    g_autofree char *pid = g_strdup_printf("%d", (int)vmm);
    const char *extra[] = {"--pid", pid, "--daemon", NULL};
    g_autoptr(Harness) h = harness_start(relay_path, extra);

    /* --daemon: the spawned process exits at once, the relay lives on. */
    int status = harness_wait_relay(h, TIMEOUT_MS);
    g_assert_true(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    int a = attach(h, CONSOLE_MODE_INTERACTIVE);
    test_write_all(h->slave, "up", 2);
    g_autoptr(GByteArray) got = g_byte_array_new();
    g_assert_true(test_read_exact(a, got, 2, TIMEOUT_MS));

    kill(vmm, SIGKILL);
    waitpid(vmm, NULL, 0);
    g_assert_true(test_read_to_eof(a, got, TIMEOUT_MS));
    g_assert_cmpmem(got->data, got->len, "up", 2);
    close(a);
    for (int i = 0; i < 500 && g_file_test(h->socket, G_FILE_TEST_EXISTS); i++)
        g_usleep(10000);
    g_assert_false(g_file_test(h->socket, G_FILE_TEST_EXISTS));
}

static void
case_burst(void)
{
    g_autoptr(Harness) h = harness_start(relay_path, NULL);
    int a = attach(h, CONSOLE_MODE_INTERACTIVE);
    Writer w = {h->slave, make_data(10 * 1024 * 1024, 3)};
    GThread *t = g_thread_new("writer", writer_run, &w);

    g_autoptr(GByteArray) got = g_byte_array_new();
    g_assert_true(test_read_exact(a, got, g_bytes_get_size(w.data), 60000));
    g_thread_join(t);
    assert_same_bytes(got, w.data, "burst viewer");
    assert_quiet(a, 200, "burst viewer");
    close(a);
    g_bytes_unref(w.data);
}

static void
case_stuck(void)
{
    g_autoptr(Harness) h = harness_start(relay_path, NULL);
    int stuck = attach(h, CONSOLE_MODE_READONLY);
    int a = attach(h, CONSOLE_MODE_INTERACTIVE);
    /* More than the stuck viewer's buffer (16 MiB by default) plus its socket buffer. */
    Writer w = {h->slave, make_data(24 * 1024 * 1024, 4)};
    GThread *t = g_thread_new("writer", writer_run, &w);

    g_autoptr(GByteArray) got = g_byte_array_new();
    g_assert_true(test_read_exact(a, got, g_bytes_get_size(w.data), 60000));
    g_thread_join(t);
    assert_same_bytes(got, w.data, "reading viewer");

    /* The stuck viewer got a prefix of the output, possibly the notice, then EOF. */
    g_autoptr(GByteArray) sgot = g_byte_array_new();
    g_assert_true(test_read_to_eof(stuck, sgot, TIMEOUT_MS));
    const guint8 *p = g_bytes_get_data(w.data, NULL);
    gsize prefix = 0;
    while (prefix < sgot->len && sgot->data[prefix] == p[prefix])
        prefix++;
    g_assert_cmpuint(prefix, <, g_bytes_get_size(w.data));
    g_assert_cmpuint(prefix, >, 0);
    g_autofree char *rest = g_strndup((char *)sgot->data + prefix, sgot->len - prefix);
    if (sgot->len > prefix && !strstr(rest, "too slow"))
        g_error("the stuck viewer got %zu unexpected bytes after its prefix", sgot->len - prefix);
    g_test_message("stuck viewer: %zu bytes then %s", prefix, rest[0] ? "notice" : "EOF");

    /* The relay carries on: input still flows and a new viewer is served. */
    test_write_all(a, "ok?", 3);
    g_autoptr(GByteArray) in = vm_input(h, 3, TIMEOUT_MS);
    g_assert_cmpmem(in->data, in->len, "ok?", 3);
    int late = attach(h, CONSOLE_MODE_READONLY);
    close(late);
    close(a);
    close(stuck);
}

static void
on_term(int signo)
{
}

static void
case_input(void)
{
    g_autoptr(Harness) h = harness_start(relay_path, NULL);
    int a = attach(h, CONSOLE_MODE_INTERACTIVE);
    /* Far more input than the PTY and the relay buffer, sent while the VM is not reading: the
     * relay must hold back (not drop) until the VM reads. */
    Writer w = {a, make_data(2 * 1024 * 1024, 5)};
    GThread *t = g_thread_new("typist", writer_run, &w);
    g_usleep(300 * 1000);

    g_autoptr(GByteArray) got = g_byte_array_new();
    g_assert_true(test_read_exact(h->slave, got, g_bytes_get_size(w.data), 60000));
    g_thread_join(t);
    assert_same_bytes(got, w.data, "VM input");
    close(a);
    g_bytes_unref(w.data);
}

/* A VMM for interactive tests: echoes what it reads, upper-cased; runs until SIGTERM. */
static void
case_echo_vm(const char *socket_link)
{
    g_autoptr(Harness) h = harness_start(relay_path, NULL);
    g_assert_cmpint(symlink(h->socket, socket_link), ==, 0);
    printf("ready\n");
    fflush(stdout);
    struct sigaction sa = {.sa_handler = on_term};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, NULL);
    for (;;) {
        struct pollfd pfd = {.fd = h->slave, .events = POLLIN};
        sigset_t empty;
        sigemptyset(&empty);
        if (ppoll(&pfd, 1, NULL, &empty) < 0 && errno == EINTR)
            break;
        guint8 buf[4096];
        ssize_t n = read(h->slave, buf, sizeof(buf));
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; i++)
            buf[i] = g_ascii_toupper(buf[i]);
        test_write_all(h->slave, buf, n);
    }
    unlink(socket_link);
}

int
main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    if (argc < 3) {
        fprintf(stderr, "usage: %s RELAY CASE [ARG]\n", argv[0]);
        return 2;
    }
    relay_path = argv[1];
    const char *name = argv[2];
    if (strcmp(name, "fanout") == 0)
        case_fanout();
    else if (strcmp(name, "scrollback") == 0)
        case_scrollback();
    else if (strcmp(name, "exclusive") == 0)
        case_exclusive();
    else if (strcmp(name, "hangup") == 0)
        case_hangup_full(false);
    else if (strcmp(name, "pty-path") == 0)
        case_hangup_full(true);
    else if (strcmp(name, "pid") == 0)
        case_pid();
    else if (strcmp(name, "burst") == 0)
        case_burst();
    else if (strcmp(name, "input") == 0)
        case_input();
    else if (strcmp(name, "stuck") == 0)
        case_stuck();
    else if (strcmp(name, "echo-vm") == 0 && argc == 4)
        case_echo_vm(argv[3]);
    else {
        fprintf(stderr, "unknown case '%s'\n", name);
        return 2;
    }
    if (strcmp(name, "echo-vm") != 0)
        printf("ok %s\n", name);
    return 0;
}
