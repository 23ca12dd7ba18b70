#include "fc_paths.h"

#include <glib.h>

char *
fc_api_socket_path(const char *run_dir)
{
    return g_build_filename(run_dir, "fc-api.sock", NULL);
}

char *
fc_vsock_socket_path(const char *run_dir)
{
    return g_build_filename(run_dir, "vsock.sock", NULL);
}
