#include "snapshot_disk.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cv_copy.h"

/* Copy the open src into the open, empty dst; errors name both files. */
static int
disk_copy(int src, int dst, const char *from, const char *to, CvError **err)
{
    off_t size = 0;
    bool regular = false;
    if (cv_copy_size(src, &size, &regular) < 0 || !regular) {
        cv_error_set(err, VIR_FROM_DOMAIN_SNAPSHOT, VIR_ERR_CONFIG_UNSUPPORTED,
                     "disk '%s' is not a regular file", from);
        return -1;
    }
    if (cv_copy_fd(src, dst, size, regular) < 0) {
        cv_error_set_errno(err, VIR_FROM_DOMAIN_SNAPSHOT, errno, "cannot copy '%s' to '%s'",
                           from, to);
        return -1;
    }
    return 0;
}

int
snapshot_disk_capture(const char *source, const char *dest, CvError **err)
{
    int src = open(source, O_RDONLY | O_CLOEXEC);
    if (src < 0) {
        cv_error_set_errno(err, VIR_FROM_DOMAIN_SNAPSHOT, errno, "cannot open disk '%s'",
                           source);
        return -1;
    }
    int dst = open(dest, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (dst < 0) {
        cv_error_set_errno(err, VIR_FROM_DOMAIN_SNAPSHOT, errno, "cannot create '%s'", dest);
        close(src);
        return -1;
    }
    int rc = disk_copy(src, dst, source, dest, err);
    close(src);
    if (close(dst) < 0 && rc == 0) {
        cv_error_set_errno(err, VIR_FROM_DOMAIN_SNAPSHOT, errno, "cannot write '%s'", dest);
        rc = -1;
    }
    if (rc < 0)
        unlink(dest);
    return rc;
}

int
snapshot_disk_restore(const char *captured, const char *path, CvError **err)
{
    struct stat st;
    mode_t mode = 0600;
    if (stat(path, &st) == 0)
        mode = st.st_mode & 07777;
    int src = open(captured, O_RDONLY | O_CLOEXEC);
    if (src < 0) {
        cv_error_set_errno(err, VIR_FROM_DOMAIN_SNAPSHOT, errno, "cannot open '%s'", captured);
        return -1;
    }
    g_autofree char *tmp = g_strdup_printf("%s.cocoon-revert-XXXXXX", path);
    int dst = g_mkstemp_full(tmp, O_WRONLY | O_CLOEXEC, mode);
    if (dst < 0) {
        cv_error_set_errno(err, VIR_FROM_DOMAIN_SNAPSHOT, errno, "cannot create a file next to '%s'",
                           path);
        close(src);
        return -1;
    }
    int rc = disk_copy(src, dst, captured, path, err);
    close(src);
    if (rc == 0 && (fchmod(dst, mode) < 0 || fsync(dst) < 0)) {
        cv_error_set_errno(err, VIR_FROM_DOMAIN_SNAPSHOT, errno, "cannot write '%s'", tmp);
        rc = -1;
    }
    if (close(dst) < 0 && rc == 0) {
        cv_error_set_errno(err, VIR_FROM_DOMAIN_SNAPSHOT, errno, "cannot write '%s'", tmp);
        rc = -1;
    }
    if (rc == 0 && rename(tmp, path) < 0) {
        cv_error_set_errno(err, VIR_FROM_DOMAIN_SNAPSHOT, errno, "cannot replace '%s'", path);
        rc = -1;
    }
    if (rc < 0)
        unlink(tmp);
    return rc;
}
