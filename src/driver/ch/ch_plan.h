#pragma once

#include <glib.h>
#include <stdbool.h>

#include "driver/backend.h"

/*
 * A definition resolved against a lowering context: every value Cloud Hypervisor receives,
 * computed once, so the command line (ch_lower_argv) and the VmConfig (ch_lower_vmconfig)
 * cannot drift apart. Private to src/driver/ch.
 */

typedef enum {
    CH_CHR_OFF,
    CH_CHR_PTY,
    CH_CHR_FILE,
    CH_CHR_SOCKET,
    CH_CHR_TTY, /* the VMM's stdin/stdout */
} ChChrMode;

typedef struct {
    ChChrMode mode;
    const char *path; /* File/Socket */
} ChChrPlan;

typedef struct {
    const char *path;
    bool readonly;
    bool direct; /* O_DIRECT: <driver cache='none'> */
    const char *serial;
    const char *id;
    const char *image_type; /* CLI spelling: "raw", "qcow2", "vhd", "vhdx" */
} ChDiskPlan;

typedef struct {
    char *tap;
    const char *mac;     /* NULL: CH picks one */
    char *ip;            /* host side of the TAP, with mask; NULL when absent */
    char *mask;
    unsigned int mtu;    /* 0: absent */
    unsigned int num_queues; /* 2 × pairs; 0: CH's default */
    char *id;
} ChNetPlan;

typedef struct {
    const char *tag;
    const char *socket;
    unsigned int queue_size;
} ChFsPlan;

typedef struct {
    char *api_socket;

    const char *kernel;
    const char *firmware;
    const char *initramfs;
    char *cmdline;

    unsigned int boot_vcpus;
    unsigned int max_vcpus;

    unsigned long long memory_kib;
    bool shared;
    bool hugepages;
    unsigned long long hugepage_kib; /* 0: CH's default */

    ChDiskPlan *disks;
    size_t ndisks;
    ChNetPlan *nets;
    size_t nnets;

    const char *rng_src; /* NULL: no <rng> */

    ChChrPlan serial;
    ChChrPlan console;

    bool balloon;
    unsigned long long balloon_kib;
    bool deflate_on_oom;
    bool free_page_reporting;

    bool vsock;
    unsigned int vsock_cid;
    char *vsock_socket;

    ChFsPlan *fss;
    size_t nfss;

    char **devices; /* sysfs paths, NULL-terminated */
} ChPlan;

/**
 * ch_plan_new: validate def (ch_validate) and resolve it against ctx. Pure. The plan borrows
 * strings from def and ctx, which must outlive it. Returns a new plan, or NULL with *err.
 */
ChPlan *ch_plan_new(const DomainDef *def, const BackendLowerCtx *ctx, CvError **err);

/** ch_plan_free: free a plan (not the borrowed strings); accepts NULL. */
void ch_plan_free(ChPlan *plan);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ChPlan, ch_plan_free)
