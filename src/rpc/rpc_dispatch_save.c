#include "rpc_dispatch.h"

/*
 * save / restore / managed save procedures: one driver member each; the flag-less libvirt
 * procedures (Save, Restore) pass flags 0.
 */

static int
domain_save(RpcCall *call, void *a, void *r, CvError **err)
{
    RPC_REQUIRE(call, domainSaveFlags, err);
    cvr_domain_save_args *args = a;
    g_autoptr(CocoonDomain) dom = rpc_domain_from_wire(call, &args->dom);
    return RPC_DRIVER(call, domainSaveFlags)(dom, args->to, NULL, 0, err);
}

static int
domain_save_flags(RpcCall *call, void *a, void *r, CvError **err)
{
    RPC_REQUIRE(call, domainSaveFlags, err);
    cvr_domain_save_flags_args *args = a;
    g_autoptr(CocoonDomain) dom = rpc_domain_from_wire(call, &args->dom);
    return RPC_DRIVER(call, domainSaveFlags)(dom, args->to, args->dxml ? *args->dxml : NULL,
                                             args->flags, err);
}

static int
domain_restore(RpcCall *call, void *a, void *r, CvError **err)
{
    RPC_REQUIRE(call, domainRestoreFlags, err);
    cvr_domain_restore_args *args = a;
    return RPC_DRIVER(call, domainRestoreFlags)(call->conn, args->from, NULL, 0, err);
}

static int
domain_restore_flags(RpcCall *call, void *a, void *r, CvError **err)
{
    RPC_REQUIRE(call, domainRestoreFlags, err);
    cvr_domain_restore_flags_args *args = a;
    return RPC_DRIVER(call, domainRestoreFlags)(call->conn, args->from,
                                                args->dxml ? *args->dxml : NULL, args->flags, err);
}

static int
domain_managed_save(RpcCall *call, void *a, void *r, CvError **err)
{
    cvr_domain_flags_args *args = a;
    return rpc_domain_call_flags(call, RPC_DRIVER(call, domainManagedSave), &args->dom,
                                 args->flags, err);
}

static int
domain_managed_save_remove(RpcCall *call, void *a, void *r, CvError **err)
{
    cvr_domain_flags_args *args = a;
    return rpc_domain_call_flags(call, RPC_DRIVER(call, domainManagedSaveRemove), &args->dom,
                                 args->flags, err);
}

const RpcProcedure rpc_save_procedures[] = {
    {CVR_PROC_DOMAIN_SAVE, "virDomainSave", RPC_XDR(cvr_domain_save_args), RPC_NONE, domain_save,
     RPC_PROC_WRITE},
    {CVR_PROC_DOMAIN_SAVE_FLAGS, "virDomainSaveFlags", RPC_XDR(cvr_domain_save_flags_args),
     RPC_NONE, domain_save_flags, RPC_PROC_WRITE},
    {CVR_PROC_DOMAIN_RESTORE, "virDomainRestore", RPC_XDR(cvr_domain_restore_args), RPC_NONE,
     domain_restore, RPC_PROC_WRITE},
    {CVR_PROC_DOMAIN_RESTORE_FLAGS, "virDomainRestoreFlags",
     RPC_XDR(cvr_domain_restore_flags_args), RPC_NONE, domain_restore_flags, RPC_PROC_WRITE},
    {CVR_PROC_DOMAIN_MANAGED_SAVE, "virDomainManagedSave", RPC_XDR(cvr_domain_flags_args),
     RPC_NONE, domain_managed_save, RPC_PROC_WRITE},
    {CVR_PROC_DOMAIN_MANAGED_SAVE_REMOVE, "virDomainManagedSaveRemove",
     RPC_XDR(cvr_domain_flags_args), RPC_NONE, domain_managed_save_remove, RPC_PROC_WRITE},
};
const size_t rpc_save_procedures_len = G_N_ELEMENTS(rpc_save_procedures);
