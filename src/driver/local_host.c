#include "local.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

/* Host-wide answers of the local driver: version, hostname, capabilities, node info. */

long long
local_version_parse(const char *version)
{
    unsigned int major = 0, minor = 0, micro = 0;
    if (!version || sscanf(version, "%u.%u.%u", &major, &minor, &micro) < 2 || minor > 999 ||
        micro > 999)
        return -1;
    return (long long)major * 1000000 + minor * 1000 + micro;
}

int
local_connect_get_version(CocoonConn *conn, unsigned long long *ret_version, CvError **err)
{
    long long v = local_version_parse(COCOON_VERSION);
    if (v < 0) {
        cv_error_set(err, VIR_FROM_CH, VIR_ERR_INTERNAL_ERROR, "cannot parse version '%s'",
                     COCOON_VERSION);
        return -1;
    }
    *ret_version = (unsigned long long)v;
    return 0;
}

char *
local_connect_get_hostname(CocoonConn *conn, CvError **err)
{
    char name[HOST_NAME_MAX + 1];
    if (gethostname(name, sizeof(name)) < 0) {
        cv_error_set_errno(err, VIR_FROM_CH, errno, "cannot get the host name");
        return NULL;
    }
    name[HOST_NAME_MAX] = '\0';
    return g_strdup(name);
}

static char *
host_arch(void)
{
    struct utsname u;
    if (uname(&u) < 0)
        return g_strdup("x86_64");
    return g_strdup(u.machine);
}

/* The host's uuid: /etc/machine-id (32 hex digits) in uuid form, or NULL. */
static char *
host_uuid(void)
{
    g_autofree char *id = NULL;
    if (!g_file_get_contents("/etc/machine-id", &id, NULL, NULL))
        return NULL;
    g_strstrip(id);
    unsigned char raw[DOMAIN_UUID_LEN];
    if (domain_uuid_parse(id, raw) < 0)
        return NULL;
    char text[DOMAIN_UUID_STRING_LEN];
    domain_uuid_format(raw, text);
    return g_strdup(text);
}

char *
local_connect_get_capabilities(CocoonConn *conn, CvError **err)
{
    LocalDriverPriv *priv = conn->priv;
    g_autofree char *arch = host_arch();
    g_autofree char *uuid = host_uuid();
    const CocoonBackend *def_backend = cocoon_config_default_backend(priv->config);

    GString *xml = g_string_new("<capabilities>\n\n  <host>\n");
    if (uuid)
        g_string_append_printf(xml, "    <uuid>%s</uuid>\n", uuid);
    g_string_append_printf(xml, "    <cpu>\n      <arch>%s</arch>\n    </cpu>\n", arch);
    g_string_append(xml, "  </host>\n\n");
    /* Both hypervisors run x86_64 KVM guests; the first <emulator> is the default one. */
    g_string_append(xml, "  <guest>\n    <os_type>hvm</os_type>\n"
                         "    <arch name='x86_64'>\n      <wordsize>64</wordsize>\n");
    g_autofree char *def_emu =
        g_markup_escape_text(cocoon_config_default_emulator(priv->config, def_backend), -1);
    g_string_append_printf(xml, "      <emulator>%s</emulator>\n", def_emu);
    for (int k = 0; k < BACKEND_LAST; k++) {
        g_autofree char *emu = g_markup_escape_text(
            cocoon_config_default_emulator(priv->config, backend_by_kind(k)), -1);
        g_string_append_printf(xml,
                               "      <domain type='kvm'>\n"
                               "        <emulator>%s</emulator>\n"
                               "      </domain>\n",
                               emu);
    }
    g_string_append(xml, "    </arch>\n  </guest>\n\n</capabilities>\n");
    return g_string_free(xml, FALSE);
}

/* The value after "key<spaces>:" on a line of /proc/cpuinfo-like text, or NULL. */
static const char *
field_value(const char *line, const char *key)
{
    size_t n = strlen(key);
    if (strncmp(line, key, n) != 0)
        return NULL;
    line += n;
    while (*line == ' ' || *line == '\t')
        line++;
    if (*line != ':')
        return NULL;
    return line + 1;
}

int
local_node_get_info(CocoonConn *conn, CocoonNodeInfo *ret_info, CvError **err)
{
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    CocoonNodeInfo info = {.cpus = online > 0 ? (unsigned int)online : 1, .nodes = 1};

    g_autofree char *meminfo = NULL;
    if (!g_file_get_contents("/proc/meminfo", &meminfo, NULL, NULL)) {
        cv_error_set_errno(err, VIR_FROM_CH, errno, "cannot read '/proc/meminfo'");
        return -1;
    }
    g_auto(GStrv) mlines = g_strsplit(meminfo, "\n", -1);
    for (char **l = mlines; *l; l++) {
        const char *v = field_value(*l, "MemTotal");
        if (v)
            info.memory_kib = strtoul(v, NULL, 10);
    }

    /* cpuinfo: sockets = distinct physical ids, cores per socket, threads per core */
    g_autofree char *cpuinfo = NULL;
    g_autoptr(GHashTable) sockets = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    unsigned int cores = 0, siblings = 0;
    double mhz = 0;
    if (g_file_get_contents("/proc/cpuinfo", &cpuinfo, NULL, NULL)) {
        g_auto(GStrv) lines = g_strsplit(cpuinfo, "\n", -1);
        for (char **l = lines; *l; l++) {
            const char *v;
            if ((v = field_value(*l, "physical id")))
                g_hash_table_add(sockets, g_strstrip(g_strdup(v)));
            else if ((v = field_value(*l, "cpu cores")) && !cores)
                cores = (unsigned int)strtoul(v, NULL, 10);
            else if ((v = field_value(*l, "siblings")) && !siblings)
                siblings = (unsigned int)strtoul(v, NULL, 10);
            else if ((v = field_value(*l, "cpu MHz")) && mhz == 0)
                mhz = g_ascii_strtod(v, NULL);
        }
    }
    info.mhz = (unsigned int)(mhz + 0.5);
    info.sockets = g_hash_table_size(sockets) ? g_hash_table_size(sockets) : 1;
    info.cores = cores ? cores : info.cpus / info.sockets;
    info.threads = cores && siblings >= cores ? siblings / cores : 1;
    /* offline CPUs or odd topologies: fall back to a flat one that adds up, as libvirt does */
    if (info.nodes * info.sockets * info.cores * info.threads != info.cpus) {
        info.sockets = 1;
        info.cores = info.cpus;
        info.threads = 1;
    }
    info.model = host_arch();
    *ret_info = info;
    return 0;
}
