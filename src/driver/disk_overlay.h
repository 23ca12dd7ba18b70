#pragma once

#include "util/cv_error.h"

/*
 * Transient disks (<transient/>): each boot writes to a private copy-on-write overlay of the
 * base image, removed at shutdown, so the base image is never written.
 */

/**
 * disk_overlay_create: make overlay_path (mode 0600, must not exist) a copy of source:
 * a FICLONE reflink where the filesystem shares blocks, else a sparse copy (holes kept with
 * SEEK_DATA/SEEK_HOLE). Block-device sources are copied sparsely into a regular file.
 * On failure no partial overlay is left.
 */
int disk_overlay_create(const char *source, const char *overlay_path, CvError **err);
