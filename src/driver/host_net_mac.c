#include "host_net_mac.h"

#include <string.h>

/* Give up after this many derivations of one interface: the prefix is then almost full. */
#define MAC_ATTEMPTS 4096

/* Add every <mac address='…'/> of xml to set (the canonical XML Cocoon writes). */
static void
macs_of_xml(const char *xml, GHashTable *set)
{
    static const char *const key = "<mac address='";
    for (const char *p = strstr(xml, key); p; p = strstr(p, key)) {
        p += strlen(key);
        const char *end = strchr(p, '\'');
        if (!end)
            break;
        g_hash_table_add(set, g_ascii_strdown(p, end - p));
        p = end;
    }
}

GHashTable *
host_net_macs_taken(DomainStore *store, const unsigned char *uuid, CvError **err)
{
    g_autoptr(GPtrArray) entries = NULL;
    if (domain_store_list(store, &entries, err) < 0)
        return NULL;
    GHashTable *taken = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (guint i = 0; i < entries->len; i++) {
        const DomainStoreEntry *e = entries->pdata[i];
        if (memcmp(e->uuid, uuid, DOMAIN_UUID_LEN) == 0)
            continue;
        /* a domain removed meanwhile has no XML any more: it takes nothing */
        g_autofree char *xml = domain_store_read_xml(store, e->name, false, NULL, NULL);
        if (xml)
            macs_of_xml(xml, taken);
        if (domain_status_is_active(&e->status)) {
            g_autofree char *live = domain_store_read_xml(store, e->name, true, NULL, NULL);
            if (live)
                macs_of_xml(live, taken);
        }
    }
    return taken;
}

/* 52:54:00 and three bytes of SHA-256(uuid, "index/attempt"). New string. */
static char *
mac_derive(const unsigned char uuid[DOMAIN_UUID_LEN], size_t index, unsigned int attempt)
{
    g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);
    g_autofree char *salt = g_strdup_printf("%zu/%u", index, attempt);
    guint8 digest[32];
    gsize len = sizeof(digest);
    g_checksum_update(sum, uuid, DOMAIN_UUID_LEN);
    g_checksum_update(sum, (const guchar *)salt, -1);
    g_checksum_get_digest(sum, digest, &len);
    return g_strdup_printf("52:54:00:%02x:%02x:%02x", digest[0], digest[1], digest[2]);
}

static bool
mac_used_by_other_nic(const DomainDef *def, size_t index, const char *mac)
{
    for (size_t j = 0; j < def->nnets; j++)
        if (j != index && g_ascii_strcasecmp(def->nets[j]->mac, mac) == 0)
            return true;
    return false;
}

int
host_net_macs_assign(DomainDef *def, GHashTable *taken, CvError **err)
{
    for (size_t i = 0; i < def->nnets; i++) {
        DomainNetDef *net = def->nets[i];
        if (!net->mac_generated)
            continue;
        unsigned int attempt = 0;
        while (g_hash_table_contains(taken, net->mac) || mac_used_by_other_nic(def, i, net->mac)) {
            if (++attempt > MAC_ATTEMPTS) {
                cv_error_set(err, VIR_FROM_NONE, VIR_ERR_OPERATION_FAILED,
                             "cannot find a free MAC address for interface %zu of domain '%s': "
                             "give it a <mac address=…/>",
                             i, def->name);
                return -1;
            }
            g_free(net->mac);
            net->mac = mac_derive(def->uuid, i, attempt);
        }
    }
    return 0;
}

int
host_net_macs_unique(DomainStore *store, DomainDef *def, CvError **err)
{
    bool any = false;
    for (size_t i = 0; i < def->nnets; i++)
        any = any || def->nets[i]->mac_generated;
    if (!any)
        return 0;
    g_autoptr(GHashTable) taken = host_net_macs_taken(store, def->uuid, err);
    if (!taken)
        return -1;
    return host_net_macs_assign(def, taken, err);
}
