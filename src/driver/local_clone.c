#include "local_cocoon.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "driver/backend.h"
#include "driver/config.h"
#include "domain_watch.h"
#include "local_lifecycle.h"
#include "snapshot/snapshot_disk.h"
#include "snapshot/snapshot_meta.h"
#include "util/cv_file.h"

/*
 * clone --snapshot: a new domain (new name, new uuid) from a snapshot of another: its own
 * copy of every captured disk (reflink, else sparse: it costs only what it changes later),
 * its own TAPs, and, for a snapshot with memory, restored from it on a fresh VMM. The guest
 * memory is never copied: FC maps the snapshot's memory file privately (mem_backend File), so
 * the file stays read-only to every clone; CH's clone links memory-ranges.
 *
 * FC's state file names the drives by the paths the source had: the clone's VMM runs in a
 * private mount namespace with its copies bound there (cocoon-vmm-ns), so the source's disks
 * are never opened and may be gone; right after the load its drives move to the clone's own
 * paths, so snapshots of the clone record those. What a load cannot change (vCPUs, memory,
 * the NICs and their MACs, which the guest keeps) the clone keeps, and the notes say so.
 */

#define CLONE_DISKS_DIR "disks"

typedef struct {
    LocalDriverPriv *priv;
    const SnapshotMeta *m;
    DomainDef *def;
    GPtrArray *binds; /* recorded path, clone file, …, NULL */
    char *dir;        /* <root>/domains/<new> */
} Clone;

static const SnapshotDisk *
meta_disk(const SnapshotMeta *m, const char *target)
{
    for (guint i = 0; i < m->disks->len; i++) {
        const SnapshotDisk *d = m->disks->pdata[i];
        if (g_strcmp0(d->target, target) == 0)
            return d;
    }
    return NULL;
}

/* FC's drive id of a target, as snapshot creation recorded it. */
static char *
fc_id(const char *target)
{
    char *id = g_strdup(target);
    for (char *p = id; *p; p++)
        if (!g_ascii_isalnum(*p))
            *p = '_';
    return id;
}

/* The clone's definition from the snapshot's: new name and uuid, its own disk files, TAPs
 * chosen at start; the MACs stay (the guest has them). */
static int
clone_plan(Clone *c, const char *new_name, CvError **err)
{
    const SnapshotMeta *m = c->m;
    if (!(c->def = domain_def_parse_string(m->domain_xml ? m->domain_xml : "", 0, err)))
        return -1;
    g_free(c->def->name);
    c->def->name = g_strdup(new_name);
    g_autofree char *uuid = g_uuid_string_random();
    domain_uuid_parse(uuid, c->def->uuid);
    for (size_t i = 0; i < c->def->nnets; i++) {
        DomainNetDef *n = c->def->nets[i];
        if (n->target_managed_no) {
            cv_error_set(err, VIR_FROM_CH, VIR_ERR_CONFIG_UNSUPPORTED,
                         "cannot clone: interface %zu uses the existing TAP '%s' "
                         "(<target managed='no'>), which a clone cannot share",
                         i, n->target_dev ? n->target_dev : "");
            return -1;
        }
        g_clear_pointer(&n->target_dev, g_free);
    }
    c->dir = g_build_filename(domain_store_root(c->priv->store), "domains", new_name, NULL);
    c->binds = g_ptr_array_new_with_free_func(g_free);
    for (size_t i = 0; i < c->def->ndisks; i++) {
        DomainDiskDef *disk = c->def->disks[i];
        const SnapshotDisk *d = disk->target_dev ? meta_disk(m, disk->target_dev) : NULL;
        if (!d || !d->file || !disk->source)
            continue; /* not captured (read-only): shared as it is */
        g_autofree char *file = g_strdup_printf("%s.img", disk->target_dev);
        char *dest = g_build_filename(c->dir, CLONE_DISKS_DIR, file, NULL);
        g_autofree char *id = fc_id(disk->target_dev);
        const char *recorded =
            m->fc_drive_paths ? g_hash_table_lookup(m->fc_drive_paths, id) : NULL;
        g_ptr_array_add(c->binds, g_strdup(recorded ? recorded : disk->source));
        g_ptr_array_add(c->binds, g_strdup(dest));
        g_free(disk->source);
        disk->source = dest;
    }
    g_ptr_array_add(c->binds, NULL);
    return 0;
}

/* Copy every captured disk of the snapshot to the clone's own file, durably. */
static int
clone_disks(Clone *c, CvError **err)
{
    g_autofree char *disks = g_build_filename(c->dir, CLONE_DISKS_DIR, NULL);
    if (cv_dir_ensure(disks, 0700, err) < 0)
        return -1;
    for (size_t i = 0; i < c->def->ndisks; i++) {
        const DomainDiskDef *disk = c->def->disks[i];
        const SnapshotDisk *d = disk->target_dev ? meta_disk(c->m, disk->target_dev) : NULL;
        if (!d || !d->file || !disk->source)
            continue;
        g_autofree char *captured = snapshot_meta_path(c->m, d->file);
        if (snapshot_disk_capture(captured, disk->source, err) < 0)
            return -1;
        int fd = open(disk->source, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fsync(fd) < 0) {
            cv_error_set_errno(err, VIR_FROM_CH, errno, "cannot sync '%s'", disk->source);
            if (fd >= 0)
                close(fd);
            return -1;
        }
        close(fd);
    }
    int dfd = cv_dir_open(disks, err);
    if (dfd < 0)
        return -1;
    int rc = cv_dir_sync(dfd, disks, err);
    close(dfd);
    return rc;
}

/* What the clone kept from the snapshot, for the user: a new string. */
static char *
clone_notes(const Clone *c, bool started)
{
    GString *s = g_string_new(NULL);
    g_string_append_printf(s, "kept from the snapshot: %u vCPU%s, %llu MiB of memory",
                           c->def->vcpus, c->def->vcpus == 1 ? "" : "s",
                           c->def->memory_kib / 1024);
    for (size_t i = 0; i < c->def->nnets; i++)
        g_string_append_printf(s, "%s MAC %s", i ? "," : "; the guest's", c->def->nets[i]->mac);
    if (!started)
        g_string_append(s, "; the snapshot holds no memory: the clone is defined, not started");
    return g_string_free(s, FALSE);
}

static int
clone_start(Clone *c, LocalJob *job, unsigned int flags, CvError **err)
{
    const SnapshotMeta *m = c->m;
    g_autofree char *vmstate = snapshot_meta_path(m, m->vmstate);
    g_autofree char *mem = snapshot_meta_path(m, m->memory_file);
    g_autofree char *ch_dir = snapshot_meta_path(m, m->ch_dir);
    BackendSnapshotFiles files = {
        .vmstate = vmstate,
        .memory = mem,
        .ch_dir = ch_dir,
        .clone = true,
        .binds = (const char *const *)c->binds->pdata,
    };
    bool paused = (flags & COCOON_CLONE_PAUSED) || strcmp(m->state, "paused") == 0;
    if (local_job_start_restore(job, c->def, &files, paused, false, err) < 0)
        return -1;
    domain_watch_wake(job->priv);
    return 0;
}

CocoonDomain *
local_domain_clone_from_snapshot(CocoonDomain *src, const char *snap, const char *new_name,
                                 unsigned int flags, char **ret_notes, CvError **err)
{
    if (local_check_flags(flags, COCOON_CLONE_PAUSED, __func__, err) < 0)
        return NULL;
    CocoonConn *conn = src->conn;
    Clone c = {.priv = conn->priv};
    CocoonDomain *dom = NULL;
    g_autoptr(SnapshotMeta) m = NULL;
    g_autoptr(DomainStoreEntry) other = NULL;
    g_autofree char *xml = NULL;
    const char *root = domain_store_root(c.priv->store);

    /* everything that can refuse comes before anything is made */
    if (domain_store_check_name(new_name, err) < 0 ||
        !(m = snapshot_meta_load(root, src->name, snap, err)))
        goto out;
    c.m = m;
    if ((other = domain_store_lookup_name(c.priv->store, new_name, 0, NULL))) {
        cv_error_set(err, VIR_FROM_CH, VIR_ERR_OPERATION_INVALID, "domain '%s' already exists",
                     new_name);
        goto out;
    }
    if (clone_plan(&c, new_name, err) < 0)
        goto out;
    const CocoonBackend *backend = cocoon_config_backend_for_def(c.priv->config, c.def, err);
    if (!backend || backend->validate(c.def, err) < 0)
        goto out;
    if (g_strcmp0(backend->name, m->backend) != 0) {
        cv_error_set(err, VIR_FROM_CH, VIR_ERR_CONFIG_UNSUPPORTED,
                     "cannot clone: snapshot '%s' was taken with %s, its definition runs on %s",
                     snap, m->backend, backend->name);
        goto out;
    }
    bool memory = m->memory_file || m->ch_dir;
    if (memory && backend->kind == BACKEND_FIRECRACKER && geteuid() != 0) {
        cv_error_set(err, VIR_FROM_CH, VIR_ERR_OPERATION_DENIED,
                     "cannot clone: a firecracker clone runs in a mount namespace of its own, "
                     "which needs root");
        goto out;
    }

    xml = domain_def_format(c.def, -1);
    if (!(dom = conn->driver->domainDefineXMLFlags(conn, xml, 0, err)))
        goto out;
    LocalJob job;
    if (local_job_begin(conn, new_name, dom->uuid, false, &job, err) < 0)
        goto fail;
    int rc = clone_disks(&c, err);
    if (rc == 0 && memory)
        rc = clone_start(&c, &job, flags, err);
    dom->id = domain_status_is_active(&job.st) ? job.st.id : -1;
    local_job_end(&job);
    if (rc < 0)
        goto fail;
    if (ret_notes)
        *ret_notes = clone_notes(&c, memory);
    goto out;
fail:
    /* the definition and everything under its folder (the disk copies) go again */
    domain_store_delete(c.priv->store, new_name, dom->uuid, NULL);
    local_lifecycle_emit(conn, new_name, dom->uuid, -1, VIR_DOMAIN_EVENT_UNDEFINED,
                         VIR_DOMAIN_EVENT_UNDEFINED_REMOVED);
    g_clear_pointer(&dom, cocoon_domain_free);
    cv_error_prefix(err, "cannot clone snapshot '%s' of domain '%s': ", snap, src->name);
out:
    domain_def_free(c.def);
    if (c.binds)
        g_ptr_array_unref(c.binds);
    g_free(c.dir);
    return dom;
}
