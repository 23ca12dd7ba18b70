#include <string.h>

#include "remote_priv.h"

/*
 * The remote driver's snapshot members: libvirt's snapshot procedures, one call each
 * (driver.h documents the members).
 */

static void
snap_to_wire(const CocoonDomainSnapshot *snap, cvr_nonnull_domain_snapshot *w)
{
    w->name = snap->name;
    remote_domain_to_wire(snap->dom, &w->dom);
}

/* A call whose answer is one snapshot of conn. */
static CocoonDomainSnapshot *
snap_call_ret(CocoonConn *conn, int proc, xdrproc_t args_filter, const void *args, CvError **err)
{
    cvr_domain_snapshot_ret ret;
    if (remote_call(conn, proc, args_filter, args, (xdrproc_t)xdr_cvr_domain_snapshot_ret, &ret,
                    sizeof(ret), err) < 0)
        return NULL;
    g_autoptr(CocoonDomain) dom = remote_domain_from_wire(conn, &ret.snap.dom);
    CocoonDomainSnapshot *snap = cocoon_domain_snapshot_new(dom, ret.snap.name);
    xdr_free((xdrproc_t)xdr_cvr_domain_snapshot_ret, (char *)&ret);
    return snap;
}

/* {snap, flags} → ret_filter */
static int
snap_call(CocoonDomainSnapshot *snap, int proc, unsigned int flags, xdrproc_t ret_filter,
          void *ret, size_t ret_size, CvError **err)
{
    cvr_domain_snapshot_flags_args args = {.flags = flags};
    snap_to_wire(snap, &args.snap);
    return remote_call(snap->dom->conn, proc, (xdrproc_t)xdr_cvr_domain_snapshot_flags_args,
                       &args, ret_filter, ret, ret_size, err);
}

static int
snap_call_int(CocoonDomainSnapshot *snap, int proc, unsigned int flags, CvError **err)
{
    cvr_int_ret ret;
    if (snap_call(snap, proc, flags, (xdrproc_t)xdr_cvr_int_ret, &ret, sizeof(ret), err) < 0)
        return -1;
    return ret.value;
}

CocoonDomainSnapshot *
remote_domain_snapshot_create_xml(CocoonDomain *dom, const char *xml, unsigned int flags,
                                  CvError **err)
{
    cvr_domain_snapshot_create_xml_args args = {.xml_desc = (char *)xml, .flags = flags};
    remote_domain_to_wire(dom, &args.dom);
    return snap_call_ret(dom->conn, CVR_PROC_DOMAIN_SNAPSHOT_CREATE_XML,
                         (xdrproc_t)xdr_cvr_domain_snapshot_create_xml_args, &args, err);
}

/* The answer of LIST_ALL_SNAPSHOTS / LIST_ALL_CHILDREN as a driver list. */
static int
snap_list_from(CocoonConn *conn, cvr_domain_list_all_snapshots_ret *ret,
               CocoonDomainSnapshot ***ret_snaps, size_t *ret_n)
{
    size_t n = ret->snapshots.snapshots_len;
    CocoonDomainSnapshot **out = g_new0(CocoonDomainSnapshot *, n + 1);
    for (size_t i = 0; i < n; i++) {
        cvr_nonnull_domain_snapshot *w = &ret->snapshots.snapshots_val[i];
        g_autoptr(CocoonDomain) dom = remote_domain_from_wire(conn, &w->dom);
        out[i] = cocoon_domain_snapshot_new(dom, w->name);
    }
    xdr_free((xdrproc_t)xdr_cvr_domain_list_all_snapshots_ret, (char *)ret);
    *ret_snaps = out;
    *ret_n = n;
    return 0;
}

int
remote_domain_list_all_snapshots(CocoonDomain *dom, CocoonDomainSnapshot ***ret_snaps,
                                 size_t *ret_n, unsigned int flags, CvError **err)
{
    cvr_domain_list_all_snapshots_args args = {.need_results = 1, .flags = flags};
    cvr_domain_list_all_snapshots_ret ret;
    remote_domain_to_wire(dom, &args.dom);
    if (remote_call(dom->conn, CVR_PROC_DOMAIN_LIST_ALL_SNAPSHOTS,
                    (xdrproc_t)xdr_cvr_domain_list_all_snapshots_args, &args,
                    (xdrproc_t)xdr_cvr_domain_list_all_snapshots_ret, &ret, sizeof(ret), err) < 0)
        return -1;
    return snap_list_from(dom->conn, &ret, ret_snaps, ret_n);
}

int
remote_domain_snapshot_list_all_children(CocoonDomainSnapshot *snap,
                                         CocoonDomainSnapshot ***ret_snaps, size_t *ret_n,
                                         unsigned int flags, CvError **err)
{
    cvr_domain_snapshot_list_all_children_args args = {.need_results = 1, .flags = flags};
    cvr_domain_list_all_snapshots_ret ret;
    snap_to_wire(snap, &args.snapshot);
    if (remote_call(snap->dom->conn, CVR_PROC_DOMAIN_SNAPSHOT_LIST_ALL_CHILDREN,
                    (xdrproc_t)xdr_cvr_domain_snapshot_list_all_children_args, &args,
                    (xdrproc_t)xdr_cvr_domain_list_all_snapshots_ret, &ret, sizeof(ret), err) < 0)
        return -1;
    return snap_list_from(snap->dom->conn, &ret, ret_snaps, ret_n);
}

CocoonDomainSnapshot *
remote_domain_snapshot_lookup_by_name(CocoonDomain *dom, const char *name, unsigned int flags,
                                      CvError **err)
{
    cvr_domain_snapshot_lookup_by_name_args args = {.name = (char *)name, .flags = flags};
    remote_domain_to_wire(dom, &args.dom);
    return snap_call_ret(dom->conn, CVR_PROC_DOMAIN_SNAPSHOT_LOOKUP_BY_NAME,
                         (xdrproc_t)xdr_cvr_domain_snapshot_lookup_by_name_args, &args, err);
}

char *
remote_domain_snapshot_get_xml_desc(CocoonDomainSnapshot *snap, unsigned int flags,
                                    CvError **err)
{
    cvr_domain_snapshot_get_xml_desc_ret ret;
    if (snap_call(snap, CVR_PROC_DOMAIN_SNAPSHOT_GET_XML_DESC, flags,
                  (xdrproc_t)xdr_cvr_domain_snapshot_get_xml_desc_ret, &ret, sizeof(ret),
                  err) < 0)
        return NULL;
    char *xml = g_strdup(ret.xml);
    xdr_free((xdrproc_t)xdr_cvr_domain_snapshot_get_xml_desc_ret, (char *)&ret);
    return xml;
}

CocoonDomainSnapshot *
remote_domain_snapshot_get_parent(CocoonDomainSnapshot *snap, unsigned int flags, CvError **err)
{
    cvr_domain_snapshot_flags_args args = {.flags = flags};
    snap_to_wire(snap, &args.snap);
    return snap_call_ret(snap->dom->conn, CVR_PROC_DOMAIN_SNAPSHOT_GET_PARENT,
                         (xdrproc_t)xdr_cvr_domain_snapshot_flags_args, &args, err);
}

CocoonDomainSnapshot *
remote_domain_snapshot_current(CocoonDomain *dom, unsigned int flags, CvError **err)
{
    cvr_domain_flags_args args = {.flags = flags};
    remote_domain_to_wire(dom, &args.dom);
    return snap_call_ret(dom->conn, CVR_PROC_DOMAIN_SNAPSHOT_CURRENT,
                         (xdrproc_t)xdr_cvr_domain_flags_args, &args, err);
}

int
remote_domain_has_current_snapshot(CocoonDomain *dom, unsigned int flags, CvError **err)
{
    cvr_domain_flags_args args = {.flags = flags};
    cvr_int_ret ret;
    remote_domain_to_wire(dom, &args.dom);
    if (remote_call(dom->conn, CVR_PROC_DOMAIN_HAS_CURRENT_SNAPSHOT,
                    (xdrproc_t)xdr_cvr_domain_flags_args, &args, (xdrproc_t)xdr_cvr_int_ret,
                    &ret, sizeof(ret), err) < 0)
        return -1;
    return ret.value;
}

int
remote_domain_snapshot_is_current(CocoonDomainSnapshot *snap, unsigned int flags, CvError **err)
{
    return snap_call_int(snap, CVR_PROC_DOMAIN_SNAPSHOT_IS_CURRENT, flags, err);
}

int
remote_domain_snapshot_has_metadata(CocoonDomainSnapshot *snap, unsigned int flags,
                                    CvError **err)
{
    return snap_call_int(snap, CVR_PROC_DOMAIN_SNAPSHOT_HAS_METADATA, flags, err);
}

int
remote_domain_revert_to_snapshot(CocoonDomainSnapshot *snap, unsigned int flags, CvError **err)
{
    return snap_call(snap, CVR_PROC_DOMAIN_REVERT_TO_SNAPSHOT, flags, NULL, NULL, 0, err);
}

int
remote_domain_snapshot_delete(CocoonDomainSnapshot *snap, unsigned int flags, CvError **err)
{
    return snap_call(snap, CVR_PROC_DOMAIN_SNAPSHOT_DELETE, flags, NULL, NULL, 0, err);
}
