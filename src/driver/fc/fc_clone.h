#pragma once

#include <glib.h>

#include "driver/backend.h"

/* A Firecracker VM restored as a clone (BackendSnapshotFiles.clone): see backend.h. */

/**
 * fc_clone_argv: argv run through cocoon-vmm-ns (found as cv_paths_helper_find finds helpers,
 * $COCOON_VMM_NS first) with binds in front of it. New vector, or NULL with *err.
 */
GStrv fc_clone_argv(const char *const *argv, const char *const *binds, CvError **err);

/**
 * fc_clone_load: PUT /snapshot/load of files with network_overrides for def's TAPs, then every
 * drive moved to def's own file (PATCH /drives), then resumed unless paused. 0 or -1 with *err.
 */
int fc_clone_load(const char *sock, const BackendSnapshotFiles *files, const DomainDef *def,
                  const BackendLowerCtx *lower, bool paused, CvError **err);
