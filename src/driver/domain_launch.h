#pragma once

#include <stdbool.h>

#include "driver/config.h"
#include "driver/domain_status.h"
#include "driver/domain_store.h"
#include "util/cv_error.h"
#include "xml/domain_def.h"

/*
 * One boot of a domain: the host resources it needs, made in order (TAPs, transient-disk
 * overlays, the FC kernel, the console PTY), the backend's launch, the console relay — and
 * the teardown that releases exactly what the status records. Callers hold the domain's live
 * lock (domain_store_lock_live).
 */

/* Files of a boot in the live directory. */
#define DOMAIN_LAUNCH_LOG "vmm.log"                   /* this boot's */
#define DOMAIN_LAUNCH_LOG_PREVIOUS "vmm.previous.log" /* the boot's before */
#define DOMAIN_LAUNCH_EXIT "vmm.exit"
/* The waiter's notes: one line per thing it saw or did to the VMM (tools/waiter). */
#define DOMAIN_LAUNCH_NOTES "vmm.notes"
/* A shutdown's escalation, for the waiter: "SHUTDOWN_MS TERM_MS". */
#define DOMAIN_LAUNCH_STOP "vmm.stop"

/* What the waiter notes (tools/waiter/cocoon-vmm-waiter.c). */
#define DOMAIN_LAUNCH_NOTE_SHUTDOWN_TIMEOUT "shutdown-timeout" /* it stopped the VMM */
#define DOMAIN_LAUNCH_NOTE_REBOOT "reboot"                     /* CH reset the guest */
#define DOMAIN_LAUNCH_NOTE_REBOOT_DESTROY "reboot-destroy"     /* … and it stopped the VMM */
#define DOMAIN_LAUNCH_NOTE_CRASH_RESET "crash-reset"   /* CH reset a crashed guest (triple fault) */
#define DOMAIN_LAUNCH_NOTE_CRASH_DESTROY "crash-destroy" /* … and it stopped the VMM */

/**
 * domain_launch_start: boot def (backend: its backend) in the live directory of def->name,
 * left paused when paused. On success *ret_st holds the runtime half of the status (pid,
 * start time, backend, waiter, sockets, console, TAPs and overlays it created, relay); the
 * caller adds state, id and persistence and saves it. On failure nothing the call made is
 * left (no process, socket, TAP, overlay, relay, exit file) and the error carries the
 * hypervisor's own words.
 */
int domain_launch_start(DomainStore *store, CocoonConfig *config, const CocoonBackend *backend,
                        const DomainDef *def, bool paused, DomainStatus *ret_st, CvError **err);

/**
 * domain_launch_restore: domain_launch_start, but the fresh VMM restores the VM saved in files
 * (a snapshot of def) instead of booting it: the same TAPs, console and relay, then FC's
 * snapshot load / CH's vm.restore. The same guarantees on failure.
 */
int domain_launch_restore(DomainStore *store, CocoonConfig *config, const CocoonBackend *backend,
                          const DomainDef *def, const BackendSnapshotFiles *files, bool paused,
                          DomainStatus *ret_st, CvError **err);

/**
 * domain_launch_settled: the status naming a boot's processes is written (or the boot is torn
 * down): drop the marker that makes the next start look for strays of a boot cut short.
 */
void domain_launch_settled(DomainStore *store, const char *name);

/**
 * domain_launch_teardown: stop what st records (VMM, relay; SIGTERM then SIGKILL when still
 * alive) and remove what it made: TAPs, overlays, sockets, the exit file, the status and the
 * live definition. The log stays. Best effort: never fails.
 */
void domain_launch_teardown(DomainStore *store, const char *name, const DomainStatus *st);

/**
 * domain_launch_exit_status: how the VMM of name ended, as the waiter recorded it (a raw wait
 * status); waits up to a second for the waiter to write it. -1 when unknown.
 */
int domain_launch_exit_status(DomainStore *store, const char *name, const DomainStatus *st);

/**
 * domain_launch_request_stop: have the VMM's waiter stop it (SIGTERM, SIGKILL term_ms later)
 * unless it exits within shutdown_ms: the escalation of a shutdown, which outlives the caller.
 * -1 with *err when the VMM has no waiter of this boot to ask.
 */
int domain_launch_request_stop(DomainStore *store, const char *name, const DomainStatus *st,
                               unsigned int shutdown_ms, unsigned int term_ms, CvError **err);

/** domain_launch_last_note: the waiter's last note of this boot (DOMAIN_LAUNCH_NOTE_*), or
 * NULL. New string. */
char *domain_launch_last_note(DomainStore *store, const char *name);

/**
 * domain_launch_exit_crashed: whether the VMM of this boot, gone with a wait status that looks
 * clean, in fact ended on a guest crash, per backend->exit_crashed and its log.
 */
bool domain_launch_exit_crashed(DomainStore *store, const char *name, const DomainStatus *st,
                                const CocoonBackend *backend, int status);
