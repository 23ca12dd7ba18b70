#include "ch_api.h"

#include "util/cv_http.h"

#define CH_API_PREFIX "/api/v1/"

/* CH's error body: ["outermost", …, "root cause"] joined by ": "; other bodies as they came. */
static char *
ch_api_error_text(const CvHttpReply *reply)
{
    json_object *obj = reply->body_len ? json_tokener_parse(reply->body) : NULL;
    char *ret = NULL;

    if (obj && json_object_is_type(obj, json_type_array)) {
        GString *text = g_string_new(NULL);
        size_t n = json_object_array_length(obj);
        for (size_t i = 0; i < n; i++) {
            json_object *item = json_object_array_get_idx(obj, i);
            const char *s = json_object_is_type(item, json_type_string)
                                ? json_object_get_string(item)
                                : json_object_to_json_string(item);
            if (text->len)
                g_string_append(text, ": ");
            g_string_append(text, s);
        }
        ret = g_string_free(text, FALSE);
    } else if (reply->body_len) {
        ret = g_strstrip(g_strdup(reply->body));
    }
    json_object_put(obj);
    return ret;
}

int
ch_api_request(const char *sock, const char *method, const char *endpoint, const json_object *body,
               json_object **ret_reply, long *ret_status, CvError **err)
{
    g_auto(CvHttpReply) reply = {0};
    g_autofree char *path = g_strconcat(CH_API_PREFIX, endpoint, NULL);
    const char *text = NULL;

    if (ret_status)
        *ret_status = 0;
    if (body)
        text = json_object_to_json_string_ext(
            (json_object *)body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    if (cv_http_request(sock, method, path, text, 0, &reply, err) < 0) {
        cv_error_prefix(err, "%s: ", endpoint);
        return -1;
    }
    if (reply.status < 200 || reply.status > 299) {
        g_autofree char *why = ch_api_error_text(&reply);
        if (why && *why)
            cv_error_set(err, VIR_FROM_CH, VIR_ERR_OPERATION_FAILED, "%s: %ld: %s", endpoint,
                         reply.status, why);
        else
            cv_error_set(err, VIR_FROM_CH, VIR_ERR_OPERATION_FAILED, "%s: %ld", endpoint,
                         reply.status);
        if (ret_status)
            *ret_status = reply.status;
        return -1;
    }

    json_object *parsed = NULL;
    if (reply.body_len > 0) {
        parsed = json_tokener_parse(reply.body);
        if (!parsed) {
            cv_error_set(err, VIR_FROM_CH, VIR_ERR_OPERATION_FAILED,
                         "%s: %ld: reply is not JSON: %s", endpoint, reply.status, reply.body);
            return -1;
        }
    }
    if (ret_reply)
        *ret_reply = parsed;
    else
        json_object_put(parsed);
    return 0;
}

/* GET endpoint whose reply must be a JSON object. */
static int
ch_api_get_object(const char *sock, const char *endpoint, json_object **ret_obj, long *ret_status,
                  CvError **err)
{
    json_object *obj = NULL;

    if (ch_api_request(sock, "GET", endpoint, NULL, &obj, ret_status, err) < 0)
        return -1;
    if (!json_object_is_type(obj, json_type_object)) {
        json_object_put(obj);
        cv_error_set(err, VIR_FROM_CH, VIR_ERR_OPERATION_FAILED, "%s: reply is not a JSON object",
                     endpoint);
        return -1;
    }
    *ret_obj = obj;
    return 0;
}

int
ch_api_vm_info(const char *sock, json_object **ret_info, long *ret_status, CvError **err)
{
    return ch_api_get_object(sock, "vm.info", ret_info, ret_status, err);
}

/* The body-less PUT actions: CH refuses them with a body. */
static int
ch_api_action(const char *sock, const char *endpoint, CvError **err)
{
    return ch_api_request(sock, "PUT", endpoint, NULL, NULL, NULL, err);
}

int
ch_api_vm_pause(const char *sock, CvError **err)
{
    return ch_api_action(sock, "vm.pause", err);
}

int
ch_api_vm_resume(const char *sock, CvError **err)
{
    return ch_api_action(sock, "vm.resume", err);
}

int
ch_api_vm_power_button(const char *sock, CvError **err)
{
    return ch_api_action(sock, "vm.power-button", err);
}

int
ch_api_vm_reboot(const char *sock, CvError **err)
{
    return ch_api_action(sock, "vm.reboot", err);
}

json_object *
ch_api_vm_snapshot_body(const char *dir)
{
    g_autofree char *url = g_strconcat("file://", dir, NULL);
    json_object *body = json_object_new_object();
    json_object_object_add(body, "destination_url", json_object_new_string(url));
    return body;
}

json_object *
ch_api_vm_restore_body(const char *dir, bool resume)
{
    g_autofree char *url = g_strconcat("file://", dir, NULL);
    json_object *body = json_object_new_object();
    json_object_object_add(body, "source_url", json_object_new_string(url));
    json_object_object_add(body, "resume", json_object_new_boolean(resume));
    return body;
}

/* PUT endpoint with body (consumed). */
static int
ch_api_put_body(const char *sock, const char *endpoint, json_object *body, CvError **err)
{
    int ret = ch_api_request(sock, "PUT", endpoint, body, NULL, NULL, err);
    json_object_put(body);
    return ret;
}

int
ch_api_vm_snapshot(const char *sock, const char *dir, CvError **err)
{
    return ch_api_put_body(sock, "vm.snapshot", ch_api_vm_snapshot_body(dir), err);
}

int
ch_api_vm_restore(const char *sock, const char *dir, bool resume, CvError **err)
{
    return ch_api_put_body(sock, "vm.restore", ch_api_vm_restore_body(dir, resume), err);
}
