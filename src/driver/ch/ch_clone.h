#pragma once

#include "driver/backend.h"

/**
 * ch_clone_restore: vm.restore of a clone (BackendSnapshotFiles.clone): from a copy of
 * files->ch_dir made in lower->run_dir ("clone-restore"), whose config.json has def's disks
 * and TAPs in place of the source's (NOTES.md 2.6: restore builds the VM from config.json);
 * state.json is copied, memory-ranges linked, never copied. Resumed unless paused.
 * 0 or -1 with *err.
 */
int ch_clone_restore(const char *sock, const BackendSnapshotFiles *files, const DomainDef *def,
                     const BackendLowerCtx *lower, bool paused, CvError **err);
