/* ch-sim: the REST API under /api/v1/ (RPC-style endpoints, error chains, state rules). */
#include "ch_sim.h"

#include <string.h>
#include <unistd.h>

#define CH_TOP "Error from API"

typedef void (*ChEndpointFn)(ChSim *s, json_object *body, SimHttpResponse *resp);

typedef struct {
    const char *name;
    const char *method;
    int body;               /* 0: must not have one, 1: required, 2: optional */
    const char *schema;     /* ch_config_check_schema() kind */
    ChEndpointFn fn;
} ChEndpoint;

void
ch_error_set(ChError *err, const char *first, ...)
{
    va_list ap;

    err->msgs = g_ptr_array_new_with_free_func(g_free);
    va_start(ap, first);
    for (const char *m = first; m; m = va_arg(ap, const char *))
        g_ptr_array_add(err->msgs, g_strdup(m));
    va_end(ap);
}

void
ch_error_clear(ChError *err)
{
    if (err->msgs)
        g_ptr_array_unref(err->msgs);
    err->msgs = NULL;
}

/* Answers with the chain [CH_TOP, @what, err...]; 404 only when the root cause is a missing
 * VM or config, 500 for everything else (v53). */
static void
ch_api_fail(SimHttpResponse *resp, const char *what, ChError *err)
{
    g_autoptr(GPtrArray) all = g_ptr_array_new();
    const char *root;

    g_ptr_array_add(all, (gpointer)CH_TOP);
    g_ptr_array_add(all, (gpointer)what);
    for (guint i = 0; err->msgs && i < err->msgs->len; i++)
        g_ptr_array_add(all, err->msgs->pdata[i]);
    root = all->pdata[all->len - 1];
    g_ptr_array_add(all, NULL);
    sim_http_response_set_body(resp, g_str_equal(root, CH_MSG_NOT_CREATED) ||
                                     g_str_equal(root, CH_MSG_CONFIG_MISSING) ? 404 : 500,
                               sim_json_string_array((const char *const *)all->pdata));
    ch_error_clear(err);
}

static void
ch_api_fail1(SimHttpResponse *resp, const char *what, const char *root)
{
    ChError err = { 0 };

    ch_error_set(&err, root, NULL);
    ch_api_fail(resp, what, &err);
}

static void
ch_api_ok(SimHttpResponse *resp)
{
    sim_http_response_set_body(resp, 204, NULL);
}

static gboolean
ch_api_live(ChSim *s)
{
    return s->state == CH_STATE_RUNNING || s->state == CH_STATE_PAUSED;
}

static const char *
ch_api_state_name(ChState st)
{
    return st == CH_STATE_RUNNING ? "Running" : st == CH_STATE_PAUSED ? "Paused" : "Created";
}

static void
ch_ep_ping(ChSim *s, json_object *body, SimHttpResponse *resp)
{
    json_object *o = json_object_new_object();
    json_object *f = json_object_new_array();

    json_object_array_add(f, json_object_new_string("kvm"));
    json_object_array_add(f, json_object_new_string("io_uring"));
    json_object_object_add(o, "build_version", json_object_new_string("v53.0-cocoon-sim"));
    json_object_object_add(o, "version", json_object_new_string(CH_SIM_VERSION));
    json_object_object_add(o, "pid", json_object_new_int64(getpid()));
    json_object_object_add(o, "features", f);
    sim_http_response_set_body(resp, 200, sim_json_dump(o));
    json_object_put(o);
}

static void
ch_api_quit_after(gpointer data)
{
    ch_sim_quit(data, 0);
}

static void
ch_ep_vmm_shutdown(ChSim *s, json_object *body, SimHttpResponse *resp)
{
    ch_vm_delete(s);
    ch_sim_event(s, "vmm", "shutdown");
    /* v53 answers 200 with an empty body (the spec says 204), then exits. */
    sim_http_response_set_body(resp, 200, NULL);
    resp->after = ch_api_quit_after;
    resp->after_data = s;
}

static void
ch_ep_info(ChSim *s, json_object *body, SimHttpResponse *resp)
{
    json_object *o;

    if (!s->config)
        return ch_api_fail1(resp, "The VM info is not available", CH_MSG_NOT_CREATED);
    o = json_object_new_object();
    json_object_object_add(o, "config", json_object_get(s->config));
    json_object_object_add(o, "state", json_object_new_string(ch_api_state_name(s->state)));
    /* as CH: the guest's memory less what the balloon holds; the balloon holds nothing
     * before boot (the sim's guest then gives it all it asks) */
    json_object_object_add(o, "memory_actual_size", json_object_new_int64(
        sim_json_get_int(sim_json_get(s->config, "memory"), "size", 0) -
        (ch_api_live(s) ? sim_json_get_int(sim_json_get(s->config, "balloon"), "size", 0) : 0)));
    sim_http_response_set_body(resp, 200, sim_json_dump(o));
    json_object_put(o);
}

static void
ch_ep_counters(ChSim *s, json_object *body, SimHttpResponse *resp)
{
    static const char *const lists[][2] = { { "disks", "block" }, { "net", "net" } };
    json_object *o;

    /* CH answers as soon as the VM is created; before, v53's own words */
    if (!s->config)
        return ch_api_fail1(resp, "The VM info is not available", CH_MSG_NOT_RUNNING);
    o = json_object_new_object();
    for (gsize l = 0; l < G_N_ELEMENTS(lists); l++) {
        json_object *arr = sim_json_get(s->config, lists[l][0]);
        for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
            json_object *c = json_object_new_object();
            const char *keys[] = { "read_bytes", "write_bytes", "read_ops", "write_ops" };
            const char *nkeys[] = { "rx_bytes", "rx_frames", "tx_bytes", "tx_frames" };
            for (int k = 0; k < 4; k++)
                json_object_object_add(c, l == 0 ? keys[k] : nkeys[k], json_object_new_int(0));
            /* v53's latency counters of a disk that saw no request: u64::MAX, and /10 */
            const char *lat[] = { "read_latency_min", "read_latency_max", "write_latency_min",
                                  "write_latency_max", "read_latency_avg", "write_latency_avg" };
            for (int k = 0; l == 0 && k < 6; k++)
                json_object_object_add(c, lat[k], json_object_new_uint64(
                    k < 4 ? G_MAXUINT64 : G_MAXUINT64 / 10));
            json_object_object_add(o, sim_json_get_str(json_object_array_get_idx(arr, i), "id"), c);
        }
    }
    sim_http_response_set_body(resp, 200, sim_json_dump(o));
    json_object_put(o);
}

static void
ch_ep_create(ChSim *s, json_object *body, SimHttpResponse *resp)
{
    ChError err = { 0 };

    if (s->config)
        return ch_api_fail1(resp, "The VM could not be created", CH_MSG_ALREADY_CREATED);
    /* No semantic validation here (that happens at vm.boot); consoles are prepared now. */
    s->config = ch_config_fill(body);
    if (ch_vm_prepare_consoles(s, &err) < 0) {
        g_clear_pointer(&s->config, json_object_put);
        return ch_api_fail(resp, "The VM could not be created", &err);
    }
    s->state = CH_STATE_CREATED;
    ch_sim_event(s, "vm", "created");
    ch_api_ok(resp);
}

static void
ch_ep_boot(ChSim *s, json_object *body, SimHttpResponse *resp)
{
    ChError err = { 0 };

    if (!s->config)
        return ch_api_fail1(resp, "The VM could not boot", CH_MSG_CONFIG_MISSING);
    if (ch_api_live(s))
        return ch_api_fail1(resp, "The VM could not boot", CH_MSG_ALREADY_CREATED);
    if (ch_vm_boot(s, &err) < 0)
        return ch_api_fail(resp, "The VM could not boot", &err);
    ch_api_ok(resp);
}

static void
ch_ep_pause(ChSim *s, json_object *body, SimHttpResponse *resp)
{
    if (!ch_api_live(s))
        return ch_api_fail1(resp, "The VM could not be paused", CH_MSG_NOT_RUNNING);
    if (s->state == CH_STATE_PAUSED)
        return ch_api_fail1(resp, "The VM could not be paused",
                            "Invalid transition: VM is already paused (Paused -> Paused)");
    s->state = CH_STATE_PAUSED;
    sim_guest_set_paused(s->guest, TRUE);
    ch_sim_event(s, "vm", "paused");
    ch_api_ok(resp);
}

static void
ch_ep_resume(ChSim *s, json_object *body, SimHttpResponse *resp)
{
    if (!ch_api_live(s))
        return ch_api_fail1(resp, "The VM could not resume", CH_MSG_NOT_RUNNING);
    if (s->state == CH_STATE_RUNNING)
        return ch_api_fail1(resp, "The VM could not resume",
                            "Invalid transition: VM is not paused (Running -> Running)");
    s->state = CH_STATE_RUNNING;
    sim_guest_set_paused(s->guest, FALSE);
    ch_sim_event(s, "vm", "resumed");
    ch_api_ok(resp);
}

static void
ch_ep_shutdown(ChSim *s, json_object *body, SimHttpResponse *resp)
{
    if (!ch_api_live(s))
        return ch_api_fail1(resp, "The VM could not shutdown", CH_MSG_NOT_RUNNING);
    ch_vm_shutdown(s);
    ch_api_ok(resp);
}

static void
ch_ep_reboot(ChSim *s, json_object *body, SimHttpResponse *resp)
{
    if (!ch_api_live(s))
        return ch_api_fail1(resp, "The VM could not reboot", CH_MSG_NOT_CREATED);
    ch_vm_reboot(s);
    ch_api_ok(resp);
}

static void
ch_ep_power_button(ChSim *s, json_object *body, SimHttpResponse *resp)
{
    if (!ch_api_live(s))
        return ch_api_fail1(resp, "Error triggering power button", CH_MSG_NOT_RUNNING);
    sim_guest_request(s->guest, SIM_GUEST_POWEROFF, TRUE);
    ch_api_ok(resp);
}

static void
ch_ep_nmi(ChSim *s, json_object *body, SimHttpResponse *resp)
{
    if (!ch_api_live(s))
        return ch_api_fail1(resp, "Error injecting NMI", CH_MSG_NOT_RUNNING);
    ch_api_ok(resp);
}

static void
ch_ep_delete(ChSim *s, json_object *body, SimHttpResponse *resp)
{
    if (s->config)
        ch_vm_delete(s);
    ch_api_ok(resp);
}

static void
ch_ep_snapshot(ChSim *s, json_object *body, SimHttpResponse *resp)
{
    ChError err = { 0 };

    if (!ch_api_live(s))
        return ch_api_fail1(resp, "The VM could not be snapshotted", CH_MSG_NOT_RUNNING);
    if (s->state == CH_STATE_RUNNING)
        return ch_api_fail1(resp, "The VM could not be snapshotted",
                            "Error snapshotting VM: Trying to snapshot while VM is running");
    if (ch_vm_snapshot(s, sim_json_get_str(body, "destination_url"), &err) < 0)
        return ch_api_fail(resp, "The VM could not be snapshotted", &err);
    ch_api_ok(resp);
}

static void
ch_ep_restore(ChSim *s, json_object *body, SimHttpResponse *resp)
{
    ChError err = { 0 };

    if (s->config)
        return ch_api_fail1(resp, "The VM could not be restored", CH_MSG_ALREADY_CREATED);
    if (ch_vm_restore(s, body, &err) < 0)
        return ch_api_fail(resp, "The VM could not be restored", &err);
    ch_api_ok(resp);
}

/* vm.add-*: cold add to the stored config (204) or hotplug into the live VM (200). */
static void
ch_api_add(ChSim *s, json_object *body, SimHttpResponse *resp, const char *list, const char *what)
{
    json_object *dev = NULL, *test = NULL, *arr;
    g_autofree char *verr = NULL;
    ChError err = { 0 };

    if (!s->config)
        return ch_api_fail1(resp, what, CH_MSG_NOT_CREATED);
    json_object_deep_copy(body, &dev, NULL);
    ch_config_fill_device(list, dev);
    json_object_deep_copy(s->config, &test, NULL);
    if (g_str_equal(list, "vsock")) {
        if (sim_json_get(test, "vsock")) {
            json_object_put(dev);
            json_object_put(test);
            return ch_api_fail1(resp, what, "Only one vsock device is supported");
        }
        json_object_object_add(test, "vsock", json_object_get(dev));
    } else {
        if (!(arr = sim_json_get(test, list))) {
            arr = json_object_new_array();
            json_object_object_add(test, list, arr);
        }
        json_object_array_add(arr, json_object_get(dev));
    }
    verr = ch_config_validate(test);
    if (verr) {
        json_object_put(dev);
        json_object_put(test);
        ch_error_set(&err, "Error validating VM configuration", verr, NULL);
        return ch_api_fail(resp, what, &err);
    }
    if (ch_api_live(s)) {
        json_object *o;
        g_autofree char *bdf = NULL;
        if ((g_str_equal(list, "disks") && ch_vm_open_disk(dev, &err) < 0) ||
            (g_str_equal(list, "net") && ch_vm_open_net(s, dev, &err) < 0)) {
            json_object_put(dev);
            json_object_put(test);
            return ch_api_fail(resp, what, &err);
        }
        ch_config_assign_ids(s, test);
        o = json_object_new_object();
        json_object_object_add(o, "id", json_object_new_string(sim_json_get_str(dev, "id")));
        bdf = g_strdup_printf("0000:00:%02x.0", s->pci_slot++);
        json_object_object_add(o, "bdf", json_object_new_string(bdf));
        sim_http_response_set_body(resp, 200, sim_json_dump(o));
        json_object_put(o);
    } else {
        ch_api_ok(resp);
    }
    json_object_put(dev);
    json_object_put(s->config);
    s->config = test;
}

static void ch_ep_add_disk(ChSim *s, json_object *b, SimHttpResponse *r) { ch_api_add(s, b, r, "disks", "The disk could not be added to the VM"); }
static void ch_ep_add_net(ChSim *s, json_object *b, SimHttpResponse *r) { ch_api_add(s, b, r, "net", "The network device could not be added to the VM"); }
static void ch_ep_add_fs(ChSim *s, json_object *b, SimHttpResponse *r) { ch_api_add(s, b, r, "fs", "The fs could not be added to the VM"); }
static void ch_ep_add_pmem(ChSim *s, json_object *b, SimHttpResponse *r) { ch_api_add(s, b, r, "pmem", "The pmem device could not be added to the VM"); }
static void ch_ep_add_vsock(ChSim *s, json_object *b, SimHttpResponse *r) { ch_api_add(s, b, r, "vsock", "The vsock device could not be added to the VM"); }
static void ch_ep_add_device(ChSim *s, json_object *b, SimHttpResponse *r) { ch_api_add(s, b, r, "devices", "The new device could not be added to the VM"); }

static void
ch_ep_remove_device(ChSim *s, json_object *body, SimHttpResponse *resp)
{
    static const char *const lists[] = { "disks", "net", "fs", "pmem", "devices" };
    const char *id = sim_json_get_str(body, "id");
    json_object *v;

    if (!ch_api_live(s))
        return ch_api_fail1(resp, "The device could not be removed from the VM", CH_MSG_NOT_RUNNING);
    for (gsize l = 0; l < G_N_ELEMENTS(lists); l++) {
        json_object *arr = sim_json_get(s->config, lists[l]);
        for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
            if (g_strcmp0(sim_json_get_str(json_object_array_get_idx(arr, i), "id"), id) == 0) {
                json_object_array_del_idx(arr, i, 1);
                return ch_api_ok(resp);
            }
        }
    }
    if ((v = sim_json_get(s->config, "vsock")) && g_strcmp0(sim_json_get_str(v, "id"), id) == 0) {
        json_object_object_del(s->config, "vsock");
        return ch_api_ok(resp);
    }
    {
        g_autofree char *m = g_strdup_printf("Unknown device identifier: %s", id);
        ch_api_fail1(resp, "The device could not be removed from the VM", m);
    }
}

static void
ch_ep_resize(ChSim *s, json_object *body, SimHttpResponse *resp)
{
    json_object *cpus, *mem;
    gint64 vcpus = sim_json_get_int(body, "desired_vcpus", -1);
    gint64 ram = sim_json_get_int(body, "desired_ram", -1);

    if (!s->config)
        return ch_api_fail1(resp, "The VM could not be resized", CH_MSG_NOT_CREATED);
    cpus = sim_json_get(s->config, "cpus");
    mem = sim_json_get(s->config, "memory");
    if (vcpus == -1 && ram == -1 && !sim_json_get(body, "desired_balloon"))
        return ch_api_fail1(resp, "The VM could not be resized", "Nothing to resize");
    if (vcpus != -1 && (vcpus < 1 || vcpus > sim_json_get_int(cpus, "max_vcpus", 1)))
        return ch_api_fail1(resp, "The VM could not be resized",
                            "Error resizing vCPUs: desired vCPUs exceed the maximum");
    if (ram != -1 && ch_api_live(s)) {
        gint64 size = sim_json_get_int(mem, "size", 0);
        gint64 hp = sim_json_get_int(mem, "hotplug_size", 0);
        if (ram > size + hp || ram < size)
            return ch_api_fail1(resp, "The VM could not be resized",
                                "Error resizing memory: not enough hotplug memory");
    }
    if (vcpus != -1)
        json_object_object_add(cpus, "boot_vcpus", json_object_new_int64(vcpus));
    if (ram != -1)
        json_object_object_add(mem, "size", json_object_new_int64(ram));
    json_object *balloon = sim_json_get(s->config, "balloon");
    if (balloon && sim_json_get(body, "desired_balloon"))
        json_object_object_add(balloon, "size", json_object_new_int64(
            sim_json_get_int(body, "desired_balloon", 0)));
    ch_api_ok(resp);
}

static void
ch_ep_unsupported(ChSim *s, json_object *body, SimHttpResponse *resp)
{
    ch_api_fail1(resp, "The operation could not be completed",
                 "not supported by the Cocoon simulator");
}

static const ChEndpoint ch_endpoints[] = {
    { "vmm.ping", "GET", 0, NULL, ch_ep_ping },
    { "vmm.shutdown", "PUT", 0, NULL, ch_ep_vmm_shutdown },
    { "vm.info", "GET", 0, NULL, ch_ep_info },
    { "vm.counters", "GET", 0, NULL, ch_ep_counters },
    { "vm.create", "PUT", 1, "vm", ch_ep_create },
    { "vm.boot", "PUT", 0, NULL, ch_ep_boot },
    { "vm.pause", "PUT", 0, NULL, ch_ep_pause },
    { "vm.resume", "PUT", 0, NULL, ch_ep_resume },
    { "vm.shutdown", "PUT", 0, NULL, ch_ep_shutdown },
    { "vm.reboot", "PUT", 0, NULL, ch_ep_reboot },
    { "vm.power-button", "PUT", 0, NULL, ch_ep_power_button },
    { "vm.nmi", "PUT", 0, NULL, ch_ep_nmi },
    { "vm.delete", "PUT", 0, NULL, ch_ep_delete },
    { "vm.snapshot", "PUT", 1, "snapshot", ch_ep_snapshot },
    { "vm.restore", "PUT", 1, "restore", ch_ep_restore },
    { "vm.add-disk", "PUT", 1, "disk", ch_ep_add_disk },
    { "vm.add-net", "PUT", 1, "net", ch_ep_add_net },
    { "vm.add-fs", "PUT", 1, "fs", ch_ep_add_fs },
    { "vm.add-pmem", "PUT", 1, "pmem", ch_ep_add_pmem },
    { "vm.add-vsock", "PUT", 1, "vsock", ch_ep_add_vsock },
    { "vm.add-device", "PUT", 1, "device", ch_ep_add_device },
    { "vm.remove-device", "PUT", 1, "remove", ch_ep_remove_device },
    { "vm.resize", "PUT", 1, "resize", ch_ep_resize },
    { "vm.resize-disk", "PUT", 1, NULL, ch_ep_unsupported },
    { "vm.resize-zone", "PUT", 1, NULL, ch_ep_unsupported },
    { "vm.add-user-device", "PUT", 1, NULL, ch_ep_unsupported },
    { "vm.add-vdpa", "PUT", 1, NULL, ch_ep_unsupported },
    { "vm.add-generic-vhost-user", "PUT", 1, NULL, ch_ep_unsupported },
    { "vm.coredump", "PUT", 1, NULL, ch_ep_unsupported },
    { "vm.send-migration", "PUT", 1, NULL, ch_ep_unsupported },
    { "vm.receive-migration", "PUT", 1, NULL, ch_ep_unsupported },
};

static void
ch_api_bad_request(SimHttpResponse *resp, const char *msg, const char *cause)
{
    const char *msgs[] = { msg, cause, NULL };

    sim_http_response_set_body(resp, 400, sim_json_string_array(msgs));
}

void
ch_api_handle(const SimHttpRequest *req, SimHttpResponse *resp, gpointer user_data)
{
    ChSim *s = user_data;
    g_autofree char *path = g_strdup(req->path);
    const ChEndpoint *ep = NULL;
    json_object *body = NULL;
    g_autofree char *perr = NULL;
    g_autofree char *cerr = NULL;

    if (strchr(path, '?'))
        *strchr(path, '?') = '\0';
    if (g_str_has_prefix(path, "/api/v1/")) {
        for (gsize i = 0; i < G_N_ELEMENTS(ch_endpoints); i++)
            if (g_str_equal(ch_endpoints[i].name, path + 8))
                ep = &ch_endpoints[i];
    }
    if (!ep) {
        sim_http_response_set_body(resp, 404, NULL);
        return;
    }
    if (!g_str_equal(req->method, ep->method))
        return ch_api_bad_request(resp, "Bad Request", NULL);
    if (ep->body == 0 && req->body)
        return ch_api_bad_request(resp, "Bad Request", NULL);
    if (ep->body == 1 && !req->body)
        return ch_api_bad_request(resp, "Bad Request", NULL);
    if (req->body) {
        body = sim_json_parse(req->body, &perr);
        if (!body)
            return ch_api_bad_request(resp, "Cannot deserialize JSON payload", perr);
        if (ep->schema) {
            cerr = g_str_equal(ep->schema, "vm") ? ch_config_check_types(body)
                                                 : ch_config_check_schema(ep->schema, body);
            if (cerr) {
                json_object_put(body);
                return ch_api_bad_request(resp, "Cannot deserialize JSON payload", cerr);
            }
        }
    }
    ch_sim_log(s, "INFO", "API request %s %s", req->method, req->path);
    ep->fn(s, body, resp);
    json_object_put(body);
}
