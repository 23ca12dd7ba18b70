#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>

#include "rpc/rpc_message.h"
#include "util/cv_error.h"

/*
 * One client connection to a libvirt RPC socket (../shared/protocol/libvirt-rpc.md §1): a
 * reader thread takes every message off the socket and routes it: REPLYs to the call waiting
 * for that serial, keepalive PINGs answered with a PONG, STREAM packets to the stream opened
 * with that serial, asynchronous MESSAGEs (events) to the connection's message handler. Calls
 * may come from any thread; each waits for its own answer.
 */

typedef struct RemoteConn RemoteConn;

/*
 * An asynchronous MESSAGE of the remote program (an event), on the reader thread. body is
 * borrowed for the call. The handler must not make calls on rc (their answers would wait
 * for this very thread).
 */
typedef void (*RemoteMessageFunc)(RemoteConn *rc, const cvr_message_header *hdr,
                                  const guint8 *body, size_t len, void *opaque);

/*
 * A STREAM packet for a stream registered with remote_conn_stream_add (or a MESSAGE of Cocoon's
 * program with its serial, hdr->type says which), on the reader thread; hdr is NULL when the connection is lost (err says how). Runs under the connection's lock:
 * it must only record what happened. true: the stream has enough queued, the reader reads
 * nothing more until remote_conn_stream_release (or the stream's removal).
 */
typedef bool (*RemoteStreamFunc)(const cvr_message_header *hdr, const guint8 *body, size_t len,
                                 const CvError *err, void *opaque);

/**
 * remote_conn_connect: connect to the UNIX socket at path and start the reader thread;
 * on_message (may be NULL) receives events with opaque. Returns a connection released with
 * remote_conn_close, or NULL with *err (libvirt's "Failed to connect socket to '…'").
 */
RemoteConn *remote_conn_connect(const char *path, RemoteMessageFunc on_message, void *opaque,
                                CvError **err);

/**
 * remote_conn_close: shut the socket down, wait for the reader thread, drop the caller's
 * reference. Streams still holding references fail from then on. NULL is accepted.
 */
void remote_conn_close(RemoteConn *rc);

RemoteConn *remote_conn_ref(RemoteConn *rc);
void remote_conn_unref(RemoteConn *rc);

/** remote_conn_serial_next: a fresh serial for a call (used before the call for streams). */
guint remote_conn_serial_next(RemoteConn *rc);

/**
 * remote_conn_call: CALL proc of the remote program with args encoded by args_filter (NULL:
 * none) under serial, wait for its REPLY and decode it into ret (ret_size bytes, zeroed first;
 * ret_filter NULL: an empty answer). The caller frees ret's members with
 * xdr_free(ret_filter, ret). An error REPLY becomes *err with the server's code, domain and
 * message. 0, or -1 with *err.
 */
int remote_conn_call(RemoteConn *rc, guint serial, int proc, xdrproc_t args_filter,
                     const void *args, xdrproc_t ret_filter, void *ret, size_t ret_size,
                     CvError **err);

/** remote_conn_call_prog: remote_conn_call for program prog, version vers (Cocoon's own). */
int remote_conn_call_prog(RemoteConn *rc, guint prog, guint vers, guint serial, int proc,
                          xdrproc_t args_filter, const void *args, xdrproc_t ret_filter,
                          void *ret, size_t ret_size, CvError **err);

/** remote_conn_send: send one message (taken: msg is unreferenced). 0, or -1 with *err. */
int remote_conn_send(RemoteConn *rc, GBytes *msg, CvError **err);

/** remote_conn_stream_add: route STREAM packets of serial to fn(…, opaque). */
void remote_conn_stream_add(RemoteConn *rc, guint serial, RemoteStreamFunc fn, void *opaque);

/** remote_conn_stream_release: the stream of serial took its queue in: read on. */
void remote_conn_stream_release(RemoteConn *rc, guint serial);

/** remote_conn_stream_remove: stop routing serial; fn is not running once this returns. */
void remote_conn_stream_remove(RemoteConn *rc, guint serial);

/** remote_conn_error_from_wire: *err from a remote_error body, its text kept as is. */
void remote_conn_error_from_wire(const guint8 *body, size_t len, CvError **err);
