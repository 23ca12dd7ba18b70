#pragma once

#include <glib.h>

#include "util/cv_error.h"

/*
 * HTTP/1.1 over a UNIX socket, the transport of both VMM APIs (Firecracker and Cloud
 * Hypervisor both serve it with micro_http). Written here rather than borrowed from libcurl:
 * dynamic linking of libcurl and its TLS/GSSAPI/LDAP dependencies cost ~15 ms in every
 * process that made a single request, and its per-request set-up more than the exchange
 * itself. The subset is what the VMMs speak: requests with an optional JSON body, replies with
 * a Content-Length, a chunked body or none, persistent connections. The hypervisor-specific
 * wording of errors is the caller's job.
 */

/* What the server answered: any status, including 4xx/5xx, is a reply, not an error. */
typedef struct {
    long status; /* HTTP status code, e.g. 204 */
    char *body;  /* the response body, NUL-terminated; "" when there was none */
    size_t body_len;
} CvHttpReply;

/* Default limit for one request, connect included. */
#define CV_HTTP_TIMEOUT_MS 10000
/* The largest reply body accepted; a VMM's replies are a few KiB. */
#define CV_HTTP_MAX_REPLY (16 * 1024 * 1024)

/* A persistent connection to one server, opened on first use and again whenever the server
 * closed it between requests. Not thread-safe: one user at a time. */
typedef struct CvHttpConn CvHttpConn;

/**
 * cv_http_conn_new: a connection to the HTTP server on the UNIX socket socket_path, each
 * request bounded by timeout_ms (0: CV_HTTP_TIMEOUT_MS). Nothing is connected yet.
 */
CvHttpConn *cv_http_conn_new(const char *socket_path, unsigned int timeout_ms);

/** cv_http_conn_free: close and free conn; accepts NULL. */
void cv_http_conn_free(CvHttpConn *conn);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CvHttpConn, cv_http_conn_free)

/**
 * cv_http_conn_request: send `method path` on conn and read the whole reply. body (may be
 * NULL) is sent as application/json with a Content-Length; a request other than GET without
 * body is sent with Content-Length: 0. A request is never sent twice: only a connection found
 * closed before sending is opened anew.
 * On success fills *ret_reply (clear it with cv_http_reply_clear) and returns 0. Returns -1
 * with *err when no reply was obtained: VIR_ERR_SYSTEM_ERROR with the errno when the socket
 * cannot be reached ("cannot connect to socket 'PATH': No such file or directory"),
 * VIR_ERR_OPERATION_TIMEOUT on timeout, VIR_ERR_OPERATION_FAILED otherwise (the connection
 * dropped, a reply that is not HTTP or is over CV_HTTP_MAX_REPLY). After an error the
 * connection is closed; the next request opens it again.
 */
int cv_http_conn_request(CvHttpConn *conn, const char *method, const char *path, const char *body,
                         CvHttpReply *ret_reply, CvError **err);

/* One request of a pipelined batch, and (filled in by cv_http_conn_pipeline) its reply. */
typedef struct {
    const char *method;
    const char *path;
    const char *body; /* may be NULL, as in cv_http_conn_request */
    CvHttpReply reply;
} CvHttpCall;

/**
 * cv_http_conn_pipeline: send the n calls back to back on conn, then read their replies in
 * order into calls[i].reply (HTTP/1.1 pipelining, which micro_http serves): one round trip for
 * the lot rather than one each. Only for requests that do not depend on each other's outcome,
 * as the server acts on every one of them whatever it answered to the others. Returns 0 with
 * every reply (clear each with cv_http_reply_clear), or -1 with *err as cv_http_conn_request,
 * also when the server closed the connection before the last reply; replies read until then
 * are kept. The timeout bounds the whole batch.
 */
int cv_http_conn_pipeline(CvHttpConn *conn, CvHttpCall *calls, size_t n, CvError **err);

/**
 * cv_http_request: one request on a connection of its own (cv_http_conn_request's contract),
 * timeout_ms bounding the whole exchange (0: CV_HTTP_TIMEOUT_MS).
 */
int cv_http_request(const char *socket_path, const char *method, const char *path, const char *body,
                    unsigned int timeout_ms, CvHttpReply *ret_reply, CvError **err);

/** cv_http_reply_clear: free the body of reply and zero it; accepts NULL. */
void cv_http_reply_clear(CvHttpReply *reply);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(CvHttpReply, cv_http_reply_clear)
