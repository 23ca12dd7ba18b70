#include "local_cocoon.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "driver/backend.h"
#include "driver/config.h"
#include "local_lifecycle.h"
#include "snapshot/snapshot_archive.h"
#include "snapshot/snapshot_meta.h"
#include "snapshot/snapshot_xml.h"
#include "util/cv_file.h"
#include "util/cv_lock.h"

/*
 * snapshot-export and snapshot-import of the local driver. Export streams a snapshot folder
 * into an archive under the domain's lock. Import extracts into a private staging folder
 * (<root>/staging/import-*, locked so gc leaves it alone), checks what the archive brought
 * against the target domain, then, under the domain's lock, defines the domain if it does not
 * exist and renames the folder into place: a refused or failed import leaves nothing behind.
 */

#define STAGING_DIR "staging"

/* ---- export -------------------------------------------------------------------------------- */

int
local_snapshot_export(CocoonDomain *dom, const char *snap, int fd, const CocoonProgress *progress,
                      unsigned int flags, CvError **err)
{
    if (local_check_flags(flags, 0, __func__, err) < 0)
        return -1;
    LocalJob job;
    if (local_job_begin(dom->conn, dom->name, dom->uuid, false, &job, err) < 0)
        return -1;
    int ret = -1;
    int dirfd = -1;
    g_autoptr(SnapshotMeta) m =
        snapshot_meta_load(domain_store_root(job.priv->store), dom->name, snap, err);
    if (!m)
        goto out;
    if ((dirfd = cv_dir_open(m->dir, err)) < 0)
        goto out;
    SnapshotArchiveWriteOpts opts = {
        .domain = dom->name,
        .snapshot = m->name,
        .backend = m->backend,
        .progress = progress ? progress->func : NULL,
        .opaque = progress ? progress->opaque : NULL,
    };
    if (snapshot_archive_write(dirfd, m->dir, fd, &opts, err) < 0) {
        cv_error_prefix(err, "cannot export snapshot '%s' of domain '%s': ", snap, dom->name);
        goto out;
    }
    ret = 0;
out:
    if (dirfd >= 0)
        close(dirfd);
    local_job_end(&job);
    return ret;
}

/* ---- import -------------------------------------------------------------------------------- */

typedef struct {
    LocalDriverPriv *priv;
    const char *want_dom;  /* the caller's, may be NULL */
    const char *want_snap; /* the caller's, may be NULL */
    char *dom;             /* the target domain */
    char *snap;            /* the target snapshot name */
    bool dom_exists;
} ImportCtx;

/* The backend name of the existing domain name, or NULL with *err. */
static const char *
domain_backend_name(LocalDriverPriv *priv, const char *name, CvError **err)
{
    g_autoptr(DomainDef) def = domain_store_load_def(priv->store, name, false, NULL, err);
    if (!def)
        return NULL;
    const CocoonBackend *b = cocoon_config_backend_for_def(priv->config, def, err);
    return b ? b->name : NULL;
}

/* After the manifest, before any data: refuse what cannot be taken. */
static int
import_check(const SnapshotArchiveInfo *info, void *opaque, CvError **err)
{
    ImportCtx *ctx = opaque;
    ctx->dom = g_strdup(ctx->want_dom ? ctx->want_dom : info->domain);
    ctx->snap = g_strdup(ctx->want_snap ? ctx->want_snap : info->snapshot);
    if (domain_store_check_name(ctx->dom, err) < 0)
        return -1;
    if (!snapshot_archive_name_ok(ctx->snap) || ctx->snap[0] == '.') {
        cv_error_set(err, VIR_FROM_CH, VIR_ERR_INVALID_ARG, "invalid snapshot name '%s'",
                     ctx->snap);
        return -1;
    }
    if (!backend_for_emulator(info->backend)) {
        snapshot_archive_refuse(err, "unknown backend '%s'", info->backend);
        return -1;
    }
    g_autoptr(DomainStoreEntry) e = domain_store_lookup_name(ctx->priv->store, ctx->dom, 0, NULL);
    ctx->dom_exists = e && e->persistent;
    if (!ctx->dom_exists)
        return 0;
    const char *have = domain_backend_name(ctx->priv, ctx->dom, err);
    if (!have)
        return -1;
    if (strcmp(have, info->backend) != 0) {
        cv_error_set(err, VIR_FROM_CH, VIR_ERR_OPERATION_INVALID,
                     "cannot import a %s snapshot into domain '%s' of backend %s", info->backend,
                     ctx->dom, have);
        return -1;
    }
    g_autofree char *dir = snapshot_meta_dir(domain_store_root(ctx->priv->store), ctx->dom);
    g_autofree char *path = g_build_filename(dir, ctx->snap, NULL);
    if (access(path, F_OK) == 0) {
        cv_error_set(err, VIR_FROM_CH, VIR_ERR_OPERATION_INVALID,
                     "domain '%s' already has a snapshot named '%s'", ctx->dom, ctx->snap);
        return -1;
    }
    return 0;
}

/* The staged folder as a snapshot (snapshot_meta.h), checked against the manifest and against
 * the definition it carries; m->dir is not set. NULL with *err. */
static SnapshotMeta *
import_verify(ImportCtx *ctx, int sfd, const SnapshotArchiveInfo *info, DomainDef **ret_def,
              CvError **err)
{
    g_autofree char *text = NULL;
    g_autofree char *xml = NULL;
    g_autoptr(SnapshotMeta) m = NULL;
    g_autoptr(SnapshotXmlRequest) req = NULL;
    g_autoptr(DomainDef) def = NULL;
    if (cv_file_read_at(sfd, SNAPSHOT_META_FILE, 1024 * 1024, &text, NULL, err) < 0 ||
        cv_file_read_at(sfd, SNAPSHOT_XML_FILE, 16 * 1024 * 1024, &xml, NULL, err) < 0)
        return NULL;
    if (!(m = snapshot_meta_from_json(ctx->snap, text, err)) ||
        !(req = snapshot_xml_parse(xml, err))) {
        cv_error_prefix(err, "invalid snapshot archive: ");
        return NULL;
    }
    if (strcmp(m->backend, info->backend) != 0) {
        snapshot_archive_refuse(err, "meta.json states backend '%s', the manifest '%s'",
                                m->backend, info->backend);
        return NULL;
    }
    m->description = g_steal_pointer(&req->description);
    m->domain_xml = g_steal_pointer(&req->domain_xml);
    if (!m->domain_xml) {
        snapshot_archive_refuse(err, "snapshot.xml carries no domain definition");
        return NULL;
    }
    if (!(def = domain_def_parse_string(m->domain_xml, DOMAIN_DEF_PARSE_FLAGS_NONE, err))) {
        cv_error_prefix(err, "invalid snapshot archive: ");
        return NULL;
    }
    if (m->memory_file) {
        struct stat st;
        unsigned long long want = def->memory_kib * 1024ULL;
        if (fstatat(sfd, m->memory_file, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode)) {
            snapshot_archive_refuse(err, "the memory file '%s' is missing", m->memory_file);
            return NULL;
        }
        /* FC's memory file is the guest memory byte for byte; CH's memory-ranges is not */
        bool whole = strcmp(m->backend, "firecracker") == 0;
        if ((unsigned long long)st.st_size != m->memory_size ||
            (whole && m->memory_size != want)) {
            snapshot_archive_refuse(err,
                                    "the memory file '%s' is %lld bytes, the definition has "
                                    "%llu bytes of memory",
                                    m->memory_file, (long long)st.st_size, want);
            return NULL;
        }
    }
    *ret_def = g_steal_pointer(&def);
    return g_steal_pointer(&m);
}

/* Define the domain the archive carries (as ctx->dom; a new uuid when renamed). */
static CocoonDomain *
import_define(CocoonConn *conn, ImportCtx *ctx, DomainDef *def, CvError **err)
{
    if (strcmp(def->name, ctx->dom) != 0) {
        g_free(def->name);
        def->name = g_strdup(ctx->dom);
        g_autofree char *uuid = g_uuid_string_random();
        domain_uuid_parse(uuid, def->uuid);
    }
    g_autofree char *xml = domain_def_format(def, -1);
    return conn->driver->domainDefineXMLFlags(conn, xml, 0, err);
}

/* Rewrite the staged metadata for its new home (name, a parent that exists there, the
 * absolute paths of the XML), then move it into the domain's snapshots, under its lock. */
static int
import_commit(ImportCtx *ctx, SnapshotMeta *m, int sfd, const char *spath, int staging_root,
              const char *staged, CvError **err)
{
    g_autofree char *dir = snapshot_meta_dir(domain_store_root(ctx->priv->store), ctx->dom);
    const char *root = domain_store_root(ctx->priv->store);
    if (m->parent) {
        g_autoptr(SnapshotMeta) parent = snapshot_meta_load(root, ctx->dom, m->parent, NULL);
        if (!parent)
            g_clear_pointer(&m->parent, g_free);
    }
    m->dir = g_build_filename(dir, ctx->snap, NULL);
    g_autofree char *json = snapshot_meta_to_json(m);
    g_autofree char *xml = snapshot_xml_format(m);
    if (cv_file_write_atomic_at(sfd, spath, SNAPSHOT_META_FILE, json, strlen(json), 0600, 0,
                                err) < 0 ||
        cv_file_write_atomic_at(sfd, spath, SNAPSHOT_XML_FILE, xml, strlen(xml), 0600, 0, err) < 0)
        return -1;
    if (cv_dir_ensure(dir, 0700, err) < 0)
        return -1;
    int dfd = cv_dir_open(dir, err);
    if (dfd < 0)
        return -1;
    int ret = 0;
    if (renameat2(staging_root, staged, dfd, ctx->snap, RENAME_NOREPLACE) < 0) {
        if (errno == EEXIST)
            cv_error_set(err, VIR_FROM_CH, VIR_ERR_OPERATION_INVALID,
                         "domain '%s' already has a snapshot named '%s'", ctx->dom, ctx->snap);
        else
            cv_error_set_errno(err, VIR_FROM_CH, errno, "cannot move snapshot into '%s'", dir);
        ret = -1;
    } else if (cv_dir_sync(dfd, dir, err) < 0) {
        ret = -1;
    }
    close(dfd);
    return ret;
}

/* A new locked staging folder under <root>/staging; its name into *ret_name. */
static CvLock *
staging_create(LocalDriverPriv *priv, int *ret_root, char **ret_name, CvError **err)
{
    g_autofree char *root = g_build_filename(domain_store_root(priv->store), STAGING_DIR, NULL);
    if (cv_dir_ensure(root, 0700, err) < 0)
        return NULL;
    int rfd = cv_dir_open(root, err);
    if (rfd < 0)
        return NULL;
    for (int i = 0; i < 100; i++) {
        g_autofree char *name = g_strdup_printf("import-%08x", g_random_int());
        bool created = false;
        CvLock *lock = cv_lock_dir_at(rfd, name, CV_LOCK_CREATE | CV_LOCK_NONBLOCK, 0700, &created,
                                      NULL);
        if (lock && created) {
            *ret_root = rfd;
            *ret_name = g_steal_pointer(&name);
            return lock;
        }
        cv_lock_release(lock);
    }
    close(rfd);
    cv_error_set(err, VIR_FROM_CH, VIR_ERR_INTERNAL_ERROR, "cannot create a staging folder");
    return NULL;
}

CocoonDomain *
local_snapshot_import(CocoonConn *conn, const char *dom_name, int fd, const char *new_name,
                      const CocoonProgress *progress, unsigned int flags, char **ret_snap,
                      CvError **err)
{
    if (local_check_flags(flags, 0, __func__, err) < 0)
        return NULL;
    LocalDriverPriv *priv = conn->priv;
    ImportCtx ctx = { .priv = priv, .want_dom = dom_name, .want_snap = new_name };
    int staging_root = -1;
    g_autofree char *staged = NULL;
    g_autoptr(SnapshotArchiveInfo) info = NULL;
    g_autoptr(DomainDef) def = NULL;
    g_autoptr(SnapshotMeta) m = NULL;
    CocoonDomain *dom = NULL;
    g_autoptr(CvLock) lock = staging_create(priv, &staging_root, &staged, err);
    if (!lock)
        return NULL;
    g_autofree char *spath =
        g_build_filename(domain_store_root(priv->store), STAGING_DIR, staged, NULL);
    SnapshotArchiveReadOpts opts = {
        .check = import_check,
        .check_opaque = &ctx,
        .progress = progress ? progress->func : NULL,
        .progress_opaque = progress ? progress->opaque : NULL,
    };
    if (snapshot_archive_read(fd, lock->fd, spath, &opts, &info, err) < 0)
        goto out;
    if (!(m = import_verify(&ctx, lock->fd, info, &def, err)))
        goto out;

    LocalJob job;
    if (local_job_begin(conn, ctx.dom, NULL, true, &job, err) < 0)
        goto out;
    if (job.persistent) {
        dom = cocoon_domain_new(conn, ctx.dom, job.uuid, -1);
        if (import_commit(&ctx, m, lock->fd, spath, staging_root, staged, err) < 0)
            g_clear_pointer(&dom, cocoon_domain_free);
    } else if (import_commit(&ctx, m, lock->fd, spath, staging_root, staged, err) == 0) {
        /* the snapshot first, the definition last: an import killed in between leaves a
         * snapshot of no domain, which gc removes, never a domain without its snapshot */
        if (!(dom = import_define(conn, &ctx, def, err))) {
            g_autofree char *sdir =
                snapshot_meta_dir(domain_store_root(priv->store), ctx.dom);
            int sfd = cv_dir_open(sdir, NULL);
            if (sfd >= 0) {
                cv_dir_remove_tree_at(sfd, ctx.snap, NULL);
                close(sfd);
            }
        }
    }
    local_job_end(&job);
    if (dom && ret_snap)
        *ret_snap = g_strdup(ctx.snap);
out:
    cv_dir_remove_tree_at(staging_root, staged, NULL);
    cv_lock_release(g_steal_pointer(&lock));
    if (staging_root >= 0)
        close(staging_root);
    g_free(ctx.dom);
    g_free(ctx.snap);
    return dom;
}
