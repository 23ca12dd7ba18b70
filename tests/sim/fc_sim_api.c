/* fc-sim: the REST API router (paths, methods, body rules, pre/post-boot tables). */
#include "fc_sim.h"

#include <string.h>

typedef enum {
    PHASE_ANY,
    PHASE_PRE,   /* rejected after boot */
    PHASE_POST,  /* rejected before boot */
} FcPhase;

typedef enum {
    OP_GET_INFO, OP_GET_VERSION, OP_GET_MACHINE, OP_GET_VM_CONFIG, OP_GET_BALLOON,
    OP_GET_BALLOON_STATS, OP_GET_MMDS, OP_PUT_MMDS, OP_PATCH_MMDS, OP_SETTER, OP_ACTION,
    OP_PATCH_VM, OP_SNAP_CREATE, OP_SNAP_LOAD,
} FcOp;

typedef struct {
    const char *method;
    const char *path;       /* first segment, or "seg/sub" */
    gboolean with_id;       /* /drives/{id} style */
    const char *id_field;   /* body member that must equal the path id */
    const char *schema;     /* fc_res_schema() kind, NULL: no body */
    FcPhase phase;
    gboolean boot_path;     /* configuring it forbids a later snapshot load */
    FcOp op;
    FcSetter setter;
} FcRoute;

static const FcRoute fc_routes[] = {
    { "GET", "", FALSE, NULL, NULL, PHASE_ANY, FALSE, OP_GET_INFO, NULL },
    { "GET", "version", FALSE, NULL, NULL, PHASE_ANY, FALSE, OP_GET_VERSION, NULL },
    { "GET", "machine-config", FALSE, NULL, NULL, PHASE_ANY, FALSE, OP_GET_MACHINE, NULL },
    { "GET", "vm/config", FALSE, NULL, NULL, PHASE_ANY, FALSE, OP_GET_VM_CONFIG, NULL },
    { "GET", "balloon", FALSE, NULL, NULL, PHASE_ANY, FALSE, OP_GET_BALLOON, NULL },
    { "GET", "balloon/statistics", FALSE, NULL, NULL, PHASE_POST, FALSE, OP_GET_BALLOON_STATS, NULL },
    { "GET", "mmds", FALSE, NULL, NULL, PHASE_ANY, FALSE, OP_GET_MMDS, NULL },
    { "PUT", "mmds", FALSE, NULL, "", PHASE_ANY, FALSE, OP_PUT_MMDS, NULL },
    { "PATCH", "mmds", FALSE, NULL, "", PHASE_ANY, FALSE, OP_PATCH_MMDS, NULL },
    { "PUT", "mmds/config", FALSE, NULL, "mmds-config", PHASE_PRE, TRUE, OP_SETTER, fc_res_mmds_config },
    { "PUT", "boot-source", FALSE, NULL, "boot-source", PHASE_PRE, TRUE, OP_SETTER, fc_res_boot_source },
    { "PUT", "machine-config", FALSE, NULL, "machine-config", PHASE_PRE, TRUE, OP_SETTER,
      fc_res_machine_config_put },
    { "PATCH", "machine-config", FALSE, NULL, "machine-config-patch", PHASE_PRE, TRUE, OP_SETTER,
      fc_res_machine_config_patch },
    { "PUT", "drives", TRUE, "drive_id", "drive", PHASE_PRE, TRUE, OP_SETTER, fc_res_drive_put },
    { "PATCH", "drives", TRUE, "drive_id", "drive-patch", PHASE_POST, FALSE, OP_SETTER,
      fc_res_drive_patch },
    { "PUT", "network-interfaces", TRUE, "iface_id", "net", PHASE_PRE, TRUE, OP_SETTER,
      fc_res_net_put },
    { "PATCH", "network-interfaces", TRUE, "iface_id", "net-patch", PHASE_POST, FALSE, OP_SETTER,
      fc_res_net_patch },
    { "PUT", "balloon", FALSE, NULL, "balloon", PHASE_PRE, TRUE, OP_SETTER, fc_res_balloon_put },
    { "PATCH", "balloon", FALSE, NULL, "balloon-patch", PHASE_POST, FALSE, OP_SETTER,
      fc_res_balloon_patch },
    { "PATCH", "balloon/statistics", FALSE, NULL, "balloon-stats-patch", PHASE_POST, FALSE,
      OP_SETTER, fc_res_balloon_stats_patch },
    { "PUT", "vsock", FALSE, NULL, "vsock", PHASE_PRE, TRUE, OP_SETTER, fc_res_vsock },
    { "PUT", "entropy", FALSE, NULL, "entropy", PHASE_PRE, TRUE, OP_SETTER, fc_res_entropy },
    { "PUT", "serial", FALSE, NULL, "serial", PHASE_PRE, FALSE, OP_SETTER, fc_res_serial },
    { "PUT", "logger", FALSE, NULL, "logger", PHASE_PRE, FALSE, OP_SETTER, fc_res_logger },
    { "PUT", "metrics", FALSE, NULL, "metrics", PHASE_PRE, FALSE, OP_SETTER, fc_res_metrics },
    { "PUT", "cpu-config", FALSE, NULL, "cpu-config", PHASE_PRE, FALSE, OP_SETTER, fc_res_cpu_config },
    { "PUT", "actions", FALSE, NULL, "action", PHASE_ANY, FALSE, OP_ACTION, NULL },
    { "PATCH", "vm", FALSE, NULL, "vm", PHASE_POST, FALSE, OP_PATCH_VM, NULL },
    { "PUT", "snapshot/create", FALSE, NULL, "snapshot-create", PHASE_POST, FALSE, OP_SNAP_CREATE, NULL },
    { "PUT", "snapshot/load", FALSE, NULL, "snapshot-load", PHASE_PRE, FALSE, OP_SNAP_LOAD, NULL },
};

static void
fc_api_fault(SimHttpResponse *resp, const char *msg)
{
    json_object *o = json_object_new_object();

    json_object_object_add(o, "fault_message", json_object_new_string(msg));
    sim_http_response_set_body(resp, 400, sim_json_dump(o));
    json_object_put(o);
}

static void
fc_api_json(SimHttpResponse *resp, json_object *o)
{
    sim_http_response_set_body(resp, 200, sim_json_dump(o));
    json_object_put(o);
}

static const char *
fc_api_state_name(FcState st)
{
    return st == FC_STATE_RUNNING ? "Running" : st == FC_STATE_PAUSED ? "Paused" : "Not started";
}

static void
fc_api_exit_after(gpointer data)
{
    fc_sim_quit(data, 1);
}

static void
fc_api_flush_metrics(FcSim *s)
{
    if (s->metrics_fd >= 0) {
        g_autofree char *line = g_strdup_printf(
            "{\"utc_timestamp_ms\":%" G_GINT64_FORMAT ",\"api_server\":{\"process_startup_time_us\":0},"
            "\"vmm\":{\"panic_count\":0}}\n", g_get_real_time() / 1000);
        if (write(s->metrics_fd, line, strlen(line)) < 0)
            fc_sim_log(s, "Warning", "cannot write metrics");
    }
}

static void
fc_api_action(FcSim *s, json_object *body, SimHttpResponse *resp)
{
    const char *type = sim_json_get_str(body, "action_type");
    g_autofree char *msg = NULL;

    if (g_str_equal(type, "InstanceStart")) {
        if (s->state != FC_STATE_NOT_STARTED)
            return fc_api_fault(resp, FC_MSG_POST_BOOT);
        if (fc_vm_instance_start(s, &msg) < 0)
            return fc_api_fault(resp, msg);
    } else {
        if (s->state == FC_STATE_NOT_STARTED)
            return fc_api_fault(resp, FC_MSG_PRE_BOOT);
        if (g_str_equal(type, "SendCtrlAltDel"))
            sim_guest_request(s->guest, SIM_GUEST_REBOOT, TRUE);
        else
            fc_api_flush_metrics(s);
    }
    sim_http_response_set_body(resp, 204, NULL);
}

static void
fc_api_balloon_stats(FcSim *s, SimHttpResponse *resp)
{
    json_object *o;

    if (!s->balloon)
        return fc_api_fault(resp, "Balloon config error: No balloon device found.");
    if (sim_json_get_int(s->balloon, "stats_polling_interval_s", 0) == 0)
        return fc_api_fault(resp, "Balloon config error: Statistics for the balloon device are "
                            "not enabled");
    o = json_object_new_object();
    json_object_object_add(o, "target_pages", json_object_new_int64(
        sim_json_get_int(s->balloon, "amount_mib", 0) * 256));
    json_object_object_add(o, "actual_pages", json_object_new_int64(
        sim_json_get_int(s->balloon, "amount_mib", 0) * 256));
    json_object_object_add(o, "target_mib", json_object_new_int64(
        sim_json_get_int(s->balloon, "amount_mib", 0)));
    json_object_object_add(o, "actual_mib", json_object_new_int64(
        sim_json_get_int(s->balloon, "amount_mib", 0)));
    json_object_object_add(o, "free_memory", json_object_new_int64(s->mem_mib << 19));
    json_object_object_add(o, "total_memory", json_object_new_int64(s->mem_mib << 20));
    fc_api_json(resp, o);
}

static void
fc_api_dispatch(FcSim *s, const FcRoute *r, json_object *body, SimHttpResponse *resp)
{
    g_autofree char *msg = NULL;
    gboolean fatal = FALSE;
    json_object *o;

    switch (r->op) {
    case OP_GET_INFO:
        o = json_object_new_object();
        json_object_object_add(o, "id", json_object_new_string(s->id));
        json_object_object_add(o, "state", json_object_new_string(fc_api_state_name(s->state)));
        json_object_object_add(o, "vmm_version", json_object_new_string(FC_SIM_VERSION));
        json_object_object_add(o, "app_name", json_object_new_string("Firecracker"));
        return fc_api_json(resp, o);
    case OP_GET_VERSION:
        o = json_object_new_object();
        json_object_object_add(o, "firecracker_version", json_object_new_string(FC_SIM_VERSION));
        return fc_api_json(resp, o);
    case OP_GET_MACHINE:
        return fc_api_json(resp, fc_res_machine_config(s));
    case OP_GET_VM_CONFIG:
        return fc_api_json(resp, fc_res_vm_config(s));
    case OP_GET_BALLOON:
        if (!s->balloon)
            return fc_api_fault(resp, "Balloon config error: No balloon device found.");
        return fc_api_json(resp, json_object_get(s->balloon));
    case OP_GET_BALLOON_STATS:
        return fc_api_balloon_stats(s, resp);
    case OP_GET_MMDS:
        return fc_api_json(resp, s->mmds ? json_object_get(s->mmds) : json_object_new_object());
    case OP_PUT_MMDS:
    case OP_PATCH_MMDS:
        if (r->op == OP_PATCH_MMDS && s->mmds && json_object_is_type(body, json_type_object) &&
            json_object_is_type(s->mmds, json_type_object)) {
            json_object_object_foreach(body, k, v)
                json_object_object_add(s->mmds, k, json_object_get(v));
        } else {
            json_object_put(s->mmds);
            s->mmds = json_object_get(body);
        }
        break;
    case OP_SETTER:
        if (r->setter(s, body, &msg) < 0)
            return fc_api_fault(resp, msg);
        break;
    case OP_ACTION:
        return fc_api_action(s, body, resp);
    case OP_PATCH_VM:
        /* Idempotent: pausing a paused VM (or resuming a running one) succeeds. */
        if (g_str_equal(sim_json_get_str(body, "state"), "Paused")) {
            s->state = FC_STATE_PAUSED;
            sim_guest_set_paused(s->guest, TRUE);
        } else {
            s->state = FC_STATE_RUNNING;
            sim_guest_set_paused(s->guest, FALSE);
        }
        break;
    case OP_SNAP_CREATE:
        if (fc_vm_snapshot_create(s, body, &msg) < 0)
            return fc_api_fault(resp, msg);
        break;
    case OP_SNAP_LOAD:
        if (fc_vm_snapshot_load(s, body, &fatal, &msg) < 0) {
            fc_api_fault(resp, msg);
            if (fatal) {
                fc_sim_log(s, "Error", "%s", msg);
                resp->after = fc_api_exit_after;
                resp->after_data = s;
            }
            return;
        }
        break;
    }
    sim_http_response_set_body(resp, 204, NULL);
}

/* Body checks that serde would do while deserialising, beyond the field table. */
static const char *
fc_api_extra_check(const FcRoute *r, json_object *body, SimHttpResponse *resp)
{
    if (g_str_equal(r->path, "snapshot/load")) {
        gboolean mb = sim_json_get(body, "mem_backend") != NULL;
        gboolean mf = sim_json_get(body, "mem_file_path") != NULL;
        if (!mb && !mf)
            return "missing field: either `mem_backend` or `mem_file_path` is required";
        if (mb && mf)
            return "too many fields: either `mem_backend` or `mem_file_path` exclusively is required";
        if (mf || sim_json_get(body, "enable_diff_snapshots"))
            sim_http_response_add_header(resp, "Deprecation", "true");
    }
    if (g_str_has_prefix(r->path, "machine-config") && sim_json_get(body, "cpu_template"))
        sim_http_response_add_header(resp, "Deprecation", "true");
    if (g_str_equal(r->path, "vsock") && sim_json_get(body, "vsock_id"))
        sim_http_response_add_header(resp, "Deprecation", "true");
    return NULL;
}

void
fc_api_handle(const SimHttpRequest *req, SimHttpResponse *resp, gpointer user_data)
{
    FcSim *s = user_data;
    g_autofree char *path = g_strdup(req->path);
    g_auto(GStrv) tok = NULL;
    g_autofree char *key = NULL;
    g_autofree char *perr = NULL;
    g_autofree char *cerr = NULL;
    const char *seg0, *id = NULL, *msg;
    const FcRoute *r = NULL;
    json_object *body = NULL;
    guint ntok;

    if (req->body_len > s->max_payload) {
        g_autofree char *m = g_strdup_printf("Request payload with size %zu is larger than the "
                                             "limit of %zu allowed by server.", req->body_len,
                                             s->max_payload);
        return fc_api_fault(resp, m);
    }
    if (strchr(path, '?'))
        *strchr(path, '?') = '\0';
    tok = g_strsplit(path[0] == '/' ? path + 1 : path, "/", -1);
    ntok = g_strv_length(tok);
    seg0 = ntok > 0 ? tok[0] : "";
    if (g_str_equal(req->method, "GET") && req->body)
        return fc_api_fault(resp, "GET request cannot have a body.");
    key = ntok > 1 && !g_str_equal(seg0, "drives") && !g_str_equal(seg0, "network-interfaces")
              ? g_strdup_printf("%s/%s", seg0, tok[1]) : g_strdup(seg0);
    for (gsize i = 0; i < G_N_ELEMENTS(fc_routes); i++) {
        if (g_str_equal(fc_routes[i].method, req->method) && g_str_equal(fc_routes[i].path, key) &&
            (fc_routes[i].with_id || ntok <= (strchr(key, '/') ? 2u : 1u))) {
            r = &fc_routes[i];
            break;
        }
    }
    if (!r) {
        g_autofree char *m = g_strdup_printf("Invalid request method and/or path: %s %s.",
                                             req->method, seg0);
        return fc_api_fault(resp, m);
    }
    if (r->schema && !req->body)
        return fc_api_fault(resp, g_str_equal(req->method, "PATCH") ? "Empty PATCH request."
                                                                     : "Empty PUT request.");
    if (r->with_id) {
        id = ntok > 1 ? tok[1] : NULL;
        if ((msg = fc_sim_check_resource_id(id)))
            return fc_api_fault(resp, msg);
    }
    if (r->schema) {
        const SimField *f = *r->schema ? fc_res_schema(r->schema) : NULL;
        body = sim_json_parse(req->body, &perr);
        if (!body) {
            g_autofree char *m = g_strconcat(FC_MSG_DESERIALIZE, perr, NULL);
            return fc_api_fault(resp, m);
        }
        if (f && (cerr = sim_json_check(body, f, TRUE))) {
            g_autofree char *m = g_strconcat(FC_MSG_DESERIALIZE, cerr, NULL);
            json_object_put(body);
            return fc_api_fault(resp, m);
        }
        if ((msg = fc_api_extra_check(r, body, resp))) {
            g_autofree char *m = g_strconcat(FC_MSG_DESERIALIZE, msg, NULL);
            json_object_put(body);
            return fc_api_fault(resp, m);
        }
    }
    if (r->id_field && g_strcmp0(sim_json_get_str(body, r->id_field), id) != 0) {
        g_autofree char *m = g_str_equal(r->path, "network-interfaces")
            ? g_strdup_printf("The id from the path [%s] does not match the id from the body [%s]!",
                              id, sim_json_get_str(body, r->id_field))
            : g_strdup("The id from the path does not match the id from the body!");
        json_object_put(body);
        return fc_api_fault(resp, m);
    }
    if (r->phase == PHASE_PRE && s->state != FC_STATE_NOT_STARTED)
        fc_api_fault(resp, FC_MSG_POST_BOOT);
    else if (r->phase == PHASE_POST && s->state == FC_STATE_NOT_STARTED)
        fc_api_fault(resp, FC_MSG_PRE_BOOT);
    else {
        if (r->boot_path)
            s->boot_touched = TRUE;
        fc_api_dispatch(s, r, body, resp);
    }
    json_object_put(body);
}
