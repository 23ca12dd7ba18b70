/*
 * cocoon-vmm-ns: run a VMM in a private mount namespace in which given files appear at given
 * paths, then exec it (same pid, so the driver's bookkeeping of the VMM holds).
 *
 *   cocoon-vmm-ns --bind PATH FILE [--bind PATH FILE]... -- PROGRAM [ARG]...
 *
 * A clone restored from a Firecracker snapshot must open its own disks where the snapshot
 * recorded the source's: each FILE is bind-mounted over PATH, only in this namespace, so the
 * source's files are never opened and may be gone. A PATH that does not exist (the source was
 * undefined) is made in a tmpfs mounted over its nearest existing folder, into which that
 * folder's entries are bound back, so everything else there stays visible as it was.
 * Needs CAP_SYS_ADMIN. Errors go to stderr (the VMM's log) and exit 127.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

static void
die(const char *what, const char *path)
{
    fprintf(stderr, "cocoon-vmm-ns: %s '%s': %s\n", what, path, strerror(errno));
    exit(127);
}

/* Bind every entry of the folder keep_fd was (before a tmpfs hid it) back into dir. */
static void
mirror_entries(int keep_fd, const char *dir)
{
    int dup_fd = openat(keep_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
    if (!d)
        die("cannot read", dir);
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        char dst[PATH_MAX + NAME_MAX + 2], src[64 + NAME_MAX];
        struct stat st;
        if ((size_t)snprintf(dst, sizeof(dst), "%s/%s", dir, de->d_name) >= sizeof(dst) ||
            (size_t)snprintf(src, sizeof(src), "/proc/self/fd/%d/%s", keep_fd, de->d_name) >=
                sizeof(src))
            die("path too long in", dir);
        if (fstatat(keep_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        if (S_ISLNK(st.st_mode)) {
            char target[PATH_MAX];
            ssize_t n = readlinkat(keep_fd, de->d_name, target, sizeof(target) - 1);
            if (n < 0)
                continue;
            target[n] = '\0';
            if (symlink(target, dst) < 0)
                die("cannot make", dst);
            continue;
        }
        if (S_ISDIR(st.st_mode) ? mkdir(dst, 0700) < 0 : mknod(dst, S_IFREG | 0600, 0) < 0)
            die("cannot make", dst);
        if (mount(src, dst, NULL, MS_BIND | MS_REC, NULL) < 0)
            die("cannot bind", dst);
    }
    closedir(d);
}

/* The folders this program put a tmpfs on: below them it may create freely. */
static char made[64][PATH_MAX];
static int nmade;

static int
in_made(const char *dir)
{
    for (int i = 0; i < nmade; i++) {
        size_t n = strlen(made[i]);
        if (strncmp(dir, made[i], n) == 0 && (dir[n] == '\0' || dir[n] == '/'))
            return 1;
    }
    return 0;
}

/* Make path exist as an empty file (a mount point) without touching the real file system. */
static void
make_mount_point(const char *path)
{
    char dir[PATH_MAX];
    struct stat st;
    if (lstat(path, &st) == 0)
        return;
    if (errno != ENOENT || strlen(path) >= sizeof(dir) || path[0] != '/')
        die("cannot use", path);
    /* the nearest existing ancestor */
    snprintf(dir, sizeof(dir), "%s", path);
    for (;;) {
        char *slash = strrchr(dir, '/');
        if (slash == dir) {
            errno = ENOENT;
            die("no existing folder above", path);
        }
        *slash = '\0';
        if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
            break;
    }
    if (!in_made(dir)) {
        int keep_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (keep_fd < 0)
            die("cannot open", dir);
        if (nmade == (int)(sizeof(made) / sizeof(made[0])))
            die("too many missing paths, at", path);
        if (mount("tmpfs", dir, "tmpfs", 0, "mode=0755") < 0)
            die("cannot mount a tmpfs on", dir);
        snprintf(made[nmade++], PATH_MAX, "%s", dir);
        mirror_entries(keep_fd, dir);
        close(keep_fd);
    }
    /* the missing folders below it, then the file */
    char part[PATH_MAX];
    size_t base = strlen(dir);
    for (const char *p = path + base + 1; (p = strchr(p, '/')); p++) {
        snprintf(part, sizeof(part), "%.*s", (int)(p - path), path);
        if (mkdir(part, 0755) < 0 && errno != EEXIST)
            die("cannot make", part);
    }
    if (mknod(path, S_IFREG | 0600, 0) < 0)
        die("cannot make", path);
}

int
main(int argc, char **argv)
{
    int i = 1;
    if (unshare(CLONE_NEWNS) < 0)
        die("cannot make a mount namespace for", argv[0]);
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        die("cannot make private the mounts of", "/");
    for (; i + 2 < argc && strcmp(argv[i], "--bind") == 0; i += 3) {
        make_mount_point(argv[i + 1]);
        if (mount(argv[i + 2], argv[i + 1], NULL, MS_BIND, NULL) < 0)
            die("cannot bind", argv[i + 1]);
    }
    if (i >= argc || strcmp(argv[i], "--") != 0 || i + 1 >= argc) {
        fprintf(stderr, "usage: cocoon-vmm-ns [--bind PATH FILE]... -- PROGRAM [ARG]...\n");
        return 127;
    }
    execv(argv[i + 1], argv + i + 1);
    die("cannot run", argv[i + 1]);
    return 127;
}
