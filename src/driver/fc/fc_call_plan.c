#include "fc_lower.h"

#include <string.h>

/*
 * Rendering of an FcCallPlan: the JSON array the golden tests pin and domxml-to-native prints,
 * and a shell script of curl calls a user can run against a bare firecracker process.
 */

char *
fc_call_plan_to_json(const FcCallPlan *plan)
{
    json_object *array = json_object_new_array();
    g_assert(array);
    for (size_t i = 0; i < plan->ncalls; i++) {
        const FcCall *call = &plan->calls[i];
        json_object *entry = json_object_new_object();
        g_assert(entry);
        json_object_object_add(entry, "method", json_object_new_string(call->method));
        json_object_object_add(entry, "path", json_object_new_string(call->path));
        json_object_object_add(entry, "body", json_object_get(call->body));
        json_object_array_add(array, entry);
    }
    const char *text = json_object_to_json_string_ext(
        array, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
    char *ret = g_strconcat(text, "\n", NULL);
    json_object_put(array);
    return ret;
}

char *
fc_call_plan_to_curl(const FcCallPlan *plan, const char *api_socket)
{
    GString *out = g_string_new("#!/bin/sh\nset -e\n");
    g_autofree char *sock = g_shell_quote(api_socket);

    for (size_t i = 0; i < plan->ncalls; i++) {
        const FcCall *call = &plan->calls[i];
        g_autofree char *url = g_strconcat("http://localhost", call->path, NULL);
        g_autofree char *qurl = g_shell_quote(url);
        /* --fail-with-body: FC answers errors with 400, which curl would otherwise count as
         * success, so `set -e` would not stop at the first refused call. */
        g_string_append_printf(out, "curl --fail-with-body --unix-socket %s -X %s %s", sock,
                               call->method, qurl);
        if (call->body) {
            const char *json = json_object_to_json_string_ext(
                call->body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
            g_autofree char *qjson = g_shell_quote(json);
            g_string_append_printf(out, " -H 'Content-Type: application/json' -d %s", qjson);
        }
        g_string_append_c(out, '\n');
    }
    return g_string_free(out, FALSE);
}

void
fc_call_plan_free(FcCallPlan *plan)
{
    if (!plan)
        return;
    for (size_t i = 0; i < plan->ncalls; i++) {
        g_free(plan->calls[i].method);
        g_free(plan->calls[i].path);
        json_object_put(plan->calls[i].body);
    }
    g_free(plan->calls);
    g_free(plan);
}
