#include "local.h"

#include <string.h>
#include <sys/utsname.h>

#include "driver/backend.h"

/*
 * The host calls every client makes before it does anything: the most vCPUs a domain may
 * have, free memory (whole host and per NUMA cell, from /proc and sysfs), and the domain
 * capabilities of each backend (what it boots, which devices it takes; virt-install reads it).
 */

#define CELLS_MAX 1024

/* The backend a hypervisor type names: "kvm" and NULL mean the default one. */
static const CocoonBackend *
backend_of_type(CocoonConn *conn, const char *type, CvError **err)
{
    LocalDriverPriv *priv = conn->priv;
    if (!type || g_ascii_strcasecmp(type, "kvm") == 0)
        return cocoon_config_default_backend(priv->config);
    for (int k = 0; k < BACKEND_LAST; k++)
        if (g_ascii_strcasecmp(type, backend_by_kind(k)->name) == 0)
            return backend_by_kind(k);
    cv_error_set(err, VIR_FROM_NONE, VIR_ERR_INVALID_ARG, "unknown type '%s'", type);
    return NULL;
}

int
local_connect_get_max_vcpus(CocoonConn *conn, const char *type, CvError **err)
{
    const CocoonBackend *b = backend_of_type(conn, type, err);
    return b ? (int)b->max_vcpus : -1;
}

/* The "Key: N kB" value of a meminfo file (/proc/meminfo, or a node's, whose lines start
 * with "Node N "), in bytes; -1 when absent. */
static long long
meminfo_bytes(const char *path, const char *key)
{
    g_autofree char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL))
        return -1;
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    for (char **l = lines; *l; l++) {
        const char *p = strstr(*l, key);
        if (!p || p[strlen(key)] != ':')
            continue;
        unsigned long long kib = g_ascii_strtoull(p + strlen(key) + 1, NULL, 10);
        return (long long)(kib * 1024);
    }
    return -1;
}

int
local_node_get_free_memory(CocoonConn *conn, unsigned long long *ret_bytes, CvError **err)
{
    /* as libvirt: the sum of the NUMA cells when the host has them, so freecell's total and
     * its cells agree; /proc/meminfo otherwise */
    unsigned long long cells[CELLS_MAX];
    int n = local_node_get_cells_free_memory(conn, cells, 0, CELLS_MAX, NULL);
    if (n > 0 && g_file_test("/sys/devices/system/node/node0/meminfo", G_FILE_TEST_EXISTS)) {
        unsigned long long sum = 0;
        for (int i = 0; i < n; i++)
            sum += cells[i];
        *ret_bytes = sum;
        return 0;
    }
    long long free_bytes = meminfo_bytes("/proc/meminfo", "MemFree");
    if (free_bytes < 0) {
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_INTERNAL_ERROR,
                     "cannot read free memory from '/proc/meminfo'");
        return -1;
    }
    *ret_bytes = (unsigned long long)free_bytes;
    return 0;
}

int
local_node_get_cells_free_memory(CocoonConn *conn, unsigned long long *cells, int start,
                                 int max, CvError **err)
{
    /* a host without NUMA information in sysfs is one cell: the whole host */
    bool numa = g_file_test("/sys/devices/system/node/node0/meminfo", G_FILE_TEST_EXISTS);
    int ncells = 0;
    while (numa) {
        g_autofree char *path =
            g_strdup_printf("/sys/devices/system/node/node%d/meminfo", ncells);
        if (!g_file_test(path, G_FILE_TEST_EXISTS))
            break;
        ncells++;
    }
    if (!numa)
        ncells = 1;
    if (start < 0 || start >= ncells) {
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_INVALID_ARG,
                     "start cell %d out of range (0-%d)", start, ncells - 1);
        return -1;
    }
    int n = 0;
    for (int c = start; c < ncells && n < max; c++, n++) {
        long long b;
        if (numa) {
            g_autofree char *path = g_strdup_printf("/sys/devices/system/node/node%d/meminfo", c);
            b = meminfo_bytes(path, "MemFree");
        } else {
            b = meminfo_bytes("/proc/meminfo", "MemFree");
        }
        if (b < 0) {
            cv_error_set(err, VIR_FROM_NONE, VIR_ERR_INTERNAL_ERROR,
                         "cannot read the free memory of cell %d", c);
            return -1;
        }
        cells[n] = (unsigned long long)b;
    }
    return n;
}

/* The highest CPU number in a sysfs CPU list ("0-3,5"), into bits of map when not NULL;
 * -1 when unreadable. */
static int
cpu_list_parse(const char *path, unsigned char *map, size_t map_len, unsigned int *ret_count)
{
    g_autofree char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL))
        return -1;
    g_auto(GStrv) parts = g_strsplit(g_strstrip(text), ",", -1);
    int highest = -1;
    unsigned int count = 0;
    for (char **p = parts; *p && **p; p++) {
        char *end = NULL;
        long lo = strtol(*p, &end, 10), hi = lo;
        if (*end == '-')
            hi = strtol(end + 1, NULL, 10);
        for (long c = lo; c <= hi; c++) {
            count++;
            if (map && (size_t)c / 8 < map_len)
                map[c / 8] |= (unsigned char)(1u << (c % 8));
        }
        highest = MAX(highest, (int)hi);
    }
    if (ret_count)
        *ret_count = count;
    return highest;
}

int
local_node_get_cpu_map(CocoonConn *conn, unsigned char **ret_map, unsigned int *ret_online,
                       CvError **err)
{
    int highest = cpu_list_parse("/sys/devices/system/cpu/present", NULL, 0, NULL);
    if (highest < 0) {
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_INTERNAL_ERROR,
                     "cannot read '/sys/devices/system/cpu/present'");
        return -1;
    }
    size_t len = (size_t)highest / 8 + 1;
    g_autofree unsigned char *map = g_malloc0(len);
    unsigned int online = 0;
    if (cpu_list_parse("/sys/devices/system/cpu/online", map, len, &online) < 0) {
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_INTERNAL_ERROR,
                     "cannot read '/sys/devices/system/cpu/online'");
        return -1;
    }
    if (ret_map)
        *ret_map = g_steal_pointer(&map);
    if (ret_online)
        *ret_online = online;
    return highest + 1;
}

char *
local_connect_get_domain_capabilities(CocoonConn *conn, const char *emulatorbin,
                                      const char *arch, const char *machine,
                                      const char *virttype, unsigned int flags, CvError **err)
{
    if (local_check_flags(flags, 0, "virConnectGetDomainCapabilities", err) < 0)
        return NULL;
    LocalDriverPriv *priv = conn->priv;
    if (virttype && strcmp(virttype, "kvm") != 0) {
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_INVALID_ARG,
                     "unknown virttype: %s", virttype);
        return NULL;
    }
    struct utsname u;
    const char *host_arch = uname(&u) == 0 ? u.machine : "x86_64";
    if (arch && strcmp(arch, host_arch) != 0) {
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_INVALID_ARG,
                     "emulator does not support architecture '%s'", arch);
        return NULL;
    }
    const CocoonBackend *b = cocoon_config_default_backend(priv->config);
    if (emulatorbin && !(b = backend_for_emulator(emulatorbin))) {
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_INVALID_ARG,
                     "emulator '%s' is neither firecracker nor cloud-hypervisor", emulatorbin);
        return NULL;
    }
    const char *path = emulatorbin ? emulatorbin : cocoon_config_default_emulator(priv->config, b);
    g_autofree char *epath = g_markup_escape_text(path, -1);
    GString *xml = g_string_new("<domainCapabilities>\n");
    g_string_append_printf(xml, "  <path>%s</path>\n  <domain>kvm</domain>\n", epath);
    if (machine) {
        g_autofree char *emachine = g_markup_escape_text(machine, -1);
        g_string_append_printf(xml, "  <machine>%s</machine>\n", emachine);
    }
    g_string_append_printf(xml, "  <arch>%s</arch>\n  <vcpu max='%u'/>\n", host_arch,
                           b->max_vcpus);
    g_string_append(xml, "  <iothreads supported='no'/>\n");
    b->domcaps_format(xml);
    g_string_append(xml, "</domainCapabilities>\n");
    return g_string_free(xml, FALSE);
}
