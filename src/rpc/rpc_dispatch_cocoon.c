#include "rpc_dispatch.h"

/*
 * Cocoon's own program (CVR_COCOON_PROGRAM): the calls libvirt has no procedure for, each
 * translating between the wire and one driver.h member.
 */

static int
cocoon_domain_clone_from_snapshot(RpcCall *call, void *a, void *r, CvError **err)
{
    cvr_cocoon_domain_clone_from_snapshot_args *args = a;
    cvr_cocoon_domain_clone_from_snapshot_ret *ret = r;
    if (!call->conn->driver->cocoonDomainCloneFromSnapshot)
        return rpc_no_support(call, err);
    g_autoptr(CocoonDomain) src = rpc_domain_from_wire(call, &args->dom);
    g_autofree char *notes = NULL;
    g_autoptr(CocoonDomain) dom = call->conn->driver->cocoonDomainCloneFromSnapshot(
        src, args->snapshot, args->new_name, args->flags, &notes, err);
    if (!dom)
        return -1;
    rpc_domain_to_wire(dom, &ret->dom);
    ret->notes = g_strdup(notes ? notes : "");
    return 0;
}

static int
cocoon_garbage_collect(RpcCall *call, void *a, void *r, CvError **err)
{
    cvr_cocoon_garbage_collect_args *args = a;
    cvr_cocoon_garbage_collect_ret *ret = r;
    if (!call->conn->driver->cocoonGarbageCollect)
        return rpc_no_support(call, err);
    g_auto(GStrv) items = NULL;
    if (call->conn->driver->cocoonGarbageCollect(call->conn, args->flags, &items, err) < 0)
        return -1;
    guint n = g_strv_length(items);
    if (n > CVR_COCOON_GC_ITEMS_MAX) {
        cv_error_set(err, VIR_FROM_RPC, VIR_ERR_RPC, "too many items removed to list (%u)", n);
        return -1;
    }
    ret->items.items_len = n;
    ret->items.items_val = (char **)g_steal_pointer(&items);
    return 0;
}

const RpcProcedure rpc_cocoon_ext_procedures[] = {
    {CVR_COCOON_PROC_DOMAIN_CLONE_FROM_SNAPSHOT, "cocoonDomainCloneFromSnapshot",
     RPC_XDR(cvr_cocoon_domain_clone_from_snapshot_args),
     RPC_XDR(cvr_cocoon_domain_clone_from_snapshot_ret), cocoon_domain_clone_from_snapshot,
     RPC_PROC_WRITE},
    {CVR_COCOON_PROC_GARBAGE_COLLECT, "cocoonGarbageCollect",
     RPC_XDR(cvr_cocoon_garbage_collect_args), RPC_XDR(cvr_cocoon_garbage_collect_ret),
     cocoon_garbage_collect, RPC_PROC_WRITE},
};
const size_t rpc_cocoon_ext_procedures_len = G_N_ELEMENTS(rpc_cocoon_ext_procedures);
