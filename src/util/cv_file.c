#include "cv_file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int
write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* A new, exclusive temporary file next to name; *ret_tmp gets its name. */
static int
tmp_file_create_at(int dirfd, const char *name, mode_t mode, char **ret_tmp)
{
    for (int attempt = 0; attempt < 100; attempt++) {
        g_autofree char *tmp = NULL;
        guint32 r = g_random_int();
        if (strlen(name) < NAME_MAX - 16)
            tmp = g_strdup_printf(".%s.tmp-%08x", name, r);
        else
            tmp = g_strdup_printf(".tmp-%08x", r);
        int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
        if (fd >= 0) {
            *ret_tmp = g_steal_pointer(&tmp);
            return fd;
        }
        if (errno != EEXIST)
            return -1;
    }
    errno = EEXIST;
    return -1;
}

static int
tmp_write_at(int dirfd, const char *dir_path, const char *name, const char *data, size_t len,
             mode_t mode, bool sync, char **ret_tmp, CvError **err)
{
    g_autofree char *tmp = NULL;
    int fd = tmp_file_create_at(dirfd, name, mode, &tmp);
    if (fd < 0) {
        cv_error_set_errno(err, VIR_FROM_NONE, errno, "cannot create temporary file in '%s'",
                           dir_path);
        return -1;
    }
    const char *what = "write";
    if (write_all(fd, data, len) < 0)
        goto fail;
    what = "sync";
    if (sync && fsync(fd) < 0)
        goto fail;
    what = "close";
    int rc = close(fd);
    fd = -1;
    if (rc < 0)
        goto fail;
    *ret_tmp = g_steal_pointer(&tmp);
    return 0;

fail:;
    int saved = errno;
    if (fd >= 0)
        close(fd);
    unlinkat(dirfd, tmp, 0);
    cv_error_set_errno(err, VIR_FROM_NONE, saved, "cannot %s '%s/%s'", what, dir_path, name);
    return -1;
}

int
cv_file_tmp_write_at(int dirfd, const char *dir_path, const char *name, const char *data,
                     size_t len, mode_t mode, char **ret_tmp, CvError **err)
{
    return tmp_write_at(dirfd, dir_path, name, data, len, mode, true, ret_tmp, err);
}

int
cv_file_tmp_commit_at(int dirfd, const char *dir_path, const char *tmp, const char *name,
                      unsigned int flags, CvError **err)
{
    if (renameat(dirfd, tmp, dirfd, name) < 0) {
        int saved = errno;
        unlinkat(dirfd, tmp, 0);
        cv_error_set_errno(err, VIR_FROM_NONE, saved, "cannot rename '%s/%s'", dir_path, name);
        return -1;
    }
    if (!(flags & (CV_FILE_WRITE_NO_DIR_SYNC | CV_FILE_WRITE_VOLATILE)))
        return cv_dir_sync(dirfd, dir_path, err);
    return 0;
}

void
cv_file_tmp_abort_at(int dirfd, const char *tmp)
{
    if (tmp)
        unlinkat(dirfd, tmp, 0);
}

int
cv_file_write_atomic_at(int dirfd, const char *dir_path, const char *name, const char *data,
                        size_t len, mode_t mode, unsigned int flags, CvError **err)
{
    g_autofree char *tmp = NULL;
    if (tmp_write_at(dirfd, dir_path, name, data, len, mode, !(flags & CV_FILE_WRITE_VOLATILE),
                     &tmp, err) < 0)
        return -1;
    return cv_file_tmp_commit_at(dirfd, dir_path, tmp, name, flags, err);
}

static int
write_atomic_path(const char *path, const char *data, size_t len, mode_t mode,
                  unsigned int flags, CvError **err)
{
    g_autofree char *dir = g_path_get_dirname(path);
    g_autofree char *base = g_path_get_basename(path);
    int dirfd = cv_dir_open(dir, err);
    if (dirfd < 0)
        return -1;
    int ret = cv_file_write_atomic_at(dirfd, dir, base, data, len, mode, flags, err);
    close(dirfd);
    return ret;
}

int
cv_file_write_atomic(const char *path, const char *data, size_t len, mode_t mode, CvError **err)
{
    return write_atomic_path(path, data, len, mode, 0, err);
}

int
cv_file_write_volatile(const char *path, const char *data, size_t len, mode_t mode,
                       CvError **err)
{
    return write_atomic_path(path, data, len, mode, CV_FILE_WRITE_VOLATILE, err);
}

int
cv_file_read_at(int dirfd, const char *name, size_t max, char **ret_data, size_t *ret_len,
                CvError **err)
{
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        cv_error_set_errno(err, VIR_FROM_NONE, errno, "cannot open '%s'", name);
        return -1;
    }
    GString *buf = g_string_sized_new(4096);
    for (;;) {
        char chunk[8192];
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int saved = errno;
            close(fd);
            g_string_free(buf, TRUE);
            cv_error_set_errno(err, VIR_FROM_NONE, saved, "cannot read '%s'", name);
            return -1;
        }
        if (n == 0)
            break;
        if (buf->len + (size_t)n > max) {
            close(fd);
            g_string_free(buf, TRUE);
            cv_error_set_errno(err, VIR_FROM_NONE, EFBIG, "cannot read '%s'", name);
            return -1;
        }
        g_string_append_len(buf, chunk, n);
    }
    close(fd);
    if (ret_len)
        *ret_len = buf->len;
    *ret_data = g_string_free(buf, FALSE);
    return 0;
}

ssize_t
cv_file_read_head_at(int dirfd, const char *name, char *buf, size_t max)
{
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    /* One read: a regular file gives all it has up to max at once, and a caller that finds
     * the head cut short falls back to reading the whole file. */
    ssize_t n;
    do {
        n = read(fd, buf, max);
    } while (n < 0 && errno == EINTR);
    int saved = errno;
    close(fd);
    if (n < 0) {
        errno = saved;
        return -1;
    }
    buf[n] = '\0';
    return n;
}

int
cv_dir_open(const char *path, CvError **err)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        cv_error_set_errno(err, VIR_FROM_NONE, errno, "cannot open directory '%s'", path);
    return fd;
}

int
cv_dir_sync(int dirfd, const char *path, CvError **err)
{
    if (fsync(dirfd) < 0) {
        cv_error_set_errno(err, VIR_FROM_NONE, errno, "cannot sync directory '%s'", path);
        return -1;
    }
    return 0;
}

static int
dir_sync_path(const char *path, CvError **err)
{
    int fd = cv_dir_open(path, err);
    if (fd < 0)
        return -1;
    int ret = cv_dir_sync(fd, path, err);
    close(fd);
    return ret;
}

int
cv_dir_ensure(const char *path, mode_t mode, CvError **err)
{
    struct stat st;
    if (stat(path, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) {
            cv_error_set_errno(err, VIR_FROM_NONE, ENOTDIR, "cannot create directory '%s'", path);
            return -1;
        }
        return 0;
    }
    g_autofree char *parent = g_path_get_dirname(path);
    if (strcmp(parent, path) != 0 && cv_dir_ensure(parent, mode, err) < 0)
        return -1;
    if (mkdir(path, mode) < 0) {
        if (errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
            return 0;
        cv_error_set_errno(err, VIR_FROM_NONE, errno, "cannot create directory '%s'", path);
        return -1;
    }
    return dir_sync_path(parent, err);
}

/* cv_dir_empty_at on the open directory fd, which it takes over. */
static int
dir_empty_fd(int fd, const char *name, const char *keep_suffix, CvError **err)
{
    DIR *dir = fdopendir(fd);
    if (!dir) {
        int saved = errno;
        close(fd);
        cv_error_set_errno(err, VIR_FROM_NONE, saved, "cannot read directory '%s'", name);
        return -1;
    }
    int ret = 0;
    struct dirent *de;
    while ((de = readdir(dir))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
            (keep_suffix && g_str_has_suffix(de->d_name, keep_suffix)))
            continue;
        if (cv_dir_remove_tree_at(fd, de->d_name, err) < 0)
            ret = -1;
    }
    closedir(dir);
    return ret;
}

int
cv_dir_empty_at(int dirfd, const char *name, const char *keep_suffix, CvError **err)
{
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        cv_error_set_errno(err, VIR_FROM_NONE, errno, "cannot read directory '%s'", name);
        return -1;
    }
    return dir_empty_fd(fd, name, keep_suffix, err);
}

int
cv_dir_remove_tree_at(int dirfd, const char *name, CvError **err)
{
    if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
        return 0;
    if (errno != EISDIR && errno != EPERM)
        goto fail;
    int sub = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0)
        goto fail;
    if (dir_empty_fd(sub, name, NULL, err) < 0)
        return -1;
    if (unlinkat(dirfd, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
        return 0;
fail:
    cv_error_set_errno(err, VIR_FROM_NONE, errno, "cannot remove '%s'", name);
    return -1;
}

int
cv_file_read_fd(int fd, size_t size_hint, size_t max, char **ret_data, size_t *ret_len)
{
    /* room for the hinted size, the NUL and one byte more: the read that finds the end */
    size_t cap = MIN(MAX(size_hint, (size_t)1022), max) + 2, len = 0;
    char *buf = g_malloc(cap);
    for (;;) {
        if (len > max) {
            g_free(buf);
            errno = EFBIG;
            return -1;
        }
        if (len + 1 >= cap) {
            cap = MIN(cap * 2, max + 2);
            buf = g_realloc(buf, cap);
        }
        ssize_t n = read(fd, buf + len, cap - len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int saved = errno;
            g_free(buf);
            errno = saved;
            return -1;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    if (ret_len)
        *ret_len = len;
    *ret_data = buf;
    return 0;
}
