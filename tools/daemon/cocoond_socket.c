#include "cocoond_socket.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

int
cocoond_socket_listen(const char *path, mode_t mode, gid_t gid, CvError **err)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(addr.sun_path)) {
        cv_error_set(err, VIR_FROM_RPC, VIR_ERR_INVALID_ARG, "socket path '%s' is too long",
                     path);
        return -1;
    }
    strcpy(addr.sun_path, path);
    g_autofree char *dir = g_path_get_dirname(path);
    if (g_mkdir_with_parents(dir, 0755) < 0) {
        cv_error_set_errno(err, VIR_FROM_RPC, errno, "cannot create directory '%s'", dir);
        return -1;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        cv_error_set_errno(err, VIR_FROM_RPC, errno, "cannot create a socket");
        return -1;
    }
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
        unlink(path); /* left by a daemon that died: we hold the lock, it is not in use */
    /* created with no access, opened up once it has its final mode and group */
    mode_t old = umask(0777);
    int rc = bind(fd, (struct sockaddr *)&addr, sizeof(addr));
    int bind_errno = errno;
    umask(old);
    if (rc < 0) {
        cv_error_set_errno(err, VIR_FROM_RPC, bind_errno, "cannot bind socket '%s'", path);
        close(fd);
        return -1;
    }
    if ((gid != (gid_t)-1 && chown(path, (uid_t)-1, gid) < 0) || chmod(path, mode) < 0) {
        cv_error_set_errno(err, VIR_FROM_RPC, errno, "cannot set the access of socket '%s'",
                           path);
        unlink(path);
        close(fd);
        return -1;
    }
    if (listen(fd, 128) < 0) {
        cv_error_set_errno(err, VIR_FROM_RPC, errno, "cannot listen on socket '%s'", path);
        unlink(path);
        close(fd);
        return -1;
    }
    return fd;
}

int
cocoond_socket_activated(int **ret_fds, bool **ret_ro)
{
    const char *pid = g_getenv("LISTEN_PID");
    const char *fds = g_getenv("LISTEN_FDS");
    if (!pid || !fds || strtol(pid, NULL, 10) != getpid())
        return 0;
    long n = strtol(fds, NULL, 10);
    if (n <= 0 || n > 16)
        return 0;
    int *out = g_new0(int, n);
    bool *ro = g_new0(bool, n);
    for (long i = 0; i < n; i++) {
        int fd = 3 + (int)i; /* SD_LISTEN_FDS_START */
        fcntl(fd, F_SETFD, FD_CLOEXEC);
        out[i] = fd;
        struct sockaddr_un addr;
        socklen_t len = sizeof(addr);
        if (getsockname(fd, (struct sockaddr *)&addr, &len) == 0 && addr.sun_family == AF_UNIX &&
            len > offsetof(struct sockaddr_un, sun_path)) {
            size_t plen = strnlen(addr.sun_path, len - offsetof(struct sockaddr_un, sun_path));
            ro[i] = plen >= 3 && strncmp(addr.sun_path + plen - 3, "-ro", 3) == 0;
        }
    }
    g_unsetenv("LISTEN_PID");
    g_unsetenv("LISTEN_FDS");
    g_unsetenv("LISTEN_FDNAMES");
    *ret_fds = out;
    *ret_ro = ro;
    return (int)n;
}
