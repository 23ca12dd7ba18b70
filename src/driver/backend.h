#pragma once

#include <glib.h>
#include <stdbool.h>

#include "util/cv_error.h"
#include "xml/domain_def.h"

/*
 * A backend is one hypervisor (Firecracker or Cloud Hypervisor) behind a small ops table, one
 * instance per backend folder (fc_backend.c, ch_backend.c). The local driver picks the backend
 * of a domain and never contains hypervisor-specific code.
 *
 * Validation and lowering are pure: no I/O, no clock, no randomness. Whatever depends on the
 * host (where the domain's sockets live, which TAP a NIC got, the overlay of a transient disk,
 * the extracted vmlinux) comes in through BackendLowerCtx, so the golden tests pin the exact
 * output.
 */

typedef struct {
    /* Live directory of the domain (<run>/domains/<name>): API socket, logs, console. */
    const char *run_dir;
    /* Per <interface>, in order: the TAP the VMM opens. NULL (or a NULL entry): the interface's
     * <target dev>, else "vnet<index>". */
    const char *const *tap_names;
    /* Per <disk>, in order: the path the VMM opens (a transient disk's overlay). NULL (or a
     * NULL entry): the disk's <source>. */
    const char *const *disk_paths;
    /* FC: the uncompressed vmlinux to boot (extracted from a bzImage). NULL: <os><kernel>. */
    const char *kernel_path;
    /* CH: the PTY console `virsh console` attaches to is the VMM's stdin/stdout (mode Tty), a
     * PTY the driver made, instead of a PTY of CH's own (see ch_process.h for why). */
    bool console_stdio;
} BackendLowerCtx;

/*
 * The files of a VM's saved state in a snapshot's folder (absolute paths). FC: the state file
 * (snapshot_path) and the guest memory (mem_file_path); CH: the folder vm.snapshot writes
 * config.json, state.json and memory-ranges into (it must exist and be empty).
 */
typedef struct {
    const char *vmstate; /* FC */
    const char *memory;  /* FC */
    const char *ch_dir;  /* CH */
    /* A clone restoring another domain's snapshot as def (false: a revert in place). FC: the
     * VMM runs in a private mount namespace where each clone file appears at the path the
     * snapshot recorded (binds: NULL-terminated pairs: recorded path, clone's file), the load
     * gives the NICs def's TAPs (network_overrides), and the drives then move to def's own
     * files. CH: vm.restore from a copy of ch_dir whose config.json has def's disks and TAPs. */
    bool clone;
    const char *const *binds;
} BackendSnapshotFiles;

/*
 * FC under its jailer (cocoon.conf [jailer], fc/fc_jail.h): the jailer binary and what it is
 * told. The chroot of a domain is <chroot_base>/firecracker/<id>/root.
 */
typedef struct {
    const char *jailer;         /* the jailer executable */
    const char *chroot_base;    /* --chroot-base-dir */
    unsigned int uid, gid;      /* what FC runs as */
    int cgroup_version;         /* 1 or 2: which hierarchy <cputune>/<memtune> are set in */
    bool new_pid_ns;            /* --new-pid-ns */
    const char *netns;          /* --netns PATH; NULL: the host's network namespace */
    const char *seccomp_filter; /* FC's --seccomp-filter FILE; NULL: FC's built-in default */
} BackendJail;

/* What the local driver prepared for one boot: everything host-specific the backend needs. */
typedef struct {
    const char *binary;       /* the hypervisor executable to run (resolved by the driver) */
    const char *log_path;     /* the VMM's log file (pre-created by the backend) */
    int console_fd;           /* the PTY end given to the VMM as stdin/stdout; -1: none (CH:
                                 set exactly when lower.console_stdio) */
    const char *exit_path;    /* where the VMM's waiter records how it ended */
    /* the driver's options for the waiter (cv_process_spawn_kept), NULL-terminated; the
     * backend may add its own */
    const char *const *waiter_opts;
    BackendLowerCtx lower;    /* run_dir, TAP names, overlay paths, extracted kernel */
    /* NULL: boot def. Else restore the VM saved in these files on the fresh VMM instead
     * (FC: PUT /snapshot/load before any other call; CH: vm.restore on a VMM with no VM),
     * left paused when `paused`, running otherwise. */
    const BackendSnapshotFiles *restore;
    /* FC: run under the jailer with these settings; NULL: run the binary itself */
    const BackendJail *jail;
} BackendLaunchCtx;

/*
 * A running VMM as the driver records it in the domain's status file. Written by launch,
 * read back after a restart (pid + start_time identify the process beyond pid reuse).
 */
typedef struct {
    int pid;
    unsigned long long start_time; /* field 22 of /proc/PID/stat: clock ticks since boot */
    char *api_socket;
    char *console_path;            /* the PTY the guest console is on (CH: from vm.info) */
    int waiter_pid;                /* the VMM's parent, writing ctx->exit_path; set by launch
                                      as soon as it runs, even when the launch then fails */
} BackendVm;

void backend_vm_clear(BackendVm *vm);

typedef enum {
    BACKEND_VM_RUNNING,
    BACKEND_VM_PAUSED,
    BACKEND_VM_NOT_STARTED, /* FC "Not started", CH "Created" */
    BACKEND_VM_LAST
} BackendVmState;

/* What a VMM tells of a guest's memory, in KiB; -1 for what it does not tell. */
typedef struct {
    long long actual;      /* the memory the guest has now (its size less the balloon) */
    long long unused;      /* free in the guest (balloon statistics) */
    long long available;   /* the guest's total as it sees it */
    long long usable;      /* reclaimable without swapping */
    long long swap_in, swap_out, major_fault, minor_fault, disk_caches;
} BackendMemoryStats;

/* Counters of one disk as a VMM keeps them; -1 for what it does not keep. */
typedef struct {
    long long rd_req, rd_bytes, wr_req, wr_bytes;
} BackendBlockStats;

typedef enum {
    BACKEND_FIRECRACKER,
    BACKEND_CLOUD_HYPERVISOR,
    BACKEND_LAST
} BackendKind;

typedef struct {
    BackendKind kind;
    const char *name;          /* "firecracker" / "cloud-hypervisor": also the binary's name */
    const char *env_override;  /* "COCOON_FIRECRACKER" / "COCOON_CLOUD_HYPERVISOR" */
    /* domxml-to-native formats this backend writes, NULL-terminated */
    const char *const *native_formats;

    /* Can this backend honour def? VIR_ERR_CONFIG_UNSUPPORTED naming element and backend. */
    int (*validate)(const DomainDef *def, CvError **err);
    /* domxml-to-native: validate, lower, and render in one of native_formats. */
    char *(*to_native)(const DomainDef *def, const char *format, const BackendLowerCtx *ctx,
                       CvError **err);

    /*
     * Runtime. launch spawns the VMM detached (own session, outlives the caller), waits for its
     * API socket, configures and boots it (left paused when `paused`), and fills *ret_vm. On any
     * failure it leaves no process, socket or log-less trace behind and the error carries the
     * VMM's own message. The others act on a VM launch made (or the driver re-attached to).
     */
    int (*launch)(const DomainDef *def, const BackendLaunchCtx *ctx, bool paused,
                  BackendVm *ret_vm, CvError **err);
    int (*query)(const BackendVm *vm, BackendVmState *ret_state, CvError **err);
    int (*suspend)(const BackendVm *vm, CvError **err);
    int (*resume)(const BackendVm *vm, CvError **err);
    /* Ask the guest to power off (FC: SendCtrlAltDel + reboot=k; CH: power button). */
    int (*shutdown)(const BackendVm *vm, CvError **err);
    /* Reboot the guest; FC has none (the driver restarts the process). NULL when absent. */
    int (*reboot)(const BackendVm *vm, CvError **err);
    /* After the VMM exited with wait status `status` that looks clean: whether the guest in
     * fact crashed, from what the VMM logged in log_path (this boot's; CH and FC exit 0 after
     * a vCPU error). NULL: the exit status says all. */
    bool (*exit_crashed)(const char *log_path, int status);
    /*
     * Save the state of a paused VM into files (FC: PUT /snapshot/create, Full; CH:
     * vm.snapshot into files->ch_dir). The VM stays paused. On failure the files may be
     * partly written: the caller owns and removes them.
     */
    int (*snapshot_save)(const BackendVm *vm, const BackendSnapshotFiles *files, CvError **err);
    /* Once the VMM of the live directory run_dir is gone: release what launch made outside it
     * (FC: the jail; the TAPs the boot created, NULL-terminated, when they are in the jail's
     * network namespace). NULL: nothing to release. Best effort. */
    void (*release)(const char *run_dir, const char *const *created_taps);

    /* ---- what clients ask of a backend beyond the lifecycle (issue 12) ---- */
    unsigned int max_vcpus;       /* on x86_64 */
    const char *vcpu_thread_name; /* the VMM's vCPU threads: this, then the vCPU's number */
    /* domcapabilities: append <os>, <cpu>, <memoryBacking>, <devices>, <features> */
    void (*domcaps_format)(GString *xml);
    /* The guest's memory as the VMM reports it (def: the running definition). */
    int (*memory_stats)(const BackendVm *vm, const DomainDef *def, BackendMemoryStats *ret,
                        CvError **err);
    /* Live: leave the guest kib of its memory (the balloon takes the rest of def's
     * <memory>); the driver has checked the balloon exists. */
    int (*set_memory)(const BackendVm *vm, const DomainDef *def, unsigned long long kib,
                      CvError **err);
    /* Live: press Ctrl+Alt+Del on the guest's keyboard; NULL: the VMM has no keyboard. */
    int (*send_ctrl_alt_del)(const BackendVm *vm, CvError **err);
    /* Live: run n vCPUs (up to def's maximum); NULL: the VMM cannot. */
    int (*set_vcpus)(const BackendVm *vm, unsigned int n, CvError **err);
    /* The counters of def->disks[disk]; NULL: the VMM keeps none the driver can read. */
    int (*block_stats)(const BackendVm *vm, const DomainDef *def, size_t disk,
                       BackendBlockStats *ret, CvError **err);
} CocoonBackend;

extern const CocoonBackend fc_backend;
extern const CocoonBackend ch_backend;

/** backend_by_kind: the backend table for kind. */
const CocoonBackend *backend_by_kind(BackendKind kind);

/**
 * backend_for_emulator: the backend whose binary name is the basename of path
 * ("firecracker", "cloud-hypervisor", also "cloud-hypervisor-static"), or NULL.
 */
const CocoonBackend *backend_for_emulator(const char *path);

/**
 * backend_for_native_format: the backend that writes format (e.g. "firecracker-json"), or NULL.
 */
const CocoonBackend *backend_for_native_format(const char *format);
