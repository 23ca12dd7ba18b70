#pragma once

#include "util/cv_error.h"

/*
 * The disks of a snapshot: a writable disk is captured as a file of the snapshot's folder
 * (a reflink where the filesystem shares blocks, else a sparse copy of its data), and a revert
 * puts that copy back in the disk's place.
 */

/**
 * snapshot_disk_capture: copy the regular file source to dest (which must not exist), mode
 * 0600, not yet fsync'ed (the snapshot's commit syncs its folder). On failure no dest is left.
 * 0 or -1 with *err.
 */
int snapshot_disk_capture(const char *source, const char *dest, CvError **err);

/**
 * snapshot_disk_restore: make the file at path a copy of captured again: the copy is made
 * next to path (keeping path's mode), fsync'ed, and renamed over it, so path holds the old
 * contents or the captured ones, never a mix. 0 or -1 with *err.
 */
int snapshot_disk_restore(const char *captured, const char *path, CvError **err);
