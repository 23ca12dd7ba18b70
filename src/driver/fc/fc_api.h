#pragma once

#include <json-c/json.h>
#include <stdbool.h>

#include "util/cv_error.h"
#include "util/cv_http.h"

/*
 * The Firecracker REST API, one function per endpoint Cocoon uses. JSON in, JSON or an error
 * out; nothing here knows about definitions. A refused request becomes VIR_ERR_OPERATION_FAILED
 * with Firecracker's own words: "PUT /drives/vda: 400: The id from the path does not match the
 * id from the body!". A socket that cannot be reached keeps the transport's error, prefixed
 * with the request ("GET /: cannot connect to socket '…': …").
 */

/* One Firecracker REST call: method, path and JSON body (NULL for none). */
typedef struct {
    char *method;         /* "PUT", "PATCH" */
    char *path;           /* "/boot-source", "/drives/rootfs", "/actions" */
    json_object *body;    /* owned; NULL for a call without body */
} FcCall;

/**
 * fc_api_request: send `method path` with body (may be NULL) to the API socket sock.
 * On a 2xx reply returns 0 and, when ret_reply is not NULL, stores the parsed JSON reply there
 * (NULL for a reply without body; caller owns it). Returns -1 with *err otherwise.
 */
int fc_api_request(const char *sock, const char *method, const char *path, const json_object *body,
                   json_object **ret_reply, CvError **err);

/**
 * fc_api_conn_request: fc_api_request on the persistent connection conn, for a sequence of
 * calls (a launch's configuration) that should not pay a connection each.
 */
int fc_api_conn_request(CvHttpConn *conn, const char *method, const char *path,
                        const json_object *body, json_object **ret_reply, CvError **err);

/**
 * fc_api_conn_configure: send the n pre-boot configuration calls on conn in one pipelined
 * batch. Firecracker applies each whatever it answered to the others, so only calls that a
 * refusal of another does not make harmful belong here: configuration before InstanceStart,
 * which is not sent when one of them was refused. Returns 0 when every reply was 2xx, or -1
 * with *err: the first refusal in the calls' order (worded as fc_api_request words it), or the
 * transport's error.
 */
int fc_api_conn_configure(CvHttpConn *conn, const FcCall *calls, size_t n, CvError **err);

/**
 * fc_api_instance_describe: GET / — {"id", "state", "vmm_version", "app_name"}.
 * Returns 0 with *ret_info (caller owns it), or -1 with *err (also when the reply is no object).
 */
int fc_api_instance_describe(const char *sock, json_object **ret_info, CvError **err);

/**
 * fc_api_instance_state: GET / reduced to its "state" ("Not started", "Running", "Paused").
 * Returns a new string, or NULL with *err.
 */
char *fc_api_instance_state(const char *sock, CvError **err);

/** fc_api_vm_patch: PATCH /vm {"state": state} with state "Paused" or "Resumed". */
int fc_api_vm_patch(const char *sock, const char *state, CvError **err);

/** fc_api_conn_vm_patch: fc_api_vm_patch on the persistent connection conn. */
int fc_api_conn_vm_patch(CvHttpConn *conn, const char *state, CvError **err);

/**
 * fc_api_action: PUT /actions {"action_type": action}: "InstanceStart", "SendCtrlAltDel",
 * "FlushMetrics".
 */
int fc_api_action(const char *sock, const char *action, CvError **err);

/* ---- snapshots (fc_snapshot.c builds on these) ------------------------------------------ */

/**
 * fc_api_snapshot_create_body: the body of PUT /snapshot/create for a Full snapshot:
 * {"snapshot_type": "Full", "snapshot_path": …, "mem_file_path": …}. New object.
 */
json_object *fc_api_snapshot_create_body(const char *snapshot_path, const char *mem_file_path);

/**
 * fc_api_snapshot_load_body: the body of PUT /snapshot/load with the memory as a File
 * backend: {"snapshot_path", "mem_backend": {"backend_type": "File", "backend_path"},
 * "resume_vm"}. New object.
 */
json_object *fc_api_snapshot_load_body(const char *snapshot_path, const char *mem_file_path,
                                       bool resume);

/** fc_api_snapshot_create: PUT /snapshot/create (the VM must be paused). */
int fc_api_snapshot_create(const char *sock, const char *snapshot_path, const char *mem_file_path,
                           CvError **err);

/** fc_api_snapshot_load: PUT /snapshot/load on a fresh process (before any other call). */
int fc_api_snapshot_load(const char *sock, const char *snapshot_path, const char *mem_file_path,
                         bool resume, CvError **err);
