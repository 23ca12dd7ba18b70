#pragma once

#include "driver/domain_store.h"
#include "driver/driver.h"
#include "driver/local.h"

/*
 * The local driver's lifecycle entry points (local_lifecycle.c) and the reconciliation of a
 * domain's recorded state with its VMM process (local_reconcile.c). Private to src/driver.
 */

int local_domain_create_with_flags(CocoonDomain *dom, unsigned int flags, CvError **err);
CocoonDomain *local_domain_create_xml(CocoonConn *conn, const char *xml, unsigned int flags,
                                      CvError **err);
int local_domain_shutdown_flags(CocoonDomain *dom, unsigned int flags, CvError **err);
int local_domain_destroy_flags(CocoonDomain *dom, unsigned int flags, CvError **err);
int local_domain_reboot(CocoonDomain *dom, unsigned int flags, CvError **err);
int local_domain_suspend(CocoonDomain *dom, CvError **err);
int local_domain_resume(CocoonDomain *dom, CvError **err);
int local_connect_domain_event_register_any(CocoonConn *conn, CocoonDomain *dom, int event_id,
                                            CocoonDomainEventFunc cb, void *opaque,
                                            GDestroyNotify free_opaque, CvError **err);
int local_connect_domain_event_deregister_any(CocoonConn *conn, int callback_id, CvError **err);

/** local_lifecycle_emit: emit a lifecycle event of a domain to conn's callbacks. */
void local_lifecycle_emit(CocoonConn *conn, const char *name, const unsigned char *uuid, int id,
                          int event, int detail);

/**
 * local_lifecycle_check: the liveness check every command makes: when e says active but its
 * VMM is gone, reconcile under the domain's lock (shut off with the right reason, leftovers
 * cleaned, events, a restart per on_reboot/on_poweroff/on_crash) and reload e's status.
 * A running domain costs one read of /proc. Returns false when the domain is gone meanwhile
 * (a transient domain another call stopped): e names no domain any more.
 */
bool local_lifecycle_check(CocoonConn *conn, DomainStoreEntry *e);

/** local_lifecycle_check_all: local_lifecycle_check on every domain (the watcher's pass). */
void local_lifecycle_check_all(CocoonConn *conn);

/** local_lifecycle_active_pids: the VMM pids of the running domains (new array of int). */
GArray *local_lifecycle_active_pids(CocoonConn *conn);

/* ---- shared by local_lifecycle.c and local_reconcile.c ---------------------------------- */

/* One operation on one domain, from lock to unlock: the "job" of STYLE.md's entry points. */
typedef struct {
    CocoonConn *conn;
    LocalDriverPriv *priv;
    char *name;
    unsigned char uuid[DOMAIN_UUID_LEN];
    bool persistent; /* a persistent definition exists */
    CvLock *lock;
    DomainStatus st; /* under the lock, reconciled with the process */
} LocalJob;

/**
 * local_job_begin: lock name's live directory and read its state, reconciled with its VMM.
 * uuid (may be NULL) must match; with may_be_new a name that is no domain yet is fine
 * (createXML). Returns 0 with *job filled (end it with local_job_end), or -1 with *err.
 */
int local_job_begin(CocoonConn *conn, const char *name, const unsigned char *uuid, bool may_be_new,
                    LocalJob *job, CvError **err);

/** local_job_end: release the lock and free the job. */
void local_job_end(LocalJob *job);

/**
 * local_job_write_live_def: write def as the definition job's domain runs with (what dumpxml
 * of a running domain reads), with id. 0 or -1 with *err.
 */
int local_job_write_live_def(LocalJob *job, const DomainDef *def, int id, CvError **err);

/** local_job_save: write job->st to the status file. 0 or -1 with *err. */
int local_job_save(LocalJob *job, CvError **err);

/** local_job_backend: the backend the running VMM of job uses, or NULL with *err. */
const CocoonBackend *local_job_backend(LocalJob *job, CvError **err);

/** local_job_vm: the BackendVm view of job's status (borrows its strings). */
BackendVm local_job_vm(const LocalJob *job);

/**
 * local_job_start: boot def (its name is job's) with a new id, write the live definition and
 * the status, emit STARTED (and SUSPENDED when paused). keep_id >= 0 reuses that id (a
 * restart). 0 or -1 with *err ("cannot start domain 'x': …"), leaving nothing behind.
 */
int local_job_start(LocalJob *job, DomainDef *def, bool paused, int keep_id, CvError **err);

/**
 * local_job_start_restore: local_job_start with a new id, restoring def's VM from files on a
 * fresh VMM instead of booting it. saved: a save image (STARTED RESTORED, reason RESTORED /
 * PAUSED USER), else a snapshot (STARTED FROM_SNAPSHOT, reason *_FROM_SNAPSHOT).
 */
int local_job_start_restore(LocalJob *job, DomainDef *def, const BackendSnapshotFiles *files,
                            bool paused, bool saved, CvError **err);

/**
 * local_job_stopped: the VMM is gone (or going: it is stopped first): release what the boot
 * made, record shut off with reason (persistent domains keep that state; transient ones
 * vanish), emit STOPPED with detail.
 */
void local_job_stopped(LocalJob *job, int reason, int detail);

/**
 * local_job_restart: boot the domain again from its live definition with the same id (guest
 * reboot of FC, reboot, on_*=restart). On failure it is shut off (failed) and -1 with *err.
 */
int local_job_restart(LocalJob *job, CvError **err);

/** local_timeout_ms: the milliseconds in environment variable env, else def. */
unsigned int local_timeout_ms(const char *env, unsigned int def);
