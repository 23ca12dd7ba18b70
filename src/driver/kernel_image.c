#include "kernel_image.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "util/cv_file.h"

/*
 * x86 boot protocol (Documentation/arch/x86/boot.rst): the real-mode setup header of a
 * bzImage lives at 0x1f1. From protocol 2.08 on it records where the compressed kernel
 * (payload) lies, relative to the start of the protected-mode code, which follows the
 * (setup_sects + 1) 512-byte sectors of boot sector and setup code.
 */
#define KI_SETUP_SECTS_OFF 0x1f1
#define KI_HDR_MAGIC_OFF 0x202
#define KI_VERSION_OFF 0x206
#define KI_PAYLOAD_OFFSET_OFF 0x248
#define KI_PAYLOAD_LENGTH_OFF 0x24c
#define KI_HEADER_LEN 0x250
#define KI_MIN_VERSION 0x0208

/* A stripped vmlinux is tens of MiB; anything past this is not a kernel but a bomb. */
#define KI_MAX_OUTPUT ((guint64)1 << 30)
/* The kernel's zstd build uses a 128 MiB window at most (-22 --ultra); allow some slack. */
#define KI_ZSTD_WINDOW_LOG_MAX 28
#define KI_CHUNK (256 * 1024)

static const unsigned char elf_magic[4] = {0x7f, 'E', 'L', 'F'};

typedef enum {
    KI_COMP_GZIP,
    KI_COMP_ZSTD,
    KI_COMP_XZ,
    KI_COMP_LZMA,
    KI_COMP_BZIP2,
    KI_COMP_LZ4,
    KI_COMP_LZO,
    KI_COMP_UNKNOWN,
} KiCompression;

static const char *const ki_compression_names[] = {
    [KI_COMP_GZIP] = "gzip", [KI_COMP_ZSTD] = "zstd",   [KI_COMP_XZ] = "xz",
    [KI_COMP_LZMA] = "lzma", [KI_COMP_BZIP2] = "bzip2", [KI_COMP_LZ4] = "lz4",
    [KI_COMP_LZO] = "lzo",
};

/* The payload's compression, told by its leading magic bytes (n of them available). */
static KiCompression
ki_compression_detect(const unsigned char *p, size_t n)
{
    if (n >= 2 && p[0] == 0x1f && p[1] == 0x8b)
        return KI_COMP_GZIP;
    if (n >= 4 && memcmp(p, "\x28\xb5\x2f\xfd", 4) == 0)
        return KI_COMP_ZSTD;
    if (n >= 6 && memcmp(p,
                         "\xfd"
                         "7zXZ\0",
                         6) == 0)
        return KI_COMP_XZ;
    if (n >= 3 && memcmp(p, "\x5d\x00\x00", 3) == 0)
        return KI_COMP_LZMA;
    if (n >= 3 && memcmp(p, "BZh", 3) == 0)
        return KI_COMP_BZIP2;
    /* the kernel uses lz4's legacy frame format */
    if (n >= 4 && memcmp(p, "\x02\x21\x4c\x18", 4) == 0)
        return KI_COMP_LZ4;
    if (n >= 4 && memcmp(p, "\x89LZO", 4) == 0)
        return KI_COMP_LZO;
    return KI_COMP_UNKNOWN;
}

static guint32
ki_le32(const unsigned char *p)
{
    return (guint32)p[0] | (guint32)p[1] << 8 | (guint32)p[2] << 16 | (guint32)p[3] << 24;
}

static ssize_t
ki_pread_full(int fd, void *buf, size_t len, off_t off)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = pread(fd, (char *)buf + done, len - done, off + (off_t)done);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (n == 0)
            break;
        done += (size_t)n;
    }
    return (ssize_t)done;
}

/* The compressed payload being read and the ELF being written. */
typedef struct {
    const char *kernel_path;
    int in_fd;
    off_t in_off;    /* next byte of the payload to read */
    guint64 in_left; /* payload bytes not read yet */
    int out_fd;
    guint64 out_len;
    unsigned char head[4]; /* the first output bytes, to check for ELF */
} KiExtract;

/* Read the next chunk of the payload into buf; returns the count (0 at its end) or -1. */
static ssize_t
ki_extract_read(KiExtract *x, unsigned char *buf, size_t size, CvError **err)
{
    size_t want = (guint64)size < x->in_left ? size : (size_t)x->in_left;
    if (want == 0)
        return 0;
    ssize_t n = ki_pread_full(x->in_fd, buf, want, x->in_off);
    if (n < 0 || (size_t)n < want) {
        cv_error_set_errno(err, VIR_FROM_NONE, n < 0 ? errno : EIO, "cannot read kernel '%s'",
                           x->kernel_path);
        return -1;
    }
    x->in_off += n;
    x->in_left -= (guint64)n;
    return n;
}

static int
ki_extract_write(KiExtract *x, const unsigned char *data, size_t len, CvError **err)
{
    if (x->out_len + len > KI_MAX_OUTPUT) {
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_CONFIG_UNSUPPORTED,
                     "kernel '%s' decompresses to more than %" G_GUINT64_FORMAT
                     " bytes, which is not a kernel image",
                     x->kernel_path, KI_MAX_OUTPUT);
        return -1;
    }
    for (size_t i = 0; x->out_len + i < sizeof(x->head) && i < len; i++)
        x->head[x->out_len + i] = data[i];
    x->out_len += len;
    while (len > 0) {
        ssize_t n = write(x->out_fd, data, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            cv_error_set_errno(err, VIR_FROM_NONE, errno,
                               "cannot write the extracted kernel of '%s'", x->kernel_path);
            return -1;
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/*
 * One gzip member. Trailing bytes after it are ignored; the kernel build appends none for
 * gzip, but other tools pad the payload.
 */
static int
ki_extract_gzip(KiExtract *x, CvError **err)
{
    z_stream zs = {0};
    /* 16 + MAX_WBITS: a gzip header and trailer, not a raw zlib stream */
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
        g_error("out of memory");
    g_autofree unsigned char *in = g_malloc(KI_CHUNK);
    g_autofree unsigned char *out = g_malloc(KI_CHUNK);
    int ret = -1;

    for (;;) {
        if (zs.avail_in == 0 && x->in_left > 0) {
            ssize_t n = ki_extract_read(x, in, KI_CHUNK, err);
            if (n < 0)
                goto out;
            zs.next_in = in;
            zs.avail_in = (uInt)n;
        }
        zs.next_out = out;
        zs.avail_out = KI_CHUNK;
        int rc = inflate(&zs, Z_NO_FLUSH);
        size_t produced = KI_CHUNK - zs.avail_out;
        if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
            cv_error_set(err, VIR_FROM_NONE, VIR_ERR_CONFIG_UNSUPPORTED,
                         "kernel '%s': cannot decompress the gzip payload: %s", x->kernel_path,
                         zs.msg ? zs.msg : "corrupt data");
            goto out;
        }
        if (produced > 0 && ki_extract_write(x, out, produced, err) < 0)
            goto out;
        if (rc == Z_STREAM_END) {
            ret = 0;
            goto out;
        }
        if (produced == 0 && zs.avail_in == 0 && x->in_left == 0) {
            cv_error_set(err, VIR_FROM_NONE, VIR_ERR_CONFIG_UNSUPPORTED,
                         "kernel '%s': the gzip payload is truncated", x->kernel_path);
            goto out;
        }
    }
out:
    inflateEnd(&zs);
    return ret;
}

/*
 * One zstd frame. The kernel build appends the uncompressed size (4 bytes) after the frame,
 * so decoding stops at the end of the first frame.
 */
static int
ki_extract_zstd(KiExtract *x, CvError **err)
{
    ZSTD_DCtx *dctx = ZSTD_createDCtx();
    if (!dctx)
        g_error("out of memory");
    g_autofree unsigned char *in = g_malloc(KI_CHUNK);
    g_autofree unsigned char *out = g_malloc(KI_CHUNK);
    ZSTD_inBuffer ib = {in, 0, 0};
    int ret = -1;

    size_t rc = ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, KI_ZSTD_WINDOW_LOG_MAX);
    if (ZSTD_isError(rc)) {
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_INTERNAL_ERROR, "cannot set up zstd: %s",
                     ZSTD_getErrorName(rc));
        goto out;
    }
    for (;;) {
        if (ib.pos == ib.size && x->in_left > 0) {
            ssize_t n = ki_extract_read(x, in, KI_CHUNK, err);
            if (n < 0)
                goto out;
            ib.size = (size_t)n;
            ib.pos = 0;
        }
        ZSTD_outBuffer ob = {out, KI_CHUNK, 0};
        rc = ZSTD_decompressStream(dctx, &ob, &ib);
        if (ZSTD_isError(rc)) {
            cv_error_set(err, VIR_FROM_NONE, VIR_ERR_CONFIG_UNSUPPORTED,
                         "kernel '%s': cannot decompress the zstd payload: %s", x->kernel_path,
                         ZSTD_getErrorName(rc));
            goto out;
        }
        if (ob.pos > 0 && ki_extract_write(x, out, ob.pos, err) < 0)
            goto out;
        if (rc == 0) {
            ret = 0;
            goto out;
        }
        /* a full output buffer may hide more output; otherwise more input is needed */
        if (ob.pos < ob.size && ib.pos == ib.size && x->in_left == 0) {
            cv_error_set(err, VIR_FROM_NONE, VIR_ERR_CONFIG_UNSUPPORTED,
                         "kernel '%s': the zstd payload is truncated", x->kernel_path);
            goto out;
        }
    }
out:
    ZSTD_freeDCtx(dctx);
    return ret;
}

/* The cache file name for the kernel fd refers to: any change to the file changes it. */
static char *
ki_cache_name(const struct stat *st, const char *kernel_path)
{
    g_autofree char *key = g_strdup_printf(
        "%ju:%ju:%jd:%jd.%09ld:%s", (uintmax_t)st->st_dev, (uintmax_t)st->st_ino,
        (intmax_t)st->st_size, (intmax_t)st->st_mtim.tv_sec, st->st_mtim.tv_nsec, kernel_path);
    g_autofree char *sum = g_compute_checksum_for_string(G_CHECKSUM_SHA256, key, -1);
    return g_strdup_printf("vmlinux-%.32s", sum);
}

/* Whether path is a cache entry we can use: a regular file that starts like an ELF. */
static bool
ki_cache_usable(const char *path)
{
    unsigned char head[4];
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return false;
    struct stat st;
    bool ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
              ki_pread_full(fd, head, sizeof(head), 0) == (ssize_t)sizeof(head) &&
              memcmp(head, elf_magic, sizeof(head)) == 0;
    close(fd);
    return ok;
}

/* Decompress into a temporary file in cache_dir, check it, make it durable, rename it. */
static int
ki_extract_to_cache(KiExtract *x, KiCompression comp, const char *cache_dir, const char *cache_path,
                    CvError **err)
{
    g_autofree char *base = g_path_get_basename(cache_path);
    g_autofree char *tmp = g_strdup_printf("%s/.%s.tmp-XXXXXX", cache_dir, base);
    int dirfd = -1;
    int ret = -1;

    x->out_fd = g_mkstemp_full(tmp, O_RDWR | O_CLOEXEC, 0644);
    if (x->out_fd < 0) {
        cv_error_set_errno(err, VIR_FROM_NONE, errno, "cannot create temporary file in '%s'",
                           cache_dir);
        return -1;
    }
    if ((comp == KI_COMP_GZIP ? ki_extract_gzip(x, err) : ki_extract_zstd(x, err)) < 0)
        goto out;
    if (x->out_len < sizeof(elf_magic) || memcmp(x->head, elf_magic, sizeof(elf_magic)) != 0) {
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_CONFIG_UNSUPPORTED,
                     "kernel '%s': its %s payload is not an ELF image", x->kernel_path,
                     ki_compression_names[comp]);
        goto out;
    }
    /* the cache outlives reboots of the host: a torn file must never appear under its name */
    if (fsync(x->out_fd) < 0) {
        cv_error_set_errno(err, VIR_FROM_NONE, errno, "cannot sync '%s'", tmp);
        goto out;
    }
    if (rename(tmp, cache_path) < 0) {
        cv_error_set_errno(err, VIR_FROM_NONE, errno, "cannot rename '%s' to '%s'", tmp,
                           cache_path);
        goto out;
    }
    g_clear_pointer(&tmp, g_free);
    dirfd = cv_dir_open(cache_dir, err);
    if (dirfd < 0 || cv_dir_sync(dirfd, cache_dir, err) < 0)
        goto out;
    ret = 0;
out:
    if (dirfd >= 0)
        close(dirfd);
    close(x->out_fd);
    x->out_fd = -1;
    if (tmp)
        unlink(tmp);
    return ret;
}

/* kernel_image_resolve on the open kernel fd. */
static char *
ki_resolve_fd(int fd, const char *kernel_path, const char *cache_dir, CvError **err)
{
    unsigned char hdr[KI_HEADER_LEN];
    unsigned char magic[6];
    struct stat st;

    if (fstat(fd, &st) < 0) {
        cv_error_set_errno(err, VIR_FROM_NONE, errno, "cannot stat kernel '%s'", kernel_path);
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_CONFIG_UNSUPPORTED,
                     "kernel '%s' is not a regular file", kernel_path);
        return NULL;
    }
    ssize_t n = ki_pread_full(fd, hdr, sizeof(hdr), 0);
    if (n < 0) {
        cv_error_set_errno(err, VIR_FROM_NONE, errno, "cannot read kernel '%s'", kernel_path);
        return NULL;
    }
    if (n >= 4 && memcmp(hdr, elf_magic, sizeof(elf_magic)) == 0)
        return g_strdup(kernel_path);
    if (n < KI_HEADER_LEN || memcmp(hdr + KI_HDR_MAGIC_OFF, "HdrS", 4) != 0) {
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_CONFIG_UNSUPPORTED,
                     "kernel '%s' is neither an ELF vmlinux nor a bzImage", kernel_path);
        return NULL;
    }
    unsigned int version = hdr[KI_VERSION_OFF] | (unsigned int)hdr[KI_VERSION_OFF + 1] << 8;
    if (version < KI_MIN_VERSION) {
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_CONFIG_UNSUPPORTED,
                     "kernel '%s' uses boot protocol %u.%02u; extracting it needs 2.08 or later",
                     kernel_path, version >> 8, version & 0xff);
        return NULL;
    }
    guint64 setup_sects = hdr[KI_SETUP_SECTS_OFF] ? hdr[KI_SETUP_SECTS_OFF] : 4;
    guint64 payload_off = (setup_sects + 1) * 512 + ki_le32(hdr + KI_PAYLOAD_OFFSET_OFF);
    guint64 payload_len = ki_le32(hdr + KI_PAYLOAD_LENGTH_OFF);
    if (payload_len < sizeof(magic) || payload_off + payload_len > (guint64)st.st_size) {
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_CONFIG_UNSUPPORTED,
                     "kernel '%s': its bzImage payload lies outside the file", kernel_path);
        return NULL;
    }
    if (ki_pread_full(fd, magic, sizeof(magic), (off_t)payload_off) != (ssize_t)sizeof(magic)) {
        cv_error_set_errno(err, VIR_FROM_NONE, errno ? errno : EIO, "cannot read kernel '%s'",
                           kernel_path);
        return NULL;
    }
    KiCompression comp = ki_compression_detect(magic, sizeof(magic));
    if (comp == KI_COMP_UNKNOWN) {
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_CONFIG_UNSUPPORTED,
                     "kernel '%s' has a bzImage payload in an unknown format", kernel_path);
        return NULL;
    }
    if (comp != KI_COMP_GZIP && comp != KI_COMP_ZSTD) {
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_CONFIG_UNSUPPORTED,
                     "kernel '%s' is compressed with %s, which Cocoon cannot extract for "
                     "firecracker (use an ELF vmlinux, or a bzImage compressed with gzip or zstd)",
                     kernel_path, ki_compression_names[comp]);
        return NULL;
    }

    g_autofree char *name = ki_cache_name(&st, kernel_path);
    g_autofree char *cache_path = g_build_filename(cache_dir, name, NULL);
    if (cv_dir_ensure(cache_dir, 0755, err) < 0)
        return NULL;
    if (ki_cache_usable(cache_path))
        return g_steal_pointer(&cache_path);
    KiExtract x = {
        .kernel_path = kernel_path,
        .in_fd = fd,
        .in_off = (off_t)payload_off,
        .in_left = payload_len,
        .out_fd = -1,
    };
    if (ki_extract_to_cache(&x, comp, cache_dir, cache_path, err) < 0)
        return NULL;
    return g_steal_pointer(&cache_path);
}

char *
kernel_image_resolve(const char *kernel_path, const char *cache_dir, CvError **err)
{
    /* O_NONBLOCK: a FIFO (or a device) must not block the open; only a regular file gets
     * past the check in ki_resolve_fd, whose reads it does not affect */
    int fd = open(kernel_path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        cv_error_set_errno(err, VIR_FROM_NONE, errno, "cannot open kernel '%s'", kernel_path);
        return NULL;
    }
    char *ret = ki_resolve_fd(fd, kernel_path, cache_dir, err);
    close(fd);
    return ret;
}

char *
kernel_image_cache_name(const char *kernel_path)
{
    struct stat st;
    if (stat(kernel_path, &st) < 0 || !S_ISREG(st.st_mode))
        return NULL;
    return ki_cache_name(&st, kernel_path);
}
