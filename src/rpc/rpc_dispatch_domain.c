#include "rpc_dispatch.h"
#include "util/cv_sync.h"

/*
 * Domain procedures that do not change a running VM: lists, lookups, define/undefine, XML,
 * state and info, autostart. Each handler turns the wire arguments into one driver call.
 */

static int
domain_reply(CocoonDomain *dom, cvr_domain_ret *ret)
{
    if (!dom)
        return -1;
    rpc_domain_to_wire(dom, &ret->dom);
    cocoon_domain_free(dom);
    return 0;
}

static int
connect_list_all_domains(RpcCall *call, void *a, void *r, CvError **err)
{
    RPC_REQUIRE(call, connectListAllDomains, err);
    cvr_connect_list_all_domains_args *args = a;
    cvr_connect_list_all_domains_ret *ret = r;
    CocoonDomain **doms = NULL;
    size_t n = 0;
    if (RPC_DRIVER(call, connectListAllDomains)(call->conn, &doms, &n, args->flags, err) < 0)
        return -1;
    if (n > CVR_DOMAIN_LIST_MAX) {
        cocoon_domain_list_free(doms);
        cv_error_set(err, VIR_FROM_RPC, VIR_ERR_RPC,
                     "too many domains '%zu' for limit '%d'", n, CVR_DOMAIN_LIST_MAX);
        return -1;
    }
    if (args->need_results) {
        ret->domains.domains_len = (u_int)n;
        ret->domains.domains_val = g_new0(cvr_nonnull_domain, n ? n : 1);
        for (size_t i = 0; i < n; i++)
            rpc_domain_to_wire(doms[i], &ret->domains.domains_val[i]);
    }
    ret->ret = (u_int)n;
    cocoon_domain_list_free(doms);
    return 0;
}

static int
connect_num_of_domains(RpcCall *call, void *a, void *r, CvError **err)
{
    RPC_REQUIRE(call, connectNumOfDomains, err);
    cvr_int_ret *ret = r;
    ret->value = RPC_DRIVER(call, connectNumOfDomains)(call->conn, err);
    return ret->value < 0 ? -1 : 0;
}

static int
domain_lookup_by_name(RpcCall *call, void *a, void *r, CvError **err)
{
    RPC_REQUIRE(call, domainLookupByName, err);
    cvr_domain_lookup_by_name_args *args = a;
    return domain_reply(RPC_DRIVER(call, domainLookupByName)(call->conn, args->name, err), r);
}

static int
domain_lookup_by_uuid(RpcCall *call, void *a, void *r, CvError **err)
{
    RPC_REQUIRE(call, domainLookupByUUID, err);
    cvr_domain_lookup_by_uuid_args *args = a;
    return domain_reply(RPC_DRIVER(call, domainLookupByUUID)(
                            call->conn, (const unsigned char *)args->uuid, err),
                        r);
}

static int
domain_lookup_by_id(RpcCall *call, void *a, void *r, CvError **err)
{
    RPC_REQUIRE(call, domainLookupByID, err);
    cvr_domain_lookup_by_id_args *args = a;
    return domain_reply(RPC_DRIVER(call, domainLookupByID)(call->conn, args->id, err), r);
}

static int
domain_define_xml(RpcCall *call, void *a, void *r, CvError **err)
{
    RPC_REQUIRE(call, domainDefineXMLFlags, err);
    cvr_domain_define_xml_args *args = a;
    return domain_reply(RPC_DRIVER(call, domainDefineXMLFlags)(call->conn, args->xml, 0, err), r);
}

static int
domain_define_xml_flags(RpcCall *call, void *a, void *r, CvError **err)
{
    RPC_REQUIRE(call, domainDefineXMLFlags, err);
    cvr_domain_define_xml_flags_args *args = a;
    return domain_reply(
        RPC_DRIVER(call, domainDefineXMLFlags)(call->conn, args->xml, args->flags, err), r);
}

static int
domain_undefine(RpcCall *call, void *a, void *r, CvError **err)
{
    cvr_domain_args *args = a;
    return rpc_domain_call_flags(call, RPC_DRIVER(call, domainUndefineFlags), &args->dom, 0, err);
}

static int
domain_undefine_flags(RpcCall *call, void *a, void *r, CvError **err)
{
    cvr_domain_flags_args *args = a;
    return rpc_domain_call_flags(call, RPC_DRIVER(call, domainUndefineFlags), &args->dom,
                                 args->flags, err);
}

static int
domain_get_xml_desc(RpcCall *call, void *a, void *r, CvError **err)
{
    RPC_REQUIRE(call, domainGetXMLDesc, err);
    cvr_domain_flags_args *args = a;
    cvr_domain_get_xml_desc_ret *ret = r;
    cv_mutex_lock(&call->client->lock);
    bool read_only = call->client->read_only;
    cv_mutex_unlock(&call->client->lock);
    if (read_only && (args->flags & VIR_DOMAIN_XML_SECURE)) {
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_OPERATION_DENIED,
                     "read only access prevents virDomainGetXMLDesc with secure flag");
        return -1;
    }
    g_autoptr(CocoonDomain) dom = rpc_domain_from_wire(call, &args->dom);
    ret->xml = RPC_DRIVER(call, domainGetXMLDesc)(dom, args->flags, err);
    return ret->xml ? 0 : -1;
}

static int
domain_get_state(RpcCall *call, void *a, void *r, CvError **err)
{
    RPC_REQUIRE(call, domainGetState, err);
    cvr_domain_flags_args *args = a;
    cvr_domain_get_state_ret *ret = r;
    g_autoptr(CocoonDomain) dom = rpc_domain_from_wire(call, &args->dom);
    int state, reason;
    if (RPC_DRIVER(call, domainGetState)(dom, &state, &reason, args->flags, err) < 0)
        return -1;
    ret->state = state;
    ret->reason = reason;
    return 0;
}

static int
domain_get_info(RpcCall *call, void *a, void *r, CvError **err)
{
    RPC_REQUIRE(call, domainGetInfo, err);
    cvr_domain_args *args = a;
    cvr_domain_get_info_ret *ret = r;
    g_autoptr(CocoonDomain) dom = rpc_domain_from_wire(call, &args->dom);
    CocoonDomainInfo info = {0};
    if (RPC_DRIVER(call, domainGetInfo)(dom, &info, err) < 0)
        return -1;
    ret->state = (u_char)info.state;
    ret->maxMem = info.max_mem_kib;
    ret->memory = info.memory_kib;
    ret->nrVirtCpu = (u_short)info.nr_virt_cpu;
    ret->cpuTime = info.cpu_time_ns;
    return 0;
}

static int
domain_answer_int(RpcCall *call, RpcDomainFunc fn, void *a, void *r, CvError **err)
{
    if (!fn)
        return rpc_no_support(call, err);
    cvr_domain_args *args = a;
    cvr_int_ret *ret = r;
    g_autoptr(CocoonDomain) dom = rpc_domain_from_wire(call, &args->dom);
    int v = fn(dom, err);
    if (v < 0)
        return -1;
    ret->value = v;
    return 0;
}

static int
domain_is_active(RpcCall *call, void *a, void *r, CvError **err)
{
    return domain_answer_int(call, RPC_DRIVER(call, domainIsActive), a, r, err);
}

static int
domain_is_persistent(RpcCall *call, void *a, void *r, CvError **err)
{
    return domain_answer_int(call, RPC_DRIVER(call, domainIsPersistent), a, r, err);
}

static int
domain_get_autostart(RpcCall *call, void *a, void *r, CvError **err)
{
    RPC_REQUIRE(call, domainGetAutostart, err);
    cvr_domain_args *args = a;
    cvr_int_ret *ret = r;
    g_autoptr(CocoonDomain) dom = rpc_domain_from_wire(call, &args->dom);
    int autostart;
    if (RPC_DRIVER(call, domainGetAutostart)(dom, &autostart, err) < 0)
        return -1;
    ret->value = autostart;
    return 0;
}

static int
domain_set_autostart(RpcCall *call, void *a, void *r, CvError **err)
{
    RPC_REQUIRE(call, domainSetAutostart, err);
    cvr_domain_set_autostart_args *args = a;
    g_autoptr(CocoonDomain) dom = rpc_domain_from_wire(call, &args->dom);
    return RPC_DRIVER(call, domainSetAutostart)(dom, args->autostart, err);
}

static int
domain_has_managed_save_image(RpcCall *call, void *a, void *r, CvError **err)
{
    cvr_domain_flags_args *args = a;
    cvr_int_ret *ret = r;
    g_autoptr(CocoonDomain) dom = rpc_domain_from_wire(call, &args->dom);
    if (RPC_DRIVER(call, domainHasManagedSaveImage)) {
        int v = RPC_DRIVER(call, domainHasManagedSaveImage)(dom, args->flags, err);
        if (v < 0)
            return -1;
        ret->value = v;
        return 0;
    }
    /* A driver without managed save has none for any existing domain. Answered rather than
     * refused because virt-manager treats a failure here as fatal for the domain; the lookup
     * keeps "no such domain" an error. */
    RPC_REQUIRE(call, domainIsActive, err);
    if (RPC_DRIVER(call, domainIsActive)(dom, err) < 0)
        return -1;
    ret->value = 0;
    return 0;
}

static int
domain_get_os_type(RpcCall *call, void *a, void *r, CvError **err)
{
    RPC_REQUIRE(call, domainGetOSType, err);
    cvr_domain_args *args = a;
    cvr_domain_get_os_type_ret *ret = r;
    g_autoptr(CocoonDomain) dom = rpc_domain_from_wire(call, &args->dom);
    ret->type = RPC_DRIVER(call, domainGetOSType)(dom, err);
    return ret->type ? 0 : -1;
}

const RpcProcedure rpc_domain_procedures[] = {
    {CVR_PROC_CONNECT_LIST_ALL_DOMAINS, "virConnectListAllDomains",
     RPC_XDR(cvr_connect_list_all_domains_args), RPC_XDR(cvr_connect_list_all_domains_ret),
     connect_list_all_domains, 0},
    {CVR_PROC_CONNECT_NUM_OF_DOMAINS, "virConnectNumOfDomains", RPC_NONE, RPC_XDR(cvr_int_ret),
     connect_num_of_domains, 0},
    {CVR_PROC_DOMAIN_LOOKUP_BY_NAME, "virDomainLookupByName",
     RPC_XDR(cvr_domain_lookup_by_name_args), RPC_XDR(cvr_domain_ret), domain_lookup_by_name,
     RPC_PROC_INLINE},
    {CVR_PROC_DOMAIN_LOOKUP_BY_UUID, "virDomainLookupByUUID",
     RPC_XDR(cvr_domain_lookup_by_uuid_args), RPC_XDR(cvr_domain_ret), domain_lookup_by_uuid,
     RPC_PROC_INLINE},
    {CVR_PROC_DOMAIN_LOOKUP_BY_ID, "virDomainLookupByID", RPC_XDR(cvr_domain_lookup_by_id_args),
     RPC_XDR(cvr_domain_ret), domain_lookup_by_id, 0},
    {CVR_PROC_DOMAIN_DEFINE_XML, "virDomainDefineXML", RPC_XDR(cvr_domain_define_xml_args),
     RPC_XDR(cvr_domain_ret), domain_define_xml, RPC_PROC_WRITE},
    {CVR_PROC_DOMAIN_DEFINE_XML_FLAGS, "virDomainDefineXMLFlags",
     RPC_XDR(cvr_domain_define_xml_flags_args), RPC_XDR(cvr_domain_ret),
     domain_define_xml_flags, RPC_PROC_WRITE},
    {CVR_PROC_DOMAIN_UNDEFINE, "virDomainUndefine", RPC_XDR(cvr_domain_args), RPC_NONE,
     domain_undefine, RPC_PROC_WRITE},
    {CVR_PROC_DOMAIN_UNDEFINE_FLAGS, "virDomainUndefineFlags", RPC_XDR(cvr_domain_flags_args),
     RPC_NONE, domain_undefine_flags, RPC_PROC_WRITE},
    {CVR_PROC_DOMAIN_GET_XML_DESC, "virDomainGetXMLDesc", RPC_XDR(cvr_domain_flags_args),
     RPC_XDR(cvr_domain_get_xml_desc_ret), domain_get_xml_desc, RPC_PROC_INLINE},
    {CVR_PROC_DOMAIN_GET_STATE, "virDomainGetState", RPC_XDR(cvr_domain_flags_args),
     RPC_XDR(cvr_domain_get_state_ret), domain_get_state, RPC_PROC_INLINE},
    {CVR_PROC_DOMAIN_GET_INFO, "virDomainGetInfo", RPC_XDR(cvr_domain_args),
     RPC_XDR(cvr_domain_get_info_ret), domain_get_info, RPC_PROC_INLINE},
    {CVR_PROC_DOMAIN_IS_ACTIVE, "virDomainIsActive", RPC_XDR(cvr_domain_args),
     RPC_XDR(cvr_int_ret), domain_is_active, RPC_PROC_INLINE},
    {CVR_PROC_DOMAIN_IS_PERSISTENT, "virDomainIsPersistent", RPC_XDR(cvr_domain_args),
     RPC_XDR(cvr_int_ret), domain_is_persistent, RPC_PROC_INLINE},
    {CVR_PROC_DOMAIN_GET_AUTOSTART, "virDomainGetAutostart", RPC_XDR(cvr_domain_args),
     RPC_XDR(cvr_int_ret), domain_get_autostart, RPC_PROC_INLINE},
    {CVR_PROC_DOMAIN_SET_AUTOSTART, "virDomainSetAutostart",
     RPC_XDR(cvr_domain_set_autostart_args), RPC_NONE, domain_set_autostart, RPC_PROC_WRITE},
    {CVR_PROC_DOMAIN_HAS_MANAGED_SAVE_IMAGE, "virDomainHasManagedSaveImage",
     RPC_XDR(cvr_domain_flags_args), RPC_XDR(cvr_int_ret), domain_has_managed_save_image, RPC_PROC_INLINE},
    {CVR_PROC_DOMAIN_GET_OS_TYPE, "virDomainGetOSType", RPC_XDR(cvr_domain_args),
     RPC_XDR(cvr_domain_get_os_type_ret), domain_get_os_type, RPC_PROC_INLINE},
    /* no driver member answers these yet: NO_SUPPORT, with their names */
    {CVR_PROC_DOMAIN_IS_UPDATED, "virDomainIsUpdated", RPC_XDR(cvr_domain_args),
     RPC_XDR(cvr_int_ret), NULL, 0},
    {CVR_PROC_DOMAIN_GET_SECURITY_LABEL, "virDomainGetSecurityLabel", RPC_XDR(cvr_domain_args),
     RPC_XDR(cvr_domain_get_security_label_ret), NULL, 0},
    {CVR_PROC_DOMAIN_GET_MESSAGES, "virDomainGetMessages", RPC_XDR(cvr_domain_flags_args),
     RPC_XDR(cvr_domain_get_messages_ret), NULL, 0},
};
const size_t rpc_domain_procedures_len = G_N_ELEMENTS(rpc_domain_procedures);
