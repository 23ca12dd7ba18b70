#pragma once

#include <stdbool.h>

#include "util/cv_error.h"

/*
 * Where Cocoon keeps things by default (DESIGN.md "State" and "URIs"): root runs under
 * /var/lib/cocoon, /run/cocoon and /run/libvirt; everyone else under the XDG directories.
 * The system paths come from meson options (meson_options.txt, src/util/meson.build).
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

/** cv_paths_system_config: <sysconfdir>/cocoon/cocoon.conf (/etc/cocoon/...). New string. */
char *cv_paths_system_config(void);

/** cv_paths_user_config: $XDG_CONFIG_HOME/cocoon/cocoon.conf. New string. */
char *cv_paths_user_config(void);

/** cv_paths_socket_answers: whether a UNIX stream socket at path accepts a connect(). */
bool cv_paths_socket_answers(const char *path);

/**
 * cv_paths_helper_find: the helper program name (e.g. "cocoon-console-relay"), described as
 * what in errors: $env_var when set (it must be executable); else next to the running program
 * (an installed <prefix>/bin/x finds <prefix>/<libexecdir>/cocoon/name, the prefix being where
 * the tree is now; a program in the build tree finds <tree_dir>/name a few levels up); else the
 * configured <libexecdir>/cocoon. New string, or NULL with
 * *err (VIR_ERR_INTERNAL_ERROR naming where it looked).
 */
char *cv_paths_helper_find(const char *name, const char *what, const char *env_var,
                           const char *tree_dir, CvError **err);
