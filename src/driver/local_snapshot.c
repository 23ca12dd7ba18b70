#include "local_snapshot.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "driver/domain_watch.h"
#include "driver/local_lifecycle.h"
#include "snapshot/snapshot_disk.h"
#include "snapshot/snapshot_meta.h"
#include "snapshot/snapshot_xml.h"
#include "util/cv_file.h"
#include "util/cv_process.h"

/*
 * The snapshot entry points that change things: create, revert, delete. Each holds the
 * domain's lock (the job of local_lifecycle.h) from start to end, so it never meets a start,
 * a stop or another snapshot of the same domain halfway.
 */

/* The VM a revert (or --halt, or a save) stops is discarded or saved already: no guest has
 * anything to finish, so the VMM is killed at once rather than asked (a Firecracker that just
 * wrote its memory takes long to go on SIGTERM on this kind of host). */
#define SNAP_STOP_TERM_MS 0
#define SNAP_STOP_KILL_MS 5000

static const char *
root_of(const LocalJob *job)
{
    return domain_store_root(job->priv->store);
}

/* ---- create ------------------------------------------------------------------------------- */

/* What one create does, gathered before anything is touched. */
typedef struct {
    LocalJob *job;
    DomainDef *def;                /* the definition the snapshot records (live when active) */
    const CocoonBackend *backend;
    SnapshotMeta *meta;
    bool active, was_running, disk_only;
    GHashTable *skip;              /* targets the request says snapshot='no' for */
} SnapCreate;

static int
refuse(CvError **err, int code, const char *msg)
{
    cv_error_set(err, VIR_FROM_DOMAIN_SNAPSHOT, code, "%s", msg);
    return -1;
}

/* Flags Cocoon cannot honour, refused in words rather than quietly ignored. */
static int
create_check_flags(unsigned int flags, CvError **err)
{
    unsigned int allowed = VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE | VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT |
                           VIR_DOMAIN_SNAPSHOT_CREATE_NO_METADATA | VIR_DOMAIN_SNAPSHOT_CREATE_HALT |
                           VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY | VIR_DOMAIN_SNAPSHOT_CREATE_REUSE_EXT |
                           VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE | VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC |
                           VIR_DOMAIN_SNAPSHOT_CREATE_LIVE | VIR_DOMAIN_SNAPSHOT_CREATE_VALIDATE;
    if (local_check_flags(flags, allowed, "virDomainSnapshotCreateXML", err) < 0)
        return -1;
    if (flags & VIR_DOMAIN_SNAPSHOT_CREATE_NO_METADATA)
        return refuse(err, VIR_ERR_CONFIG_UNSUPPORTED,
                      "snapshots without metadata are not supported: a snapshot's data lives "
                      "in its own folder with its metadata");
    if (flags & VIR_DOMAIN_SNAPSHOT_CREATE_REUSE_EXT)
        return refuse(err, VIR_ERR_CONFIG_UNSUPPORTED,
                      "reusing external files is not supported: a snapshot's files are made "
                      "in its own folder");
    if (flags & VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE)
        return refuse(err, VIR_ERR_CONFIG_UNSUPPORTED,
                      "quiesced snapshots are not supported: there is no guest agent");
    if (flags & VIR_DOMAIN_SNAPSHOT_CREATE_LIVE)
        return refuse(err, VIR_ERR_CONFIG_UNSUPPORTED,
                      "live snapshots are not supported: the VM is paused while it is saved");
    if ((flags & VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT) &&
        !(flags & VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE)) {
        cv_error_set(err, VIR_FROM_DOMAIN_SNAPSHOT, VIR_ERR_INVALID_ARG,
                     "use of 'current' flag in requires 'redefine' flag");
        return -1;
    }
    if ((flags & VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE) &&
        (flags & (VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY | VIR_DOMAIN_SNAPSHOT_CREATE_HALT))) {
        cv_error_set(err, VIR_FROM_DOMAIN_SNAPSHOT, VIR_ERR_INVALID_ARG,
                     "'redefine' cannot be combined with 'disk-only' or 'halt'");
        return -1;
    }
    return 0;
}

/* Check the request's <memory> and <disks> against def; fill c->skip. */
static int
create_check_request(SnapCreate *c, const SnapshotXmlRequest *req, CvError **err)
{
    if (req->memory_file)
        return refuse(err, VIR_ERR_CONFIG_UNSUPPORTED,
                      "attribute 'file' of <memory> is not supported: the memory is saved in "
                      "the snapshot's own folder");
    if (req->memory == SNAPSHOT_XML_LOCATION_MANUAL)
        return refuse(err, VIR_ERR_CONFIG_UNSUPPORTED, "memory snapshot 'manual' is not supported");
    if (req->memory == SNAPSHOT_XML_LOCATION_NO && c->active)
        c->disk_only = true;
    for (guint i = 0; i < req->disks->len; i++) {
        const SnapshotXmlDisk *d = req->disks->pdata[i];
        bool found = false;
        for (size_t k = 0; k < c->def->ndisks; k++)
            found = found || g_strcmp0(c->def->disks[k]->target_dev, d->name) == 0 ||
                    g_strcmp0(c->def->disks[k]->source, d->name) == 0;
        if (!found) {
            cv_error_set(err, VIR_FROM_DOMAIN_SNAPSHOT, VIR_ERR_CONFIG_UNSUPPORTED,
                         "no disk named '%s'", d->name);
            return -1;
        }
        if (d->source)
            return refuse(err, VIR_ERR_CONFIG_UNSUPPORTED,
                          "<source> of a snapshot <disk> is not supported: the copy is kept in "
                          "the snapshot's own folder");
        if (d->snapshot == SNAPSHOT_XML_LOCATION_MANUAL)
            return refuse(err, VIR_ERR_CONFIG_UNSUPPORTED, "disk snapshot 'manual' is not supported");
        if (d->snapshot == SNAPSHOT_XML_LOCATION_NO)
            g_hash_table_add(c->skip, g_strdup(d->name));
    }
    return 0;
}

/* The disks the snapshot captures must be files Cocoon can copy and put back. */
static int
create_check_disks(SnapCreate *c, CvError **err)
{
    for (size_t i = 0; i < c->def->ndisks; i++) {
        const DomainDiskDef *d = c->def->disks[i];
        if (d->readonly || !d->source || g_hash_table_contains(c->skip, d->target_dev))
            continue;
        if (d->type == DOMAIN_DISK_TYPE_BLOCK) {
            cv_error_set(err, VIR_FROM_DOMAIN_SNAPSHOT, VIR_ERR_CONFIG_UNSUPPORTED,
                         "snapshots of block disk '%s' are not supported", d->target_dev);
            return -1;
        }
        if (d->transient) {
            cv_error_set(err, VIR_FROM_DOMAIN_SNAPSHOT, VIR_ERR_CONFIG_UNSUPPORTED,
                         "snapshots of transient disk '%s' are not supported", d->target_dev);
            return -1;
        }
    }
    return 0;
}

/* Copy the writable disks into the staging folder and describe every disk in the meta. */
static int
create_capture_disks(SnapCreate *c, CvError **err)
{
    SnapshotMeta *m = c->meta;
    g_autofree char *disks = g_build_filename(m->dir, SNAPSHOT_DISKS_DIR, NULL);
    bool fc = c->backend->kind == BACKEND_FIRECRACKER;
    if (fc)
        m->fc_drive_paths = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    for (size_t i = 0; i < c->def->ndisks; i++) {
        const DomainDiskDef *d = c->def->disks[i];
        if (fc && d->source && d->target_dev) {
            /* FC's drive ids are the targets with anything but alphanumerics made '_' */
            char *id = g_strdup(d->target_dev);
            for (char *p = id; *p; p++)
                if (!g_ascii_isalnum(*p))
                    *p = '_';
            g_hash_table_insert(m->fc_drive_paths, id, g_strdup(d->source));
        }
        bool capture = !d->readonly && d->source && !g_hash_table_contains(c->skip, d->target_dev);
        g_autofree char *rel = NULL;
        if (capture) {
            rel = g_strdup_printf(SNAPSHOT_DISKS_DIR "/%s.img", d->target_dev);
            g_autofree char *dest = snapshot_meta_path(m, rel);
            if (cv_dir_ensure(disks, 0700, err) < 0 ||
                snapshot_disk_capture(d->source, dest, err) < 0)
                return -1;
        }
        snapshot_meta_add_disk(m, d->target_dev, rel, d->source, d->readonly);
    }
    return 0;
}

/* The size of a file in the snapshot (0 when it cannot be read). */
static unsigned long long
file_size(const SnapshotMeta *m, const char *rel)
{
    g_autofree char *path = snapshot_meta_path(m, rel);
    struct stat st;
    return path && stat(path, &st) == 0 ? (unsigned long long)st.st_size : 0;
}

int
local_snapshot_save_vm(LocalJob *job, const CocoonBackend *backend, SnapshotMeta *m,
                       CvError **err)
{
    BackendVm vm = local_job_vm(job);
    BackendSnapshotFiles files = {0};
    g_autofree char *vmstate = NULL, *memory = NULL, *ch_dir = NULL;
    if (backend->kind == BACKEND_FIRECRACKER) {
        m->vmstate = g_strdup(SNAPSHOT_VMSTATE_FILE);
        m->memory_file = g_strdup(SNAPSHOT_MEMORY_FILE);
        files.vmstate = vmstate = snapshot_meta_path(m, m->vmstate);
        files.memory = memory = snapshot_meta_path(m, m->memory_file);
    } else {
        m->ch_dir = g_strdup(SNAPSHOT_CH_DIR);
        files.ch_dir = ch_dir = snapshot_meta_path(m, m->ch_dir);
        if (cv_dir_ensure(ch_dir, 0700, err) < 0)
            return -1;
    }
    if (!backend->snapshot_save) {
        cv_error_set(err, VIR_FROM_DOMAIN_SNAPSHOT, VIR_ERR_NO_SUPPORT,
                     "the %s backend cannot save a VM", backend->name);
        return -1;
    }
    if (backend->snapshot_save(&vm, &files, err) < 0)
        return -1;
    if (m->memory_file) {
        m->memory_size = file_size(m, m->memory_file);
    } else {
        g_autofree char *rel = g_build_filename(m->ch_dir, "memory-ranges", NULL);
        m->memory_size = file_size(m, rel);
    }
    return 0;
}

int
local_snapshot_restore_vm(LocalJob *job, DomainDef *def, const SnapshotMeta *m, bool paused,
                          bool saved, CvError **err)
{
    g_autofree char *vmstate = snapshot_meta_path(m, m->vmstate);
    g_autofree char *mem = snapshot_meta_path(m, m->memory_file);
    g_autofree char *ch_dir = snapshot_meta_path(m, m->ch_dir);
    BackendSnapshotFiles files = {.vmstate = vmstate, .memory = mem, .ch_dir = ch_dir};
    return local_job_start_restore(job, def, &files, paused, saved, err);
}

int
local_snapshot_job_stop(LocalJob *job, int reason, int detail, CvError **err)
{
    job->st.stop_intent = DOMAIN_STOP_INTENT_DESTROY;
    if (local_job_save(job, err) < 0 ||
        cv_process_stop(job->st.pid, job->st.start_time, SNAP_STOP_TERM_MS, SNAP_STOP_KILL_MS,
                        err) < 0)
        return -1;
    local_job_stopped(job, reason, detail);
    return 0;
}

/* The data of a new snapshot: pause, save, capture, resume. The VM runs again on any path. */
static int
create_take(SnapCreate *c, unsigned int flags, CvError **err)
{
    const CocoonBackend *b = c->backend;
    BackendVm vm = local_job_vm(c->job);
    int rc = 0;
    if (c->active) {
        if (c->was_running && b->suspend(&vm, err) < 0)
            return -1;
        if (!c->disk_only)
            rc = local_snapshot_save_vm(c->job, b, c->meta, err);
        if (rc == 0)
            rc = create_capture_disks(c, err);
        if (c->was_running && !(rc == 0 && (flags & VIR_DOMAIN_SNAPSHOT_CREATE_HALT))) {
            g_autoptr(CvError) rerr = NULL;
            if (b->resume(&vm, &rerr) < 0 && rc == 0) {
                if (err)
                    *err = g_steal_pointer(&rerr);
                rc = -1;
            }
        }
        return rc;
    }
    return create_capture_disks(c, err);
}

static const char *
create_state(const SnapCreate *c)
{
    if (!c->active)
        return "shutoff";
    if (c->disk_only)
        return "disk-snapshot";
    return c->was_running ? "running" : "paused";
}

/* Commit the staged snapshot with its XML formatted for the folder it ends in. */
static int
create_commit(SnapshotMeta *m, CvError **err)
{
    g_autofree char *staging = g_strdup(m->dir);
    g_autofree char *base = g_path_get_dirname(staging);
    g_free(m->dir);
    m->dir = g_build_filename(base, m->name, NULL);
    g_autofree char *xml = snapshot_xml_format(m);
    g_free(m->dir);
    m->dir = g_steal_pointer(&staging);
    return snapshot_meta_stage_commit(m, xml, err);
}

static int
create_snapshot(SnapCreate *c, const SnapshotXmlRequest *req, unsigned int flags, CvError **err)
{
    LocalJob *job = c->job;
    if (create_check_request(c, req, err) < 0 || create_check_disks(c, err) < 0)
        return -1;
    SnapshotMeta *m = c->meta;
    m->description = g_strdup(req->description);
    m->backend = g_strdup(c->backend->name);
    m->created = (long long)time(NULL);
    m->parent = snapshot_meta_current(root_of(job), job->name);
    m->domain_xml = domain_def_format(c->def, -1);
    m->state = g_strdup(create_state(c));
    if (snapshot_meta_stage_begin(root_of(job), job->name, m, err) < 0)
        return -1;
    if (create_take(c, flags, err) < 0 || create_commit(m, err) < 0) {
        snapshot_meta_stage_abort(m);
        return -1;
    }
    snapshot_meta_set_current(root_of(job), job->name, m->name, NULL);
    if (c->active && (flags & VIR_DOMAIN_SNAPSHOT_CREATE_HALT))
        return local_snapshot_job_stop(job, VIR_DOMAIN_SHUTOFF_FROM_SNAPSHOT,
                        VIR_DOMAIN_EVENT_STOPPED_FROM_SNAPSHOT, err);
    return 0;
}

/* --redefine: metadata for a snapshot (a new one has no data to revert to), or a new
 * description of an existing one. */
static int
create_redefine(SnapCreate *c, const SnapshotXmlRequest *req, unsigned int flags, CvError **err)
{
    LocalJob *job = c->job;
    const char *root = root_of(job);
    g_autoptr(CvError) lerr = NULL;
    g_autoptr(SnapshotMeta) old = snapshot_meta_load(root, job->name, req->name, &lerr);
    if (old) {
        g_free(old->description);
        old->description = g_strdup(req->description);
        g_autofree char *xml = snapshot_xml_format(old);
        if (snapshot_meta_save(old, xml, err) < 0)
            return -1;
    } else {
        if (!req->domain_xml)
            return refuse(err, VIR_ERR_INVALID_ARG,
                          "a redefined snapshot needs its <domain> definition");
        g_autoptr(DomainDef) def = domain_def_parse_string(req->domain_xml, 0, err);
        if (!def)
            return -1;
        if (memcmp(def->uuid, job->uuid, DOMAIN_UUID_LEN) != 0)
            return refuse(err, VIR_ERR_INVALID_ARG,
                          "definition for snapshot is for a different domain");
        SnapshotMeta *m = c->meta;
        m->description = g_strdup(req->description);
        m->backend = g_strdup(c->backend->name);
        m->state = g_strdup(req->state ? req->state : "shutoff");
        m->created = req->created >= 0 ? req->created : (long long)time(NULL);
        if (req->parent) {
            g_autoptr(SnapshotMeta) p = snapshot_meta_load(root, job->name, req->parent, err);
            if (!p)
                return -1;
            m->parent = g_strdup(req->parent);
        }
        m->domain_xml = domain_def_format(def, -1);
        for (size_t i = 0; i < def->ndisks; i++)
            snapshot_meta_add_disk(m, def->disks[i]->target_dev, NULL, def->disks[i]->source,
                                   def->disks[i]->readonly);
        if (snapshot_meta_stage_begin(root, job->name, m, err) < 0 || create_commit(m, err) < 0)
            return -1;
    }
    if (flags & VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT)
        return snapshot_meta_set_current(root, job->name, req->name, err);
    return 0;
}

static int
create_run(SnapCreate *c, const SnapshotXmlRequest *req, unsigned int flags, CvError **err)
{
    LocalJob *job = c->job;
    if (!job->persistent)
        return refuse(err, VIR_ERR_OPERATION_INVALID,
                      "cannot create a snapshot of a transient domain");
    c->active = domain_status_is_active(&job->st);
    c->was_running = c->active && job->st.state == VIR_DOMAIN_RUNNING;
    c->disk_only = c->active && (flags & VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY);
    c->def = domain_store_load_def(job->priv->store, job->name, c->active, job->uuid, err);
    if (!c->def)
        return -1;
    c->backend = c->active ? local_job_backend(job, err)
                           : cocoon_config_backend_for_def(job->priv->config, c->def, err);
    if (!c->backend)
        return -1;
    if (flags & VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE) {
        if (!req->name)
            return refuse(err, VIR_ERR_INVALID_ARG, "a redefined snapshot must have a name");
        return create_redefine(c, req, flags, err);
    }
    return create_snapshot(c, req, flags, err);
}

CocoonDomainSnapshot *
local_domain_snapshot_create_xml(CocoonDomain *dom, const char *xml, unsigned int flags,
                                 CvError **err)
{
    if (create_check_flags(flags, err) < 0)
        return NULL;
    g_autoptr(SnapshotXmlRequest) req = snapshot_xml_parse(xml, err);
    if (!req)
        return NULL;
    g_autofree char *name =
        req->name ? g_strdup(req->name) : g_strdup_printf("%lld", (long long)time(NULL));
    if (snapshot_meta_check_name(name, err) < 0)
        return NULL;
    LocalJob job;
    if (local_job_begin(dom->conn, dom->name, dom->uuid, false, &job, err) < 0)
        return NULL;
    SnapCreate c = {
        .job = &job,
        .meta = snapshot_meta_new(name),
        .skip = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL),
    };
    int rc = create_run(&c, req, flags, err);
    if (rc < 0)
        cv_error_prefix(err, "cannot create snapshot '%s' of domain '%s': ", name, job.name);
    CocoonDomainSnapshot *snap = NULL;
    if (rc == 0) {
        dom->id = domain_status_is_active(&job.st) ? job.st.id : -1;
        snap = cocoon_domain_snapshot_new(dom, name);
    }
    domain_def_free(c.def);
    snapshot_meta_free(c.meta);
    g_hash_table_unref(c.skip);
    local_job_end(&job);
    return snap;
}

/* ---- revert ------------------------------------------------------------------------------- */

/* Put every captured disk back in its place. */
static int
revert_disks(const SnapshotMeta *m, CvError **err)
{
    for (guint i = 0; i < m->disks->len; i++) {
        const SnapshotDisk *d = m->disks->pdata[i];
        if (!d->file || !d->source)
            continue;
        g_autofree char *captured = snapshot_meta_path(m, d->file);
        if (snapshot_disk_restore(captured, d->source, err) < 0)
            return -1;
    }
    return 0;
}

static int
revert_run(LocalJob *job, const SnapshotMeta *m, unsigned int flags, CvError **err)
{
    if (!snapshot_meta_has_data(m)) {
        cv_error_set(err, VIR_FROM_DOMAIN_SNAPSHOT, VIR_ERR_OPERATION_INVALID,
                     "snapshot '%s' holds no data to revert to", m->name);
        return -1;
    }
    g_autoptr(DomainDef) def = domain_def_parse_string(m->domain_xml ? m->domain_xml : "", 0, err);
    if (!def)
        return -1;
    /* the snapshot's configuration under the domain's own identity: an imported snapshot may
     * come from a domain of another name (its live folder, relay and VMM are this domain's) */
    g_free(def->name);
    def->name = g_strdup(job->name);
    memcpy(def->uuid, job->uuid, DOMAIN_UUID_LEN);
    bool memory = m->memory_file || m->ch_dir;
    const CocoonBackend *backend = cocoon_config_backend_for_def(job->priv->config, def, err);
    if (!backend)
        return -1;
    if (memory && g_strcmp0(backend->name, m->backend) != 0) {
        cv_error_set(err, VIR_FROM_DOMAIN_SNAPSHOT, VIR_ERR_CONFIG_UNSUPPORTED,
                     "snapshot '%s' was taken with %s, the domain now runs on %s", m->name,
                     m->backend, backend->name);
        return -1;
    }
    if (domain_status_is_active(&job->st) &&
        local_snapshot_job_stop(job, VIR_DOMAIN_SHUTOFF_FROM_SNAPSHOT, VIR_DOMAIN_EVENT_STOPPED_FROM_SNAPSHOT,
                 err) < 0)
        return -1;
    if (revert_disks(m, err) < 0)
        return -1;
    bool paused = (flags & VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED) ||
                  (strcmp(m->state, "paused") == 0 && !(flags & VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING));
    int rc = 0;
    if (memory) {
        rc = local_snapshot_restore_vm(job, def, m, paused, false, err);
    } else if (flags & (VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING | VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED)) {
        rc = local_job_start(job, def, paused, -1, err);
    }
    if (rc == 0 && domain_status_is_active(&job->st))
        domain_watch_wake(job->priv);
    return rc;
}

int
local_domain_revert_to_snapshot(CocoonDomainSnapshot *snap, unsigned int flags, CvError **err)
{
    if (local_check_flags(flags,
                          VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING | VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED |
                              VIR_DOMAIN_SNAPSHOT_REVERT_FORCE,
                          "virDomainRevertToSnapshot", err) < 0)
        return -1;
    if ((flags & VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING) && (flags & VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED)) {
        cv_error_set(err, VIR_FROM_DOMAIN_SNAPSHOT, VIR_ERR_INVALID_ARG,
                     "running and paused flags are mutually exclusive");
        return -1;
    }
    CocoonDomain *dom = snap->dom;
    LocalJob job;
    if (local_job_begin(dom->conn, dom->name, dom->uuid, false, &job, err) < 0)
        return -1;
    g_autoptr(SnapshotMeta) m = snapshot_meta_load(root_of(&job), job.name, snap->name, err);
    int rc = m ? revert_run(&job, m, flags, err) : -1;
    if (rc == 0)
        snapshot_meta_set_current(root_of(&job), job.name, m->name, NULL);
    else if (m)
        cv_error_prefix(err, "cannot revert domain '%s' to snapshot '%s': ", job.name, m->name);
    dom->id = domain_status_is_active(&job.st) ? job.st.id : -1;
    local_job_end(&job);
    return rc;
}

/* ---- delete ------------------------------------------------------------------------------- */

/* Give m's children m's parent, in their metadata and XML. */
static int
delete_reparent(GPtrArray *list, const SnapshotMeta *m, CvError **err)
{
    for (guint i = 0; i < list->len; i++) {
        SnapshotMeta *child = list->pdata[i];
        if (g_strcmp0(child->parent, m->name) != 0)
            continue;
        g_free(child->parent);
        child->parent = g_strdup(m->parent);
        g_autofree char *xml = snapshot_xml_format(child);
        if (snapshot_meta_save(child, xml, err) < 0)
            return -1;
    }
    return 0;
}

/*
 * --metadata: Cocoon forgets the snapshot but keeps its files, as libvirt leaves an external
 * snapshot's files to the user: the folder becomes .detached-<name>-XXXXXX beside the others
 * (listed by none, its files where they were printed but for the folder's name).
 */
static int
delete_metadata_only(const SnapshotMeta *m, CvError **err)
{
    g_autofree char *base = g_path_get_dirname(m->dir);
    g_autofree char *to = g_strdup_printf("%s/.detached-%s-XXXXXX", base, m->name);
    if (!g_mkdtemp_full(to, 0700) || rename(m->dir, to) < 0) {
        cv_error_set_errno(err, VIR_FROM_DOMAIN_SNAPSHOT, errno,
                           "cannot remove the metadata of snapshot '%s'", m->name);
        rmdir(to);
        return -1;
    }
    g_autofree char *meta = g_build_filename(to, SNAPSHOT_META_FILE, NULL);
    unlink(meta);
    return 0;
}

static int
delete_one(const SnapshotMeta *m, unsigned int flags, CvError **err)
{
    if (flags & VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY)
        return delete_metadata_only(m, err);
    return snapshot_meta_delete(m, err);
}

static int
delete_run(LocalJob *job, const char *name, unsigned int flags, CvError **err)
{
    const char *root = root_of(job);
    g_autoptr(GPtrArray) list = NULL;
    if (snapshot_meta_list(root, job->name, &list, err) < 0)
        return -1;
    SnapshotMeta *m = snapshot_meta_find(list, name);
    if (!m) {
        cv_error_set(err, VIR_FROM_DOMAIN_SNAPSHOT, VIR_ERR_NO_DOMAIN_SNAPSHOT,
                     "no domain snapshot with matching name '%s'", name);
        return -1;
    }
    g_autofree char *current = snapshot_meta_current(root, job->name);
    bool children = flags & (VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN |
                             VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY);
    bool current_gone = false;
    if (children) {
        /* the deepest first, so that a failure midway leaves a tree, never orphans */
        for (guint i = list->len; i-- > 0;) {
            SnapshotMeta *d = list->pdata[i];
            if (!snapshot_meta_is_descendant(list, d->name, name))
                continue;
            current_gone = current_gone || g_strcmp0(current, d->name) == 0;
            if (delete_one(d, flags, err) < 0)
                return -1;
        }
    }
    if (!(flags & VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY)) {
        if (!children && delete_reparent(list, m, err) < 0)
            return -1;
        if (delete_one(m, flags, err) < 0)
            return -1;
        if (current_gone || g_strcmp0(current, name) == 0)
            return snapshot_meta_set_current(root, job->name, m->parent, err);
        return 0;
    }
    /* only the children went: their ancestor becomes current in their place */
    return current_gone ? snapshot_meta_set_current(root, job->name, name, err) : 0;
}

int
local_domain_snapshot_delete(CocoonDomainSnapshot *snap, unsigned int flags, CvError **err)
{
    if (local_check_flags(flags,
                          VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN |
                              VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY |
                              VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY,
                          "virDomainSnapshotDelete", err) < 0)
        return -1;
    if ((flags & VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN) &&
        (flags & VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY)) {
        cv_error_set(err, VIR_FROM_DOMAIN_SNAPSHOT, VIR_ERR_INVALID_ARG,
                     "children and children-only flags are mutually exclusive");
        return -1;
    }
    CocoonDomain *dom = snap->dom;
    LocalJob job;
    if (local_job_begin(dom->conn, dom->name, dom->uuid, false, &job, err) < 0)
        return -1;
    int rc = delete_run(&job, snap->name, flags, err);
    local_job_end(&job);
    return rc;
}
