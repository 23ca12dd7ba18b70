#pragma once

#include "util/cv_error.h"

/*
 * Firecracker boots only an uncompressed ELF vmlinux on x86_64. Distribution kernels ship as
 * bzImage (vmlinuz) with a gzip or zstd payload: extract it once into a cache and reuse it.
 */

/**
 * kernel_image_resolve: the path FC should boot for kernel_path. An ELF file is returned as
 * it is. A bzImage (gzip or zstd payload; others: VIR_ERR_CONFIG_UNSUPPORTED naming the
 * compression) is extracted into cache_dir (created if needed) as an ELF vmlinux, written
 * atomically, and reused while the source is unchanged (device, inode, size and mtime are
 * part of the cache key). Returns a new string, or NULL with *err.
 */
char *kernel_image_resolve(const char *kernel_path, const char *cache_dir, CvError **err);

/**
 * kernel_image_cache_name: the name of the cache entry kernel_path resolves to while it stays
 * as it is now (what gc keeps), or NULL when there is no such file. New string.
 */
char *kernel_image_cache_name(const char *kernel_path);
