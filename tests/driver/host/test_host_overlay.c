/*
 * Transient-disk overlays: the copy has the base's content and holes, writing it leaves the
 * base alone, and a failure leaves no overlay (nor temporary file) behind. On a filesystem
 * that shares blocks (btrfs, made on a loop device when the test runs as root) the overlay
 * shares every block of the base until written.
 */
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "driver/disk_overlay.h"
#include "../driver_test.h"

#define MIB (1024 * 1024)
#define BASE_SIZE (8 * MIB)

/* Data at [0, 64K), [3M, 3M+4K) and [5M, 6M) with holes between and up to the end. */
static const struct {
    off_t off;
    size_t len;
} extents[] = {{0, 64 * 1024}, {3 * MIB, 4096}, {5 * MIB, MIB}};

static char *
make_base(const char *dir, const char *name)
{
    char *path = g_build_filename(dir, name, NULL);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    g_assert(fd >= 0);
    GRand *rand = g_rand_new_with_seed(42);
    for (size_t i = 0; i < G_N_ELEMENTS(extents); i++) {
        g_autofree unsigned char *buf = g_malloc(extents[i].len);
        for (size_t j = 0; j < extents[i].len; j++)
            buf[j] = (unsigned char)g_rand_int_range(rand, 1, 256);
        g_assert(pwrite(fd, buf, extents[i].len, extents[i].off) == (ssize_t)extents[i].len);
    }
    g_rand_free(rand);
    g_assert(ftruncate(fd, BASE_SIZE) == 0);
    g_assert(close(fd) == 0);
    return path;
}

static char *
read_all(const char *path, gsize *len)
{
    char *data = NULL;
    if (!g_file_get_contents(path, &data, len, NULL))
        return NULL;
    return data;
}

/* The overlay at overlay is a faithful, sparse, private copy of base. */
static void
check_copy(const char *base, const char *overlay)
{
    struct stat sb, so;
    CHECK(stat(base, &sb) == 0);
    CHECK(stat(overlay, &so) == 0);
    CHECK(so.st_size == sb.st_size);
    CHECK((so.st_mode & 07777) == 0600);
    /* the data extents take about 1.1 MiB: the 8 MiB copy must not have filled its holes */
    CHECK(so.st_blocks * 512 < 2 * MIB);
    CHECK(so.st_blocks <= sb.st_blocks + 64);

    gsize lb = 0, lo = 0;
    g_autofree char *db = read_all(base, &lb);
    g_autofree char *dov = read_all(overlay, &lo);
    CHECK(db && dov && lb == lo && memcmp(db, dov, lb) == 0);

    /* the holes are where they were */
    int fd = open(overlay, O_RDONLY | O_CLOEXEC);
    CHECK(fd >= 0);
    if (fd >= 0) {
        CHECK(lseek(fd, 0, SEEK_HOLE) == 64 * 1024);
        CHECK(lseek(fd, 64 * 1024, SEEK_DATA) == 3 * MIB);
        CHECK(lseek(fd, 6 * MIB, SEEK_DATA) < 0 && errno == ENXIO);
        close(fd);
    }
}

static void
test_copy_and_isolation(const char *dir)
{
    g_autoptr(CvError) err = NULL;
    g_autofree char *base = make_base(dir, "base.img");
    g_autofree char *overlay = g_build_filename(dir, "overlay.img", NULL);
    gsize len = 0;
    g_autofree char *before = read_all(base, &len);

    CHECK_OK(disk_overlay_create(base, overlay, &err) == 0, err);
    check_copy(base, overlay);
    CHECK(test_dir_count(dir) == 2); /* base and overlay, no temporary file */

    /* the guest writes into its overlay: the base must not see it */
    int fd = open(overlay, O_WRONLY | O_CLOEXEC);
    CHECK(fd >= 0);
    CHECK(pwrite(fd, "guest wrote this", 16, 0) == 16);
    CHECK(pwrite(fd, "and this", 8, 4 * MIB) == 8); /* into a hole */
    close(fd);
    gsize len_after = 0;
    g_autofree char *after = read_all(base, &len_after);
    CHECK(after && len_after == len && memcmp(before, after, len) == 0);

    /* an existing overlay is never replaced */
    CHECK(disk_overlay_create(base, overlay, &err) < 0);
    CHECK(err && err->sys_errno == EEXIST && strstr(err->message, overlay));
    g_clear_pointer(&err, cv_error_free);
    gsize lo = 0;
    g_autofree char *still = read_all(overlay, &lo);
    CHECK(still && memcmp(still, "guest wrote this", 16) == 0);
    CHECK(test_dir_count(dir) == 2);
    unlink(overlay);
    unlink(base);
}

static void
test_failures(const char *dir)
{
    g_autoptr(CvError) err = NULL;
    g_autofree char *missing = g_build_filename(dir, "missing.img", NULL);
    g_autofree char *overlay = g_build_filename(dir, "overlay.img", NULL);

    CHECK(disk_overlay_create(missing, overlay, &err) < 0);
    g_autofree char *want = g_strdup_printf(
        "cannot open transient disk source '%s': No such file or directory", missing);
    CHECK_ERR(err, VIR_ERR_SYSTEM_ERROR, want);
    CHECK(access(overlay, F_OK) < 0);
    CHECK(test_dir_count(dir) == 0);

    /* a directory is no disk */
    CHECK(disk_overlay_create(dir, overlay, &err) < 0);
    CHECK(err && err->code == VIR_ERR_CONFIG_UNSUPPORTED);
    g_clear_pointer(&err, cv_error_free);
    CHECK(test_dir_count(dir) == 0);

    /* the overlay's directory is missing */
    g_autofree char *base = make_base(dir, "base.img");
    g_autofree char *nodir = g_build_filename(dir, "nodir", "overlay.img", NULL);
    CHECK(disk_overlay_create(base, nodir, &err) < 0);
    CHECK(err && err->sys_errno == ENOENT && strstr(err->message, nodir));
    g_clear_pointer(&err, cv_error_free);
    CHECK(test_dir_count(dir) == 1);
    unlink(base);
}

/*
 * Source and overlay on different filesystems: copy_file_range may refuse, and the
 * read/write path must keep the holes too.
 */
static void
test_cross_fs(const char *dir)
{
    g_autoptr(CvError) err = NULL;
    struct stat s1, s2;
    if (stat("/dev/shm", &s1) < 0 || stat(dir, &s2) < 0 || s1.st_dev == s2.st_dev ||
        access("/dev/shm", W_OK) < 0) {
        printf("# cross-filesystem copy not tested: no separate writable /dev/shm\n");
        return;
    }
    g_autofree char *shm = g_strdup("/dev/shm/cocoon-overlay-XXXXXX");
    if (!g_mkdtemp(shm)) {
        printf("# cross-filesystem copy not tested: cannot make a directory in /dev/shm\n");
        return;
    }
    g_autofree char *base = make_base(shm, "base.img");
    g_autofree char *overlay = g_build_filename(dir, "overlay.img", NULL);
    CHECK_OK(disk_overlay_create(base, overlay, &err) == 0, err);
    check_copy(base, overlay);
    unlink(overlay);
    unlink(base);
    rmdir(shm);
}

/* Whether the file at path has data and every extent of it is shared with another file. */
static bool
extents_all_shared(const char *path)
{
    enum { MAX_EXTENTS = 64 };
    g_autofree struct fiemap *fm =
        g_malloc0(sizeof(*fm) + MAX_EXTENTS * sizeof(struct fiemap_extent));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    fm->fm_length = FIEMAP_MAX_OFFSET;
    fm->fm_flags = FIEMAP_FLAG_SYNC;
    fm->fm_extent_count = MAX_EXTENTS;
    bool shared = ioctl(fd, FS_IOC_FIEMAP, fm) == 0 && fm->fm_mapped_extents > 0;
    for (unsigned int i = 0; shared && i < fm->fm_mapped_extents; i++)
        shared = (fm->fm_extents[i].fe_flags & FIEMAP_EXTENT_SHARED) != 0;
    close(fd);
    return shared;
}

/* Run argv (searched in PATH), quietly: whether it exited 0. */
static bool
run_quiet(const char *const *argv)
{
    gint status = 0;
    return g_spawn_sync(NULL, (char **)argv, NULL,
                        G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL |
                            G_SPAWN_STDERR_TO_DEV_NULL,
                        NULL, NULL, NULL, NULL, &status, NULL) &&
           g_spawn_check_wait_status(status, NULL);
}

/* On btrfs the overlay is a reflink of the base: a faithful copy sharing all its blocks. */
static void
test_reflink(const char *dir)
{
    g_autofree char *mkfs = g_find_program_in_path("mkfs.btrfs");
    if (geteuid() != 0 || !mkfs) {
        printf("# reflink not tested: needs root and mkfs.btrfs\n");
        return;
    }
    g_autofree char *img = g_build_filename(dir, "btrfs.img", NULL);
    g_autofree char *mnt = g_build_filename(dir, "mnt", NULL);
    int fd = open(img, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    CHECK(fd >= 0 && ftruncate(fd, 128 * MIB) == 0);
    if (fd >= 0)
        close(fd);
    CHECK(mkdir(mnt, 0700) == 0);
    const char *mkfs_argv[] = {mkfs, "-q", img, NULL};
    const char *mount_argv[] = {"mount", "-o", "loop", img, mnt, NULL};
    if (!run_quiet(mkfs_argv) || !run_quiet(mount_argv)) {
        printf("# reflink not tested: cannot make and mount a btrfs loop device\n");
        rmdir(mnt);
        unlink(img);
        return;
    }

    g_autoptr(CvError) err = NULL;
    g_autofree char *base = make_base(mnt, "base.img");
    g_autofree char *overlay = g_build_filename(mnt, "overlay.img", NULL);
    CHECK(!extents_all_shared(base)); /* a fresh file shares nothing yet */
    CHECK_OK(disk_overlay_create(base, overlay, &err) == 0, err);
    CHECK(extents_all_shared(overlay));
    CHECK(extents_all_shared(base));
    check_copy(base, overlay);

    /* the guest writes into its overlay: the base keeps its bytes */
    gsize len = 0;
    g_autofree char *before = read_all(base, &len);
    fd = open(overlay, O_WRONLY | O_CLOEXEC);
    CHECK(fd >= 0 && pwrite(fd, "guest wrote this", 16, 0) == 16);
    if (fd >= 0)
        close(fd);
    gsize len_after = 0;
    g_autofree char *after = read_all(base, &len_after);
    CHECK(before && after && len_after == len && memcmp(before, after, len) == 0);

    unlink(overlay);
    unlink(base);
    const char *umount_argv[] = {"umount", mnt, NULL};
    CHECK(run_quiet(umount_argv));
    rmdir(mnt);
    unlink(img);
}

int
main(void)
{
    g_autofree char *dir = g_dir_make_tmp("cocoon-overlay-XXXXXX", NULL);
    g_assert(dir);
    umask(022);

    test_copy_and_isolation(dir);
    test_failures(dir);
    test_cross_fs(dir);
    test_reflink(dir);

    rmdir(dir);
    if (failures)
        fprintf(stderr, "%d check(s) failed\n", failures);
    return failures ? EXIT_FAILURE : EXIT_SUCCESS;
}
