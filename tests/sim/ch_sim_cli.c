/* ch-sim: cloud-hypervisor's command line (key=value options) turned into a VmConfig. */
#include "ch_sim.h"

#include "sim_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>

#include <stdio.h>
#include <string.h>

typedef enum { K_STR, K_BOOL, K_INT, K_SIZE, K_ENUM, K_FDS, K_TOPO, K_IGNORE } KeyType;

typedef struct {
    const char *key;
    const char *json;       /* member name in the VmConfig (NULL: same as key) */
    KeyType type;
    const char *const *map; /* K_ENUM: pairs cli-word, json-word, NULL */
} KeySpec;

static const char *const map_hotplug[] = { "acpi", "Acpi", "virtio-mem", "VirtioMem", NULL };
static const char *const map_image[] = { "raw", "Raw", "qcow2", "Qcow2", "vhd", "FixedVhd",
                                         "vhdx", "Vhdx", NULL };
static const char *const map_vhost[] = { "client", "Client", "server", "Server", NULL };
static const char *const map_restore[] = { "copy", "Copy", "ondemand", "OnDemand", NULL };

#define RL_KEYS { "bw_size", NULL, K_IGNORE, NULL }, { "bw_one_time_burst", NULL, K_IGNORE, NULL }, \
    { "bw_refill_time", NULL, K_IGNORE, NULL }, { "ops_size", NULL, K_IGNORE, NULL },              \
    { "ops_one_time_burst", NULL, K_IGNORE, NULL }, { "ops_refill_time", NULL, K_IGNORE, NULL }
#define KEND { NULL, NULL, 0, NULL }

static const KeySpec keys_cpus[] = {
    { "boot", "boot_vcpus", K_INT, NULL }, { "max", "max_vcpus", K_INT, NULL },
    { "topology", NULL, K_TOPO, NULL }, { "kvm_hyperv", NULL, K_BOOL, NULL },
    { "max_phys_bits", NULL, K_INT, NULL }, { "affinity", NULL, K_IGNORE, NULL },
    { "features", NULL, K_IGNORE, NULL }, { "nested", NULL, K_BOOL, NULL }, KEND,
};
static const KeySpec keys_memory[] = {
    { "size", NULL, K_SIZE, NULL }, { "mergeable", NULL, K_BOOL, NULL },
    { "shared", NULL, K_BOOL, NULL }, { "hugepages", NULL, K_BOOL, NULL },
    { "hugepage_size", NULL, K_SIZE, NULL }, { "hotplug_method", NULL, K_ENUM, map_hotplug },
    { "hotplug_size", NULL, K_SIZE, NULL }, { "hotplugged_size", NULL, K_SIZE, NULL },
    { "prefault", NULL, K_BOOL, NULL }, { "thp", NULL, K_BOOL, NULL }, KEND,
};
static const KeySpec keys_disk[] = {
    { "path", NULL, K_STR, NULL }, { "readonly", NULL, K_BOOL, NULL },
    { "direct", NULL, K_BOOL, NULL }, { "iommu", NULL, K_BOOL, NULL },
    { "num_queues", NULL, K_INT, NULL }, { "queue_size", NULL, K_INT, NULL },
    { "vhost_user", NULL, K_BOOL, NULL }, { "socket", "vhost_socket", K_STR, NULL },
    { "id", NULL, K_STR, NULL }, { "serial", NULL, K_STR, NULL },
    { "pci_segment", NULL, K_INT, NULL }, { "image_type", NULL, K_ENUM, map_image },
    { "rate_limit_group", NULL, K_STR, NULL }, { "queue_affinity", NULL, K_IGNORE, NULL },
    { "backing_files", NULL, K_BOOL, NULL }, { "sparse", NULL, K_BOOL, NULL },
    { "lock_granularity", NULL, K_IGNORE, NULL }, RL_KEYS, KEND,
};
static const KeySpec keys_net[] = {
    { "tap", NULL, K_STR, NULL }, { "ip", NULL, K_STR, NULL }, { "mask", NULL, K_STR, NULL },
    { "mac", NULL, K_STR, NULL }, { "host_mac", NULL, K_STR, NULL }, { "mtu", NULL, K_INT, NULL },
    { "iommu", NULL, K_BOOL, NULL }, { "num_queues", NULL, K_INT, NULL },
    { "queue_size", NULL, K_INT, NULL }, { "vhost_user", NULL, K_BOOL, NULL },
    { "socket", "vhost_socket", K_STR, NULL }, { "vhost_mode", NULL, K_ENUM, map_vhost },
    { "id", NULL, K_STR, NULL }, { "fd", "fds", K_FDS, NULL }, { "pci_segment", NULL, K_INT, NULL },
    { "offload_tso", NULL, K_BOOL, NULL }, { "offload_ufo", NULL, K_BOOL, NULL },
    { "offload_csum", NULL, K_BOOL, NULL }, RL_KEYS, KEND,
};
static const KeySpec keys_rng[] = { { "src", NULL, K_STR, NULL }, { "iommu", NULL, K_BOOL, NULL }, KEND };
static const KeySpec keys_balloon[] = {
    { "size", NULL, K_SIZE, NULL }, { "deflate_on_oom", NULL, K_BOOL, NULL },
    { "free_page_reporting", NULL, K_BOOL, NULL }, KEND,
};
static const KeySpec keys_vsock[] = {
    { "cid", NULL, K_INT, NULL }, { "socket", NULL, K_STR, NULL }, { "iommu", NULL, K_BOOL, NULL },
    { "id", NULL, K_STR, NULL }, { "pci_segment", NULL, K_INT, NULL }, KEND,
};
static const KeySpec keys_fs[] = {
    { "tag", NULL, K_STR, NULL }, { "socket", NULL, K_STR, NULL }, { "num_queues", NULL, K_INT, NULL },
    { "queue_size", NULL, K_INT, NULL }, { "id", NULL, K_STR, NULL },
    { "pci_segment", NULL, K_INT, NULL }, KEND,
};
static const KeySpec keys_pmem[] = {
    { "file", NULL, K_STR, NULL }, { "size", NULL, K_SIZE, NULL }, { "iommu", NULL, K_BOOL, NULL },
    { "discard_writes", NULL, K_BOOL, NULL }, { "id", NULL, K_STR, NULL },
    { "pci_segment", NULL, K_INT, NULL }, KEND,
};
static const KeySpec keys_device[] = {
    { "path", NULL, K_STR, NULL }, { "iommu", NULL, K_BOOL, NULL }, { "id", NULL, K_STR, NULL },
    { "pci_segment", NULL, K_INT, NULL }, KEND,
};
static const KeySpec keys_platform[] = {
    { "num_pci_segments", NULL, K_INT, NULL }, { "iommu_segments", NULL, K_IGNORE, NULL },
    { "serial_number", NULL, K_STR, NULL }, { "uuid", NULL, K_STR, NULL },
    { "oem_strings", NULL, K_IGNORE, NULL }, { "tdx", NULL, K_BOOL, NULL },
    { "sev_snp", NULL, K_BOOL, NULL }, KEND,
};
static const KeySpec keys_restore[] = {
    { "source_url", NULL, K_STR, NULL }, { "prefault", NULL, K_BOOL, NULL },
    { "resume", NULL, K_BOOL, NULL }, { "memory_restore_mode", NULL, K_ENUM, map_restore }, KEND,
};
static const KeySpec keys_socket[] = { { "path", NULL, K_STR, NULL }, { "fd", NULL, K_INT, NULL }, KEND };

typedef enum { A_FLAG, A_ONE, A_MULTI } ArgKind;

typedef struct {
    const char *name;
    ArgKind kind;
} ArgSpec;

static const ArgSpec ch_args[] = {
    { "api-socket", A_ONE }, { "cpus", A_ONE }, { "memory", A_ONE }, { "kernel", A_ONE },
    { "firmware", A_ONE }, { "initramfs", A_ONE }, { "cmdline", A_ONE }, { "igvm", A_ONE },
    { "disk", A_MULTI }, { "net", A_MULTI }, { "fs", A_MULTI }, { "pmem", A_MULTI },
    { "device", A_MULTI }, { "user-device", A_MULTI }, { "vdpa", A_MULTI }, { "numa", A_MULTI },
    { "memory-zone", A_MULTI }, { "landlock-rules", A_MULTI }, { "rng", A_ONE },
    { "serial", A_ONE }, { "console", A_ONE }, { "balloon", A_ONE }, { "vsock", A_ONE },
    { "platform", A_ONE }, { "tpm", A_ONE }, { "log-file", A_ONE }, { "seccomp", A_ONE },
    { "restore", A_ONE }, { "event-monitor", A_ONE }, { "pci-segment", A_MULTI },
    { "debug-console", A_ONE }, { "watchdog", A_FLAG }, { "pvpanic", A_FLAG },
    { "no-shutdown", A_FLAG }, { "landlock", A_FLAG }, { "version", A_FLAG }, { "help", A_FLAG },
};

static gboolean
ch_parse_bool(const char *v, gboolean *ret)
{
    if (g_str_equal(v, "on") || g_str_equal(v, "true"))
        *ret = TRUE;
    else if (g_str_equal(v, "off") || g_str_equal(v, "false"))
        *ret = FALSE;
    else
        return FALSE;
    return TRUE;
}

static gboolean
ch_parse_size(const char *v, gint64 *ret)
{
    char *end = NULL;
    guint64 n = g_ascii_strtoull(v, &end, 10);

    if (end == v)
        return FALSE;
    if (*end == 'K' || *end == 'k')
        n <<= 10, end++;
    else if (*end == 'M')
        n <<= 20, end++;
    else if (*end == 'G')
        n <<= 30, end++;
    if (*end)
        return FALSE;
    *ret = (gint64)n;
    return TRUE;
}

/* Splits "a=1,b=[2,3],c=\"x,y\"" on the commas that are outside brackets and quotes. */
static GPtrArray *
ch_kv_split(const char *s)
{
    GPtrArray *parts = g_ptr_array_new_with_free_func(g_free);
    GString *cur = g_string_new(NULL);
    int depth = 0;
    gboolean quoted = FALSE;

    for (const char *p = s; *p; p++) {
        if (*p == '"')
            quoted = !quoted;
        else if (*p == '[' && !quoted)
            depth++;
        else if (*p == ']' && !quoted)
            depth--;
        if (*p == ',' && depth == 0 && !quoted) {
            g_ptr_array_add(parts, g_string_free(cur, FALSE));
            cur = g_string_new(NULL);
            continue;
        }
        if (*p != '"')
            g_string_append_c(cur, *p);
    }
    g_ptr_array_add(parts, g_string_free(cur, FALSE));
    return parts;
}

static json_object *
ch_kv_value(const KeySpec *k, const char *v, char **ret_err)
{
    gboolean b;
    gint64 n;

    switch (k->type) {
    case K_STR:
        return json_object_new_string(v);
    case K_BOOL:
        if (!ch_parse_bool(v, &b))
            break;
        return json_object_new_boolean(b);
    case K_INT: {
        char *end = NULL;
        n = g_ascii_strtoll(v, &end, 10);
        if (end == v || *end)
            break;
        return json_object_new_int64(n);
    }
    case K_SIZE:
        if (!ch_parse_size(v, &n))
            break;
        return json_object_new_int64(n);
    case K_ENUM:
        for (const char *const *m = k->map; *m; m += 2)
            if (g_ascii_strcasecmp(m[0], v) == 0)
                return json_object_new_string(m[1]);
        break;
    case K_FDS: {
        g_autofree char *inner = g_strdup(v[0] == '[' ? v + 1 : v);
        g_auto(GStrv) items = NULL;
        json_object *a = json_object_new_array();
        if (*inner && inner[strlen(inner) - 1] == ']')
            inner[strlen(inner) - 1] = '\0';
        items = g_strsplit(inner, ",", -1);
        for (char **i = items; *i; i++)
            json_object_array_add(a, json_object_new_int64(g_ascii_strtoll(*i, NULL, 10)));
        return a;
    }
    case K_TOPO: {
        g_auto(GStrv) t = g_strsplit(v, ":", -1);
        json_object *o;
        if (g_strv_length(t) != 4)
            break;
        o = json_object_new_object();
        json_object_object_add(o, "threads_per_core", json_object_new_int64(g_ascii_strtoll(t[0], NULL, 10)));
        json_object_object_add(o, "cores_per_die", json_object_new_int64(g_ascii_strtoll(t[1], NULL, 10)));
        json_object_object_add(o, "dies_per_package", json_object_new_int64(g_ascii_strtoll(t[2], NULL, 10)));
        json_object_object_add(o, "packages", json_object_new_int64(g_ascii_strtoll(t[3], NULL, 10)));
        return o;
    }
    case K_IGNORE:
        return NULL;
    }
    *ret_err = g_strdup_printf("invalid value '%s' for '%s'", v, k->key);
    return NULL;
}

/* Parses one option value into an object following @keys. Returns NULL with *ret_err. */
static json_object *
ch_kv_parse(const char *opt, const char *s, const KeySpec *keys, char **ret_err)
{
    g_autoptr(GPtrArray) parts = ch_kv_split(s);
    json_object *o = json_object_new_object();

    for (guint i = 0; i < parts->len; i++) {
        const char *part = parts->pdata[i];
        const char *eq = strchr(part, '=');
        g_autofree char *key = eq ? g_strndup(part, (gsize)(eq - part)) : g_strdup(part);
        const KeySpec *k = NULL;
        json_object *v;
        char *verr = NULL;

        if (!*part)
            continue;
        for (const KeySpec *c = keys; c->key; c++)
            if (g_str_equal(c->key, key))
                k = c;
        if (!k || !eq) {
            *ret_err = g_strdup_printf("Error parsing --%s: unknown option: %s", opt, key);
            json_object_put(o);
            return NULL;
        }
        v = ch_kv_value(k, eq + 1, &verr);
        if (verr) {
            *ret_err = g_strdup_printf("Error parsing --%s: %s", opt, verr);
            g_free(verr);
            json_object_put(o);
            return NULL;
        }
        if (v)
            json_object_object_add(o, k->json ? k->json : k->key, v);
    }
    return o;
}

static json_object *
ch_cli_console(const char *opt, const char *s, char **ret_err)
{
    g_autoptr(GPtrArray) parts = ch_kv_split(s);
    json_object *o = json_object_new_object();
    const char *first = parts->pdata[0];
    gboolean iommu = FALSE;
    static const char *const modes[][2] = { { "off", "Off" }, { "null", "Null" }, { "pty", "Pty" },
                                            { "tty", "Tty" } };
    const char *mode = NULL;

    for (gsize i = 0; i < G_N_ELEMENTS(modes); i++)
        if (g_str_equal(first, modes[i][0]))
            mode = modes[i][1];
    if (!mode && g_str_has_prefix(first, "file=")) {
        mode = "File";
        json_object_object_add(o, "file", json_object_new_string(first + 5));
    } else if (!mode && g_str_has_prefix(first, "socket=") && g_str_equal(opt, "serial")) {
        mode = "Socket";
        json_object_object_add(o, "socket", json_object_new_string(first + 7));
    }
    for (guint i = 1; i < parts->len; i++) {
        const char *p = parts->pdata[i];
        if (!g_str_has_prefix(p, "iommu=") || !ch_parse_bool(p + 6, &iommu))
            mode = NULL;
    }
    if (!mode) {
        *ret_err = g_strdup_printf("Error parsing --%s: invalid console mode '%s'", opt, s);
        json_object_put(o);
        return NULL;
    }
    json_object_object_add(o, "mode", json_object_new_string(mode));
    json_object_object_add(o, "iommu", json_object_new_boolean(iommu));
    return o;
}

static void G_GNUC_NORETURN G_GNUC_PRINTF(1, 2)
ch_usage_error(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "error: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n\nUsage: cloud-hypervisor [OPTIONS]\n\nFor more information, try '--help'.\n");
    exit(2);
}

static json_object *
ch_cli_build(GHashTable *vals, char **ret_err)
{
    static const struct { const char *opt, *json; const KeySpec *keys; gboolean list; } objs[] = {
        { "cpus", "cpus", keys_cpus, FALSE }, { "memory", "memory", keys_memory, FALSE },
        { "disk", "disks", keys_disk, TRUE }, { "net", "net", keys_net, TRUE },
        { "rng", "rng", keys_rng, FALSE }, { "balloon", "balloon", keys_balloon, FALSE },
        { "vsock", "vsock", keys_vsock, FALSE }, { "fs", "fs", keys_fs, TRUE },
        { "pmem", "pmem", keys_pmem, TRUE }, { "device", "devices", keys_device, TRUE },
        { "platform", "platform", keys_platform, FALSE },
    };
    json_object *cfg = json_object_new_object();
    json_object *payload = json_object_new_object();
    GPtrArray *v;

    for (const char *const *k = (const char *const[]){ "kernel", "firmware", "initramfs", "cmdline",
                                                       "igvm", NULL }; *k; k++)
        if ((v = g_hash_table_lookup(vals, *k)))
            json_object_object_add(payload, *k, json_object_new_string(v->pdata[0]));
    json_object_object_add(cfg, "payload", payload);
    for (gsize i = 0; i < G_N_ELEMENTS(objs); i++) {
        json_object *arr = NULL;
        if (!(v = g_hash_table_lookup(vals, objs[i].opt)))
            continue;
        for (guint j = 0; j < v->len; j++) {
            json_object *o = ch_kv_parse(objs[i].opt, v->pdata[j], objs[i].keys, ret_err);
            if (!o) {
                json_object_put(arr);
                json_object_put(cfg);
                return NULL;
            }
            if (!objs[i].list) {
                json_object_object_add(cfg, objs[i].json, o);
                continue;
            }
            if (!arr)
                arr = json_object_new_array();
            json_object_array_add(arr, o);
        }
        if (arr)
            json_object_object_add(cfg, objs[i].json, arr);
    }
    if (sim_json_get(cfg, "cpus")) {
        json_object *c = sim_json_get(cfg, "cpus");
        if (!sim_json_get(c, "boot_vcpus"))
            json_object_object_add(c, "boot_vcpus", json_object_new_int(1));
        if (!sim_json_get(c, "max_vcpus"))
            json_object_object_add(c, "max_vcpus", json_object_new_int64(sim_json_get_int(c, "boot_vcpus", 1)));
    }
    if (sim_json_get(cfg, "memory") && !sim_json_get(sim_json_get(cfg, "memory"), "size"))
        json_object_object_add(sim_json_get(cfg, "memory"), "size", json_object_new_int64(512LL << 20));
    for (const char *const *k = (const char *const[]){ "serial", "console", NULL }; *k; k++) {
        json_object *o;
        if (!(v = g_hash_table_lookup(vals, *k)))
            continue;
        if (!(o = ch_cli_console(*k, v->pdata[0], ret_err))) {
            json_object_put(cfg);
            return NULL;
        }
        json_object_object_add(cfg, *k, o);
    }
    json_object_object_add(cfg, "watchdog", json_object_new_boolean(g_hash_table_contains(vals, "watchdog")));
    json_object_object_add(cfg, "pvpanic", json_object_new_boolean(g_hash_table_contains(vals, "pvpanic")));
    return cfg;
}

static int
ch_cli_socket_arg(const char *opt, const char *val, char **ret_path, int *ret_fd)
{
    g_autofree char *err = NULL;
    json_object *o;

    if (!strchr(val, '=')) {
        *ret_path = g_strdup(val);
        return 0;
    }
    if (!(o = ch_kv_parse(opt, val, keys_socket, &err))) {
        fprintf(stderr, "Error: %s\n", err);
        return -1;
    }
    if (sim_json_get_str(o, "path"))
        *ret_path = g_strdup(sim_json_get_str(o, "path"));
    *ret_fd = (int)sim_json_get_int(o, "fd", -1);
    json_object_put(o);
    return 0;
}

int
ch_cli_parse(ChSim *s, int argc, char **argv, char **ret_api_socket, int *ret_api_fd,
             json_object **ret_config, json_object **ret_restore, gboolean *ret_exit_now)
{
    g_autoptr(GHashTable) vals = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                                       (GDestroyNotify)g_ptr_array_unref);
    GPtrArray *v;
    g_autofree char *err = NULL;

    *ret_exit_now = FALSE;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        g_autofree char *name = NULL;
        const char *inline_val = NULL;
        const ArgSpec *spec = NULL;

        if (g_str_equal(a, "-h"))
            a = "--help";
        if (g_str_equal(a, "-V"))
            a = "--version";
        if (a[0] == '-' && a[1] == 'v' && strspn(a + 1, "v") == strlen(a + 1)) {
            s->verbosity += (int)strlen(a + 1);
            continue;
        }
        if (!g_str_has_prefix(a, "--"))
            ch_usage_error("unexpected argument '%s' found", a);
        name = g_strdup(a + 2);
        if (strchr(name, '=')) {
            inline_val = strchr(a, '=') + 1;
            *strchr(name, '=') = '\0';
        }
        for (gsize j = 0; j < G_N_ELEMENTS(ch_args); j++)
            if (g_str_equal(ch_args[j].name, name))
                spec = &ch_args[j];
        if (!spec)
            ch_usage_error("unexpected argument '%s' found", a);
        if (!(v = g_hash_table_lookup(vals, name))) {
            v = g_ptr_array_new_with_free_func(g_free);
            g_hash_table_insert(vals, g_strdup(name), v);
        } else if (spec->kind != A_MULTI) {
            ch_usage_error("the argument '--%s' cannot be used multiple times", name);
        }
        if (spec->kind == A_FLAG)
            continue;
        if (inline_val) {
            g_ptr_array_add(v, g_strdup(inline_val));
        } else {
            if (i + 1 >= argc || argv[i + 1][0] == '-')
                ch_usage_error("a value is required for '--%s' but none was supplied", name);
            g_ptr_array_add(v, g_strdup(argv[++i]));
        }
        while (spec->kind == A_MULTI && i + 1 < argc && argv[i + 1][0] != '-')
            g_ptr_array_add(v, g_strdup(argv[++i]));
    }
    if (g_hash_table_contains(vals, "help")) {
        printf("ch-sim: a Cloud Hypervisor v53.0 simulator for tests\n"
               "Usage: ch-sim [--api-socket path=PATH|fd=N] [--kernel K --cmdline C ...] "
               "[--restore source_url=...] [-v] [--log-file F] [--no-shutdown]\n");
        *ret_exit_now = TRUE;
        return 0;
    }
    if (g_hash_table_contains(vals, "version")) {
        printf("cloud-hypervisor v" CH_SIM_VERSION "\n");
        *ret_exit_now = TRUE;
        return 0;
    }
    if (g_hash_table_contains(vals, "restore") &&
        (g_hash_table_contains(vals, "kernel") || g_hash_table_contains(vals, "firmware")))
        ch_usage_error("the argument '--restore <restore>' cannot be used with '%s'",
                       "--kernel <FILE>");
    s->no_shutdown = g_hash_table_contains(vals, "no-shutdown");
    if ((v = g_hash_table_lookup(vals, "api-socket")) &&
        ch_cli_socket_arg("api-socket", v->pdata[0], ret_api_socket, ret_api_fd) < 0)
        return 1;
    if ((v = g_hash_table_lookup(vals, "log-file"))) {
        s->log_fd = sim_log_open(v->pdata[0]);
        if (s->log_fd < 0) {
            fprintf(stderr, "Error: cannot open the log file '%s': %s\n",
                    (char *)v->pdata[0], g_strerror(errno));
            return 1;
        }
    }
    if ((v = g_hash_table_lookup(vals, "event-monitor"))) {
        g_autofree char *path = NULL;
        int fd = -1;
        if (ch_cli_socket_arg("event-monitor", v->pdata[0], &path, &fd) < 0)
            return 1;
        /* blocking, as CH's: on a FIFO the open waits for its reader */
        s->event_fd = path ? open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644) : fd;
    }
    if ((v = g_hash_table_lookup(vals, "seccomp")) && !g_str_equal(v->pdata[0], "true") &&
        !g_str_equal(v->pdata[0], "false") && !g_str_equal(v->pdata[0], "log") &&
        !g_str_equal(v->pdata[0], "errno"))
        ch_usage_error("invalid value '%s' for '--seccomp'", (const char *)v->pdata[0]);
    if ((v = g_hash_table_lookup(vals, "restore"))) {
        if (!(*ret_restore = ch_kv_parse("restore", v->pdata[0], keys_restore, &err))) {
            fprintf(stderr, "Error parsing restore: %s\n", err);
            return 1;
        }
        return 0;
    }
    if (g_hash_table_contains(vals, "kernel") || g_hash_table_contains(vals, "firmware") ||
        g_hash_table_contains(vals, "igvm")) {
        if (!(*ret_config = ch_cli_build(vals, &err))) {
            fprintf(stderr, "Error parsing config: %s\n", err);
            return 1;
        }
    }
    return 0;
}
