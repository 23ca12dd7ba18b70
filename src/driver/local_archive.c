#include "local_cocoon.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "driver/backend.h"
#include "driver/config.h"
#include "local_lifecycle.h"
#include "snapshot/snapshot_archive.h"
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

char *
local_snapshot_dir(LocalDriverPriv *priv, const char *dom)
{
    return g_build_filename(domain_store_root(priv->store), "domains", dom, "snapshots", NULL);
}

static void
no_snapshot(CvError **err, const char *snap)
{
    cv_error_set(err, VIR_FROM_CH, VIR_ERR_NO_DOMAIN_SNAPSHOT,
                 "no domain snapshot with matching name '%s'", snap);
}

/* meta.json of a snapshot folder (SNAPSHOT-LAYOUT.md), parsed; NULL with *err. */
static json_object *
meta_load(int dirfd, const char *path, CvError **err)
{
    g_autofree char *text = NULL;
    if (cv_file_read_at(dirfd, "meta.json", 1024 * 1024, &text, NULL, err) < 0)
        return NULL;
    json_object *meta = json_tokener_parse(text);
    if (!meta || !json_object_is_type(meta, json_type_object)) {
        if (meta)
            json_object_put(meta);
        cv_error_set(err, VIR_FROM_CH, VIR_ERR_INTERNAL_ERROR, "invalid meta.json in '%s'", path);
        return NULL;
    }
    return meta;
}

static const char *
meta_string(json_object *meta, const char *key)
{
    json_object *v;
    if (!json_object_object_get_ex(meta, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

/* meta's memory.size and memory.file, or false when the snapshot holds no memory. */
static bool
meta_memory(json_object *meta, long long *ret_size, const char **ret_file)
{
    json_object *mem, *size, *file;
    if (!json_object_object_get_ex(meta, "memory", &mem) ||
        !json_object_is_type(mem, json_type_object) ||
        !json_object_object_get_ex(mem, "size", &size) ||
        !json_object_object_get_ex(mem, "file", &file))
        return false;
    *ret_size = json_object_get_int64(size);
    *ret_file = json_object_get_string(file);
    return true;
}

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
    g_autofree char *dir = local_snapshot_dir(job.priv, dom->name);
    g_autofree char *path = g_build_filename(dir, snap, NULL);
    int dirfd = -1;
    json_object *meta = NULL;
    if (!snapshot_archive_name_ok(snap) || snap[0] == '.' ||
        (dirfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
        no_snapshot(err, snap);
        goto out;
    }
    if (!(meta = meta_load(dirfd, path, err)))
        goto out;
    SnapshotArchiveWriteOpts opts = {
        .domain = dom->name,
        .snapshot = snap,
        .backend = meta_string(meta, "backend") ? meta_string(meta, "backend") : "",
        .progress = progress ? progress->func : NULL,
        .opaque = progress ? progress->opaque : NULL,
    };
    if (snapshot_archive_write(dirfd, path, fd, &opts, err) < 0) {
        cv_error_prefix(err, "cannot export snapshot '%s' of domain '%s': ", snap, dom->name);
        goto out;
    }
    ret = 0;
out:
    if (meta)
        json_object_put(meta);
    if (dirfd >= 0)
        close(dirfd);
    local_job_end(&job);
    return ret;
}

/* ---- the snapshot XML an archive carries ---------------------------------------------------- */

/* The <domain> inside snapshot.xml (new string) and, with new_name, the document renamed
 * (*xml replaced). NULL with *err. */
static char *
snapshot_xml_domain(char **xml, const char *new_name, CvError **err)
{
    xmlDocPtr doc = xmlReadMemory(*xml, (int)strlen(*xml), "snapshot.xml", NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
    char *ret = NULL;
    if (!root || !xmlStrEqual(root->name, BAD_CAST "domainsnapshot")) {
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_INVALID_ARG,
                     "invalid snapshot archive: snapshot.xml is not a <domainsnapshot>");
        goto out;
    }
    xmlNodePtr domain = NULL;
    for (xmlNodePtr n = root->children; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (xmlStrEqual(n->name, BAD_CAST "domain"))
            domain = n;
        if (new_name && xmlStrEqual(n->name, BAD_CAST "name"))
            xmlNodeSetContent(n, BAD_CAST new_name);
    }
    if (!domain) {
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_INVALID_ARG,
                     "invalid snapshot archive: snapshot.xml carries no domain definition");
        goto out;
    }
    xmlBufferPtr buf = xmlBufferCreate();
    xmlNodeDump(buf, doc, domain, 0, 0);
    ret = g_strdup((const char *)xmlBufferContent(buf));
    xmlBufferFree(buf);
    if (new_name) {
        xmlChar *out = NULL;
        int len = 0;
        xmlDocDumpFormatMemory(doc, &out, &len, 1);
        g_free(*xml);
        *xml = g_strndup((const char *)out, (gsize)len);
        xmlFree(out);
    }
out:
    if (doc)
        xmlFreeDoc(doc);
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
    g_autofree char *dir = local_snapshot_dir(ctx->priv, ctx->dom);
    g_autofree char *path = g_build_filename(dir, ctx->snap, NULL);
    if (access(path, F_OK) == 0) {
        cv_error_set(err, VIR_FROM_CH, VIR_ERR_OPERATION_INVALID,
                     "domain '%s' already has a snapshot named '%s'", ctx->dom, ctx->snap);
        return -1;
    }
    return 0;
}

/* What the extracted folder says must agree with the manifest and the definition. */
static DomainDef *
import_verify(ImportCtx *ctx, int sfd, const char *spath, const SnapshotArchiveInfo *info,
              char **ret_snapshot_xml, CvError **err)
{
    json_object *meta = meta_load(sfd, spath, err);
    g_autofree char *xml = NULL;
    g_autofree char *dom_xml = NULL;
    g_autoptr(DomainDef) def = NULL;
    if (!meta)
        return NULL;
    const char *backend = meta_string(meta, "backend");
    long long mem_size = 0;
    const char *mem_file = NULL;
    if (!backend || strcmp(backend, info->backend) != 0) {
        snapshot_archive_refuse(err, "meta.json states backend '%s', the manifest '%s'",
                                backend ? backend : "", info->backend);
        goto fail;
    }
    if (cv_file_read_at(sfd, "snapshot.xml", 16 * 1024 * 1024, &xml, NULL, err) < 0)
        goto fail;
    bool renamed = ctx->want_snap && strcmp(ctx->want_snap, info->snapshot) != 0;
    if (!(dom_xml = snapshot_xml_domain(&xml, renamed ? ctx->snap : NULL, err)))
        goto fail;
    if (!(def = domain_def_parse_string(dom_xml, DOMAIN_DEF_PARSE_FLAGS_NONE, err))) {
        cv_error_prefix(err, "invalid snapshot archive: ");
        goto fail;
    }
    if (meta_memory(meta, &mem_size, &mem_file)) {
        struct stat st;
        unsigned long long want = def->memory_kib * 1024ULL;
        if (!mem_file || !snapshot_archive_name_ok(mem_file) ||
            fstatat(sfd, mem_file, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode)) {
            snapshot_archive_refuse(err, "the memory file '%s' is missing",
                                    mem_file ? mem_file : "");
            goto fail;
        }
        if ((unsigned long long)st.st_size != want || (unsigned long long)mem_size != want) {
            snapshot_archive_refuse(err,
                                    "the memory file '%s' is %lld bytes, the definition has "
                                    "%llu bytes of memory",
                                    mem_file, (long long)st.st_size, want);
            goto fail;
        }
    }
    json_object_put(meta);
    *ret_snapshot_xml = g_steal_pointer(&xml);
    return g_steal_pointer(&def);
fail:
    json_object_put(meta);
    return NULL;
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

/* Move the staged folder into the domain's snapshots, under the domain's lock. */
static int
import_commit(ImportCtx *ctx, int staging_root, const char *staged, const char *snapshot_xml,
              bool renamed, CvError **err)
{
    g_autofree char *dir = local_snapshot_dir(ctx->priv, ctx->dom);
    if (renamed) {
        int sfd = openat(staging_root, staged, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int rc = sfd < 0 ? -1
                         : cv_file_write_atomic_at(sfd, staged, "snapshot.xml", snapshot_xml,
                                                   strlen(snapshot_xml), 0600, 0, err);
        if (sfd >= 0)
            close(sfd);
        if (rc < 0)
            return -1;
    }
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
    g_autofree char *snapshot_xml = NULL;
    g_autoptr(SnapshotArchiveInfo) info = NULL;
    g_autoptr(DomainDef) def = NULL;
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
    if (!(def = import_verify(&ctx, lock->fd, spath, info, &snapshot_xml, err)))
        goto out;

    LocalJob job;
    if (local_job_begin(conn, ctx.dom, NULL, true, &job, err) < 0)
        goto out;
    bool defined = false;
    if (job.persistent) {
        dom = cocoon_domain_new(conn, ctx.dom, job.uuid, -1);
    } else {
        dom = import_define(conn, &ctx, def, err);
        defined = dom != NULL;
    }
    bool renamed = new_name && strcmp(new_name, info->snapshot) != 0;
    if (dom && import_commit(&ctx, staging_root, staged, snapshot_xml, renamed, err) < 0) {
        if (defined)
            domain_store_delete(priv->store, ctx.dom, dom->uuid, NULL);
        cocoon_domain_free(dom);
        dom = NULL;
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
