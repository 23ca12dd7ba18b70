#pragma once

#include "driver/driver.h"

/*
 * The remote driver: driver.h over libvirt's wire protocol to cocoond (or any server speaking
 * it). A program that wants daemon URIs registers it once at start-up:
 *     cocoon_conn_set_remote_opener(remote_driver_open);
 */

/**
 * remote_driver_open: connect to the daemon named by uri (cocoon:///system, cocoon:///session,
 * cocoon+unix:///system?socket=PATH), authenticate (none), ask the features and open.
 * flags: VIR_CONNECT_RO for a read-only connection. Returns a connection closed with
 * cocoon_conn_close (which sends CONNECT_CLOSE), or NULL with *err.
 */
CocoonConn *remote_driver_open(const char *uri, unsigned int flags, CvError **err);
