#include "fc_lower.h"

#include <string.h>

#include "driver/backend_common.h"
#include "fc_paths.h"
#include "fc_validate.h"

/*
 * DomainDef → the ordered Firecracker REST calls that configure and boot it. Pure: everything
 * host-dependent comes from BackendLowerCtx. Every body carries only fields of FC's v1.16 schema,
 * because FC rejects unknown fields (tests/xml2argv/check_schemas.py holds us to that).
 *
 * Not mapped here on purpose (host-side, done by the driver): interface <ip>/<route> on
 * type='ethernet' (addresses of the host end of the TAP, set when the driver creates it; the
 * guest's end, <ip peer>, and a bridge's <ip> are the guest's ip= in boot_args),
 * <source bridge> (the driver attaches the TAP), a pty <serial> (the driver hands FC a pty as
 * stdin/stdout), lifecycle actions (the driver reacts to the process exit).
 */

#define FC_DEFAULT_VSOCK_CID 3
#define FC_DEFAULT_RATE_PERIOD_MS 1000

static void
fc_plan_add(GArray *calls, const char *method, char *path, json_object *body)
{
    FcCall call = {.method = g_strdup(method), .path = path, .body = body};
    g_array_append_val(calls, call);
}

static json_object *
fc_json_object(void)
{
    json_object *obj = json_object_new_object();
    g_assert(obj); /* json-c returns NULL only when out of memory; GLib aborts then too */
    return obj;
}

static void
fc_json_set_string(json_object *obj, const char *key, const char *value)
{
    json_object_object_add(obj, key, json_object_new_string(value));
}

static void
fc_json_set_int(json_object *obj, const char *key, long long value)
{
    json_object_object_add(obj, key, json_object_new_int64(value));
}

static void
fc_json_set_bool(json_object *obj, const char *key, bool value)
{
    json_object_object_add(obj, key, json_object_new_boolean(value));
}

/* The serial port of the domain: <serial>, else a <console> (which is then ttyS0 too). */
static const DomainChrDef *
fc_lower_serial(const DomainDef *def)
{
    if (def->nserials > 0)
        return def->serials[0];
    if (def->nconsoles > 0)
        return def->consoles[0];
    return NULL;
}

/*
 * The kernel command line split into words the way the kernel does (double quotes group), up to
 * a "--" word, after which everything belongs to init. Returns the offset of that "--" (or the
 * length), and fills keys with the parameter names seen before it.
 */
static size_t
fc_cmdline_scan(const char *cmdline, GPtrArray *keys)
{
    const char *p = cmdline;
    while (*p) {
        while (g_ascii_isspace(*p))
            p++;
        if (!*p)
            break;
        const char *start = p;
        bool quoted = false;
        while (*p && (quoted || !g_ascii_isspace(*p))) {
            if (*p == '"')
                quoted = !quoted;
            p++;
        }
        size_t len = p - start;
        if (len == 2 && strncmp(start, "--", 2) == 0)
            return start - cmdline;
        const char *eq = memchr(start, '=', len);
        g_autofree char *key = g_strndup(start, eq ? (size_t)(eq - start) : len);
        g_strdelimit(key, "\"", ' ');
        g_ptr_array_add(keys, g_strdup(g_strstrip(key)));
    }
    return p - cmdline;
}

static bool
fc_keys_have(GPtrArray *keys, const char *key)
{
    for (size_t i = 0; i < keys->len; i++) {
        if (strcmp(g_ptr_array_index(keys, i), key) == 0)
            return true;
    }
    return false;
}

/* The user's cmdline plus what an FC guest needs, each added only when the user has not set that
 * parameter already. Also reports whether the user chose the root device. */
static char *
fc_lower_boot_args(const DomainDef *def, bool *ret_user_root)
{
    const char *cmdline = def->os.cmdline ? def->os.cmdline : "";
    g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func(g_free);
    size_t split = fc_cmdline_scan(cmdline, keys);

    struct {
        const char *key;
        const char *param;
    } const needed[] = {
        {"console", "console=ttyS0"},         /* with a serial: FC's one UART is the console */
        {"8250.nr_uarts", "8250.nr_uarts=0"}, /* without one: no UART probing at all */
        {"reboot", "reboot=k"}, /* reboot resets via the i8042, FC exits: the driver relies on it */
        {"panic", "panic=1"},   /* a panic reboots, hence ends the process too */
        /* no pci=off: FC appends it itself when it runs without --enable-pci */
    };
    bool has_serial = fc_lower_serial(def) != NULL;

    g_autofree char *head = g_strndup(cmdline, split);
    GString *out = g_string_new(g_strstrip(head));
    for (size_t i = 0; i < G_N_ELEMENTS(needed); i++) {
        if (strcmp(needed[i].key, "console") == 0 && !has_serial)
            continue;
        if (strcmp(needed[i].key, "8250.nr_uarts") == 0 && has_serial)
            continue;
        if (fc_keys_have(keys, needed[i].key))
            continue;
        if (out->len > 0)
            g_string_append_c(out, ' ');
        g_string_append(out, needed[i].param);
    }
    g_autofree char *ip = backend_common_kernel_ip(def);
    if (ip) {
        if (out->len > 0)
            g_string_append_c(out, ' ');
        g_string_append(out, ip);
    }
    if (cmdline[split]) {
        g_autofree char *tail = g_strdup(cmdline + split);
        g_string_append_c(out, ' ');
        g_string_append(out, g_strstrip(tail));
    }
    *ret_user_root = fc_keys_have(keys, "root");
    return g_string_free(out, FALSE);
}

char *
fc_drive_id(const DomainDef *def, size_t i)
{
    if (i >= def->ndisks)
        return NULL;
    const char *dev = def->disks[i]->target_dev;
    if (!dev || !*dev)
        return g_strdup_printf("drive%zu", i);
    /* FC accepts only alphanumerics and '_' in resource ids. */
    char *id = g_strdup(dev);
    for (char *p = id; *p; p++) {
        if (!g_ascii_isalnum(*p))
            *p = '_';
    }
    return id;
}

static void
fc_lower_machine(const DomainDef *def, GArray *calls)
{
    json_object *body = fc_json_object();
    fc_json_set_int(body, "vcpu_count", def->vcpus);
    fc_json_set_int(body, "mem_size_mib", (long long)(def->memory_kib / 1024));
    /* No SMT: with it FC would demand an even vCPU count, and libvirt's <vcpu> has no such rule. */
    fc_json_set_bool(body, "smt", false);
    if (def->hugepages)
        fc_json_set_string(body, "huge_pages", "2M");
    fc_plan_add(calls, "PUT", g_strdup("/machine-config"), body);
}

static void
fc_lower_boot_source(const DomainDef *def, const BackendLowerCtx *ctx, const char *boot_args,
                     GArray *calls)
{
    json_object *body = fc_json_object();
    fc_json_set_string(body, "kernel_image_path",
                       ctx->kernel_path ? ctx->kernel_path : def->os.kernel);
    if (def->os.initrd)
        fc_json_set_string(body, "initrd_path", def->os.initrd);
    fc_json_set_string(body, "boot_args", boot_args);
    fc_plan_add(calls, "PUT", g_strdup("/boot-source"), body);
}

static void
fc_lower_drives(const DomainDef *def, const BackendLowerCtx *ctx, const size_t *order,
                bool user_root, GArray *calls)
{
    for (size_t k = 0; k < def->ndisks; k++) {
        size_t i = order[k];
        const DomainDiskDef *disk = def->disks[i];
        const char *path = backend_common_disk_path(def, ctx, i);
        g_autofree char *id = fc_drive_id(def, i);
        json_object *body = fc_json_object();
        fc_json_set_string(body, "drive_id", id);
        fc_json_set_string(body, "path_on_host", path);
        /* FC appends root=/dev/vda itself for the root device; a user root= wins. */
        fc_json_set_bool(body, "is_root_device", k == 0 && !user_root);
        fc_json_set_bool(body, "is_read_only", disk->readonly);
        if (disk->cache && strcmp(disk->cache, "default") != 0)
            fc_json_set_string(body, "cache_type",
                               strcmp(disk->cache, "unsafe") == 0 ? "Unsafe" : "Writeback");
        if (disk->io)
            fc_json_set_string(body, "io_engine",
                               strcmp(disk->io, "io_uring") == 0 ? "Async" : "Sync");
        fc_plan_add(calls, "PUT", g_strdup_printf("/drives/%s", id), body);
    }
}

static void
fc_lower_nets(const DomainDef *def, const BackendLowerCtx *ctx, GArray *calls)
{
    for (size_t i = 0; i < def->nnets; i++) {
        const DomainNetDef *net = def->nets[i];
        g_autofree char *id = g_strdup_printf("net%zu", i);
        g_autofree char *tap = backend_common_tap_name(def, ctx, i);
        json_object *body = fc_json_object();
        fc_json_set_string(body, "iface_id", id);
        fc_json_set_string(body, "host_dev_name", tap);
        if (net->mac && *net->mac)
            fc_json_set_string(body, "guest_mac", net->mac);
        if (net->mtu)
            fc_json_set_int(body, "mtu", net->mtu);
        fc_plan_add(calls, "PUT", g_strdup_printf("/network-interfaces/%s", id), body);
    }
}

static void
fc_lower_balloon(const DomainDef *def, GArray *calls)
{
    const DomainMemballoonDef *balloon = def->memballoon;
    if (!balloon || balloon->none)
        return;
    json_object *body = fc_json_object();
    /* <currentMemory> is what the guest may use: the balloon holds the rest. */
    fc_json_set_int(body, "amount_mib",
                    (long long)((def->memory_kib - def->current_memory_kib) / 1024));
    fc_json_set_bool(body, "deflate_on_oom", balloon->autodeflate);
    fc_json_set_int(body, "stats_polling_interval_s", balloon->stats_period);
    fc_json_set_bool(body, "free_page_reporting", balloon->free_page_reporting);
    fc_plan_add(calls, "PUT", g_strdup("/balloon"), body);
}

static void
fc_lower_entropy(const DomainDef *def, GArray *calls)
{
    for (size_t i = 0; i < def->nrngs; i++) {
        const DomainRNGDef *rng = def->rngs[i];
        json_object *body = fc_json_object();
        if (rng->rate_bytes) {
            /* <rate bytes='B' period='P'/>: B bytes per P ms = a bucket of B refilled in P ms. */
            json_object *limiter = fc_json_object();
            json_object *bucket = fc_json_object();
            fc_json_set_int(bucket, "size", rng->rate_bytes);
            fc_json_set_int(bucket, "refill_time",
                            rng->rate_period_ms ? rng->rate_period_ms : FC_DEFAULT_RATE_PERIOD_MS);
            json_object_object_add(limiter, "bandwidth", bucket);
            json_object_object_add(body, "rate_limiter", limiter);
        }
        fc_plan_add(calls, "PUT", g_strdup("/entropy"), body);
    }
}

static void
fc_lower_vsock(const DomainDef *def, const BackendLowerCtx *ctx, GArray *calls)
{
    if (!def->vsock)
        return;
    unsigned int cid =
        def->vsock->cid_auto || def->vsock->cid == 0 ? FC_DEFAULT_VSOCK_CID : def->vsock->cid;
    g_autofree char *uds = fc_vsock_socket_path(ctx->run_dir);
    json_object *body = fc_json_object();
    fc_json_set_int(body, "guest_cid", cid);
    fc_json_set_string(body, "uds_path", uds);
    fc_plan_add(calls, "PUT", g_strdup("/vsock"), body);
}

static void
fc_lower_serial_out(const DomainDef *def, GArray *calls)
{
    const DomainChrDef *serial = fc_lower_serial(def);
    if (!serial || serial->type != DOMAIN_CHR_TYPE_FILE)
        return;
    json_object *body = fc_json_object();
    fc_json_set_string(body, "serial_out_path", serial->path);
    fc_plan_add(calls, "PUT", g_strdup("/serial"), body);
}

FcCallPlan *
fc_lower(const DomainDef *def, const BackendLowerCtx *ctx, CvError **err)
{
    g_autofree size_t *order = NULL;

    /* Lowering relies on every promise of validation (disk order, one serial, …). */
    if (fc_validate(def, err) < 0 || fc_validate_disk_order(def, &order, err) < 0)
        return NULL;
    if (!ctx || !ctx->run_dir) {
        cv_error_set(err, VIR_FROM_DOMAIN, VIR_ERR_INTERNAL_ERROR,
                     "no live directory given for domain '%s'", def->name ? def->name : "");
        return NULL;
    }

    bool user_root = false;
    g_autofree char *boot_args = fc_lower_boot_args(def, &user_root);
    GArray *calls = g_array_new(FALSE, TRUE, sizeof(FcCall));

    fc_lower_machine(def, calls);
    fc_lower_boot_source(def, ctx, boot_args, calls);
    fc_lower_drives(def, ctx, order, user_root, calls);
    fc_lower_nets(def, ctx, calls);
    fc_lower_balloon(def, calls);
    fc_lower_entropy(def, calls);
    fc_lower_vsock(def, ctx, calls);
    fc_lower_serial_out(def, calls);

    json_object *start = fc_json_object();
    fc_json_set_string(start, "action_type", "InstanceStart");
    fc_plan_add(calls, "PUT", g_strdup("/actions"), start);

    FcCallPlan *plan = g_new0(FcCallPlan, 1);
    plan->ncalls = calls->len;
    plan->calls = (FcCall *)g_array_free(calls, FALSE);
    return plan;
}
