#include "cv_paths.h"

#include <glib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

char *
cv_paths_default_root(void)
{
    if (geteuid() == 0)
        return g_strdup(COCOON_STATEDIR);
    return g_build_filename(g_get_user_data_dir(), "cocoon", NULL);
}

char *
cv_paths_default_run(void)
{
    if (geteuid() == 0)
        return g_strdup(COCOON_RUNDIR);
    return g_build_filename(g_get_user_runtime_dir(), "cocoon", NULL);
}

char *
cv_paths_daemon_socket(void)
{
    if (geteuid() == 0)
        return g_build_filename(COCOON_SOCKETDIR, "virtcocoond-sock", NULL);
    return g_build_filename(g_get_user_runtime_dir(), "libvirt", "virtcocoond-sock", NULL);
}

char *
cv_paths_system_config(void)
{
    return g_build_filename(COCOON_SYSCONFDIR, "cocoon", "cocoon.conf", NULL);
}

char *
cv_paths_user_config(void)
{
    return g_build_filename(g_get_user_config_dir(), "cocoon", "cocoon.conf", NULL);
}

bool
cv_paths_socket_answers(const char *path)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(addr.sun_path))
        return false;
    strcpy(addr.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    bool ok = connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0;
    close(fd);
    return ok;
}

static bool
cv_paths_executable(const char *path)
{
    return g_file_test(path, G_FILE_TEST_IS_REGULAR) && access(path, X_OK) == 0;
}

char *
cv_paths_helper_find(const char *name, const char *what, const char *env_var,
                     const char *tree_dir, CvError **err)
{
    const char *env = g_getenv(env_var);
    if (env && *env) {
        if (cv_paths_executable(env))
            return g_strdup(env);
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_INTERNAL_ERROR,
                     "%s '%s' (%s) is not an executable file", what, env, env_var);
        return NULL;
    }

    g_autofree char *exe = g_file_read_link("/proc/self/exe", NULL);
    if (exe) {
        g_autofree char *dir = g_path_get_dirname(exe);
        /* <prefix>/bin/x or <prefix>/sbin/x: the same prefix's helper folder, wherever it is now */
        if (*COCOON_HELPERDIR_FROM_PREFIX) {
            g_autofree char *sibling =
                g_build_filename(dir, "..", COCOON_HELPERDIR_FROM_PREFIX, name, NULL);
            if (cv_paths_executable(sibling))
                return g_canonicalize_filename(sibling, NULL);
        }
        /* the build tree: tools/virsh/x, tests/a/b/x, … all sit a few levels below its root */
        g_autofree char *up = g_strdup(dir);
        for (int depth = 0; depth < 4; depth++) {
            g_autofree char *cand = g_build_filename(up, tree_dir, name, NULL);
            if (cv_paths_executable(cand))
                return g_steal_pointer(&cand);
            char *parent = g_path_get_dirname(up);
            g_free(up);
            up = parent;
        }
    }

    g_autofree char *installed = g_build_filename(COCOON_HELPERDIR, name, NULL);
    if (cv_paths_executable(installed))
        return g_steal_pointer(&installed);
    cv_error_set(err, VIR_FROM_NONE, VIR_ERR_INTERNAL_ERROR,
                 "cannot find the %s '%s' (looked next to the program and in '%s')", what, name,
                 COCOON_HELPERDIR);
    return NULL;
}
