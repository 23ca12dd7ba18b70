#include "snapshot_meta.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "snapshot/snapshot_xml.h"
#include "util/cv_file.h"
#include "xml/domain_def.h"

#define SNAPSHOT_META_MAX (4 * 1024 * 1024)

static void
snapshot_disk_free(gpointer p)
{
    SnapshotDisk *d = p;
    g_free(d->target);
    g_free(d->file);
    g_free(d->source);
    g_free(d);
}

SnapshotMeta *
snapshot_meta_new(const char *name)
{
    SnapshotMeta *m = g_new0(SnapshotMeta, 1);
    m->name = g_strdup(name);
    m->disks = g_ptr_array_new_with_free_func(snapshot_disk_free);
    return m;
}

void
snapshot_meta_free(SnapshotMeta *m)
{
    if (!m)
        return;
    g_free(m->name);
    g_free(m->description);
    g_free(m->backend);
    g_free(m->state);
    g_free(m->parent);
    g_free(m->memory_file);
    g_free(m->vmstate);
    g_free(m->ch_dir);
    g_ptr_array_unref(m->disks);
    if (m->fc_drive_paths)
        g_hash_table_unref(m->fc_drive_paths);
    g_free(m->domain_xml);
    g_free(m->dir);
    g_free(m);
}

void
snapshot_meta_add_disk(SnapshotMeta *m, const char *target, const char *file, const char *source,
                       bool readonly)
{
    SnapshotDisk *d = g_new0(SnapshotDisk, 1);
    d->target = g_strdup(target);
    d->file = g_strdup(file);
    d->source = g_strdup(source);
    d->readonly = readonly;
    g_ptr_array_add(m->disks, d);
}

char *
snapshot_meta_path(const SnapshotMeta *m, const char *rel)
{
    if (!rel)
        return NULL;
    return m->dir ? g_build_filename(m->dir, rel, NULL) : g_strdup(rel);
}

bool
snapshot_meta_has_data(const SnapshotMeta *m)
{
    if (m->memory_file || m->vmstate || m->ch_dir)
        return true;
    for (guint i = 0; i < m->disks->len; i++)
        if (((SnapshotDisk *)m->disks->pdata[i])->file)
            return true;
    return false;
}

char *
snapshot_meta_dir(const char *root, const char *dom)
{
    return g_build_filename(root, "domains", dom, "snapshots", NULL);
}

int
snapshot_meta_check_name(const char *name, CvError **err)
{
    if (!name || !*name || strchr(name, '/') || name[0] == '.' ||
        strcmp(name, SNAPSHOT_CURRENT_FILE) == 0 || strlen(name) > 200) {
        cv_error_set(err, VIR_FROM_DOMAIN_SNAPSHOT, VIR_ERR_INVALID_ARG,
                     "invalid snapshot name '%s'", name ? name : "");
        return -1;
    }
    return 0;
}

/* ---- meta.json ---------------------------------------------------------------------------- */

static void
json_add_str(json_object *o, const char *key, const char *value)
{
    json_object_object_add(o, key, value ? json_object_new_string(value) : NULL);
}

char *
snapshot_meta_to_json(const SnapshotMeta *m)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "version", json_object_new_int(SNAPSHOT_META_VERSION));
    json_add_str(o, "backend", m->backend);
    json_add_str(o, "state", m->state);
    json_object_object_add(o, "created", json_object_new_int64(m->created));
    json_add_str(o, "parent", m->parent);
    json_object *mem = NULL;
    if (m->memory_file) {
        mem = json_object_new_object();
        json_add_str(mem, "file", m->memory_file);
        json_object_object_add(mem, "size", json_object_new_uint64(m->memory_size));
    }
    json_object_object_add(o, "memory", mem);
    json_add_str(o, "vmstate", m->vmstate);
    json_add_str(o, "ch_dir", m->ch_dir);
    json_object *disks = json_object_new_array();
    for (guint i = 0; i < m->disks->len; i++) {
        const SnapshotDisk *d = m->disks->pdata[i];
        json_object *jd = json_object_new_object();
        json_add_str(jd, "target", d->target);
        json_add_str(jd, "file", d->file);
        json_add_str(jd, "source", d->source);
        json_object_object_add(jd, "readonly", json_object_new_boolean(d->readonly));
        json_object_array_add(disks, jd);
    }
    json_object_object_add(o, "disks", disks);
    if (m->fc_drive_paths) {
        json_object *paths = json_object_new_object();
        GHashTableIter it;
        gpointer k, v;
        g_hash_table_iter_init(&it, m->fc_drive_paths);
        while (g_hash_table_iter_next(&it, &k, &v))
            json_add_str(paths, k, v);
        json_object_object_add(o, "fc_drive_paths", paths);
    }
    char *text = g_strdup(json_object_to_json_string_ext(
        o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
    return text;
}

/* A stored relative path: not absolute, no ".." component. */
static bool
rel_path_ok(const char *p)
{
    if (!p || !*p || p[0] == '/')
        return false;
    g_auto(GStrv) parts = g_strsplit(p, "/", -1);
    for (size_t i = 0; parts[i]; i++)
        if (strcmp(parts[i], "..") == 0)
            return false;
    return true;
}

/* The string member key of o, or NULL (also for JSON null); *bad when it is another type. */
static const char *
json_get_str(json_object *o, const char *key, bool *bad)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(o, key, &v) || !v)
        return NULL;
    if (!json_object_is_type(v, json_type_string)) {
        *bad = true;
        return NULL;
    }
    return json_object_get_string(v);
}

/* An optional relative path member; *bad when present and not a safe relative path. */
static char *
json_get_rel(json_object *o, const char *key, bool *bad)
{
    const char *p = json_get_str(o, key, bad);
    if (p && !rel_path_ok(p)) {
        *bad = true;
        return NULL;
    }
    return g_strdup(p);
}

static void
meta_json_disks(SnapshotMeta *m, json_object *o, bool *bad)
{
    json_object *disks = NULL;
    if (!json_object_object_get_ex(o, "disks", &disks) || !disks)
        return;
    if (!json_object_is_type(disks, json_type_array)) {
        *bad = true;
        return;
    }
    for (size_t i = 0; i < json_object_array_length(disks); i++) {
        json_object *jd = json_object_array_get_idx(disks, i);
        json_object *ro = NULL;
        const char *target = json_get_str(jd, "target", bad);
        g_autofree char *file = json_get_rel(jd, "file", bad);
        const char *source = json_get_str(jd, "source", bad);
        if (!target)
            *bad = true;
        json_object_object_get_ex(jd, "readonly", &ro);
        if (!*bad)
            snapshot_meta_add_disk(m, target, file, source, ro && json_object_get_boolean(ro));
    }
}

SnapshotMeta *
snapshot_meta_from_json(const char *name, const char *text, CvError **err)
{
    json_object *o = json_tokener_parse(text);
    g_autoptr(SnapshotMeta) m = snapshot_meta_new(name);
    bool bad = !o || !json_object_is_type(o, json_type_object);
    json_object *v = NULL, *mem = NULL;

    if (!bad && (!json_object_object_get_ex(o, "version", &v) ||
                 json_object_get_int(v) != SNAPSHOT_META_VERSION))
        bad = true;
    if (!bad) {
        m->backend = g_strdup(json_get_str(o, "backend", &bad));
        m->state = g_strdup(json_get_str(o, "state", &bad));
        m->parent = g_strdup(json_get_str(o, "parent", &bad));
        if (json_object_object_get_ex(o, "created", &v))
            m->created = json_object_get_int64(v);
        if (json_object_object_get_ex(o, "memory", &mem) && mem) {
            m->memory_file = json_get_rel(mem, "file", &bad);
            if (json_object_object_get_ex(mem, "size", &v))
                m->memory_size = json_object_get_uint64(v);
        }
        m->vmstate = json_get_rel(o, "vmstate", &bad);
        m->ch_dir = json_get_rel(o, "ch_dir", &bad);
        meta_json_disks(m, o, &bad);
        json_object *paths = NULL;
        if (json_object_object_get_ex(o, "fc_drive_paths", &paths) &&
            json_object_is_type(paths, json_type_object)) {
            m->fc_drive_paths = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
            json_object_object_foreach(paths, key, val)
            {
                if (json_object_is_type(val, json_type_string))
                    g_hash_table_insert(m->fc_drive_paths, g_strdup(key),
                                        g_strdup(json_object_get_string(val)));
            }
        }
        if (!m->state || !m->backend)
            bad = true;
    }
    json_object_put(o);
    if (bad) {
        cv_error_set(err, VIR_FROM_DOMAIN_SNAPSHOT, VIR_ERR_INTERNAL_ERROR,
                     "invalid metadata of snapshot '%s'", name);
        return NULL;
    }
    return g_steal_pointer(&m);
}

/* ---- load, list --------------------------------------------------------------------------- */

static void
no_snapshot(CvError **err, const char *name)
{
    cv_error_set(err, VIR_FROM_DOMAIN_SNAPSHOT, VIR_ERR_NO_DOMAIN_SNAPSHOT,
                 "no domain snapshot with matching name '%s'", name);
}

/* The facts snapshot.xml holds (description, the domain definition) into m. */
static int
meta_load_xml(SnapshotMeta *m, int dirfd, CvError **err)
{
    g_autofree char *xml = NULL;
    if (cv_file_read_at(dirfd, SNAPSHOT_XML_FILE, SNAPSHOT_META_MAX, &xml, NULL, err) < 0)
        return -1;
    g_autoptr(SnapshotXmlRequest) req = snapshot_xml_parse(xml, err);
    if (!req)
        return -1;
    m->description = g_steal_pointer(&req->description);
    /* the definition in the canonical form it was stored in (libxml2 gives it back with
     * its own quoting) */
    g_autoptr(DomainDef) def =
        req->domain_xml ? domain_def_parse_string(req->domain_xml, 0, NULL) : NULL;
    m->domain_xml = def ? domain_def_format(def, -1) : g_steal_pointer(&req->domain_xml);
    return 0;
}

SnapshotMeta *
snapshot_meta_load_dir(const char *dir, const char *name, CvError **err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            no_snapshot(err, name);
        else
            cv_error_set_errno(err, VIR_FROM_DOMAIN_SNAPSHOT, errno, "cannot open '%s'", dir);
        return NULL;
    }
    g_autofree char *text = NULL;
    g_autoptr(CvError) rerr = NULL;
    SnapshotMeta *m = NULL;
    if (cv_file_read_at(fd, SNAPSHOT_META_FILE, SNAPSHOT_META_MAX, &text, NULL, &rerr) < 0) {
        if (rerr->sys_errno == ENOENT)
            no_snapshot(err, name);
        else if (err)
            *err = g_steal_pointer(&rerr);
    } else if ((m = snapshot_meta_from_json(name, text, err))) {
        m->dir = g_strdup(dir);
        if (meta_load_xml(m, fd, err) < 0)
            g_clear_pointer(&m, snapshot_meta_free);
    }
    close(fd);
    return m;
}

SnapshotMeta *
snapshot_meta_load(const char *root, const char *dom, const char *name, CvError **err)
{
    if (!name || !*name || strchr(name, '/') || name[0] == '.' ||
        strcmp(name, SNAPSHOT_CURRENT_FILE) == 0) {
        no_snapshot(err, name ? name : "");
        return NULL;
    }
    g_autofree char *base = snapshot_meta_dir(root, dom);
    g_autofree char *dir = g_build_filename(base, name, NULL);
    return snapshot_meta_load_dir(dir, name, err);
}

static gint
meta_cmp_age(gconstpointer a, gconstpointer b)
{
    const SnapshotMeta *x = *(SnapshotMeta *const *)a, *y = *(SnapshotMeta *const *)b;
    if (x->created != y->created)
        return x->created < y->created ? -1 : 1;
    return strcmp(x->name, y->name);
}

int
snapshot_meta_list(const char *root, const char *dom, GPtrArray **ret_list, CvError **err)
{
    g_autofree char *base = snapshot_meta_dir(root, dom);
    g_autoptr(GPtrArray) list =
        g_ptr_array_new_with_free_func((GDestroyNotify)snapshot_meta_free);
    DIR *d = opendir(base);
    if (!d) {
        if (errno != ENOENT) {
            cv_error_set_errno(err, VIR_FROM_DOMAIN_SNAPSHOT, errno, "cannot read '%s'", base);
            return -1;
        }
        *ret_list = g_steal_pointer(&list);
        return 0;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' || strcmp(de->d_name, SNAPSHOT_CURRENT_FILE) == 0)
            continue;
        g_autofree char *dir = g_build_filename(base, de->d_name, NULL);
        g_autoptr(CvError) lerr = NULL;
        SnapshotMeta *m = snapshot_meta_load_dir(dir, de->d_name, &lerr);
        if (m) {
            g_ptr_array_add(list, m);
        } else if (lerr->code != VIR_ERR_NO_DOMAIN_SNAPSHOT) {
            /* an unreadable snapshot is an error, not one that silently vanishes */
            closedir(d);
            if (err)
                *err = g_steal_pointer(&lerr);
            return -1;
        }
    }
    closedir(d);
    g_ptr_array_sort(list, meta_cmp_age);
    *ret_list = g_steal_pointer(&list);
    return 0;
}

SnapshotMeta *
snapshot_meta_find(GPtrArray *list, const char *name)
{
    for (guint i = 0; i < list->len; i++) {
        SnapshotMeta *m = list->pdata[i];
        if (strcmp(m->name, name) == 0)
            return m;
    }
    return NULL;
}

size_t
snapshot_meta_count_children(GPtrArray *list, const char *name, bool descendants)
{
    size_t n = 0;
    for (guint i = 0; i < list->len; i++) {
        SnapshotMeta *m = list->pdata[i];
        if (descendants ? snapshot_meta_is_descendant(list, m->name, name)
                        : g_strcmp0(m->parent, name) == 0)
            n++;
    }
    return n;
}

bool
snapshot_meta_is_descendant(GPtrArray *list, const char *name, const char *ancestor)
{
    const SnapshotMeta *m = snapshot_meta_find(list, name);
    /* bounded by the list's length: a parent cycle in edited metadata cannot loop forever */
    for (guint hops = 0; m && m->parent && hops <= list->len; hops++) {
        if (strcmp(m->parent, ancestor) == 0)
            return true;
        m = snapshot_meta_find(list, m->parent);
    }
    return false;
}

/* ---- stage, commit, save, delete ---------------------------------------------------------- */

int
snapshot_meta_stage_begin(const char *root, const char *dom, SnapshotMeta *m, CvError **err)
{
    if (snapshot_meta_check_name(m->name, err) < 0)
        return -1;
    g_autofree char *base = snapshot_meta_dir(root, dom);
    g_autofree char *final = g_build_filename(base, m->name, NULL);
    if (cv_dir_ensure(base, 0700, err) < 0)
        return -1;
    if (access(final, F_OK) == 0) {
        cv_error_set(err, VIR_FROM_DOMAIN_SNAPSHOT, VIR_ERR_OPERATION_INVALID,
                     "domain snapshot '%s' already exists", m->name);
        return -1;
    }
    g_autofree char *tmpl =
        g_strdup_printf("%s/" SNAPSHOT_TMP_PREFIX "%s-XXXXXX", base, m->name);
    if (!g_mkdtemp_full(tmpl, 0700)) {
        cv_error_set_errno(err, VIR_FROM_DOMAIN_SNAPSHOT, errno,
                           "cannot create a folder for snapshot '%s' in '%s'", m->name, base);
        return -1;
    }
    g_free(m->dir);
    m->dir = g_steal_pointer(&tmpl);
    return 0;
}

int
snapshot_meta_stage_begin_at(const char *path, SnapshotMeta *m, CvError **err)
{
    g_autofree char *base = g_path_get_dirname(path);
    g_autofree char *name = g_path_get_basename(path);
    if (access(path, F_OK) == 0) {
        cv_error_set_errno(err, VIR_FROM_DOMAIN_SNAPSHOT, EEXIST, "cannot create '%s'", path);
        return -1;
    }
    g_autofree char *tmpl = g_strdup_printf("%s/" SNAPSHOT_TMP_PREFIX "%s-XXXXXX", base, name);
    if (!g_mkdtemp_full(tmpl, 0700)) {
        cv_error_set_errno(err, VIR_FROM_DOMAIN_SNAPSHOT, errno, "cannot create '%s'", path);
        return -1;
    }
    g_free(m->name);
    m->name = g_steal_pointer(&name);
    g_free(m->dir);
    m->dir = g_steal_pointer(&tmpl);
    return 0;
}

/* fsync every regular file under dirfd, folders too, depth first. */
static int
sync_tree(int dirfd)
{
    int fd = dup(dirfd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        int c = openat(dirfd, de->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (c < 0)
            continue; /* a symlink: nothing of ours to sync */
        struct stat st;
        if (fstat(c, &st) == 0 && S_ISDIR(st.st_mode))
            rc = sync_tree(c);
        else if (fsync(c) < 0)
            rc = -1;
        close(c);
    }
    closedir(d);
    if (rc == 0 && fsync(dirfd) < 0)
        rc = -1;
    return rc;
}

/* Write meta.json and snapshot.xml into dir, atomically each. */
static int
meta_write_files(const SnapshotMeta *m, const char *dir, const char *xml, CvError **err)
{
    int fd = cv_dir_open(dir, err);
    if (fd < 0)
        return -1;
    g_autofree char *json = snapshot_meta_to_json(m);
    int rc = 0;
    if (cv_file_write_atomic_at(fd, dir, SNAPSHOT_XML_FILE, xml, strlen(xml), 0600,
                                CV_FILE_WRITE_NO_DIR_SYNC, err) < 0 ||
        cv_file_write_atomic_at(fd, dir, SNAPSHOT_META_FILE, json, strlen(json), 0600,
                                CV_FILE_WRITE_NONE, err) < 0)
        rc = -1;
    close(fd);
    return rc;
}

int
snapshot_meta_stage_commit(SnapshotMeta *m, const char *xml, CvError **err)
{
    g_autofree char *base = g_path_get_dirname(m->dir);
    g_autofree char *final = g_build_filename(base, m->name, NULL);
    if (meta_write_files(m, m->dir, xml, err) < 0)
        goto fail;
    int fd = cv_dir_open(m->dir, err);
    if (fd < 0)
        goto fail;
    int rc = sync_tree(fd);
    close(fd);
    if (rc < 0) {
        cv_error_set_errno(err, VIR_FROM_DOMAIN_SNAPSHOT, errno, "cannot sync '%s'", m->dir);
        goto fail;
    }
    if (renameat2(AT_FDCWD, m->dir, AT_FDCWD, final, RENAME_NOREPLACE) < 0) {
        if (errno == EEXIST || errno == ENOTEMPTY)
            cv_error_set(err, VIR_FROM_DOMAIN_SNAPSHOT, VIR_ERR_OPERATION_INVALID,
                         "domain snapshot '%s' already exists", m->name);
        else
            cv_error_set_errno(err, VIR_FROM_DOMAIN_SNAPSHOT, errno, "cannot rename '%s'",
                               m->dir);
        goto fail;
    }
    int bfd = cv_dir_open(base, err);
    if (bfd < 0 || cv_dir_sync(bfd, base, err) < 0) {
        if (bfd >= 0)
            close(bfd);
        /* in place but maybe not durable: say so, and leave it listed */
        g_free(m->dir);
        m->dir = g_steal_pointer(&final);
        return -1;
    }
    close(bfd);
    g_free(m->dir);
    m->dir = g_steal_pointer(&final);
    return 0;
fail:
    snapshot_meta_stage_abort(m);
    return -1;
}

void
snapshot_meta_stage_abort(SnapshotMeta *m)
{
    if (m->dir)
        cv_dir_remove_tree_at(AT_FDCWD, m->dir, NULL);
}

int
snapshot_meta_save(const SnapshotMeta *m, const char *xml, CvError **err)
{
    return meta_write_files(m, m->dir, xml, err);
}

int
snapshot_meta_delete(const SnapshotMeta *m, CvError **err)
{
    g_autofree char *base = g_path_get_dirname(m->dir);
    g_autofree char *gone = g_strdup_printf("%s/" SNAPSHOT_TMP_PREFIX "%s-deleted-XXXXXX", base,
                                            m->name);
    /* a unique staging name: mkdtemp makes it, the rename replaces the empty folder */
    if (!g_mkdtemp_full(gone, 0700) || rename(m->dir, gone) < 0) {
        cv_error_set_errno(err, VIR_FROM_DOMAIN_SNAPSHOT, errno, "cannot remove snapshot '%s'",
                           m->name);
        rmdir(gone);
        return -1;
    }
    int bfd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (bfd >= 0) {
        fsync(bfd);
        close(bfd);
    }
    return cv_dir_remove_tree_at(AT_FDCWD, gone, err);
}

/* ---- current ------------------------------------------------------------------------------ */

char *
snapshot_meta_current(const char *root, const char *dom)
{
    g_autofree char *base = snapshot_meta_dir(root, dom);
    g_autofree char *path = g_build_filename(base, SNAPSHOT_CURRENT_FILE, NULL);
    char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL))
        return NULL;
    g_strstrip(text);
    if (!*text) {
        g_free(text);
        return NULL;
    }
    return text;
}

int
snapshot_meta_set_current(const char *root, const char *dom, const char *name, CvError **err)
{
    g_autofree char *base = snapshot_meta_dir(root, dom);
    g_autofree char *path = g_build_filename(base, SNAPSHOT_CURRENT_FILE, NULL);
    if (!name) {
        if (unlink(path) < 0 && errno != ENOENT) {
            cv_error_set_errno(err, VIR_FROM_DOMAIN_SNAPSHOT, errno, "cannot remove '%s'", path);
            return -1;
        }
        return 0;
    }
    g_autofree char *text = g_strdup_printf("%s\n", name);
    return cv_file_write_atomic(path, text, strlen(text), 0600, err);
}
