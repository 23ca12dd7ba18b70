#pragma once

#include <glib.h>
#include <stdbool.h>
#include <sys/types.h>

#include "util/cv_error.h"

/*
 * Advisory locks between processes (flock), held on an open directory. A directory lock
 * survives a rename of the directory, so a lock taker checks after waiting that the
 * directory it holds is still the one linked at its name; a remover moves the directory away
 * while holding the lock, and every waiter then retries on whatever the name holds now.
 */

typedef struct {
    int fd; /* O_DIRECTORY fd of the locked directory, holding the flock */
} CvLock;

typedef enum {
    CV_LOCK_NONE = 0,
    CV_LOCK_CREATE = 1 << 0,  /* create the directory (with mode) when it does not exist */
    CV_LOCK_NONBLOCK = 1 << 1 /* fail with sys_errno EWOULDBLOCK instead of waiting */
} CvLockFlags;

/**
 * cv_lock_dir_at: take an exclusive lock on the directory `name` under dirfd.
 * Without CV_LOCK_CREATE a missing directory is an error whose sys_errno is ENOENT.
 * *ret_created (may be NULL) tells whether this call created the directory.
 * Returns a lock released with cv_lock_release, or NULL with *err.
 */
CvLock *cv_lock_dir_at(int dirfd, const char *name, unsigned int flags, mode_t mode,
                       bool *ret_created, CvError **err);

/** cv_lock_release: drop the lock and close its fd; accepts NULL. */
void cv_lock_release(CvLock *lock);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CvLock, cv_lock_release)
