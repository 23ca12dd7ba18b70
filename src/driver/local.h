#pragma once

#include "driver/config.h"
#include "driver/domain_store.h"
#include "driver/driver.h"

/*
 * The local (embedded) driver: the API of driver.h in-process over a state directory
 * (domain_store.h). Private to src/driver.
 */

typedef struct DomainEvents DomainEvents;
typedef struct DomainWatch DomainWatch;

typedef struct {
    DomainStore *store;
    CocoonConfig *config;
    DomainEvents *events; /* lifecycle callbacks (domain_events.h) */
    GMutex watch_lock;    /* guards watch */
    DomainWatch *watch;   /* the VMM watcher, started with the first callback (domain_watch.h) */
} LocalDriverPriv;

extern const CocoonDriver local_driver;

/**
 * local_conn_open: a connection of the local driver with persistent state in root and live
 * state in run (both created 0700), reading the host configuration. uri becomes conn->uri.
 * Returns a connection closed with cocoon_conn_close, or NULL with *err.
 */
CocoonConn *local_conn_open(const char *uri, const char *root, const char *run, CvError **err);

/**
 * local_domain_refresh_name: when dom's uuid names a domain under another name (the handle
 * is stale: the domain was renamed or redefined), take that name into dom. true when it did.
 */
bool local_domain_refresh_name(CocoonDomain *dom);

/**
 * local_domain_read_def: the definition that answers for dom now (the running one while it
 * runs; inactive: the persistent one), and its store entry in *ret_entry when not NULL.
 * NULL with *err.
 */
DomainDef *local_domain_read_def(CocoonDomain *dom, bool inactive, DomainStoreEntry **ret_entry,
                                 CvError **err);

/* Everyday host and statistics entry points (local_node.c, local_stats.c). */
int local_connect_get_max_vcpus(CocoonConn *conn, const char *type, CvError **err);
int local_node_get_free_memory(CocoonConn *conn, unsigned long long *ret_bytes, CvError **err);
int local_node_get_cpu_map(CocoonConn *conn, unsigned char **ret_map, unsigned int *ret_online,
                           CvError **err);
int local_node_get_cells_free_memory(CocoonConn *conn, unsigned long long *cells, int start,
                                     int max, CvError **err);
char *local_connect_get_domain_capabilities(CocoonConn *conn, const char *emulatorbin,
                                            const char *arch, const char *machine,
                                            const char *virttype, unsigned int flags,
                                            CvError **err);
int local_domain_get_max_memory(CocoonDomain *dom, unsigned long long *ret_kib, CvError **err);
int local_domain_get_vcpus_flags(CocoonDomain *dom, unsigned int flags, CvError **err);
int local_domain_get_vcpus(CocoonDomain *dom, CocoonVcpuInfo **ret_info, size_t *ret_n,
                           CvError **err);
int local_domain_get_cpu_stats(CocoonDomain *dom, CocoonTypedParams *params, unsigned int flags,
                               CvError **err);
int local_domain_memory_stats(CocoonDomain *dom, CocoonMemoryStat *stats, unsigned int max,
                              unsigned int flags, CvError **err);
int local_domain_block_stats(CocoonDomain *dom, const char *path, CocoonBlockStats *ret_stats,
                             CvError **err);
int local_domain_interface_stats(CocoonDomain *dom, const char *device,
                                 CocoonInterfaceStats *ret_stats, CvError **err);
int local_connect_get_all_domain_stats(CocoonConn *conn, CocoonDomain **doms, size_t ndoms,
                                       unsigned int stats, unsigned int flags,
                                       CocoonDomainStatsRecord **ret_records, size_t *ret_n,
                                       CvError **err);

/* setmem / setvcpus (local_tune.c) */
int local_domain_set_memory_flags(CocoonDomain *dom, unsigned long long kib, unsigned int flags,
                                  CvError **err);
int local_domain_set_vcpus_flags(CocoonDomain *dom, unsigned int n, unsigned int flags,
                                 CvError **err);

int local_domain_send_key(CocoonDomain *dom, unsigned int codeset, unsigned int holdtime,
                          const unsigned int *keycodes, int nkeycodes, unsigned int flags,
                          CvError **err);
/* domblkinfo (local_block_info.c) */
int local_domain_get_block_info(CocoonDomain *dom, const char *path, CocoonBlockInfo *ret_info,
                                unsigned int flags, CvError **err);

/* Events beyond lifecycle (local_events.c), for whatever code notices them: the domain's
 * name, uuid and id (-1 when not running). */
/** local_events_emit_reboot: the guest reset (VIR_DOMAIN_EVENT_ID_REBOOT). */
void local_events_emit_reboot(CocoonConn *conn, const char *name, const unsigned char *uuid,
                              int id);
/**
 * local_events_check_reboots: emit REBOOT for each guest reset the VMM waiters noted
 * (vmm.notes: CH resets in place) since the last check; seen (name → what was seen, made
 * with g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free)) is the caller's memory
 * of the running domains. A boot seen for the first time raises nothing.
 */
void local_events_check_reboots(CocoonConn *conn, GHashTable *seen);
/** local_events_emit_balloon_change: the balloon now leaves the guest actual_kib. */
void local_events_emit_balloon_change(CocoonConn *conn, const char *name,
                                      const unsigned char *uuid, int id,
                                      unsigned long long actual_kib);
/**
 * local_events_emit_job_completed: a job (snapshot, save, restore) ended; params are its
 * statistics as virDomainGetJobStats gives them (VIR_DOMAIN_JOB_*; NULL: none). Borrowed.
 */
void local_events_emit_job_completed(CocoonConn *conn, const char *name,
                                     const unsigned char *uuid, int id,
                                     const CocoonTypedParams *params);

/* Host-wide entry points (local_host.c). */
/**
 * local_check_flags: refuse flags outside allowed, in libvirt's words ("unsupported flags
 * (0x%x) in function %s"); 0 or -1 with *err.
 */
int local_check_flags(unsigned int flags, unsigned int allowed, const char *func, CvError **err);

int local_connect_get_version(CocoonConn *conn, unsigned long long *ret_version, CvError **err);
char *local_connect_get_hostname(CocoonConn *conn, CvError **err);
char *local_connect_get_capabilities(CocoonConn *conn, CvError **err);
int local_node_get_info(CocoonConn *conn, CocoonNodeInfo *ret_info, CvError **err);

/** local_version_parse: "major.minor.micro" as major*1000000+minor*1000+micro, or -1. */
long long local_version_parse(const char *version);

/**
 * local_conn_autostart: start every persistent domain marked autostart that is not running
 * (cocoond at start-up). Returns how many failed to start; the first failure in *err.
 */
int local_conn_autostart(CocoonConn *conn, CvError **err);
