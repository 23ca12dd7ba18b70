#include <string.h>

#include "driver/typed_params.h"
#include "remote_priv.h"

/*
 * The remote driver's everyday host and statistics members (rpc_dispatch_node.c and
 * rpc_dispatch_stats.c on the server): limits, free memory, domcapabilities, vCPUs, balloon,
 * disk and interface counters, domstats, setmem/setvcpus, domblkinfo, send-key.
 */

static int
dom_call(CocoonDomain *dom, int proc, xdrproc_t args_filter, const void *args,
         xdrproc_t ret_filter, void *ret, size_t ret_size, CvError **err)
{
    return remote_call(dom->conn, proc, args_filter, args, ret_filter, ret, ret_size, err);
}

int
remote_connect_get_max_vcpus(CocoonConn *conn, const char *type, CvError **err)
{
    char *t = (char *)type;
    cvr_connect_get_max_vcpus_args args = {.type = type ? &t : NULL};
    cvr_connect_get_max_vcpus_ret ret;
    if (remote_call(conn, CVR_PROC_CONNECT_GET_MAX_VCPUS,
                    (xdrproc_t)xdr_cvr_connect_get_max_vcpus_args, &args,
                    (xdrproc_t)xdr_cvr_connect_get_max_vcpus_ret, &ret, sizeof(ret), err) < 0)
        return -1;
    return ret.max_vcpus;
}

int
remote_node_get_free_memory(CocoonConn *conn, unsigned long long *ret_bytes, CvError **err)
{
    cvr_node_get_free_memory_ret ret;
    if (remote_call(conn, CVR_PROC_NODE_GET_FREE_MEMORY, NULL, NULL,
                    (xdrproc_t)xdr_cvr_node_get_free_memory_ret, &ret, sizeof(ret), err) < 0)
        return -1;
    *ret_bytes = ret.freeMem;
    return 0;
}

int
remote_node_get_cells_free_memory(CocoonConn *conn, unsigned long long *cells, int start,
                                  int max, CvError **err)
{
    cvr_node_get_cells_free_memory_args args = {.startCell = start, .maxcells = max};
    cvr_node_get_cells_free_memory_ret ret;
    if (remote_call(conn, CVR_PROC_NODE_GET_CELLS_FREE_MEMORY,
                    (xdrproc_t)xdr_cvr_node_get_cells_free_memory_args, &args,
                    (xdrproc_t)xdr_cvr_node_get_cells_free_memory_ret, &ret, sizeof(ret),
                    err) < 0)
        return -1;
    int n = (int)MIN(ret.cells.cells_len, (u_int)max);
    for (int i = 0; i < n; i++)
        cells[i] = ret.cells.cells_val[i];
    xdr_free((xdrproc_t)xdr_cvr_node_get_cells_free_memory_ret, (char *)&ret);
    return n;
}

int
remote_node_get_cpu_map(CocoonConn *conn, unsigned char **ret_map, unsigned int *ret_online,
                        CvError **err)
{
    cvr_node_get_cpu_map_args args = {.need_map = ret_map != NULL,
                                      .need_online = ret_online != NULL};
    cvr_node_get_cpu_map_ret ret;
    if (remote_call(conn, CVR_PROC_NODE_GET_CPU_MAP, (xdrproc_t)xdr_cvr_node_get_cpu_map_args,
                    &args, (xdrproc_t)xdr_cvr_node_get_cpu_map_ret, &ret, sizeof(ret), err) < 0)
        return -1;
    if (ret_map)
        *ret_map = g_memdup2(ret.cpumap.cpumap_val, ret.cpumap.cpumap_len ? ret.cpumap.cpumap_len : 1);
    if (ret_online)
        *ret_online = ret.online;
    int n = ret.ret;
    xdr_free((xdrproc_t)xdr_cvr_node_get_cpu_map_ret, (char *)&ret);
    return n;
}

char *
remote_connect_get_domain_capabilities(CocoonConn *conn, const char *emulatorbin,
                                       const char *arch, const char *machine,
                                       const char *virttype, unsigned int flags, CvError **err)
{
    char *e = (char *)emulatorbin, *a = (char *)arch, *m = (char *)machine, *v = (char *)virttype;
    cvr_connect_get_domain_capabilities_args args = {
        .emulatorbin = e ? &e : NULL, .arch = a ? &a : NULL, .machine = m ? &m : NULL,
        .virttype = v ? &v : NULL, .flags = flags};
    cvr_connect_get_domain_capabilities_ret ret;
    if (remote_call(conn, CVR_PROC_CONNECT_GET_DOMAIN_CAPABILITIES,
                    (xdrproc_t)xdr_cvr_connect_get_domain_capabilities_args, &args,
                    (xdrproc_t)xdr_cvr_connect_get_domain_capabilities_ret, &ret, sizeof(ret),
                    err) < 0)
        return NULL;
    char *xml = g_strdup(ret.capabilities);
    xdr_free((xdrproc_t)xdr_cvr_connect_get_domain_capabilities_ret, (char *)&ret);
    return xml;
}

int
remote_domain_get_max_memory(CocoonDomain *dom, unsigned long long *ret_kib, CvError **err)
{
    cvr_domain_args args;
    remote_domain_to_wire(dom, &args.dom);
    cvr_domain_get_max_memory_ret ret;
    if (dom_call(dom, CVR_PROC_DOMAIN_GET_MAX_MEMORY, (xdrproc_t)xdr_cvr_domain_args, &args,
                 (xdrproc_t)xdr_cvr_domain_get_max_memory_ret, &ret, sizeof(ret), err) < 0)
        return -1;
    *ret_kib = ret.memory;
    return 0;
}

int
remote_domain_get_vcpus_flags(CocoonDomain *dom, unsigned int flags, CvError **err)
{
    cvr_domain_flags_args args = {.flags = flags};
    remote_domain_to_wire(dom, &args.dom);
    cvr_int_ret ret;
    if (dom_call(dom, CVR_PROC_DOMAIN_GET_VCPUS_FLAGS, (xdrproc_t)xdr_cvr_domain_flags_args,
                 &args, (xdrproc_t)xdr_cvr_int_ret, &ret, sizeof(ret), err) < 0)
        return -1;
    return ret.value;
}

int
remote_domain_get_vcpus(CocoonDomain *dom, CocoonVcpuInfo **ret_info, size_t *ret_n,
                        CvError **err)
{
    int max = remote_domain_get_vcpus_flags(dom, VIR_DOMAIN_VCPU_MAXIMUM, err);
    if (max < 0)
        return -1;
    cvr_domain_get_vcpus_args args = {.maxinfo = max, .maplen = 0};
    remote_domain_to_wire(dom, &args.dom);
    cvr_domain_get_vcpus_ret ret;
    if (dom_call(dom, CVR_PROC_DOMAIN_GET_VCPUS, (xdrproc_t)xdr_cvr_domain_get_vcpus_args, &args,
                 (xdrproc_t)xdr_cvr_domain_get_vcpus_ret, &ret, sizeof(ret), err) < 0)
        return -1;
    size_t n = ret.info.info_len;
    CocoonVcpuInfo *info = g_new0(CocoonVcpuInfo, n ? n : 1);
    for (size_t i = 0; i < n; i++)
        info[i] = (CocoonVcpuInfo){.number = ret.info.info_val[i].number,
                                   .state = ret.info.info_val[i].state,
                                   .cpu_time_ns = ret.info.info_val[i].cpu_time,
                                   .cpu = ret.info.info_val[i].cpu};
    xdr_free((xdrproc_t)xdr_cvr_domain_get_vcpus_ret, (char *)&ret);
    *ret_info = info;
    *ret_n = n;
    return 0;
}

/* Append the wire parameters w[0..n) to p. */
static void
typed_params_from_wire(const cvr_typed_param *w, u_int n, CocoonTypedParams *p)
{
    for (u_int i = 0; i < n; i++) {
        const cvr_typed_param_value *v = &w[i].value;
        switch (v->type) {
        case VIR_TYPED_PARAM_INT:
        case VIR_TYPED_PARAM_BOOLEAN:
            typed_params_add_int(p, w[i].field, v->cvr_typed_param_value_u.i);
            if (v->type == VIR_TYPED_PARAM_BOOLEAN)
                p->params[p->n - 1].type = VIR_TYPED_PARAM_BOOLEAN;
            break;
        case VIR_TYPED_PARAM_UINT:
            typed_params_add_uint(p, w[i].field, v->cvr_typed_param_value_u.ui);
            break;
        case VIR_TYPED_PARAM_LLONG:
        case VIR_TYPED_PARAM_ULLONG:
            typed_params_add_ull(p, w[i].field, (unsigned long long)v->cvr_typed_param_value_u.ul);
            if (v->type == VIR_TYPED_PARAM_LLONG)
                p->params[p->n - 1].type = VIR_TYPED_PARAM_LLONG;
            break;
        case VIR_TYPED_PARAM_DOUBLE:
            typed_params_add_ull(p, w[i].field, 0);
            p->params[p->n - 1].type = VIR_TYPED_PARAM_DOUBLE;
            p->params[p->n - 1].value.d = v->cvr_typed_param_value_u.d;
            break;
        default:
            typed_params_add_string(p, w[i].field, v->cvr_typed_param_value_u.s);
            break;
        }
    }
}

int
remote_domain_get_cpu_stats(CocoonDomain *dom, CocoonTypedParams *params, unsigned int flags,
                            CvError **err)
{
    cvr_domain_get_cpu_stats_args args = {.nparams = 16, .start_cpu = -1, .ncpus = 1,
                                          .flags = flags};
    remote_domain_to_wire(dom, &args.dom);
    cvr_domain_get_cpu_stats_ret ret;
    if (dom_call(dom, CVR_PROC_DOMAIN_GET_CPU_STATS, (xdrproc_t)xdr_cvr_domain_get_cpu_stats_args,
                 &args, (xdrproc_t)xdr_cvr_domain_get_cpu_stats_ret, &ret, sizeof(ret), err) < 0)
        return -1;
    typed_params_from_wire(ret.params.params_val, ret.params.params_len, params);
    xdr_free((xdrproc_t)xdr_cvr_domain_get_cpu_stats_ret, (char *)&ret);
    return 0;
}

int
remote_domain_memory_stats(CocoonDomain *dom, CocoonMemoryStat *stats, unsigned int max,
                           unsigned int flags, CvError **err)
{
    cvr_domain_memory_stats_args args = {.maxStats = max, .flags = flags};
    remote_domain_to_wire(dom, &args.dom);
    cvr_domain_memory_stats_ret ret;
    if (dom_call(dom, CVR_PROC_DOMAIN_MEMORY_STATS, (xdrproc_t)xdr_cvr_domain_memory_stats_args,
                 &args, (xdrproc_t)xdr_cvr_domain_memory_stats_ret, &ret, sizeof(ret), err) < 0)
        return -1;
    unsigned int n = MIN(ret.stats.stats_len, max);
    for (unsigned int i = 0; i < n; i++)
        stats[i] = (CocoonMemoryStat){.tag = ret.stats.stats_val[i].tag,
                                      .val = ret.stats.stats_val[i].val};
    xdr_free((xdrproc_t)xdr_cvr_domain_memory_stats_ret, (char *)&ret);
    return (int)n;
}

int
remote_domain_block_stats(CocoonDomain *dom, const char *path, CocoonBlockStats *ret_stats,
                          CvError **err)
{
    cvr_domain_block_stats_args args = {.path = (char *)path};
    remote_domain_to_wire(dom, &args.dom);
    cvr_domain_block_stats_ret ret;
    if (dom_call(dom, CVR_PROC_DOMAIN_BLOCK_STATS, (xdrproc_t)xdr_cvr_domain_block_stats_args,
                 &args, (xdrproc_t)xdr_cvr_domain_block_stats_ret, &ret, sizeof(ret), err) < 0)
        return -1;
    *ret_stats = (CocoonBlockStats){.rd_req = ret.rd_req, .rd_bytes = ret.rd_bytes,
                                    .wr_req = ret.wr_req, .wr_bytes = ret.wr_bytes,
                                    .errs = ret.errs};
    return 0;
}

int
remote_domain_interface_stats(CocoonDomain *dom, const char *device,
                              CocoonInterfaceStats *ret_stats, CvError **err)
{
    cvr_domain_interface_stats_args args = {.device = (char *)device};
    remote_domain_to_wire(dom, &args.dom);
    cvr_domain_interface_stats_ret r;
    if (dom_call(dom, CVR_PROC_DOMAIN_INTERFACE_STATS,
                 (xdrproc_t)xdr_cvr_domain_interface_stats_args, &args,
                 (xdrproc_t)xdr_cvr_domain_interface_stats_ret, &r, sizeof(r), err) < 0)
        return -1;
    *ret_stats = (CocoonInterfaceStats){
        .rx_bytes = r.rx_bytes, .rx_packets = r.rx_packets, .rx_errs = r.rx_errs,
        .rx_drop = r.rx_drop, .tx_bytes = r.tx_bytes, .tx_packets = r.tx_packets,
        .tx_errs = r.tx_errs, .tx_drop = r.tx_drop};
    return 0;
}

int
remote_connect_get_all_domain_stats(CocoonConn *conn, CocoonDomain **doms, size_t ndoms,
                                    unsigned int stats, unsigned int flags,
                                    CocoonDomainStatsRecord **ret_records, size_t *ret_n,
                                    CvError **err)
{
    g_autofree cvr_nonnull_domain *w = g_new0(cvr_nonnull_domain, ndoms ? ndoms : 1);
    for (size_t i = 0; i < ndoms; i++)
        remote_domain_to_wire(doms[i], &w[i]);
    cvr_connect_get_all_domain_stats_args args = {
        .doms = {.doms_len = (u_int)ndoms, .doms_val = w}, .stats = stats, .flags = flags};
    cvr_connect_get_all_domain_stats_ret ret;
    if (remote_call(conn, CVR_PROC_CONNECT_GET_ALL_DOMAIN_STATS,
                    (xdrproc_t)xdr_cvr_connect_get_all_domain_stats_args, &args,
                    (xdrproc_t)xdr_cvr_connect_get_all_domain_stats_ret, &ret, sizeof(ret),
                    err) < 0)
        return -1;
    size_t n = ret.retStats.retStats_len;
    CocoonDomainStatsRecord *recs = g_new0(CocoonDomainStatsRecord, n ? n : 1);
    for (size_t i = 0; i < n; i++) {
        const cvr_domain_stats_record *r = &ret.retStats.retStats_val[i];
        recs[i].dom = remote_domain_from_wire(conn, &r->dom);
        typed_params_from_wire(r->params.params_val, r->params.params_len, &recs[i].params);
    }
    xdr_free((xdrproc_t)xdr_cvr_connect_get_all_domain_stats_ret, (char *)&ret);
    *ret_records = recs;
    *ret_n = n;
    return 0;
}

int
remote_domain_set_memory_flags(CocoonDomain *dom, unsigned long long kib, unsigned int flags,
                               CvError **err)
{
    cvr_domain_set_memory_flags_args args = {.memory = kib, .flags = flags};
    remote_domain_to_wire(dom, &args.dom);
    return dom_call(dom, CVR_PROC_DOMAIN_SET_MEMORY_FLAGS,
                    (xdrproc_t)xdr_cvr_domain_set_memory_flags_args, &args, NULL, NULL, 0, err);
}

int
remote_domain_set_vcpus_flags(CocoonDomain *dom, unsigned int n, unsigned int flags,
                              CvError **err)
{
    cvr_domain_set_vcpus_flags_args args = {.nvcpus = n, .flags = flags};
    remote_domain_to_wire(dom, &args.dom);
    return dom_call(dom, CVR_PROC_DOMAIN_SET_VCPUS_FLAGS,
                    (xdrproc_t)xdr_cvr_domain_set_vcpus_flags_args, &args, NULL, NULL, 0, err);
}

int
remote_domain_get_block_info(CocoonDomain *dom, const char *path, CocoonBlockInfo *ret_info,
                             unsigned int flags, CvError **err)
{
    cvr_domain_get_block_info_args args = {.path = (char *)path, .flags = flags};
    remote_domain_to_wire(dom, &args.dom);
    cvr_domain_get_block_info_ret ret;
    if (dom_call(dom, CVR_PROC_DOMAIN_GET_BLOCK_INFO,
                 (xdrproc_t)xdr_cvr_domain_get_block_info_args, &args,
                 (xdrproc_t)xdr_cvr_domain_get_block_info_ret, &ret, sizeof(ret), err) < 0)
        return -1;
    *ret_info = (CocoonBlockInfo){.capacity = ret.capacity, .allocation = ret.allocation,
                                  .physical = ret.physical};
    return 0;
}

int
remote_domain_send_key(CocoonDomain *dom, unsigned int codeset, unsigned int holdtime,
                       const unsigned int *keycodes, int nkeycodes, unsigned int flags,
                       CvError **err)
{
    cvr_domain_send_key_args args = {
        .codeset = codeset, .holdtime = holdtime,
        .keycodes = {.keycodes_len = (u_int)nkeycodes, .keycodes_val = (u_int *)keycodes},
        .flags = flags};
    remote_domain_to_wire(dom, &args.dom);
    return dom_call(dom, CVR_PROC_DOMAIN_SEND_KEY, (xdrproc_t)xdr_cvr_domain_send_key_args, &args,
                    NULL, NULL, 0, err);
}
