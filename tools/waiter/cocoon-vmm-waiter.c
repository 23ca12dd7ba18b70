/*
 * cocoon-vmm-waiter EXIT_FILE PID
 *
 * The parent of a VMM, for as long as it runs, so that the driver can tell afterwards how the
 * VMM ended (exit code or signal): a pidfd or /proc cannot say that of a process that is not
 * one's child, and the process that started the VM (cocoonvirsh, cocoond) may be long gone.
 * cv_process_spawn_waited starts the VMM as a child of the process that then execs this
 * program, in a session of its own and with no fd of the caller's: exec keeps the pid and the
 * children. It waits for PID and writes the wait status in decimal to EXIT_FILE (atomically:
 * EXIT_FILE.tmp, then rename).
 *
 * Small and libc-only on purpose: it is exec'ed at every start of a VM.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void
write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        buf += n;
        len -= (size_t)n;
    }
}

int
main(int argc, char **argv)
{
    char *end = NULL;
    long pid = argc == 3 ? strtol(argv[2], &end, 10) : 0;

    if (argc != 3 || !end || *end || pid <= 0) {
        fprintf(stderr, "usage: cocoon-vmm-waiter EXIT_FILE PID (PID: a child of this process)\n");
        return 2;
    }
    const char *exit_path = argv[1];
    char *exit_tmp = malloc(strlen(exit_path) + sizeof(".tmp"));
    if (!exit_tmp)
        return 1;
    strcpy(exit_tmp, exit_path);
    strcat(exit_tmp, ".tmp");

    struct sigaction ign = {.sa_handler = SIG_IGN};
    int quiet[] = {SIGINT, SIGHUP, SIGTERM, SIGQUIT, SIGPIPE, SIGTSTP, SIGTTIN, SIGTTOU};
    for (size_t i = 0; i < sizeof(quiet) / sizeof(quiet[0]); i++)
        sigaction(quiet[i], &ign, NULL);
    if (chdir("/") < 0) {
        /* nothing depends on it */
    }

    int status = 0;
    while (waitpid((pid_t)pid, &status, 0) < 0) {
        if (errno != EINTR) {
            fprintf(stderr, "cocoon-vmm-waiter: cannot wait for %ld: %s\n", pid, strerror(errno));
            return 1;
        }
    }
    char buf[16];
    int len = snprintf(buf, sizeof(buf), "%d\n", status);
    /* a fresh file, never one planted there (a symlink or a hard link to something else) */
    unlink(exit_tmp);
    int fd = open(exit_tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd >= 0) {
        write_all(fd, buf, (size_t)len);
        close(fd);
        rename(exit_tmp, exit_path);
    }
    free(exit_tmp);
    return 0;
}
