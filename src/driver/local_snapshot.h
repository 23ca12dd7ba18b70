#pragma once

#include "driver/driver.h"

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
