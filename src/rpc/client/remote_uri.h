#pragma once

#include <stdbool.h>

#include "util/cv_error.h"

/*
 * Which socket a daemon URI names and which name goes into CONNECT_OPEN, as libvirt's remote
 * driver computes them (../shared/protocol/libvirt-rpc.md §4): the transport suffix and the
 * parameters the client consumes (socket, name, mode, …) are stripped from the name;
 * cocoon+unix:///system?socket=P connects to P and opens "cocoon:///system".
 */

typedef struct {
    char *socket_path; /* where to connect */
    char *name;        /* what CONNECT_OPEN carries */
} RemoteUri;

/**
 * remote_uri_parse: the socket and open name of uri (cocoon:///system, cocoon:///session,
 * cocoon+unix:///…[?socket=P]). Without socket=, the daemon's default socket
 * (cv_paths_daemon_socket), its "-ro" twin when read_only. Returns a RemoteUri freed with
 * remote_uri_free, or NULL with *err.
 */
RemoteUri *remote_uri_parse(const char *uri, bool read_only, CvError **err);

void remote_uri_free(RemoteUri *ru);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(RemoteUri, remote_uri_free)
