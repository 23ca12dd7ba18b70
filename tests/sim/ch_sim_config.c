/* ch-sim: VmConfig types (create time), defaults, and boot-time validation. */
#include "ch_sim.h"

#include <string.h>

static const char *const ch_modes[] = { "Off", "Pty", "Tty", "File", "Socket", "Null", NULL };
static const char *const ch_hotplug[] = { "Acpi", "VirtioMem", NULL };
static const char *const ch_vhost_modes[] = { "Client", "Server", NULL };
static const char *const ch_image_types[] = { "FixedVhd", "Qcow2", "Raw", "Vhdx", "Unknown", NULL };
static const char *const ch_restore_modes[] = { "Copy", "OnDemand", NULL };

#define END { NULL, 0, 0, NULL, NULL }
static const SimField ch_payload[] = {
    { "firmware", SIM_F_STR, FALSE, NULL, NULL }, { "kernel", SIM_F_STR, FALSE, NULL, NULL },
    { "cmdline", SIM_F_STR, FALSE, NULL, NULL }, { "initramfs", SIM_F_STR, FALSE, NULL, NULL },
    { "igvm", SIM_F_STR, FALSE, NULL, NULL }, { "host_data", SIM_F_STR, FALSE, NULL, NULL }, END,
};
static const SimField ch_topology[] = {
    { "threads_per_core", SIM_F_U8, FALSE, NULL, NULL }, { "cores_per_die", SIM_F_U8, FALSE, NULL, NULL },
    { "dies_per_package", SIM_F_U8, FALSE, NULL, NULL }, { "packages", SIM_F_U8, FALSE, NULL, NULL }, END,
};
static const SimField ch_cpus[] = {
    { "boot_vcpus", SIM_F_U32, TRUE, NULL, NULL }, { "max_vcpus", SIM_F_U32, TRUE, NULL, NULL },
    { "topology", SIM_F_OBJ, FALSE, ch_topology, NULL }, { "kvm_hyperv", SIM_F_BOOL, FALSE, NULL, NULL },
    { "max_phys_bits", SIM_F_U8, FALSE, NULL, NULL }, { "nested", SIM_F_BOOL, FALSE, NULL, NULL },
    { "affinity", SIM_F_ANY, FALSE, NULL, NULL }, { "features", SIM_F_ANY, FALSE, NULL, NULL }, END,
};
static const SimField ch_memory[] = {
    { "size", SIM_F_U64, TRUE, NULL, NULL }, { "hotplug_size", SIM_F_U64, FALSE, NULL, NULL },
    { "hotplugged_size", SIM_F_U64, FALSE, NULL, NULL }, { "mergeable", SIM_F_BOOL, FALSE, NULL, NULL },
    { "hotplug_method", SIM_F_ENUM, FALSE, NULL, ch_hotplug }, { "shared", SIM_F_BOOL, FALSE, NULL, NULL },
    { "hugepages", SIM_F_BOOL, FALSE, NULL, NULL }, { "hugepage_size", SIM_F_U64, FALSE, NULL, NULL },
    { "prefault", SIM_F_BOOL, FALSE, NULL, NULL }, { "thp", SIM_F_BOOL, FALSE, NULL, NULL },
    { "zones", SIM_F_ANY, FALSE, NULL, NULL }, END,
};
static const SimField ch_disk[] = {
    { "path", SIM_F_STR, FALSE, NULL, NULL }, { "readonly", SIM_F_BOOL, FALSE, NULL, NULL },
    { "direct", SIM_F_BOOL, FALSE, NULL, NULL }, { "iommu", SIM_F_BOOL, FALSE, NULL, NULL },
    { "num_queues", SIM_F_U16, FALSE, NULL, NULL }, { "queue_size", SIM_F_U16, FALSE, NULL, NULL },
    { "vhost_user", SIM_F_BOOL, FALSE, NULL, NULL }, { "vhost_socket", SIM_F_STR, FALSE, NULL, NULL },
    { "id", SIM_F_STR, FALSE, NULL, NULL }, { "serial", SIM_F_STR, FALSE, NULL, NULL },
    { "pci_segment", SIM_F_U16, FALSE, NULL, NULL }, { "image_type", SIM_F_ENUM, FALSE, NULL, ch_image_types },
    { "rate_limiter_config", SIM_F_ANY, FALSE, NULL, NULL }, END,
};
static const SimField ch_net[] = {
    { "tap", SIM_F_STR, FALSE, NULL, NULL }, { "ip", SIM_F_STR, FALSE, NULL, NULL },
    { "mask", SIM_F_STR, FALSE, NULL, NULL }, { "mac", SIM_F_STR, FALSE, NULL, NULL },
    { "host_mac", SIM_F_STR, FALSE, NULL, NULL }, { "mtu", SIM_F_U16, FALSE, NULL, NULL },
    { "iommu", SIM_F_BOOL, FALSE, NULL, NULL }, { "num_queues", SIM_F_U16, FALSE, NULL, NULL },
    { "queue_size", SIM_F_U16, FALSE, NULL, NULL }, { "vhost_user", SIM_F_BOOL, FALSE, NULL, NULL },
    { "vhost_socket", SIM_F_STR, FALSE, NULL, NULL }, { "vhost_mode", SIM_F_ENUM, FALSE, NULL, ch_vhost_modes },
    { "id", SIM_F_STR, FALSE, NULL, NULL }, { "fds", SIM_F_ARR_U64, FALSE, NULL, NULL },
    { "pci_segment", SIM_F_U16, FALSE, NULL, NULL }, { "offload_tso", SIM_F_BOOL, FALSE, NULL, NULL },
    { "offload_ufo", SIM_F_BOOL, FALSE, NULL, NULL }, { "offload_csum", SIM_F_BOOL, FALSE, NULL, NULL },
    { "rate_limiter_config", SIM_F_ANY, FALSE, NULL, NULL }, END,
};
static const SimField ch_rng[] = {
    { "src", SIM_F_STR, TRUE, NULL, NULL }, { "iommu", SIM_F_BOOL, FALSE, NULL, NULL }, END,
};
static const SimField ch_console[] = {
    { "mode", SIM_F_ENUM, TRUE, NULL, ch_modes }, { "file", SIM_F_STR, FALSE, NULL, NULL },
    { "socket", SIM_F_STR, FALSE, NULL, NULL }, { "iommu", SIM_F_BOOL, FALSE, NULL, NULL }, END,
};
static const SimField ch_balloon[] = {
    { "size", SIM_F_U64, TRUE, NULL, NULL }, { "deflate_on_oom", SIM_F_BOOL, FALSE, NULL, NULL },
    { "free_page_reporting", SIM_F_BOOL, FALSE, NULL, NULL }, { "id", SIM_F_STR, FALSE, NULL, NULL }, END,
};
static const SimField ch_vsock[] = {
    { "cid", SIM_F_U64, TRUE, NULL, NULL }, { "socket", SIM_F_STR, TRUE, NULL, NULL },
    { "iommu", SIM_F_BOOL, FALSE, NULL, NULL }, { "id", SIM_F_STR, FALSE, NULL, NULL },
    { "pci_segment", SIM_F_U16, FALSE, NULL, NULL }, END,
};
static const SimField ch_fs[] = {
    { "tag", SIM_F_STR, TRUE, NULL, NULL }, { "socket", SIM_F_STR, TRUE, NULL, NULL },
    { "num_queues", SIM_F_U16, FALSE, NULL, NULL }, { "queue_size", SIM_F_U16, FALSE, NULL, NULL },
    { "id", SIM_F_STR, FALSE, NULL, NULL }, { "pci_segment", SIM_F_U16, FALSE, NULL, NULL }, END,
};
static const SimField ch_pmem[] = {
    { "file", SIM_F_STR, TRUE, NULL, NULL }, { "size", SIM_F_U64, FALSE, NULL, NULL },
    { "iommu", SIM_F_BOOL, FALSE, NULL, NULL }, { "discard_writes", SIM_F_BOOL, FALSE, NULL, NULL },
    { "id", SIM_F_STR, FALSE, NULL, NULL }, { "pci_segment", SIM_F_U16, FALSE, NULL, NULL }, END,
};
static const SimField ch_device[] = {
    { "path", SIM_F_STR, TRUE, NULL, NULL }, { "iommu", SIM_F_BOOL, FALSE, NULL, NULL },
    { "id", SIM_F_STR, FALSE, NULL, NULL }, { "pci_segment", SIM_F_U16, FALSE, NULL, NULL }, END,
};
static const SimField ch_vm_config[] = {
    { "payload", SIM_F_OBJ, FALSE, ch_payload, NULL }, { "cpus", SIM_F_OBJ, FALSE, ch_cpus, NULL },
    { "memory", SIM_F_OBJ, FALSE, ch_memory, NULL }, { "disks", SIM_F_ARR_OBJ, FALSE, ch_disk, NULL },
    { "net", SIM_F_ARR_OBJ, FALSE, ch_net, NULL }, { "rng", SIM_F_OBJ, FALSE, ch_rng, NULL },
    { "balloon", SIM_F_OBJ, FALSE, ch_balloon, NULL }, { "fs", SIM_F_ARR_OBJ, FALSE, ch_fs, NULL },
    { "pmem", SIM_F_ARR_OBJ, FALSE, ch_pmem, NULL }, { "serial", SIM_F_OBJ, FALSE, ch_console, NULL },
    { "console", SIM_F_OBJ, FALSE, ch_console, NULL }, { "devices", SIM_F_ARR_OBJ, FALSE, ch_device, NULL },
    { "vsock", SIM_F_OBJ, FALSE, ch_vsock, NULL }, { "iommu", SIM_F_BOOL, FALSE, NULL, NULL },
    { "watchdog", SIM_F_BOOL, FALSE, NULL, NULL }, { "pvpanic", SIM_F_BOOL, FALSE, NULL, NULL },
    { "platform", SIM_F_ANY, FALSE, NULL, NULL }, END,
};
static const SimField ch_snapshot[] = { { "destination_url", SIM_F_STR, FALSE, NULL, NULL }, END };
static const SimField ch_restore[] = {
    { "source_url", SIM_F_STR, TRUE, NULL, NULL }, { "prefault", SIM_F_BOOL, FALSE, NULL, NULL },
    { "resume", SIM_F_BOOL, FALSE, NULL, NULL },
    { "memory_restore_mode", SIM_F_ENUM, FALSE, NULL, ch_restore_modes },
    { "net_fds", SIM_F_ANY, FALSE, NULL, NULL }, END,
};
static const SimField ch_resize[] = {
    { "desired_vcpus", SIM_F_U32, FALSE, NULL, NULL }, { "desired_ram", SIM_F_U64, FALSE, NULL, NULL },
    { "desired_balloon", SIM_F_U64, FALSE, NULL, NULL }, END,
};
static const SimField ch_remove[] = { { "id", SIM_F_STR, TRUE, NULL, NULL }, END };

char *
ch_config_check_schema(const char *kind, json_object *body)
{
    static const struct { const char *kind; const SimField *f; } t[] = {
        { "vm", ch_vm_config }, { "disk", ch_disk }, { "net", ch_net }, { "fs", ch_fs },
        { "pmem", ch_pmem }, { "vsock", ch_vsock }, { "device", ch_device },
        { "snapshot", ch_snapshot }, { "restore", ch_restore }, { "resize", ch_resize },
        { "remove", ch_remove },
    };

    for (gsize i = 0; i < G_N_ELEMENTS(t); i++)
        if (g_str_equal(t[i].kind, kind))
            return sim_json_check(body, t[i].f, FALSE);
    return NULL;
}

static gboolean
ch_mac_valid(const char *mac)
{
    if (strlen(mac) != 17)
        return FALSE;
    for (int i = 0; i < 17; i++)
        if (i % 3 == 2 ? mac[i] != ':' : !g_ascii_isxdigit(mac[i]))
            return FALSE;
    return TRUE;
}

char *
ch_config_check_types(json_object *cfg)
{
    char *err = ch_config_check_schema("vm", cfg);
    json_object *nets = sim_json_get(cfg, "net");

    if (err)
        return err;
    for (size_t i = 0; nets && i < json_object_array_length(nets); i++) {
        json_object *n = json_object_array_get_idx(nets, i);
        const char *mac = sim_json_get_str(n, "mac");
        const char *hmac = sim_json_get_str(n, "host_mac");
        if ((mac && !ch_mac_valid(mac)) || (hmac && !ch_mac_valid(hmac)))
            return g_strdup_printf("invalid MAC address: %s", mac && !ch_mac_valid(mac) ? mac : hmac);
    }
    return NULL;
}

static void
ch_default(json_object *o, const char *key, json_object *val)
{
    if (!sim_json_get(o, key))
        json_object_object_add(o, key, val);
    else
        json_object_put(val);
}

static char *
ch_random_mac(void)
{
    return g_strdup_printf("52:54:00:%02x:%02x:%02x", g_random_int_range(0, 256),
                           g_random_int_range(0, 256), g_random_int_range(0, 256));
}

void
ch_config_fill_device(const char *kind, json_object *d)
{
    if (g_str_equal(kind, "disks")) {
        ch_default(d, "readonly", json_object_new_boolean(FALSE));
        ch_default(d, "direct", json_object_new_boolean(FALSE));
        ch_default(d, "iommu", json_object_new_boolean(FALSE));
        ch_default(d, "num_queues", json_object_new_int(1));
        ch_default(d, "queue_size", json_object_new_int(128));
        ch_default(d, "vhost_user", json_object_new_boolean(FALSE));
        ch_default(d, "pci_segment", json_object_new_int(0));
        ch_default(d, "backing_files", json_object_new_boolean(FALSE));
        ch_default(d, "sparse", json_object_new_boolean(TRUE));
    } else if (g_str_equal(kind, "net")) {
        char *mac = ch_random_mac();
        ch_default(d, "mac", json_object_new_string(mac));
        g_free(mac);
        ch_default(d, "iommu", json_object_new_boolean(FALSE));
        ch_default(d, "num_queues", json_object_new_int(2));
        ch_default(d, "queue_size", json_object_new_int(256));
        ch_default(d, "vhost_user", json_object_new_boolean(FALSE));
        ch_default(d, "vhost_mode", json_object_new_string("Client"));
        ch_default(d, "pci_segment", json_object_new_int(0));
        ch_default(d, "offload_tso", json_object_new_boolean(TRUE));
        ch_default(d, "offload_ufo", json_object_new_boolean(TRUE));
        ch_default(d, "offload_csum", json_object_new_boolean(TRUE));
        json_object_object_del(d, "fds");  /* never echoed */
    } else if (g_str_equal(kind, "fs")) {
        ch_default(d, "num_queues", json_object_new_int(1));
        ch_default(d, "queue_size", json_object_new_int(1024));
        ch_default(d, "pci_segment", json_object_new_int(0));
    } else {
        ch_default(d, "iommu", json_object_new_boolean(FALSE));
        ch_default(d, "pci_segment", json_object_new_int(0));
    }
}

static void
ch_fill_console(json_object *cfg, const char *key, const char *mode)
{
    json_object *c = sim_json_get(cfg, key);

    if (!c) {
        c = json_object_new_object();
        json_object_object_add(c, "mode", json_object_new_string(mode));
        json_object_object_add(cfg, key, c);
    }
    ch_default(c, "file", NULL);
    ch_default(c, "socket", NULL);
    ch_default(c, "iommu", json_object_new_boolean(FALSE));
}

json_object *
ch_config_fill(json_object *in)
{
    json_object *cfg = NULL, *o;
    static const char *const lists[] = { "disks", "net", "fs", "pmem", "devices" };

    json_object_deep_copy(in, &cfg, NULL);
    if (!(o = sim_json_get(cfg, "cpus"))) {
        o = json_object_new_object();
        json_object_object_add(o, "boot_vcpus", json_object_new_int(1));
        json_object_object_add(o, "max_vcpus", json_object_new_int(1));
        json_object_object_add(cfg, "cpus", o);
    }
    ch_default(o, "kvm_hyperv", json_object_new_boolean(FALSE));
    ch_default(o, "max_phys_bits", json_object_new_int(46));
    ch_default(o, "nested", json_object_new_boolean(TRUE));
    if (!(o = sim_json_get(cfg, "memory"))) {
        o = json_object_new_object();
        json_object_object_add(o, "size", json_object_new_int64(512LL << 20));
        json_object_object_add(cfg, "memory", o);
    }
    ch_default(o, "mergeable", json_object_new_boolean(FALSE));
    ch_default(o, "hotplug_method", json_object_new_string("Acpi"));
    ch_default(o, "shared", json_object_new_boolean(FALSE));
    ch_default(o, "hugepages", json_object_new_boolean(FALSE));
    ch_default(o, "prefault", json_object_new_boolean(FALSE));
    ch_default(o, "thp", json_object_new_boolean(TRUE));
    if (!(o = sim_json_get(cfg, "rng"))) {
        o = json_object_new_object();
        json_object_object_add(o, "src", json_object_new_string("/dev/urandom"));
        json_object_object_add(cfg, "rng", o);
    }
    ch_default(o, "iommu", json_object_new_boolean(FALSE));
    ch_fill_console(cfg, "serial", "Null");
    ch_fill_console(cfg, "console", "Tty");
    for (gsize l = 0; l < G_N_ELEMENTS(lists); l++) {
        json_object *arr = sim_json_get(cfg, lists[l]);
        for (size_t i = 0; arr && i < json_object_array_length(arr); i++)
            ch_config_fill_device(lists[l], json_object_array_get_idx(arr, i));
    }
    if ((o = sim_json_get(cfg, "vsock")))
        ch_config_fill_device("vsock", o);
    if ((o = sim_json_get(cfg, "balloon"))) {
        ch_default(o, "deflate_on_oom", json_object_new_boolean(FALSE));
        ch_default(o, "free_page_reporting", json_object_new_boolean(FALSE));
    }
    ch_default(cfg, "iommu", json_object_new_boolean(FALSE));
    ch_default(cfg, "watchdog", json_object_new_boolean(FALSE));
    ch_default(cfg, "pvpanic", json_object_new_boolean(FALSE));
    ch_default(cfg, "landlock_enable", json_object_new_boolean(FALSE));
    return cfg;
}

static char *
ch_check_ids(json_object *cfg)
{
    static const char *const lists[] = { "disks", "net", "fs", "pmem", "devices" };
    g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);

    for (gsize l = 0; l < G_N_ELEMENTS(lists) + 1; l++) {
        json_object *arr = l < G_N_ELEMENTS(lists) ? sim_json_get(cfg, lists[l]) : NULL;
        size_t n = arr ? json_object_array_length(arr) : (l == G_N_ELEMENTS(lists) ? 1 : 0);
        for (size_t i = 0; i < n; i++) {
            json_object *d = arr ? json_object_array_get_idx(arr, i) : sim_json_get(cfg, "vsock");
            const char *id = sim_json_get_str(d, "id");
            if (!id)
                continue;
            if (g_str_has_prefix(id, "__"))
                return g_strdup_printf("Identifier %s is reserved (identifiers starting with '__' "
                                       "are used internally)", id);
            if (g_hash_table_contains(seen, id))
                return g_strdup_printf("Identifier %s is not unique", id);
            g_hash_table_add(seen, (gpointer)id);
        }
    }
    return NULL;
}

char *
ch_config_validate(json_object *cfg)
{
    json_object *payload = sim_json_get(cfg, "payload");
    json_object *cpus = sim_json_get(cfg, "cpus");
    json_object *mem = sim_json_get(cfg, "memory");
    json_object *disks = sim_json_get(cfg, "disks");
    json_object *nets = sim_json_get(cfg, "net");
    json_object *fs = sim_json_get(cfg, "fs");
    json_object *balloon = sim_json_get(cfg, "balloon");
    json_object *vsock = sim_json_get(cfg, "vsock");
    gint64 boot = sim_json_get_int(cpus, "boot_vcpus", 1);
    gint64 max = sim_json_get_int(cpus, "max_vcpus", boot);
    gint64 size = sim_json_get_int(mem, "size", 0);
    gboolean shared = sim_json_get_bool(mem, "shared", FALSE) || sim_json_get_bool(mem, "hugepages", FALSE);

    if (!payload || (!sim_json_get_str(payload, "kernel") && !sim_json_get_str(payload, "firmware") &&
                     !sim_json_get_str(payload, "igvm")))
        return g_strdup("No kernel specified");
    if (boot < 1)
        return g_strdup("Number of boot vCPUs must be at least 1");
    if (max < boot)
        return g_strdup("Max vCPUs lower than boot vCPUs");
    if (max > 8192)
        return g_strdup_printf("Number of vCPUs (%" G_GINT64_FORMAT ") exceeds the maximum supported (8192)", max);
    if (size <= 0 || size % 4096 != 0)
        return g_strdup_printf("Memory size %" G_GINT64_FORMAT " is not a non-zero multiple of the page size", size);
    for (size_t i = 0; disks && i < json_object_array_length(disks); i++) {
        json_object *d = json_object_array_get_idx(disks, i);
        gint64 q = sim_json_get_int(d, "num_queues", 1);
        if (sim_json_get_bool(d, "vhost_user", FALSE)) {
            if (!sim_json_get_str(d, "vhost_socket"))
                return g_strdup("Vhost-user socket path is missing for a disk");
            if (!shared)
                return g_strdup("Using vhost-user requires using shared memory or huge pages");
        } else if (!sim_json_get_str(d, "path")) {
            return g_strdup("Disk path is missing");
        }
        if (q > boot)
            return g_strdup_printf("Number of block queues (%" G_GINT64_FORMAT ") exceeds the number "
                                   "of boot vCPUs (%" G_GINT64_FORMAT ")", q, boot);
    }
    for (size_t i = 0; nets && i < json_object_array_length(nets); i++) {
        json_object *n = json_object_array_get_idx(nets, i);
        gint64 q = sim_json_get_int(n, "num_queues", 2);
        json_object *fds = sim_json_get(n, "fds");
        if (q < 2)
            return g_strdup("Number of queues to virtio_net less than 2");
        if (q / 2 > boot)
            return g_strdup_printf("Number of net queue pairs (%" G_GINT64_FORMAT ") exceeds the number "
                                   "of boot vCPUs (%" G_GINT64_FORMAT ")", q / 2, boot);
        if (fds && (gint64)json_object_array_length(fds) * 2 != q)
            return g_strdup("Number of queues to virtio_net does not match the number of input FDs");
        if (!sim_json_get(n, "ip") != !sim_json_get(n, "mask"))
            return g_strdup("The IP address and the netmask of a net device must be given together");
        if (sim_json_get_bool(n, "vhost_user", FALSE) && !shared)
            return g_strdup("Using vhost-user requires using shared memory or huge pages");
    }
    if (fs && json_object_array_length(fs) > 0 && !shared)
        return g_strdup("Using vhost-user requires using shared memory or huge pages");
    if (balloon && sim_json_get_int(balloon, "size", 0) >= size)
        return g_strdup("Balloon size must be lower than the RAM size");
    if (vsock && sim_json_get_int(vsock, "cid", 0) < 3)
        return g_strdup("Vsock CID must be at least 3");
    if (g_strcmp0(sim_json_get_str(sim_json_get(cfg, "serial"), "mode"), "Socket") == 0 &&
        !sim_json_get_str(sim_json_get(cfg, "serial"), "socket"))
        return g_strdup("Path for the serial socket is missing");
    return ch_check_ids(cfg);
}

static void
ch_assign(ChSim *s, json_object *arr, const char *prefix)
{
    for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
        json_object *d = json_object_array_get_idx(arr, i);
        if (!sim_json_get_str(d, "id")) {
            g_autofree char *id = g_strdup_printf("%s%u", prefix, s->device_counter++);
            json_object_object_add(d, "id", json_object_new_string(id));
        }
    }
}

void
ch_config_assign_ids(ChSim *s, json_object *cfg)
{
    json_object *v = sim_json_get(cfg, "vsock");

    ch_assign(s, sim_json_get(cfg, "disks"), "_disk");
    ch_assign(s, sim_json_get(cfg, "net"), "_net");
    ch_assign(s, sim_json_get(cfg, "fs"), "_fs");
    ch_assign(s, sim_json_get(cfg, "pmem"), "_pmem");
    if (v && !sim_json_get_str(v, "id")) {
        g_autofree char *id = g_strdup_printf("_vsock%u", s->device_counter++);
        json_object_object_add(v, "id", json_object_new_string(id));
    }
    ch_assign(s, sim_json_get(cfg, "devices"), "_vfio");
}
