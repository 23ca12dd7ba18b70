#pragma once

#include <stdbool.h>

#include "util/cv_error.h"

/*
 * The processes of a boot cut short: a start, revert or clone killed (SIGKILL of cocoonvirsh
 * or cocoond) after it spawned the console relay, the waiter or the VMM but before it wrote
 * the status that names them. Nothing records their pids, so they are found by what their
 * command lines hold: an argument that is a file of the domain's live directory the boot made
 * for them (the waiter's exit file, a socket: the API's, the console's; CH's "path=SOCK").
 *
 * launch_strays_stop: SIGKILL each such process of live_dir (unless dry_run) and wait until it
 * is gone; returns how many there were. Callers hold the domain's live lock and know the
 * domain is not running (its status names no live VMM), so whatever is found is nobody's.
 */
unsigned int launch_strays_stop(const char *live_dir, bool dry_run);

/*
 * A boot in progress leaves a marker in live_dir from before its first spawn until its status
 * is written (or its teardown is done); only a boot cut short leaves it behind. A start looks
 * through /proc for strays only when the marker is there: a scan reads two files of every
 * process on the host, dear on a busy one.
 *
 * launch_marker_set: make the marker (live_dir exists); launch_marker_present: is it there;
 * launch_marker_clear: remove it.
 */
int launch_marker_set(const char *live_dir, CvError **err);
bool launch_marker_present(const char *live_dir);
void launch_marker_clear(const char *live_dir);

