#include <string.h>

#include "remote_client.h"
#include "remote_priv.h"
#include "remote_uri.h"

/*
 * The remote driver's connection members: open (AUTH_LIST, SUPPORTS_FEATURE, CONNECT_OPEN as
 * Debian's virsh does, §2.1), close, host queries, lists, lookups and definitions. Each member
 * is one call: arguments to the wire, the answer back; errors travel as the server wrote them.
 */

int
remote_call(CocoonConn *conn, int proc, xdrproc_t args_filter, const void *args,
            xdrproc_t ret_filter, void *ret, size_t ret_size, CvError **err)
{
    RemoteConn *rc = remote_priv(conn)->rc;
    return remote_conn_call(rc, remote_conn_serial_next(rc), proc, args_filter, args,
                            ret_filter, ret, ret_size, err);
}

void
remote_domain_to_wire(const CocoonDomain *dom, cvr_nonnull_domain *w)
{
    w->name = dom->name;
    memcpy(w->uuid, dom->uuid, CVR_UUID_LEN);
    w->id = dom->id;
}

CocoonDomain *
remote_domain_from_wire(CocoonConn *conn, const cvr_nonnull_domain *w)
{
    return cocoon_domain_new(conn, w->name, (const unsigned char *)w->uuid, w->id);
}

/* A call whose answer is one domain. */
static CocoonDomain *
remote_call_domain(CocoonConn *conn, int proc, xdrproc_t args_filter, const void *args,
                   CvError **err)
{
    cvr_domain_ret ret;
    if (remote_call(conn, proc, args_filter, args, (xdrproc_t)xdr_cvr_domain_ret, &ret,
                    sizeof(ret), err) < 0)
        return NULL;
    CocoonDomain *dom = remote_domain_from_wire(conn, &ret.dom);
    xdr_free((xdrproc_t)xdr_cvr_domain_ret, (char *)&ret);
    return dom;
}

/* ---- open and close ---- */

static int
remote_supports_feature(CocoonConn *conn, int feature, CvError **err)
{
    cvr_connect_supports_feature_args args = {.feature = feature};
    cvr_connect_supports_feature_ret ret;
    if (remote_call(conn, CVR_PROC_CONNECT_SUPPORTS_FEATURE,
                    (xdrproc_t)xdr_cvr_connect_supports_feature_args, &args,
                    (xdrproc_t)xdr_cvr_connect_supports_feature_ret, &ret, sizeof(ret),
                    err) < 0)
        return -1;
    return ret.supported ? 1 : 0;
}

/* AUTH_LIST: only "none" is something we can do (the socket's permissions are the check). */
static int
remote_authenticate(CocoonConn *conn, CvError **err)
{
    cvr_auth_list_ret ret;
    if (remote_call(conn, CVR_PROC_AUTH_LIST, NULL, NULL, (xdrproc_t)xdr_cvr_auth_list_ret,
                    &ret, sizeof(ret), err) < 0)
        return -1;
    bool none = ret.types.types_len == 0;
    for (u_int i = 0; i < ret.types.types_len; i++)
        none = none || ret.types.types_val[i] == 0;
    int first = ret.types.types_len ? ret.types.types_val[0] : 0;
    xdr_free((xdrproc_t)xdr_cvr_auth_list_ret, (char *)&ret);
    if (!none) {
        cv_error_set(err, VIR_FROM_AUTH, VIR_ERR_AUTH_FAILED,
                     "unsupported authentication type %d", first);
        return -1;
    }
    return 0;
}

static int
remote_handshake(CocoonConn *conn, const char *name, unsigned int flags, CvError **err)
{
    RemotePriv *priv = remote_priv(conn);
    if (remote_authenticate(conn, err) < 0 ||
        remote_supports_feature(conn, REMOTE_FEATURE_PROGRAM_KEEPALIVE, err) < 0)
        return -1;
    char *n = (char *)name;
    cvr_connect_open_args args = {.name = &n, .flags = flags & VIR_CONNECT_RO};
    if (remote_call(conn, CVR_PROC_CONNECT_OPEN, (xdrproc_t)xdr_cvr_connect_open_args, &args,
                    NULL, NULL, 0, err) < 0)
        return -1;
    int events = remote_supports_feature(conn, REMOTE_FEATURE_REMOTE_EVENT_CALLBACK, err);
    if (events < 0 || remote_supports_feature(conn, REMOTE_FEATURE_REMOTE_CLOSE_CALLBACK, err) < 0)
        return -1;
    priv->events_supported = events == 1;
    return 0;
}

static void
remote_connect_close(CocoonConn *conn)
{
    RemotePriv *priv = remote_priv(conn);
    if (!priv)
        return;
    if (priv->rc) {
        g_autoptr(CvError) err = NULL;
        /* a daemon already gone has nothing to be told */
        remote_call(conn, CVR_PROC_CONNECT_CLOSE, NULL, NULL, NULL, NULL, 0, &err);
        remote_conn_close(priv->rc);
        priv->rc = NULL;
    }
    remote_event_free_all(priv); /* the reader has stopped: no callback is running */
    g_hash_table_destroy(priv->events);
    g_mutex_clear(&priv->event_lock);
    g_free(priv);
    conn->priv = NULL;
}

static const CocoonDriver remote_driver;

CocoonConn *
remote_driver_open(const char *uri, unsigned int flags, CvError **err)
{
    bool read_only = (flags & VIR_CONNECT_RO) != 0;
    g_autoptr(RemoteUri) ru = remote_uri_parse(uri, read_only, err);
    if (!ru)
        return NULL;

    RemotePriv *priv = g_new0(RemotePriv, 1);
    g_mutex_init(&priv->event_lock);
    priv->events = g_hash_table_new(NULL, NULL);
    priv->read_only = read_only;
    CocoonConn *conn = g_new0(CocoonConn, 1);
    conn->driver = &remote_driver;
    conn->uri = g_strdup(uri);
    conn->priv = priv;
    priv->conn = conn;

    priv->rc = remote_conn_connect(ru->socket_path, remote_event_message, priv, err);
    if (!priv->rc || remote_handshake(conn, ru->name, flags, err) < 0) {
        if (priv->rc) {
            remote_conn_close(priv->rc); /* not opened: no CONNECT_CLOSE */
            priv->rc = NULL;
        }
        cocoon_conn_close(conn);
        return NULL;
    }
    return conn;
}

/* ---- host ---- */

static int
remote_connect_get_version(CocoonConn *conn, unsigned long long *ret_version, CvError **err)
{
    cvr_connect_get_version_ret ret;
    if (remote_call(conn, CVR_PROC_CONNECT_GET_VERSION, NULL, NULL,
                    (xdrproc_t)xdr_cvr_connect_get_version_ret, &ret, sizeof(ret), err) < 0)
        return -1;
    *ret_version = ret.hv_ver;
    return 0;
}

/* A void call whose answer is one string (the XDR struct holds nothing else). */
static char *
remote_call_string(CocoonConn *conn, int proc, xdrproc_t ret_filter, CvError **err)
{
    char *ret = NULL; /* every one-string answer has the layout of a char * */
    if (remote_call(conn, proc, NULL, NULL, ret_filter, &ret, sizeof(ret), err) < 0)
        return NULL;
    char *s = g_strdup(ret);
    xdr_free(ret_filter, (char *)&ret);
    return s;
}

static char *
remote_connect_get_hostname(CocoonConn *conn, CvError **err)
{
    G_STATIC_ASSERT(sizeof(cvr_connect_get_hostname_ret) == sizeof(char *));
    return remote_call_string(conn, CVR_PROC_CONNECT_GET_HOSTNAME,
                              (xdrproc_t)xdr_cvr_connect_get_hostname_ret, err);
}

static char *
remote_connect_get_capabilities(CocoonConn *conn, CvError **err)
{
    G_STATIC_ASSERT(sizeof(cvr_connect_get_capabilities_ret) == sizeof(char *));
    return remote_call_string(conn, CVR_PROC_CONNECT_GET_CAPABILITIES,
                              (xdrproc_t)xdr_cvr_connect_get_capabilities_ret, err);
}

static int
remote_node_get_info(CocoonConn *conn, CocoonNodeInfo *ret_info, CvError **err)
{
    cvr_node_get_info_ret ret;
    if (remote_call(conn, CVR_PROC_NODE_GET_INFO, NULL, NULL,
                    (xdrproc_t)xdr_cvr_node_get_info_ret, &ret, sizeof(ret), err) < 0)
        return -1;
    CocoonNodeInfo info = {
        .model = g_strndup(ret.model, sizeof(ret.model)), /* NUL-padded, maybe unterminated */
        .memory_kib = (unsigned long)ret.memory,
        .cpus = (unsigned int)ret.cpus,
        .mhz = (unsigned int)ret.mhz,
        .nodes = (unsigned int)ret.nodes,
        .sockets = (unsigned int)ret.sockets,
        .cores = (unsigned int)ret.cores,
        .threads = (unsigned int)ret.threads,
    };
    *ret_info = info;
    return 0;
}

static char *
remote_connect_domain_xml_to_native(CocoonConn *conn, const char *format, const char *xml,
                                    unsigned int flags, CvError **err)
{
    cvr_connect_domain_xml_to_native_args args = {
        .nativeFormat = (char *)format, .domainXml = (char *)xml, .flags = flags};
    cvr_connect_domain_xml_to_native_ret ret;
    if (remote_call(conn, CVR_PROC_CONNECT_DOMAIN_XML_TO_NATIVE,
                    (xdrproc_t)xdr_cvr_connect_domain_xml_to_native_args, &args,
                    (xdrproc_t)xdr_cvr_connect_domain_xml_to_native_ret, &ret, sizeof(ret),
                    err) < 0)
        return NULL;
    char *s = g_strdup(ret.nativeConfig);
    xdr_free((xdrproc_t)xdr_cvr_connect_domain_xml_to_native_ret, (char *)&ret);
    return s;
}

/* ---- lists and lookups ---- */

static int
remote_connect_list_all_domains(CocoonConn *conn, CocoonDomain ***ret_doms, size_t *ret_n,
                                unsigned int flags, CvError **err)
{
    cvr_connect_list_all_domains_args args = {.need_results = 1, .flags = flags};
    cvr_connect_list_all_domains_ret ret;
    if (remote_call(conn, CVR_PROC_CONNECT_LIST_ALL_DOMAINS,
                    (xdrproc_t)xdr_cvr_connect_list_all_domains_args, &args,
                    (xdrproc_t)xdr_cvr_connect_list_all_domains_ret, &ret, sizeof(ret), err) < 0)
        return -1;
    size_t n = ret.domains.domains_len;
    CocoonDomain **doms = g_new0(CocoonDomain *, n + 1);
    for (size_t i = 0; i < n; i++)
        doms[i] = remote_domain_from_wire(conn, &ret.domains.domains_val[i]);
    xdr_free((xdrproc_t)xdr_cvr_connect_list_all_domains_ret, (char *)&ret);
    *ret_doms = doms;
    *ret_n = n;
    return 0;
}

static int
remote_connect_num_of_domains(CocoonConn *conn, CvError **err)
{
    cvr_int_ret ret;
    if (remote_call(conn, CVR_PROC_CONNECT_NUM_OF_DOMAINS, NULL, NULL,
                    (xdrproc_t)xdr_cvr_int_ret, &ret, sizeof(ret), err) < 0)
        return -1;
    return ret.value;
}

static CocoonDomain *
remote_domain_lookup_by_name(CocoonConn *conn, const char *name, CvError **err)
{
    cvr_domain_lookup_by_name_args args = {.name = (char *)name};
    return remote_call_domain(conn, CVR_PROC_DOMAIN_LOOKUP_BY_NAME,
                              (xdrproc_t)xdr_cvr_domain_lookup_by_name_args, &args, err);
}

static CocoonDomain *
remote_domain_lookup_by_uuid(CocoonConn *conn, const unsigned char *uuid, CvError **err)
{
    cvr_domain_lookup_by_uuid_args args;
    memcpy(args.uuid, uuid, CVR_UUID_LEN);
    return remote_call_domain(conn, CVR_PROC_DOMAIN_LOOKUP_BY_UUID,
                              (xdrproc_t)xdr_cvr_domain_lookup_by_uuid_args, &args, err);
}

static CocoonDomain *
remote_domain_lookup_by_id(CocoonConn *conn, int id, CvError **err)
{
    cvr_domain_lookup_by_id_args args = {.id = id};
    return remote_call_domain(conn, CVR_PROC_DOMAIN_LOOKUP_BY_ID,
                              (xdrproc_t)xdr_cvr_domain_lookup_by_id_args, &args, err);
}

/* ---- definitions ---- */

static CocoonDomain *
remote_domain_define_xml_flags(CocoonConn *conn, const char *xml, unsigned int flags,
                               CvError **err)
{
    /* without flags, virDomainDefineXML's procedure, as libvirt's client sends it (a read-only
     * refusal then names that API) */
    if (flags == 0) {
        cvr_domain_define_xml_args args = {.xml = (char *)xml};
        return remote_call_domain(conn, CVR_PROC_DOMAIN_DEFINE_XML,
                                  (xdrproc_t)xdr_cvr_domain_define_xml_args, &args, err);
    }
    cvr_domain_define_xml_flags_args args = {.xml = (char *)xml, .flags = flags};
    return remote_call_domain(conn, CVR_PROC_DOMAIN_DEFINE_XML_FLAGS,
                              (xdrproc_t)xdr_cvr_domain_define_xml_flags_args, &args, err);
}

static CocoonDomain *
remote_domain_create_xml(CocoonConn *conn, const char *xml, unsigned int flags, CvError **err)
{
    cvr_domain_create_xml_args args = {.xml_desc = (char *)xml, .flags = flags};
    return remote_call_domain(conn, CVR_PROC_DOMAIN_CREATE_XML,
                              (xdrproc_t)xdr_cvr_domain_create_xml_args, &args, err);
}

static const CocoonDriver remote_driver = {
    .name = "cocoon-remote",
    .connectClose = remote_connect_close,
    .connectGetVersion = remote_connect_get_version,
    .connectGetHostname = remote_connect_get_hostname,
    .connectGetCapabilities = remote_connect_get_capabilities,
    .nodeGetInfo = remote_node_get_info,
    .connectListAllDomains = remote_connect_list_all_domains,
    .connectNumOfDomains = remote_connect_num_of_domains,
    .domainLookupByName = remote_domain_lookup_by_name,
    .domainLookupByUUID = remote_domain_lookup_by_uuid,
    .domainLookupByID = remote_domain_lookup_by_id,
    .domainDefineXMLFlags = remote_domain_define_xml_flags,
    .domainUndefineFlags = remote_domain_undefine_flags,
    .domainGetXMLDesc = remote_domain_get_xml_desc,
    .domainGetState = remote_domain_get_state,
    .domainGetInfo = remote_domain_get_info,
    .domainIsActive = remote_domain_is_active,
    .domainIsPersistent = remote_domain_is_persistent,
    .domainGetAutostart = remote_domain_get_autostart,
    .domainSetAutostart = remote_domain_set_autostart,
    .connectDomainXMLToNative = remote_connect_domain_xml_to_native,
    .domainCreateWithFlags = remote_domain_create_with_flags,
    .domainCreateXML = remote_domain_create_xml,
    .domainShutdownFlags = remote_domain_shutdown_flags,
    .domainDestroyFlags = remote_domain_destroy_flags,
    .domainReboot = remote_domain_reboot,
    .domainSuspend = remote_domain_suspend,
    .domainResume = remote_domain_resume,
    .domainOpenConsole = remote_domain_open_console,
    .connectDomainEventRegisterAny = remote_event_register_any,
    .connectDomainEventDeregisterAny = remote_event_deregister_any,
    .domainGetOSType = remote_domain_get_os_type,
    .domainHasManagedSaveImage = remote_domain_has_managed_save_image,
    .connectGetMaxVcpus = remote_connect_get_max_vcpus,
    .nodeGetFreeMemory = remote_node_get_free_memory,
    .nodeGetCellsFreeMemory = remote_node_get_cells_free_memory,
    .nodeGetCPUMap = remote_node_get_cpu_map,
    .connectGetDomainCapabilities = remote_connect_get_domain_capabilities,
    .domainGetMaxMemory = remote_domain_get_max_memory,
    .domainGetVcpusFlags = remote_domain_get_vcpus_flags,
    .domainGetVcpus = remote_domain_get_vcpus,
    .domainGetCPUStats = remote_domain_get_cpu_stats,
    .domainMemoryStats = remote_domain_memory_stats,
    .domainBlockStats = remote_domain_block_stats,
    .domainInterfaceStats = remote_domain_interface_stats,
    .connectGetAllDomainStats = remote_connect_get_all_domain_stats,
    .domainSetMemoryFlags = remote_domain_set_memory_flags,
    .domainSetVcpusFlags = remote_domain_set_vcpus_flags,
    .domainGetBlockInfo = remote_domain_get_block_info,
    .domainSendKey = remote_domain_send_key,
    .domainSnapshotCreateXML = remote_domain_snapshot_create_xml,
    .domainListAllSnapshots = remote_domain_list_all_snapshots,
    .domainSnapshotListAllChildren = remote_domain_snapshot_list_all_children,
    .domainSnapshotLookupByName = remote_domain_snapshot_lookup_by_name,
    .domainSnapshotGetXMLDesc = remote_domain_snapshot_get_xml_desc,
    .domainSnapshotGetParent = remote_domain_snapshot_get_parent,
    .domainSnapshotCurrent = remote_domain_snapshot_current,
    .domainHasCurrentSnapshot = remote_domain_has_current_snapshot,
    .domainSnapshotIsCurrent = remote_domain_snapshot_is_current,
    .domainSnapshotHasMetadata = remote_domain_snapshot_has_metadata,
    .domainRevertToSnapshot = remote_domain_revert_to_snapshot,
    .domainSnapshotDelete = remote_domain_snapshot_delete,
    .domainSaveFlags = remote_domain_save_flags,
    .domainRestoreFlags = remote_domain_restore_flags,
    .domainManagedSave = remote_domain_managed_save,
    .domainManagedSaveRemove = remote_domain_managed_save_remove,
    .cocoonGarbageCollect = remote_cocoon_garbage_collect,
    .cocoonSnapshotExport = remote_cocoon_snapshot_export,
    .cocoonSnapshotImport = remote_cocoon_snapshot_import,
    .cocoonDomainCloneFromSnapshot = remote_cocoon_domain_clone_from_snapshot,
};
