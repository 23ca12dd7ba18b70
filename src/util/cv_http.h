#pragma once

#include <glib.h>

#include "util/cv_error.h"

/*
 * HTTP/1.1 over a UNIX socket (libcurl), the transport of both VMM APIs. One request per call,
 * no state kept between calls; the hypervisor-specific wording of errors is the caller's job.
 */

/* What the server answered: any status, including 4xx/5xx, is a reply, not an error. */
typedef struct {
    long status; /* HTTP status code, e.g. 204 */
    char *body;  /* the response body, NUL-terminated; "" when there was none */
    size_t body_len;
} CvHttpReply;

/* Default limit for one request, connect included. */
#define CV_HTTP_TIMEOUT_MS 10000

/**
 * cv_http_request: send `method path` to the HTTP server on the UNIX socket socket_path and
 * read the whole reply. body (may be NULL) is sent as application/json with a Content-Length;
 * a PUT/PATCH/POST without body is sent with Content-Length: 0. timeout_ms bounds the whole
 * exchange (0: CV_HTTP_TIMEOUT_MS).
 * On success fills *ret_reply (clear it with cv_http_reply_clear) and returns 0. Returns -1
 * with *err when no reply was obtained: VIR_ERR_SYSTEM_ERROR with the errno when the socket
 * cannot be reached ("cannot connect to socket 'PATH': No such file or directory"),
 * VIR_ERR_OPERATION_TIMEOUT on timeout, VIR_ERR_OPERATION_FAILED otherwise.
 */
int cv_http_request(const char *socket_path, const char *method, const char *path, const char *body,
                    unsigned int timeout_ms, CvHttpReply *ret_reply, CvError **err);

/** cv_http_reply_clear: free the body of reply and zero it; accepts NULL. */
void cv_http_reply_clear(CvHttpReply *reply);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(CvHttpReply, cv_http_reply_clear)
