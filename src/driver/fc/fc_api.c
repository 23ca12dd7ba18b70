#include "fc_api.h"

#include <string.h>

/* Firecracker's error body is {"fault_message": "…"}; anything else is quoted as it came. */
static void
fc_api_error_from_reply(const char *method, const char *path, const CvHttpReply *reply,
                        CvError **err)
{
    g_autofree char *text = NULL;
    json_object *obj = reply->body_len ? json_tokener_parse(reply->body) : NULL;
    json_object *fault = NULL;

    if (obj && json_object_object_get_ex(obj, "fault_message", &fault) &&
        json_object_is_type(fault, json_type_string))
        text = g_strdup(json_object_get_string(fault));
    else if (reply->body_len)
        text = g_strstrip(g_strdup(reply->body));
    json_object_put(obj);

    if (text && *text)
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_OPERATION_FAILED, "%s %s: %ld: %s", method, path,
                     reply->status, text);
    else
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_OPERATION_FAILED, "%s %s: %ld", method, path,
                     reply->status);
}

/* A request body as sent: compact JSON, slashes as they are. */
static const char *
fc_api_body_text(const json_object *body)
{
    if (!body)
        return NULL;
    return json_object_to_json_string_ext((json_object *)body,
                                          JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

/* 0 for a 2xx reply, else -1 with Firecracker's refusal in *err. */
static int
fc_api_check_status(const char *method, const char *path, const CvHttpReply *reply,
                    CvError **err)
{
    if (reply->status >= 200 && reply->status <= 299)
        return 0;
    fc_api_error_from_reply(method, path, reply, err);
    return -1;
}

int
fc_api_conn_configure(CvHttpConn *conn, const FcCall *calls, size_t n, CvError **err)
{
    g_autofree CvHttpCall *batch = g_new0(CvHttpCall, n);
    g_autoptr(CvError) transport = NULL;
    int ret = 0;

    for (size_t i = 0; i < n; i++) {
        batch[i].method = calls[i].method;
        batch[i].path = calls[i].path;
        batch[i].body = fc_api_body_text(calls[i].body);
    }
    cv_http_conn_pipeline(conn, batch, n, &transport);
    /* in the calls' order: a refusal, or the first call left without a reply */
    for (size_t i = 0; i < n && ret == 0; i++) {
        if (batch[i].reply.status == 0) {
            cv_error_prefix(&transport, "%s %s: ", calls[i].method, calls[i].path);
            if (err)
                *err = g_steal_pointer(&transport);
            ret = -1;
        } else if (fc_api_check_status(calls[i].method, calls[i].path, &batch[i].reply, err) < 0) {
            ret = -1;
        }
    }
    for (size_t i = 0; i < n; i++)
        cv_http_reply_clear(&batch[i].reply);
    return ret;
}

int
fc_api_conn_request(CvHttpConn *conn, const char *method, const char *path,
                    const json_object *body, json_object **ret_reply, CvError **err)
{
    g_auto(CvHttpReply) reply = {0};

    if (cv_http_conn_request(conn, method, path, fc_api_body_text(body), &reply, err) < 0) {
        cv_error_prefix(err, "%s %s: ", method, path);
        return -1;
    }
    if (fc_api_check_status(method, path, &reply, err) < 0)
        return -1;

    json_object *parsed = NULL;
    if (reply.body_len > 0) {
        parsed = json_tokener_parse(reply.body);
        if (!parsed) {
            cv_error_set(err, VIR_FROM_NONE, VIR_ERR_OPERATION_FAILED,
                         "%s %s: %ld: reply is not JSON: %s", method, path, reply.status,
                         reply.body);
            return -1;
        }
    }
    if (ret_reply)
        *ret_reply = parsed;
    else
        json_object_put(parsed);
    return 0;
}

int
fc_api_request(const char *sock, const char *method, const char *path, const json_object *body,
               json_object **ret_reply, CvError **err)
{
    g_autoptr(CvHttpConn) conn = cv_http_conn_new(sock, 0);
    return fc_api_conn_request(conn, method, path, body, ret_reply, err);
}

int
fc_api_instance_describe(const char *sock, json_object **ret_info, CvError **err)
{
    json_object *info = NULL;

    if (fc_api_request(sock, "GET", "/", NULL, &info, err) < 0)
        return -1;
    if (!json_object_is_type(info, json_type_object)) {
        json_object_put(info);
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_OPERATION_FAILED,
                     "GET /: reply is not a JSON object");
        return -1;
    }
    *ret_info = info;
    return 0;
}

char *
fc_api_instance_state(const char *sock, CvError **err)
{
    json_object *info = NULL;
    json_object *state = NULL;
    char *ret = NULL;

    if (fc_api_instance_describe(sock, &info, err) < 0)
        return NULL;
    if (json_object_object_get_ex(info, "state", &state) &&
        json_object_is_type(state, json_type_string))
        ret = g_strdup(json_object_get_string(state));
    else
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_OPERATION_FAILED, "GET /: reply has no 'state'");
    json_object_put(info);
    return ret;
}

/* PUT/PATCH path with the one-member object {key: value}. */
static int
fc_api_send_string(CvHttpConn *conn, const char *method, const char *path, const char *key,
                   const char *value, CvError **err)
{
    json_object *body = json_object_new_object();
    json_object_object_add(body, key, json_object_new_string(value));
    int ret = fc_api_conn_request(conn, method, path, body, NULL, err);
    json_object_put(body);
    return ret;
}

int
fc_api_conn_vm_patch(CvHttpConn *conn, const char *state, CvError **err)
{
    return fc_api_send_string(conn, "PATCH", "/vm", "state", state, err);
}

int
fc_api_vm_patch(const char *sock, const char *state, CvError **err)
{
    g_autoptr(CvHttpConn) conn = cv_http_conn_new(sock, 0);
    return fc_api_conn_vm_patch(conn, state, err);
}

int
fc_api_action(const char *sock, const char *action, CvError **err)
{
    g_autoptr(CvHttpConn) conn = cv_http_conn_new(sock, 0);
    return fc_api_send_string(conn, "PUT", "/actions", "action_type", action, err);
}

json_object *
fc_api_snapshot_create_body(const char *snapshot_path, const char *mem_file_path)
{
    json_object *body = json_object_new_object();
    json_object_object_add(body, "snapshot_type", json_object_new_string("Full"));
    json_object_object_add(body, "snapshot_path", json_object_new_string(snapshot_path));
    json_object_object_add(body, "mem_file_path", json_object_new_string(mem_file_path));
    return body;
}

json_object *
fc_api_snapshot_load_body(const char *snapshot_path, const char *mem_file_path, bool resume)
{
    json_object *body = json_object_new_object();
    json_object *mem = json_object_new_object();
    json_object_object_add(mem, "backend_type", json_object_new_string("File"));
    json_object_object_add(mem, "backend_path", json_object_new_string(mem_file_path));
    json_object_object_add(body, "snapshot_path", json_object_new_string(snapshot_path));
    json_object_object_add(body, "mem_backend", mem);
    json_object_object_add(body, "resume_vm", json_object_new_boolean(resume));
    return body;
}

/* Send one call with body (consumed). */
static int
fc_api_send_body(const char *sock, const char *method, const char *path, json_object *body,
                 CvError **err)
{
    int ret = fc_api_request(sock, method, path, body, NULL, err);
    json_object_put(body);
    return ret;
}

int
fc_api_snapshot_create(const char *sock, const char *snapshot_path, const char *mem_file_path,
                       CvError **err)
{
    return fc_api_send_body(sock, "PUT", "/snapshot/create",
                            fc_api_snapshot_create_body(snapshot_path, mem_file_path), err);
}

int
fc_api_snapshot_load(const char *sock, const char *snapshot_path, const char *mem_file_path,
                     bool resume, CvError **err)
{
    return fc_api_send_body(sock, "PUT", "/snapshot/load",
                            fc_api_snapshot_load_body(snapshot_path, mem_file_path, resume), err);
}
