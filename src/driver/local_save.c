#include "local_save.h"

#include "driver/typed_params.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "driver/domain_watch.h"
#include "driver/local_snapshot.h"
#include "snapshot/snapshot_xml.h"
#include "util/cv_file.h"

/*
 * save / restore / managedsave. A save image is a folder shaped like a snapshot's (meta.json,
 * snapshot.xml with the domain definition, FC's memory + vmstate or CH's ch/), without disks:
 * as in libvirt, the disks stay where they are and a restore runs on them as they are then.
 * `save DOM FILE` makes FILE that folder; the managed save of a domain is
 * <root>/domains/<dom>/managed-save, which `start` restores and removes.
 */

#define MANAGED_SAVE_DIR "managed-save"
#define SAVE_FLAGS                                                                                 \
    (VIR_DOMAIN_SAVE_BYPASS_CACHE | VIR_DOMAIN_SAVE_RUNNING | VIR_DOMAIN_SAVE_PAUSED)

static char *
managed_path(LocalDriverPriv *priv, const char *name)
{
    return g_build_filename(domain_store_root(priv->store), "domains", name, MANAGED_SAVE_DIR,
                            NULL);
}

static int
check_save_flags(unsigned int flags, const char *dxml, const char *api, CvError **err)
{
    if (local_check_flags(flags, SAVE_FLAGS, api, err) < 0)
        return -1;
    if ((flags & VIR_DOMAIN_SAVE_RUNNING) && (flags & VIR_DOMAIN_SAVE_PAUSED)) {
        cv_error_set(err, VIR_FROM_CH, VIR_ERR_INVALID_ARG,
                     "running and paused flags are mutually exclusive");
        return -1;
    }
    if (dxml) {
        cv_error_set(err, VIR_FROM_CH, VIR_ERR_CONFIG_UNSUPPORTED,
                     "a replacement definition for a save image is not supported");
        return -1;
    }
    return 0;
}

/* Save job's VM into the folder path, then stop it (shut off, saved). */
static int
save_run(LocalJob *job, const char *path, unsigned int flags, CvError **err)
{
    if (!domain_status_is_active(&job->st)) {
        cv_error_set(err, VIR_FROM_CH, VIR_ERR_OPERATION_INVALID, "domain is not running");
        return -1;
    }
    const CocoonBackend *backend = local_job_backend(job, err);
    g_autoptr(DomainDef) def =
        backend ? domain_store_load_def(job->priv->store, job->name, true, job->uuid, err) : NULL;
    if (!def)
        return -1;
    bool running = job->st.state == VIR_DOMAIN_RUNNING;
    gint64 began = g_get_monotonic_time();
    g_autoptr(SnapshotMeta) m = snapshot_meta_new("save");
    m->backend = g_strdup(backend->name);
    m->created = (long long)time(NULL);
    m->domain_xml = domain_def_format(def, -1);
    bool paused_after = (flags & VIR_DOMAIN_SAVE_PAUSED) ||
                        (!running && !(flags & VIR_DOMAIN_SAVE_RUNNING));
    m->state = g_strdup(paused_after ? "paused" : "running");
    if (snapshot_meta_stage_begin_at(path, m, err) < 0)
        return -1;
    BackendVm vm = local_job_vm(job);
    int rc = running ? backend->suspend(&vm, err) : 0;
    if (rc == 0)
        rc = local_snapshot_save_vm(job, backend, m, err);
    if (rc == 0) {
        g_autofree char *xml = snapshot_xml_format(m);
        rc = snapshot_meta_stage_commit(m, xml, err);
    } else {
        snapshot_meta_stage_abort(m);
    }
    if (rc < 0) {
        if (running)
            backend->resume(&vm, NULL);
        return -1;
    }
    /* the save job's end, as libvirt reports it (virsh event job-completed) */
    CocoonTypedParams stats = {0};
    typed_params_add_int(&stats, VIR_DOMAIN_JOB_OPERATION, VIR_DOMAIN_JOB_OPERATION_SAVE);
    typed_params_add_ull(&stats, VIR_DOMAIN_JOB_TIME_ELAPSED,
                         (unsigned long long)(g_get_monotonic_time() - began) / 1000);
    local_events_emit_job_completed(job->conn, job->name, job->uuid, job->st.id, &stats);
    typed_params_clear(&stats);
    return local_snapshot_job_stop(job, VIR_DOMAIN_SHUTOFF_SAVED, VIR_DOMAIN_EVENT_STOPPED_SAVED,
                                   err);
}

/* The whole of a save of dom into path (absolute or relative to the caller). */
static int
save_domain(CocoonDomain *dom, const char *path, unsigned int flags, bool managed, CvError **err)
{
    LocalJob job;
    if (local_job_begin(dom->conn, dom->name, dom->uuid, false, &job, err) < 0)
        return -1;
    g_autofree char *target = managed ? managed_path(job.priv, job.name)
                                      : g_canonicalize_filename(path, NULL);
    int rc = 0;
    if (managed && !job.persistent) {
        cv_error_set(err, VIR_FROM_CH, VIR_ERR_OPERATION_INVALID,
                     "cannot do managed save for transient domain");
        rc = -1;
    }
    if (rc == 0)
        rc = save_run(&job, target, flags, err);
    dom->id = -1;
    local_job_end(&job);
    return rc;
}

int
local_domain_save_flags(CocoonDomain *dom, const char *to, const char *dxml, unsigned int flags,
                        CvError **err)
{
    if (check_save_flags(flags, dxml, "virDomainSaveFlags", err) < 0)
        return -1;
    return save_domain(dom, to, flags, false, err);
}

int
local_domain_managed_save(CocoonDomain *dom, unsigned int flags, CvError **err)
{
    if (check_save_flags(flags, NULL, "virDomainManagedSave", err) < 0)
        return -1;
    return save_domain(dom, NULL, flags, true, err);
}

/* Restore the image m (of def) on job, running or paused as flags or the image say. */
static int
restore_image(LocalJob *job, DomainDef *def, const SnapshotMeta *m, unsigned int flags,
              CvError **err)
{
    bool paused = (flags & VIR_DOMAIN_SAVE_PAUSED) ||
                  (g_strcmp0(m->state, "paused") == 0 && !(flags & VIR_DOMAIN_SAVE_RUNNING));
    if (local_snapshot_restore_vm(job, def, m, paused, true, err) < 0)
        return -1;
    domain_watch_wake(job->priv);
    return 0;
}

/* An image folder at path, with its domain definition parsed. */
static SnapshotMeta *
image_load(const char *path, DomainDef **ret_def, CvError **err)
{
    g_autofree char *name = g_path_get_basename(path);
    g_autoptr(CvError) lerr = NULL;
    g_autoptr(SnapshotMeta) m = snapshot_meta_load_dir(path, name, &lerr);
    if (!m || !m->domain_xml || !(m->memory_file || m->ch_dir)) {
        if (access(path, F_OK) < 0)
            cv_error_set_errno(err, VIR_FROM_CH, errno, "cannot read domain image '%s'", path);
        else
            cv_error_set(err, VIR_FROM_CH, VIR_ERR_OPERATION_FAILED,
                         "cannot read domain image '%s': not a Cocoon save image", path);
        return NULL;
    }
    if (!(*ret_def = domain_def_parse_string(m->domain_xml, 0, err)))
        return NULL;
    return g_steal_pointer(&m);
}

int
local_domain_restore_flags(CocoonConn *conn, const char *from, const char *dxml,
                           unsigned int flags, CvError **err)
{
    if (check_save_flags(flags, dxml, "virDomainRestoreFlags", err) < 0)
        return -1;
    g_autofree char *path = g_canonicalize_filename(from, NULL);
    g_autoptr(DomainDef) def = NULL;
    g_autoptr(SnapshotMeta) m = image_load(path, &def, err);
    if (!m)
        return -1;
    LocalJob job;
    if (local_job_begin(conn, def->name, NULL, true, &job, err) < 0)
        return -1;
    int rc = -1;
    if (job.persistent && memcmp(job.uuid, def->uuid, DOMAIN_UUID_LEN) != 0) {
        char us[DOMAIN_UUID_STRING_LEN];
        domain_uuid_format(job.uuid, us);
        cv_error_set(err, VIR_FROM_CH, VIR_ERR_OPERATION_FAILED,
                     "domain '%s' is already defined with uuid %s", def->name, us);
    } else if (domain_status_is_active(&job.st)) {
        cv_error_set(err, VIR_FROM_CH, VIR_ERR_OPERATION_INVALID,
                     "domain '%s' is already active", def->name);
    } else {
        memcpy(job.uuid, def->uuid, DOMAIN_UUID_LEN);
        rc = restore_image(&job, def, m, flags, err);
    }
    local_job_end(&job);
    return rc;
}

int
local_managed_save_start(LocalJob *job, unsigned int flags, CvError **err)
{
    g_autofree char *path = managed_path(job->priv, job->name);
    if (access(path, F_OK) < 0)
        return 0;
    if (flags & VIR_DOMAIN_START_FORCE_BOOT) {
        cv_dir_remove_tree_at(AT_FDCWD, path, NULL);
        return 0;
    }
    g_autoptr(DomainDef) def = NULL;
    g_autoptr(SnapshotMeta) m = image_load(path, &def, err);
    unsigned int rflags = (flags & VIR_DOMAIN_START_PAUSED) ? VIR_DOMAIN_SAVE_PAUSED : 0;
    if (!m || restore_image(job, def, m, rflags, err) < 0)
        return -1;
    /* the VMM maps the memory file: removing the name leaves its pages to the VMM */
    cv_dir_remove_tree_at(AT_FDCWD, path, NULL);
    return 1;
}

bool
local_managed_save_exists(LocalDriverPriv *priv, const char *name)
{
    g_autofree char *path = managed_path(priv, name);
    return access(path, F_OK) == 0;
}

int
local_domain_managed_save_remove(CocoonDomain *dom, unsigned int flags, CvError **err)
{
    if (local_check_flags(flags, 0, "virDomainManagedSaveRemove", err) < 0)
        return -1;
    LocalJob job;
    if (local_job_begin(dom->conn, dom->name, dom->uuid, false, &job, err) < 0)
        return -1;
    g_autofree char *path = managed_path(job.priv, job.name);
    int rc = cv_dir_remove_tree_at(AT_FDCWD, path, err);
    local_job_end(&job);
    return rc;
}
