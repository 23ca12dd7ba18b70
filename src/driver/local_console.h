#pragma once

#include <stdbool.h>
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

/* A relay spawned and not yet known to be ready (local_console_relay_spawn). */
typedef struct {
    pid_t pid;                      /* the relay itself (not the caller's child) */
    unsigned long long start_time;  /* of pid; 0 when it was gone before it could be read */
    int ready_fd;                   /* 'R' once it listens; EOF when it died first */
    int stderr_fd;                  /* its own words when it fails */
    char *binary;
    char *log_path;
} LocalConsoleRelay;

/**
 * local_console_relay_spawn: start the relay for a VM, detached from the caller (its own
 * session, adopted by init: it outlives cocoonvirsh and cocoond and exits when the VM does),
 * without waiting for it. Give either master_fd (FC: the PTY master from
 * local_console_pty_open) or pty_path (CH: the PTY from vm.info); vm_pid (when > 0) is the
 * VMM it watches. On success *ret_relay must be finished with local_console_relay_wait (or
 * stopped with local_console_relay_abort); on failure nothing is left running.
 */
int local_console_relay_spawn(const char *live_dir, int master_fd, const char *pty_path,
                              pid_t vm_pid, LocalConsoleRelay *ret_relay, CvError **err);

/**
 * local_console_relay_wait: wait until relay listens on its socket. Returns 0, or -1 with
 * *err (the relay's own message) after making sure it is gone. Either way relay's fds are
 * closed; relay->pid and relay->start_time stay.
 */
int local_console_relay_wait(LocalConsoleRelay *relay, CvError **err);

/** local_console_relay_abort: stop relay (SIGKILL) and close its fds; accepts a cleared one. */
void local_console_relay_abort(LocalConsoleRelay *relay);

/** local_console_relay_clear: close relay's fds and free its strings (stops nothing). */
void local_console_relay_clear(LocalConsoleRelay *relay);

/**
 * local_console_relay_start: local_console_relay_spawn, then local_console_relay_wait.
 * Returns once the relay listens; *ret_pid is its pid. On failure nothing is left running.
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
