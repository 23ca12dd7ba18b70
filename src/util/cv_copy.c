#include "cv_copy.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define CV_COPY_CHUNK (1024 * 1024)

static bool
copy_is_zero(const unsigned char *p, size_t n)
{
    return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

/*
 * Copy [off, end) with read/write, leaving all-zero blocks unwritten (they read back as zero
 * from the hole the truncate at the end makes), so a block device or a filesystem without
 * SEEK_DATA still gives a sparse overlay.
 */
static int
copy_rw(int src, int dst, off_t off, off_t end, unsigned char *buf)
{
    while (off < end) {
        size_t want = (size_t)MIN((off_t)CV_COPY_CHUNK, end - off);
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
            if (copy_is_zero(buf + blk, len))
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
copy_range(int src, int dst, off_t off, off_t end, bool *use_cfr, unsigned char *buf)
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
    return copy_rw(src, dst, off, end, buf);
}

/* A sparse copy of size bytes of src into dst: only the data extents are copied. */
static int
copy_sparse(int src, int dst, off_t size, bool seekable)
{
    g_autofree unsigned char *buf = g_malloc(CV_COPY_CHUNK);
    bool use_cfr = seekable;
    off_t off = 0;

    if (!seekable)
        return copy_rw(src, dst, 0, size, buf) < 0 || ftruncate(dst, size) < 0 ? -1 : 0;

    while (off < size) {
        off_t data = lseek(src, off, SEEK_DATA);
        if (data < 0) {
            if (errno == ENXIO)
                break; /* only a hole is left */
            if (errno == EINVAL || errno == EOPNOTSUPP) {
                /* no SEEK_DATA here: copy everything from off, skipping zero blocks */
                if (copy_rw(src, dst, off, size, buf) < 0)
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
        if (copy_range(src, dst, data, hole, &use_cfr, buf) < 0)
            return -1;
        off = hole;
    }
    return ftruncate(dst, size);
}

int
cv_copy_size(int src, off_t *ret_size, bool *ret_regular)
{
    struct stat st;
    if (fstat(src, &st) < 0)
        return -1;
    if (S_ISBLK(st.st_mode)) {
        guint64 bytes = 0;
        if (ioctl(src, BLKGETSIZE64, &bytes) < 0)
            return -1;
        *ret_size = (off_t)bytes;
        *ret_regular = false;
        return 0;
    }
    if (!S_ISREG(st.st_mode)) {
        errno = EINVAL;
        return -1;
    }
    *ret_size = st.st_size;
    *ret_regular = true;
    return 0;
}

int
cv_copy_fd(int src, int dst, off_t size, bool regular)
{
    /* a reflink shares every block, holes included, in one call */
    if (regular && ioctl(dst, FICLONE, src) == 0)
        return 0;
    return copy_sparse(src, dst, size, regular);
}
