#pragma once

#include <stdbool.h>

/*
 * Where Cocoon keeps things by default (DESIGN.md "State" and "URIs"): root runs under
 * /var/lib/cocoon, /run/cocoon and /run/libvirt; everyone else under the XDG directories.
 */

/** cv_paths_default_root: persistent state, /var/lib/cocoon or $XDG_DATA_HOME/cocoon. New string.
 */
char *cv_paths_default_root(void);

/** cv_paths_default_run: live state, /run/cocoon or $XDG_RUNTIME_DIR/cocoon. New string. */
char *cv_paths_default_run(void);

/**
 * cv_paths_daemon_socket: the daemon's socket, /run/libvirt/virtcocoond-sock or
 * $XDG_RUNTIME_DIR/libvirt/virtcocoond-sock. New string.
 */
char *cv_paths_daemon_socket(void);

/** cv_paths_socket_answers: whether a UNIX stream socket at path accepts a connect(). */
bool cv_paths_socket_answers(const char *path);
