#include "local_snapshot.h"

#include <string.h>

#include "driver/local.h"
#include "snapshot/snapshot_meta.h"
#include "snapshot/snapshot_xml.h"

/*
 * The read side of snapshots: lookups, lists with libvirt's filters, the tree, the current
 * snapshot. No lock: a snapshot appears in its folder complete or not at all.
 */

static const char *
root_of(CocoonConn *conn)
{
    LocalDriverPriv *priv = conn->priv;
    return domain_store_root(priv->store);
}

/* The domain must exist (a NO_DOMAIN error otherwise, in libvirt's words). */
static int
check_domain(CocoonDomain *dom, CvError **err)
{
    LocalDriverPriv *priv = dom->conn->priv;
    g_autoptr(DomainStoreEntry) e = domain_store_lookup_handle(
        priv->store, dom->name, dom->uuid, DOMAIN_STORE_LOOKUP_NO_AUTOSTART, err);
    return e ? 0 : -1;
}

int
local_snapshot_count(CocoonConn *conn, const char *dom, CvError **err)
{
    g_autoptr(GPtrArray) list = NULL;
    if (snapshot_meta_list(root_of(conn), dom, &list, err) < 0)
        return -1;
    return (int)list->len;
}

/* Whether m passes the filter groups of flags (each group: none given, or one that matches). */
static bool
snapshot_matches(GPtrArray *list, const SnapshotMeta *m, unsigned int flags)
{
    unsigned int leaves = flags & (VIR_DOMAIN_SNAPSHOT_LIST_LEAVES | VIR_DOMAIN_SNAPSHOT_LIST_NO_LEAVES);
    if (leaves && leaves != (VIR_DOMAIN_SNAPSHOT_LIST_LEAVES | VIR_DOMAIN_SNAPSHOT_LIST_NO_LEAVES)) {
        bool leaf = snapshot_meta_count_children(list, m->name, false) == 0;
        if (leaf != !!(flags & VIR_DOMAIN_SNAPSHOT_LIST_LEAVES))
            return false;
    }
    /* every snapshot Cocoon lists has metadata */
    unsigned int meta = flags & (VIR_DOMAIN_SNAPSHOT_LIST_METADATA | VIR_DOMAIN_SNAPSHOT_LIST_NO_METADATA);
    if (meta == VIR_DOMAIN_SNAPSHOT_LIST_NO_METADATA)
        return false;
    unsigned int st = flags & (VIR_DOMAIN_SNAPSHOT_LIST_INACTIVE | VIR_DOMAIN_SNAPSHOT_LIST_ACTIVE |
                               VIR_DOMAIN_SNAPSHOT_LIST_DISK_ONLY);
    if (st) {
        bool disk_only = strcmp(m->state, "disk-snapshot") == 0;
        bool inactive = strcmp(m->state, "shutoff") == 0;
        bool ok = (disk_only && (st & VIR_DOMAIN_SNAPSHOT_LIST_DISK_ONLY)) ||
                  (inactive && (st & VIR_DOMAIN_SNAPSHOT_LIST_INACTIVE)) ||
                  (!disk_only && !inactive && (st & VIR_DOMAIN_SNAPSHOT_LIST_ACTIVE));
        if (!ok)
            return false;
    }
    /* Cocoon's snapshots are external: the memory and disks are files of their own */
    unsigned int loc = flags & (VIR_DOMAIN_SNAPSHOT_LIST_INTERNAL | VIR_DOMAIN_SNAPSHOT_LIST_EXTERNAL);
    if (loc == VIR_DOMAIN_SNAPSHOT_LIST_INTERNAL)
        return false;
    return true;
}

#define LIST_FILTERS                                                                               \
    (VIR_DOMAIN_SNAPSHOT_LIST_LEAVES | VIR_DOMAIN_SNAPSHOT_LIST_NO_LEAVES |                        \
     VIR_DOMAIN_SNAPSHOT_LIST_METADATA | VIR_DOMAIN_SNAPSHOT_LIST_NO_METADATA |                    \
     VIR_DOMAIN_SNAPSHOT_LIST_INACTIVE | VIR_DOMAIN_SNAPSHOT_LIST_ACTIVE |                         \
     VIR_DOMAIN_SNAPSHOT_LIST_DISK_ONLY | VIR_DOMAIN_SNAPSHOT_LIST_INTERNAL |                      \
     VIR_DOMAIN_SNAPSHOT_LIST_EXTERNAL | VIR_DOMAIN_SNAPSHOT_LIST_TOPOLOGICAL)

/* Order list so that every parent comes before its children (stable otherwise). */
static void
topological(GPtrArray *list)
{
    g_autoptr(GPtrArray) out = g_ptr_array_new();
    g_autoptr(GHashTable) placed = g_hash_table_new(g_str_hash, g_str_equal);
    while (out->len < list->len) {
        guint before = out->len;
        for (guint i = 0; i < list->len; i++) {
            SnapshotMeta *m = list->pdata[i];
            if (g_hash_table_contains(placed, m->name))
                continue;
            if (!m->parent || !snapshot_meta_find(list, m->parent) ||
                g_hash_table_contains(placed, m->parent)) {
                g_ptr_array_add(out, m);
                g_hash_table_add(placed, m->name);
            }
        }
        if (out->len == before)
            break; /* a cycle in edited metadata: leave the rest as it is */
    }
    for (guint i = 0; i < list->len && out->len < list->len; i++)
        if (!g_hash_table_contains(placed, ((SnapshotMeta *)list->pdata[i])->name))
            g_ptr_array_add(out, list->pdata[i]);
    memcpy(list->pdata, out->pdata, sizeof(gpointer) * list->len);
}

/*
 * The snapshots of dom under parent (NULL: all of them; with `roots`, only the roots), with
 * descendants or only the direct children, filtered by flags.
 */
static int
list_filtered(CocoonDomain *dom, const char *parent, bool deep, unsigned int flags,
              CocoonDomainSnapshot ***ret_snaps, size_t *ret_n, CvError **err)
{
    g_autoptr(GPtrArray) list = NULL;
    if (snapshot_meta_list(root_of(dom->conn), dom->name, &list, err) < 0)
        return -1;
    if (flags & VIR_DOMAIN_SNAPSHOT_LIST_TOPOLOGICAL)
        topological(list);
    GPtrArray *out = g_ptr_array_new();
    for (guint i = 0; i < list->len; i++) {
        SnapshotMeta *m = list->pdata[i];
        bool in;
        if (parent)
            in = deep ? snapshot_meta_is_descendant(list, m->name, parent)
                      : g_strcmp0(m->parent, parent) == 0;
        else
            in = !deep || !m->parent; /* deep here: roots only */
        if (in && snapshot_matches(list, m, flags))
            g_ptr_array_add(out, cocoon_domain_snapshot_new(dom, m->name));
    }
    *ret_n = out->len;
    g_ptr_array_add(out, NULL);
    *ret_snaps = (CocoonDomainSnapshot **)g_ptr_array_free(out, FALSE);
    return 0;
}

int
local_domain_list_all_snapshots(CocoonDomain *dom, CocoonDomainSnapshot ***ret_snaps,
                                size_t *ret_n, unsigned int flags, CvError **err)
{
    if (local_check_flags(flags, LIST_FILTERS | VIR_DOMAIN_SNAPSHOT_LIST_ROOTS,
                          "virDomainListAllSnapshots", err) < 0 ||
        check_domain(dom, err) < 0)
        return -1;
    return list_filtered(dom, NULL, flags & VIR_DOMAIN_SNAPSHOT_LIST_ROOTS, flags, ret_snaps,
                         ret_n, err);
}

/* The snapshot snap names, loaded (NO_DOMAIN_SNAPSHOT when gone). */
static SnapshotMeta *
load_snap(CocoonDomainSnapshot *snap, CvError **err)
{
    if (check_domain(snap->dom, err) < 0)
        return NULL;
    return snapshot_meta_load(root_of(snap->dom->conn), snap->dom->name, snap->name, err);
}

int
local_domain_snapshot_list_all_children(CocoonDomainSnapshot *snap,
                                        CocoonDomainSnapshot ***ret_snaps, size_t *ret_n,
                                        unsigned int flags, CvError **err)
{
    if (local_check_flags(flags, LIST_FILTERS | VIR_DOMAIN_SNAPSHOT_LIST_DESCENDANTS,
                          "virDomainSnapshotListAllChildren", err) < 0)
        return -1;
    g_autoptr(SnapshotMeta) m = load_snap(snap, err);
    if (!m)
        return -1;
    return list_filtered(snap->dom, snap->name, flags & VIR_DOMAIN_SNAPSHOT_LIST_DESCENDANTS,
                         flags, ret_snaps, ret_n, err);
}

CocoonDomainSnapshot *
local_domain_snapshot_lookup_by_name(CocoonDomain *dom, const char *name, unsigned int flags,
                                     CvError **err)
{
    if (local_check_flags(flags, 0, "virDomainSnapshotLookupByName", err) < 0 ||
        check_domain(dom, err) < 0)
        return NULL;
    g_autoptr(SnapshotMeta) m = snapshot_meta_load(root_of(dom->conn), dom->name, name, err);
    return m ? cocoon_domain_snapshot_new(dom, m->name) : NULL;
}

char *
local_domain_snapshot_get_xml_desc(CocoonDomainSnapshot *snap, unsigned int flags, CvError **err)
{
    if (local_check_flags(flags, VIR_DOMAIN_SNAPSHOT_XML_SECURE, "virDomainSnapshotGetXMLDesc",
                          err) < 0)
        return NULL;
    g_autoptr(SnapshotMeta) m = load_snap(snap, err);
    return m ? snapshot_xml_format(m) : NULL;
}

CocoonDomainSnapshot *
local_domain_snapshot_get_parent(CocoonDomainSnapshot *snap, unsigned int flags, CvError **err)
{
    if (local_check_flags(flags, 0, "virDomainSnapshotGetParent", err) < 0)
        return NULL;
    g_autoptr(SnapshotMeta) m = load_snap(snap, err);
    if (!m)
        return NULL;
    if (!m->parent) {
        cv_error_set(err, VIR_FROM_DOMAIN_SNAPSHOT, VIR_ERR_NO_DOMAIN_SNAPSHOT,
                     "snapshot '%s' does not have a parent", m->name);
        return NULL;
    }
    return cocoon_domain_snapshot_new(snap->dom, m->parent);
}

/* The current snapshot's name, when it still exists; NULL otherwise. */
static char *
current_name(CocoonDomain *dom)
{
    const char *root = root_of(dom->conn);
    g_autofree char *name = snapshot_meta_current(root, dom->name);
    if (!name)
        return NULL;
    g_autoptr(SnapshotMeta) m = snapshot_meta_load(root, dom->name, name, NULL);
    return m ? g_steal_pointer(&name) : NULL;
}

CocoonDomainSnapshot *
local_domain_snapshot_current(CocoonDomain *dom, unsigned int flags, CvError **err)
{
    if (local_check_flags(flags, 0, "virDomainSnapshotCurrent", err) < 0 ||
        check_domain(dom, err) < 0)
        return NULL;
    g_autofree char *name = current_name(dom);
    if (!name) {
        cv_error_set(err, VIR_FROM_DOMAIN_SNAPSHOT, VIR_ERR_NO_DOMAIN_SNAPSHOT,
                     "the domain does not have a current snapshot");
        return NULL;
    }
    return cocoon_domain_snapshot_new(dom, name);
}

int
local_domain_has_current_snapshot(CocoonDomain *dom, unsigned int flags, CvError **err)
{
    if (local_check_flags(flags, 0, "virDomainHasCurrentSnapshot", err) < 0 ||
        check_domain(dom, err) < 0)
        return -1;
    g_autofree char *name = current_name(dom);
    return name ? 1 : 0;
}

int
local_domain_snapshot_is_current(CocoonDomainSnapshot *snap, unsigned int flags, CvError **err)
{
    if (local_check_flags(flags, 0, "virDomainSnapshotIsCurrent", err) < 0)
        return -1;
    g_autoptr(SnapshotMeta) m = load_snap(snap, err);
    if (!m)
        return -1;
    g_autofree char *name = current_name(snap->dom);
    return g_strcmp0(name, m->name) == 0 ? 1 : 0;
}

int
local_domain_snapshot_has_metadata(CocoonDomainSnapshot *snap, unsigned int flags,
                                   CvError **err)
{
    if (local_check_flags(flags, 0, "virDomainSnapshotHasMetadata", err) < 0)
        return -1;
    g_autoptr(SnapshotMeta) m = load_snap(snap, err);
    return m ? 1 : -1;
}
