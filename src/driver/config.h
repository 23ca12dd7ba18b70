#pragma once

#include <glib.h>

#include "driver/backend.h"
#include "util/cv_error.h"
#include "xml/domain_def.h"

/*
 * The host configuration of the local driver, cocoon.conf(5): $COCOON_CONFIG, else (for a
 * user other than root) $XDG_CONFIG_HOME/cocoon/cocoon.conf when it exists, else
 * <sysconfdir>/cocoon/cocoon.conf. An absent file is fine: the defaults apply. A line that is
 * not understood (unknown group or key, a bad value, a key twice) is an error naming the file
 * and the line.
 *
 *   [hypervisors]
 *   default = firecracker          # or cloud-hypervisor; the backend when <emulator> is absent
 *   firecracker = /opt/fc/firecracker
 *   cloud-hypervisor = /opt/ch/cloud-hypervisor
 *   jailer = /opt/fc/jailer
 *   [paths]
 *   root = /var/lib/cocoon         # the system instance's persistent state
 *   run = /run/cocoon              # and its live state
 *   [timeouts]                     # seconds
 *   start = 10                     # for a VMM to bring up its API socket
 *   shutdown = 30                  # for a guest to act on a shutdown request
 *   stop = 10                      # after SIGTERM, before SIGKILL
 *   [daemon]
 *   socket-group = libvirt         # the group allowed on cocoond's read-write socket
 *   [jailer]                       # FC under the jailer: when [hypervisors] jailer is set,
 *                                  # or a domain's <emulator> is a jailer
 *   uid = 52000                    # what FC runs as (default 52000:52000)
 *   gid = 52000
 *   chroot-base = /run/cocoon/jail # default <run>/jail
 *   cgroup-version = 2             # default: 2 when /sys/fs/cgroup is cgroup v2, else 1
 *   new-pid-ns = no                # yes: FC in a PID namespace of its own
 *   netns = /run/netns/vms         # the network namespace FC joins (its TAPs are there)
 *   seccomp-filter = /etc/cocoon/fc-seccomp.bpf   # FC's --seccomp-filter
 */

typedef struct {
    char *path; /* the file read, or NULL when there was none */
    BackendKind default_kind;
    char *binaries[BACKEND_LAST];       /* [hypervisors] paths; NULL when not configured */
    char *emulator_cache[BACKEND_LAST]; /* memo of cocoon_config_default_emulator */
    char *jailer;                       /* NULL when not configured */
    char *root, *run;                   /* [paths]; NULL: the built-in defaults */
    unsigned int start_timeout_ms;      /* [timeouts]; 0: the built-in defaults */
    unsigned int shutdown_timeout_ms;
    unsigned int stop_timeout_ms;
    char *socket_group; /* [daemon]; NULL: none (socket mode 0600) */
    /* [jailer] */
    unsigned int jail_uid, jail_gid; /* 0: the default (COCOON_JAIL_DEFAULT_ID) */
    bool jail_uid_set, jail_gid_set;
    char *jail_chroot_base;          /* NULL: <run>/jail */
    unsigned int jail_cgroup_version; /* 0: as the host's /sys/fs/cgroup */
    bool jail_new_pid_ns;
    char *jail_netns, *jail_seccomp_filter;
} CocoonConfig;

/* The uid and gid a jailed Firecracker runs as when [jailer] names none. */
#define COCOON_JAIL_DEFAULT_ID 52000

/* What cocoon_config_jail resolved; the strings are owned (cocoon_config_jail_clear). */
typedef struct {
    BackendJail jail;
    char *jailer, *firecracker, *chroot_base;
} CocoonJail;

/**
 * cocoon_config_default_path: the file cocoon_config_load(NULL) reads: $COCOON_CONFIG, else
 * the user's file (not for root) when it exists, else the system one. New string.
 */
char *cocoon_config_default_path(void);

/**
 * cocoon_config_load: read path (NULL: cocoon_config_default_path()). A missing file yields
 * the defaults; an unreadable or malformed one is VIR_ERR_CONF_SYNTAX
 * ("configuration file '…' line N: …"). Returns a new config, or NULL with *err.
 */
CocoonConfig *cocoon_config_load(const char *path, CvError **err);

/** cocoon_config_free: free cfg; accepts NULL. */
void cocoon_config_free(CocoonConfig *cfg);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CocoonConfig, cocoon_config_free)

/** cocoon_config_default_backend: the backend of a definition without <emulator>. */
const CocoonBackend *cocoon_config_default_backend(const CocoonConfig *cfg);

/**
 * cocoon_config_default_emulator: the <emulator> path a definition of backend gets when it
 * has none: the configured path, else the binary found on PATH, else /usr/bin/<name>.
 * Borrowed from cfg (memoised: defining many domains does not search PATH each time).
 */
const char *cocoon_config_default_emulator(CocoonConfig *cfg, const CocoonBackend *backend);

/**
 * cocoon_config_resolve_binary: the binary that runs a domain of backend, first found:
 * the environment override (COCOON_FIRECRACKER / COCOON_CLOUD_HYPERVISOR), the domain's
 * <emulator> (may be NULL) if it exists, the configured path, then PATH.
 * Returns a new string, or NULL with a VIR_ERR_SYSTEM_ERROR (ENOENT) naming what was tried.
 */
char *cocoon_config_resolve_binary(const CocoonConfig *cfg, const CocoonBackend *backend,
                                   const char *emulator, CvError **err);

/**
 * cocoon_config_resolve_jailer: Firecracker's jailer: $COCOON_JAILER, the configured path,
 * else `jailer` on PATH. New string, or NULL when none is found (no error: it is optional).
 */
char *cocoon_config_resolve_jailer(const CocoonConfig *cfg);

/**
 * cocoon_config_jail: whether a Firecracker domain with <emulator> emulator runs under the
 * jailer: when emulator's basename contains "jailer", or [hypervisors] jailer is set. Then
 * *ret holds the jailer (emulator, $COCOON_JAILER, the configured one), the firecracker it
 * execs (cocoon_config_resolve_binary without the <emulator>) and the [jailer] settings, the
 * chroot base defaulting to <run>/jail. Returns 1 (jailed), 0 (not: *ret untouched) or -1
 * with *err (the jailer or firecracker not found).
 */
int cocoon_config_jail(const CocoonConfig *cfg, const char *emulator, const char *run,
                       CocoonJail *ret, CvError **err);

/** cocoon_config_jail_clear: free what cocoon_config_jail filled in. */
void cocoon_config_jail_clear(CocoonJail *jail);

/**
 * cocoon_config_paths: the default root and run folders: [paths] of the configuration file
 * (cocoon_config_default_path), else cv_paths_default_root/run. New strings in *ret_root and
 * *ret_run; -1 with *err when the file is malformed.
 */
int cocoon_config_paths(char **ret_root, char **ret_run, CvError **err);

/**
 * cocoon_config_backend_for_def: the backend of def, by the basename of its <emulator>
 * ("unsupported configuration: emulator '/usr/bin/qemu' is not firecracker or
 * cloud-hypervisor"), or the default backend when it has none, in which case def->emulator
 * is set to cocoon_config_default_emulator(). Returns the backend or NULL with *err.
 */
const CocoonBackend *cocoon_config_backend_for_def(CocoonConfig *cfg, DomainDef *def,
                                                   CvError **err);
