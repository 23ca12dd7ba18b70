#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "snapshot/snapshot_archive.h"

/* Shared by the writer and the reader of snapshot archives (snapshot_archive*.c). */

#define SNAPSHOT_ARCHIVE_FORMAT "cocoon-snapshot-archive"
#define SNAPSHOT_ARCHIVE_VERSION 1
#define SNAPSHOT_ARCHIVE_MANIFEST_MAX (1024 * 1024)
/* the buffer files stream through */
#define SNAPSHOT_ARCHIVE_BUF (4 * 1024 * 1024)

typedef struct {
    char *path;     /* relative to the snapshot folder */
    bool dir;
    uint64_t size;  /* logical size of a file */
    uint64_t data;  /* bytes of it that are not holes */
} SnapshotArchiveMember;

typedef struct {
    SnapshotArchiveInfo info;
    GPtrArray *members; /* of SnapshotArchiveMember, in archive order */
} SnapshotArchiveManifest;

void snapshot_archive_member_free(gpointer member);
void snapshot_archive_manifest_free(SnapshotArchiveManifest *m);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SnapshotArchiveManifest, snapshot_archive_manifest_free)

/** The manifest as JSON text (new string). */
char *snapshot_archive_manifest_format(const SnapshotArchiveManifest *m);

/** Parse and check a manifest: new manifest or NULL with *err. */
SnapshotArchiveManifest *snapshot_archive_manifest_parse(const char *text, CvError **err);

/**
 * snapshot_archive_path_ok: whether rel is a safe relative path: non-empty components, none
 * "." or "..", no leading '/', no NUL, short enough.
 */
bool snapshot_archive_path_ok(const char *rel);


/* ---- the writer's plan (snapshot_archive_plan.c) ---- */

typedef struct {
    off_t off, len;
} SnapshotArchiveSegment;

typedef struct {
    GArray *segments; /* of SnapshotArchiveSegment, in order: the data to send */
} SnapshotArchiveSource;

typedef struct {
    SnapshotArchiveManifest *manifest; /* the caller's; members are appended, in archive order */
    GPtrArray *sources; /* SnapshotArchiveSource per member (NULL for a directory) */
} SnapshotArchivePlan;

/**
 * snapshot_archive_plan: walk the folder dirfd (dir_path in errors) into plan->manifest
 * (members, data bytes) and plan->sources (new). Only regular files and directories are
 * taken. 0 or -1 with *err; plan->sources is to be unref'd either way.
 */
int snapshot_archive_plan(int dirfd, const char *dir_path, SnapshotArchivePlan *plan,
                          CvError **err);
