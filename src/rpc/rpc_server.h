#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "driver/driver.h"
#include "util/cv_error.h"

/*
 * The libvirt RPC server: serves one driver connection to many clients over UNIX stream
 * sockets. One thread runs the event loop (accept, read, write, streams); driver calls run on a
 * small worker pool, and their replies go back matched by serial, so a client may have several
 * calls outstanding. The loop answers only read calls that never wait itself (lookups, XML,
 * state: RPC_PROC_INLINE, driver_nowait.h), sparing them the hand-off to a worker. Each client has a bounded output queue: a
 * client that stops reading is dropped, never waited for.
 */

typedef struct RpcServer RpcServer;

/* A line for the daemon's log (no newline), on the loop thread. audit: who connected (worth
 * keeping always); else a detail (for a verbose log). */
typedef void (*RpcServerLogFunc)(bool audit, const char *message, void *opaque);

typedef struct {
    unsigned int workers;          /* threads calling the driver (0: default 8) */
    unsigned int max_clients;      /* connections at once (0: default 1024) */
    unsigned int max_client_calls; /* calls of one client in flight before it is not read */
    size_t max_client_queue;       /* bytes queued for one client before it is dropped */
    /* told of every connection (with the peer's pid, uid and gid) and its end; NULL: none */
    RpcServerLogFunc log;
    void *log_opaque;
} RpcServerConfig;

/**
 * rpc_server_new: a server for conn (borrowed; must outlive the server). config may be NULL
 * (defaults). Returns a server freed with rpc_server_free, or NULL with *err.
 */
RpcServer *rpc_server_new(CocoonConn *conn, const RpcServerConfig *config, CvError **err);

/**
 * rpc_server_add_listener: serve clients connecting to fd, a listening UNIX stream socket
 * (ownership passes to the server). Clients of a read_only listener may call only read
 * procedures. 0, or -1 with *err.
 */
int rpc_server_add_listener(RpcServer *srv, int fd, bool read_only, CvError **err);

/** rpc_server_run: run the event loop until rpc_server_quit. 0, or -1 with *err. */
int rpc_server_run(RpcServer *srv, CvError **err);

/** rpc_server_quit: make rpc_server_run return; async-signal-safe. */
void rpc_server_quit(RpcServer *srv);

/** rpc_server_free: disconnect every client, wait for the workers, close the listeners. */
void rpc_server_free(RpcServer *srv);
