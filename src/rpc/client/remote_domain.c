#include <string.h>

#include "remote_priv.h"

/*
 * The remote driver's members that act on one domain: queries (XML, state, info, autostart,
 * OS type), undefine, and the lifecycle. Where libvirt has a procedure without flags, it is
 * used when no flag is given, as libvirt's client does, so the server's errors (a read-only
 * refusal names the API) read the same as for Debian's virsh.
 */

/* A call that takes {dom} or {dom, flags} (with_flags) and answers ret_filter. */
static int
domain_call(CocoonDomain *dom, int proc, bool with_flags, unsigned int flags,
            xdrproc_t ret_filter, void *ret, size_t ret_size, CvError **err)
{
    if (with_flags) {
        cvr_domain_flags_args args = {.flags = flags};
        remote_domain_to_wire(dom, &args.dom);
        return remote_call(dom->conn, proc, (xdrproc_t)xdr_cvr_domain_flags_args, &args,
                           ret_filter, ret, ret_size, err);
    }
    cvr_domain_args args;
    remote_domain_to_wire(dom, &args.dom);
    return remote_call(dom->conn, proc, (xdrproc_t)xdr_cvr_domain_args, &args, ret_filter, ret,
                       ret_size, err);
}

/* A call answering one int. */
static int
domain_call_int(CocoonDomain *dom, int proc, bool with_flags, unsigned int flags, int *ret_value,
                CvError **err)
{
    cvr_int_ret ret;
    if (domain_call(dom, proc, with_flags, flags, (xdrproc_t)xdr_cvr_int_ret, &ret, sizeof(ret),
                    err) < 0)
        return -1;
    *ret_value = ret.value;
    return 0;
}

int
remote_domain_undefine_flags(CocoonDomain *dom, unsigned int flags, CvError **err)
{
    return domain_call(dom, CVR_PROC_DOMAIN_UNDEFINE_FLAGS, true, flags, NULL, NULL, 0, err);
}

char *
remote_domain_get_xml_desc(CocoonDomain *dom, unsigned int flags, CvError **err)
{
    cvr_domain_get_xml_desc_ret ret;
    if (domain_call(dom, CVR_PROC_DOMAIN_GET_XML_DESC, true, flags,
                    (xdrproc_t)xdr_cvr_domain_get_xml_desc_ret, &ret, sizeof(ret), err) < 0)
        return NULL;
    char *xml = g_strdup(ret.xml);
    xdr_free((xdrproc_t)xdr_cvr_domain_get_xml_desc_ret, (char *)&ret);
    return xml;
}

int
remote_domain_get_state(CocoonDomain *dom, int *ret_state, int *ret_reason, unsigned int flags,
                        CvError **err)
{
    cvr_domain_get_state_ret ret;
    if (domain_call(dom, CVR_PROC_DOMAIN_GET_STATE, true, flags,
                    (xdrproc_t)xdr_cvr_domain_get_state_ret, &ret, sizeof(ret), err) < 0)
        return -1;
    *ret_state = ret.state;
    if (ret_reason)
        *ret_reason = ret.reason;
    return 0;
}

int
remote_domain_get_info(CocoonDomain *dom, CocoonDomainInfo *ret_info, CvError **err)
{
    cvr_domain_get_info_ret ret;
    if (domain_call(dom, CVR_PROC_DOMAIN_GET_INFO, false, 0,
                    (xdrproc_t)xdr_cvr_domain_get_info_ret, &ret, sizeof(ret), err) < 0)
        return -1;
    CocoonDomainInfo info = {
        .state = ret.state,
        .max_mem_kib = ret.maxMem,
        .memory_kib = ret.memory,
        .nr_virt_cpu = ret.nrVirtCpu,
        .cpu_time_ns = ret.cpuTime,
    };
    *ret_info = info;
    return 0;
}

int
remote_domain_is_active(CocoonDomain *dom, CvError **err)
{
    int v;
    return domain_call_int(dom, CVR_PROC_DOMAIN_IS_ACTIVE, false, 0, &v, err) < 0 ? -1 : v;
}

int
remote_domain_is_persistent(CocoonDomain *dom, CvError **err)
{
    int v;
    return domain_call_int(dom, CVR_PROC_DOMAIN_IS_PERSISTENT, false, 0, &v, err) < 0 ? -1 : v;
}

int
remote_domain_get_autostart(CocoonDomain *dom, int *ret_autostart, CvError **err)
{
    return domain_call_int(dom, CVR_PROC_DOMAIN_GET_AUTOSTART, false, 0, ret_autostart, err);
}

int
remote_domain_set_autostart(CocoonDomain *dom, int autostart, CvError **err)
{
    cvr_domain_set_autostart_args args = {.autostart = autostart};
    remote_domain_to_wire(dom, &args.dom);
    return remote_call(dom->conn, CVR_PROC_DOMAIN_SET_AUTOSTART,
                       (xdrproc_t)xdr_cvr_domain_set_autostart_args, &args, NULL, NULL, 0, err);
}

char *
remote_domain_get_os_type(CocoonDomain *dom, CvError **err)
{
    cvr_domain_get_os_type_ret ret;
    if (domain_call(dom, CVR_PROC_DOMAIN_GET_OS_TYPE, false, 0,
                    (xdrproc_t)xdr_cvr_domain_get_os_type_ret, &ret, sizeof(ret), err) < 0)
        return NULL;
    char *type = g_strdup(ret.type);
    xdr_free((xdrproc_t)xdr_cvr_domain_get_os_type_ret, (char *)&ret);
    return type;
}

int
remote_domain_has_managed_save_image(CocoonDomain *dom, unsigned int flags, CvError **err)
{
    int v;
    return domain_call_int(dom, CVR_PROC_DOMAIN_HAS_MANAGED_SAVE_IMAGE, true, flags, &v, err) < 0
               ? -1
               : v;
}

/* ---- lifecycle ---- */

int
remote_domain_create_with_flags(CocoonDomain *dom, unsigned int flags, CvError **err)
{
    if (flags == 0) {
        /* virDomainCreate answers nothing: learn the new id as libvirt's client does */
        if (domain_call(dom, CVR_PROC_DOMAIN_CREATE, false, 0, NULL, NULL, 0, err) < 0)
            return -1;
        g_autoptr(CvError) lerr = NULL;
        g_autoptr(CocoonDomain) now =
            dom->conn->driver->domainLookupByUUID(dom->conn, dom->uuid, &lerr);
        if (now)
            dom->id = now->id;
        return 0;
    }
    cvr_domain_ret ret;
    if (domain_call(dom, CVR_PROC_DOMAIN_CREATE_WITH_FLAGS, true, flags,
                    (xdrproc_t)xdr_cvr_domain_ret, &ret, sizeof(ret), err) < 0)
        return -1;
    dom->id = ret.dom.id;
    xdr_free((xdrproc_t)xdr_cvr_domain_ret, (char *)&ret);
    return 0;
}

int
remote_domain_shutdown_flags(CocoonDomain *dom, unsigned int flags, CvError **err)
{
    if (flags == 0)
        return domain_call(dom, CVR_PROC_DOMAIN_SHUTDOWN, false, 0, NULL, NULL, 0, err);
    return domain_call(dom, CVR_PROC_DOMAIN_SHUTDOWN_FLAGS, true, flags, NULL, NULL, 0, err);
}

int
remote_domain_destroy_flags(CocoonDomain *dom, unsigned int flags, CvError **err)
{
    int r = flags == 0
                ? domain_call(dom, CVR_PROC_DOMAIN_DESTROY, false, 0, NULL, NULL, 0, err)
                : domain_call(dom, CVR_PROC_DOMAIN_DESTROY_FLAGS, true, flags, NULL, NULL, 0, err);
    if (r == 0)
        dom->id = -1;
    return r;
}

int
remote_domain_reboot(CocoonDomain *dom, unsigned int flags, CvError **err)
{
    return domain_call(dom, CVR_PROC_DOMAIN_REBOOT, true, flags, NULL, NULL, 0, err);
}

int
remote_domain_suspend(CocoonDomain *dom, CvError **err)
{
    return domain_call(dom, CVR_PROC_DOMAIN_SUSPEND, false, 0, NULL, NULL, 0, err);
}

int
remote_domain_resume(CocoonDomain *dom, CvError **err)
{
    return domain_call(dom, CVR_PROC_DOMAIN_RESUME, false, 0, NULL, NULL, 0, err);
}
