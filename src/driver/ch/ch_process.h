#pragma once

#include "driver/backend.h"

/*
 * The running side of the Cloud Hypervisor backend: start one cloud-hypervisor process per
 * VM from the lowered command line (which creates and boots the VM), and control it over its
 * API socket. These are the runtime members of ch_backend; see CocoonBackend in
 * driver/backend.h for the contract.
 */

/*
 * The console: a PTY of CH's own (`--serial pty`) reads as a hang-up while nobody holds its
 * subordinate end, and CH then looks at it again only about once a second, so whatever the
 * guest printed reaches a reader that opens it after the boot up to a second late. The driver
 * therefore hands CH a PTY of its own as stdin/stdout, with the console `virsh console` shows
 * in mode tty (BackendLowerCtx.console_stdio), as Firecracker's console is: the relay holds
 * the other end from before the boot and gets the first byte at once.
 */

/**
 * ch_process_launch: spawn the ch_lower_argv command line with argv[0] = ctx->binary and
 * `--log-file LOG` added, detached (stdin/stdout: ctx->console_fd, else /dev/null; stderr:
 * the log); wait for the API socket and for vm.info to report the VM booted; read the
 * console's PTY path into ret_vm->console_path (none on ctx->console_fd); vm.pause when paused.
 * With a waiter (ctx->exit_path), CH's --event-monitor is a FIFO in run_dir that the waiter
 * reads: it notes each guest reset and stops the VMM on one when on_reboot is destroy. Fills *ret_vm (caller clears it
 * with backend_vm_clear). On failure the process is killed and reaped, the socket removed,
 * and *err carries CH's own words, or the tail of its log when it exited.
 */
int ch_process_launch(const DomainDef *def, const BackendLaunchCtx *ctx, bool paused,
                      BackendVm *ret_vm, CvError **err);

/** ch_process_query: vm.info's state mapped to a BackendVmState ("Created": not started). */
int ch_process_query(const BackendVm *vm, BackendVmState *ret_state, CvError **err);

/** ch_process_suspend: vm.pause (an error when the VM is not running). */
int ch_process_suspend(const BackendVm *vm, CvError **err);

/** ch_process_resume: vm.resume (an error when the VM is not paused). */
int ch_process_resume(const BackendVm *vm, CvError **err);

/** ch_process_shutdown: vm.power-button; the VMM exits once the guest has powered off. */
int ch_process_shutdown(const BackendVm *vm, CvError **err);

/**
 * ch_process_exit_crashed: whether CH logged a vCPU error ("VCPU generated error …") in
 * log_path: CH then exits 0 as after a guest power-off, and its event
 * monitor says the same ("shutdown", "deleted") for both.
 */
bool ch_process_exit_crashed(const char *log_path, int status);

/** ch_process_reboot: vm.reboot; the VMM stays up and the VM ends Running. */
int ch_process_reboot(const BackendVm *vm, CvError **err);
