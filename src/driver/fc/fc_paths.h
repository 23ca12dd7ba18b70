#pragma once

/*
 * Where a Firecracker domain's sockets live inside its live directory (<run>/domains/<name>).
 * The lowering, the process launcher and domxml-to-native agree on these through here.
 */

/** fc_api_socket_path: the REST API socket (--api-sock) of the domain; new string (g_free). */
char *fc_api_socket_path(const char *run_dir);

/** fc_vsock_socket_path: the vsock device's host UNIX socket (uds_path); new string (g_free). */
char *fc_vsock_socket_path(const char *run_dir);
