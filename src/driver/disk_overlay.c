#include "disk_overlay.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <linux/fs.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * The overlay is per-boot scratch: it is created at start and deleted at shutdown, and after
 * a host crash the domain is shut off and its overlay is thrown away, never booted again. So
 * nothing here is fsync'ed. What matters is that the VMM never sees a half-made copy: the
 * copy is made in a temporary file next to overlay_path and renamed into place (without
 * replacing anything) only once complete.
 */

#define DO_CHUNK (1024 * 1024)

static bool
do_is_zero(const unsigned char *p, size_t n)
{
    return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

/*
 * Copy [off, end) with read/write, leaving all-zero blocks unwritten (they read back as zero
 * from the hole the truncate at the end makes), so a block device or a filesystem without
 * SEEK_DATA still gives a sparse overlay.
 */
static int
do_copy_rw(int src, int dst, off_t off, off_t end, unsigned char *buf)
{
    while (off < end) {
        size_t want = (size_t)MIN((off_t)DO_CHUNK, end - off);
        ssize_t n = pread(src, buf, want, off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (n == 0)
            break; /* the source shrank: the final truncate sets the size */
        for (size_t blk = 0; blk < (size_t)n; blk += 4096) {
            size_t len = MIN((size_t)4096, (size_t)n - blk);
            if (do_is_zero(buf + blk, len))
                continue;
            for (size_t done = 0; done < len;) {
                ssize_t w = pwrite(dst, buf + blk + done, len - done, off + (off_t)(blk + done));
                if (w < 0) {
                    if (errno == EINTR)
                        continue;
                    return -1;
                }
                done += (size_t)w;
            }
        }
        off += n;
    }
    return 0;
}

/* Copy the data range [off, end): copy_file_range (in-kernel, may share blocks), else r/w. */
static int
do_copy_range(int src, int dst, off_t off, off_t end, bool *use_cfr, unsigned char *buf)
{
    while (*use_cfr && off < end) {
        loff_t in = off, out = off;
        ssize_t n = copy_file_range(src, &in, dst, &out, (size_t)(end - off), 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP ||
                errno == EBADF) {
                *use_cfr = false;
                break;
            }
            return -1;
        }
        if (n == 0)
            return 0;
        off += n;
    }
    return do_copy_rw(src, dst, off, end, buf);
}

/* A sparse copy of size bytes of src into dst: only the data extents are copied. */
static int
do_copy_sparse(int src, int dst, off_t size, bool seekable)
{
    g_autofree unsigned char *buf = g_malloc(DO_CHUNK);
    bool use_cfr = seekable;
    off_t off = 0;

    if (!seekable)
        return do_copy_rw(src, dst, 0, size, buf) < 0 || ftruncate(dst, size) < 0 ? -1 : 0;

    while (off < size) {
        off_t data = lseek(src, off, SEEK_DATA);
        if (data < 0) {
            if (errno == ENXIO)
                break; /* only a hole is left */
            if (errno == EINVAL || errno == EOPNOTSUPP) {
                /* no SEEK_DATA here: copy everything from off, skipping zero blocks */
                if (do_copy_rw(src, dst, off, size, buf) < 0)
                    return -1;
                break;
            }
            return -1;
        }
        if (data >= size)
            break;
        off_t hole = lseek(src, data, SEEK_HOLE);
        if (hole < 0)
            return -1;
        if (hole > size)
            hole = size;
        if (do_copy_range(src, dst, data, hole, &use_cfr, buf) < 0)
            return -1;
        off = hole;
    }
    return ftruncate(dst, size);
}

/* The overlay takes its place only if nothing is there yet. */
static int
do_rename_noreplace(const char *tmp, const char *path)
{
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return -1;
    /* a filesystem without RENAME_NOREPLACE: link fails on an existing name too */
    if (link(tmp, path) < 0)
        return -1;
    unlink(tmp);
    return 0;
}

static int
do_overlay_fill(int src, const struct stat *st, int dst, const char *source,
                const char *overlay_path, CvError **err)
{
    off_t size = st->st_size;
    bool regular = S_ISREG(st->st_mode);

    if (S_ISBLK(st->st_mode)) {
        guint64 bytes = 0;
        if (ioctl(src, BLKGETSIZE64, &bytes) < 0) {
            cv_error_set_errno(err, VIR_FROM_NONE, errno, "cannot get the size of '%s'", source);
            return -1;
        }
        size = (off_t)bytes;
    } else if (!regular) {
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_CONFIG_UNSUPPORTED,
                     "transient disk source '%s' is neither a regular file nor a block device",
                     source);
        return -1;
    }
    /* a reflink shares every block, holes included, in one call */
    if (regular && ioctl(dst, FICLONE, src) == 0)
        return 0;
    if (do_copy_sparse(src, dst, size, regular) < 0) {
        cv_error_set_errno(err, VIR_FROM_NONE, errno, "cannot copy '%s' to overlay '%s'", source,
                           overlay_path);
        return -1;
    }
    return 0;
}

int
disk_overlay_create(const char *source, const char *overlay_path, CvError **err)
{
    struct stat st;
    int src = open(source, O_RDONLY | O_CLOEXEC);
    if (src < 0) {
        cv_error_set_errno(err, VIR_FROM_NONE, errno, "cannot open transient disk source '%s'",
                           source);
        return -1;
    }
    if (fstat(src, &st) < 0) {
        cv_error_set_errno(err, VIR_FROM_NONE, errno, "cannot stat '%s'", source);
        close(src);
        return -1;
    }
    if (access(overlay_path, F_OK) == 0) {
        cv_error_set_errno(err, VIR_FROM_NONE, EEXIST, "cannot create overlay '%s'", overlay_path);
        close(src);
        return -1;
    }

    g_autofree char *tmp = g_strdup_printf("%s.tmp-XXXXXX", overlay_path);
    int dst = g_mkstemp_full(tmp, O_RDWR | O_CLOEXEC, 0600);
    if (dst < 0) {
        cv_error_set_errno(err, VIR_FROM_NONE, errno, "cannot create overlay '%s'", overlay_path);
        close(src);
        return -1;
    }
    int ret = do_overlay_fill(src, &st, dst, source, overlay_path, err);
    close(src);
    if (close(dst) < 0 && ret == 0) {
        cv_error_set_errno(err, VIR_FROM_NONE, errno, "cannot write overlay '%s'", overlay_path);
        ret = -1;
    }
    if (ret == 0 && do_rename_noreplace(tmp, overlay_path) < 0) {
        cv_error_set_errno(err, VIR_FROM_NONE, errno, "cannot create overlay '%s'", overlay_path);
        ret = -1;
    }
    if (ret < 0)
        unlink(tmp);
    return ret;
}
