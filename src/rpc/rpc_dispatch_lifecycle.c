#include "rpc_dispatch.h"

/*
 * Lifecycle procedures: start, create, shutdown, destroy, reboot, suspend, resume. Each is
 * one driver call on a worker thread (a VM that takes long to stop blocks that worker only);
 * a driver without the member answers NO_SUPPORT.
 */

static int
domain_create(RpcCall *call, void *a, void *r, CvError **err)
{
    cvr_domain_args *args = a;
    return rpc_domain_call_flags(call, RPC_DRIVER(call, domainCreateWithFlags), &args->dom, 0,
                                 err);
}

static int
domain_create_with_flags(RpcCall *call, void *a, void *r, CvError **err)
{
    RPC_REQUIRE(call, domainCreateWithFlags, err);
    cvr_domain_flags_args *args = a;
    cvr_domain_ret *ret = r;
    g_autoptr(CocoonDomain) dom = rpc_domain_from_wire(call, &args->dom);
    if (RPC_DRIVER(call, domainCreateWithFlags)(dom, args->flags, err) < 0)
        return -1;
    /* the answer carries the new id: ask for it rather than trust the reference */
    if (RPC_DRIVER(call, domainLookupByUUID)) {
        g_autoptr(CvError) lerr = NULL;
        g_autoptr(CocoonDomain) now =
            RPC_DRIVER(call, domainLookupByUUID)(call->conn, dom->uuid, &lerr);
        if (now) {
            rpc_domain_to_wire(now, &ret->dom);
            return 0;
        }
    }
    rpc_domain_to_wire(dom, &ret->dom);
    return 0;
}

static int
domain_create_xml(RpcCall *call, void *a, void *r, CvError **err)
{
    RPC_REQUIRE(call, domainCreateXML, err);
    cvr_domain_create_xml_args *args = a;
    cvr_domain_ret *ret = r;
    g_autoptr(CocoonDomain) dom =
        RPC_DRIVER(call, domainCreateXML)(call->conn, args->xml_desc, args->flags, err);
    if (!dom)
        return -1;
    rpc_domain_to_wire(dom, &ret->dom);
    return 0;
}

static int
domain_shutdown(RpcCall *call, void *a, void *r, CvError **err)
{
    cvr_domain_args *args = a;
    return rpc_domain_call_flags(call, RPC_DRIVER(call, domainShutdownFlags), &args->dom, 0, err);
}

static int
domain_shutdown_flags(RpcCall *call, void *a, void *r, CvError **err)
{
    cvr_domain_flags_args *args = a;
    return rpc_domain_call_flags(call, RPC_DRIVER(call, domainShutdownFlags), &args->dom,
                                 args->flags, err);
}

static int
domain_destroy(RpcCall *call, void *a, void *r, CvError **err)
{
    cvr_domain_args *args = a;
    return rpc_domain_call_flags(call, RPC_DRIVER(call, domainDestroyFlags), &args->dom, 0, err);
}

static int
domain_destroy_flags(RpcCall *call, void *a, void *r, CvError **err)
{
    cvr_domain_flags_args *args = a;
    return rpc_domain_call_flags(call, RPC_DRIVER(call, domainDestroyFlags), &args->dom,
                                 args->flags, err);
}

static int
domain_reboot(RpcCall *call, void *a, void *r, CvError **err)
{
    cvr_domain_flags_args *args = a;
    return rpc_domain_call_flags(call, RPC_DRIVER(call, domainReboot), &args->dom, args->flags,
                                 err);
}

static int
domain_suspend(RpcCall *call, void *a, void *r, CvError **err)
{
    cvr_domain_args *args = a;
    return rpc_domain_call(call, RPC_DRIVER(call, domainSuspend), &args->dom, err);
}

static int
domain_resume(RpcCall *call, void *a, void *r, CvError **err)
{
    cvr_domain_args *args = a;
    return rpc_domain_call(call, RPC_DRIVER(call, domainResume), &args->dom, err);
}

const RpcProcedure rpc_lifecycle_procedures[] = {
    {CVR_PROC_DOMAIN_CREATE, "virDomainCreate", RPC_XDR(cvr_domain_args), RPC_NONE,
     domain_create, RPC_PROC_WRITE},
    {CVR_PROC_DOMAIN_CREATE_WITH_FLAGS, "virDomainCreateWithFlags",
     RPC_XDR(cvr_domain_flags_args), RPC_XDR(cvr_domain_ret), domain_create_with_flags,
     RPC_PROC_WRITE},
    {CVR_PROC_DOMAIN_CREATE_XML, "virDomainCreateXML", RPC_XDR(cvr_domain_create_xml_args),
     RPC_XDR(cvr_domain_ret), domain_create_xml, RPC_PROC_WRITE},
    {CVR_PROC_DOMAIN_SHUTDOWN, "virDomainShutdown", RPC_XDR(cvr_domain_args), RPC_NONE,
     domain_shutdown, RPC_PROC_WRITE},
    {CVR_PROC_DOMAIN_SHUTDOWN_FLAGS, "virDomainShutdownFlags", RPC_XDR(cvr_domain_flags_args),
     RPC_NONE, domain_shutdown_flags, RPC_PROC_WRITE},
    {CVR_PROC_DOMAIN_DESTROY, "virDomainDestroy", RPC_XDR(cvr_domain_args), RPC_NONE,
     domain_destroy, RPC_PROC_WRITE},
    {CVR_PROC_DOMAIN_DESTROY_FLAGS, "virDomainDestroyFlags", RPC_XDR(cvr_domain_flags_args),
     RPC_NONE, domain_destroy_flags, RPC_PROC_WRITE},
    {CVR_PROC_DOMAIN_REBOOT, "virDomainReboot", RPC_XDR(cvr_domain_flags_args), RPC_NONE,
     domain_reboot, RPC_PROC_WRITE},
    {CVR_PROC_DOMAIN_SUSPEND, "virDomainSuspend", RPC_XDR(cvr_domain_args), RPC_NONE,
     domain_suspend, RPC_PROC_WRITE},
    {CVR_PROC_DOMAIN_RESUME, "virDomainResume", RPC_XDR(cvr_domain_args), RPC_NONE,
     domain_resume, RPC_PROC_WRITE},
};
const size_t rpc_lifecycle_procedures_len = G_N_ELEMENTS(rpc_lifecycle_procedures);
