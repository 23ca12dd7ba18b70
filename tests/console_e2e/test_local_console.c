/*
 * The local driver's console plumbing (driver/local_console.h) with the real relay binary: a
 * forked child stands in for the VMM on the PTY (Firecracker: the slave is its stdin/stdout;
 * Cloud Hypervisor: it holds the master and the relay opens the slave by path).
 *
 * usage: test_local_console CASE   (the relay is found the way the driver finds it)
 */
#include "console/console_proto.h"
#include "console/cv_pty.h"
#include "driver/local_console.h"
#include "util/cv_process.h"

#include <errno.h>
#include <fcntl.h>
#include <libvirt/libvirt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define BOOT_LINE "[    0.000000] Linux version 6.1 (fake vmm)\r\n"

typedef struct {
    char *dir;
    pid_t vmm;
    pid_t relay;
} Vm;

/* The stand-in VMM: prints a boot line, then echoes every byte it reads, upper-cased. */
static void
vmm_main(int fd)
{
    char buf[4096];
    if (write(fd, BOOT_LINE, strlen(BOOT_LINE)) < 0)
        _exit(1);
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            _exit(0);
        for (ssize_t i = 0; i < n; i++)
            buf[i] = g_ascii_toupper(buf[i]);
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(fd, buf + off, n - off);
            if (w <= 0)
                _exit(1);
            off += w;
        }
    }
}

static void
vm_start(Vm *vm, bool by_path)
{
    g_autoptr(CvError) err = NULL;
    int master = -1, slave = -1;
    g_autofree char *slave_path = NULL;

    vm->dir = g_dir_make_tmp("cocoon-lc-XXXXXX", NULL);
    g_assert_nonnull(vm->dir);
    if (by_path) /* as CH does, the VMM keeps the slave open too, so the master never hangs up */
        g_assert_cmpint(cv_pty_open(&master, &slave_path, &slave, &err), ==, 0);
    else
        g_assert_cmpint(local_console_pty_open(&master, &slave, &err), ==, 0);
    g_assert_true(fcntl(master, F_GETFD) & FD_CLOEXEC);

    vm->vmm = fork();
    g_assert_cmpint(vm->vmm, >=, 0);
    if (vm->vmm == 0)
        vmm_main(by_path ? master : slave);

    int rc;
    if (by_path) {
        /* CH: the VMM keeps the master; the relay opens the slave it reported */
        close(master);
        close(slave);
        rc = local_console_relay_start(vm->dir, -1, slave_path, vm->vmm, &vm->relay, &err);
    } else {
        /* FC: the VMM keeps the slave, the relay gets the master */
        close(slave);
        rc = local_console_relay_start(vm->dir, master, NULL, vm->vmm, &vm->relay, &err);
        close(master);
    }
    if (rc < 0)
        g_error("relay start: %s", err->message);
    g_assert_cmpint(vm->relay, >, 0);
    g_assert_cmpint(vm->relay, !=, vm->vmm);
    g_assert_true(cv_process_alive(vm->relay, 0));
}

static void
vm_stop(Vm *vm)
{
    if (vm->vmm > 0) {
        kill(vm->vmm, SIGKILL);
        waitpid(vm->vmm, NULL, 0);
    }
    if (vm->relay > 0 && cv_process_alive(vm->relay, 0))
        kill(vm->relay, SIGTERM);
    if (vm->dir) {
        g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", vm->dir);
        g_assert_cmpint(system(cmd), ==, 0);
    }
    g_free(vm->dir);
}

static CocoonStream *
open_stream(Vm *vm, unsigned int flags, unsigned int stream_flags)
{
    g_autoptr(CvError) err = NULL;
    CocoonStream *st = cocoon_stream_new(stream_flags);
    if (local_console_open(vm->dir, flags, st, &err) < 0)
        g_error("open console: %s", err->message);
    return st;
}

/* Read from st until out contains want (or timeout); true when it does. */
static bool
stream_expect(CocoonStream *st, GString *out, const char *want, int timeout_ms)
{
    gint64 end = g_get_monotonic_time() + timeout_ms * 1000LL;
    while (!strstr(out->str, want)) {
        struct pollfd pfd = {.fd = cocoon_stream_get_fd(st), .events = POLLIN};
        int left = (int)((end - g_get_monotonic_time()) / 1000);
        if (left <= 0 || poll(&pfd, 1, left) <= 0)
            return false;
        char buf[4096];
        g_autoptr(CvError) err = NULL;
        ssize_t n = cocoon_stream_recv(st, buf, sizeof(buf), &err);
        if (n == -2)
            continue;
        if (n <= 0)
            return false;
        g_string_append_len(out, buf, n);
    }
    return true;
}

/* Read until end of stream; true when it came in time. */
static bool
stream_expect_eof(CocoonStream *st, GString *out, int timeout_ms)
{
    gint64 end = g_get_monotonic_time() + timeout_ms * 1000LL;
    for (;;) {
        struct pollfd pfd = {.fd = cocoon_stream_get_fd(st), .events = POLLIN};
        int left = (int)((end - g_get_monotonic_time()) / 1000);
        if (left <= 0 || poll(&pfd, 1, left) <= 0)
            return false;
        char buf[4096];
        g_autoptr(CvError) err = NULL;
        ssize_t n = cocoon_stream_recv(st, buf, sizeof(buf), &err);
        if (n == 0)
            return true;
        if (n == -1)
            return false;
        if (n > 0)
            g_string_append_len(out, buf, n);
    }
}

static void
stream_send_str(CocoonStream *st, const char *s)
{
    g_autoptr(CvError) err = NULL;
    g_assert_cmpint(cocoon_stream_send(st, s, strlen(s), &err), ==, (ssize_t)strlen(s));
}

static bool
wait_gone(pid_t pid, int timeout_ms)
{
    return cv_process_wait_exit(pid, 0, timeout_ms);
}

/* Both directions, scrollback, and the relay ending with the VM. */
static void
case_roundtrip(bool by_path)
{
    Vm vm = {0};
    vm_start(&vm, by_path);

    g_autoptr(CocoonStream) st = open_stream(&vm, 0, 0);
    g_autoptr(GString) out = g_string_new(NULL);
    g_assert_true(stream_expect(st, out, BOOT_LINE, 5000)); /* scrollback */
    stream_send_str(st, "hello guest");
    g_assert_true(stream_expect(st, out, "HELLO GUEST", 5000));

    /* The VM dies: the viewer sees the end, the relay exits and removes its socket. */
    kill(vm.vmm, SIGKILL);
    waitpid(vm.vmm, NULL, 0);
    vm.vmm = -1;
    g_assert_true(stream_expect_eof(st, out, 5000));
    g_assert_true(wait_gone(vm.relay, 5000));
    g_autofree char *sock = local_console_socket_path(vm.dir);
    g_assert_false(g_file_test(sock, G_FILE_TEST_EXISTS));

    /* Nothing listens any more. */
    g_autoptr(CvError) err = NULL;
    g_autoptr(CocoonStream) late = cocoon_stream_new(0);
    g_assert_cmpint(local_console_open(vm.dir, 0, late, &err), ==, -1);
    g_assert_cmpint(err->code, ==, VIR_ERR_OPERATION_INVALID);
    vm_stop(&vm);
}

/* Interactive is exclusive, force takes over, safe wants to be alone, read-only watches. */
static void
case_modes(void)
{
    Vm vm = {0};
    vm_start(&vm, false);
    g_autoptr(CvError) err = NULL;

    g_autoptr(CocoonStream) first = open_stream(&vm, 0, 0);
    g_autoptr(GString) first_out = g_string_new(NULL);
    g_assert_true(stream_expect(first, first_out, BOOT_LINE, 5000));

    /* a second interactive session is refused with the relay's words */
    g_autoptr(CocoonStream) second = cocoon_stream_new(0);
    g_assert_cmpint(local_console_open(vm.dir, 0, second, &err), ==, -1);
    g_assert_cmpint(err->code, ==, VIR_ERR_OPERATION_FAILED);
    g_assert_nonnull(strstr(err->message, "active console session exists"));
    g_clear_pointer(&err, cv_error_free);

    /* safe is refused while anyone else is attached */
    g_assert_cmpint(local_console_open(vm.dir, VIR_DOMAIN_CONSOLE_SAFE, second, &err), ==, -1);
    g_assert_cmpint(err->code, ==, VIR_ERR_OPERATION_FAILED);
    g_clear_pointer(&err, cv_error_free);

    /* a read-only viewer (the relay protocol directly) sees output, its input is dropped */
    g_autofree char *sock = local_console_socket_path(vm.dir);
    int ro = -1;
    g_assert_cmpint(console_client_attach(sock, CONSOLE_MODE_READONLY, &ro, &err), ==, 0);

    /* force takes over: the first viewer is disconnected, the new one types */
    g_autoptr(CocoonStream) forced = open_stream(&vm, VIR_DOMAIN_CONSOLE_FORCE, 0);
    g_assert_true(stream_expect_eof(first, first_out, 5000));
    g_assert_cmpint(write(ro, "ignored", 7), ==, 7);
    stream_send_str(forced, "from forced");
    g_autoptr(GString) forced_out = g_string_new(NULL);
    g_assert_true(stream_expect(forced, forced_out, "FROM FORCED", 5000));
    g_assert_null(strstr(forced_out->str, "IGNORED"));

    GString *ro_out = g_string_new(NULL);
    gint64 end = g_get_monotonic_time() + 5000000;
    while (!strstr(ro_out->str, "FROM FORCED") && g_get_monotonic_time() < end) {
        char buf[1024];
        struct pollfd pfd = {.fd = ro, .events = POLLIN};
        if (poll(&pfd, 1, 100) == 1) {
            ssize_t n = read(ro, buf, sizeof(buf));
            g_assert_cmpint(n, >, 0);
            g_string_append_len(ro_out, buf, n);
        }
    }
    g_assert_nonnull(strstr(ro_out->str, "FROM FORCED"));
    g_assert_null(strstr(ro_out->str, "IGNORED"));
    g_string_free(ro_out, TRUE);
    close(ro);

    /* finish ends the session: interactive is free again, and safe works when alone */
    g_assert_cmpint(cocoon_stream_finish(forced, &err), ==, 0);
    g_autoptr(CocoonStream) safe = NULL;
    for (int i = 0; i < 50 && !safe; i++) {
        g_autoptr(CocoonStream) s = cocoon_stream_new(0);
        g_clear_pointer(&err, cv_error_free);
        if (local_console_open(vm.dir, VIR_DOMAIN_CONSOLE_SAFE, s, &err) == 0)
            safe = g_steal_pointer(&s);
        else
            g_usleep(20000); /* the relay notices the closed viewer on its next loop */
    }
    g_assert_nonnull(safe);
    /* while safe holds it, even a read-only viewer is refused */
    g_clear_pointer(&err, cv_error_free);
    g_assert_cmpint(console_client_attach(sock, CONSOLE_MODE_READONLY, &ro, &err), ==, -1);
    g_clear_pointer(&err, cv_error_free);

    /* flags the driver does not know */
    g_autoptr(CocoonStream) bad = cocoon_stream_new(0);
    g_assert_cmpint(local_console_open(vm.dir, 0x100, bad, &err), ==, -1);
    g_assert_cmpint(err->code, ==, VIR_ERR_INVALID_ARG);
    vm_stop(&vm);
}

/* A non-blocking stream answers -2 when nothing is there. */
static void
case_nonblock(void)
{
    Vm vm = {0};
    vm_start(&vm, false);
    g_autoptr(CvError) err = NULL;
    g_autoptr(CocoonStream) st = open_stream(&vm, 0, VIR_STREAM_NONBLOCK);
    g_autoptr(GString) out = g_string_new(NULL);
    g_assert_true(stream_expect(st, out, BOOT_LINE, 5000));
    char buf[64];
    g_assert_cmpint(cocoon_stream_recv(st, buf, sizeof(buf), &err), ==, -2);
    g_assert_null(err);
    stream_send_str(st, "xyz");
    g_assert_true(stream_expect(st, out, "XYZ", 5000));
    g_assert_cmpint(cocoon_stream_abort(st, &err), ==, 0);
    /* after the end, the stream answers with an error, not a crash */
    g_assert_cmpint(cocoon_stream_recv(st, buf, sizeof(buf), &err), ==, -1);
    g_assert_nonnull(err);
    vm_stop(&vm);
}

/* The relay cannot start: its own message comes back and nothing is left running. */
static void
case_fail(void)
{
    g_autoptr(CvError) err = NULL;
    g_autofree char *dir = g_dir_make_tmp("cocoon-lc-XXXXXX", NULL);
    pid_t pid = 0;
    g_assert_cmpint(local_console_relay_start(dir, -1, "/dev/pts/no-such-pty", 0, &pid, &err), ==,
                    -1);
    g_assert_cmpint(pid, ==, 0);
    g_assert_nonnull(strstr(err->message, "/dev/pts/no-such-pty"));
    g_autofree char *sock = local_console_socket_path(dir);
    g_assert_false(g_file_test(sock, G_FILE_TEST_EXISTS));
    g_clear_pointer(&err, cv_error_free);

    /* neither a master nor a path */
    g_assert_cmpint(local_console_relay_start(dir, -1, NULL, 0, &pid, &err), ==, -1);
    g_clear_pointer(&err, cv_error_free);

    /* an override that is not a program */
    g_setenv("COCOON_CONSOLE_RELAY", "/nonexistent/relay", TRUE);
    g_assert_cmpint(local_console_relay_start(dir, -1, "/dev/null", 0, &pid, &err), ==, -1);
    g_assert_nonnull(strstr(err->message, "COCOON_CONSOLE_RELAY"));
    g_unsetenv("COCOON_CONSOLE_RELAY");
    g_autofree char *rm = g_strdup_printf("rm -rf '%s'", dir);
    g_assert_cmpint(system(rm), ==, 0);
}

int
main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s roundtrip-fc|roundtrip-ch|modes|nonblock|fail\n", argv[0]);
        return 2;
    }
    /* the relay is located next to this program (the build tree), as the driver does */
    g_unsetenv("COCOON_CONSOLE_RELAY");
    signal(SIGPIPE, SIG_IGN);
    if (g_str_equal(argv[1], "roundtrip-fc"))
        case_roundtrip(false);
    else if (g_str_equal(argv[1], "roundtrip-ch"))
        case_roundtrip(true);
    else if (g_str_equal(argv[1], "modes"))
        case_modes();
    else if (g_str_equal(argv[1], "nonblock"))
        case_nonblock();
    else if (g_str_equal(argv[1], "fail"))
        case_fail();
    else
        return 2;
    return 0;
}
