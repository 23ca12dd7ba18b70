#pragma once

#include <glib.h>
#include <stdbool.h>
#include <sys/types.h>

#include "util/cv_error.h"

/*
 * Process plumbing for VMMs: spawn detached, identify a pid beyond reuse (pid + start time),
 * wait for its API socket, stop it. A VMM is spawned through an intermediate child that exits
 * at once, so the VMM (and its waiter, when it has one) is not the caller's child: it outlives
 * the caller and never becomes a zombie of a long-lived caller; functions that wait also reap
 * the pid when it happens to be the caller's own child.
 */

/* Default limit for a VMM to bring up its API socket (COCOON_START_TIMEOUT_MS overrides). */
#define CV_PROCESS_START_TIMEOUT_MS 10000

/**
 * cv_process_spawn: run argv (argv[0] is a path, not searched in PATH) detached: in a new
 * session, with stdin_fd/stdout_fd/stderr_fd as its fd 0/1/2 (-1: /dev/null), every other fd
 * closed, signals reset to default and unblocked. The caller's fds stay untouched.
 * Returns 0 with *ret_pid (the VMM itself), or -1 with *err (VIR_ERR_SYSTEM_ERROR naming
 * argv[0] with exec's errno when it cannot be executed).
 */
int cv_process_spawn(const char *const *argv, int stdin_fd, int stdout_fd, int stderr_fd,
                     pid_t *ret_pid, CvError **err);

/**
 * cv_process_spawn_waited: cv_process_spawn, with the program run as the child of a waiter
 * (the cocoon-vmm-waiter program, found by cv_paths_helper_find; $COCOON_VMM_WAITER
 * overrides): it holds no fd of the caller, ignores terminal signals, and when the program
 * ends writes its raw wait status (decimal, see waitpid) atomically to exit_file, then exits.
 * The program is started first, the waiter is exec'ed after it. exit_file NULL:
 * cv_process_spawn. *ret_waiter (may be NULL) is the waiter's pid, set as soon as it runs:
 * also when the program then cannot be executed, as the waiter still records that.
 */
int cv_process_spawn_waited(const char *const *argv, int stdin_fd, int stdout_fd, int stderr_fd,
                            const char *exit_file, pid_t *ret_pid, pid_t *ret_waiter,
                            CvError **err);

/**
 * cv_process_spawn_kept: cv_process_spawn_waited, with waiter_opts (NULL-terminated, may be
 * NULL) passed to the waiter after EXIT_FILE PID: what else it does for the program while it
 * runs (tools/waiter/cocoon-vmm-waiter.c lists the options).
 */
int cv_process_spawn_kept(const char *const *argv, int stdin_fd, int stdout_fd, int stderr_fd,
                          const char *exit_file, const char *const *waiter_opts, pid_t *ret_pid,
                          pid_t *ret_waiter, CvError **err);

/**
 * cv_process_start_time: field 22 of /proc/PID/stat (clock ticks after boot).
 * Returns 0 with *ret_start_time, or -1 with *err when there is no such process.
 */
int cv_process_start_time(pid_t pid, unsigned long long *ret_start_time, CvError **err);

/**
 * cv_process_alive: whether pid exists, is not a zombie and (when start_time is not 0) has
 * that start time, i.e. is still the process that was recorded.
 */
bool cv_process_alive(pid_t pid, unsigned long long start_time);

/** cv_process_parent: the parent of pid (field 4 of /proc/PID/stat), 0 when pid is gone. */
pid_t cv_process_parent(pid_t pid);

/**
 * cv_process_cpu_time: the CPU time (user + system, all threads) the process pid has used so
 * far, in ns, at the kernel's clock-tick resolution: 0 with *ret_ns, or -1 when pid is gone or
 * (start_time not 0) is another process now.
 */
int cv_process_cpu_time(pid_t pid, unsigned long long start_time, unsigned long long *ret_ns);

/** cv_process_reap: collect pid's exit status if it is the caller's child and has exited. */
void cv_process_reap(pid_t pid);

/**
 * cv_process_wait_socket: wait until the UNIX socket path accepts a connection, for at most
 * timeout_ms, giving up as soon as the process pid/start_time is gone. Polls briefly at first;
 * a socket that is late is then waited for on events: its creation (inotify on its directory)
 * and the process's exit (pidfd).
 * Returns 0, or -1 with *err: VIR_ERR_OPERATION_FAILED when the process exited first,
 * VIR_ERR_OPERATION_TIMEOUT when the time ran out.
 */
int cv_process_wait_socket(const char *path, pid_t pid, unsigned long long start_time,
                           unsigned int timeout_ms, CvError **err);

/**
 * cv_process_wait_exit: wait up to timeout_ms for pid/start_time to be gone (woken by its
 * pidfd where the kernel has them). Returns true when it is gone.
 */
bool cv_process_wait_exit(pid_t pid, unsigned long long start_time, unsigned int timeout_ms);

/**
 * cv_process_stop: SIGTERM, then SIGKILL after term_timeout_ms, then wait kill_timeout_ms.
 * Nothing is signalled when pid no longer has start_time (a reused pid). Returns 0 when the
 * process is gone (or was already), -1 with *err (VIR_ERR_OPERATION_TIMEOUT) otherwise.
 */
int cv_process_stop(pid_t pid, unsigned long long start_time, unsigned int term_timeout_ms,
                    unsigned int kill_timeout_ms, CvError **err);

/**
 * cv_process_start_timeout_ms: how long a VMM may take to come up: $COCOON_START_TIMEOUT_MS
 * when set to a positive number, else the process's default (cocoon.conf's [timeouts] start,
 * set by the driver), else CV_PROCESS_START_TIMEOUT_MS.
 */
unsigned int cv_process_start_timeout_ms(void);

/** cv_process_set_start_timeout_default: the default above, for the whole process (0: built-in). */
void cv_process_set_start_timeout_default(unsigned int ms);

/**
 * cv_process_log_tail: the last max_lines non-empty lines of the (log) file at path, joined
 * by '\n', from at most its last 4 KiB; NULL when the file is missing or empty. New string.
 */
char *cv_process_log_tail(const char *path, unsigned int max_lines);

/**
 * cv_process_open_log: open (creating it, mode 0600) the log file at path for appending,
 * O_CLOEXEC. Returns the fd, or -1 with *err.
 */
int cv_process_open_log(const char *path, CvError **err);

/**
 * cv_process_set_exit_error: set *err (VIR_ERR_OPERATION_FAILED) for a process `what` that
 * exited while starting, quoting the tail of its log at log_path:
 * "'firecracker' exited while starting: <last log lines>".
 */
void cv_process_set_exit_error(CvError **err, const char *what, const char *log_path);


/**
 * cv_process_exit_status_read: the wait status a waiter wrote to path. Returns 0 with
 * *ret_wstatus, or -1 when the file is missing or malformed.
 */
int cv_process_exit_status_read(const char *path, int *ret_wstatus);

