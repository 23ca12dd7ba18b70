#include "cv_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

CvLock *
cv_lock_dir_at(int dirfd, const char *name, unsigned int flags, mode_t mode, bool *ret_created,
               CvError **err)
{
    bool created = false;
    for (;;) {
        created = false;
        if ((flags & CV_LOCK_CREATE) && mkdirat(dirfd, name, mode) == 0)
            created = true;
        else if ((flags & CV_LOCK_CREATE) && errno != EEXIST)
            goto fail;

        int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
            /* removed between our mkdir and open: try again */
            if (errno == ENOENT && (flags & CV_LOCK_CREATE))
                continue;
            goto fail;
        }
        int op = LOCK_EX | ((flags & CV_LOCK_NONBLOCK) ? LOCK_NB : 0);
        while (flock(fd, op) < 0) {
            if (errno == EINTR)
                continue;
            int saved = errno;
            close(fd);
            errno = saved;
            goto fail;
        }
        /* The holder before us may have moved the directory aside (undefine): only the
         * directory that is still linked at name counts. */
        struct stat held, linked;
        if (fstat(fd, &held) == 0 && fstatat(dirfd, name, &linked, AT_SYMLINK_NOFOLLOW) == 0 &&
            held.st_dev == linked.st_dev && held.st_ino == linked.st_ino) {
            CvLock *lock = g_new0(CvLock, 1);
            lock->fd = fd;
            if (ret_created)
                *ret_created = created;
            return lock;
        }
        close(fd);
        if (!(flags & CV_LOCK_CREATE) && fstatat(dirfd, name, &linked, AT_SYMLINK_NOFOLLOW) < 0) {
            errno = ENOENT;
            goto fail;
        }
    }

fail:
    cv_error_set_errno(err, VIR_FROM_NONE, errno, "cannot lock '%s'", name);
    return NULL;
}

void
cv_lock_release(CvLock *lock)
{
    if (!lock)
        return;
    if (lock->fd >= 0)
        close(lock->fd); /* closing the last fd drops the flock */
    g_free(lock);
}
