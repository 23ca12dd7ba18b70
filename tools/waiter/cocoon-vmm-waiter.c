/*
 * cocoon-vmm-waiter EXIT_FILE PROGRAM [ARG...]
 *
 * The parent of a VMM, for as long as it runs, so that the driver can tell afterwards how the
 * VMM ended (exit code or signal): a pidfd or /proc cannot say that of a process that is not
 * one's child, and the process that started the VM (cocoonvirsh, cocoond) may be long gone.
 * cv_process_spawn execs it with the VMM's fds 0-2 in place, the report pipe as fd 3 and the
 * exec-error pipe as fd 4. It starts PROGRAM in a session of its own, reports
 * {VMM pid (or -errno), own pid} on fd 3, lets go of every fd, waits, and writes the wait
 * status in decimal to EXIT_FILE (atomically: EXIT_FILE.tmp, then rename).
 *
 * Small and libc-only on purpose: it is exec'ed at every start of a VM, and a fork of the
 * caller would copy the caller's whole address space instead.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define REPORT_FD 3
#define ERRNO_FD 4

/* What fd 3 carries; the layout cv_process.c reads. */
typedef struct {
    pid_t vmm;
    pid_t waiter;
} WaiterReport;

static void
write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        p += n;
        len -= (size_t)n;
    }
}

int
main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: cocoon-vmm-waiter EXIT_FILE PROGRAM [ARG...]\n");
        return 2;
    }
    const char *exit_path = argv[1];
    char *exit_tmp = malloc(strlen(exit_path) + sizeof(".tmp"));
    if (!exit_tmp)
        return 1;
    strcpy(exit_tmp, exit_path);
    strcat(exit_tmp, ".tmp");

    WaiterReport report = {.waiter = getpid()};
    /* Its own session: a Ctrl-C on the caller's terminal must not take it down. */
    setsid();
    /* exec closes the error pipe on success; the VMM gets nothing but fds 0-2 */
    if (fcntl(ERRNO_FD, F_SETFD, FD_CLOEXEC) < 0 || fcntl(REPORT_FD, F_SETFD, FD_CLOEXEC) < 0)
        return 1;
    report.vmm = vfork();
    if (report.vmm == 0) {
        execv(argv[2], argv + 2);
        int e = errno;
        write_all(ERRNO_FD, &e, sizeof(e));
        _exit(127);
    }
    if (report.vmm < 0)
        report.vmm = -errno;
    /* The VMM has its own copy of its command line now: blank it out of ours, so that only
     * the VMM answers to `pgrep -f firecracker` (ps shows "cocoon-vmm-waiter EXIT_FILE"). */
    for (int i = 2; i < argc; i++)
        memset(argv[i], 0, strlen(argv[i]));
    close(ERRNO_FD);
    write_all(REPORT_FD, &report, sizeof(report));
    if (report.vmm < 0)
        return 0;

    struct sigaction ign = {.sa_handler = SIG_IGN};
    int quiet[] = {SIGINT, SIGHUP, SIGTERM, SIGQUIT, SIGPIPE, SIGTSTP, SIGTTIN, SIGTTOU};
    for (size_t i = 0; i < sizeof(quiet) / sizeof(quiet[0]); i++)
        sigaction(quiet[i], &ign, NULL);
    /* Hold nothing of the caller's: not its sockets, not the VMM's PTY, not the pipes. */
    if (close_range(0, ~0U, 0) < 0) {
        for (int fd = 0; fd < 4096; fd++)
            close(fd);
    }
    if (chdir("/") < 0) {
        /* nothing depends on it */
    }

    int status = 0;
    while (waitpid(report.vmm, &status, 0) < 0) {
        if (errno != EINTR)
            return 1;
    }
    char buf[16];
    int len = snprintf(buf, sizeof(buf), "%d\n", status);
    int fd = open(exit_tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0) {
        write_all(fd, buf, (size_t)len);
        close(fd);
        rename(exit_tmp, exit_path);
    }
    free(exit_tmp);
    return 0;
}
