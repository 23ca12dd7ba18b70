#pragma once

#include "driver/backend.h"

/*
 * The running side of the Firecracker backend: start one firecracker process per microVM,
 * configure it call by call over its API socket, and control it afterwards. These are the
 * runtime members of fc_backend; see CocoonBackend in driver/backend.h for the contract.
 */

/**
 * fc_process_launch: lower def, spawn `BINARY --api-sock SOCK --id ID --log-path LOG --level
 * Info` detached (stdin/stdout: ctx->console_fd or /dev/null; stderr: the log), wait for the
 * socket, send the call plan in order (InstanceStart last), then PATCH /vm Paused when paused.
 * Fills *ret_vm (caller clears it with backend_vm_clear). On failure the process is killed
 * and reaped, the socket removed, and *err carries Firecracker's own message
 * ("PUT /boot-source: 400: …") or the tail of its log if it exited.
 */
int fc_process_launch(const DomainDef *def, const BackendLaunchCtx *ctx, bool paused,
                      BackendVm *ret_vm, CvError **err);

/** fc_process_query: GET / mapped to a BackendVmState. */
int fc_process_query(const BackendVm *vm, BackendVmState *ret_state, CvError **err);

/** fc_process_suspend: PATCH /vm {"state": "Paused"} (idempotent in Firecracker). */
int fc_process_suspend(const BackendVm *vm, CvError **err);

/** fc_process_resume: PATCH /vm {"state": "Resumed"}. */
int fc_process_resume(const BackendVm *vm, CvError **err);

/**
 * fc_process_shutdown: PUT /actions SendCtrlAltDel. Returns once the keys are queued; the
 * process exits when the guest honours it (reboot=k), which the caller waits for.
 */
int fc_process_shutdown(const BackendVm *vm, CvError **err);

/**
 * fc_process_exit_crashed: whether Firecracker logged that a vCPU stopped on an error KVM could
 * not handle ("Received KVM_EXIT_INTERNAL_ERROR") in log_path: FC v1.16
 * then exits 0, as after a guest reset.
 */
bool fc_process_exit_crashed(const char *log_path, int status);
