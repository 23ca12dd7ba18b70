/* fc-sim: pre-boot resources (boot source, machine config, devices, logger, metrics). */
#include "fc_sim.h"

#include "sim_log.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static const char *const fc_cache_types[] = { "Unsafe", "Writeback", NULL };
static const char *const fc_io_engines[] = { "Sync", "Async", NULL };
static const char *const fc_huge_pages[] = { "None", "2M", NULL };
static const char *const fc_templates[] = { "C3", "T2", "T2S", "T2CL", "T2A", "V1N1", "None", NULL };
static const char *const fc_actions[] = { "FlushMetrics", "InstanceStart", "SendCtrlAltDel", NULL };
static const char *const fc_vm_states[] = { "Paused", "Resumed", NULL };
static const char *const fc_snap_types[] = { "Full", "Diff", NULL };
static const char *const fc_backends[] = { "File", "Uffd", NULL };
static const char *const fc_mmds_versions[] = { "V1", "V2", NULL };

static const SimField fc_bucket[] = {
    { "size", SIM_F_U64, TRUE, NULL, NULL },
    { "one_time_burst", SIM_F_U64, FALSE, NULL, NULL },
    { "refill_time", SIM_F_U64, TRUE, NULL, NULL },
    { NULL, 0, 0, NULL, NULL },
};
static const SimField fc_limiter[] = {
    { "bandwidth", SIM_F_OBJ, FALSE, fc_bucket, NULL },
    { "ops", SIM_F_OBJ, FALSE, fc_bucket, NULL },
    { NULL, 0, 0, NULL, NULL },
};
static const SimField fc_boot_source[] = {
    { "kernel_image_path", SIM_F_STR, TRUE, NULL, NULL },
    { "boot_args", SIM_F_STR, FALSE, NULL, NULL },
    { "initrd_path", SIM_F_STR, FALSE, NULL, NULL },
    { NULL, 0, 0, NULL, NULL },
};
#define FC_MACHINE_FIELDS(req)                                                   \
    { "vcpu_count", SIM_F_U8, req, NULL, NULL },                                 \
    { "mem_size_mib", SIM_F_U64, req, NULL, NULL },                              \
    { "smt", SIM_F_BOOL, FALSE, NULL, NULL },                                    \
    { "track_dirty_pages", SIM_F_BOOL, FALSE, NULL, NULL },                      \
    { "huge_pages", SIM_F_ENUM, FALSE, NULL, fc_huge_pages },                    \
    { "cpu_template", SIM_F_ENUM, FALSE, NULL, fc_templates },                   \
    { NULL, 0, 0, NULL, NULL }
static const SimField fc_machine_put[] = { FC_MACHINE_FIELDS(TRUE) };
static const SimField fc_machine_patch[] = { FC_MACHINE_FIELDS(FALSE) };
static const SimField fc_drive[] = {
    { "drive_id", SIM_F_STR, TRUE, NULL, NULL },
    { "partuuid", SIM_F_STR, FALSE, NULL, NULL },
    { "is_root_device", SIM_F_BOOL, TRUE, NULL, NULL },
    { "cache_type", SIM_F_ENUM, FALSE, NULL, fc_cache_types },
    { "is_read_only", SIM_F_BOOL, FALSE, NULL, NULL },
    { "path_on_host", SIM_F_STR, FALSE, NULL, NULL },
    { "rate_limiter", SIM_F_OBJ, FALSE, fc_limiter, NULL },
    { "io_engine", SIM_F_ENUM, FALSE, NULL, fc_io_engines },
    { "socket", SIM_F_STR, FALSE, NULL, NULL },
    { NULL, 0, 0, NULL, NULL },
};
static const SimField fc_drive_patch[] = {
    { "drive_id", SIM_F_STR, TRUE, NULL, NULL },
    { "path_on_host", SIM_F_STR, FALSE, NULL, NULL },
    { "rate_limiter", SIM_F_OBJ, FALSE, fc_limiter, NULL },
    { NULL, 0, 0, NULL, NULL },
};
static const SimField fc_net[] = {
    { "iface_id", SIM_F_STR, TRUE, NULL, NULL },
    { "host_dev_name", SIM_F_STR, TRUE, NULL, NULL },
    { "guest_mac", SIM_F_STR, FALSE, NULL, NULL },
    { "mtu", SIM_F_U16, FALSE, NULL, NULL },
    { "rx_rate_limiter", SIM_F_OBJ, FALSE, fc_limiter, NULL },
    { "tx_rate_limiter", SIM_F_OBJ, FALSE, fc_limiter, NULL },
    { NULL, 0, 0, NULL, NULL },
};
static const SimField fc_net_patch[] = {
    { "iface_id", SIM_F_STR, TRUE, NULL, NULL },
    { "rx_rate_limiter", SIM_F_OBJ, FALSE, fc_limiter, NULL },
    { "tx_rate_limiter", SIM_F_OBJ, FALSE, fc_limiter, NULL },
    { NULL, 0, 0, NULL, NULL },
};
static const SimField fc_balloon[] = {
    { "amount_mib", SIM_F_U32, TRUE, NULL, NULL },
    { "deflate_on_oom", SIM_F_BOOL, TRUE, NULL, NULL },
    { "stats_polling_interval_s", SIM_F_U16, FALSE, NULL, NULL },
    { "free_page_hinting", SIM_F_BOOL, FALSE, NULL, NULL },
    { "free_page_reporting", SIM_F_BOOL, FALSE, NULL, NULL },
    { NULL, 0, 0, NULL, NULL },
};
static const SimField fc_balloon_patch[] = {
    { "amount_mib", SIM_F_U32, TRUE, NULL, NULL },
    { NULL, 0, 0, NULL, NULL },
};
static const SimField fc_balloon_stats_patch[] = {
    { "stats_polling_interval_s", SIM_F_U16, TRUE, NULL, NULL },
    { NULL, 0, 0, NULL, NULL },
};
static const SimField fc_vsock[] = {
    { "guest_cid", SIM_F_U32, TRUE, NULL, NULL },
    { "uds_path", SIM_F_STR, TRUE, NULL, NULL },
    { "vsock_id", SIM_F_STR, FALSE, NULL, NULL },
    { NULL, 0, 0, NULL, NULL },
};
static const SimField fc_entropy[] = {
    { "rate_limiter", SIM_F_OBJ, FALSE, fc_limiter, NULL },
    { NULL, 0, 0, NULL, NULL },
};
static const SimField fc_serial[] = {
    { "serial_out_path", SIM_F_STR, FALSE, NULL, NULL },
    { "rate_limiter", SIM_F_OBJ, FALSE, fc_bucket, NULL },
    { NULL, 0, 0, NULL, NULL },
};
static const SimField fc_logger[] = {
    { "log_path", SIM_F_STR, FALSE, NULL, NULL },
    { "level", SIM_F_STR, FALSE, NULL, NULL },
    { "show_level", SIM_F_BOOL, FALSE, NULL, NULL },
    { "show_log_origin", SIM_F_BOOL, FALSE, NULL, NULL },
    { "module", SIM_F_STR, FALSE, NULL, NULL },
    { NULL, 0, 0, NULL, NULL },
};
static const SimField fc_metrics[] = {
    { "metrics_path", SIM_F_STR, TRUE, NULL, NULL },
    { NULL, 0, 0, NULL, NULL },
};
static const SimField fc_mmds_config[] = {
    { "network_interfaces", SIM_F_ARR_STR, TRUE, NULL, NULL },
    { "version", SIM_F_ENUM, FALSE, NULL, fc_mmds_versions },
    { "ipv4_address", SIM_F_STR, FALSE, NULL, NULL },
    { "imds_compat", SIM_F_BOOL, FALSE, NULL, NULL },
    { NULL, 0, 0, NULL, NULL },
};
static const SimField fc_cpu_config[] = {
    { "kvm_capabilities", SIM_F_ANY, FALSE, NULL, NULL },
    { "cpuid_modifiers", SIM_F_ANY, FALSE, NULL, NULL },
    { "msr_modifiers", SIM_F_ANY, FALSE, NULL, NULL },
    { "reg_modifiers", SIM_F_ANY, FALSE, NULL, NULL },
    { "vcpu_features", SIM_F_ANY, FALSE, NULL, NULL },
    { NULL, 0, 0, NULL, NULL },
};
static const SimField fc_action[] = {
    { "action_type", SIM_F_ENUM, TRUE, NULL, fc_actions },
    { NULL, 0, 0, NULL, NULL },
};
static const SimField fc_vm[] = {
    { "state", SIM_F_ENUM, TRUE, NULL, fc_vm_states },
    { NULL, 0, 0, NULL, NULL },
};
static const SimField fc_snap_create[] = {
    { "snapshot_path", SIM_F_STR, TRUE, NULL, NULL },
    { "mem_file_path", SIM_F_STR, TRUE, NULL, NULL },
    { "snapshot_type", SIM_F_ENUM, FALSE, NULL, fc_snap_types },
    { NULL, 0, 0, NULL, NULL },
};
static const SimField fc_mem_backend[] = {
    { "backend_type", SIM_F_ENUM, TRUE, NULL, fc_backends },
    { "backend_path", SIM_F_STR, TRUE, NULL, NULL },
    { NULL, 0, 0, NULL, NULL },
};
static const SimField fc_net_override[] = {
    { "iface_id", SIM_F_STR, TRUE, NULL, NULL },
    { "host_dev_name", SIM_F_STR, TRUE, NULL, NULL },
    { NULL, 0, 0, NULL, NULL },
};
static const SimField fc_vsock_override[] = {
    { "uds_path", SIM_F_STR, TRUE, NULL, NULL },
    { NULL, 0, 0, NULL, NULL },
};
static const SimField fc_snap_load[] = {
    { "snapshot_path", SIM_F_STR, TRUE, NULL, NULL },
    { "mem_file_path", SIM_F_STR, FALSE, NULL, NULL },
    { "mem_backend", SIM_F_OBJ, FALSE, fc_mem_backend, NULL },
    { "enable_diff_snapshots", SIM_F_BOOL, FALSE, NULL, NULL },
    { "track_dirty_pages", SIM_F_BOOL, FALSE, NULL, NULL },
    { "resume_vm", SIM_F_BOOL, FALSE, NULL, NULL },
    { "network_overrides", SIM_F_ARR_OBJ, FALSE, fc_net_override, NULL },
    { "vsock_override", SIM_F_OBJ, FALSE, fc_vsock_override, NULL },
    { "clock_realtime", SIM_F_BOOL, FALSE, NULL, NULL },
    { NULL, 0, 0, NULL, NULL },
};

const SimField *
fc_res_schema(const char *kind)
{
    static const struct { const char *kind; const SimField *f; } t[] = {
        { "boot-source", fc_boot_source }, { "machine-config", fc_machine_put },
        { "machine-config-patch", fc_machine_patch }, { "drive", fc_drive },
        { "drive-patch", fc_drive_patch }, { "net", fc_net }, { "net-patch", fc_net_patch },
        { "balloon", fc_balloon }, { "balloon-patch", fc_balloon_patch },
        { "balloon-stats-patch", fc_balloon_stats_patch }, { "vsock", fc_vsock },
        { "entropy", fc_entropy }, { "serial", fc_serial }, { "logger", fc_logger },
        { "metrics", fc_metrics }, { "mmds-config", fc_mmds_config },
        { "cpu-config", fc_cpu_config }, { "action", fc_action }, { "vm", fc_vm },
        { "snapshot-create", fc_snap_create }, { "snapshot-load", fc_snap_load },
    };

    for (gsize i = 0; i < G_N_ELEMENTS(t); i++)
        if (g_str_equal(t[i].kind, kind))
            return t[i].f;
    return NULL;
}

static int
fc_res_fail(char **ret_msg, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static int
fc_res_fail(char **ret_msg, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    *ret_msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    return -1;
}

const char *
fc_sim_check_resource_id(const char *id)
{
    if (!id || !*id)
        return "The ID cannot be empty.";
    for (const char *p = id; *p; p++)
        if (!g_ascii_isalnum(*p) && *p != '_')
            return "API Resource IDs can only contain alphanumeric characters and underscores.";
    return NULL;
}

static int
fc_res_open_check(const char *path, int flags, const char *what, char **ret_msg)
{
    int fd = open(path, flags | O_CLOEXEC);

    if (fd < 0) {
        int e = errno;
        return fc_res_fail(ret_msg, "%s: %s (os error %d)", what, g_strerror(e), e);
    }
    close(fd);
    return 0;
}

int
fc_res_boot_source(FcSim *s, json_object *body, char **ret_msg)
{
    const char *kernel = sim_json_get_str(body, "kernel_image_path");
    const char *initrd = sim_json_get_str(body, "initrd_path");
    const char *args = sim_json_get_str(body, "boot_args");
    json_object *bs;

    if (fc_res_open_check(kernel, O_RDONLY, "Boot source error: The kernel file cannot be opened",
                          ret_msg) < 0)
        return -1;
    if (initrd && fc_res_open_check(initrd, O_RDONLY,
                                    "Boot source error: The initrd file cannot be opened",
                                    ret_msg) < 0)
        return -1;
    bs = json_object_new_object();
    json_object_object_add(bs, "kernel_image_path", json_object_new_string(kernel));
    json_object_object_add(bs, "initrd_path", initrd ? json_object_new_string(initrd) : NULL);
    json_object_object_add(bs, "boot_args", args ? json_object_new_string(args) : NULL);
    json_object_put(s->boot_source);
    s->boot_source = bs;
    return 0;
}

static int
fc_res_machine_apply(FcSim *s, gint64 vcpus, gint64 mem, gboolean smt, const char *huge,
                     char **ret_msg)
{
    if (vcpus < 1 || vcpus > 32 || (smt && vcpus > 1 && vcpus % 2 != 0))
        return fc_res_fail(ret_msg, "Machine config error: The number of vCPUs must be greater "
                           "than 0, less than 32 and must be 1 or an even number if SMT is enabled.");
    if (mem <= 0 || (g_strcmp0(huge, "2M") == 0 && mem % 2 != 0))
        return fc_res_fail(ret_msg, "Machine config error: The memory size (MiB) is either 0, or "
                           "not a multiple of the configured page size.");
    if (s->balloon && sim_json_get_int(s->balloon, "amount_mib", 0) > mem)
        return fc_res_fail(ret_msg, "Machine config error: The memory size (MiB) is smaller than "
                           "the previously set balloon device target size.");
    return 0;
}

int
fc_res_machine_config_put(FcSim *s, json_object *body, char **ret_msg)
{
    gint64 vcpus = sim_json_get_int(body, "vcpu_count", 0);
    gint64 mem = sim_json_get_int(body, "mem_size_mib", 0);
    gboolean smt = sim_json_get_bool(body, "smt", FALSE);
    const char *huge = sim_json_get_str(body, "huge_pages");

    if (fc_res_machine_apply(s, vcpus, mem, smt, huge, ret_msg) < 0)
        return -1;
    /* PUT replaces the whole config: omitted optional fields go back to their defaults. */
    s->vcpus = vcpus;
    s->mem_mib = mem;
    s->smt = smt;
    s->track_dirty = sim_json_get_bool(body, "track_dirty_pages", FALSE);
    g_free(s->huge_pages);
    s->huge_pages = g_strdup(huge ? huge : "None");
    g_free(s->cpu_template);
    s->cpu_template = g_strdup(sim_json_get_str(body, "cpu_template"));
    return 0;
}

int
fc_res_machine_config_patch(FcSim *s, json_object *body, char **ret_msg)
{
    gint64 vcpus = sim_json_get_int(body, "vcpu_count", s->vcpus);
    gint64 mem = sim_json_get_int(body, "mem_size_mib", s->mem_mib);
    gboolean smt = sim_json_get_bool(body, "smt", s->smt);
    const char *huge = sim_json_get_str(body, "huge_pages");

    if (json_object_object_length(body) == 0)
        return fc_res_fail(ret_msg, "Empty PATCH request.");
    if (!huge)
        huge = s->huge_pages;
    if (fc_res_machine_apply(s, vcpus, mem, smt, huge, ret_msg) < 0)
        return -1;
    s->vcpus = vcpus;
    s->mem_mib = mem;
    s->smt = smt;
    s->track_dirty = sim_json_get_bool(body, "track_dirty_pages", s->track_dirty);
    if (huge != s->huge_pages) {
        g_free(s->huge_pages);
        s->huge_pages = g_strdup(huge);
    }
    if (sim_json_get_str(body, "cpu_template")) {
        g_free(s->cpu_template);
        s->cpu_template = g_strdup(sim_json_get_str(body, "cpu_template"));
    }
    return 0;
}

json_object *
fc_res_machine_config(FcSim *s)
{
    json_object *o = json_object_new_object();

    json_object_object_add(o, "vcpu_count", json_object_new_int64(s->vcpus));
    json_object_object_add(o, "mem_size_mib", json_object_new_int64(s->mem_mib));
    if (!s->restored)
        json_object_object_add(o, "smt", json_object_new_boolean(s->smt));
    json_object_object_add(o, "track_dirty_pages", json_object_new_boolean(s->track_dirty));
    json_object_object_add(o, "huge_pages", json_object_new_string(s->huge_pages));
    if (s->cpu_template && !s->restored)
        json_object_object_add(o, "cpu_template", json_object_new_string(s->cpu_template));
    return o;
}

static int
fc_res_array_find(json_object *arr, const char *key, const char *id)
{
    for (size_t i = 0; i < json_object_array_length(arr); i++)
        if (g_strcmp0(sim_json_get_str(json_object_array_get_idx(arr, i), key), id) == 0)
            return (int)i;
    return -1;
}

static json_object *
fc_res_copy(json_object *o)
{
    json_object *c = NULL;

    json_object_deep_copy(o, &c, NULL);
    return c;
}

int
fc_res_drive_put(FcSim *s, json_object *body, char **ret_msg)
{
    const char *id = sim_json_get_str(body, "drive_id");
    const char *path = sim_json_get_str(body, "path_on_host");
    const char *sock = sim_json_get_str(body, "socket");
    gboolean root = sim_json_get_bool(body, "is_root_device", FALSE);
    gboolean ro = sim_json_get_bool(body, "is_read_only", FALSE);
    int idx = fc_res_array_find(s->drives, "drive_id", id);
    json_object *d;

    if (!path == !sock)
        return fc_res_fail(ret_msg, "Drive config error: Unable to create the block device: "
                           "exactly one of 'path_on_host' or 'socket' must be given");
    if (root) {
        for (size_t i = 0; i < json_object_array_length(s->drives); i++) {
            json_object *o = json_object_array_get_idx(s->drives, i);
            if ((int)i != idx && sim_json_get_bool(o, "is_root_device", FALSE))
                return fc_res_fail(ret_msg, "A root block device already exists!");
        }
    }
    if (path && fc_res_open_check(path, ro ? O_RDONLY : O_RDWR,
                                  "Drive config error: Unable to open the block device backing "
                                  "file", ret_msg) < 0)
        return -1;
    if (sock && access(sock, F_OK) < 0)
        return fc_res_fail(ret_msg, "Drive config error: Unable to create the vhost-user-block "
                           "device: cannot connect to '%s': %s", sock, g_strerror(errno));
    d = json_object_new_object();
    json_object_object_add(d, "drive_id", json_object_new_string(id));
    json_object_object_add(d, "partuuid", fc_res_copy(sim_json_get(body, "partuuid")));
    json_object_object_add(d, "is_root_device", json_object_new_boolean(root));
    json_object_object_add(d, "cache_type", json_object_new_string(
        sim_json_get_str(body, "cache_type") ? sim_json_get_str(body, "cache_type") : "Unsafe"));
    if (path) {
        json_object_object_add(d, "is_read_only", json_object_new_boolean(ro));
        json_object_object_add(d, "path_on_host", json_object_new_string(path));
        json_object_object_add(d, "rate_limiter", fc_res_copy(sim_json_get(body, "rate_limiter")));
        json_object_object_add(d, "io_engine", json_object_new_string(
            sim_json_get_str(body, "io_engine") ? sim_json_get_str(body, "io_engine") : "Sync"));
    }
    json_object_object_add(d, "socket", sock ? json_object_new_string(sock) : NULL);
    /* The root device always comes first (the guest's /dev/vda); a replaced drive keeps its
     * place otherwise. */
    {
        json_object *n = json_object_new_array();
        size_t len = json_object_array_length(s->drives);
        if (root)
            json_object_array_add(n, d);
        for (size_t i = 0; i < len; i++) {
            if ((int)i == idx) {
                if (!root)
                    json_object_array_add(n, d);
                continue;
            }
            json_object_array_add(n, json_object_get(json_object_array_get_idx(s->drives, i)));
        }
        if (!root && idx < 0)
            json_object_array_add(n, d);
        json_object_put(s->drives);
        s->drives = n;
    }
    return 0;
}

int
fc_res_drive_patch(FcSim *s, json_object *body, char **ret_msg)
{
    const char *id = sim_json_get_str(body, "drive_id");
    const char *path = sim_json_get_str(body, "path_on_host");
    int idx = fc_res_array_find(s->drives, "drive_id", id);
    json_object *d;

    if (idx < 0)
        return fc_res_fail(ret_msg, "Drive config error: Invalid block device ID '%s'", id);
    d = json_object_array_get_idx(s->drives, (size_t)idx);
    if (path) {
        if (fc_res_open_check(path, sim_json_get_bool(d, "is_read_only", FALSE) ? O_RDONLY : O_RDWR,
                              "Drive update error: Unable to open the block device backing file",
                              ret_msg) < 0)
            return -1;
        json_object_object_add(d, "path_on_host", json_object_new_string(path));
    }
    if (sim_json_get(body, "rate_limiter"))
        json_object_object_add(d, "rate_limiter", fc_res_copy(sim_json_get(body, "rate_limiter")));
    return 0;
}

int
fc_res_check_tap(const char *name, char **ret_msg)
{
    g_autofree char *dev = g_strdup_printf("/sys/class/net/%s", name);
    g_autofree char *flags = g_strdup_printf("/sys/class/net/%s/tun_flags", name);

    if (strlen(name) >= 16 || strchr(name, '/') || access(dev, F_OK) < 0 ||
        access(flags, F_OK) < 0)
        return fc_res_fail(ret_msg, "Could not create the network device: Open tap device "
                           "failed: Error while creating ifreq structure: No such device "
                           "(os error 19). Invalid TUN/TAP Backend provided by %s. Check our "
                           "documentation on setting up the network devices.", name);
    return 0;
}

static gboolean
fc_res_mac_valid(const char *mac)
{
    if (strlen(mac) != 17)
        return FALSE;
    for (int i = 0; i < 17; i++) {
        if (i % 3 == 2 ? mac[i] != ':' : !g_ascii_isxdigit(mac[i]))
            return FALSE;
    }
    return TRUE;
}

int
fc_res_net_put(FcSim *s, json_object *body, char **ret_msg)
{
    const char *id = sim_json_get_str(body, "iface_id");
    const char *tap = sim_json_get_str(body, "host_dev_name");
    const char *mac = sim_json_get_str(body, "guest_mac");
    json_object *mtu = sim_json_get(body, "mtu");
    int idx = fc_res_array_find(s->nets, "iface_id", id);
    json_object *n;

    if (mac && !fc_res_mac_valid(mac))
        return fc_res_fail(ret_msg, FC_MSG_DESERIALIZE "invalid MAC address: %s", mac);
    if (mtu && json_object_get_int64(mtu) < 68)
        return fc_res_fail(ret_msg, "Could not create the network device: invalid MTU %" G_GINT64_FORMAT
                           ": must be between 68 and 65535", json_object_get_int64(mtu));
    for (size_t i = 0; i < json_object_array_length(s->nets); i++) {
        json_object *o = json_object_array_get_idx(s->nets, i);
        if ((int)i == idx)
            continue;
        if (mac && g_ascii_strcasecmp(mac, sim_json_get_str(o, "guest_mac") ?: "") == 0)
            return fc_res_fail(ret_msg, "The MAC address is already in use: %s", mac);
        if (g_strcmp0(tap, sim_json_get_str(o, "host_dev_name")) == 0)
            return fc_res_fail(ret_msg, "Could not create the network device: Open tap device "
                               "failed: Resource busy (os error 16). Invalid TUN/TAP Backend "
                               "provided by %s. Check our documentation on setting up the "
                               "network devices.", tap);
    }
    if (fc_res_check_tap(tap, ret_msg) < 0)
        return -1;
    n = fc_res_copy(body);
    if (idx >= 0)
        json_object_array_put_idx(s->nets, (size_t)idx, n);
    else
        json_object_array_add(s->nets, n);
    return 0;
}

int
fc_res_net_patch(FcSim *s, json_object *body, char **ret_msg)
{
    const char *id = sim_json_get_str(body, "iface_id");
    int idx = fc_res_array_find(s->nets, "iface_id", id);
    json_object *n;

    if (idx < 0)
        return fc_res_fail(ret_msg, "Could not update the network device: Invalid network "
                           "interface ID '%s'", id);
    n = json_object_array_get_idx(s->nets, (size_t)idx);
    if (sim_json_get(body, "rx_rate_limiter"))
        json_object_object_add(n, "rx_rate_limiter", fc_res_copy(sim_json_get(body, "rx_rate_limiter")));
    if (sim_json_get(body, "tx_rate_limiter"))
        json_object_object_add(n, "tx_rate_limiter", fc_res_copy(sim_json_get(body, "tx_rate_limiter")));
    return 0;
}

int
fc_res_balloon_put(FcSim *s, json_object *body, char **ret_msg)
{
    if (sim_json_get_int(body, "amount_mib", 0) > s->mem_mib)
        return fc_res_fail(ret_msg, "Balloon config error: Amount of pages requested is too large.");
    json_object_put(s->balloon);
    s->balloon = fc_res_copy(body);
    if (!sim_json_get(s->balloon, "stats_polling_interval_s"))
        json_object_object_add(s->balloon, "stats_polling_interval_s", json_object_new_int(0));
    return 0;
}

int
fc_res_balloon_patch(FcSim *s, json_object *body, char **ret_msg)
{
    if (!s->balloon)
        return fc_res_fail(ret_msg, "Balloon config error: No balloon device found.");
    if (sim_json_get_int(body, "amount_mib", 0) > s->mem_mib)
        return fc_res_fail(ret_msg, "Balloon update error: Amount of pages requested is too large.");
    json_object_object_add(s->balloon, "amount_mib",
                           json_object_new_int64(sim_json_get_int(body, "amount_mib", 0)));
    return 0;
}

int
fc_res_balloon_stats_patch(FcSim *s, json_object *body, char **ret_msg)
{
    if (!s->balloon)
        return fc_res_fail(ret_msg, "Balloon config error: No balloon device found.");
    if (sim_json_get_int(s->balloon, "stats_polling_interval_s", 0) == 0)
        return fc_res_fail(ret_msg, "Balloon update error: Statistics for the balloon device are "
                           "not enabled");
    json_object_object_add(s->balloon, "stats_polling_interval_s", json_object_new_int64(
        sim_json_get_int(body, "stats_polling_interval_s", 0)));
    return 0;
}

int
fc_res_vsock(FcSim *s, json_object *body, char **ret_msg)
{
    const char *uds = sim_json_get_str(body, "uds_path");
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    int fd;

    if (sim_json_get_int(body, "guest_cid", 0) < 3)
        return fc_res_fail(ret_msg, "Vsock config error: Invalid guest CID %" G_GINT64_FORMAT
                           ": must be at least 3", sim_json_get_int(body, "guest_cid", 0));
    if (strlen(uds) >= sizeof(addr.sun_path))
        return fc_res_fail(ret_msg, "Vsock config error: Cannot create backend for vsock device: "
                           "path too long");
    if (s->vsock_fd >= 0) {  /* replacing the device releases the old socket */
        close(s->vsock_fd);
        s->vsock_fd = -1;
        unlink(sim_json_get_str(s->vsock, "uds_path"));
    }
    strcpy(addr.sun_path, uds);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 8) < 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return fc_res_fail(ret_msg, "Vsock config error: Cannot create backend for vsock device: "
                           "Error binding to the host-side Unix socket: %s (os error %d)",
                           g_strerror(e), e);
    }
    s->vsock_fd = fd;
    json_object_put(s->vsock);
    s->vsock = fc_res_copy(body);
    return 0;
}

int
fc_res_entropy(FcSim *s, json_object *body, char **ret_msg)
{
    json_object_put(s->entropy);
    s->entropy = fc_res_copy(body);
    return 0;
}

int
fc_res_serial(FcSim *s, json_object *body, char **ret_msg)
{
    const char *out = sim_json_get_str(body, "serial_out_path");

    if (out) {
        int fd = open(out, O_WRONLY | O_CREAT | O_APPEND | O_NONBLOCK | O_CLOEXEC, 0644);
        if (fd < 0)
            return fc_res_fail(ret_msg, "Failed to open the serial output file: %s (os error %d)",
                               g_strerror(errno), errno);
        if (s->serial_fd >= 0)
            close(s->serial_fd);
        s->serial_fd = fd;
    }
    json_object_put(s->serial);
    s->serial = fc_res_copy(body);
    return 0;
}

int
fc_res_logger(FcSim *s, json_object *body, char **ret_msg)
{
    const char *path = sim_json_get_str(body, "log_path");
    const char *level = sim_json_get_str(body, "level");
    static const char *const levels[] = { "Off", "Error", "Warning", "Info", "Debug", "Trace", NULL };
    gboolean ok = level == NULL;

    for (const char *const *l = levels; level && *l; l++)
        if (g_ascii_strcasecmp(*l, level) == 0)
            ok = TRUE;
    if (!ok)
        return fc_res_fail(ret_msg, "Logger error: Invalid level: %s", level);
    if (path) {
        int fd = sim_log_open_overwrite(path);
        if (fd < 0)
            return fc_res_fail(ret_msg, "Logger error: Failed to open target file: %s (os error %d)",
                               g_strerror(errno), errno);
        if (s->log_fd >= 0)
            close(s->log_fd);
        s->log_fd = fd;
    }
    if (level) {
        g_free(s->level);
        s->level = g_strdup(level);
    }
    s->show_level = sim_json_get_bool(body, "show_level", s->show_level);
    s->show_origin = sim_json_get_bool(body, "show_log_origin", s->show_origin);
    json_object_put(s->logger);
    s->logger = fc_res_copy(body);
    return 0;
}

int
fc_res_metrics(FcSim *s, json_object *body, char **ret_msg)
{
    int fd;

    if (s->metrics_fd >= 0)
        return fc_res_fail(ret_msg, "Metrics initialization error: Reinitialization of metrics "
                           "not allowed.");
    fd = sim_log_open(sim_json_get_str(body, "metrics_path"));
    if (fd < 0)
        return fc_res_fail(ret_msg, "Metrics initialization error: Failed to open target file: "
                           "%s (os error %d)", g_strerror(errno), errno);
    s->metrics_fd = fd;
    json_object_put(s->metrics);
    s->metrics = fc_res_copy(body);
    return 0;
}

int
fc_res_mmds_config(FcSim *s, json_object *body, char **ret_msg)
{
    json_object *ifs = sim_json_get(body, "network_interfaces");

    for (size_t i = 0; i < json_object_array_length(ifs); i++) {
        const char *id = json_object_get_string(json_object_array_get_idx(ifs, i));
        if (fc_res_array_find(s->nets, "iface_id", id) < 0)
            return fc_res_fail(ret_msg, "Invalid MMDS network interface ID: The list of network "
                               "interface IDs provided contains at least one ID that does not "
                               "correspond to any existing network interface.");
    }
    json_object_put(s->mmds_config);
    s->mmds_config = fc_res_copy(body);
    return 0;
}

int
fc_res_cpu_config(FcSim *s, json_object *body, char **ret_msg)
{
    json_object_put(s->cpu_config);
    s->cpu_config = fc_res_copy(body);
    return 0;
}

json_object *
fc_res_vm_config(FcSim *s)
{
    json_object *o = json_object_new_object();
    json_object *bs = s->boot_source ? fc_res_copy(s->boot_source) : NULL;

    if (s->restored) {
        bs = json_object_new_object();
        json_object_object_add(bs, "kernel_image_path", json_object_new_string(""));
        json_object_object_add(bs, "initrd_path", NULL);
        json_object_object_add(bs, "boot_args", NULL);
    }
    json_object_object_add(o, "balloon", s->balloon ? fc_res_copy(s->balloon) : NULL);
    json_object_object_add(o, "drives", fc_res_copy(s->drives));
    json_object_object_add(o, "boot-source", bs);
    json_object_object_add(o, "cpu-config", s->cpu_config ? fc_res_copy(s->cpu_config) : NULL);
    json_object_object_add(o, "logger", s->logger ? fc_res_copy(s->logger) : NULL);
    json_object_object_add(o, "machine-config", fc_res_machine_config(s));
    json_object_object_add(o, "metrics", s->metrics ? fc_res_copy(s->metrics) : NULL);
    json_object_object_add(o, "mmds-config", s->mmds_config ? fc_res_copy(s->mmds_config) : NULL);
    json_object_object_add(o, "network-interfaces", fc_res_copy(s->nets));
    json_object_object_add(o, "vsock", s->vsock ? fc_res_copy(s->vsock) : NULL);
    json_object_object_add(o, "entropy", s->entropy ? fc_res_copy(s->entropy) : NULL);
    json_object_object_add(o, "pmem", json_object_new_array());
    json_object_object_add(o, "memory-hotplug", NULL);
    return o;
}
