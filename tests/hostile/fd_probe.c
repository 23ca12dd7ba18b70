/*
 * Stands in for a VMM binary to see what Cocoon hands it: records every file descriptor open
 * at exec time (number, target, close-on-exec flag) in $COCOON_FD_PROBE_OUT/<pid>, then execs
 * $COCOON_FD_PROBE_EXEC (the simulator or the real hypervisor) with the same arguments, so
 * the start goes on as usual. libc only: nothing of ours opens a descriptor before the list.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
    const char *out = getenv("COCOON_FD_PROBE_OUT");
    const char *target = getenv("COCOON_FD_PROBE_EXEC");
    if (!out || !target) {
        fprintf(stderr, "fd-probe: COCOON_FD_PROBE_OUT and COCOON_FD_PROBE_EXEC must be set\n");
        return 127;
    }
    /* collect first: the list file must not be in the list */
    char lines[64][PATH_MAX + 32];
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return 127;
    int self = dirfd(d);
    struct dirent *e;
    while ((e = readdir(d)) && n < 64) {
        if (e->d_name[0] == '.')
            continue;
        int fd = atoi(e->d_name);
        if (fd == self)
            continue;
        char link[PATH_MAX], path[64];
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        ssize_t len = readlink(path, link, sizeof(link) - 1);
        link[len > 0 ? len : 0] = '\0';
        int flags = fcntl(fd, F_GETFD);
        snprintf(lines[n++], sizeof(lines[0]), "%d %s %s\n", fd,
                 flags >= 0 && (flags & FD_CLOEXEC) ? "cloexec" : "inherit", link);
    }
    closedir(d);
    char file[PATH_MAX];
    snprintf(file, sizeof(file), "%s/%d", out, (int)getpid());
    FILE *f = fopen(file, "we");
    if (!f)
        return 127;
    for (int i = 0; i < n; i++)
        fputs(lines[i], f);
    fclose(f);
    execv(target, argv);
    perror("fd-probe: exec");
    return 127;
}
