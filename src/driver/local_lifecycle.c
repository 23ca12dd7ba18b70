#include "local_lifecycle.h"

#include <errno.h>
#include <signal.h>
#include <string.h>

#include "driver/domain_events.h"
#include "driver/domain_launch.h"
#include "driver/domain_watch.h"
#include "driver/host_net_mac.h"
#include "driver/local_save.h"
#include "util/cv_process.h"

/*
 * The lifecycle entry points of the local driver. Each is one LocalOp run by local_op_run:
 * check flags → lock the domain and reconcile it with its VMM (the job) → check the state →
 * one backend call → set the state, save the status, emit the event → unlock.
 */

/* How long a guest gets to act on a shutdown/reboot request before SIGTERM, then SIGKILL. */
#define SHUTDOWN_TIMEOUT_MS 30000
#define STOP_TERM_MS 10000
#define STOP_KILL_MS 5000

/* The environment overrides cocoon.conf's [timeouts], which overrides the defaults above. */
static unsigned int
shutdown_timeout_ms(const LocalDriverPriv *priv)
{
    unsigned int conf = priv->config->shutdown_timeout_ms;
    return local_timeout_ms("COCOON_SHUTDOWN_TIMEOUT_MS", conf ? conf : SHUTDOWN_TIMEOUT_MS);
}

static unsigned int
stop_term_ms(const LocalDriverPriv *priv)
{
    unsigned int conf = priv->config->stop_timeout_ms;
    return local_timeout_ms("COCOON_STOP_TIMEOUT_MS", conf ? conf : STOP_TERM_MS);
}

typedef enum {
    NEED_INACTIVE, /* start */
    NEED_ACTIVE,   /* everything else */
} LocalNeed;

typedef struct {
    const char *api; /* the libvirt function, for flag errors */
    unsigned int flags_allowed;
    LocalNeed need;
    /* the one backend step; may change job->st (state, intent) itself */
    int (*act)(LocalJob *job, unsigned int flags, CvError **err);
    /* what follows a success: the new state (-1: as act left it) and the event (-1: none) */
    int state, reason;
    int event, detail;
} LocalOp;

static int
check_state(const LocalJob *job, LocalNeed need, CvError **err)
{
    bool active = domain_status_is_active(&job->st);
    if (need == NEED_ACTIVE && !active) {
        cv_error_set(err, VIR_FROM_CH, VIR_ERR_OPERATION_INVALID, "domain is not running");
        return -1;
    }
    if (need == NEED_INACTIVE && active) {
        cv_error_set(err, VIR_FROM_CH, VIR_ERR_OPERATION_INVALID, "domain is already running");
        return -1;
    }
    return 0;
}

/* The shared steps of every entry point on an existing domain. */
static int
local_op_run(CocoonDomain *dom, unsigned int flags, const LocalOp *op, CvError **err)
{
    if (local_check_flags(flags, op->flags_allowed, op->api, err) < 0)
        return -1;
    LocalJob job;
    CvError *lerr = NULL;
    int begun = local_job_begin(dom->conn, dom->name, dom->uuid, false, &job, &lerr);
    /* a handle whose name is stale: the domain is found by its uuid */
    if (begun < 0 && lerr->code == VIR_ERR_NO_DOMAIN && local_domain_refresh_name(dom)) {
        cv_error_free(g_steal_pointer(&lerr));
        begun = local_job_begin(dom->conn, dom->name, dom->uuid, false, &job, &lerr);
    }
    if (begun < 0) {
        if (err && !*err)
            *err = lerr;
        else
            cv_error_free(lerr);
        return -1;
    }
    int rc = -1;
    int before = job.st.state;
    if (check_state(&job, op->need, err) < 0 || op->act(&job, flags, err) < 0)
        goto out;
    bool changed = op->state < 0 || before != op->state;
    if (op->state >= 0) {
        job.st.state = op->state;
        job.st.reason = op->reason;
        if (local_job_save(&job, err) < 0)
            goto out;
    }
    if (op->event >= 0 && changed)
        local_lifecycle_emit(job.conn, job.name, job.uuid, job.st.id, op->event, op->detail);
    dom->id = domain_status_is_active(&job.st) ? job.st.id : -1;
    rc = 0;
out:
    local_job_end(&job);
    return rc;
}

/* ---- start ------------------------------------------------------------------------------- */

static int
act_start(LocalJob *job, unsigned int flags, CvError **err)
{
    /* a managed save image is resumed rather than booted (and then removed) */
    int restored = local_managed_save_start(job, flags, err);
    if (restored != 0)
        return restored < 0 ? -1 : 0;
    g_autoptr(DomainDef) def =
        domain_store_load_def(job->priv->store, job->name, false, job->uuid, err);
    if (!def)
        return -1;
    if (local_job_start(job, def, flags & VIR_DOMAIN_START_PAUSED, -1, err) < 0)
        return -1;
    domain_watch_wake(job->priv);
    return 0;
}

static const LocalOp op_start = {
    .api = "virDomainCreateWithFlags",
    .flags_allowed = VIR_DOMAIN_START_PAUSED | VIR_DOMAIN_START_AUTODESTROY |
                     VIR_DOMAIN_START_BYPASS_CACHE | VIR_DOMAIN_START_FORCE_BOOT,
    .need = NEED_INACTIVE,
    .act = act_start,
    .state = -1,
    .event = -1, /* local_job_start emits */
};

int
local_domain_create_with_flags(CocoonDomain *dom, unsigned int flags, CvError **err)
{
    return local_op_run(dom, flags, &op_start, err);
}

CocoonDomain *
local_domain_create_xml(CocoonConn *conn, const char *xml, unsigned int flags, CvError **err)
{
    if (local_check_flags(flags,
                    VIR_DOMAIN_START_PAUSED | VIR_DOMAIN_START_AUTODESTROY |
                        VIR_DOMAIN_START_VALIDATE,
                    "virDomainCreateXML", err) < 0)
        return NULL;
    g_autoptr(DomainDef) def = domain_def_parse_string(xml, DOMAIN_DEF_PARSE_FLAGS_NONE, err);
    if (!def || domain_store_check_name(def->name, err) < 0)
        return NULL;
    LocalJob job;
    if (local_job_begin(conn, def->name, NULL, true, &job, err) < 0)
        return NULL;
    CocoonDomain *dom = NULL;
    if (job.persistent && memcmp(job.uuid, def->uuid, DOMAIN_UUID_LEN) != 0) {
        char us[DOMAIN_UUID_STRING_LEN];
        domain_uuid_format(job.uuid, us);
        cv_error_set(err, VIR_FROM_CH, VIR_ERR_OPERATION_FAILED,
                     "domain '%s' is already defined with uuid %s", def->name, us);
    } else if (domain_status_is_active(&job.st)) {
        cv_error_set(err, VIR_FROM_CH, VIR_ERR_OPERATION_INVALID, "domain '%s' is already active",
                     def->name);
    } else if (host_net_macs_unique(job.priv->store, def, err) == 0) {
        memcpy(job.uuid, def->uuid, DOMAIN_UUID_LEN);
        if (local_job_start(&job, def, flags & VIR_DOMAIN_START_PAUSED, -1, err) == 0) {
            dom = cocoon_domain_new(conn, def->name, def->uuid, job.st.id);
            domain_watch_wake(job.priv);
        }
    }
    local_job_end(&job);
    return dom;
}

/* ---- suspend, resume --------------------------------------------------------------------- */

/* Pausing a paused guest and resuming a running one succeed without a call, as in libvirt. */
static int
act_pause(LocalJob *job, bool pause, CvError **err)
{
    const CocoonBackend *backend = local_job_backend(job, err);
    if (!backend)
        return -1;
    BackendVm vm = local_job_vm(job);
    return pause ? backend->suspend(&vm, err) : backend->resume(&vm, err);
}

static int
act_suspend(LocalJob *job, unsigned int flags, CvError **err)
{
    (void)flags;
    if (job->st.state == VIR_DOMAIN_PAUSED)
        return 0;
    return act_pause(job, true, err);
}

static int
act_resume(LocalJob *job, unsigned int flags, CvError **err)
{
    (void)flags;
    if (job->st.state == VIR_DOMAIN_RUNNING)
        return 0;
    return act_pause(job, false, err);
}

static const LocalOp op_suspend = {
    .api = "virDomainSuspend",
    .need = NEED_ACTIVE,
    .act = act_suspend,
    .state = VIR_DOMAIN_PAUSED,
    .reason = VIR_DOMAIN_PAUSED_USER,
    .event = VIR_DOMAIN_EVENT_SUSPENDED,
    .detail = VIR_DOMAIN_EVENT_SUSPENDED_PAUSED,
};

static const LocalOp op_resume = {
    .api = "virDomainResume",
    .need = NEED_ACTIVE,
    .act = act_resume,
    .state = VIR_DOMAIN_RUNNING,
    .reason = VIR_DOMAIN_RUNNING_UNPAUSED,
    .event = VIR_DOMAIN_EVENT_RESUMED,
    .detail = VIR_DOMAIN_EVENT_RESUMED_UNPAUSED,
};

int
local_domain_suspend(CocoonDomain *dom, CvError **err)
{
    return local_op_run(dom, 0, &op_suspend, err);
}

int
local_domain_resume(CocoonDomain *dom, CvError **err)
{
    return local_op_run(dom, 0, &op_resume, err);
}

/* ---- destroy ----------------------------------------------------------------------------- */

/* Record that the exit to come is ours, before acting. */
static int
job_intend(LocalJob *job, DomainStopIntent intent, CvError **err)
{
    job->st.stop_intent = intent;
    return local_job_save(job, err);
}

static int
act_destroy(LocalJob *job, unsigned int flags, CvError **err)
{
    if (job_intend(job, DOMAIN_STOP_INTENT_DESTROY, err) < 0)
        return -1;
    pid_t pid = job->st.pid;
    unsigned long long start = job->st.start_time;
    if (flags & VIR_DOMAIN_DESTROY_GRACEFUL) {
        if (cv_process_alive(pid, start) && kill(pid, SIGTERM) < 0 && errno != ESRCH) {
            cv_error_set_errno(err, VIR_FROM_CH, errno, "failed to kill process %d", (int)pid);
            return -1;
        }
        if (!cv_process_wait_exit(pid, start, stop_term_ms(job->priv))) {
            cv_error_set(err, VIR_FROM_CH, VIR_ERR_OPERATION_FAILED,
                         "failed to terminate process %d with SIGTERM", (int)pid);
            return -1;
        }
    } else if (cv_process_stop(pid, start, stop_term_ms(job->priv), STOP_KILL_MS, err) < 0) {
        return -1;
    }
    local_job_stopped(job, VIR_DOMAIN_SHUTOFF_DESTROYED, VIR_DOMAIN_EVENT_STOPPED_DESTROYED);
    return 0;
}

static const LocalOp op_destroy = {
    .api = "virDomainDestroyFlags",
    .flags_allowed = VIR_DOMAIN_DESTROY_GRACEFUL,
    .need = NEED_ACTIVE,
    .act = act_destroy,
    .state = -1,
    .event = -1, /* local_job_stopped emits */
};

int
local_domain_destroy_flags(CocoonDomain *dom, unsigned int flags, CvError **err)
{
    return local_op_run(dom, flags, &op_destroy, err);
}

/* ---- shutdown, reboot -------------------------------------------------------------------- */

/* Ask the guest to power off (or the VMM, with --mode signal). */
static int
job_request_shutdown(LocalJob *job, unsigned int flags, CvError **err)
{
    if (flags & VIR_DOMAIN_SHUTDOWN_SIGNAL) {
        if (kill(job->st.pid, SIGTERM) < 0 && errno != ESRCH) {
            cv_error_set_errno(err, VIR_FROM_CH, errno, "failed to kill process %d",
                               (int)job->st.pid);
            return -1;
        }
        return 0;
    }
    const CocoonBackend *backend = local_job_backend(job, err);
    if (!backend)
        return -1;
    BackendVm vm = local_job_vm(job);
    return backend->shutdown(&vm, err);
}

static int
act_shutdown(LocalJob *job, unsigned int flags, CvError **err)
{
    if (job_intend(job, DOMAIN_STOP_INTENT_SHUTDOWN, err) < 0)
        return -1;
    if (job_request_shutdown(job, flags, err) < 0) {
        job_intend(job, DOMAIN_STOP_INTENT_NONE, NULL);
        return -1;
    }
    return 0;
}

static const LocalOp op_shutdown = {
    .api = "virDomainShutdownFlags",
    .flags_allowed = VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN | VIR_DOMAIN_SHUTDOWN_SIGNAL,
    .need = NEED_ACTIVE,
    .act = act_shutdown,
    .state = -1,
    .event = -1,
};

/*
 * The escalation of a VMM with no waiter to hand it to: wait for the VMM to go without
 * holding the lock (a destroy may come in meanwhile), then, still the same process and still
 * ours to stop, escalate to SIGTERM and SIGKILL; the job that follows records it.
 */
static void
shutdown_wait(CocoonDomain *dom, pid_t pid, unsigned long long start)
{
    LocalDriverPriv *priv = dom->conn->priv;
    bool gone = cv_process_wait_exit(pid, start, shutdown_timeout_ms(priv));
    LocalJob job;
    if (local_job_begin(dom->conn, dom->name, dom->uuid, false, &job, NULL) < 0)
        return;
    if (!gone && job.st.pid == pid && job.st.start_time == start &&
        job.st.stop_intent == DOMAIN_STOP_INTENT_SHUTDOWN &&
        cv_process_stop(pid, start, stop_term_ms(priv), STOP_KILL_MS, NULL) == 0)
        local_job_stopped(&job, VIR_DOMAIN_SHUTOFF_DESTROYED, VIR_DOMAIN_EVENT_STOPPED_DESTROYED);
    local_job_end(&job);
}

/*
 * As virsh's, shutdown returns once the guest has been asked; the guest powers off by itself.
 * One that does not is stopped after the shutdown timeout (cocoon.conf's [timeouts] shutdown,
 * COCOON_SHUTDOWN_TIMEOUT_MS) by the VMM's waiter, which outlives this process (an embedded
 * cocoonvirsh exits at once), and the domain then reads shut off (destroyed).
 */
int
local_domain_shutdown_flags(CocoonDomain *dom, unsigned int flags, CvError **err)
{
    DomainStatus st;
    LocalDriverPriv *priv = dom->conn->priv;
    if (local_op_run(dom, flags, &op_shutdown, err) < 0)
        return -1;
    if (domain_store_status(priv->store, dom->name, &st, NULL) == 0) {
        if (domain_status_is_active(&st) &&
            domain_launch_request_stop(priv->store, dom->name, &st, shutdown_timeout_ms(priv),
                                       stop_term_ms(priv), NULL) < 0)
            shutdown_wait(dom, st.pid, st.start_time);
        domain_status_clear(&st);
    }
    return 0;
}

/* CH reboots in place; FC exits on a guest reset, so the process is started again. */
static int
act_reboot(LocalJob *job, unsigned int flags, CvError **err)
{
    const CocoonBackend *backend = local_job_backend(job, err);
    if (!backend)
        return -1;
    BackendVm vm = local_job_vm(job);
    /* CH resets in place: its waiter notes the reset, and the watcher raises REBOOT from
     * that note (local_events_check_reboots), for this reset as for the guest's own */
    if (backend->reboot)
        return backend->reboot(&vm, err);

    if (job_intend(job, DOMAIN_STOP_INTENT_REBOOT, err) < 0)
        return -1;
    /* the guest resets itself on Ctrl+Alt+Del (reboot=k); one that does not is reset hard */
    if (job_request_shutdown(job, flags, NULL) < 0 ||
        !cv_process_wait_exit(vm.pid, vm.start_time, shutdown_timeout_ms(job->priv)))
        cv_process_stop(vm.pid, vm.start_time, stop_term_ms(job->priv), STOP_KILL_MS, NULL);
    if (local_job_restart(job, err) < 0)
        return -1;
    local_events_emit_reboot(job->conn, job->name, job->uuid, job->st.id);
    domain_watch_wake(job->priv);
    return 0;
}

static const LocalOp op_reboot = {
    .api = "virDomainReboot",
    .flags_allowed = VIR_DOMAIN_REBOOT_ACPI_POWER_BTN | VIR_DOMAIN_REBOOT_SIGNAL,
    .need = NEED_ACTIVE,
    .act = act_reboot,
    .state = VIR_DOMAIN_RUNNING,
    .reason = VIR_DOMAIN_RUNNING_BOOTED,
    .event = -1,
};

int
local_domain_reboot(CocoonDomain *dom, unsigned int flags, CvError **err)
{
    return local_op_run(dom, flags, &op_reboot, err);
}

/* ---- events ------------------------------------------------------------------------------ */

int
local_connect_domain_event_register_any(CocoonConn *conn, CocoonDomain *dom, int event_id,
                                        CocoonDomainEventFunc cb, void *opaque,
                                        GDestroyNotify free_opaque, CvError **err)
{
    LocalDriverPriv *priv = conn->priv;
    /* the watcher makes events of what happens behind the API (a guest powering off) */
    if (domain_watch_ensure(conn, err) < 0)
        return -1;
    return domain_events_register(priv->events, dom ? dom->uuid : NULL, event_id, cb, opaque,
                                  free_opaque, err);
}

int
local_connect_domain_event_deregister_any(CocoonConn *conn, int callback_id, CvError **err)
{
    LocalDriverPriv *priv = conn->priv;
    return domain_events_deregister(priv->events, callback_id, err);
}
