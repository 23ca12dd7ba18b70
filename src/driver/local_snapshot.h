#pragma once

#include "driver/driver.h"
#include "driver/local_lifecycle.h"
#include "snapshot/snapshot_meta.h"

/*
 * The local driver's snapshot entry points (local_snapshot.c: create, revert, delete;
 * local_snapshot_query.c: lookups and lists), over the layout of src/snapshot.
 * Private to src/driver.
 */

CocoonDomainSnapshot *local_domain_snapshot_create_xml(CocoonDomain *dom, const char *xml,
                                                       unsigned int flags, CvError **err);
int local_domain_revert_to_snapshot(CocoonDomainSnapshot *snap, unsigned int flags,
                                    CvError **err);
int local_domain_snapshot_delete(CocoonDomainSnapshot *snap, unsigned int flags, CvError **err);

int local_domain_list_all_snapshots(CocoonDomain *dom, CocoonDomainSnapshot ***ret_snaps,
                                    size_t *ret_n, unsigned int flags, CvError **err);
int local_domain_snapshot_list_all_children(CocoonDomainSnapshot *snap,
                                            CocoonDomainSnapshot ***ret_snaps, size_t *ret_n,
                                            unsigned int flags, CvError **err);
CocoonDomainSnapshot *local_domain_snapshot_lookup_by_name(CocoonDomain *dom, const char *name,
                                                           unsigned int flags, CvError **err);
char *local_domain_snapshot_get_xml_desc(CocoonDomainSnapshot *snap, unsigned int flags,
                                         CvError **err);
CocoonDomainSnapshot *local_domain_snapshot_get_parent(CocoonDomainSnapshot *snap,
                                                       unsigned int flags, CvError **err);
CocoonDomainSnapshot *local_domain_snapshot_current(CocoonDomain *dom, unsigned int flags,
                                                    CvError **err);
int local_domain_has_current_snapshot(CocoonDomain *dom, unsigned int flags, CvError **err);
int local_domain_snapshot_is_current(CocoonDomainSnapshot *snap, unsigned int flags,
                                     CvError **err);
int local_domain_snapshot_has_metadata(CocoonDomainSnapshot *snap, unsigned int flags,
                                       CvError **err);

/**
 * local_snapshot_count: how many snapshots dom has (undefine's check), or -1 with *err.
 */
int local_snapshot_count(CocoonConn *conn, const char *dom, CvError **err);

/* ---- shared with save/restore (local_save.c) ------------------------------------------- */

/**
 * local_snapshot_save_vm: save the paused VM of job into m's folder (FC: vmstate + memory;
 * CH: ch/), recording the files and the memory size in m. 0 or -1 with *err.
 */
int local_snapshot_save_vm(LocalJob *job, const CocoonBackend *backend, SnapshotMeta *m,
                           CvError **err);

/**
 * local_snapshot_restore_vm: start def by restoring the VM saved in m, paused or running;
 * saved: m is a save image (reason and event RESTORED), else a snapshot (FROM_SNAPSHOT).
 */
int local_snapshot_restore_vm(LocalJob *job, DomainDef *def, const SnapshotMeta *m, bool paused,
                              bool saved, CvError **err);

/** local_snapshot_job_stop: stop job's VMM as a destroy, recorded as reason/detail. */
int local_snapshot_job_stop(LocalJob *job, int reason, int detail, CvError **err);
