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
        return g_strdup("/var/lib/cocoon");
    return g_build_filename(g_get_user_data_dir(), "cocoon", NULL);
}

char *
cv_paths_default_run(void)
{
    if (geteuid() == 0)
        return g_strdup("/run/cocoon");
    return g_build_filename(g_get_user_runtime_dir(), "cocoon", NULL);
}

char *
cv_paths_daemon_socket(void)
{
    if (geteuid() == 0)
        return g_strdup("/run/libvirt/virtcocoond-sock");
    return g_build_filename(g_get_user_runtime_dir(), "libvirt", "virtcocoond-sock", NULL);
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
