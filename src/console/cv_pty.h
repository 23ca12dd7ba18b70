#pragma once

#include "util/cv_error.h"

#include <stdbool.h>

/*
 * PTY pairs for guest serial consoles. Firecracker's serial console is its stdin/stdout, so the
 * driver opens a pair, hands the slave to the VMM and the master to the console relay. Both ends
 * are put in raw mode so the VMM and the viewers see the guest's bytes unmodified.
 *
 * The master reports hang-up (read fails with EIO) only once every holder of the slave has
 * closed it: whoever spawns the VMM must close its own slave fd after the spawn.
 */

/**
 * cv_pty_open: open a new PTY pair (posix_openpt, both fds O_CLOEXEC, slave in raw mode).
 * @ret_master: the master fd (blocking; the caller owns it).
 * @ret_slave_path: the slave's path, e.g. "/dev/pts/7" (g_free); may be NULL.
 * @ret_slave: the slave fd, opened O_NOCTTY (the caller owns it); may be NULL, in which case the
 *   slave is closed again after being configured (reopen it through the path).
 * Returns 0, or -1 with *err set; no ret_* is written on failure.
 */
int cv_pty_open(int *ret_master, char **ret_slave_path, int *ret_slave, CvError **err);

/**
 * cv_pty_set_raw: put a terminal fd (either end of a PTY) in raw mode: no echo, no line
 * editing, no signals, no CR/NL translation, 8-bit clean. Returns 0, or -1 with *err set.
 */
int cv_pty_set_raw(int fd, CvError **err);

/**
 * cv_pty_open_path: open an existing terminal by path (e.g. the PTY Cloud Hypervisor reports in
 * vm.info) read-write, O_NOCTTY | O_CLOEXEC, and put it in raw mode. Returns the fd, or -1
 * with *err set.
 */
int cv_pty_open_path(const char *path, CvError **err);
