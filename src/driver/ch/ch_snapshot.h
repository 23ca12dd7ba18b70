#pragma once

#include "driver/backend.h"

/*
 * Cloud Hypervisor snapshots: vm.snapshot of a paused VM into a folder (config.json,
 * state.json, memory-ranges), and vm.restore of one on a VMM started with nothing but its API
 * socket. This machine's kvm refuses vm.snapshot; the simulator verifies these calls here.
 */

/** ch_snapshot_save: the snapshot_save member of ch_backend. */
int ch_snapshot_save(const BackendVm *vm, const BackendSnapshotFiles *files, CvError **err);

/** ch_snapshot_restore: vm.restore from files->ch_dir, resumed unless paused. */
int ch_snapshot_restore(const char *sock, const BackendSnapshotFiles *files, bool paused,
                        CvError **err);
