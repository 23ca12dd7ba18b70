#include "domain_xml_priv.h"

#include <string.h>

/* Lifetime of a definition (free, copy) and the small value conversions (uuid, lifecycle). */

static const char *const lifecycle_names[DOMAIN_LIFECYCLE_ACTION_LAST] = {
    [DOMAIN_LIFECYCLE_ACTION_DEFAULT] = "",
    [DOMAIN_LIFECYCLE_ACTION_DESTROY] = "destroy",
    [DOMAIN_LIFECYCLE_ACTION_RESTART] = "restart",
    [DOMAIN_LIFECYCLE_ACTION_RESTART_RENAME] = "rename-restart",
    [DOMAIN_LIFECYCLE_ACTION_PRESERVE] = "preserve",
    [DOMAIN_LIFECYCLE_ACTION_COREDUMP_DESTROY] = "coredump-destroy",
    [DOMAIN_LIFECYCLE_ACTION_COREDUMP_RESTART] = "coredump-restart",
};

const char *
domain_lifecycle_action_to_string(DomainLifecycleAction action)
{
    if ((int)action < 0 || action >= DOMAIN_LIFECYCLE_ACTION_LAST)
        return NULL;
    return lifecycle_names[action];
}

int
domain_lifecycle_action_from_string(const char *str)
{
    for (int i = DOMAIN_LIFECYCLE_ACTION_DEFAULT + 1; i < DOMAIN_LIFECYCLE_ACTION_LAST; i++) {
        if (strcmp(lifecycle_names[i], str) == 0)
            return i;
    }
    return -1;
}

void
domain_uuid_format(const unsigned char uuid[DOMAIN_UUID_LEN], char buf[DOMAIN_UUID_STRING_LEN])
{
    g_snprintf(buf, DOMAIN_UUID_STRING_LEN,
               "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", uuid[0],
               uuid[1], uuid[2], uuid[3], uuid[4], uuid[5], uuid[6], uuid[7], uuid[8], uuid[9],
               uuid[10], uuid[11], uuid[12], uuid[13], uuid[14], uuid[15]);
}

int
domain_uuid_parse(const char *str, unsigned char uuid[DOMAIN_UUID_LEN])
{
    unsigned char out[DOMAIN_UUID_LEN];
    size_t ndigits = 0;

    if (!str)
        return -1;
    while (g_ascii_isspace(*str))
        str++;
    /* 32 hex digits; dashes may separate them (libvirt accepts them anywhere between) */
    for (; *str && ndigits < 2 * DOMAIN_UUID_LEN; str++) {
        if (*str == '-' && ndigits > 0)
            continue;
        if (!g_ascii_isxdigit(*str))
            return -1;
        int value = g_ascii_xdigit_value(*str);
        if (ndigits % 2 == 0)
            out[ndigits / 2] = (unsigned char)(value << 4);
        else
            out[ndigits / 2] |= (unsigned char)value;
        ndigits++;
    }
    while (g_ascii_isspace(*str))
        str++;
    if (ndigits != 2 * DOMAIN_UUID_LEN || *str != '\0')
        return -1;
    memcpy(uuid, out, DOMAIN_UUID_LEN);
    return 0;
}

void
domain_disk_def_free(DomainDiskDef *disk)
{
    if (!disk)
        return;
    g_free(disk->driver_name);
    g_free(disk->format);
    g_free(disk->source);
    g_free(disk->target_dev);
    g_free(disk->serial);
    g_free(disk->cache);
    g_free(disk->io);
    g_free(disk);
}

void
domain_net_def_free(DomainNetDef *net)
{
    if (!net)
        return;
    g_free(net->bridge);
    g_free(net->target_dev);
    g_free(net->mac);
    g_free(net->model);
    for (size_t i = 0; i < net->nips; i++) {
        g_free(net->ips[i].address);
        g_free(net->ips[i].peer);
    }
    g_free(net->ips);
    for (size_t i = 0; i < net->nroutes; i++) {
        g_free(net->routes[i].address);
        g_free(net->routes[i].gateway);
    }
    g_free(net->routes);
    g_free(net);
}

void
domain_chr_def_free(DomainChrDef *chr)
{
    if (!chr)
        return;
    g_free(chr->path);
    g_free(chr);
}

void
domain_rng_def_free(DomainRNGDef *rng)
{
    if (!rng)
        return;
    g_free(rng->backend);
    g_free(rng);
}

void
domain_fs_def_free(DomainFSDef *fs)
{
    if (!fs)
        return;
    g_free(fs->socket);
    g_free(fs->source_dir);
    g_free(fs->target);
    g_free(fs);
}

void
domain_hostdev_def_free(DomainHostdevDef *hostdev)
{
    g_free(hostdev);
}

#define FREE_ARRAY(arr, n, fn)                                                                     \
    do {                                                                                           \
        for (size_t i_ = 0; i_ < (n); i_++)                                                        \
            fn((arr)[i_]);                                                                         \
        g_free(arr);                                                                               \
    } while (0)

void
domain_def_free(DomainDef *def)
{
    if (!def)
        return;
    g_free(def->name);
    g_free(def->title);
    g_free(def->description);
    g_free(def->metadata);
    g_free(def->vcpu_placement);
    g_free(def->memory_source);
    g_free(def->os.type);
    g_free(def->os.arch);
    g_free(def->os.machine);
    g_free(def->os.loader);
    g_free(def->os.loader_type);
    g_free(def->os.loader_secure);
    g_free(def->clock_offset);
    for (size_t i = 0; i < def->ntimers; i++) {
        g_free(def->timers[i].name);
        g_free(def->timers[i].tickpolicy);
    }
    g_free(def->timers);
    g_free(def->os.kernel);
    g_free(def->os.initrd);
    g_free(def->os.cmdline);
    g_free(def->emulator);
    FREE_ARRAY(def->disks, def->ndisks, domain_disk_def_free);
    FREE_ARRAY(def->nets, def->nnets, domain_net_def_free);
    FREE_ARRAY(def->serials, def->nserials, domain_chr_def_free);
    FREE_ARRAY(def->consoles, def->nconsoles, domain_chr_def_free);
    FREE_ARRAY(def->rngs, def->nrngs, domain_rng_def_free);
    g_free(def->memballoon);
    g_free(def->vsock);
    FREE_ARRAY(def->fss, def->nfss, domain_fs_def_free);
    FREE_ARRAY(def->hostdevs, def->nhostdevs, domain_hostdev_def_free);
    g_free(def);
}

DomainDef *
domain_def_copy(const DomainDef *def, CvError **err)
{
    /* Format and parse: the copy is exactly what a round trip through the XML keeps, and
     * NO_GENERATE keeps an empty uuid or MAC empty instead of inventing one. */
    g_autofree char *xml = domain_def_format(def, -1);
    return domain_def_parse_string(xml, DOMAIN_DEF_PARSE_NO_GENERATE, err);
}
