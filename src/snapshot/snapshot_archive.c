#include "snapshot_archive.h"
#include "snapshot_archive_priv.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * The writer of snapshot archives, and the manifest both sides share. The folder is planned
 * first (snapshot_archive_plan.c: every member, its size and its data segments), so the
 * manifest goes out first and names everything that follows; then each file's segments go
 * read in large blocks into libarchive's pax writer and its zstd filter (multi-threaded
 * in libzstd, whose workers compress while this thread feeds them).
 */

/* zstd level 2: within 5 % of level 3's size on guest memory (3.5 % on bench/snapshot_archive.sh's),
 * for two thirds of its CPU time */
#define ARCHIVE_DEFAULT_LEVEL 2

void
snapshot_archive_refuse(CvError **err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    cv_error_set(err, VIR_FROM_NONE, VIR_ERR_INVALID_ARG, "invalid snapshot archive: %s", msg);
}

bool
snapshot_archive_name_ok(const char *name)
{
    return name && *name && strlen(name) < NAME_MAX && !strchr(name, '/') &&
           strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

bool
snapshot_archive_path_ok(const char *rel)
{
    if (!rel || !*rel || rel[0] == '/' || strlen(rel) >= PATH_MAX / 2)
        return false;
    g_auto(GStrv) parts = g_strsplit(rel, "/", -1);
    for (size_t i = 0; parts[i]; i++) {
        if (!snapshot_archive_name_ok(parts[i]))
            return false;
    }
    return true;
}

void
snapshot_archive_member_free(gpointer p)
{
    SnapshotArchiveMember *m = p;
    g_free(m->path);
    g_free(m);
}

void
snapshot_archive_info_free(SnapshotArchiveInfo *info)
{
    if (!info)
        return;
    g_free(info->domain);
    g_free(info->snapshot);
    g_free(info->backend);
    g_free(info);
}

void
snapshot_archive_manifest_free(SnapshotArchiveManifest *m)
{
    if (!m)
        return;
    g_free(m->info.domain);
    g_free(m->info.snapshot);
    g_free(m->info.backend);
    if (m->members)
        g_ptr_array_unref(m->members);
    g_free(m);
}

static SnapshotArchiveManifest *
manifest_new(void)
{
    SnapshotArchiveManifest *m = g_new0(SnapshotArchiveManifest, 1);
    m->members = g_ptr_array_new_with_free_func(snapshot_archive_member_free);
    return m;
}

char *
snapshot_archive_manifest_format(const SnapshotArchiveManifest *m)
{
    json_object *root = json_object_new_object();
    json_object_object_add(root, "format", json_object_new_string(SNAPSHOT_ARCHIVE_FORMAT));
    json_object_object_add(root, "version", json_object_new_int(SNAPSHOT_ARCHIVE_VERSION));
    json_object_object_add(root, "domain", json_object_new_string(m->info.domain));
    json_object_object_add(root, "snapshot", json_object_new_string(m->info.snapshot));
    json_object_object_add(root, "backend", json_object_new_string(m->info.backend));
    json_object *list = json_object_new_array();
    for (guint i = 0; i < m->members->len; i++) {
        const SnapshotArchiveMember *mem = m->members->pdata[i];
        json_object *o = json_object_new_object();
        json_object_object_add(o, "path", json_object_new_string(mem->path));
        json_object_object_add(o, "type", json_object_new_string(mem->dir ? "dir" : "file"));
        if (!mem->dir) {
            json_object_object_add(o, "size", json_object_new_int64((int64_t)mem->size));
            json_object_object_add(o, "data", json_object_new_int64((int64_t)mem->data));
        }
        json_object_array_add(list, o);
    }
    json_object_object_add(root, "members", list);
    char *text = g_strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY));
    json_object_put(root);
    return text;
}

static const char *
json_str(json_object *o, const char *key)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

static bool
json_u64(json_object *o, const char *key, uint64_t *ret)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
        return false;
    int64_t n = json_object_get_int64(v);
    if (n < 0)
        return false;
    *ret = (uint64_t)n;
    return true;
}

static int
manifest_parse_member(SnapshotArchiveManifest *m, GHashTable *seen, json_object *o, CvError **err)
{
    const char *path = json_str(o, "path"), *type = json_str(o, "type");
    if (!path || !type || (strcmp(type, "dir") != 0 && strcmp(type, "file") != 0)) {
        snapshot_archive_refuse(err, "malformed member in the manifest");
        return -1;
    }
    if (!snapshot_archive_path_ok(path)) {
        snapshot_archive_refuse(err, "unsafe path '%s' in the manifest", path);
        return -1;
    }
    if (!g_hash_table_add(seen, (gpointer)path)) {
        snapshot_archive_refuse(err, "member '%s' listed twice in the manifest", path);
        return -1;
    }
    SnapshotArchiveMember *mem = g_new0(SnapshotArchiveMember, 1);
    mem->path = g_strdup(path);
    mem->dir = strcmp(type, "dir") == 0;
    g_ptr_array_add(m->members, mem);
    if (!mem->dir &&
        (!json_u64(o, "size", &mem->size) || !json_u64(o, "data", &mem->data) ||
         mem->data > mem->size)) {
        snapshot_archive_refuse(err, "no valid size for member '%s' in the manifest", path);
        return -1;
    }
    m->info.data_bytes += mem->data;
    return 0;
}

SnapshotArchiveManifest *
snapshot_archive_manifest_parse(const char *text, CvError **err)
{
    json_object *root = json_tokener_parse(text);
    g_autoptr(SnapshotArchiveManifest) m = manifest_new();
    g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
    json_object *list = NULL, *ver = NULL;
    const char *format = root ? json_str(root, "format") : NULL;

    if (!format || strcmp(format, SNAPSHOT_ARCHIVE_FORMAT) != 0) {
        snapshot_archive_refuse(err, "the manifest is not a Cocoon snapshot manifest");
        goto fail;
    }
    if (!json_object_object_get_ex(root, "version", &ver) ||
        json_object_get_int(ver) != SNAPSHOT_ARCHIVE_VERSION) {
        snapshot_archive_refuse(err, "unsupported manifest version '%s'",
                                ver ? json_object_get_string(ver) : "none");
        goto fail;
    }
    const char *dom = json_str(root, "domain"), *snap = json_str(root, "snapshot"),
               *backend = json_str(root, "backend");
    if (!snapshot_archive_name_ok(dom) || !snapshot_archive_name_ok(snap) || !backend) {
        snapshot_archive_refuse(err, "the manifest lacks a valid domain, snapshot or backend");
        goto fail;
    }
    m->info.domain = g_strdup(dom);
    m->info.snapshot = g_strdup(snap);
    m->info.backend = g_strdup(backend);
    if (!json_object_object_get_ex(root, "members", &list) ||
        !json_object_is_type(list, json_type_array)) {
        snapshot_archive_refuse(err, "the manifest lists no members");
        goto fail;
    }
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        if (manifest_parse_member(m, seen, json_object_array_get_idx(list, i), err) < 0)
            goto fail;
    }
    json_object_put(root);
    return g_steal_pointer(&m);
fail:
    if (root)
        json_object_put(root);
    return NULL;
}

/* ---- writing ------------------------------------------------------------------------------- */

typedef struct {
    struct archive *a;
    const SnapshotArchiveWriteOpts *opts;
    const char *dir_path;
    char *buf;
    uint64_t done, total;
} Writer;

static int
writer_fail(Writer *w, CvError **err, const char *what)
{
    int e = archive_errno(w->a);
    const char *msg = archive_error_string(w->a);
    if (e > 0)
        cv_error_set_errno(err, VIR_FROM_NONE, e, "cannot write snapshot archive (%s): %s", what,
                           msg ? msg : "");
    else
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_OPERATION_FAILED,
                     "cannot write snapshot archive (%s): %s", what, msg ? msg : "unknown error");
    return -1;
}

static int
writer_entry(Writer *w, const char *rel, bool dir, uint64_t size, const struct stat *st,
             const GArray *segs, CvError **err)
{
    g_autofree char *name = rel ? g_strdup_printf("%s/%s", w->opts->snapshot, rel)
                                : g_strdup_printf("%s/", w->opts->snapshot);
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, dir ? AE_IFDIR : AE_IFREG);
    archive_entry_set_perm(e, dir ? 0700 : 0600);
    archive_entry_set_mtime(e, st ? st->st_mtime : time(NULL), 0);
    if (!dir) {
        archive_entry_set_size(e, (la_int64_t)size);
        bool sparse = segs && !(segs->len == 1 && g_array_index(segs, SnapshotArchiveSegment, 0).len == (off_t)size);
        if (sparse) {
            for (guint i = 0; i < segs->len; i++) {
                SnapshotArchiveSegment s = g_array_index(segs, SnapshotArchiveSegment, i);
                archive_entry_sparse_add_entry(e, s.off, s.len);
            }
            /* the end of the file, so a trailing hole is part of the map */
            archive_entry_sparse_add_entry(e, (la_int64_t)size, 0);
        }
    }
    int r = archive_write_header(w->a, e);
    archive_entry_free(e);
    if (r < ARCHIVE_WARN)
        return writer_fail(w, err, rel ? rel : w->opts->snapshot);
    return 0;
}

static void
writer_progress(Writer *w, uint64_t n)
{
    w->done += n;
    if (w->opts->progress)
        w->opts->progress(w->done, w->total, w->opts->opaque);
}

/* Feed len bytes of a hole: the pax writer skips them without reading the buffer. */
static int
writer_hole(Writer *w, uint64_t len, const char *rel, CvError **err)
{
    while (len > 0) {
        size_t n = (size_t)MIN(len, (uint64_t)SNAPSHOT_ARCHIVE_BUF);
        la_ssize_t r = archive_write_data(w->a, w->buf, n);
        if (r < 0)
            return writer_fail(w, err, rel);
        if (r == 0)
            break;
        len -= (uint64_t)r;
    }
    return 0;
}

/* len bytes of the file at pos into the archive, read into the buffer */
static int
writer_data(Writer *w, int fd, uint64_t pos, uint64_t len, const char *rel, CvError **err)
{
    while (len > 0) {
        size_t want = (size_t)MIN(len, (uint64_t)SNAPSHOT_ARCHIVE_BUF);
        ssize_t n = pread(fd, w->buf, want, (off_t)pos);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            cv_error_set_errno(err, VIR_FROM_NONE, n < 0 ? errno : EIO,
                               "cannot read '%s/%s'", w->dir_path, rel);
            return -1;
        }
        if (archive_write_data(w->a, w->buf, (size_t)n) != n)
            return writer_fail(w, err, rel);
        pos += (uint64_t)n;
        len -= (uint64_t)n;
        writer_progress(w, (uint64_t)n);
    }
    return 0;
}

static int
writer_file(Writer *w, int dirfd, const SnapshotArchiveMember *mem,
            const SnapshotArchiveSource *src, CvError **err)
{
    int fd = openat(dirfd, mem->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        cv_error_set_errno(err, VIR_FROM_NONE, errno, "cannot open '%s/%s'", w->dir_path,
                           mem->path);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    /* the folder is the job's, but a file changed since the plan is an error, not a mix */
    if ((uint64_t)st.st_size != mem->size) {
        close(fd);
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_OPERATION_FAILED,
                     "'%s/%s' changed size while it was archived", w->dir_path, mem->path);
        return -1;
    }
    int ret = -1;
    if (writer_entry(w, mem->path, false, mem->size, &st, src->segments, err) < 0)
        goto out;
    uint64_t pos = 0;
    for (guint i = 0; i < src->segments->len; i++) {
        SnapshotArchiveSegment s = g_array_index(src->segments, SnapshotArchiveSegment, i);
        if ((uint64_t)s.off > pos && writer_hole(w, (uint64_t)s.off - pos, mem->path, err) < 0)
            goto out;
        if (writer_data(w, fd, (uint64_t)s.off, (uint64_t)s.len, mem->path, err) < 0)
            goto out;
        pos = (uint64_t)(s.off + s.len);
    }
    if (pos < mem->size && writer_hole(w, mem->size - pos, mem->path, err) < 0)
        goto out;
    ret = 0;
out:
    close(fd);
    return ret;
}

static int
writer_manifest(Writer *w, const SnapshotArchiveManifest *m, CvError **err)
{
    g_autofree char *text = snapshot_archive_manifest_format(m);
    size_t len = strlen(text);
    struct archive_entry *e = archive_entry_new();
    g_autofree char *name = g_strdup_printf("%s/%s", w->opts->snapshot, SNAPSHOT_ARCHIVE_MANIFEST);
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0600);
    archive_entry_set_mtime(e, time(NULL), 0);
    archive_entry_set_size(e, (la_int64_t)len);
    int r = archive_write_header(w->a, e);
    archive_entry_free(e);
    if (r < ARCHIVE_WARN || archive_write_data(w->a, text, len) != (la_ssize_t)len)
        return writer_fail(w, err, SNAPSHOT_ARCHIVE_MANIFEST);
    return 0;
}

static int
writer_open(Writer *w, int out_fd, CvError **err)
{
    unsigned int threads = w->opts->threads;
    if (threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (unsigned int)n : 1;
    }
    g_autofree char *t = g_strdup_printf("%u", threads);
    g_autofree char *l =
        g_strdup_printf("%d", w->opts->level ? w->opts->level : ARCHIVE_DEFAULT_LEVEL);
    w->a = archive_write_new();
    if (archive_write_set_format_pax_restricted(w->a) != ARCHIVE_OK ||
        archive_write_add_filter_zstd(w->a) != ARCHIVE_OK ||
        archive_write_set_filter_option(w->a, "zstd", "compression-level", l) != ARCHIVE_OK ||
        archive_write_set_filter_option(w->a, "zstd", "threads", t) != ARCHIVE_OK ||
        archive_write_set_bytes_per_block(w->a, 1024 * 1024) != ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(w->a, 1) != ARCHIVE_OK ||
        archive_write_open_fd(w->a, out_fd) != ARCHIVE_OK)
        return writer_fail(w, err, "open");
    return 0;
}

int
snapshot_archive_write(int dirfd, const char *dir_path, int out_fd,
                       const SnapshotArchiveWriteOpts *opts, CvError **err)
{
    g_autoptr(SnapshotArchiveManifest) manifest = manifest_new();
    SnapshotArchivePlan plan = { .manifest = manifest };
    Writer w = { .opts = opts, .dir_path = dir_path };
    int ret = -1;

    if (!snapshot_archive_name_ok(opts->snapshot) || !snapshot_archive_name_ok(opts->domain)) {
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_INVALID_ARG, "invalid snapshot or domain name");
        return -1;
    }
    manifest->info.domain = g_strdup(opts->domain);
    manifest->info.snapshot = g_strdup(opts->snapshot);
    manifest->info.backend = g_strdup(opts->backend);
    if (snapshot_archive_plan(dirfd, dir_path, &plan, err) < 0)
        goto out;
    w.total = manifest->info.data_bytes;
    if (writer_open(&w, out_fd, err) < 0)
        goto out;
    w.buf = g_malloc0(SNAPSHOT_ARCHIVE_BUF);
    struct stat st;
    if (fstat(dirfd, &st) < 0)
        memset(&st, 0, sizeof(st));
    if (writer_entry(&w, NULL, true, 0, &st, NULL, err) < 0 ||
        writer_manifest(&w, manifest, err) < 0)
        goto out;
    for (guint i = 0; i < manifest->members->len; i++) {
        const SnapshotArchiveMember *mem = manifest->members->pdata[i];
        int r = mem->dir ? writer_entry(&w, mem->path, true, 0, NULL, NULL, err)
                         : writer_file(&w, dirfd, mem, plan.sources->pdata[i], err);
        if (r < 0)
            goto out;
    }
    if (archive_write_close(w.a) != ARCHIVE_OK) {
        writer_fail(&w, err, "close");
        goto out;
    }
    ret = 0;
out:
    if (w.a)
        archive_write_free(w.a);
    if (plan.sources)
        g_ptr_array_unref(plan.sources);
    g_free(w.buf);
    return ret;
}
