#pragma once

#include "driver/backend.h"

/*
 * Firecracker snapshots: a Full PUT /snapshot/create of a paused VM, and the load of one into
 * a fresh process (PUT /snapshot/load, memory as a File backend) — the first and only call a
 * restoring launch makes.
 */

/** fc_snapshot_save: the snapshot_save member of fc_backend. */
int fc_snapshot_save(const BackendVm *vm, const BackendSnapshotFiles *files, CvError **err);

/**
 * fc_snapshot_load: load files into the fresh process behind sock, resumed unless paused.
 * A refused load ends the FC process (NOTES.md §1.7): the caller tears it down.
 */
int fc_snapshot_load(const char *sock, const BackendSnapshotFiles *files, bool paused,
                     CvError **err);
