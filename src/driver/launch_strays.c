#include "launch_strays.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "driver/domain_launch.h"
#include "util/cv_process.h"

/* Whether arg names a file a boot made in live_dir for its processes. */
static bool
stray_arg(const char *arg, const char *live_dir, size_t live_len)
{
    if (g_str_has_prefix(arg, "path="))
        arg += strlen("path=");
    if (strncmp(arg, live_dir, live_len) != 0 || arg[live_len] != '/')
        return false;
    const char *file = arg + live_len + 1;
    if (strchr(file, '/'))
        return false;
    /* CH's socket argument may go on with ",…" options */
    g_autofree char *base = g_strndup(file, strcspn(file, ","));
    return strcmp(base, DOMAIN_LAUNCH_EXIT) == 0 || g_str_has_suffix(base, ".sock");
}

static bool
stray_pid(pid_t pid, const char *live_dir, size_t live_len)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/cmdline", (int)pid);
    g_autofree char *cmd = NULL;
    gsize len = 0;
    if (!g_file_get_contents(path, &cmd, &len, NULL))
        return false;
    for (gsize off = 0; off < len; off += strlen(cmd + off) + 1) {
        if (stray_arg(cmd + off, live_dir, live_len))
            return true;
    }
    return false;
}

unsigned int
launch_strays_stop(const char *live_dir, bool dry_run)
{
    size_t live_len = strlen(live_dir);
    while (live_len > 1 && live_dir[live_len - 1] == '/')
        live_len--;
    DIR *d = opendir("/proc");
    if (!d)
        return 0;
    g_autoptr(GArray) found = g_array_new(FALSE, FALSE, sizeof(pid_t));
    struct dirent *e;
    while ((e = readdir(d))) {
        char *end = NULL;
        long pid = strtol(e->d_name, &end, 10);
        if (pid <= 0 || *end || pid == getpid() || !cv_process_alive((pid_t)pid, 0))
            continue;
        if (stray_pid((pid_t)pid, live_dir, live_len)) {
            pid_t p = (pid_t)pid;
            g_array_append_val(found, p);
        }
    }
    closedir(d);
    for (guint i = 0; i < found->len && !dry_run; i++) {
        pid_t pid = g_array_index(found, pid_t, i);
        unsigned long long start = 0;
        if (cv_process_start_time(pid, &start, NULL) < 0)
            continue;
        kill(pid, SIGKILL);
        cv_process_wait_exit(pid, start, 2000);
    }
    return found->len;
}

#define LAUNCH_MARKER "launch.pending"

int
launch_marker_set(const char *live_dir, CvError **err)
{
    g_autofree char *path = g_build_filename(live_dir, LAUNCH_MARKER, NULL);
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        cv_error_set_errno(err, VIR_FROM_NONE, errno, "cannot create '%s'", path);
        return -1;
    }
    close(fd);
    return 0;
}

bool
launch_marker_present(const char *live_dir)
{
    g_autofree char *path = g_build_filename(live_dir, LAUNCH_MARKER, NULL);
    return access(path, F_OK) == 0;
}

void
launch_marker_clear(const char *live_dir)
{
    g_autofree char *path = g_build_filename(live_dir, LAUNCH_MARKER, NULL);
    unlink(path);
}

