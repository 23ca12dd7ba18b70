#include "snapshot_archive.h"
#include "snapshot_archive_priv.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * The reader of snapshot archives. libarchive only decodes: every file and directory is made
 * here, relative to the staging directory, one component at a time with O_NOFOLLOW and
 * O_EXCL, and only for a path the manifest lists. Nothing in the archive can name a place
 * outside the staging directory, and no link of any kind is ever made, so none can lead out.
 */

typedef struct {
    struct archive *a;
    const SnapshotArchiveReadOpts *opts;
    int staging_fd;
    const char *staging_path;
    SnapshotArchiveManifest *manifest;
    GHashTable *by_path; /* path → SnapshotArchiveMember (borrowed from manifest) */
    GHashTable *done;    /* paths written */
    char *prefix;        /* "<snapshot>/" */
    uint64_t progress;
} Reader;

static int
reader_damaged(Reader *r, const char *what, CvError **err)
{
    const char *msg = archive_error_string(r->a);
    snapshot_archive_refuse(err, "truncated or corrupt data in '%s': %s", what,
                            msg ? msg : "unexpected end");
    return -1;
}

/* Open the directory holding rel (creating missing parents, 0700); *ret_leaf gets the name. */
static int
reader_parent(Reader *r, const char *rel, const char **ret_leaf, CvError **err)
{
    g_auto(GStrv) parts = g_strsplit(rel, "/", -1);
    int fd = dup(r->staging_fd);
    size_t n = g_strv_length(parts);
    for (size_t i = 0; fd >= 0 && i + 1 < n; i++) {
        if (mkdirat(fd, parts[i], 0700) < 0 && errno != EEXIST)
            break;
        int sub = openat(fd, parts[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        close(fd);
        fd = sub;
    }
    if (fd < 0 || g_strv_length(parts) == 0) {
        cv_error_set_errno(err, VIR_FROM_NONE, errno, "cannot create '%s/%s'", r->staging_path,
                           rel);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    *ret_leaf = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
    return fd;
}

static bool
all_zero(const char *p, size_t n)
{
    return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

/* Write the data of the current entry into fd: holes stay holes (and zero blocks become
 * holes), the stated size is a hard limit. */
static int
reader_data(Reader *r, int fd, const SnapshotArchiveMember *mem, CvError **err)
{
    uint64_t since_flush = 0, flushed = 0;
    for (;;) {
        const void *buf;
        size_t len;
        la_int64_t off;
        int st = archive_read_data_block(r->a, &buf, &len, &off);
        if (st == ARCHIVE_EOF)
            break;
        if (st < ARCHIVE_WARN)
            return reader_damaged(r, mem->path, err);
        if (off < 0 || (uint64_t)off > mem->size || len > mem->size - (uint64_t)off) {
            snapshot_archive_refuse(err, "member '%s' is larger than the %llu bytes stated",
                                    mem->path, (unsigned long long)mem->size);
            return -1;
        }
        if (!all_zero(buf, len)) {
            const char *p = buf;
            size_t left = len;
            off_t at = (off_t)off;
            while (left > 0) {
                ssize_t n = pwrite(fd, p, left, at);
                if (n < 0 && errno == EINTR)
                    continue;
                if (n < 0) {
                    cv_error_set_errno(err, VIR_FROM_NONE, errno, "cannot write '%s/%s'",
                                       r->staging_path, mem->path);
                    return -1;
                }
                p += n;
                left -= (size_t)n;
                at += n;
            }
            since_flush += len;
            /* start writeback as we go, so the final fsync has little left to wait for */
            if (since_flush >= 64 * 1024 * 1024) {
                sync_file_range(fd, (off_t)flushed, 0, SYNC_FILE_RANGE_WRITE);
                flushed = (uint64_t)off + len;
                since_flush = 0;
            }
        }
        r->progress += len;
        if (r->opts && r->opts->progress)
            r->opts->progress(MIN(r->progress, r->manifest->info.data_bytes),
                              r->manifest->info.data_bytes, r->opts->progress_opaque);
    }
    if (ftruncate(fd, (off_t)mem->size) < 0 || fdatasync(fd) < 0) {
        cv_error_set_errno(err, VIR_FROM_NONE, errno, "cannot write '%s/%s'", r->staging_path,
                           mem->path);
        return -1;
    }
    return 0;
}

static int
reader_file(Reader *r, struct archive_entry *e, const SnapshotArchiveMember *mem, CvError **err)
{
    if (mem->dir) {
        snapshot_archive_refuse(err, "member '%s' is a file, the manifest states a directory",
                                mem->path);
        return -1;
    }
    if (!archive_entry_size_is_set(e) || (uint64_t)archive_entry_size(e) != mem->size) {
        snapshot_archive_refuse(err, "member '%s' is %lld bytes, the manifest states %llu",
                                mem->path, (long long)archive_entry_size(e),
                                (unsigned long long)mem->size);
        return -1;
    }
    const char *leaf;
    int dfd = reader_parent(r, mem->path, &leaf, err);
    if (dfd < 0)
        return -1;
    int fd = openat(dfd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    int ret = -1;
    if (fd < 0) {
        cv_error_set_errno(err, VIR_FROM_NONE, errno, "cannot create '%s/%s'", r->staging_path,
                           mem->path);
        goto out;
    }
    ret = reader_data(r, fd, mem, err);
    close(fd);
    if (ret == 0 && fsync(dfd) < 0) {
        cv_error_set_errno(err, VIR_FROM_NONE, errno, "cannot sync '%s'", r->staging_path);
        ret = -1;
    }
out:
    close(dfd);
    return ret;
}

static int
reader_dir(Reader *r, const SnapshotArchiveMember *mem, CvError **err)
{
    if (!mem->dir) {
        snapshot_archive_refuse(err, "member '%s' is a directory, the manifest states a file",
                                mem->path);
        return -1;
    }
    const char *leaf;
    int dfd = reader_parent(r, mem->path, &leaf, err);
    if (dfd < 0)
        return -1;
    int rc = mkdirat(dfd, leaf, 0700);
    close(dfd);
    if (rc < 0 && errno != EEXIST) {
        cv_error_set_errno(err, VIR_FROM_NONE, errno, "cannot create '%s/%s'", r->staging_path,
                           mem->path);
        return -1;
    }
    return 0;
}

/* Refuse what no snapshot folder holds: links, devices, FIFOs, sockets. */
static int
reader_check_type(struct archive_entry *e, const char *name, CvError **err)
{
    const char *target;
    if ((target = archive_entry_hardlink(e))) {
        snapshot_archive_refuse(err, "hard link '%s' to '%s'", name, target);
        return -1;
    }
    switch (archive_entry_filetype(e)) {
    case AE_IFREG:
    case AE_IFDIR:
        return 0;
    case AE_IFLNK:
        target = archive_entry_symlink(e);
        snapshot_archive_refuse(err, "symbolic link '%s' to '%s'", name, target ? target : "");
        return -1;
    case AE_IFCHR:
    case AE_IFBLK:
        snapshot_archive_refuse(err, "device node '%s'", name);
        return -1;
    case AE_IFIFO:
        snapshot_archive_refuse(err, "FIFO '%s'", name);
        return -1;
    default:
        snapshot_archive_refuse(err, "'%s' is not a regular file or directory", name);
        return -1;
    }
}

/* The path of an entry relative to the snapshot folder ("" for the folder itself), or NULL
 * with *err for one that leaves it. */
static char *
reader_rel(Reader *r, const char *name, CvError **err)
{
    if (name[0] == '/') {
        snapshot_archive_refuse(err, "absolute path '%s'", name);
        return NULL;
    }
    g_autofree char *clean = g_strdup(name);
    size_t len = strlen(clean);
    while (len > 0 && clean[len - 1] == '/')
        clean[--len] = '\0';
    g_auto(GStrv) parts = g_strsplit(clean, "/", -1);
    for (size_t i = 0; parts[i]; i++) {
        if (strcmp(parts[i], "..") == 0) {
            snapshot_archive_refuse(err, "path '%s' leads out of the snapshot folder", name);
            return NULL;
        }
    }
    size_t plen = strlen(r->prefix);
    if (strcmp(clean, r->manifest->info.snapshot) == 0)
        return g_strdup("");
    if (strncmp(clean, r->prefix, plen) != 0) {
        snapshot_archive_refuse(err, "member '%s' is outside the folder '%s'", name,
                                r->manifest->info.snapshot);
        return NULL;
    }
    return g_strdup(clean + plen);
}

static int
reader_entry(Reader *r, struct archive_entry *e, CvError **err)
{
    const char *name = archive_entry_pathname(e);
    if (!name) {
        snapshot_archive_refuse(err, "a member without a name");
        return -1;
    }
    g_autofree char *rel = reader_rel(r, name, err);
    if (!rel || reader_check_type(e, name, err) < 0)
        return -1;
    if (!*rel) {
        if (archive_entry_filetype(e) != AE_IFDIR) {
            snapshot_archive_refuse(err, "'%s' is not a directory", name);
            return -1;
        }
        return 0;
    }
    const SnapshotArchiveMember *mem = g_hash_table_lookup(r->by_path, rel);
    if (!mem) {
        snapshot_archive_refuse(err, "member '%s' is not in the manifest", name);
        return -1;
    }
    if (!g_hash_table_add(r->done, g_strdup(rel))) {
        snapshot_archive_refuse(err, "member '%s' appears twice", name);
        return -1;
    }
    return archive_entry_filetype(e) == AE_IFDIR ? reader_dir(r, mem, err)
                                                 : reader_file(r, e, mem, err);
}

/* Whether name is one component, with or without a trailing '/'. */
static bool
is_top_dir(const char *name)
{
    const char *slash = name ? strchr(name, '/') : NULL;
    return name && *name && name[0] != '/' && (!slash || slash[1] == '\0');
}

/* The first member: the manifest, read into memory (it is small) and checked. */
static int
reader_manifest(Reader *r, CvError **err)
{
    struct archive_entry *e;
    int st = archive_read_next_header(r->a, &e);
    /* the folder's own entry may come first */
    while (st >= ARCHIVE_WARN && st != ARCHIVE_EOF && archive_entry_filetype(e) == AE_IFDIR &&
           is_top_dir(archive_entry_pathname(e)))
        st = archive_read_next_header(r->a, &e);
    if (st < ARCHIVE_WARN) {
        const char *msg = archive_error_string(r->a);
        snapshot_archive_refuse(err, "not a zstd-compressed tar archive: %s",
                                msg ? msg : "empty input");
        return -1;
    }
    if (st == ARCHIVE_EOF) {
        snapshot_archive_refuse(err, "the archive is empty");
        return -1;
    }
    const char *name = archive_entry_pathname(e);
    const char *slash = name ? strchr(name, '/') : NULL;
    if (!slash || strcmp(slash + 1, SNAPSHOT_ARCHIVE_MANIFEST) != 0 ||
        archive_entry_filetype(e) != AE_IFREG) {
        snapshot_archive_refuse(err, "the first member is '%s', not the manifest '%s'",
                                name ? name : "", SNAPSHOT_ARCHIVE_MANIFEST);
        return -1;
    }
    la_int64_t size = archive_entry_size(e);
    if (size <= 0 || size > SNAPSHOT_ARCHIVE_MANIFEST_MAX) {
        snapshot_archive_refuse(err, "the manifest has an invalid size");
        return -1;
    }
    g_autofree char *text = g_malloc0((size_t)size + 1);
    if (archive_read_data(r->a, text, (size_t)size) != size)
        return reader_damaged(r, SNAPSHOT_ARCHIVE_MANIFEST, err);
    if (!(r->manifest = snapshot_archive_manifest_parse(text, err)))
        return -1;
    if ((size_t)(slash - name) != strlen(r->manifest->info.snapshot) ||
        strncmp(name, r->manifest->info.snapshot, (size_t)(slash - name)) != 0) {
        snapshot_archive_refuse(err, "the folder '%.*s' is not the snapshot '%s'",
                                (int)(slash - name), name, r->manifest->info.snapshot);
        return -1;
    }
    r->prefix = g_strdup_printf("%s/", r->manifest->info.snapshot);
    for (guint i = 0; i < r->manifest->members->len; i++) {
        SnapshotArchiveMember *m = r->manifest->members->pdata[i];
        g_hash_table_insert(r->by_path, m->path, m);
    }
    return 0;
}

int
snapshot_archive_read(int in_fd, int staging_fd, const char *staging_path,
                      const SnapshotArchiveReadOpts *opts, SnapshotArchiveInfo **ret_info,
                      CvError **err)
{
    Reader r = {
        .opts = opts,
        .staging_fd = staging_fd,
        .staging_path = staging_path,
        .by_path = g_hash_table_new(g_str_hash, g_str_equal),
        .done = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL),
    };
    int ret = -1;

    r.a = archive_read_new();
    if (archive_read_support_format_tar(r.a) != ARCHIVE_OK ||
        archive_read_support_filter_zstd(r.a) != ARCHIVE_OK ||
        archive_read_open_fd(r.a, in_fd, 1024 * 1024) != ARCHIVE_OK) {
        const char *msg = archive_error_string(r.a);
        snapshot_archive_refuse(err, "not a zstd-compressed tar archive: %s",
                                msg ? msg : "empty input");
        goto out;
    }
    if (reader_manifest(&r, err) < 0)
        goto out;
    if (opts && opts->check && opts->check(&r.manifest->info, opts->check_opaque, err) < 0)
        goto out;
    for (;;) {
        struct archive_entry *e;
        int st = archive_read_next_header(r.a, &e);
        if (st == ARCHIVE_EOF)
            break;
        if (st < ARCHIVE_WARN) {
            reader_damaged(&r, "the archive", err);
            goto out;
        }
        if (reader_entry(&r, e, err) < 0)
            goto out;
    }
    for (guint i = 0; i < r.manifest->members->len; i++) {
        const SnapshotArchiveMember *m = r.manifest->members->pdata[i];
        if (!g_hash_table_contains(r.done, m->path)) {
            snapshot_archive_refuse(err, "member '%s' is missing (truncated archive?)", m->path);
            goto out;
        }
    }
    if (fsync(staging_fd) < 0) {
        cv_error_set_errno(err, VIR_FROM_NONE, errno, "cannot sync '%s'", staging_path);
        goto out;
    }
    if (ret_info) {
        SnapshotArchiveInfo *info = g_new0(SnapshotArchiveInfo, 1);
        info->domain = g_strdup(r.manifest->info.domain);
        info->snapshot = g_strdup(r.manifest->info.snapshot);
        info->backend = g_strdup(r.manifest->info.backend);
        info->data_bytes = r.manifest->info.data_bytes;
        *ret_info = info;
    }
    ret = 0;
out:
    archive_read_free(r.a);
    snapshot_archive_manifest_free(r.manifest);
    g_hash_table_unref(r.by_path);
    g_hash_table_unref(r.done);
    g_free(r.prefix);
    return ret;
}
