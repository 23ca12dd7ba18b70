#include "remote_priv.h"

/*
 * The remote driver's save / restore / managed save members. Without flags or a new
 * definition, libvirt's flag-less procedures (Save, Restore) are used, as libvirt's client
 * does.
 */

int
remote_domain_save_flags(CocoonDomain *dom, const char *to, const char *dxml, unsigned int flags,
                         CvError **err)
{
    if (!dxml && !flags) {
        cvr_domain_save_args args = {.to = (char *)to};
        remote_domain_to_wire(dom, &args.dom);
        return remote_call(dom->conn, CVR_PROC_DOMAIN_SAVE, (xdrproc_t)xdr_cvr_domain_save_args,
                           &args, NULL, NULL, 0, err);
    }
    char *x = (char *)dxml;
    cvr_domain_save_flags_args args = {.to = (char *)to, .dxml = dxml ? &x : NULL, .flags = flags};
    remote_domain_to_wire(dom, &args.dom);
    return remote_call(dom->conn, CVR_PROC_DOMAIN_SAVE_FLAGS,
                       (xdrproc_t)xdr_cvr_domain_save_flags_args, &args, NULL, NULL, 0, err);
}

int
remote_domain_restore_flags(CocoonConn *conn, const char *from, const char *dxml,
                            unsigned int flags, CvError **err)
{
    if (!dxml && !flags) {
        cvr_domain_restore_args args = {.from = (char *)from};
        return remote_call(conn, CVR_PROC_DOMAIN_RESTORE, (xdrproc_t)xdr_cvr_domain_restore_args,
                           &args, NULL, NULL, 0, err);
    }
    char *x = (char *)dxml;
    cvr_domain_restore_flags_args args = {.from = (char *)from, .dxml = dxml ? &x : NULL,
                                          .flags = flags};
    return remote_call(conn, CVR_PROC_DOMAIN_RESTORE_FLAGS,
                       (xdrproc_t)xdr_cvr_domain_restore_flags_args, &args, NULL, NULL, 0, err);
}

/* {dom, flags} → nothing */
static int
domain_flags_call(CocoonDomain *dom, int proc, unsigned int flags, CvError **err)
{
    cvr_domain_flags_args args = {.flags = flags};
    remote_domain_to_wire(dom, &args.dom);
    return remote_call(dom->conn, proc, (xdrproc_t)xdr_cvr_domain_flags_args, &args, NULL, NULL,
                       0, err);
}

int
remote_domain_managed_save(CocoonDomain *dom, unsigned int flags, CvError **err)
{
    return domain_flags_call(dom, CVR_PROC_DOMAIN_MANAGED_SAVE, flags, err);
}

int
remote_domain_managed_save_remove(CocoonDomain *dom, unsigned int flags, CvError **err)
{
    return domain_flags_call(dom, CVR_PROC_DOMAIN_MANAGED_SAVE_REMOVE, flags, err);
}
