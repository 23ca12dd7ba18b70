#pragma once

#include "driver/driver.h"
#include "remote_conn.h"

/*
 * Shared by the remote driver's files: remote_driver.c (open, close, host, lists, lookups,
 * definitions), remote_domain.c (per-domain queries and lifecycle), remote_stream.c
 * (consoles) and remote_event.c (events).
 */

/* libvirt's feature numbers (src/libvirt_internal.h) */
#define REMOTE_FEATURE_PROGRAM_KEEPALIVE 10
#define REMOTE_FEATURE_REMOTE_EVENT_CALLBACK 14
#define REMOTE_FEATURE_REMOTE_CLOSE_CALLBACK 15

typedef struct {
    CocoonConn *conn; /* borrowed: the connection this is the priv of */
    RemoteConn *rc;
    bool read_only;
    bool events_supported;

    GMutex event_lock;
    GHashTable *events; /* callbackID → RemoteEventReg * */
} RemotePriv;

/** remote_priv: the remote state of conn. */
static inline RemotePriv *
remote_priv(CocoonConn *conn)
{
    return conn->priv;
}

/** remote_call: one call on conn (see remote_conn_call) under a fresh serial. */
int remote_call(CocoonConn *conn, int proc, xdrproc_t args_filter, const void *args,
                xdrproc_t ret_filter, void *ret, size_t ret_size, CvError **err);

/** remote_domain_to_wire: w borrows dom's name (valid while dom is). */
void remote_domain_to_wire(const CocoonDomain *dom, cvr_nonnull_domain *w);

/** remote_domain_from_wire: a new reference on conn. */
CocoonDomain *remote_domain_from_wire(CocoonConn *conn, const cvr_nonnull_domain *w);

/* ---- remote_domain.c: the members that act on one domain (driver.h documents them) ---- */
int remote_domain_undefine_flags(CocoonDomain *dom, unsigned int flags, CvError **err);
char *remote_domain_get_xml_desc(CocoonDomain *dom, unsigned int flags, CvError **err);
int remote_domain_get_state(CocoonDomain *dom, int *ret_state, int *ret_reason,
                            unsigned int flags, CvError **err);
int remote_domain_get_info(CocoonDomain *dom, CocoonDomainInfo *ret_info, CvError **err);
int remote_domain_is_active(CocoonDomain *dom, CvError **err);
int remote_domain_is_persistent(CocoonDomain *dom, CvError **err);
int remote_domain_get_autostart(CocoonDomain *dom, int *ret_autostart, CvError **err);
int remote_domain_set_autostart(CocoonDomain *dom, int autostart, CvError **err);
char *remote_domain_get_os_type(CocoonDomain *dom, CvError **err);
int remote_domain_has_managed_save_image(CocoonDomain *dom, unsigned int flags, CvError **err);
int remote_domain_create_with_flags(CocoonDomain *dom, unsigned int flags, CvError **err);
int remote_domain_shutdown_flags(CocoonDomain *dom, unsigned int flags, CvError **err);
int remote_domain_destroy_flags(CocoonDomain *dom, unsigned int flags, CvError **err);
int remote_domain_reboot(CocoonDomain *dom, unsigned int flags, CvError **err);
int remote_domain_suspend(CocoonDomain *dom, CvError **err);
int remote_domain_resume(CocoonDomain *dom, CvError **err);

/* ---- remote_snapshot.c: the snapshot members ---- */
CocoonDomainSnapshot *remote_domain_snapshot_create_xml(CocoonDomain *dom, const char *xml,
                                                        unsigned int flags, CvError **err);
int remote_domain_list_all_snapshots(CocoonDomain *dom, CocoonDomainSnapshot ***ret_snaps,
                                     size_t *ret_n, unsigned int flags, CvError **err);
int remote_domain_snapshot_list_all_children(CocoonDomainSnapshot *snap,
                                             CocoonDomainSnapshot ***ret_snaps, size_t *ret_n,
                                             unsigned int flags, CvError **err);
CocoonDomainSnapshot *remote_domain_snapshot_lookup_by_name(CocoonDomain *dom, const char *name,
                                                            unsigned int flags, CvError **err);
char *remote_domain_snapshot_get_xml_desc(CocoonDomainSnapshot *snap, unsigned int flags,
                                          CvError **err);
CocoonDomainSnapshot *remote_domain_snapshot_get_parent(CocoonDomainSnapshot *snap,
                                                        unsigned int flags, CvError **err);
CocoonDomainSnapshot *remote_domain_snapshot_current(CocoonDomain *dom, unsigned int flags,
                                                     CvError **err);
int remote_domain_has_current_snapshot(CocoonDomain *dom, unsigned int flags, CvError **err);
int remote_domain_snapshot_is_current(CocoonDomainSnapshot *snap, unsigned int flags,
                                      CvError **err);
int remote_domain_snapshot_has_metadata(CocoonDomainSnapshot *snap, unsigned int flags,
                                        CvError **err);
int remote_domain_revert_to_snapshot(CocoonDomainSnapshot *snap, unsigned int flags,
                                     CvError **err);
int remote_domain_snapshot_delete(CocoonDomainSnapshot *snap, unsigned int flags, CvError **err);

/* ---- remote_save.c ---- */
int remote_domain_save_flags(CocoonDomain *dom, const char *to, const char *dxml,
                             unsigned int flags, CvError **err);
int remote_domain_restore_flags(CocoonConn *conn, const char *from, const char *dxml,
                                unsigned int flags, CvError **err);
int remote_domain_managed_save(CocoonDomain *dom, unsigned int flags, CvError **err);
int remote_domain_managed_save_remove(CocoonDomain *dom, unsigned int flags, CvError **err);

/* ---- remote_stream.c ---- */
int remote_domain_open_console(CocoonDomain *dom, const char *dev_name, CocoonStream *st,
                               unsigned int flags, CvError **err);

/* ---- remote_event.c ---- */
int remote_event_register_any(CocoonConn *conn, CocoonDomain *dom, int event_id,
                              CocoonDomainEventFunc cb, void *opaque,
                              GDestroyNotify free_opaque, CvError **err);
int remote_event_deregister_any(CocoonConn *conn, int callback_id, CvError **err);

/** remote_event_message: the connection's MESSAGE handler (opaque: the RemotePriv). */
void remote_event_message(RemoteConn *rc, const cvr_message_header *hdr, const guint8 *body,
                          size_t len, void *opaque);

/** remote_event_free_all: drop every registration (connection closing). */
void remote_event_free_all(RemotePriv *priv);

/* remote_stats.c */
int remote_connect_get_max_vcpus(CocoonConn *conn, const char *type, CvError **err);
int remote_node_get_free_memory(CocoonConn *conn, unsigned long long *ret_bytes, CvError **err);
int remote_node_get_cells_free_memory(CocoonConn *conn, unsigned long long *cells, int start,
                                      int max, CvError **err);
int remote_node_get_cpu_map(CocoonConn *conn, unsigned char **ret_map, unsigned int *ret_online,
                            CvError **err);
char * remote_connect_get_domain_capabilities(CocoonConn *conn, const char *emulatorbin,
                                             const char *arch, const char *machine,
                                             const char *virttype, unsigned int flags,
                                             CvError **err);
int remote_domain_get_max_memory(CocoonDomain *dom, unsigned long long *ret_kib, CvError **err);
int remote_domain_get_vcpus_flags(CocoonDomain *dom, unsigned int flags, CvError **err);
int remote_domain_get_vcpus(CocoonDomain *dom, CocoonVcpuInfo **ret_info, size_t *ret_n,
                            CvError **err);
int remote_domain_get_cpu_stats(CocoonDomain *dom, CocoonTypedParams *params, unsigned int flags,
                                CvError **err);
int remote_domain_memory_stats(CocoonDomain *dom, CocoonMemoryStat *stats, unsigned int max,
                               unsigned int flags, CvError **err);
int remote_domain_block_stats(CocoonDomain *dom, const char *path, CocoonBlockStats *ret_stats,
                              CvError **err);
int remote_domain_interface_stats(CocoonDomain *dom, const char *device,
                                  CocoonInterfaceStats *ret_stats, CvError **err);
int remote_connect_get_all_domain_stats(CocoonConn *conn, CocoonDomain **doms, size_t ndoms,
                                        unsigned int stats, unsigned int flags,
                                        CocoonDomainStatsRecord **ret_records, size_t *ret_n,
                                        CvError **err);
int remote_domain_set_memory_flags(CocoonDomain *dom, unsigned long long kib, unsigned int flags,
                                   CvError **err);
int remote_domain_set_vcpus_flags(CocoonDomain *dom, unsigned int n, unsigned int flags,
                                  CvError **err);
int remote_domain_get_block_info(CocoonDomain *dom, const char *path, CocoonBlockInfo *ret_info,
                                 unsigned int flags, CvError **err);
int remote_domain_send_key(CocoonDomain *dom, unsigned int codeset, unsigned int holdtime,
                           const unsigned int *keycodes, int nkeycodes, unsigned int flags,
                           CvError **err);

/* ---- remote_cocoon.c: Cocoon's own program ---- */
CocoonDomain *remote_cocoon_domain_clone_from_snapshot(CocoonDomain *src, const char *snap,
                                                       const char *new_name, unsigned int flags,
                                                       char **ret_notes, CvError **err);
int remote_cocoon_garbage_collect(CocoonConn *conn, unsigned int flags, char ***ret_items,
                                  CvError **err);

/* ---- remote_archive.c: snapshot archives as streams of Cocoon's program ---- */
int remote_cocoon_snapshot_export(CocoonDomain *dom, const char *snap, int fd,
                                  const CocoonProgress *progress, unsigned int flags,
                                  CvError **err);
CocoonDomain *remote_cocoon_snapshot_import(CocoonConn *conn, const char *dom_name, int fd,
                                            const char *new_name, const CocoonProgress *progress,
                                            unsigned int flags, char **ret_snap, CvError **err);
