#include <string.h>

#include "rpc_dispatch.h"

/*
 * Snapshot procedures: libvirt's virDomainSnapshot* calls, each one driver member. The old
 * count-and-names calls (Num, ListNames, NumChildren, ListChildrenNames) are answered from
 * the driver's lists, as libvirt's own drivers answer them from one snapshot list.
 */

static CocoonDomainSnapshot *
snap_from_wire(RpcCall *call, const cvr_nonnull_domain_snapshot *w)
{
    g_autoptr(CocoonDomain) dom = rpc_domain_from_wire(call, &w->dom);
    return cocoon_domain_snapshot_new(dom, w->name);
}

static void
snap_to_wire(const CocoonDomainSnapshot *snap, cvr_nonnull_domain_snapshot *w)
{
    w->name = g_strdup(snap->name);
    rpc_domain_to_wire(snap->dom, &w->dom);
}

/* The snapshots of a domain (parent NULL) or of a snapshot's subtree, as a driver list. */
static int
list_of(RpcCall *call, const cvr_nonnull_domain *d, const cvr_nonnull_domain_snapshot *parent,
        unsigned int flags, CocoonDomainSnapshot ***ret, size_t *ret_n, CvError **err)
{
    if (parent) {
        RPC_REQUIRE(call, domainSnapshotListAllChildren, err);
        g_autoptr(CocoonDomainSnapshot) snap = snap_from_wire(call, parent);
        return RPC_DRIVER(call, domainSnapshotListAllChildren)(snap, ret, ret_n, flags, err);
    }
    RPC_REQUIRE(call, domainListAllSnapshots, err);
    g_autoptr(CocoonDomain) dom = rpc_domain_from_wire(call, d);
    return RPC_DRIVER(call, domainListAllSnapshots)(dom, ret, ret_n, flags, err);
}

static int
list_count(RpcCall *call, const cvr_nonnull_domain *d, const cvr_nonnull_domain_snapshot *parent,
           unsigned int flags, int *ret_num, CvError **err)
{
    CocoonDomainSnapshot **snaps = NULL;
    size_t n = 0;
    if (list_of(call, d, parent, flags, &snaps, &n, err) < 0)
        return -1;
    cocoon_domain_snapshot_list_free(snaps);
    *ret_num = (int)n;
    return 0;
}

static int
list_names(RpcCall *call, const cvr_nonnull_domain *d, const cvr_nonnull_domain_snapshot *parent,
           int maxnames, unsigned int flags, cvr_domain_snapshot_list_names_ret *ret,
           CvError **err)
{
    if (maxnames < 0 || maxnames > CVR_DOMAIN_SNAPSHOT_LIST_MAX) {
        cv_error_set(err, VIR_FROM_RPC, VIR_ERR_RPC, "too many snapshots requested");
        return -1;
    }
    CocoonDomainSnapshot **snaps = NULL;
    size_t n = 0;
    if (list_of(call, d, parent, flags, &snaps, &n, err) < 0)
        return -1;
    n = MIN(n, (size_t)maxnames);
    ret->names.names_len = n;
    ret->names.names_val = g_new0(cvr_nonnull_string, MAX(n, 1));
    for (size_t i = 0; i < n; i++)
        ret->names.names_val[i] = g_strdup(snaps[i]->name);
    cocoon_domain_snapshot_list_free(snaps);
    return 0;
}

static int
list_all(RpcCall *call, const cvr_nonnull_domain *d, const cvr_nonnull_domain_snapshot *parent,
         int need_results, unsigned int flags, cvr_domain_list_all_snapshots_ret *ret,
         CvError **err)
{
    CocoonDomainSnapshot **snaps = NULL;
    size_t n = 0;
    if (list_of(call, d, parent, flags, &snaps, &n, err) < 0)
        return -1;
    if (n > CVR_DOMAIN_LIST_MAX) {
        cocoon_domain_snapshot_list_free(snaps);
        cv_error_set(err, VIR_FROM_RPC, VIR_ERR_RPC, "too many snapshots: %zu", n);
        return -1;
    }
    if (need_results) {
        ret->snapshots.snapshots_len = n;
        ret->snapshots.snapshots_val = g_new0(cvr_nonnull_domain_snapshot, MAX(n, 1));
        for (size_t i = 0; i < n; i++)
            snap_to_wire(snaps[i], &ret->snapshots.snapshots_val[i]);
    }
    ret->ret = (int)n;
    cocoon_domain_snapshot_list_free(snaps);
    return 0;
}

static int
snapshot_num(RpcCall *call, void *a, void *r, CvError **err)
{
    cvr_domain_flags_args *args = a;
    return list_count(call, &args->dom, NULL, args->flags, &((cvr_int_ret *)r)->value, err);
}

static int
snapshot_num_children(RpcCall *call, void *a, void *r, CvError **err)
{
    cvr_domain_snapshot_flags_args *args = a;
    return list_count(call, NULL, &args->snap, args->flags, &((cvr_int_ret *)r)->value, err);
}

static int
snapshot_list_names(RpcCall *call, void *a, void *r, CvError **err)
{
    cvr_domain_snapshot_list_names_args *args = a;
    return list_names(call, &args->dom, NULL, args->maxnames, args->flags, r, err);
}

static int
snapshot_list_children_names(RpcCall *call, void *a, void *r, CvError **err)
{
    cvr_domain_snapshot_list_children_names_args *args = a;
    return list_names(call, NULL, &args->snap, args->maxnames, args->flags, r, err);
}

static int
list_all_snapshots(RpcCall *call, void *a, void *r, CvError **err)
{
    cvr_domain_list_all_snapshots_args *args = a;
    return list_all(call, &args->dom, NULL, args->need_results, args->flags, r, err);
}

static int
snapshot_list_all_children(RpcCall *call, void *a, void *r, CvError **err)
{
    cvr_domain_snapshot_list_all_children_args *args = a;
    return list_all(call, NULL, &args->snapshot, args->need_results, args->flags, r, err);
}

/* A driver answer that is a snapshot reference, or NULL with *err. */
static int
answer_snap(CocoonDomainSnapshot *snap, void *r)
{
    if (!snap)
        return -1;
    snap_to_wire(snap, &((cvr_domain_snapshot_ret *)r)->snap);
    cocoon_domain_snapshot_free(snap);
    return 0;
}

static int
snapshot_create_xml(RpcCall *call, void *a, void *r, CvError **err)
{
    RPC_REQUIRE(call, domainSnapshotCreateXML, err);
    cvr_domain_snapshot_create_xml_args *args = a;
    g_autoptr(CocoonDomain) dom = rpc_domain_from_wire(call, &args->dom);
    return answer_snap(
        RPC_DRIVER(call, domainSnapshotCreateXML)(dom, args->xml_desc, args->flags, err), r);
}

static int
snapshot_lookup_by_name(RpcCall *call, void *a, void *r, CvError **err)
{
    RPC_REQUIRE(call, domainSnapshotLookupByName, err);
    cvr_domain_snapshot_lookup_by_name_args *args = a;
    g_autoptr(CocoonDomain) dom = rpc_domain_from_wire(call, &args->dom);
    return answer_snap(
        RPC_DRIVER(call, domainSnapshotLookupByName)(dom, args->name, args->flags, err), r);
}

static int
snapshot_current(RpcCall *call, void *a, void *r, CvError **err)
{
    RPC_REQUIRE(call, domainSnapshotCurrent, err);
    cvr_domain_flags_args *args = a;
    g_autoptr(CocoonDomain) dom = rpc_domain_from_wire(call, &args->dom);
    return answer_snap(RPC_DRIVER(call, domainSnapshotCurrent)(dom, args->flags, err), r);
}

static int
has_current_snapshot(RpcCall *call, void *a, void *r, CvError **err)
{
    RPC_REQUIRE(call, domainHasCurrentSnapshot, err);
    cvr_domain_flags_args *args = a;
    g_autoptr(CocoonDomain) dom = rpc_domain_from_wire(call, &args->dom);
    int v = RPC_DRIVER(call, domainHasCurrentSnapshot)(dom, args->flags, err);
    ((cvr_int_ret *)r)->value = v;
    return v < 0 ? -1 : 0;
}

static int
snapshot_get_parent(RpcCall *call, void *a, void *r, CvError **err)
{
    RPC_REQUIRE(call, domainSnapshotGetParent, err);
    cvr_domain_snapshot_flags_args *args = a;
    g_autoptr(CocoonDomainSnapshot) snap = snap_from_wire(call, &args->snap);
    return answer_snap(RPC_DRIVER(call, domainSnapshotGetParent)(snap, args->flags, err), r);
}

static int
snapshot_get_xml_desc(RpcCall *call, void *a, void *r, CvError **err)
{
    RPC_REQUIRE(call, domainSnapshotGetXMLDesc, err);
    cvr_domain_snapshot_flags_args *args = a;
    g_autoptr(CocoonDomainSnapshot) snap = snap_from_wire(call, &args->snap);
    char *xml = RPC_DRIVER(call, domainSnapshotGetXMLDesc)(snap, args->flags, err);
    if (!xml)
        return -1;
    ((cvr_domain_snapshot_get_xml_desc_ret *)r)->xml = xml;
    return 0;
}

/* A snapshot member answering an int (IsCurrent, HasMetadata), or acting (revert, delete). */
typedef int (*SnapFlagsFunc)(CocoonDomainSnapshot *snap, unsigned int flags, CvError **err);

static int
snap_call(RpcCall *call, SnapFlagsFunc fn, void *a, void *r, CvError **err)
{
    if (!fn)
        return rpc_no_support(call, err);
    cvr_domain_snapshot_flags_args *args = a;
    g_autoptr(CocoonDomainSnapshot) snap = snap_from_wire(call, &args->snap);
    int v = fn(snap, args->flags, err);
    if (r)
        ((cvr_int_ret *)r)->value = v;
    return v < 0 ? -1 : 0;
}

static int
snapshot_is_current(RpcCall *call, void *a, void *r, CvError **err)
{
    return snap_call(call, RPC_DRIVER(call, domainSnapshotIsCurrent), a, r, err);
}

static int
snapshot_has_metadata(RpcCall *call, void *a, void *r, CvError **err)
{
    return snap_call(call, RPC_DRIVER(call, domainSnapshotHasMetadata), a, r, err);
}

static int
revert_to_snapshot(RpcCall *call, void *a, void *r, CvError **err)
{
    return snap_call(call, RPC_DRIVER(call, domainRevertToSnapshot), a, NULL, err);
}

static int
snapshot_delete(RpcCall *call, void *a, void *r, CvError **err)
{
    return snap_call(call, RPC_DRIVER(call, domainSnapshotDelete), a, NULL, err);
}

#define SNAP_FLAGS RPC_XDR(cvr_domain_snapshot_flags_args)

const RpcProcedure rpc_snapshot_procedures[] = {
    {CVR_PROC_DOMAIN_SNAPSHOT_CREATE_XML, "virDomainSnapshotCreateXML",
     RPC_XDR(cvr_domain_snapshot_create_xml_args), RPC_XDR(cvr_domain_snapshot_ret),
     snapshot_create_xml, RPC_PROC_WRITE},
    {CVR_PROC_DOMAIN_SNAPSHOT_GET_XML_DESC, "virDomainSnapshotGetXMLDesc", SNAP_FLAGS,
     RPC_XDR(cvr_domain_snapshot_get_xml_desc_ret), snapshot_get_xml_desc, 0},
    {CVR_PROC_DOMAIN_SNAPSHOT_NUM, "virDomainSnapshotNum", RPC_XDR(cvr_domain_flags_args),
     RPC_XDR(cvr_int_ret), snapshot_num, 0},
    {CVR_PROC_DOMAIN_SNAPSHOT_LIST_NAMES, "virDomainSnapshotListNames",
     RPC_XDR(cvr_domain_snapshot_list_names_args), RPC_XDR(cvr_domain_snapshot_list_names_ret),
     snapshot_list_names, 0},
    {CVR_PROC_DOMAIN_SNAPSHOT_LOOKUP_BY_NAME, "virDomainSnapshotLookupByName",
     RPC_XDR(cvr_domain_snapshot_lookup_by_name_args), RPC_XDR(cvr_domain_snapshot_ret),
     snapshot_lookup_by_name, 0},
    {CVR_PROC_DOMAIN_HAS_CURRENT_SNAPSHOT, "virDomainHasCurrentSnapshot",
     RPC_XDR(cvr_domain_flags_args), RPC_XDR(cvr_int_ret), has_current_snapshot, 0},
    {CVR_PROC_DOMAIN_SNAPSHOT_CURRENT, "virDomainSnapshotCurrent", RPC_XDR(cvr_domain_flags_args),
     RPC_XDR(cvr_domain_snapshot_ret), snapshot_current, 0},
    {CVR_PROC_DOMAIN_REVERT_TO_SNAPSHOT, "virDomainRevertToSnapshot", SNAP_FLAGS, RPC_NONE,
     revert_to_snapshot, RPC_PROC_WRITE},
    {CVR_PROC_DOMAIN_SNAPSHOT_DELETE, "virDomainSnapshotDelete", SNAP_FLAGS, RPC_NONE,
     snapshot_delete, RPC_PROC_WRITE},
    {CVR_PROC_DOMAIN_SNAPSHOT_GET_PARENT, "virDomainSnapshotGetParent", SNAP_FLAGS,
     RPC_XDR(cvr_domain_snapshot_ret), snapshot_get_parent, 0},
    {CVR_PROC_DOMAIN_SNAPSHOT_NUM_CHILDREN, "virDomainSnapshotNumChildren", SNAP_FLAGS,
     RPC_XDR(cvr_int_ret), snapshot_num_children, 0},
    {CVR_PROC_DOMAIN_SNAPSHOT_LIST_CHILDREN_NAMES, "virDomainSnapshotListChildrenNames",
     RPC_XDR(cvr_domain_snapshot_list_children_names_args),
     RPC_XDR(cvr_domain_snapshot_list_names_ret), snapshot_list_children_names, 0},
    {CVR_PROC_DOMAIN_SNAPSHOT_IS_CURRENT, "virDomainSnapshotIsCurrent", SNAP_FLAGS,
     RPC_XDR(cvr_int_ret), snapshot_is_current, 0},
    {CVR_PROC_DOMAIN_SNAPSHOT_HAS_METADATA, "virDomainSnapshotHasMetadata", SNAP_FLAGS,
     RPC_XDR(cvr_int_ret), snapshot_has_metadata, 0},
    {CVR_PROC_DOMAIN_LIST_ALL_SNAPSHOTS, "virDomainListAllSnapshots",
     RPC_XDR(cvr_domain_list_all_snapshots_args), RPC_XDR(cvr_domain_list_all_snapshots_ret),
     list_all_snapshots, 0},
    {CVR_PROC_DOMAIN_SNAPSHOT_LIST_ALL_CHILDREN, "virDomainSnapshotListAllChildren",
     RPC_XDR(cvr_domain_snapshot_list_all_children_args),
     RPC_XDR(cvr_domain_list_all_snapshots_ret), snapshot_list_all_children, 0},
};
const size_t rpc_snapshot_procedures_len = G_N_ELEMENTS(rpc_snapshot_procedures);
