#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "util/cv_error.h"

/* The daemon's UNIX sockets: created with their mode (and group), or taken from systemd. */

/**
 * cocoond_socket_listen: bind and listen on path (its directory created 0755 when missing; a
 * stale socket file replaced — the caller holds the daemon lock), then chmod mode and, when
 * gid != -1, chown to that group. Returns the fd (O_CLOEXEC) or -1 with *err.
 */
int cocoond_socket_listen(const char *path, mode_t mode, gid_t gid, CvError **err);

/**
 * cocoond_socket_activated: the listening sockets systemd passed (LISTEN_PID/LISTEN_FDS), as
 * a NULL-free array of fds in *ret_fds with, for each, whether its path ends in "-ro" in
 * *ret_ro. Returns the count (0: not socket-activated).
 */
int cocoond_socket_activated(int **ret_fds, bool **ret_ro);
