#include "fc_process.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "fc_api.h"
#include "fc_clone.h"
#include "fc_lower.h"
#include "driver/backend_common.h"
#include "fc_jail.h"
#include "fc_paths.h"
#include "fc_snapshot.h"
#include "util/cv_process.h"

#define FC_INSTANCE_ID_MAX 64

/* What FC logs when a vCPU stops on an exit KVM could not handle: it then exits 0. */
#define FC_VCPU_ERROR "Received KVM_EXIT_INTERNAL_ERROR"
/* What FC logs on a guest triple fault (KVM_EXIT_SHUTDOWN): it usually exits 1, but now and
 * then 0 (its vCPU and VMM threads race to report the exit), so the log decides. */
#define FC_TRIPLE_FAULT "Unexpected exit reason on vcpu run: Shutdown"

/* How long a VMM that failed to start gets to go on SIGTERM before SIGKILL. */
#define FC_STOP_TERM_MS 1000
#define FC_STOP_KILL_MS 5000
/* How long a failed start may take to exit before its error is taken as final. */
#define FC_EXIT_GRACE_MS 500

/* Firecracker's --id: 1 to 64 characters, each alphanumeric or '-'. */
static char *
fc_process_instance_id(const char *name)
{
    GString *id = g_string_new(NULL);

    for (const char *p = name; p && *p && id->len < FC_INSTANCE_ID_MAX; p++)
        g_string_append_c(id, g_ascii_isalnum(*p) ? *p : '-');
    if (id->len == 0)
        g_string_append(id, "cocoon");
    return g_string_free(id, FALSE);
}

/* Undo a launch that failed: no process, no socket. */
static void
fc_process_abort(pid_t pid, unsigned long long start_time, const char *sock)
{
    if (pid > 0)
        cv_process_stop(pid, start_time, FC_STOP_TERM_MS, FC_STOP_KILL_MS, NULL);
    unlink(sock);
}

/* A failure while starting: when the VMM is gone (or going: it may have dropped the
 * connection on its way out), its last log lines say more than the transport error, so they
 * replace it. A VMM that refused a request stays alive and its refusal stands. */
static void
fc_process_explain_exit(pid_t pid, unsigned long long start_time, const BackendLaunchCtx *ctx,
                        CvError **err)
{
    if (!cv_process_wait_exit(pid, start_time, FC_EXIT_GRACE_MS))
        return;
    if (err)
        g_clear_pointer(err, cv_error_free);
    cv_process_set_exit_error(err, ctx->binary, ctx->log_path);
}

/* Send the plan on one connection: the configuration before the first action in one
 * pipelined batch, then the rest call by call; the first refusal stops it. */
static int
fc_process_configure(const char *sock, const FcCallPlan *plan, bool paused, CvError **err)
{
    g_autoptr(CvHttpConn) conn = cv_http_conn_new(sock, 0);
    size_t nconfig = 0;

    while (nconfig < plan->ncalls && strcmp(plan->calls[nconfig].path, "/actions") != 0)
        nconfig++;
    if (nconfig > 0 && fc_api_conn_configure(conn, plan->calls, nconfig, err) < 0)
        return -1;
    for (size_t i = nconfig; i < plan->ncalls; i++) {
        const FcCall *call = &plan->calls[i];
        if (fc_api_conn_request(conn, call->method, call->path, call->body, NULL, err) < 0)
            return -1;
    }
    if (paused && fc_api_conn_vm_patch(conn, "Paused", err) < 0)
        return -1;
    return 0;
}

/* The jailed launch's view (fc_jail.h): the lowering from inside the chroot, the jailer's
 * command line, the waiter told where the pid of a PID namespace's FC is. */
static FcCallPlan *
fc_process_jail(const DomainDef *def, const BackendLaunchCtx *ctx, const char *id,
                FcJailPrep *jail, char ***ret_argv, GPtrArray *waiter_opts, CvError **err)
{
    if (fc_jail_prepare(def, ctx, id, jail, err) < 0)
        return NULL;
    *ret_argv = fc_jail_argv(ctx->jail, ctx->binary, id, def);
    if (ctx->jail->new_pid_ns) {
        g_ptr_array_add(waiter_opts, g_strdup("--pid-file"));
        g_ptr_array_add(waiter_opts, g_build_filename(jail->root, "firecracker.pid", NULL));
    }
    return ctx->restore ? NULL : fc_lower(&jail->def, &jail->lower, err);
}

int
fc_process_launch(const DomainDef *def, const BackendLaunchCtx *ctx, bool paused, BackendVm *ret_vm,
                  CvError **err)
{
    /* a restore sends nothing but the snapshot load: FC refuses it after any configuration */
    g_autoptr(FcCallPlan) plan = NULL;
    if (!ctx->restore && !(plan = fc_lower(def, &ctx->lower, err)))
        return -1;

    g_autofree char *sock = fc_api_socket_path(ctx->lower.run_dir);
    g_autofree char *id = fc_process_instance_id(def->name);
    unsigned long long start_time = 0;
    pid_t pid = 0;

    /* Firecracker refuses to start when its socket path exists at all. */
    if (unlink(sock) < 0 && errno != ENOENT) {
        cv_error_set_errno(err, VIR_FROM_NONE, errno, "cannot remove stale socket '%s'", sock);
        return -1;
    }
    int log_fd = cv_process_open_log(ctx->log_path, err);
    if (log_fd < 0)
        return -1;

    const char *direct[] = {ctx->binary,  "--api-sock",  sock,      "--id", id,
                            "--log-path", ctx->log_path, "--level", "Info", NULL};
    const char *const *argv = direct;
    /* a clone runs where its own files are at the paths the snapshot recorded */
    bool clone = ctx->restore && ctx->restore->clone;
    g_auto(GStrv) clone_argv = NULL;
    if (clone && ctx->jail) {
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_OPERATION_UNSUPPORTED,
                     "a snapshot cannot be cloned into domain '%s' under the jailer", def->name);
        close(log_fd);
        return -1;
    }
    if (clone && !(clone_argv = fc_clone_argv(direct, ctx->restore->binds, err))) {
        close(log_fd);
        return -1;
    }
    if (clone_argv)
        argv = (const char *const *)clone_argv;
    g_auto(GStrv) jail_argv = NULL;
    g_autoptr(GPtrArray) waiter_opts = g_ptr_array_new_with_free_func(g_free);
    for (size_t i = 0; ctx->waiter_opts && ctx->waiter_opts[i]; i++)
        g_ptr_array_add(waiter_opts, g_strdup(ctx->waiter_opts[i]));
    FcJailPrep jail = {0};
    const BackendSnapshotFiles *restore = ctx->restore;
    if (ctx->jail) {
        g_clear_pointer(&plan, fc_call_plan_free);
        plan = fc_process_jail(def, ctx, id, &jail, &jail_argv, waiter_opts, err);
        if (!jail.root || (!ctx->restore && !plan)) {
            close(log_fd);
            fc_jail_prep_clear(&jail);
            return -1;
        }
        argv = (const char *const *)jail_argv;
        restore = restore ? &jail.restore : NULL;
    }
    g_ptr_array_add(waiter_opts, NULL);

    int rc = cv_process_spawn_kept(argv, ctx->console_fd, ctx->console_fd, log_fd, ctx->exit_path,
                                   (const char *const *)waiter_opts->pdata, &pid,
                                   &ret_vm->waiter_pid, err);
    close(log_fd);
    if (rc == 0 && ctx->jail) {
        /* with --new-pid-ns the jailer forks FC and goes; a jailer that hangs is stopped */
        pid_t spawned = pid;
        pid = fc_jail_find_pid(ctx->jail, &jail, spawned, cv_process_start_timeout_ms(), err);
        if (pid < 0) {
            fc_process_abort(spawned, 0, sock);
            rc = -1;
        }
    }
    if (rc < 0) {
        fc_jail_prep_clear(&jail);
        return -1;
    }
    /* Fails only if it is already gone; the socket wait then reports that. */
    cv_process_start_time(pid, &start_time, NULL);

    if (cv_process_wait_socket(sock, pid, start_time, cv_process_start_timeout_ms(), err) < 0 ||
        (restore ? (clone ? fc_clone_load(sock, restore, def, &ctx->lower, paused, err)
                          : fc_snapshot_load(sock, restore, paused, err))
                 : fc_process_configure(sock, plan, paused, err)) < 0) {
        fc_process_explain_exit(pid, start_time, ctx, err);
        fc_process_abort(pid, start_time, sock);
        fc_jail_prep_clear(&jail);
        return -1;
    }
    fc_jail_prep_clear(&jail);

    ret_vm->pid = pid;
    ret_vm->start_time = start_time;
    ret_vm->api_socket = g_steal_pointer(&sock);
    ret_vm->console_path = NULL; /* the driver's PTY, given as ctx->console_fd */
    return 0;
}

int
fc_process_query(const BackendVm *vm, BackendVmState *ret_state, CvError **err)
{
    g_autofree char *state = fc_api_instance_state(vm->api_socket, err);

    if (!state)
        return -1;
    if (strcmp(state, "Running") == 0)
        *ret_state = BACKEND_VM_RUNNING;
    else if (strcmp(state, "Paused") == 0)
        *ret_state = BACKEND_VM_PAUSED;
    else if (strcmp(state, "Not started") == 0)
        *ret_state = BACKEND_VM_NOT_STARTED;
    else {
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_OPERATION_FAILED, "GET /: unknown state '%s'",
                     state);
        return -1;
    }
    return 0;
}

int
fc_process_suspend(const BackendVm *vm, CvError **err)
{
    return fc_api_vm_patch(vm->api_socket, "Paused", err);
}

int
fc_process_resume(const BackendVm *vm, CvError **err)
{
    return fc_api_vm_patch(vm->api_socket, "Resumed", err);
}

int
fc_process_shutdown(const BackendVm *vm, CvError **err)
{
    return fc_api_action(vm->api_socket, "SendCtrlAltDel", err);
}

bool
fc_process_exit_crashed(const char *log_path, int status)
{
    (void)status;
    return backend_common_log_has(log_path, FC_VCPU_ERROR) ||
           backend_common_log_has(log_path, FC_TRIPLE_FAULT);
}
