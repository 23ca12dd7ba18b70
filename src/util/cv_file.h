#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "util/cv_error.h"

/*
 * Durable file and directory helpers. Every write is atomic: a temporary file in the same
 * directory, fsync, rename over the target, fsync the directory. A reader therefore sees the
 * old contents or the new ones, never a mix, and a write is on disk when it returns (but for
 * CV_FILE_WRITE_VOLATILE, runtime state).
 * Errors are VIR_ERR_SYSTEM_ERROR with the errno and the path (VIR_FROM_NONE).
 */

typedef enum {
    CV_FILE_WRITE_NONE = 0,
    /* leave the directory fsync to the caller (it batches several renames into one) */
    CV_FILE_WRITE_NO_DIR_SYNC = 1 << 0,
    /* runtime state that means nothing after the host restarts (a running VM's status, its
     * live definition): atomic for every reader and across a killed writer, but no fsync at
     * all; a power cut may leave the new file empty, which its reader takes for "none" */
    CV_FILE_WRITE_VOLATILE = 1 << 1,
} CvFileWriteFlags;

/**
 * cv_file_write_atomic_at: replace the file `name` in the directory dirfd with len bytes of
 * data (mode for a new file). dir_path names the directory in error messages.
 * Returns 0, or -1 with *err set; on failure the old file is untouched and no temporary file
 * is left behind.
 */
int cv_file_write_atomic_at(int dirfd, const char *dir_path, const char *name, const char *data,
                            size_t len, mode_t mode, unsigned int flags, CvError **err);

/**
 * cv_file_tmp_write_at: the first half of cv_file_write_atomic_at, for a caller that must do
 * something between the durable write and the rename (e.g. hard-link the new file): write
 * data into a new temporary file next to name and fsync it. *ret_tmp gets its name (new
 * string); finish with cv_file_tmp_commit_at or cv_file_tmp_abort_at. 0 or -1 with *err.
 */
int cv_file_tmp_write_at(int dirfd, const char *dir_path, const char *name, const char *data,
                         size_t len, mode_t mode, char **ret_tmp, CvError **err);

/**
 * cv_file_tmp_commit_at: rename tmp over name and fsync the directory (flags as
 * cv_file_write_atomic_at). On failure tmp is removed. 0 or -1 with *err.
 */
int cv_file_tmp_commit_at(int dirfd, const char *dir_path, const char *tmp, const char *name,
                          unsigned int flags, CvError **err);

/** cv_file_tmp_abort_at: remove a temporary file of cv_file_tmp_write_at (NULL: nothing). */
void cv_file_tmp_abort_at(int dirfd, const char *tmp);

/** cv_file_write_atomic: cv_file_write_atomic_at for an absolute or relative path. */
int cv_file_write_atomic(const char *path, const char *data, size_t len, mode_t mode,
                         CvError **err);

/** cv_file_write_volatile: cv_file_write_atomic with CV_FILE_WRITE_VOLATILE. */
int cv_file_write_volatile(const char *path, const char *data, size_t len, mode_t mode,
                           CvError **err);

/**
 * cv_file_read_at: the whole file `name` under dirfd (at most max bytes; a larger file is an
 * error), NUL-terminated. *ret_data is owned by the caller; ret_len may be NULL.
 * A missing file is an error whose sys_errno is ENOENT.
 */
int cv_file_read_at(int dirfd, const char *name, size_t max, char **ret_data, size_t *ret_len,
                    CvError **err);

/**
 * cv_file_read_head_at: the first bytes of `name` under dirfd (one read of at most max,
 * which may stop short), NUL-terminated, into buf (size max + 1). Returns the byte count,
 * or -1 with errno set (no CvError: callers use it on hot paths and decide themselves what
 * a failure means).
 */
ssize_t cv_file_read_head_at(int dirfd, const char *name, char *buf, size_t max);

/** cv_dir_open: an O_DIRECTORY|O_CLOEXEC fd for path, or -1 with *err. */
int cv_dir_open(const char *path, CvError **err);

/** cv_dir_sync: fsync the directory fd (path for messages). 0 or -1 with *err. */
int cv_dir_sync(int dirfd, const char *path, CvError **err);

/**
 * cv_dir_ensure: create path and its missing parents with mode (like mkdir -p); each
 * directory created is made durable by an fsync of its parent. An existing path must be a
 * directory. 0 or -1 with *err.
 */
int cv_dir_ensure(const char *path, mode_t mode, CvError **err);

/**
 * cv_dir_empty_at: remove every entry of the directory `name` under dirfd ("." for dirfd
 * itself; no symlink is followed), each with all below it, but those whose name ends in
 * keep_suffix (NULL: none). Goes on past a failure; 0, or -1 with *err set by the first one.
 */
int cv_dir_empty_at(int dirfd, const char *name, const char *keep_suffix, CvError **err);

/**
 * cv_dir_names_at: the names in the directory `name` under dirfd ("." for dirfd itself; not
 * followed when a symbolic link), "." and ".." left out, sorted (strcmp). A new array of
 * strings, or NULL with errno set.
 */
GPtrArray *cv_dir_names_at(int dirfd, const char *name);

/**
 * cv_dir_remove_tree_at: remove `name` under dirfd and everything below it (no symlink is
 * followed). A missing name is not an error. 0 or -1 with *err.
 */
int cv_dir_remove_tree_at(int dirfd, const char *name, CvError **err);

/**
 * cv_file_read_fd: the rest of the open fd, read to its end (at most max bytes; more is
 * EFBIG), NUL-terminated. size_hint (e.g. the size fstat gave) sizes the first buffer, so a
 * file that did not grow is read without reallocating. *ret_data is owned by the caller;
 * ret_len may be NULL. Returns 0, or -1 with errno set (no CvError, as
 * cv_file_read_head_at: the caller names what it read). The fd stays open.
 */
int cv_file_read_fd(int fd, size_t size_hint, size_t max, char **ret_data, size_t *ret_len);
