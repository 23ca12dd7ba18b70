#pragma once

#include <glib.h>
#include <libvirt/libvirt.h> /* constants only: VIR_DOMAIN_*, VIR_CONNECT_LIST_*, flags */
#include <stdbool.h>

#include "driver/stream.h"
#include "util/cv_error.h"
#include "xml/domain_def.h"

/*
 * The one public API of Cocoon, in the part of libvirt's virHypervisorDriver. Two
 * implementations: the local driver (driver/local.c, in-process over a state directory) and
 * the remote driver (rpc/client, the same calls over libvirt's wire protocol). cocoonvirsh and
 * cocoond see only this header.
 *
 * Members are named as libvirt names them (domainDefineXMLFlags, …) so the RPC procedures map
 * one to one. Every member returns 0 / a pointer on success and -1 / NULL with *err set.
 * Flags are libvirt's (VIR_DOMAIN_XML_INACTIVE, VIR_CONNECT_LIST_DOMAINS_ACTIVE, …).
 */

typedef struct CocoonConn CocoonConn;

/* Progress of a long transfer: done of total bytes; called on the caller's thread. */
typedef struct {
    void (*func)(unsigned long long done, unsigned long long total, void *opaque);
    void *opaque;
} CocoonProgress;

/* A reference to a domain, like virDomainPtr: identity only, no state. */
typedef struct {
    CocoonConn *conn; /* borrowed: the connection that made this reference */
    char *name;
    unsigned char uuid[DOMAIN_UUID_LEN];
    int id; /* -1 when not running */
} CocoonDomain;

/* A reference to a snapshot of a domain, like virDomainSnapshotPtr: identity only. */
typedef struct {
    CocoonDomain *dom; /* owned copy of the domain reference */
    char *name;
} CocoonDomainSnapshot;

typedef struct {
    int state;                  /* virDomainState */
    unsigned long long max_mem_kib;
    unsigned long long memory_kib;
    unsigned int nr_virt_cpu;
    unsigned long long cpu_time_ns;
} CocoonDomainInfo;

typedef struct {
    char *model;                /* "x86_64" */
    unsigned long memory_kib;
    unsigned int cpus;
    unsigned int mhz;
    unsigned int nodes, sockets, cores, threads;
} CocoonNodeInfo;

/* A typed parameter (virTypedParameter): what domstats, cpu-stats and friends answer. */
typedef struct {
    char *field;
    int type; /* VIR_TYPED_PARAM_* */
    union {
        int i;
        unsigned int ui;
        long long l;
        unsigned long long ul;
        double d;
        int b;
        char *s;
    } value;
} CocoonTypedParam;

/* A growing list of typed parameters (typed_params.h builds one). */
typedef struct {
    CocoonTypedParam *params;
    size_t n;
    size_t alloc;
} CocoonTypedParams;

/* One vCPU as virVcpuInfo: state is virVcpuState, cpu the host CPU it last ran on. */
typedef struct {
    unsigned int number;
    int state;
    unsigned long long cpu_time_ns;
    int cpu;
} CocoonVcpuInfo;

/* One memory statistic as virDomainMemoryStatStruct (tag VIR_DOMAIN_MEMORY_STAT_*, KiB). */
typedef struct {
    int tag;
    unsigned long long val;
} CocoonMemoryStat;

/* virDomainBlockStatsStruct: -1 for a counter the VMM does not keep. */
typedef struct {
    long long rd_req, rd_bytes, wr_req, wr_bytes, errs;
} CocoonBlockStats;

/* virDomainInterfaceStatsStruct, from the guest's point of view; -1: not kept. */
typedef struct {
    long long rx_bytes, rx_packets, rx_errs, rx_drop;
    long long tx_bytes, tx_packets, tx_errs, tx_drop;
} CocoonInterfaceStats;

/* virDomainBlockInfo: bytes. */
typedef struct {
    unsigned long long capacity, allocation, physical;
} CocoonBlockInfo;

/* One record of connectGetAllDomainStats. */
typedef struct {
    CocoonDomain *dom;
    CocoonTypedParams params;
} CocoonDomainStatsRecord;

/*
 * A domain event of one of libvirt's event ids. What it carries depends on event_id:
 * LIFECYCLE: event is virDomainEventType (DEFINED, STARTED, STOPPED, …), detail its detail
 * enum; REBOOT: nothing; BALLOON_CHANGE: actual_kib; JOB_COMPLETED: params (the job's
 * statistics, virDomainGetJobStats's fields). Everything is borrowed for the call.
 */
typedef struct {
    int event_id; /* VIR_DOMAIN_EVENT_ID_* */
    int event;
    int detail;
    unsigned long long actual_kib;
    const CocoonTypedParams *params;
} CocoonDomainEvent;

/*
 * An event callback. Called from whatever thread noticed the change (a driver call, or the
 * watcher of a VMM process); dom and ev are borrowed for the call.
 */
typedef void (*CocoonDomainEventFunc)(CocoonConn *conn, const CocoonDomain *dom,
                                      const CocoonDomainEvent *ev, void *opaque);

typedef struct CocoonDriver {
    const char *name; /* "cocoon-local", "cocoon-remote" */

    void (*connectClose)(CocoonConn *conn);
    /* libvirt-style version number major*1000000+minor*1000+release */
    int (*connectGetVersion)(CocoonConn *conn, unsigned long long *ret_version, CvError **err);
    char *(*connectGetHostname)(CocoonConn *conn, CvError **err);
    char *(*connectGetCapabilities)(CocoonConn *conn, CvError **err);
    int (*nodeGetInfo)(CocoonConn *conn, CocoonNodeInfo *ret_info, CvError **err);

    /* Domains matching flags (VIR_CONNECT_LIST_DOMAINS_*), running ones first by id, then the
     * rest by name; *ret_doms is a NULL-terminated array freed with cocoon_domain_list_free. */
    int (*connectListAllDomains)(CocoonConn *conn, CocoonDomain ***ret_doms, size_t *ret_n,
                                 unsigned int flags, CvError **err);
    int (*connectNumOfDomains)(CocoonConn *conn, CvError **err);

    CocoonDomain *(*domainLookupByName)(CocoonConn *conn, const char *name, CvError **err);
    CocoonDomain *(*domainLookupByUUID)(CocoonConn *conn, const unsigned char *uuid,
                                        CvError **err);
    CocoonDomain *(*domainLookupByID)(CocoonConn *conn, int id, CvError **err);

    /* Define or redefine (same name: the uuid must match). Durable when it returns. */
    CocoonDomain *(*domainDefineXMLFlags)(CocoonConn *conn, const char *xml, unsigned int flags,
                                          CvError **err);
    int (*domainUndefineFlags)(CocoonDomain *dom, unsigned int flags, CvError **err);
    /* flags: VIR_DOMAIN_XML_INACTIVE for the persistent definition of a running domain */
    char *(*domainGetXMLDesc)(CocoonDomain *dom, unsigned int flags, CvError **err);
    int (*domainGetState)(CocoonDomain *dom, int *ret_state, int *ret_reason, unsigned int flags,
                          CvError **err);
    int (*domainGetInfo)(CocoonDomain *dom, CocoonDomainInfo *ret_info, CvError **err);
    int (*domainIsActive)(CocoonDomain *dom, CvError **err);
    int (*domainIsPersistent)(CocoonDomain *dom, CvError **err);
    int (*domainGetAutostart)(CocoonDomain *dom, int *ret_autostart, CvError **err);
    int (*domainSetAutostart)(CocoonDomain *dom, int autostart, CvError **err);

    /* native format: "firecracker-api", "firecracker-json", "cloud-hypervisor-argv", … */
    char *(*connectDomainXMLToNative)(CocoonConn *conn, const char *format, const char *xml,
                                      unsigned int flags, CvError **err);

    /* Lifecycle (the "Run VMs" work); NULL until implemented: callers answer NO_SUPPORT. */
    int (*domainCreateWithFlags)(CocoonDomain *dom, unsigned int flags, CvError **err);
    CocoonDomain *(*domainCreateXML)(CocoonConn *conn, const char *xml, unsigned int flags,
                                     CvError **err);
    int (*domainShutdownFlags)(CocoonDomain *dom, unsigned int flags, CvError **err);
    int (*domainDestroyFlags)(CocoonDomain *dom, unsigned int flags, CvError **err);
    int (*domainReboot)(CocoonDomain *dom, unsigned int flags, CvError **err);
    int (*domainSuspend)(CocoonDomain *dom, CvError **err);
    int (*domainResume)(CocoonDomain *dom, CvError **err);

    /* Consoles: bind st to the console dev_name (NULL: the first console or serial).
     * flags: VIR_DOMAIN_CONSOLE_FORCE, VIR_DOMAIN_CONSOLE_SAFE. */
    int (*domainOpenConsole)(CocoonDomain *dom, const char *dev_name, CocoonStream *st,
                             unsigned int flags, CvError **err);

    /* Events: register cb for event_id (any VIR_DOMAIN_EVENT_ID_*; Cocoon raises LIFECYCLE,
     * REBOOT, BALLOON_CHANGE and JOB_COMPLETED, the others never) on dom (NULL: all
     * domains). Returns a callback id >= 0; free_opaque(opaque) runs at deregistration.
     * On failure the driver does not call free_opaque: the caller still owns opaque. */
    int (*connectDomainEventRegisterAny)(CocoonConn *conn, CocoonDomain *dom, int event_id,
                                         CocoonDomainEventFunc cb, void *opaque,
                                         GDestroyNotify free_opaque, CvError **err);
    int (*connectDomainEventDeregisterAny)(CocoonConn *conn, int callback_id, CvError **err);

    /* The guest OS type of <os><type> ("hvm"); new string. */
    char *(*domainGetOSType)(CocoonDomain *dom, CvError **err);
    /* 1 when a managed-save image exists, else 0. */
    int (*domainHasManagedSaveImage)(CocoonDomain *dom, unsigned int flags, CvError **err);

    /*
     * Domain snapshots (libvirt's virDomainSnapshot* API; flags are libvirt's
     * VIR_DOMAIN_SNAPSHOT_*). Lists are NULL-terminated arrays freed with
     * cocoon_domain_snapshot_list_free, oldest first. NULL members: NO_SUPPORT.
     */
    CocoonDomainSnapshot *(*domainSnapshotCreateXML)(CocoonDomain *dom, const char *xml,
                                                     unsigned int flags, CvError **err);
    int (*domainListAllSnapshots)(CocoonDomain *dom, CocoonDomainSnapshot ***ret_snaps,
                                  size_t *ret_n, unsigned int flags, CvError **err);
    int (*domainSnapshotListAllChildren)(CocoonDomainSnapshot *snap,
                                         CocoonDomainSnapshot ***ret_snaps, size_t *ret_n,
                                         unsigned int flags, CvError **err);
    CocoonDomainSnapshot *(*domainSnapshotLookupByName)(CocoonDomain *dom, const char *name,
                                                        unsigned int flags, CvError **err);
    char *(*domainSnapshotGetXMLDesc)(CocoonDomainSnapshot *snap, unsigned int flags,
                                      CvError **err);
    CocoonDomainSnapshot *(*domainSnapshotGetParent)(CocoonDomainSnapshot *snap,
                                                     unsigned int flags, CvError **err);
    CocoonDomainSnapshot *(*domainSnapshotCurrent)(CocoonDomain *dom, unsigned int flags,
                                                   CvError **err);
    /* 1 / 0, or -1 with *err */
    int (*domainHasCurrentSnapshot)(CocoonDomain *dom, unsigned int flags, CvError **err);
    int (*domainSnapshotIsCurrent)(CocoonDomainSnapshot *snap, unsigned int flags,
                                   CvError **err);
    int (*domainSnapshotHasMetadata)(CocoonDomainSnapshot *snap, unsigned int flags,
                                     CvError **err);
    int (*domainRevertToSnapshot)(CocoonDomainSnapshot *snap, unsigned int flags,
                                  CvError **err);
    int (*domainSnapshotDelete)(CocoonDomainSnapshot *snap, unsigned int flags, CvError **err);

    /* save / restore / managed save (flags: VIR_DOMAIN_SAVE_*; dxml: must be NULL) */
    int (*domainSaveFlags)(CocoonDomain *dom, const char *to, const char *dxml,
                           unsigned int flags, CvError **err);
    int (*domainRestoreFlags)(CocoonConn *conn, const char *from, const char *dxml,
                              unsigned int flags, CvError **err);
    int (*domainManagedSave)(CocoonDomain *dom, unsigned int flags, CvError **err);
    int (*domainManagedSaveRemove)(CocoonDomain *dom, unsigned int flags, CvError **err);
    /* ---- everyday host, vCPU and statistics calls (local_node.c, local_stats.c) ---- */
    /* the most vCPUs a domain of hypervisor type may have (NULL: the default backend) */
    int (*connectGetMaxVcpus)(CocoonConn *conn, const char *type, CvError **err);
    int (*nodeGetFreeMemory)(CocoonConn *conn, unsigned long long *ret_bytes, CvError **err);
    /* the host CPUs: returns how many exist; *ret_map (g_free, one bit per CPU, set when
     * online; may be NULL) and *ret_online */
    int (*nodeGetCPUMap)(CocoonConn *conn, unsigned char **ret_map, unsigned int *ret_online,
                         CvError **err);
    /* free bytes of cells start.. into cells[max]; returns how many were filled */
    int (*nodeGetCellsFreeMemory)(CocoonConn *conn, unsigned long long *cells, int start,
                                  int max, CvError **err);
    /* domcapabilities XML for the backend chosen by emulatorbin / virttype; new string */
    char *(*connectGetDomainCapabilities)(CocoonConn *conn, const char *emulatorbin,
                                          const char *arch, const char *machine,
                                          const char *virttype, unsigned int flags,
                                          CvError **err);
    int (*domainGetMaxMemory)(CocoonDomain *dom, unsigned long long *ret_kib, CvError **err);
    /* flags VIR_DOMAIN_AFFECT_*, VIR_DOMAIN_VCPU_MAXIMUM; returns the count */
    int (*domainGetVcpusFlags)(CocoonDomain *dom, unsigned int flags, CvError **err);
    /* the vCPUs of a running domain: *ret_info (g_free) of *ret_n entries */
    int (*domainGetVcpus)(CocoonDomain *dom, CocoonVcpuInfo **ret_info, size_t *ret_n,
                          CvError **err);
    /* the whole domain's CPU time (cpu_time, user_time, system_time), into params */
    int (*domainGetCPUStats)(CocoonDomain *dom, CocoonTypedParams *params, unsigned int flags,
                             CvError **err);
    /* up to max statistics into stats; returns how many */
    int (*domainMemoryStats)(CocoonDomain *dom, CocoonMemoryStat *stats, unsigned int max,
                             unsigned int flags, CvError **err);
    /* path: the disk's target ("vda") or source path */
    int (*domainBlockStats)(CocoonDomain *dom, const char *path, CocoonBlockStats *ret_stats,
                            CvError **err);
    /* device: the interface's TAP name or MAC address */
    int (*domainInterfaceStats)(CocoonDomain *dom, const char *device,
                                CocoonInterfaceStats *ret_stats, CvError **err);
    /* setmem (flags VIR_DOMAIN_AFFECT_*, VIR_DOMAIN_MEM_MAXIMUM: setmaxmem), KiB */
    int (*domainSetMemoryFlags)(CocoonDomain *dom, unsigned long long kib, unsigned int flags,
                                CvError **err);
    /* setvcpus (flags VIR_DOMAIN_AFFECT_*, VIR_DOMAIN_VCPU_MAXIMUM) */
    int (*domainSetVcpusFlags)(CocoonDomain *dom, unsigned int n, unsigned int flags,
                               CvError **err);
    /* domblkinfo: path is the disk's target or source */
    int (*domainGetBlockInfo)(CocoonDomain *dom, const char *path, CocoonBlockInfo *ret_info,
                              unsigned int flags, CvError **err);
    /* send-key: keycodes of codeset (VIR_KEYCODE_SET_*) pressed together for holdtime ms */
    int (*domainSendKey)(CocoonDomain *dom, unsigned int codeset, unsigned int holdtime,
                         const unsigned int *keycodes, int nkeycodes, unsigned int flags,
                         CvError **err);
    /* one record per domain of doms (NULL: every domain matching flags); stats
     * VIR_DOMAIN_STATS_* (0: all); *ret_records freed with cocoon_domain_stats_free */
    int (*connectGetAllDomainStats)(CocoonConn *conn, CocoonDomain **doms, size_t ndoms,
                                    unsigned int stats, unsigned int flags,
                                    CocoonDomainStatsRecord **ret_records, size_t *ret_n,
                                    CvError **err);
    /* ---- Cocoon's own calls (no libvirt API; the second RPC program of DESIGN.md) ---- */
    /* Write snapshot snap of dom to fd as a portable archive (snapshot/snapshot_archive.h);
     * progress may be NULL. */
    int (*cocoonSnapshotExport)(CocoonDomain *dom, const char *snap, int fd,
                                const CocoonProgress *progress, unsigned int flags,
                                CvError **err);
    /* Read an archive from fd into a snapshot of domain dom_name (NULL: the one the archive
     * names) called new_name (NULL: its own name), defining the domain from the archive when
     * it does not exist. *ret_snap: the snapshot's name. Returns the domain. */
    CocoonDomain *(*cocoonSnapshotImport)(CocoonConn *conn, const char *dom_name, int fd,
                                          const char *new_name, const CocoonProgress *progress,
                                          unsigned int flags, char **ret_snap, CvError **err);
    /* Remove what no domain or snapshot uses (flags: COCOON_GC_DRY_RUN: only list it);
     * *ret_items: a NULL-terminated list of what was (or would be) removed. */
    int (*cocoonGarbageCollect)(CocoonConn *conn, unsigned int flags, char ***ret_items,
                                CvError **err);
    /* A new domain new_name from snapshot snap of src: its own disk copies and TAPs, restored
     * from the snapshot's memory when it has some (flags: COCOON_CLONE_PAUSED). *ret_notes:
     * what the clone kept from the snapshot (may be NULL). */
    CocoonDomain *(*cocoonDomainCloneFromSnapshot)(CocoonDomain *src, const char *snap,
                                                   const char *new_name, unsigned int flags,
                                                   char **ret_notes, CvError **err);
} CocoonDriver;

enum { COCOON_GC_DRY_RUN = 1 << 0 };
enum { COCOON_CLONE_PAUSED = 1 << 0 };

struct CocoonConn {
    const CocoonDriver *driver;
    char *uri;                      /* the canonical URI of this connection */
    void *priv;                     /* the driver's own state */
};

/**
 * cocoon_conn_open: open uri (NULL: the default of DESIGN.md: $COCOON_DEFAULT_URI, else the
 * daemon if its socket answers, else the embedded driver at the default root).
 * Returns a connection closed with cocoon_conn_close, or NULL with *err.
 */
CocoonConn *cocoon_conn_open(const char *uri, unsigned int flags, CvError **err);
void cocoon_conn_close(CocoonConn *conn);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CocoonConn, cocoon_conn_close)

/** cocoon_domain_new: a reference made by conn's driver. */
CocoonDomain *cocoon_domain_new(CocoonConn *conn, const char *name, const unsigned char *uuid,
                                int id);
void cocoon_domain_free(CocoonDomain *dom);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CocoonDomain, cocoon_domain_free)
void cocoon_domain_list_free(CocoonDomain **doms);

/** cocoon_domain_snapshot_new: a reference to snapshot name of dom (dom is copied). */
CocoonDomainSnapshot *cocoon_domain_snapshot_new(const CocoonDomain *dom, const char *name);
void cocoon_domain_snapshot_free(CocoonDomainSnapshot *snap);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CocoonDomainSnapshot, cocoon_domain_snapshot_free)
void cocoon_domain_snapshot_list_free(CocoonDomainSnapshot **snaps);
/** cocoon_memory_stat_name: libvirt's name of a VIR_DOMAIN_MEMORY_STAT_* tag ("actual",
 * "rss", as dommemstat and domstats' balloon.* print it), or NULL. */
const char *cocoon_memory_stat_name(int tag);

/** cocoon_domain_stats_free: free n records of connectGetAllDomainStats (NULL: nothing). */
void cocoon_domain_stats_free(CocoonDomainStatsRecord *records, size_t n);
