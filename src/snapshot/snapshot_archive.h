#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/cv_error.h"

/*
 * Portable snapshot archives: one snapshot folder (SNAPSHOT-LAYOUT.md) as a zstd-compressed
 * POSIX tar (pax), readable by GNU `tar --zstd`. The archive holds one folder named after the
 * snapshot; its first member is a manifest, cocoon-archive.json, naming the domain, the
 * snapshot, the backend and every member with its size, so a reader can refuse an archive
 * before it writes the bulk of it. Every path is relative to the snapshot folder, so another
 * host with another root imports it. Files with holes are stored as sparse members (GNU sparse
 * 1.0, which GNU tar restores as holes) and extracted with their holes. Data streams through
 * buffers of a few MiB: no file is ever held whole in memory.
 *
 * Errors: VIR_FROM_NONE; a hostile or damaged archive is VIR_ERR_INVALID_ARG
 * ("invalid snapshot archive: …"), an I/O failure VIR_ERR_SYSTEM_ERROR.
 */

#define SNAPSHOT_ARCHIVE_MANIFEST "cocoon-archive.json"

/* Called as data moves: done and total count the bytes of file data (holes excluded). */
typedef void (*SnapshotArchiveProgressFunc)(unsigned long long done, unsigned long long total,
                                            void *opaque);

typedef struct {
    const char *domain;   /* recorded in the manifest */
    const char *snapshot; /* recorded, and the name of the folder in the archive */
    const char *backend;  /* "firecracker" / "cloud-hypervisor", recorded */
    unsigned int threads; /* zstd workers; 0: one per online CPU */
    int level;            /* zstd level; 0: the default of this module */
    SnapshotArchiveProgressFunc progress; /* may be NULL */
    void *opaque;
} SnapshotArchiveWriteOpts;

/**
 * snapshot_archive_write: write the snapshot folder dirfd (dir_path names it in errors) to
 * out_fd as an archive. Only regular files and directories may be in the folder (anything
 * else is refused before a byte is written). 0 or -1 with *err; out_fd stays open.
 */
int snapshot_archive_write(int dirfd, const char *dir_path, int out_fd,
                           const SnapshotArchiveWriteOpts *opts, CvError **err);

typedef struct {
    char *domain;   /* as the manifest names them */
    char *snapshot;
    char *backend;
    uint64_t data_bytes; /* file data the manifest states, holes excluded */
} SnapshotArchiveInfo;

void snapshot_archive_info_free(SnapshotArchiveInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SnapshotArchiveInfo, snapshot_archive_info_free)

/*
 * Called once the manifest is read and before any member is written: the caller refuses an
 * archive it cannot take (wrong backend, a name in use) with -1 and *err.
 */
typedef int (*SnapshotArchiveCheckFunc)(const SnapshotArchiveInfo *info, void *opaque,
                                        CvError **err);

typedef struct {
    SnapshotArchiveCheckFunc check; /* may be NULL */
    void *check_opaque;
    SnapshotArchiveProgressFunc progress; /* may be NULL */
    void *progress_opaque;
} SnapshotArchiveReadOpts;

/**
 * snapshot_archive_read: extract the archive read from in_fd into the empty directory
 * staging_fd (staging_path in errors). Refused, with nothing written outside staging_fd:
 * a first member that is not the manifest, absolute paths, "..", members outside the folder
 * or not in the manifest, symbolic and hard links, devices and FIFOs, a member whose size is
 * not the stated one, missing members, truncated or corrupt data. Every file written is
 * fsync'd. On failure staging_fd may hold a partial extraction: the caller removes it.
 * *ret_info (new) on success. 0 or -1 with *err.
 */
int snapshot_archive_read(int in_fd, int staging_fd, const char *staging_path,
                          const SnapshotArchiveReadOpts *opts, SnapshotArchiveInfo **ret_info,
                          CvError **err);

/** snapshot_archive_name_ok: whether name can be one path component (a folder name). */
bool snapshot_archive_name_ok(const char *name);

/** snapshot_archive_refuse: the error of a refused archive, VIR_ERR_INVALID_ARG
 * "invalid snapshot archive: …". */
void snapshot_archive_refuse(CvError **err, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
