#pragma once

#include "driver/driver.h"

/*
 * The remote driver lives above the driver layer (src/rpc/client), so cocoon_conn_open
 * cannot call it directly: the client registers its opener here at start-up. Until one is
 * registered, daemon URIs fail with VIR_ERR_NO_CONNECT.
 */

/* Open uri (cocoon:///system, cocoon:///session, cocoon+unix:///…?socket=P) over the wire. */
typedef CocoonConn *(*CocoonRemoteOpenFunc)(const char *uri, unsigned int flags, CvError **err);

/** cocoon_conn_set_remote_opener: make fn the opener of daemon URIs (NULL: none). */
void cocoon_conn_set_remote_opener(CocoonRemoteOpenFunc fn);

/*
 * Ownership for driver implementers: cocoon_conn_close calls driver->connectClose (which
 * frees conn->priv and whatever the driver holds), then frees conn->uri and conn itself.
 */
