#pragma once

#include <sys/types.h>

#include "driver/stream.h"
#include "util/cv_error.h"

/*
 * The local driver's consoles: one cocoon-console-relay per running VM owns the guest
 * console's PTY and serves viewers on <live_dir>/console.sock (src/console/console_proto.h).
 */

/** local_console_socket_path: <live_dir>/console.sock; new string. */
char *local_console_socket_path(const char *live_dir);

/**
 * local_console_pty_open: a PTY pair for a VMM whose console is its stdin/stdout (FC).
 * *ret_master goes to the relay, *ret_slave to the VMM; both O_CLOEXEC.
 */
int local_console_pty_open(int *ret_master, int *ret_slave, CvError **err);

/**
 * local_console_relay_start: start the relay for a VM, detached from the caller (it outlives
 * cocoonvirsh and cocoond and exits when the VM does). Give either master_fd (FC: the PTY
 * master from local_console_pty_open) or pty_path (CH: the PTY from vm.info). vm_pid and
 * vm_start_time identify the VMM it watches. Returns once the relay listens; *ret_pid is its
 * pid. On failure nothing is left running.
 */
int local_console_relay_start(const char *live_dir, int master_fd, const char *pty_path,
                              pid_t vm_pid, pid_t *ret_pid, CvError **err);

/**
 * local_console_open: bind st to the console of the VM whose live directory is live_dir
 * (flags: VIR_DOMAIN_CONSOLE_FORCE → force, VIR_DOMAIN_CONSOLE_SAFE → safe, else
 * interactive). VIR_ERR_OPERATION_INVALID when no relay answers.
 */
int local_console_open(const char *live_dir, unsigned int flags, CocoonStream *st,
                       CvError **err);
