#include "snapshot_archive_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cv_file.h"

/*
 * What the writer of a snapshot archive sends: the folder walked once, every member with its
 * data segments. A segment is what is neither a hole (SEEK_DATA/SEEK_HOLE) nor a run of zero
 * pages: a full snapshot's memory file holds every page of the guest, most of them often
 * zero, and a zero run stored as a hole is neither read by the compressor nor written by the
 * importer. The files are read, never mapped: a daemon exporting a file that something
 * truncates meanwhile must fail the export, not die of a SIGBUS.
 */

#define PAGE 4096
/* a shorter zero run stays data: zstd makes a few bytes of it, and the sparse map stays small
 * (at most one entry per ZERO_RUN_MIN of file) */
#define ZERO_RUN_MIN (64 * 1024)

static void
source_free(gpointer p)
{
    SnapshotArchiveSource *s = p;
    if (!s)
        return;
    if (s->segments)
        g_array_unref(s->segments);
    g_free(s);
}

static bool
page_zero(const unsigned char *p)
{
    const uint64_t *q = (const uint64_t *)p;
    if (q[0])
        return false; /* most data pages end here */
    for (size_t i = 0; i < PAGE / sizeof(uint64_t); i += 8) {
        if (q[i] | q[i + 1] | q[i + 2] | q[i + 3] | q[i + 4] | q[i + 5] | q[i + 6] | q[i + 7])
            return false;
    }
    return true;
}

static void
segment_add(GArray *segs, off_t off, off_t end, uint64_t *data)
{
    if (end <= off)
        return;
    SnapshotArchiveSegment s = { off, end - off };
    g_array_append_val(segs, s);
    *data += (uint64_t)(end - off);
}

#define SCAN_CHUNK (1024 * 1024)

/* [off, end) of fd, read through buf (SCAN_CHUNK bytes), zero runs of ZERO_RUN_MIN or more
 * left out. -1 with errno when the file cannot be read there (shorter than it was: changed
 * under us). Read, not mapped: a file truncated meanwhile is an error, not a SIGBUS. */
static int
segment_scan(GArray *segs, int fd, unsigned char *buf, off_t off, off_t end, uint64_t *data)
{
    off_t start = off, zero = -1, pos = off;
    if (pos % PAGE) /* a partial first page is data */
        pos = MIN(end, (pos | (PAGE - 1)) + 1);
    while (pos + PAGE <= end) {
        size_t want = (size_t)MIN((off_t)SCAN_CHUNK, (end - pos) & ~(off_t)(PAGE - 1));
        ssize_t n = pread(fd, buf, want, pos);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < (ssize_t)want) {
            if (n >= 0)
                errno = EIO;
            return -1;
        }
        for (size_t i = 0; i < want; i += PAGE, pos += PAGE) {
            if (page_zero(buf + i)) {
                if (zero < 0)
                    zero = pos;
                continue;
            }
            if (zero >= 0 && pos - zero >= ZERO_RUN_MIN) {
                segment_add(segs, start, zero, data);
                start = pos;
            }
            zero = -1;
        }
    }
    if (zero >= 0 && pos - zero >= ZERO_RUN_MIN) {
        segment_add(segs, start, zero, data);
        start = pos; /* what is left is a partial page, or nothing */
    }
    segment_add(segs, start, end, data);
    return 0;
}

/* The data segments of fd (size bytes), or NULL with errno. */
static GArray *
file_segments(int fd, off_t size, uint64_t *ret_data)
{
    g_autofree unsigned char *buf = g_malloc(SCAN_CHUNK);
    GArray *segs = g_array_new(FALSE, FALSE, sizeof(SnapshotArchiveSegment));
    uint64_t data = 0;
    off_t pos = 0;
    while (pos < size) {
        off_t start = lseek(fd, pos, SEEK_DATA);
        if (start < 0 && errno == ENXIO) /* only a hole is left */
            break;
        off_t end = start < 0 ? size : lseek(fd, start, SEEK_HOLE);
        if (start < 0) /* no hole support: all of it is data */
            start = pos;
        if (end < 0 || end > size)
            end = size;
        if (segment_scan(segs, fd, buf, start, end, &data) < 0) {
            int saved = errno;
            g_array_unref(segs);
            errno = saved;
            return NULL;
        }
        pos = end;
    }
    *ret_data = data;
    return segs;
}

/* A source for the file at path (size bytes): its segments found. */
static SnapshotArchiveSource *
source_new(int dirfd, const char *path, const char *dir_path, off_t size, uint64_t *ret_data,
           CvError **err)
{
    int fd = openat(dirfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        cv_error_set_errno(err, VIR_FROM_NONE, errno, "cannot open '%s/%s'", dir_path, path);
        return NULL;
    }
    SnapshotArchiveSource *s = g_new0(SnapshotArchiveSource, 1);
    s->segments = file_segments(fd, size, ret_data);
    int saved = errno;
    close(fd);
    if (!s->segments) {
        cv_error_set_errno(err, VIR_FROM_NONE, saved, "cannot read '%s/%s'", dir_path, path);
        source_free(s);
        return NULL;
    }
    return s;
}

static int
plan_walk(SnapshotArchivePlan *plan, int dirfd, const char *rel, const char *dir_path,
          CvError **err)
{
    g_autoptr(GPtrArray) names = cv_dir_names_at(dirfd, rel ? rel : ".");
    if (!names) {
        cv_error_set_errno(err, VIR_FROM_NONE, errno, "cannot read directory '%s/%s'", dir_path,
                           rel ? rel : "");
        return -1;
    }
    for (guint i = 0; i < names->len; i++) {
        const char *name = names->pdata[i];
        g_autofree char *path = rel ? g_strdup_printf("%s/%s", rel, name) : g_strdup(name);
        struct stat st;
        if (fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            cv_error_set_errno(err, VIR_FROM_NONE, errno, "cannot stat '%s/%s'", dir_path, path);
            return -1;
        }
        if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
            cv_error_set(err, VIR_FROM_NONE, VIR_ERR_OPERATION_INVALID,
                         "'%s/%s' is neither a file nor a directory", dir_path, path);
            return -1;
        }
        if (strcmp(path, SNAPSHOT_ARCHIVE_MANIFEST) == 0)
            continue; /* never in a snapshot folder; the archive's own would clash */
        SnapshotArchiveMember *mem = g_new0(SnapshotArchiveMember, 1);
        mem->path = g_strdup(path);
        mem->dir = S_ISDIR(st.st_mode);
        SnapshotArchiveSource *src = NULL;
        if (!mem->dir) {
            mem->size = (uint64_t)st.st_size;
            src = source_new(dirfd, path, dir_path, st.st_size, &mem->data, err);
            if (!src) {
                snapshot_archive_member_free(mem);
                return -1;
            }
            plan->manifest->info.data_bytes += mem->data;
        }
        g_ptr_array_add(plan->manifest->members, mem);
        g_ptr_array_add(plan->sources, src);
        if (mem->dir && plan_walk(plan, dirfd, path, dir_path, err) < 0)
            return -1;
    }
    return 0;
}

/* The small metadata files first, so a reader checks them before the bulk arrives. */
static int
member_rank(const char *path)
{
    if (strcmp(path, "meta.json") == 0)
        return 0;
    if (strcmp(path, "snapshot.xml") == 0)
        return 1;
    return 2;
}

static void
plan_order(SnapshotArchivePlan *plan)
{
    GPtrArray *mems = plan->manifest->members;
    for (int rank = 1; rank >= 0; rank--) {
        for (guint i = 0; i < mems->len; i++) {
            SnapshotArchiveMember *m = mems->pdata[i];
            if (member_rank(m->path) != rank || i == 0)
                continue;
            /* move to the front, keeping the rest in order */
            gpointer src = plan->sources->pdata[i];
            memmove(&mems->pdata[1], &mems->pdata[0], i * sizeof(gpointer));
            memmove(&plan->sources->pdata[1], &plan->sources->pdata[0], i * sizeof(gpointer));
            mems->pdata[0] = m;
            plan->sources->pdata[0] = src;
            break;
        }
    }
}

int
snapshot_archive_plan(int dirfd, const char *dir_path, SnapshotArchivePlan *plan, CvError **err)
{
    plan->sources = g_ptr_array_new_with_free_func(source_free);
    if (plan_walk(plan, dirfd, NULL, dir_path, err) < 0)
        return -1;
    plan_order(plan);
    return 0;
}
