#pragma once

#include <stdbool.h>
#include <sys/types.h>

/*
 * Copying a disk image the cheap way: a FICLONE reflink where the filesystem shares blocks,
 * else a sparse copy of the data extents only (SEEK_DATA/SEEK_HOLE, copy_file_range, and
 * all-zero blocks left unwritten), so a copy costs what the image really holds. Used for the
 * overlays of transient disks and for the disks of snapshots.
 */

/**
 * cv_copy_fd: make dst (an empty regular file open for writing) a copy of the first size
 * bytes of src. regular: src is a regular file (reflink and SEEK_DATA are tried); otherwise
 * (a block device) it is read through, zero blocks skipped. dst ends exactly size bytes long.
 * 0, or -1 with errno set (no CvError: the caller names the files).
 */
int cv_copy_fd(int src, int dst, off_t size, bool regular);

/**
 * cv_copy_size: the size of what src holds (st_size, or BLKGETSIZE64 for a block device) into
 * *ret_size, and whether it is a regular file into *ret_regular. 0, or -1 with errno (EINVAL:
 * neither a regular file nor a block device).
 */
int cv_copy_size(int src, off_t *ret_size, bool *ret_regular);
