/*
 * The backends' runtime ops against the simulators (tests/sim): launch a small definition,
 * check what reached the VMM (its command line and the request log), query, suspend, resume,
 * shut down, launch paused; and the failures: a missing kernel, a VMM that dies or never
 * opens its socket, a stale socket. After every failure neither a process nor a socket may be
 * left behind.
 *
 * Arguments: the fc-sim and ch-sim binaries.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <json-c/json.h>

#include "driver/backend.h"
#include "driver/ch/ch_lower.h"
#include "driver/fc/fc_lower.h"
#include "driver/fc/fc_paths.h"
#include "util/cv_process.h"

/* Test-only: nothing in src/ defines this cleanup yet. */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(json_object, json_object_put)

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
            return -1;                                                                             \
        }                                                                                          \
    } while (0)

#define CHECK_OK(call, errvar)                                                                     \
    do {                                                                                           \
        if ((call) < 0) {                                                                          \
            fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #call,                   \
                    (errvar) ? (errvar)->message : "(no error set)");                              \
            return -1;                                                                             \
        }                                                                                          \
    } while (0)

#define CHECK_CONTAINS(haystack, needle)                                                           \
    do {                                                                                           \
        const char *h_ = (haystack);                                                               \
        if (!h_ || !strstr(h_, (needle))) {                                                        \
            fprintf(stderr, "%s:%d: '%s' does not contain '%s'\n", __FILE__, __LINE__,             \
                    h_ ? h_ : "(null)", (needle));                                                 \
            return -1;                                                                             \
        }                                                                                          \
    } while (0)

/* One temporary world per case: kernel, disk, live directory, logs. */
typedef struct {
    const CocoonBackend *backend;
    const char *sim;
    char *dir;
    char *kernel;
    char *disk;
    char *run_dir;
    char *log;
    char *request_log;
    char *sock;
    int pty_master; /* FC: the driver's end of the console PTY */
    int pty_sub;    /* FC: given to the VMM as ctx->console_fd */
    BackendVm vm;
} World;

static void
world_free(World *w)
{
    if (!w)
        return;
    if (w->vm.pid > 0)
        cv_process_stop(w->vm.pid, w->vm.start_time, 500, 2000, NULL);
    backend_vm_clear(&w->vm);
    if (w->pty_master >= 0)
        close(w->pty_master);
    if (w->pty_sub >= 0)
        close(w->pty_sub);
    if (w->dir) {
        g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", w->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "cannot remove '%s'\n", w->dir);
    }
    g_free(w->dir);
    g_free(w->kernel);
    g_free(w->disk);
    g_free(w->run_dir);
    g_free(w->log);
    g_free(w->request_log);
    g_free(w->sock);
    g_free(w);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(World, world_free)

static bool
is_fc(const World *w)
{
    return w->backend->kind == BACKEND_FIRECRACKER;
}

static World *
world_new(const CocoonBackend *backend, const char *sim)
{
    World *w = g_new0(World, 1);
    w->backend = backend;
    w->sim = sim;
    w->pty_master = w->pty_sub = -1;
    w->dir = g_dir_make_tmp("cocoon-rt-XXXXXX", NULL);
    g_assert(w->dir);
    w->kernel = g_build_filename(w->dir, "vmlinux", NULL);
    w->disk = g_build_filename(w->dir, "root.img", NULL);
    w->run_dir = g_build_filename(w->dir, "run", NULL);
    w->log = g_build_filename(w->run_dir, "vmm.log", NULL);
    w->request_log = g_build_filename(w->dir, "requests.jsonl", NULL);
    w->sock = is_fc(w) ? fc_api_socket_path(w->run_dir) : ch_api_socket_path(w->run_dir);
    g_assert(mkdir(w->run_dir, 0700) == 0);
    g_assert(g_file_set_contents(w->kernel, "\177ELF simulated kernel", -1, NULL));
    g_assert(g_file_set_contents(w->disk, "simulated root disk", -1, NULL));
    g_setenv("COCOON_SIM_REQUEST_LOG", w->request_log, TRUE);

    if (is_fc(w)) {
        w->pty_master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        g_assert(w->pty_master >= 0);
        g_assert(grantpt(w->pty_master) == 0 && unlockpt(w->pty_master) == 0);
        w->pty_sub = open(ptsname(w->pty_master), O_RDWR | O_NOCTTY | O_CLOEXEC);
        g_assert(w->pty_sub >= 0);
    }
    return w;
}

/* A small definition for the world's backend; kernel overrides the kernel path. */
static DomainDef *
world_def(const World *w, const char *kernel)
{
    const char *console = is_fc(w)
                              ? "<serial type='pty'><target port='0'/></serial>"
                              : "<console type='pty'><target type='virtio' port='0'/></console>";
    g_autofree char *xml =
        g_strdup_printf("<domain type='kvm'>\n"
                        "  <name>rt-%s</name>\n"
                        "  <memory unit='MiB'>256</memory>\n"
                        "  <vcpu>1</vcpu>\n"
                        "  <os><type arch='x86_64'>hvm</type><kernel>%s</kernel>"
                        "<cmdline>root=/dev/vda rw</cmdline></os>\n"
                        "  <devices>\n"
                        "    <disk type='file' device='disk'><driver name='qemu' type='raw'/>"
                        "<source file='%s'/><target dev='vda' bus='virtio'/></disk>\n"
                        "    %s\n"
                        "  </devices>\n"
                        "</domain>\n",
                        is_fc(w) ? "fc" : "ch", kernel ? kernel : w->kernel, w->disk, console);
    CvError *err = NULL;
    DomainDef *def = domain_def_parse_string(xml, 0, &err);
    if (!def) {
        fprintf(stderr, "cannot parse the test definition: %s\n", err->message);
        cv_error_free(err);
    }
    return def;
}

static BackendLaunchCtx
world_ctx(const World *w, const char *binary)
{
    BackendLaunchCtx ctx = {
        .binary = binary ? binary : w->sim,
        .log_path = w->log,
        .console_fd = w->pty_sub,
        .lower = {.run_dir = w->run_dir},
    };
    return ctx;
}

/* The request log as an array of {"method","path","body","status"}; empty when absent. */
static json_object *
world_requests(const World *w)
{
    g_autofree char *text = NULL;
    json_object *all = json_object_new_array();

    if (!g_file_get_contents(w->request_log, &text, NULL, NULL))
        return all;
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    for (char **l = lines; *l; l++) {
        if (!**l)
            continue;
        json_object *obj = json_tokener_parse(*l);
        g_assert(obj);
        json_object_array_add(all, obj);
    }
    return all;
}

static const char *
req_str(json_object *req, const char *key)
{
    json_object *v = NULL;
    return json_object_object_get_ex(req, key, &v) ? json_object_get_string(v) : NULL;
}

static int
req_status(json_object *req)
{
    json_object *v = NULL;
    return json_object_object_get_ex(req, "status", &v) ? json_object_get_int(v) : 0;
}

/* The last request of the log must be `method path` answered with status. */
static int
check_last_request(const World *w, const char *method, const char *path, int status)
{
    json_object *reqs = world_requests(w);
    size_t n = json_object_array_length(reqs);
    int ok = n > 0;
    if (ok) {
        json_object *last = json_object_array_get_idx(reqs, n - 1);
        ok = g_strcmp0(req_str(last, "method"), method) == 0 &&
             g_strcmp0(req_str(last, "path"), path) == 0 && req_status(last) == status;
        if (!ok)
            fprintf(stderr, "last request: %s\n", json_object_to_json_string(last));
    }
    json_object_put(reqs);
    CHECK(ok);
    return 0;
}

/* The status the VMM answered to the first `method path` it got; -1 when none came. */
static int
request_status(const World *w, const char *method, const char *path)
{
    json_object *reqs = world_requests(w);
    int status = -1;
    for (size_t i = 0; i < json_object_array_length(reqs) && status < 0; i++) {
        json_object *r = json_object_array_get_idx(reqs, i);
        if (g_strcmp0(req_str(r, "method"), method) == 0 && g_strcmp0(req_str(r, "path"), path) == 0)
            status = req_status(r);
    }
    json_object_put(reqs);
    return status;
}

/* The command line of a live pid, as a vector. */
static GStrv
proc_cmdline(pid_t pid)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/cmdline", (int)pid);
    g_autofree char *text = NULL;
    gsize len = 0;

    if (!g_file_get_contents(path, &text, &len, NULL))
        return NULL;
    g_autoptr(GStrvBuilder) b = g_strv_builder_new();
    for (gsize off = 0; off < len; off += strlen(text + off) + 1)
        g_strv_builder_add(b, text + off);
    return g_strv_builder_end(b);
}

/* Live (non-zombie) processes whose command line mentions marker, other than ourselves. */
static int
count_processes_with(const char *marker)
{
    g_autoptr(GDir) proc = g_dir_open("/proc", 0, NULL);
    const char *name;
    int count = 0;

    while ((name = g_dir_read_name(proc))) {
        char *end = NULL;
        long pid = strtol(name, &end, 10);
        if (*end || pid <= 0 || pid == getpid() || !cv_process_alive((pid_t)pid, 0))
            continue;
        g_auto(GStrv) argv = proc_cmdline((pid_t)pid);
        for (char **a = argv; a && *a; a++) {
            if (strstr(*a, marker)) {
                fprintf(stderr, "left-over process %ld: %s\n", pid, argv[0]);
                count++;
                break;
            }
        }
    }
    return count;
}

/* Read fd until needle shows up or timeout_ms passes; the output is returned in *ret_out. */
static bool
read_until(int fd, const char *needle, int timeout_ms, char **ret_out)
{
    g_autoptr(GString) out = g_string_new(NULL);
    gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    bool found = false;

    while (!found && g_get_monotonic_time() < deadline) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, 50) <= 0)
            continue;
        char buf[512];
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n <= 0)
            break;
        g_string_append_len(out, buf, n);
        found = strstr(out->str, needle) != NULL;
    }
    *ret_out = g_string_free(g_steal_pointer(&out), FALSE);
    return found;
}

/* What reached the VMM at launch: its command line, and its requests in order. */
static int
check_launch_requests(const World *w, const DomainDef *def)
{
    CvError *err = NULL;
    g_auto(GStrv) argv = proc_cmdline(w->vm.pid);
    g_autoptr(json_object) reqs = NULL;
    CHECK(argv);
    CHECK(g_strcmp0(argv[0], w->sim) == 0);

    BackendLowerCtx lower = {.run_dir = w->run_dir};
    if (is_fc(w)) {
        g_autofree char *argv_text = g_strjoinv(" ", argv);
        g_autofree char *want = g_strdup_printf(
            "%s --api-sock %s --id rt-fc --log-path %s --level Info", w->sim, w->sock, w->log);
        CHECK(g_strcmp0(argv_text, want) == 0);

        /* The requests are the lowered plan, in order, each answered 204. */
        g_autoptr(FcCallPlan) plan = fc_lower(def, &lower, &err);
        CHECK_OK(plan ? 0 : -1, err);
        reqs = world_requests(w);
        CHECK(json_object_array_length(reqs) >= plan->ncalls);
        for (size_t i = 0; i < plan->ncalls; i++) {
            json_object *req = json_object_array_get_idx(reqs, i);
            json_object *body = NULL;
            json_object_object_get_ex(req, "body", &body);
            if (g_strcmp0(req_str(req, "method"), plan->calls[i].method) != 0 ||
                g_strcmp0(req_str(req, "path"), plan->calls[i].path) != 0 ||
                !json_object_equal(body, plan->calls[i].body) || req_status(req) != 204) {
                fprintf(stderr, "request %zu: %s\n", i, json_object_to_json_string(req));
                CHECK(!"request differs from the plan");
            }
        }
        CHECK(g_strcmp0(plan->calls[plan->ncalls - 1].path, "/actions") == 0);
    } else {
        /* The lowered command line with the binary and the log file. */
        g_auto(GStrv) lowered = ch_lower_argv(def, &lower, &err);
        CHECK_OK(lowered ? 0 : -1, err);
        guint n = g_strv_length(lowered);
        CHECK(g_strv_length(argv) == n + 2);
        for (guint i = 1; i < n; i++)
            CHECK(g_strcmp0(argv[i], lowered[i]) == 0);
        CHECK(g_strcmp0(argv[n], "--log-file") == 0 && g_strcmp0(argv[n + 1], w->log) == 0);

        /* The VM is booted from the command line: the API only saw vm.info. */
        reqs = world_requests(w);
        size_t nreqs = json_object_array_length(reqs);
        CHECK(nreqs >= 1);
        for (size_t i = 0; i < nreqs; i++) {
            json_object *req = json_object_array_get_idx(reqs, i);
            CHECK(g_strcmp0(req_str(req, "method"), "GET") == 0);
            CHECK(g_strcmp0(req_str(req, "path"), "/api/v1/vm.info") == 0);
        }
        CHECK(req_status(json_object_array_get_idx(reqs, nreqs - 1)) == 200);
    }
    return 0;
}

static int
check_state(const World *w, BackendVmState want)
{
    CvError *err = NULL;
    BackendVmState state = BACKEND_VM_LAST;
    CHECK_OK(w->backend->query(&w->vm, &state, &err), err);
    if (state != want)
        fprintf(stderr, "state %d, want %d\n", state, want);
    CHECK(state == want);
    return 0;
}

/* Launch, look at it, pause, resume, shut down through the guest. */
static int
test_lifecycle(const CocoonBackend *backend, const char *sim)
{
    g_autoptr(World) w = world_new(backend, sim);
    g_autoptr(DomainDef) def = world_def(w, NULL);
    g_autoptr(CvError) err = NULL;
    BackendLaunchCtx ctx = world_ctx(w, NULL);
    unsigned long long start_time = 0;
    g_autofree char *console = NULL;
    CHECK(def);

    CHECK_OK(backend->launch(def, &ctx, false, &w->vm, &err), err);
    CHECK(w->vm.pid > 0 && cv_process_alive(w->vm.pid, w->vm.start_time));
    CHECK(cv_process_start_time(w->vm.pid, &start_time, NULL) == 0);
    CHECK(start_time == w->vm.start_time);
    CHECK(g_strcmp0(w->vm.api_socket, w->sock) == 0);
    CHECK(g_file_test(w->log, G_FILE_TEST_IS_REGULAR));
    if (check_launch_requests(w, def) < 0)
        return -1;

    /* The guest console: FC on the PTY given as stdin/stdout, CH on the PTY from vm.info. */
    if (is_fc(w)) {
        CHECK(w->vm.console_path == NULL);
        CHECK(read_until(w->pty_master, "login:", 5000, &console));
    } else {
        CHECK(w->vm.console_path && g_str_has_prefix(w->vm.console_path, "/dev/pts/"));
        int fd = open(w->vm.console_path, O_RDWR | O_NOCTTY | O_CLOEXEC);
        CHECK(fd >= 0);
        struct termios tio;
        if (tcgetattr(fd, &tio) == 0) {
            cfmakeraw(&tio);
            tcsetattr(fd, TCSANOW, &tio);
        }
        bool seen = read_until(fd, "login:", 5000, &console);
        close(fd);
        CHECK(seen);
    }

    if (check_state(w, BACKEND_VM_RUNNING) < 0)
        return -1;
    CHECK_OK(backend->suspend(&w->vm, &err), err);
    if (check_last_request(w, is_fc(w) ? "PATCH" : "PUT", is_fc(w) ? "/vm" : "/api/v1/vm.pause",
                           204) < 0)
        return -1;
    if (check_state(w, BACKEND_VM_PAUSED) < 0)
        return -1;
    if (is_fc(w)) {
        /* FC's pause is idempotent; CH refuses a second one in its own words. */
        CHECK_OK(backend->suspend(&w->vm, &err), err);
    } else {
        CHECK(backend->suspend(&w->vm, &err) < 0);
        CHECK(err->code == VIR_ERR_OPERATION_FAILED);
        CHECK_CONTAINS(err->message, "vm.pause: 500: ");
        CHECK(strlen(strstr(err->message, "vm.pause: 500: ")) > strlen("vm.pause: 500: "));
        g_clear_pointer(&err, cv_error_free);
    }
    CHECK_OK(backend->resume(&w->vm, &err), err);
    if (check_state(w, BACKEND_VM_RUNNING) < 0)
        return -1;

    if (backend->reboot) {
        CHECK_OK(backend->reboot(&w->vm, &err), err);
        if (check_last_request(w, "PUT", "/api/v1/vm.reboot", 204) < 0)
            return -1;
        CHECK(cv_process_alive(w->vm.pid, w->vm.start_time));
        if (check_state(w, BACKEND_VM_RUNNING) < 0)
            return -1;
    }

    /* The guest honours the request and the VMM process ends. */
    CHECK_OK(backend->shutdown(&w->vm, &err), err);
    if (is_fc(w)) {
        if (check_last_request(w, "PUT", "/actions", 204) < 0)
            return -1;
    } else if (check_last_request(w, "PUT", "/api/v1/vm.power-button", 204) < 0) {
        return -1;
    }
    CHECK(cv_process_wait_exit(w->vm.pid, w->vm.start_time, 10000));
    CHECK(count_processes_with(w->dir) == 0);

    /* A gone VMM is an error, not a state. */
    CHECK(backend->query(&w->vm, &(BackendVmState){0}, &err) < 0);
    CHECK(err->message && *err->message);
    return 0;
}

/* Launched paused: the guest never runs until resumed. */
static int
test_paused(const CocoonBackend *backend, const char *sim)
{
    g_autoptr(World) w = world_new(backend, sim);
    g_autoptr(DomainDef) def = world_def(w, NULL);
    g_autoptr(CvError) err = NULL;
    BackendLaunchCtx ctx = world_ctx(w, NULL);
    CHECK(def);

    CHECK_OK(backend->launch(def, &ctx, true, &w->vm, &err), err);
    if (is_fc(w)) {
        if (check_last_request(w, "PATCH", "/vm", 204) < 0)
            return -1;
    } else if (check_last_request(w, "PUT", "/api/v1/vm.pause", 204) < 0) {
        return -1;
    }
    if (check_state(w, BACKEND_VM_PAUSED) < 0)
        return -1;
    CHECK_OK(backend->resume(&w->vm, &err), err);
    if (check_state(w, BACKEND_VM_RUNNING) < 0)
        return -1;

    CHECK_OK(cv_process_stop(w->vm.pid, w->vm.start_time, 2000, 2000, &err), err);
    CHECK(!cv_process_alive(w->vm.pid, w->vm.start_time));
    CHECK(count_processes_with(w->dir) == 0);
    return 0;
}

/* After a failed launch: an error, no process, no socket, and ret_vm untouched. */
static int
check_failed_launch(World *w, const DomainDef *def, const BackendLaunchCtx *ctx, CvError **err)
{
    CHECK(w->backend->launch(def, ctx, false, &w->vm, err) < 0);
    CHECK(*err && (*err)->message);
    CHECK(w->vm.pid == 0 && w->vm.api_socket == NULL);
    CHECK(!g_file_test(w->sock, G_FILE_TEST_EXISTS));
    CHECK(count_processes_with(w->dir) == 0);
    return 0;
}

/* The kernel file is missing: the VMM's own refusal reaches the caller. */
static int
test_missing_kernel(const CocoonBackend *backend, const char *sim)
{
    g_autoptr(World) w = world_new(backend, sim);
    g_autofree char *missing = g_build_filename(w->dir, "no-such-vmlinux", NULL);
    g_autoptr(DomainDef) def = world_def(w, missing);
    g_autoptr(CvError) err = NULL;
    BackendLaunchCtx ctx = world_ctx(w, NULL);
    CHECK(def);

    if (check_failed_launch(w, def, &ctx, &err) < 0)
        return -1;
    fprintf(stderr, "  %s missing kernel: %s\n", backend->name, err->message);
    CHECK(err->code == VIR_ERR_OPERATION_FAILED);
    if (is_fc(w)) {
        /* FC's own words (NOTES.md §1.4), which do not name the file */
        CHECK_CONTAINS(err->message, "PUT /boot-source: 400: Boot source error: ");
        /* the configuration goes in one pipelined batch: the refused call is in it, and the
         * VM it configured was never started */
        CHECK(request_status(w, "PUT", "/boot-source") == 400);
        CHECK(request_status(w, "PUT", "/actions") == -1);
    } else {
        /* CH boots from its command line and exits on a boot error: its last log line, which
         * names the kernel, is the error */
        g_autofree char *log = NULL;
        CHECK(g_file_get_contents(w->log, &log, NULL, NULL));
        g_strchomp(log);
        const char *last = strrchr(log, '\n') ? strrchr(log, '\n') + 1 : log;
        CHECK(*last);
        CHECK_CONTAINS(err->message, "exited while starting: ");
        CHECK_CONTAINS(err->message, last);
        CHECK_CONTAINS(err->message, "kernel");
    }
    return 0;
}

/* Writes an executable shell script into the world's directory. */
static char *
world_script(const World *w, const char *name, const char *body)
{
    char *path = g_build_filename(w->dir, name, NULL);
    g_autofree char *text = g_strdup_printf("#!/bin/sh\n%s\n", body);
    g_assert(g_file_set_contents(path, text, -1, NULL));
    g_assert(chmod(path, 0755) == 0);
    return path;
}

/* The VMM exits at once: its last words (on stderr, into the log) are the error. */
static int
test_dies_early(const CocoonBackend *backend, const char *sim)
{
    g_autoptr(World) w = world_new(backend, sim);
    g_autoptr(DomainDef) def = world_def(w, NULL);
    g_autoptr(CvError) err = NULL;
    CHECK(def);

    g_autofree char *script = world_script(w, "dying-vmm",
                                           "echo 'simulated start-up failure: no KVM' >&2\n"
                                           "exit 1");
    BackendLaunchCtx ctx = world_ctx(w, script);
    if (check_failed_launch(w, def, &ctx, &err) < 0)
        return -1;
    CHECK(err->code == VIR_ERR_OPERATION_FAILED);
    CHECK_CONTAINS(err->message, "exited while starting");
    CHECK_CONTAINS(err->message, "simulated start-up failure: no KVM");
    g_clear_pointer(&err, cv_error_free);

    /* /bin/false says nothing: the error still says what happened */
    ctx = world_ctx(w, "/bin/false");
    if (check_failed_launch(w, def, &ctx, &err) < 0)
        return -1;
    CHECK_CONTAINS(err->message, "exited while starting");
    g_clear_pointer(&err, cv_error_free);

    /* not executable at all */
    g_autofree char *nowhere = g_build_filename(w->dir, "no-such-binary", NULL);
    ctx = world_ctx(w, nowhere);
    if (check_failed_launch(w, def, &ctx, &err) < 0)
        return -1;
    CHECK(err->code == VIR_ERR_SYSTEM_ERROR && err->sys_errno == ENOENT);
    CHECK_CONTAINS(err->message, nowhere);
    return 0;
}

/* The VMM never opens its socket: a timeout, and the process is killed. */
static int
test_socket_timeout(const CocoonBackend *backend, const char *sim)
{
    g_autoptr(World) w = world_new(backend, sim);
    g_autoptr(DomainDef) def = world_def(w, NULL);
    g_autoptr(CvError) err = NULL;
    CHECK(def);

    g_autofree char *script = world_script(w, "silent-vmm", "while :; do sleep 1; done");
    BackendLaunchCtx ctx = world_ctx(w, script);
    g_setenv("COCOON_START_TIMEOUT_MS", "700", TRUE);
    gint64 t0 = g_get_monotonic_time();
    int rc = check_failed_launch(w, def, &ctx, &err);
    gint64 elapsed_ms = (g_get_monotonic_time() - t0) / 1000;
    g_unsetenv("COCOON_START_TIMEOUT_MS");
    if (rc < 0)
        return -1;
    CHECK(err->code == VIR_ERR_OPERATION_TIMEOUT);
    CHECK_CONTAINS(err->message, w->sock);
    CHECK(elapsed_ms >= 700 && elapsed_ms < 5000);
    return 0;
}

/* A socket file left by a dead VMM does not stop the next launch. */
static int
test_stale_socket(const CocoonBackend *backend, const char *sim)
{
    g_autoptr(World) w = world_new(backend, sim);
    g_autoptr(DomainDef) def = world_def(w, NULL);
    g_autoptr(CvError) err = NULL;
    BackendLaunchCtx ctx = world_ctx(w, NULL);
    CHECK(def);

    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    CHECK(strlen(w->sock) < sizeof(addr.sun_path));
    strcpy(addr.sun_path, w->sock);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(fd >= 0);
    CHECK(bind(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0);
    close(fd); /* bound, never listening, now orphaned: a dead VMM's socket */
    CHECK(g_file_test(w->sock, G_FILE_TEST_EXISTS));

    CHECK_OK(backend->launch(def, &ctx, false, &w->vm, &err), err);
    if (check_state(w, BACKEND_VM_RUNNING) < 0)
        return -1;
    CHECK_OK(cv_process_stop(w->vm.pid, w->vm.start_time, 2000, 2000, &err), err);
    CHECK(count_processes_with(w->dir) == 0);
    return 0;
}

typedef int (*TestFn)(const CocoonBackend *backend, const char *sim);

int
main(int argc, char **argv)
{
    static const struct {
        const char *name;
        TestFn fn;
    } tests[] = {
        {"lifecycle", test_lifecycle},           {"paused", test_paused},
        {"missing-kernel", test_missing_kernel}, {"dies-early", test_dies_early},
        {"socket-timeout", test_socket_timeout}, {"stale-socket", test_stale_socket},
    };
    const struct {
        const CocoonBackend *backend;
        const char *sim;
    } backends[] = {
        {&fc_backend, argc > 1 ? argv[1] : NULL},
        {&ch_backend, argc > 2 ? argv[2] : NULL},
    };
    int failed = 0;

    for (size_t b = 0; b < G_N_ELEMENTS(backends); b++) {
        const char *sim = backends[b].sim;
        if (!sim || !g_file_test(sim, G_FILE_TEST_IS_EXECUTABLE)) {
            fprintf(stderr, "FAIL: no %s simulator at '%s'\n", backends[b].backend->name,
                    sim ? sim : "");
            failed++;
            continue;
        }
        for (size_t t = 0; t < G_N_ELEMENTS(tests); t++) {
            int rc = tests[t].fn(backends[b].backend, sim);
            fprintf(stderr, "%s: %s %s\n", rc == 0 ? "ok" : "FAIL", backends[b].backend->name,
                    tests[t].name);
            if (rc != 0)
                failed++;
        }
    }
    return failed ? 1 : 0;
}
