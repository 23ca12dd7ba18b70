#include "console/cv_pty.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>

#include "util/cv_mem.h"

#define VIR_FROM_THIS VIR_FROM_NONE

int
cv_pty_set_raw(int fd, CvError **err)
{
    struct termios tio;

    if (tcgetattr(fd, &tio) < 0) {
        cv_error_set_errno(err, VIR_FROM_THIS, errno, "cannot get terminal attributes");
        return -1;
    }
    cfmakeraw(&tio);
    /* A read returns as soon as one byte is there: the relay is driven by poll. */
    tio.c_cc[VMIN] = 1;
    tio.c_cc[VTIME] = 0;
    if (tcsetattr(fd, TCSANOW, &tio) < 0) {
        cv_error_set_errno(err, VIR_FROM_THIS, errno, "cannot set terminal attributes");
        return -1;
    }
    return 0;
}

int
cv_pty_open(int *ret_master, char **ret_slave_path, int *ret_slave, CvError **err)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    int slave = -1;
    char path[128];

    if (master < 0) {
        cv_error_set_errno(err, VIR_FROM_THIS, errno, "cannot open a pseudo-terminal");
        return -1;
    }
    if (grantpt(master) < 0 || unlockpt(master) < 0) {
        cv_error_set_errno(err, VIR_FROM_THIS, errno, "cannot unlock the pseudo-terminal");
        goto error;
    }
    if (ptsname_r(master, path, sizeof(path)) != 0) {
        cv_error_set_errno(err, VIR_FROM_THIS, errno, "cannot get the pseudo-terminal's name");
        goto error;
    }
    slave = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0) {
        cv_error_set_errno(err, VIR_FROM_THIS, errno, "cannot open '%s'", path);
        goto error;
    }
    /* One line discipline per pair, on the slave side: raw there is what the VMM sees. */
    if (cv_pty_set_raw(slave, err) < 0)
        goto error;

    *ret_master = master;
    if (ret_slave_path)
        *ret_slave_path = cv_xstrdup(path);
    if (ret_slave)
        *ret_slave = slave;
    else
        close(slave);
    return 0;

error:
    if (slave >= 0)
        close(slave);
    close(master);
    return -1;
}

int
cv_pty_open_path(const char *path, CvError **err)
{
    int fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);

    if (fd < 0) {
        cv_error_set_errno(err, VIR_FROM_THIS, errno, "cannot open console '%s'", path);
        return -1;
    }
    if (!isatty(fd)) {
        cv_error_set(err, VIR_FROM_THIS, VIR_ERR_OPERATION_FAILED, "'%s' is not a terminal", path);
        close(fd);
        return -1;
    }
    if (cv_pty_set_raw(fd, err) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}
