#include <string.h>

#include "rpc_dispatch.h"

/*
 * The calls every client makes before anything else, beyond set-up: host limits and free
 * memory, domain capabilities, the older domain lists (ids of the running ones, names of the
 * others), and the object kinds Cocoon has none of (networks, storage pools, interfaces, node
 * devices, network filters, secrets): their counts and lists answer zero and empty, and their
 * event registrations succeed and never fire, as libvirtd with no such objects answers.
 */

static int
connect_get_max_vcpus(RpcCall *call, void *a, void *r, CvError **err)
{
    RPC_REQUIRE(call, connectGetMaxVcpus, err);
    cvr_connect_get_max_vcpus_args *args = a;
    cvr_connect_get_max_vcpus_ret *ret = r;
    int n = RPC_DRIVER(call, connectGetMaxVcpus)(call->conn, args->type ? *args->type : NULL, err);
    if (n < 0)
        return -1;
    ret->max_vcpus = n;
    return 0;
}

static int
node_get_free_memory(RpcCall *call, void *a, void *r, CvError **err)
{
    RPC_REQUIRE(call, nodeGetFreeMemory, err);
    cvr_node_get_free_memory_ret *ret = r;
    unsigned long long v;
    if (RPC_DRIVER(call, nodeGetFreeMemory)(call->conn, &v, err) < 0)
        return -1;
    ret->freeMem = v;
    return 0;
}

static int
node_get_cells_free_memory(RpcCall *call, void *a, void *r, CvError **err)
{
    RPC_REQUIRE(call, nodeGetCellsFreeMemory, err);
    cvr_node_get_cells_free_memory_args *args = a;
    cvr_node_get_cells_free_memory_ret *ret = r;
    if (args->maxcells <= 0 || args->maxcells > CVR_NODE_MAX_CELLS) {
        cv_error_set(err, VIR_FROM_RPC, VIR_ERR_RPC, "%s", "maxCells > REMOTE_NODE_MAX_CELLS");
        return -1;
    }
    g_autofree unsigned long long *cells = g_new0(unsigned long long, args->maxcells);
    int n = RPC_DRIVER(call, nodeGetCellsFreeMemory)(call->conn, cells, args->startCell,
                                                     args->maxcells, err);
    if (n < 0)
        return -1;
    ret->cells.cells_len = (u_int)n;
    ret->cells.cells_val = g_new0(u_quad_t, n ? n : 1);
    for (int i = 0; i < n; i++)
        ret->cells.cells_val[i] = cells[i];
    return 0;
}

static int
node_get_cpu_map(RpcCall *call, void *a, void *r, CvError **err)
{
    RPC_REQUIRE(call, nodeGetCPUMap, err);
    cvr_node_get_cpu_map_args *args = a;
    cvr_node_get_cpu_map_ret *ret = r;
    if (args->flags) {
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_INVALID_ARG,
                     "unsupported flags (0x%x) in function virNodeGetCPUMap", args->flags);
        return -1;
    }
    g_autofree unsigned char *map = NULL;
    unsigned int online = 0;
    int n = RPC_DRIVER(call, nodeGetCPUMap)(call->conn, &map, &online, err);
    if (n < 0)
        return -1;
    size_t len = (size_t)n / 8 + 1;
    if (len > CVR_CPUMAP_MAX) {
        cv_error_set(err, VIR_FROM_RPC, VIR_ERR_RPC, "%s", "cpumap > REMOTE_CPUMAP_MAX");
        return -1;
    }
    if (args->need_map) {
        ret->cpumap.cpumap_len = (u_int)len;
        ret->cpumap.cpumap_val = g_memdup2(map, len);
    }
    if (args->need_online)
        ret->online = online;
    ret->ret = n;
    return 0;
}

static const char *
opt(const cvr_string s)
{
    return s ? *s : NULL;
}

static int
connect_get_domain_capabilities(RpcCall *call, void *a, void *r, CvError **err)
{
    RPC_REQUIRE(call, connectGetDomainCapabilities, err);
    cvr_connect_get_domain_capabilities_args *args = a;
    cvr_connect_get_domain_capabilities_ret *ret = r;
    ret->capabilities = RPC_DRIVER(call, connectGetDomainCapabilities)(
        call->conn, opt(args->emulatorbin), opt(args->arch), opt(args->machine),
        opt(args->virttype), args->flags, err);
    return ret->capabilities ? 0 : -1;
}

/* ---- the older domain lists ------------------------------------------------------------ */

static int
list_domains(RpcCall *call, unsigned int flags, CocoonDomain ***ret_doms, size_t *ret_n,
             CvError **err)
{
    RPC_REQUIRE(call, connectListAllDomains, err);
    return RPC_DRIVER(call, connectListAllDomains)(call->conn, ret_doms, ret_n, flags, err);
}

static int
connect_list_domains(RpcCall *call, void *a, void *r, CvError **err)
{
    cvr_connect_list_domains_args *args = a;
    cvr_connect_list_domains_ret *ret = r;
    if (args->maxids < 0 || args->maxids > CVR_DOMAIN_LIST_MAX) {
        cv_error_set(err, VIR_FROM_RPC, VIR_ERR_RPC, "%s", "maxids > REMOTE_DOMAIN_LIST_MAX");
        return -1;
    }
    CocoonDomain **doms = NULL;
    size_t n = 0;
    if (list_domains(call, VIR_CONNECT_LIST_DOMAINS_ACTIVE, &doms, &n, err) < 0)
        return -1;
    size_t k = MIN(n, (size_t)args->maxids);
    ret->ids.ids_len = (u_int)k;
    ret->ids.ids_val = g_new0(int, k ? k : 1);
    for (size_t i = 0; i < k; i++)
        ret->ids.ids_val[i] = doms[i]->id;
    cocoon_domain_list_free(doms);
    return 0;
}

static int
connect_num_of_defined_domains(RpcCall *call, void *a, void *r, CvError **err)
{
    cvr_int_ret *ret = r;
    CocoonDomain **doms = NULL;
    size_t n = 0;
    if (list_domains(call, VIR_CONNECT_LIST_DOMAINS_INACTIVE, &doms, &n, err) < 0)
        return -1;
    cocoon_domain_list_free(doms);
    ret->value = (int)n;
    return 0;
}

static int
connect_list_defined_domains(RpcCall *call, void *a, void *r, CvError **err)
{
    cvr_connect_list_names_args *args = a;
    cvr_connect_list_names_ret *ret = r;
    if (args->maxnames < 0 || args->maxnames > CVR_DOMAIN_LIST_MAX) {
        cv_error_set(err, VIR_FROM_RPC, VIR_ERR_RPC, "%s", "maxnames > REMOTE_DOMAIN_LIST_MAX");
        return -1;
    }
    CocoonDomain **doms = NULL;
    size_t n = 0;
    if (list_domains(call, VIR_CONNECT_LIST_DOMAINS_INACTIVE, &doms, &n, err) < 0)
        return -1;
    size_t k = MIN(n, (size_t)args->maxnames);
    ret->names.names_len = (u_int)k;
    ret->names.names_val = g_new0(char *, k ? k : 1);
    for (size_t i = 0; i < k; i++)
        ret->names.names_val[i] = g_strdup(doms[i]->name);
    cocoon_domain_list_free(doms);
    return 0;
}

/* ---- object kinds Cocoon has none of ------------------------------------------------------ */

static int
none_count(RpcCall *call, void *a, void *r, CvError **err)
{
    cvr_int_ret *ret = r;
    ret->value = 0;
    return 0;
}

static int
none_names(RpcCall *call, void *a, void *r, CvError **err)
{
    cvr_connect_list_names_args *args = a;
    if (args->maxnames < 0 || args->maxnames > CVR_NAME_LIST_MAX) {
        cv_error_set(err, VIR_FROM_RPC, VIR_ERR_RPC, "maxnames %d out of range", args->maxnames);
        return -1;
    }
    return 0; /* an empty list */
}

static int
none_device_names(RpcCall *call, void *a, void *r, CvError **err)
{
    cvr_node_list_devices_args *args = a;
    if (args->maxnames < 0 || args->maxnames > CVR_NAME_LIST_MAX) {
        cv_error_set(err, VIR_FROM_RPC, VIR_ERR_RPC, "maxnames %d out of range", args->maxnames);
        return -1;
    }
    return 0;
}

static int
none_list_all(RpcCall *call, void *a, void *r, CvError **err)
{
    cvr_connect_list_all_none_ret *ret = r;
    ret->ret = 0;
    return 0;
}

/* event callbacks for objects that never exist: registered, never fired */
static int
none_event_register(RpcCall *call, void *a, void *r, CvError **err)
{
    static gint next_id = 1;
    cvr_connect_domain_event_callback_register_any_ret *ret = r;
    ret->callbackID = g_atomic_int_add(&next_id, 1);
    return 0;
}

static int
none_event_deregister(RpcCall *call, void *a, void *r, CvError **err)
{
    return 0;
}

#define NONE_COUNT(proc, api) {proc, api, RPC_NONE, RPC_XDR(cvr_int_ret), none_count, 0}
#define NONE_NAMES(proc, api)                                                                  \
    {proc, api, RPC_XDR(cvr_connect_list_names_args), RPC_XDR(cvr_connect_list_names_ret),     \
     none_names, 0}
#define NONE_LIST_ALL(proc, api)                                                               \
    {proc, api, RPC_XDR(cvr_connect_list_all_none_args), RPC_XDR(cvr_connect_list_all_none_ret), \
     none_list_all, 0}
#define NONE_EVENTS(reg, dereg, api, args)                                                     \
    {reg, api "RegisterAny", RPC_XDR(args),                                                    \
     RPC_XDR(cvr_connect_domain_event_callback_register_any_ret), none_event_register, 0},      \
        {dereg, api "DeregisterAny", RPC_XDR(cvr_connect_event_deregister_any_args), RPC_NONE,  \
         none_event_deregister, 0}

const RpcProcedure rpc_node_procedures[] = {
    {CVR_PROC_CONNECT_GET_MAX_VCPUS, "virConnectGetMaxVcpus",
     RPC_XDR(cvr_connect_get_max_vcpus_args), RPC_XDR(cvr_connect_get_max_vcpus_ret),
     connect_get_max_vcpus, 0},
    {CVR_PROC_NODE_GET_FREE_MEMORY, "virNodeGetFreeMemory", RPC_NONE,
     RPC_XDR(cvr_node_get_free_memory_ret), node_get_free_memory, 0},
    {CVR_PROC_NODE_GET_CELLS_FREE_MEMORY, "virNodeGetCellsFreeMemory",
     RPC_XDR(cvr_node_get_cells_free_memory_args), RPC_XDR(cvr_node_get_cells_free_memory_ret),
     node_get_cells_free_memory, 0},
    {CVR_PROC_NODE_GET_CPU_MAP, "virNodeGetCPUMap", RPC_XDR(cvr_node_get_cpu_map_args),
     RPC_XDR(cvr_node_get_cpu_map_ret), node_get_cpu_map, 0},
    {CVR_PROC_CONNECT_GET_DOMAIN_CAPABILITIES, "virConnectGetDomainCapabilities",
     RPC_XDR(cvr_connect_get_domain_capabilities_args),
     RPC_XDR(cvr_connect_get_domain_capabilities_ret), connect_get_domain_capabilities, 0},
    {CVR_PROC_CONNECT_LIST_DOMAINS, "virConnectListDomains",
     RPC_XDR(cvr_connect_list_domains_args), RPC_XDR(cvr_connect_list_domains_ret),
     connect_list_domains, 0},
    {CVR_PROC_CONNECT_NUM_OF_DEFINED_DOMAINS, "virConnectNumOfDefinedDomains", RPC_NONE,
     RPC_XDR(cvr_int_ret), connect_num_of_defined_domains, 0},
    {CVR_PROC_CONNECT_LIST_DEFINED_DOMAINS, "virConnectListDefinedDomains",
     RPC_XDR(cvr_connect_list_names_args), RPC_XDR(cvr_connect_list_names_ret),
     connect_list_defined_domains, 0},
    NONE_COUNT(CVR_PROC_CONNECT_NUM_OF_NETWORKS, "virConnectNumOfNetworks"),
    NONE_COUNT(CVR_PROC_CONNECT_NUM_OF_DEFINED_NETWORKS, "virConnectNumOfDefinedNetworks"),
    NONE_NAMES(CVR_PROC_CONNECT_LIST_NETWORKS, "virConnectListNetworks"),
    NONE_NAMES(CVR_PROC_CONNECT_LIST_DEFINED_NETWORKS, "virConnectListDefinedNetworks"),
    NONE_LIST_ALL(CVR_PROC_CONNECT_LIST_ALL_NETWORKS, "virConnectListAllNetworks"),
    NONE_COUNT(CVR_PROC_CONNECT_NUM_OF_STORAGE_POOLS, "virConnectNumOfStoragePools"),
    NONE_COUNT(CVR_PROC_CONNECT_NUM_OF_DEFINED_STORAGE_POOLS,
               "virConnectNumOfDefinedStoragePools"),
    NONE_NAMES(CVR_PROC_CONNECT_LIST_STORAGE_POOLS, "virConnectListStoragePools"),
    NONE_NAMES(CVR_PROC_CONNECT_LIST_DEFINED_STORAGE_POOLS, "virConnectListDefinedStoragePools"),
    NONE_LIST_ALL(CVR_PROC_CONNECT_LIST_ALL_STORAGE_POOLS, "virConnectListAllStoragePools"),
    NONE_COUNT(CVR_PROC_CONNECT_NUM_OF_INTERFACES, "virConnectNumOfInterfaces"),
    NONE_COUNT(CVR_PROC_CONNECT_NUM_OF_DEFINED_INTERFACES, "virConnectNumOfDefinedInterfaces"),
    NONE_NAMES(CVR_PROC_CONNECT_LIST_INTERFACES, "virConnectListInterfaces"),
    NONE_NAMES(CVR_PROC_CONNECT_LIST_DEFINED_INTERFACES, "virConnectListDefinedInterfaces"),
    NONE_LIST_ALL(CVR_PROC_CONNECT_LIST_ALL_INTERFACES, "virConnectListAllInterfaces"),
    {CVR_PROC_NODE_NUM_OF_DEVICES, "virNodeNumOfDevices", RPC_XDR(cvr_node_num_of_devices_args),
     RPC_XDR(cvr_int_ret), none_count, 0},
    {CVR_PROC_NODE_LIST_DEVICES, "virNodeListDevices", RPC_XDR(cvr_node_list_devices_args),
     RPC_XDR(cvr_connect_list_names_ret), none_device_names, 0},
    NONE_LIST_ALL(CVR_PROC_CONNECT_LIST_ALL_NODE_DEVICES, "virConnectListAllNodeDevices"),
    NONE_COUNT(CVR_PROC_CONNECT_NUM_OF_NWFILTERS, "virConnectNumOfNWFilters"),
    NONE_NAMES(CVR_PROC_CONNECT_LIST_NWFILTERS, "virConnectListNWFilters"),
    NONE_LIST_ALL(CVR_PROC_CONNECT_LIST_ALL_NWFILTERS, "virConnectListAllNWFilters"),
    NONE_COUNT(CVR_PROC_CONNECT_NUM_OF_SECRETS, "virConnectNumOfSecrets"),
    NONE_NAMES(CVR_PROC_CONNECT_LIST_SECRETS, "virConnectListSecrets"),
    NONE_LIST_ALL(CVR_PROC_CONNECT_LIST_ALL_SECRETS, "virConnectListAllSecrets"),
    NONE_EVENTS(CVR_PROC_CONNECT_NETWORK_EVENT_REGISTER_ANY,
                CVR_PROC_CONNECT_NETWORK_EVENT_DEREGISTER_ANY, "virConnectNetworkEvent",
                cvr_connect_network_event_register_any_args),
    NONE_EVENTS(CVR_PROC_CONNECT_STORAGE_POOL_EVENT_REGISTER_ANY,
                CVR_PROC_CONNECT_STORAGE_POOL_EVENT_DEREGISTER_ANY, "virConnectStoragePoolEvent",
                cvr_connect_storage_pool_event_register_any_args),
    NONE_EVENTS(CVR_PROC_CONNECT_NODE_DEVICE_EVENT_REGISTER_ANY,
                CVR_PROC_CONNECT_NODE_DEVICE_EVENT_DEREGISTER_ANY, "virConnectNodeDeviceEvent",
                cvr_connect_node_device_event_register_any_args),
    NONE_EVENTS(CVR_PROC_CONNECT_SECRET_EVENT_REGISTER_ANY,
                CVR_PROC_CONNECT_SECRET_EVENT_DEREGISTER_ANY, "virConnectSecretEvent",
                cvr_connect_secret_event_register_any_args),
};
const size_t rpc_node_procedures_len = G_N_ELEMENTS(rpc_node_procedures);
