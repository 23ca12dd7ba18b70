#include "disk_overlay.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cv_copy.h"

/*
 * The overlay is per-boot scratch: it is created at start and deleted at shutdown, and after
 * a host crash the domain is shut off and its overlay is thrown away, never booted again. So
 * nothing here is fsync'ed. What matters is that the VMM never sees a half-made copy: the
 * copy is made in a temporary file next to overlay_path and renamed into place (without
 * replacing anything) only once complete.
 */

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
do_overlay_fill(int src, int dst, const char *source, const char *overlay_path, CvError **err)
{
    off_t size = 0;
    bool regular = false;

    if (cv_copy_size(src, &size, &regular) < 0) {
        if (errno == EINVAL)
            cv_error_set(err, VIR_FROM_NONE, VIR_ERR_CONFIG_UNSUPPORTED,
                         "transient disk source '%s' is neither a regular file nor a block device",
                         source);
        else
            cv_error_set_errno(err, VIR_FROM_NONE, errno, "cannot get the size of '%s'", source);
        return -1;
    }
    if (cv_copy_fd(src, dst, size, regular) < 0) {
        cv_error_set_errno(err, VIR_FROM_NONE, errno, "cannot copy '%s' to overlay '%s'", source,
                           overlay_path);
        return -1;
    }
    return 0;
}

int
disk_overlay_create(const char *source, const char *overlay_path, CvError **err)
{
    int src = open(source, O_RDONLY | O_CLOEXEC);
    if (src < 0) {
        cv_error_set_errno(err, VIR_FROM_NONE, errno, "cannot open transient disk source '%s'",
                           source);
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
    int ret = do_overlay_fill(src, dst, source, overlay_path, err);
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
