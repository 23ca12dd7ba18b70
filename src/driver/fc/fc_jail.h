#pragma once

#include <glib.h>
#include <sys/types.h>

#include "driver/backend.h"

/*
 * Firecracker under its jailer (BackendLaunchCtx.jail). The jailer builds
 * <chroot_base>/firecracker/<id>/root, puts FC in a cgroup of its own (<parent>/<id> with
 * the parent named after the exec file, "firecracker"), chroots into it in a new mount
 * namespace, creates /dev/kvm and /dev/net/tun there, drops to uid:gid and execs FC in place
 * (the pid stays the one spawned, so the waiter stays FC's parent) — or, with --new-pid-ns,
 * clones FC as the init of a new PID namespace, writes its pid (as the host sees it) to
 * root/firecracker.pid and exits 0: the waiter, a child subreaper, then adopts FC and follows
 * it through --pid-file.
 *
 * What FC opens must be inside: before the spawn, fc_jail_prepare hard-links (or, across file
 * systems, bind-mounts) the kernel, initrd, disks, the log, a snapshot to restore and the
 * seccomp filter into root under fixed names, gives the ones FC cannot reach as uid:gid to
 * it (the original owner is restored afterwards), hands the TAPs to uid:gid (TUNSETOWNER:
 * FC opens them with no capability left), and links the API and vsock sockets into the live
 * directory, so the driver reaches them where it always does. It records all of that in the
 * live directory's "jail" file; fc_jail_release undoes it after FC is gone, the jail folder
 * and the cgroups included, so that nothing is left in the chroot base.
 */

/* Names inside the chroot, as FC sees them. */
#define FC_JAIL_KERNEL "/kernel"
#define FC_JAIL_INITRD "/initrd"
#define FC_JAIL_LOG "/vmm.log"
#define FC_JAIL_SECCOMP "/seccomp-filter"
#define FC_JAIL_VMSTATE "/snapshot.vmstate" /* a snapshot to load */
#define FC_JAIL_MEMORY "/snapshot.mem"
#define FC_JAIL_SAVE_VMSTATE "/save.vmstate" /* a snapshot being taken */
#define FC_JAIL_SAVE_MEMORY "/save.mem"
/* What the live directory keeps about a jail (fc_jail_release reads it). */
#define FC_JAIL_STATE "jail"

/** fc_jail_dir: <chroot_base>/firecracker/<id>, the folder the jailer makes; new string. */
char *fc_jail_dir(const BackendJail *jail, const char *id);

/**
 * fc_jail_argv: the jailer's command line that runs firecracker as id (pure: the golden test
 * pins it): --id, --exec-file, --uid, --gid, --chroot-base-dir, --cgroup-version and one
 * --cgroup per limit of def (v2: cpu.weight from <shares>, cpu.max from <quota>/<period>,
 * memory.max from <hard_limit>; v1: cpu.shares, cpu.cfs_quota_us, cpu.cfs_period_us,
 * memory.limit_in_bytes), --netns, --new-pid-ns, then after "--" FC's own arguments: the API
 * socket, log and level, and --seccomp-filter when configured. NULL-terminated; g_strfreev.
 */
char **fc_jail_argv(const BackendJail *jail, const char *firecracker, const char *id,
                    const DomainDef *def);

/* A jail being prepared for one launch. */
typedef struct {
    char *dir;           /* fc_jail_dir */
    char *root;          /* dir/root */
    char *state_path;    /* <live>/jail */
    GString *state;      /* the lines of the state file */
    DomainDef def;       /* a shallow copy of the definition, its initrd the jail's */
    BackendLowerCtx lower; /* the lowering's view from inside */
    GPtrArray *disk_paths; /* per <disk>: the name inside */
    BackendSnapshotFiles restore; /* a snapshot to load, by its names inside */
} FcJailPrep;

/**
 * fc_jail_prepare: make the chroot of id for ctx's launch of def (a stale one of an earlier
 * boot is released first) and fill *ret. On failure what was made stays recorded in the jail
 * file, for fc_jail_release (the driver's teardown after a failed launch); -1 with *err
 * ("cannot link 'X' into the jail 'Y'", "a <serial type='file'> cannot reach into the jail").
 */
int fc_jail_prepare(const DomainDef *def, const BackendLaunchCtx *ctx, const char *id,
                    FcJailPrep *ret, CvError **err);

/** fc_jail_prep_clear: free *prep (what is on disk stays: fc_jail_release removes it). */
void fc_jail_prep_clear(FcJailPrep *prep);

/**
 * fc_jail_find_pid: with --new-pid-ns, the pid of FC from the jail's pid file (waiting up to
 * timeout_ms for the jailer to write it); else spawned itself. -1 with *err.
 */
pid_t fc_jail_find_pid(const BackendJail *jail, const FcJailPrep *prep, pid_t spawned,
                       unsigned int timeout_ms, CvError **err);

/**
 * fc_jail_release: after the VMM of the live directory run_dir is gone, undo what its jail
 * file records: bind mounts, owners, TAP owners, the jail folder, the cgroups; then the file.
 * With a network namespace it also removes created_taps (NULL-terminated; may be NULL) there,
 * where the boot made them. A live directory without a jail file is left alone. Best effort.
 */
void fc_jail_release(const char *run_dir, const char *const *created_taps);

/**
 * fc_jail_snapshot_save: a snapshot of the jailed VM of vm: FC writes it inside its chroot,
 * then the files move to files' paths (renamed, or copied across file systems) and go back
 * to root. Returns 1 when vm is jailed (done, or -1 with *err), 0 when it is not.
 */
int fc_jail_snapshot_save(const BackendVm *vm, const BackendSnapshotFiles *files,
                          CvError **err);
