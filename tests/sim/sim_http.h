/* Minimal HTTP/1.1 server on a UNIX socket for the hypervisor simulators (test tools only). */
#pragma once

#include <glib.h>

typedef struct {
    const char *method;
    const char *path;   /* request target, query string included */
    const char *body;   /* NUL-terminated copy of the body, NULL when there is none */
    gsize body_len;
} SimHttpRequest;

typedef void (*SimHttpAfterFn)(gpointer user_data);

typedef struct {
    int status;
    char *body;               /* owned; NULL = no body */
    GPtrArray *headers;       /* owned "Name: value" strings */
    SimHttpAfterFn after;     /* called once the response is written */
    gpointer after_data;
} SimHttpResponse;

typedef void (*SimHttpHandler)(const SimHttpRequest *req, SimHttpResponse *resp, gpointer user_data);

typedef struct SimHttpServer SimHttpServer;

/**
 * sim_http_server_new:
 * @listen_fd: a bound, listening UNIX stream socket (ownership taken)
 * @server_name: value of the Server header
 * @handler: called for every complete request; fills the response
 *
 * Serves requests from the default GLib main context, several connections, keep-alive,
 * Content-Length framing. Every request is written to the request log (sim_log.h).
 * Returns: the server, free with sim_http_server_free().
 */
SimHttpServer *sim_http_server_new(int listen_fd, const char *server_name,
                                   SimHttpHandler handler, gpointer user_data);

/** sim_http_server_free: closes the listener and every connection; accepts NULL. */
void sim_http_server_free(SimHttpServer *srv);

/** sim_http_response_set_body: replaces the response body (takes ownership of @body). */
void sim_http_response_set_body(SimHttpResponse *resp, int status, char *body);

/** sim_http_response_add_header: adds a "Name: value" header line. */
void sim_http_response_add_header(SimHttpResponse *resp, const char *name, const char *value);

/**
 * sim_http_listen_unix:
 * @path: socket path; bind fails when it exists
 * Returns: a listening O_CLOEXEC socket or -1 with errno set.
 */
int sim_http_listen_unix(const char *path);
