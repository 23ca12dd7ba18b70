#pragma once

#include "driver/local.h"

/*
 * The local driver's Cocoon-only entry points (driver.h, "Cocoon's own calls"): snapshot
 * export and import (local_archive.c), garbage collection (local_gc.c), clone from a
 * snapshot (local_clone.c). Private to
 * src/driver.
 */

int local_snapshot_export(CocoonDomain *dom, const char *snap, int fd,
                          const CocoonProgress *progress, unsigned int flags, CvError **err);

CocoonDomain *local_snapshot_import(CocoonConn *conn, const char *dom_name, int fd,
                                    const char *new_name, const CocoonProgress *progress,
                                    unsigned int flags, char **ret_snap, CvError **err);

int local_garbage_collect(CocoonConn *conn, unsigned int flags, char ***ret_items,
                          CvError **err);

CocoonDomain *local_domain_clone_from_snapshot(CocoonDomain *src, const char *snap,
                                               const char *new_name, unsigned int flags,
                                               char **ret_notes, CvError **err);
