#include "ch_process.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ch_api.h"
#include "ch_clone.h"
#include "ch_lower.h"
#include "driver/backend_common.h"
#include "ch_snapshot.h"
#include "util/cv_process.h"

/* How long a VMM that failed to start gets to go on SIGTERM before SIGKILL. */
#define CH_STOP_TERM_MS 1000
#define CH_STOP_KILL_MS 5000
/* How long a failed start may take to exit before its error is taken as final. */
#define CH_EXIT_GRACE_MS 500
#define CH_POLL_MIN_US 500
#define CH_POLL_MAX_US 50000
/* A boot is looked at every CH_POLL_EARLY_US for its first CH_POLL_EARLY_FOR_US, when most
 * are done (the test guest's takes ~10-30 ms); a doubling delay from the start would often
 * see it up to twice as late. */
#define CH_POLL_EARLY_US 1000
#define CH_POLL_EARLY_FOR_US 200000

/* CH's event monitor: a FIFO in the live directory that the VMM's waiter reads. */
#define CH_EVENTS_FILE "ch-events"
/* What CH logs when a vCPU fails: the VMM then exits 0, as after a guest power-off. */
#define CH_VCPU_ERROR "VCPU generated error"
/* What CH logs before it resets a guest that triple-faulted, in place, as for a reboot. */
#define CH_TRIPLE_FAULT "Guest likely triple-faulted"

/* Undo a launch that failed: no process, no socket (nor the lock file CH keeps next to it),
 * no event FIFO. */
static void
ch_process_abort(pid_t pid, unsigned long long start_time, const char *sock, const char *events)
{
    g_autofree char *lock = g_strconcat(sock, ".lock", NULL);

    if (pid > 0)
        cv_process_stop(pid, start_time, CH_STOP_TERM_MS, CH_STOP_KILL_MS, NULL);
    unlink(sock);
    unlink(lock);
    if (events)
        unlink(events);
}

/* A failure while starting: when the VMM is gone, its last log lines say more than the
 * transport error, so they replace it. */
static void
ch_process_explain_exit(pid_t pid, unsigned long long start_time, const BackendLaunchCtx *ctx,
                        CvError **err)
{
    /* A VMM on its way out may already have dropped the connection: give it a moment. */
    if (!cv_process_wait_exit(pid, start_time, CH_EXIT_GRACE_MS))
        return;
    if (err)
        g_clear_pointer(err, cv_error_free);
    cv_process_set_exit_error(err, ctx->binary, ctx->log_path);
}

/* vm.info's "state" member, or NULL. */
static const char *
ch_process_info_state(json_object *info)
{
    json_object *state = NULL;

    if (!json_object_object_get_ex(info, "state", &state) ||
        !json_object_is_type(state, json_type_string))
        return NULL;
    return json_object_get_string(state);
}

/*
 * CH creates and boots the VM from its command line while its API already answers, so vm.info
 * may say "not created" (404) or "Created" for a moment. Wait for Running/Paused, the process
 * to exit, or the time to run out. Returns 0 with *ret_info.
 */
static int
ch_process_wait_booted(const char *sock, pid_t pid, unsigned long long start_time,
                       unsigned int timeout_ms, json_object **ret_info, CvError **err)
{
    gint64 now = g_get_monotonic_time();
    gint64 deadline = now + (gint64)timeout_ms * 1000;
    gint64 early_until = now + CH_POLL_EARLY_FOR_US;
    gulong delay = CH_POLL_MIN_US;

    for (;;) {
        g_autoptr(CvError) info_err = NULL;
        json_object *info = NULL;
        long status = 0;
        const char *state = "not created";

        if (ch_api_vm_info(sock, &info, &status, &info_err) == 0) {
            state = ch_process_info_state(info);
            if (g_strcmp0(state, "Running") == 0 || g_strcmp0(state, "Paused") == 0) {
                *ret_info = info;
                return 0;
            }
            if (g_strcmp0(state, "Created") != 0) {
                cv_error_set(err, VIR_FROM_CH, VIR_ERR_OPERATION_FAILED,
                             "vm.info: unexpected state '%s'", state ? state : "");
                json_object_put(info);
                return -1;
            }
            json_object_put(info);
            state = "Created";
        } else if (status != 404) {
            /* refused for another reason, or no reply (the process may have died) */
            if (err)
                *err = g_steal_pointer(&info_err);
            return -1;
        }
        cv_process_reap(pid);
        if (!cv_process_alive(pid, start_time)) {
            cv_error_set(err, VIR_FROM_CH, VIR_ERR_OPERATION_FAILED,
                         "process %d exited before the VM booted", (int)pid);
            return -1;
        }
        if (g_get_monotonic_time() >= deadline) {
            cv_error_set(err, VIR_FROM_CH, VIR_ERR_OPERATION_TIMEOUT,
                         "the VM did not boot within %u ms: vm.info says '%s'", timeout_ms, state);
            return -1;
        }
        if (g_get_monotonic_time() < early_until) {
            g_usleep(MIN(delay, CH_POLL_EARLY_US));
            delay = MIN(delay * 2, CH_POLL_EARLY_US);
        } else {
            g_usleep(delay);
            delay = MIN(delay * 2, CH_POLL_MAX_US);
        }
    }
}

/* The PTY of config.<device> when its mode is Pty, else NULL. */
static const char *
ch_process_pty_of(json_object *config, const char *device)
{
    json_object *dev = NULL, *mode = NULL, *file = NULL;

    if (!json_object_object_get_ex(config, device, &dev) ||
        !json_object_object_get_ex(dev, "mode", &mode) ||
        g_strcmp0(json_object_get_string(mode), "Pty") != 0 ||
        !json_object_object_get_ex(dev, "file", &file) ||
        !json_object_is_type(file, json_type_string))
        return NULL;
    return json_object_get_string(file);
}

/*
 * The PTY `virsh console` attaches to: the virtio-console when the first <console> is one
 * (the lowering puts console=hvc0 on the command line then), else the serial port; the other
 * one when the preferred one has no PTY.
 */
static char *
ch_process_console_path(const DomainDef *def, json_object *info)
{
    json_object *config = NULL;
    bool virtio = def->nconsoles > 0 && def->consoles[0]->target_type == DOMAIN_CHR_TARGET_VIRTIO;

    if (!json_object_object_get_ex(info, "config", &config))
        return NULL;
    const char *first = ch_process_pty_of(config, virtio ? "console" : "serial");
    const char *second = ch_process_pty_of(config, virtio ? "serial" : "console");
    return g_strdup(first ? first : second);
}

/* The lowered command line with the binary to run, the log file and the event monitor. */
static GStrv
ch_process_argv(const DomainDef *def, const BackendLaunchCtx *ctx, const char *events,
                CvError **err)
{
    g_autoptr(GStrvBuilder) builder = g_strv_builder_new();
    g_strv_builder_add(builder, ctx->binary);
    if (ctx->restore) {
        /* a restore needs a VMM that holds no VM: nothing but its API socket */
        g_autofree char *sock = ch_api_socket_path(ctx->lower.run_dir);
        g_autofree char *api = g_strconcat("path=", sock, NULL);
        g_strv_builder_add_many(builder, "--api-socket", api, NULL);
    } else {
        g_auto(GStrv) lowered = ch_lower_argv(def, &ctx->lower, err);
        if (!lowered)
            return NULL;
        for (size_t i = 1; lowered[i]; i++)
            g_strv_builder_add(builder, lowered[i]);
    }
    g_strv_builder_add_many(builder, "--log-file", ctx->log_path, NULL);
    /* CH waits for a reader to open the FIFO: the waiter, when there is one */
    if (events) {
        g_autofree char *monitor = g_strconcat("path=", events, NULL);
        g_strv_builder_add_many(builder, "--event-monitor", monitor, NULL);
    }
    return g_strv_builder_end(builder);
}

/*
 * The driver's waiter options, and CH's event FIFO for the waiter to read: CH resets a guest
 * that reboots, or triple-faults, inside its process and says so only there (and in its log,
 * for the triple fault), so the waiter applies on_reboot or on_crash (destroy: stop the VMM)
 * and notes every reset.
 */
static GStrv
ch_process_waiter_opts(const DomainDef *def, const BackendLaunchCtx *ctx, const char *events)
{
    g_autoptr(GStrvBuilder) builder = g_strv_builder_new();
    for (size_t i = 0; ctx->waiter_opts && ctx->waiter_opts[i]; i++)
        g_strv_builder_add(builder, ctx->waiter_opts[i]);
    /* libvirt's defaults: restart on reboot, destroy on crash */
    bool reboot_destroy = def->on_reboot == DOMAIN_LIFECYCLE_ACTION_DESTROY;
    bool crash_restart = def->on_crash == DOMAIN_LIFECYCLE_ACTION_RESTART;
    if (events)
        g_strv_builder_add_many(builder, "--ch-events", events, "--on-reboot",
                                reboot_destroy ? "destroy" : "restart", "--log", ctx->log_path,
                                "--crash-marker", CH_TRIPLE_FAULT, "--on-crash",
                                crash_restart ? "restart" : "destroy", NULL);
    return g_strv_builder_end(builder);
}

/* A fresh FIFO at path. */
static int
ch_process_make_fifo(const char *path, CvError **err)
{
    if ((unlink(path) < 0 && errno != ENOENT) || mkfifo(path, 0600) < 0) {
        cv_error_set_errno(err, VIR_FROM_CH, errno, "cannot create the event FIFO '%s'", path);
        return -1;
    }
    return 0;
}

int
ch_process_launch(const DomainDef *def, const BackendLaunchCtx *ctx, bool paused, BackendVm *ret_vm,
                  CvError **err)
{
    g_autofree char *events =
        ctx->exit_path ? g_build_filename(ctx->lower.run_dir, CH_EVENTS_FILE, NULL) : NULL;
    g_auto(GStrv) argv = ch_process_argv(def, ctx, events, err);
    if (!argv)
        return -1;
    g_auto(GStrv) waiter_opts = ch_process_waiter_opts(def, ctx, events);

    g_autofree char *sock = ch_api_socket_path(ctx->lower.run_dir);
    json_object *info = NULL;
    unsigned int timeout_ms = cv_process_start_timeout_ms();
    unsigned long long start_time = 0;
    pid_t pid = 0;

    if (unlink(sock) < 0 && errno != ENOENT) {
        cv_error_set_errno(err, VIR_FROM_CH, errno, "cannot remove stale socket '%s'", sock);
        return -1;
    }
    if (events && ch_process_make_fifo(events, err) < 0)
        return -1;
    int log_fd = cv_process_open_log(ctx->log_path, err);
    if (log_fd < 0) {
        if (events)
            unlink(events);
        return -1;
    }
    int rc = cv_process_spawn_kept((const char *const *)argv, ctx->console_fd, ctx->console_fd,
                                   log_fd, ctx->exit_path, (const char *const *)waiter_opts, &pid,
                                   &ret_vm->waiter_pid, err);
    close(log_fd);
    if (rc < 0) {
        if (events)
            unlink(events);
        return -1;
    }
    /* Fails only if it is already gone; the socket wait then reports that. */
    cv_process_start_time(pid, &start_time, NULL);

    if (cv_process_wait_socket(sock, pid, start_time, timeout_ms, err) < 0 ||
        (ctx->restore &&
         (ctx->restore->clone
              ? ch_clone_restore(sock, ctx->restore, def, &ctx->lower, paused, err)
              : ch_snapshot_restore(sock, ctx->restore, paused, err)) < 0) ||
        ch_process_wait_booted(sock, pid, start_time, timeout_ms, &info, err) < 0) {
        ch_process_explain_exit(pid, start_time, ctx, err);
        ch_process_abort(pid, start_time, sock, events);
        return -1;
    }
    /* on the driver's PTY (stdin/stdout) the console has no path of CH's */
    g_autofree char *console = ctx->console_fd >= 0 ? NULL : ch_process_console_path(def, info);
    json_object_put(info);
    if (paused && !ctx->restore && ch_api_vm_pause(sock, err) < 0) {
        ch_process_explain_exit(pid, start_time, ctx, err);
        ch_process_abort(pid, start_time, sock, events);
        return -1;
    }

    ret_vm->pid = pid;
    ret_vm->start_time = start_time;
    ret_vm->api_socket = g_steal_pointer(&sock);
    ret_vm->console_path = g_steal_pointer(&console);
    return 0;
}

int
ch_process_query(const BackendVm *vm, BackendVmState *ret_state, CvError **err)
{
    json_object *info = NULL;
    g_autoptr(CvError) info_err = NULL;
    long status = 0;
    int ret = 0;

    if (ch_api_vm_info(vm->api_socket, &info, &status, &info_err) < 0) {
        /* 404: the VMM holds no VM (never created, or deleted) */
        if (status == 404) {
            *ret_state = BACKEND_VM_NOT_STARTED;
            return 0;
        }
        if (err)
            *err = g_steal_pointer(&info_err);
        return -1;
    }
    const char *state = ch_process_info_state(info);
    if (g_strcmp0(state, "Running") == 0)
        *ret_state = BACKEND_VM_RUNNING;
    else if (g_strcmp0(state, "Paused") == 0)
        *ret_state = BACKEND_VM_PAUSED;
    else if (g_strcmp0(state, "Created") == 0 || g_strcmp0(state, "Shutdown") == 0)
        *ret_state = BACKEND_VM_NOT_STARTED;
    else {
        cv_error_set(err, VIR_FROM_CH, VIR_ERR_OPERATION_FAILED, "vm.info: unknown state '%s'",
                     state ? state : "");
        ret = -1;
    }
    json_object_put(info);
    return ret;
}

int
ch_process_suspend(const BackendVm *vm, CvError **err)
{
    return ch_api_vm_pause(vm->api_socket, err);
}

int
ch_process_resume(const BackendVm *vm, CvError **err)
{
    return ch_api_vm_resume(vm->api_socket, err);
}

int
ch_process_shutdown(const BackendVm *vm, CvError **err)
{
    return ch_api_vm_power_button(vm->api_socket, err);
}

int
ch_process_reboot(const BackendVm *vm, CvError **err)
{
    return ch_api_vm_reboot(vm->api_socket, err);
}

bool
ch_process_exit_crashed(const char *log_path, int status)
{
    (void)status;
    return backend_common_log_has(log_path, CH_VCPU_ERROR);
}
