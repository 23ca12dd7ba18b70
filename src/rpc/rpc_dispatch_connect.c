#include <string.h>

#include "rpc_dispatch.h"
#include "util/cv_sync.h"

/*
 * Connection set-up and host procedures: what every libvirt client calls before anything else
 * (AUTH_LIST, SUPPORTS_FEATURE, CONNECT_OPEN, the close callback), and the host queries.
 */

/* libvirt's feature numbers (src/libvirt_internal.h) that we support */
#define FEATURE_PROGRAM_KEEPALIVE 10
#define FEATURE_REMOTE_EVENT_CALLBACK 14
#define FEATURE_REMOTE_CLOSE_CALLBACK 15

/* The level of libvirt's protocol we speak, answered as the daemon's library version. */
#define RPC_LIBVIRT_PROTOCOL_VERSION 9000000ULL

static int
connect_auth_list(RpcCall *call, void *a, void *r, CvError **err)
{
    cvr_auth_list_ret *ret = r;
    ret->types.types_len = 1;
    ret->types.types_val = g_new0(int, 1); /* REMOTE_AUTH_NONE: the socket's mode is the auth */
    return 0;
}

static int
connect_supports_feature(RpcCall *call, void *a, void *r, CvError **err)
{
    cvr_connect_supports_feature_args *args = a;
    cvr_connect_supports_feature_ret *ret = r;
    ret->supported = args->feature == FEATURE_PROGRAM_KEEPALIVE ||
                     args->feature == FEATURE_REMOTE_EVENT_CALLBACK ||
                     args->feature == FEATURE_REMOTE_CLOSE_CALLBACK;
    return 0;
}

static int
connect_open(RpcCall *call, void *a, void *r, CvError **err)
{
    cvr_connect_open_args *args = a;
    const char *name = args->name ? *args->name : NULL;
    const char *uri;
    /* "" (or no name) is a client probing for a default: we are cocoon:///system */
    if (!name || !*name || strcmp(name, "cocoon:///system") == 0)
        uri = "cocoon:///system";
    else if (strcmp(name, "cocoon:///session") == 0)
        uri = "cocoon:///session";
    else {
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_NO_CONNECT, "%s", name);
        return -1;
    }
    RpcClient *c = call->client;
    cv_mutex_lock(&c->lock);
    c->opened = true;
    if (args->flags & VIR_CONNECT_RO)
        c->read_only = true;
    g_free(c->uri);
    c->uri = g_strdup(uri);
    cv_mutex_unlock(&c->lock);
    return 0;
}

static int
connect_close(RpcCall *call, void *a, void *r, CvError **err)
{
    /* event registrations end with the socket; the client closes it right after this */
    cv_mutex_lock(&call->client->lock);
    call->client->opened = false;
    cv_mutex_unlock(&call->client->lock);
    return 0;
}

static int
connect_nothing(RpcCall *call, void *a, void *r, CvError **err)
{
    /* close callbacks: the client learns of a closed connection from the socket itself */
    return 0;
}

static int
connect_get_type(RpcCall *call, void *a, void *r, CvError **err)
{
    cvr_connect_get_type_ret *ret = r;
    ret->type = g_strdup("Cocoon");
    return 0;
}

static int
connect_get_version(RpcCall *call, void *a, void *r, CvError **err)
{
    RPC_REQUIRE(call, connectGetVersion, err);
    cvr_connect_get_version_ret *ret = r;
    unsigned long long v;
    if (RPC_DRIVER(call, connectGetVersion)(call->conn, &v, err) < 0)
        return -1;
    ret->hv_ver = v;
    return 0;
}

static int
connect_get_lib_version(RpcCall *call, void *a, void *r, CvError **err)
{
    cvr_connect_get_lib_version_ret *ret = r;
    ret->lib_ver = RPC_LIBVIRT_PROTOCOL_VERSION;
    return 0;
}

static int
connect_get_hostname(RpcCall *call, void *a, void *r, CvError **err)
{
    RPC_REQUIRE(call, connectGetHostname, err);
    cvr_connect_get_hostname_ret *ret = r;
    ret->hostname = RPC_DRIVER(call, connectGetHostname)(call->conn, err);
    return ret->hostname ? 0 : -1;
}

static int
connect_get_capabilities(RpcCall *call, void *a, void *r, CvError **err)
{
    RPC_REQUIRE(call, connectGetCapabilities, err);
    cvr_connect_get_capabilities_ret *ret = r;
    ret->capabilities = RPC_DRIVER(call, connectGetCapabilities)(call->conn, err);
    return ret->capabilities ? 0 : -1;
}

static int
connect_get_uri(RpcCall *call, void *a, void *r, CvError **err)
{
    cvr_connect_get_uri_ret *ret = r;
    cv_mutex_lock(&call->client->lock);
    ret->uri = g_strdup(call->client->uri ? call->client->uri : "cocoon:///system");
    cv_mutex_unlock(&call->client->lock);
    return 0;
}

static int
connect_is_secure(RpcCall *call, void *a, void *r, CvError **err)
{
    cvr_connect_is_secure_ret *ret = r;
    ret->secure = 1; /* a local UNIX socket */
    return 0;
}

static int
node_get_info(RpcCall *call, void *a, void *r, CvError **err)
{
    RPC_REQUIRE(call, nodeGetInfo, err);
    cvr_node_get_info_ret *ret = r;
    CocoonNodeInfo info = {0};
    if (RPC_DRIVER(call, nodeGetInfo)(call->conn, &info, err) < 0)
        return -1;
    /* a fixed char[32], NUL-padded (and not necessarily NUL-terminated, as in virNodeInfo) */
    if (info.model)
        memcpy(ret->model, info.model, MIN(strlen(info.model), sizeof(ret->model)));
    g_free(info.model);
    ret->memory = info.memory_kib;
    ret->cpus = (int)info.cpus;
    ret->mhz = (int)info.mhz;
    ret->nodes = (int)info.nodes;
    ret->sockets = (int)info.sockets;
    ret->cores = (int)info.cores;
    ret->threads = (int)info.threads;
    return 0;
}

static int
connect_domain_xml_to_native(RpcCall *call, void *a, void *r, CvError **err)
{
    RPC_REQUIRE(call, connectDomainXMLToNative, err);
    cvr_connect_domain_xml_to_native_args *args = a;
    cvr_connect_domain_xml_to_native_ret *ret = r;
    ret->nativeConfig = RPC_DRIVER(call, connectDomainXMLToNative)(
        call->conn, args->nativeFormat, args->domainXml, args->flags, err);
    return ret->nativeConfig ? 0 : -1;
}

const RpcProcedure rpc_connect_procedures[] = {
    {CVR_PROC_AUTH_LIST, "virConnectAuthList", RPC_NONE, RPC_XDR(cvr_auth_list_ret),
     connect_auth_list, RPC_PROC_NO_OPEN},
    {CVR_PROC_CONNECT_SUPPORTS_FEATURE, "virConnectSupportsFeature",
     RPC_XDR(cvr_connect_supports_feature_args), RPC_XDR(cvr_connect_supports_feature_ret),
     connect_supports_feature, RPC_PROC_NO_OPEN},
    {CVR_PROC_CONNECT_OPEN, "virConnectOpen", RPC_XDR(cvr_connect_open_args), RPC_NONE,
     connect_open, RPC_PROC_NO_OPEN},
    {CVR_PROC_CONNECT_CLOSE, "virConnectClose", RPC_NONE, RPC_NONE, connect_close,
     RPC_PROC_NO_OPEN},
    {CVR_PROC_CONNECT_REGISTER_CLOSE_CALLBACK, "virConnectRegisterCloseCallback", RPC_NONE,
     RPC_NONE, connect_nothing, 0},
    {CVR_PROC_CONNECT_UNREGISTER_CLOSE_CALLBACK, "virConnectUnregisterCloseCallback", RPC_NONE,
     RPC_NONE, connect_nothing, 0},
    {CVR_PROC_CONNECT_GET_TYPE, "virConnectGetType", RPC_NONE,
     RPC_XDR(cvr_connect_get_type_ret), connect_get_type, 0},
    {CVR_PROC_CONNECT_GET_VERSION, "virConnectGetVersion", RPC_NONE,
     RPC_XDR(cvr_connect_get_version_ret), connect_get_version, 0},
    {CVR_PROC_CONNECT_GET_LIB_VERSION, "virConnectGetLibVersion", RPC_NONE,
     RPC_XDR(cvr_connect_get_lib_version_ret), connect_get_lib_version, 0},
    {CVR_PROC_CONNECT_GET_HOSTNAME, "virConnectGetHostname", RPC_NONE,
     RPC_XDR(cvr_connect_get_hostname_ret), connect_get_hostname, 0},
    {CVR_PROC_CONNECT_GET_CAPABILITIES, "virConnectGetCapabilities", RPC_NONE,
     RPC_XDR(cvr_connect_get_capabilities_ret), connect_get_capabilities, 0},
    {CVR_PROC_CONNECT_GET_URI, "virConnectGetURI", RPC_NONE, RPC_XDR(cvr_connect_get_uri_ret),
     connect_get_uri, 0},
    {CVR_PROC_CONNECT_IS_SECURE, "virConnectIsSecure", RPC_NONE,
     RPC_XDR(cvr_connect_is_secure_ret), connect_is_secure, 0},
    {CVR_PROC_NODE_GET_INFO, "virNodeGetInfo", RPC_NONE, RPC_XDR(cvr_node_get_info_ret),
     node_get_info, 0},
    {CVR_PROC_CONNECT_DOMAIN_XML_TO_NATIVE, "virConnectDomainXMLToNative",
     RPC_XDR(cvr_connect_domain_xml_to_native_args),
     RPC_XDR(cvr_connect_domain_xml_to_native_ret), connect_domain_xml_to_native,
     RPC_PROC_WRITE},
    /* no driver member answers these yet: NO_SUPPORT, with their names */
    {CVR_PROC_NODE_GET_SECURITY_MODEL, "virNodeGetSecurityModel", RPC_NONE,
     RPC_XDR(cvr_node_get_security_model_ret), NULL, 0},
};
const size_t rpc_connect_procedures_len = G_N_ELEMENTS(rpc_connect_procedures);

/* ---- Cocoon's own program ---- */

static int
cocoon_connect_get_features(RpcCall *call, void *a, void *r, CvError **err)
{
    cvr_cocoon_connect_get_features_ret *ret = r;
    /* the Cocoon-only calls this daemon serves (snapshot export/import come later) */
    static const char *const features[] = {"connect-get-features", "domain-clone-from-snapshot",
                                           "garbage-collect"};
    ret->features.features_len = G_N_ELEMENTS(features);
    ret->features.features_val = g_new0(char *, G_N_ELEMENTS(features));
    for (size_t i = 0; i < G_N_ELEMENTS(features); i++)
        ret->features.features_val[i] = g_strdup(features[i]);
    return 0;
}

const RpcProcedure rpc_cocoon_procedures[] = {
    {CVR_COCOON_PROC_CONNECT_GET_FEATURES, "cocoonConnectGetFeatures", RPC_NONE,
     RPC_XDR(cvr_cocoon_connect_get_features_ret), cocoon_connect_get_features, 0},
};
const size_t rpc_cocoon_procedures_len = G_N_ELEMENTS(rpc_cocoon_procedures);
