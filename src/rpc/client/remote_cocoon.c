#include "remote_priv.h"

/*
 * The remote driver's Cocoon-only members: calls of Cocoon's own program
 * (CVR_COCOON_PROGRAM), which cocoond serves in rpc_dispatch_cocoon.c.
 */

static int
cocoon_call(CocoonConn *conn, int proc, xdrproc_t args_filter, const void *args,
            xdrproc_t ret_filter, void *ret, size_t ret_size, CvError **err)
{
    RemoteConn *rc = remote_priv(conn)->rc;
    return remote_conn_call_prog(rc, CVR_COCOON_PROGRAM, CVR_COCOON_VERSION,
                                 remote_conn_serial_next(rc), proc, args_filter, args, ret_filter,
                                 ret, ret_size, err);
}

CocoonDomain *
remote_cocoon_domain_clone_from_snapshot(CocoonDomain *src, const char *snap,
                                         const char *new_name, unsigned int flags,
                                         char **ret_notes, CvError **err)
{
    cvr_cocoon_domain_clone_from_snapshot_args args = {
        .snapshot = (char *)snap, .new_name = (char *)new_name, .flags = flags};
    cvr_cocoon_domain_clone_from_snapshot_ret ret;
    remote_domain_to_wire(src, &args.dom);
    if (cocoon_call(src->conn, CVR_COCOON_PROC_DOMAIN_CLONE_FROM_SNAPSHOT,
                    (xdrproc_t)xdr_cvr_cocoon_domain_clone_from_snapshot_args, &args,
                    (xdrproc_t)xdr_cvr_cocoon_domain_clone_from_snapshot_ret, &ret, sizeof(ret),
                    err) < 0)
        return NULL;
    CocoonDomain *dom = remote_domain_from_wire(src->conn, &ret.dom);
    if (ret_notes)
        *ret_notes = ret.notes && *ret.notes ? g_strdup(ret.notes) : NULL;
    xdr_free((xdrproc_t)xdr_cvr_cocoon_domain_clone_from_snapshot_ret, (char *)&ret);
    return dom;
}

int
remote_cocoon_garbage_collect(CocoonConn *conn, unsigned int flags, char ***ret_items,
                              CvError **err)
{
    cvr_cocoon_garbage_collect_args args = {.flags = flags};
    cvr_cocoon_garbage_collect_ret ret;
    if (cocoon_call(conn, CVR_COCOON_PROC_GARBAGE_COLLECT,
                    (xdrproc_t)xdr_cvr_cocoon_garbage_collect_args, &args,
                    (xdrproc_t)xdr_cvr_cocoon_garbage_collect_ret, &ret, sizeof(ret), err) < 0)
        return -1;
    char **items = g_new0(char *, ret.items.items_len + 1);
    for (u_int i = 0; i < ret.items.items_len; i++)
        items[i] = g_strdup(ret.items.items_val[i]);
    xdr_free((xdrproc_t)xdr_cvr_cocoon_garbage_collect_ret, (char *)&ret);
    *ret_items = items;
    return 0;
}
