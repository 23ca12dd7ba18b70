#include "local_lifecycle.h"

#include <string.h>
#include <sys/wait.h>

#include "driver/domain_events.h"
#include "driver/domain_launch.h"
#include "driver/driver_nowait.h"
#include "util/cv_file.h"
#include "util/cv_process.h"

/*
 * The job plumbing behind every lifecycle entry point, and the reconciliation of a domain's
 * recorded state with its VMM: a VMM that is gone is a shutdown, a destroy, a guest reboot or
 * a crash, told apart by what Cocoon recorded before acting (stop-intent) and by the exit
 * status its waiter wrote (util/cv_process.h).
 */

#define LIVE_DEF_FILE "domain.xml"

unsigned int
local_timeout_ms(const char *env, unsigned int def)
{
    const char *value = g_getenv(env);
    guint64 ms = 0;
    if (value && g_ascii_string_to_unsigned(value, 10, 0, G_MAXUINT, &ms, NULL))
        return (unsigned int)ms;
    return def;
}

void
local_lifecycle_emit(CocoonConn *conn, const char *name, const unsigned char *uuid, int id,
                     int event, int detail)
{
    LocalDriverPriv *priv = conn->priv;
    CocoonDomainEvent ev = {.event_id = VIR_DOMAIN_EVENT_ID_LIFECYCLE, .event = event,
                            .detail = detail};
    domain_events_emit(priv->events, conn, name, uuid, id, &ev);
}

static void
job_emit(LocalJob *job, int event, int detail)
{
    int id = domain_status_is_active(&job->st) ? job->st.id : -1;
    local_lifecycle_emit(job->conn, job->name, job->uuid, id, event, detail);
}

const CocoonBackend *
local_job_backend(LocalJob *job, CvError **err)
{
    for (int k = 0; k < BACKEND_LAST; k++) {
        const CocoonBackend *b = backend_by_kind(k);
        if (g_strcmp0(b->name, job->st.backend) == 0)
            return b;
    }
    cv_error_set(err, VIR_FROM_CH, VIR_ERR_INTERNAL_ERROR, "domain '%s' runs unknown backend '%s'",
                 job->name, job->st.backend ? job->st.backend : "");
    return NULL;
}

BackendVm
local_job_vm(const LocalJob *job)
{
    return (BackendVm){
        .pid = job->st.pid,
        .start_time = job->st.start_time,
        .api_socket = job->st.api_socket,
        .console_path = job->st.console_path,
    };
}

int
local_job_save(LocalJob *job, CvError **err)
{
    g_autofree char *live = domain_store_live_dir(job->priv->store, job->name);
    return domain_status_save(live, &job->st, err);
}

/* The shut-off state a persistent domain shows after a stop (transient ones vanish). */
static void
job_record_shutoff(LocalJob *job, int reason)
{
    bool persistent = job->st.persistent && job->persistent;
    domain_status_clear(&job->st);
    job->st.state = VIR_DOMAIN_SHUTOFF;
    job->st.reason = reason;
    job->st.persistent = persistent;
    if (persistent)
        local_job_save(job, NULL);
}

void
local_job_stopped(LocalJob *job, int reason, int detail)
{
    int id = job->st.id;
    domain_launch_teardown(job->priv->store, job->name, &job->st);
    job_record_shutoff(job, reason);
    if (reason == VIR_DOMAIN_SHUTOFF_SHUTDOWN)
        local_lifecycle_emit(job->conn, job->name, job->uuid, id, VIR_DOMAIN_EVENT_SHUTDOWN,
                             VIR_DOMAIN_EVENT_SHUTDOWN_FINISHED);
    local_lifecycle_emit(job->conn, job->name, job->uuid, -1, VIR_DOMAIN_EVENT_STOPPED, detail);
}

int
local_job_write_live_def(LocalJob *job, const DomainDef *def, int id, CvError **err)
{
    g_autofree char *live = domain_store_live_dir(job->priv->store, job->name);
    g_autofree char *path = g_build_filename(live, LIVE_DEF_FILE, NULL);
    g_autofree char *xml = domain_def_format(def, id);
    return cv_file_write_volatile(path, xml, strlen(xml), 0600, err);
}

/* Boot def, or restore it from files (a snapshot) when files is not NULL. */
static int
job_start(LocalJob *job, DomainDef *def, const BackendSnapshotFiles *files, bool saved,
          bool paused, int keep_id, CvError **err)
{
    LocalDriverPriv *priv = job->priv;
    DomainStatus prior;
    domain_status_copy(&prior, &job->st);
    bool had_status = prior.state != VIR_DOMAIN_SHUTOFF || prior.reason != 0;

    const CocoonBackend *backend = cocoon_config_backend_for_def(priv->config, def, err);
    int id = keep_id;
    DomainStatus st;
    if (!backend || backend->validate(def, err) < 0 ||
        (id < 0 && domain_store_next_id(priv->store, &id, err) < 0) ||
        (files ? domain_launch_restore(priv->store, priv->config, backend, def, files, paused,
                                       &st, err)
               : domain_launch_start(priv->store, priv->config, backend, def, paused, &st,
                                     err)) < 0) {
        cv_error_prefix(err, "cannot start domain '%s': ", job->name);
        domain_status_clear(&prior);
        return -1;
    }
    st.state = paused ? VIR_DOMAIN_PAUSED : VIR_DOMAIN_RUNNING;
    if (files && saved)
        st.reason = paused ? VIR_DOMAIN_PAUSED_USER : VIR_DOMAIN_RUNNING_RESTORED;
    else if (files)
        st.reason = paused ? VIR_DOMAIN_PAUSED_FROM_SNAPSHOT : VIR_DOMAIN_RUNNING_FROM_SNAPSHOT;
    else
        st.reason = paused ? VIR_DOMAIN_PAUSED_USER : VIR_DOMAIN_RUNNING_BOOTED;
    st.id = id;
    st.persistent = job->persistent;
    domain_status_clear(&job->st);
    job->st = st;
    if (local_job_write_live_def(job, def, id, err) < 0 || local_job_save(job, err) < 0) {
        cv_error_prefix(err, "cannot start domain '%s': ", job->name);
        domain_launch_teardown(priv->store, job->name, &job->st);
        domain_launch_settled(priv->store, job->name);
        domain_status_clear(&job->st);
        job->st = prior;
        if (had_status)
            local_job_save(job, NULL);
        return -1;
    }
    domain_launch_settled(priv->store, job->name);
    domain_status_clear(&prior);
    if (keep_id < 0) {
        job_emit(job, VIR_DOMAIN_EVENT_STARTED,
                 !files  ? VIR_DOMAIN_EVENT_STARTED_BOOTED
                 : saved ? VIR_DOMAIN_EVENT_STARTED_RESTORED
                         : VIR_DOMAIN_EVENT_STARTED_FROM_SNAPSHOT);
        if (paused)
            job_emit(job, VIR_DOMAIN_EVENT_SUSPENDED, VIR_DOMAIN_EVENT_SUSPENDED_PAUSED);
    }
    return 0;
}

int
local_job_start(LocalJob *job, DomainDef *def, bool paused, int keep_id, CvError **err)
{
    return job_start(job, def, NULL, false, paused, keep_id, err);
}

int
local_job_start_restore(LocalJob *job, DomainDef *def, const BackendSnapshotFiles *files,
                        bool paused, bool saved, CvError **err)
{
    return job_start(job, def, files, saved, paused, -1, err);
}

int
local_job_restart(LocalJob *job, CvError **err)
{
    DomainStore *store = job->priv->store;
    g_autoptr(DomainDef) def = domain_store_load_def(store, job->name, true, job->uuid, err);
    int id = job->st.id;
    domain_launch_teardown(store, job->name, &job->st);
    if (!def || local_job_start(job, def, false, id, err) < 0) {
        job_record_shutoff(job, VIR_DOMAIN_SHUTOFF_FAILED);
        local_lifecycle_emit(job->conn, job->name, job->uuid, -1, VIR_DOMAIN_EVENT_STOPPED,
                             VIR_DOMAIN_EVENT_STOPPED_FAILED);
        return -1;
    }
    return 0;
}

/* What the definition says to do on a guest event (the live definition: the one running). */
static DomainLifecycleAction
job_action(LocalJob *job, int which)
{
    g_autoptr(DomainDef) def = domain_store_load_def(job->priv->store, job->name, true, NULL, NULL);
    if (!def)
        return DOMAIN_LIFECYCLE_ACTION_DESTROY;
    DomainLifecycleAction a = which == 0   ? def->on_poweroff
                              : which == 1 ? def->on_reboot
                                           : def->on_crash;
    /* libvirt's defaults: destroy on poweroff and crash, restart on reboot */
    if (a == DOMAIN_LIFECYCLE_ACTION_DEFAULT)
        a = which == 1 ? DOMAIN_LIFECYCLE_ACTION_RESTART : DOMAIN_LIFECYCLE_ACTION_DESTROY;
    return a;
}

static bool
action_restarts(DomainLifecycleAction a)
{
    return a == DOMAIN_LIFECYCLE_ACTION_RESTART || a == DOMAIN_LIFECYCLE_ACTION_RESTART_RENAME ||
           a == DOMAIN_LIFECYCLE_ACTION_COREDUMP_RESTART;
}

/*
 * The VMM of job is gone: decide what that was and act on it, from what Cocoon meant
 * (stop-intent), what the waiter did (its last note: it stopped a shutdown the guest ignored,
 * or a CH guest that reset with on_reboot=destroy), the exit status, and the backend's log
 * (CH exits 0 after a vCPU error).
 */
static void
job_reconcile_exit(LocalJob *job)
{
    DomainStore *store = job->priv->store;
    int status = domain_launch_exit_status(store, job->name, &job->st);
    bool clean = status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    bool fc = g_strcmp0(job->st.backend, "firecracker") == 0;
    g_autofree char *note = domain_launch_last_note(store, job->name);
    /* a crash although the exit looks clean (CH after a vCPU error) */
    bool vmm_said_crash = clean && domain_launch_exit_crashed(store, job->name, &job->st,
                                                              local_job_backend(job, NULL),
                                                              status);
    if (vmm_said_crash)
        clean = false;

    switch (job->st.stop_intent) {
    case DOMAIN_STOP_INTENT_DESTROY:
        local_job_stopped(job, VIR_DOMAIN_SHUTOFF_DESTROYED, VIR_DOMAIN_EVENT_STOPPED_DESTROYED);
        return;
    case DOMAIN_STOP_INTENT_SHUTDOWN:
        /* the guest ignored it and the waiter stopped the VMM: as a destroy */
        if (g_strcmp0(note, DOMAIN_LAUNCH_NOTE_SHUTDOWN_TIMEOUT) == 0)
            local_job_stopped(job, VIR_DOMAIN_SHUTOFF_DESTROYED,
                              VIR_DOMAIN_EVENT_STOPPED_DESTROYED);
        else if (!vmm_said_crash)
            local_job_stopped(job, VIR_DOMAIN_SHUTOFF_SHUTDOWN,
                              VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN);
        else
            break; /* it crashed meanwhile */
        return;
    case DOMAIN_STOP_INTENT_REBOOT:
        if (local_job_restart(job, NULL) == 0)
            local_events_emit_reboot(job->conn, job->name, job->uuid, job->st.id);
        return;
    default:
        break;
    }
    /* CH reset the guest in place; the waiter stopped it, as on_reboot=destroy asks, or
     * on_crash=destroy for a guest that triple-faulted */
    if (g_strcmp0(note, DOMAIN_LAUNCH_NOTE_REBOOT_DESTROY) == 0) {
        local_job_stopped(job, VIR_DOMAIN_SHUTOFF_SHUTDOWN, VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN);
        return;
    }
    if (g_strcmp0(note, DOMAIN_LAUNCH_NOTE_CRASH_DESTROY) == 0) {
        local_job_stopped(job, VIR_DOMAIN_SHUTOFF_CRASHED, VIR_DOMAIN_EVENT_STOPPED_CRASHED);
        return;
    }
    if (clean) {
        /* FC exits 0 when the guest resets (reboot=k); CH when the guest powers off */
        int which = fc ? 1 : 0;
        if (!action_restarts(job_action(job, which)))
            local_job_stopped(job, VIR_DOMAIN_SHUTOFF_SHUTDOWN, VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN);
        else if (local_job_restart(job, NULL) == 0 && fc) /* FC's guest reset */
            local_events_emit_reboot(job->conn, job->name, job->uuid, job->st.id);
        return;
    }
    if (action_restarts(job_action(job, 2)))
        local_job_restart(job, NULL);
    else
        local_job_stopped(job, VIR_DOMAIN_SHUTOFF_CRASHED, VIR_DOMAIN_EVENT_STOPPED_CRASHED);
}

static bool
status_vmm_gone(const DomainStatus *st)
{
    return domain_status_is_active(st) && !cv_process_alive(st->pid, st->start_time);
}

int
local_job_begin(CocoonConn *conn, const char *name, const unsigned char *uuid, bool may_be_new,
                LocalJob *job, CvError **err)
{
    LocalDriverPriv *priv = conn->priv;
    g_autoptr(DomainStoreEntry) e = NULL;
    CvError *lerr = NULL;
    *job = (LocalJob){.conn = conn, .priv = priv, .name = g_strdup(name)};
    domain_status_init(&job->st);

    if (!(job->lock = domain_store_lock_live(priv->store, name, err)))
        goto fail;
    e = domain_store_lookup_name(priv->store, name, 0, &lerr);
    if (!e && !(may_be_new && lerr->code == VIR_ERR_NO_DOMAIN)) {
        if (err && !*err)
            *err = lerr;
        else
            cv_error_free(lerr);
        goto fail;
    }
    cv_error_free(lerr);
    if (e) {
        if (uuid && memcmp(e->uuid, uuid, DOMAIN_UUID_LEN) != 0) {
            char us[DOMAIN_UUID_STRING_LEN];
            domain_uuid_format(uuid, us);
            cv_error_set(err, VIR_FROM_CH, VIR_ERR_NO_DOMAIN,
                         "no domain with matching uuid '%s' (%s)", us, name);
            goto fail;
        }
        memcpy(job->uuid, e->uuid, DOMAIN_UUID_LEN);
        job->persistent = e->persistent;
        domain_status_copy(&job->st, &e->status);
    } else if (uuid) {
        memcpy(job->uuid, uuid, DOMAIN_UUID_LEN);
    }
    if (status_vmm_gone(&job->st))
        job_reconcile_exit(job);
    return 0;

fail:
    local_job_end(job);
    return -1;
}

void
local_job_end(LocalJob *job)
{
    cv_lock_release(job->lock);
    job->lock = NULL;
    domain_status_clear(&job->st);
    g_clear_pointer(&job->name, g_free);
}

void
local_lifecycle_check(CocoonConn *conn, DomainStoreEntry *e)
{
    if (!status_vmm_gone(&e->status))
        return;
    /* reconciling takes the domain's lock, which a lifecycle call may hold for long */
    if (cocoon_nowait_give_up())
        return;
    LocalJob job;
    if (local_job_begin(conn, e->name, e->uuid, false, &job, NULL) < 0) {
        /* gone meanwhile (a transient domain that stopped) */
        domain_status_clear(&e->status);
        return;
    }
    domain_status_clear(&e->status);
    domain_status_copy(&e->status, &job.st);
    local_job_end(&job);
}

void
local_lifecycle_check_all(CocoonConn *conn)
{
    LocalDriverPriv *priv = conn->priv;
    g_autoptr(GPtrArray) entries = NULL;
    if (domain_store_list(priv->store, &entries, NULL) < 0)
        return;
    for (guint i = 0; i < entries->len; i++)
        local_lifecycle_check(conn, entries->pdata[i]);
}

GArray *
local_lifecycle_active_pids(CocoonConn *conn)
{
    LocalDriverPriv *priv = conn->priv;
    GArray *pids = g_array_new(FALSE, FALSE, sizeof(int));
    g_autoptr(GPtrArray) entries = NULL;
    if (domain_store_list(priv->store, &entries, NULL) < 0)
        return pids;
    for (guint i = 0; i < entries->len; i++) {
        const DomainStoreEntry *e = entries->pdata[i];
        if (domain_status_is_active(&e->status) && e->status.pid > 0) {
            int pid = e->status.pid;
            g_array_append_val(pids, pid);
        }
    }
    return pids;
}

int
local_conn_autostart(CocoonConn *conn, CvError **err)
{
    if (conn->driver != &local_driver)
        return 0;
    LocalDriverPriv *priv = conn->priv;
    g_autoptr(GPtrArray) entries = NULL;
    if (domain_store_list(priv->store, &entries, err) < 0)
        return 1;
    int failed = 0;
    for (guint i = 0; i < entries->len; i++) {
        DomainStoreEntry *e = entries->pdata[i];
        local_lifecycle_check(conn, e);
        if (!e->autostart || domain_status_is_active(&e->status))
            continue;
        g_autoptr(CocoonDomain) dom = cocoon_domain_new(conn, e->name, e->uuid, -1);
        CvError *lerr = NULL;
        if (local_domain_create_with_flags(dom, 0, &lerr) < 0) {
            failed++;
            if (err && !*err)
                *err = lerr;
            else
                cv_error_free(lerr);
        }
    }
    return failed;
}
