#include <string.h>
#include <unistd.h>

#include "rpc_dispatch.h"

#include "driver/typed_params.h"

/*
 * What a domain has and does: maximum memory, vCPU counts and threads, CPU time, balloon,
 * disk and interface counters, and domstats' records. Each handler turns one driver answer
 * into the wire form (typed parameters for the last ones).
 */

void
rpc_typed_params_to_wire(const CocoonTypedParams *p, cvr_typed_param **ret_val, u_int *ret_len)
{
    cvr_typed_param *w = g_new0(cvr_typed_param, p->n ? p->n : 1);
    for (size_t i = 0; i < p->n; i++) {
        const CocoonTypedParam *t = &p->params[i];
        w[i].field = g_strdup(t->field);
        w[i].value.type = t->type;
        switch (t->type) {
        case VIR_TYPED_PARAM_INT:
            w[i].value.cvr_typed_param_value_u.i = t->value.i;
            break;
        case VIR_TYPED_PARAM_UINT:
            w[i].value.cvr_typed_param_value_u.ui = t->value.ui;
            break;
        case VIR_TYPED_PARAM_LLONG:
            w[i].value.cvr_typed_param_value_u.l = t->value.l;
            break;
        case VIR_TYPED_PARAM_ULLONG:
            w[i].value.cvr_typed_param_value_u.ul = t->value.ul;
            break;
        case VIR_TYPED_PARAM_DOUBLE:
            w[i].value.cvr_typed_param_value_u.d = t->value.d;
            break;
        case VIR_TYPED_PARAM_BOOLEAN:
            w[i].value.cvr_typed_param_value_u.b = t->value.b;
            break;
        default:
            w[i].value.type = VIR_TYPED_PARAM_STRING;
            w[i].value.cvr_typed_param_value_u.s = g_strdup(t->value.s ? t->value.s : "");
            break;
        }
    }
    *ret_val = w;
    *ret_len = (u_int)p->n;
}

static int
domain_get_max_memory(RpcCall *call, void *a, void *r, CvError **err)
{
    RPC_REQUIRE(call, domainGetMaxMemory, err);
    cvr_domain_args *args = a;
    cvr_domain_get_max_memory_ret *ret = r;
    g_autoptr(CocoonDomain) dom = rpc_domain_from_wire(call, &args->dom);
    unsigned long long kib;
    if (RPC_DRIVER(call, domainGetMaxMemory)(dom, &kib, err) < 0)
        return -1;
    ret->memory = kib;
    return 0;
}

static int
domain_get_vcpus_flags(RpcCall *call, void *a, void *r, CvError **err)
{
    RPC_REQUIRE(call, domainGetVcpusFlags, err);
    cvr_domain_flags_args *args = a;
    cvr_int_ret *ret = r;
    g_autoptr(CocoonDomain) dom = rpc_domain_from_wire(call, &args->dom);
    int n = RPC_DRIVER(call, domainGetVcpusFlags)(dom, args->flags, err);
    if (n < 0)
        return -1;
    ret->value = n;
    return 0;
}

static int
domain_get_max_vcpus(RpcCall *call, void *a, void *r, CvError **err)
{
    RPC_REQUIRE(call, domainGetVcpusFlags, err);
    cvr_domain_args *args = a;
    cvr_int_ret *ret = r;
    g_autoptr(CocoonDomain) dom = rpc_domain_from_wire(call, &args->dom);
    int n = RPC_DRIVER(call, domainGetVcpusFlags)(
        dom, VIR_DOMAIN_AFFECT_LIVE | VIR_DOMAIN_VCPU_MAXIMUM, err);
    if (n < 0)
        return -1;
    ret->value = n;
    return 0;
}

static int
domain_get_vcpus(RpcCall *call, void *a, void *r, CvError **err)
{
    RPC_REQUIRE(call, domainGetVcpus, err);
    cvr_domain_get_vcpus_args *args = a;
    cvr_domain_get_vcpus_ret *ret = r;
    if (args->maxinfo < 0 || args->maxinfo > CVR_VCPUINFO_MAX || args->maplen < 0 ||
        (args->maplen && (long)args->maxinfo * args->maplen > CVR_CPUMAPS_MAX)) {
        cv_error_set(err, VIR_FROM_RPC, VIR_ERR_RPC, "%s",
                     "maxinfo * maplen > REMOTE_CPUMAPS_MAX");
        return -1;
    }
    g_autoptr(CocoonDomain) dom = rpc_domain_from_wire(call, &args->dom);
    g_autofree CocoonVcpuInfo *info = NULL;
    size_t n = 0;
    if (RPC_DRIVER(call, domainGetVcpus)(dom, &info, &n, err) < 0)
        return -1;
    size_t k = MIN(n, (size_t)args->maxinfo);
    ret->info.info_len = (u_int)k;
    ret->info.info_val = g_new0(cvr_vcpu_info, k ? k : 1);
    for (size_t i = 0; i < k; i++)
        ret->info.info_val[i] = (cvr_vcpu_info){.number = info[i].number,
                                                .state = info[i].state,
                                                .cpu_time = info[i].cpu_time_ns,
                                                .cpu = info[i].cpu};
    /* no vCPU is pinned: each may run on every host CPU */
    size_t maplen = (size_t)args->maplen, bytes = (size_t)args->maxinfo * maplen;
    long ncpus = sysconf(_SC_NPROCESSORS_CONF);
    ret->cpumaps.cpumaps_len = (u_int)bytes;
    ret->cpumaps.cpumaps_val = g_malloc0(bytes ? bytes : 1);
    for (size_t v = 0; v < k; v++)
        for (long c = 0; c < ncpus && (size_t)c / 8 < maplen; c++)
            ret->cpumaps.cpumaps_val[v * maplen + (size_t)c / 8] |= (char)(1 << (c % 8));
    return 0;
}

/* No vCPU of a microVM is pinned: each may run on every host CPU (the CPU map's online
 * ones). The count is the domain's vCPUs (VIR_DOMAIN_AFFECT_* of flags). */
static int
domain_get_vcpu_pin_info(RpcCall *call, void *a, void *r, CvError **err)
{
    RPC_REQUIRE(call, domainGetVcpusFlags, err);
    RPC_REQUIRE(call, nodeGetCPUMap, err);
    cvr_domain_get_vcpu_pin_info_args *args = a;
    cvr_domain_get_vcpu_pin_info_ret *ret = r;
    if (args->ncpumaps < 0 || args->maplen <= 0 ||
        (long)args->ncpumaps * args->maplen > CVR_CPUMAPS_MAX) {
        cv_error_set(err, VIR_FROM_RPC, VIR_ERR_RPC, "%s", "maxinfo * maplen > REMOTE_CPUMAPS_MAX");
        return -1;
    }
    g_autoptr(CocoonDomain) dom = rpc_domain_from_wire(call, &args->dom);
    int n = RPC_DRIVER(call, domainGetVcpusFlags)(
        dom, (args->flags & (VIR_DOMAIN_AFFECT_LIVE | VIR_DOMAIN_AFFECT_CONFIG)) |
                 VIR_DOMAIN_VCPU_MAXIMUM, err);
    if (n < 0)
        return -1;
    g_autofree unsigned char *online = NULL;
    int ncpus = RPC_DRIVER(call, nodeGetCPUMap)(call->conn, &online, NULL, err);
    if (ncpus < 0)
        return -1;
    size_t maplen = (size_t)args->maplen, k = (size_t)MIN(n, args->ncpumaps);
    ret->cpumaps.cpumaps_len = (u_int)(k * maplen);
    ret->cpumaps.cpumaps_val = g_malloc0(MAX(k * maplen, (size_t)1));
    size_t online_len = (size_t)ncpus / 8 + 1;
    for (size_t v = 0; v < k; v++)
        memcpy(ret->cpumaps.cpumaps_val + v * maplen, online, MIN(maplen, online_len));
    ret->num = n;
    return 0;
}

static int
domain_get_cpu_stats(RpcCall *call, void *a, void *r, CvError **err)
{
    RPC_REQUIRE(call, domainGetCPUStats, err);
    cvr_domain_get_cpu_stats_args *args = a;
    cvr_domain_get_cpu_stats_ret *ret = r;
    if (args->start_cpu != -1) {
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_OPERATION_UNSUPPORTED, "%s",
                     "per-CPU statistics are not kept for microVMs: use --total");
        return -1;
    }
    if (args->ncpus != 1) {
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_INVALID_ARG, "%s",
                     "ncpus must be 1 when start_cpu is -1");
        return -1;
    }
    g_autoptr(CocoonDomain) dom = rpc_domain_from_wire(call, &args->dom);
    CocoonTypedParams p = {0};
    if (RPC_DRIVER(call, domainGetCPUStats)(dom, &p, args->flags, err) < 0) {
        typed_params_clear(&p);
        return -1;
    }
    ret->nparams = (int)p.n;
    if (args->nparams) { /* 0: the caller asks how many there are */
        CocoonTypedParams head = p;
        head.n = MIN(p.n, args->nparams);
        rpc_typed_params_to_wire(&head, &ret->params.params_val, &ret->params.params_len);
    }
    typed_params_clear(&p);
    return 0;
}

static int
domain_memory_stats(RpcCall *call, void *a, void *r, CvError **err)
{
    RPC_REQUIRE(call, domainMemoryStats, err);
    cvr_domain_memory_stats_args *args = a;
    cvr_domain_memory_stats_ret *ret = r;
    if (args->maxStats > CVR_MEMORY_STATS_MAX) {
        cv_error_set(err, VIR_FROM_RPC, VIR_ERR_RPC, "%s",
                     "maxStats > REMOTE_DOMAIN_MEMORY_STATS_MAX");
        return -1;
    }
    g_autoptr(CocoonDomain) dom = rpc_domain_from_wire(call, &args->dom);
    g_autofree CocoonMemoryStat *stats = g_new0(CocoonMemoryStat, args->maxStats + 1);
    int n = RPC_DRIVER(call, domainMemoryStats)(dom, stats, args->maxStats, args->flags, err);
    if (n < 0)
        return -1;
    ret->stats.stats_len = (u_int)n;
    ret->stats.stats_val = g_new0(cvr_domain_memory_stat, n ? n : 1);
    for (int i = 0; i < n; i++)
        ret->stats.stats_val[i] = (cvr_domain_memory_stat){.tag = stats[i].tag, .val = stats[i].val};
    return 0;
}

static int
domain_block_stats(RpcCall *call, void *a, void *r, CvError **err)
{
    RPC_REQUIRE(call, domainBlockStats, err);
    cvr_domain_block_stats_args *args = a;
    cvr_domain_block_stats_ret *ret = r;
    g_autoptr(CocoonDomain) dom = rpc_domain_from_wire(call, &args->dom);
    CocoonBlockStats s;
    if (RPC_DRIVER(call, domainBlockStats)(dom, args->path, &s, err) < 0)
        return -1;
    *ret = (cvr_domain_block_stats_ret){.rd_req = s.rd_req, .rd_bytes = s.rd_bytes,
                                        .wr_req = s.wr_req, .wr_bytes = s.wr_bytes,
                                        .errs = s.errs};
    return 0;
}

static int
domain_interface_stats(RpcCall *call, void *a, void *r, CvError **err)
{
    RPC_REQUIRE(call, domainInterfaceStats, err);
    cvr_domain_interface_stats_args *args = a;
    cvr_domain_interface_stats_ret *ret = r;
    g_autoptr(CocoonDomain) dom = rpc_domain_from_wire(call, &args->dom);
    CocoonInterfaceStats s;
    if (RPC_DRIVER(call, domainInterfaceStats)(dom, args->device, &s, err) < 0)
        return -1;
    *ret = (cvr_domain_interface_stats_ret){
        .rx_bytes = s.rx_bytes, .rx_packets = s.rx_packets, .rx_errs = s.rx_errs,
        .rx_drop = s.rx_drop, .tx_bytes = s.tx_bytes, .tx_packets = s.tx_packets,
        .tx_errs = s.tx_errs, .tx_drop = s.tx_drop};
    return 0;
}

static int
connect_get_all_domain_stats(RpcCall *call, void *a, void *r, CvError **err)
{
    RPC_REQUIRE(call, connectGetAllDomainStats, err);
    cvr_connect_get_all_domain_stats_args *args = a;
    cvr_connect_get_all_domain_stats_ret *ret = r;
    size_t ndoms = args->doms.doms_len;
    g_autofree CocoonDomain **doms = g_new0(CocoonDomain *, ndoms + 1);
    for (size_t i = 0; i < ndoms; i++)
        doms[i] = rpc_domain_from_wire(call, &args->doms.doms_val[i]);
    CocoonDomainStatsRecord *recs = NULL;
    size_t n = 0;
    int rc = RPC_DRIVER(call, connectGetAllDomainStats)(call->conn, doms, ndoms, args->stats,
                                                        args->flags, &recs, &n, err);
    for (size_t i = 0; i < ndoms; i++)
        cocoon_domain_free(doms[i]);
    if (rc < 0)
        return -1;
    ret->retStats.retStats_len = (u_int)n;
    ret->retStats.retStats_val = g_new0(cvr_domain_stats_record, n ? n : 1);
    for (size_t i = 0; i < n; i++) {
        cvr_domain_stats_record *w = &ret->retStats.retStats_val[i];
        rpc_domain_to_wire(recs[i].dom, &w->dom);
        rpc_typed_params_to_wire(&recs[i].params, &w->params.params_val, &w->params.params_len);
    }
    cocoon_domain_stats_free(recs, n);
    return 0;
}

static int
set_memory(RpcCall *call, const cvr_nonnull_domain *d, unsigned long long kib,
           unsigned int flags, CvError **err)
{
    RPC_REQUIRE(call, domainSetMemoryFlags, err);
    g_autoptr(CocoonDomain) dom = rpc_domain_from_wire(call, d);
    return RPC_DRIVER(call, domainSetMemoryFlags)(dom, kib, flags, err);
}

static int
domain_set_memory(RpcCall *call, void *a, void *r, CvError **err)
{
    cvr_domain_set_memory_args *args = a;
    return set_memory(call, &args->dom, args->memory, VIR_DOMAIN_AFFECT_LIVE, err);
}

static int
domain_set_max_memory(RpcCall *call, void *a, void *r, CvError **err)
{
    cvr_domain_set_memory_args *args = a;
    return set_memory(call, &args->dom, args->memory, VIR_DOMAIN_MEM_MAXIMUM, err);
}

static int
domain_set_memory_flags(RpcCall *call, void *a, void *r, CvError **err)
{
    cvr_domain_set_memory_flags_args *args = a;
    return set_memory(call, &args->dom, args->memory, args->flags, err);
}

static int
set_vcpus(RpcCall *call, const cvr_nonnull_domain *d, unsigned int n, unsigned int flags,
          CvError **err)
{
    RPC_REQUIRE(call, domainSetVcpusFlags, err);
    g_autoptr(CocoonDomain) dom = rpc_domain_from_wire(call, d);
    return RPC_DRIVER(call, domainSetVcpusFlags)(dom, n, flags, err);
}

static int
domain_set_vcpus(RpcCall *call, void *a, void *r, CvError **err)
{
    cvr_domain_set_vcpus_args *args = a;
    return set_vcpus(call, &args->dom, args->nvcpus, VIR_DOMAIN_AFFECT_LIVE, err);
}

static int
domain_set_vcpus_flags(RpcCall *call, void *a, void *r, CvError **err)
{
    cvr_domain_set_vcpus_flags_args *args = a;
    return set_vcpus(call, &args->dom, args->nvcpus, args->flags, err);
}

static int
domain_get_block_info(RpcCall *call, void *a, void *r, CvError **err)
{
    RPC_REQUIRE(call, domainGetBlockInfo, err);
    cvr_domain_get_block_info_args *args = a;
    cvr_domain_get_block_info_ret *ret = r;
    g_autoptr(CocoonDomain) dom = rpc_domain_from_wire(call, &args->dom);
    CocoonBlockInfo info;
    if (RPC_DRIVER(call, domainGetBlockInfo)(dom, args->path, &info, args->flags, err) < 0)
        return -1;
    *ret = (cvr_domain_get_block_info_ret){.allocation = info.allocation,
                                           .capacity = info.capacity,
                                           .physical = info.physical};
    return 0;
}

static int
domain_send_key(RpcCall *call, void *a, void *r, CvError **err)
{
    RPC_REQUIRE(call, domainSendKey, err);
    cvr_domain_send_key_args *args = a;
    g_autoptr(CocoonDomain) dom = rpc_domain_from_wire(call, &args->dom);
    return RPC_DRIVER(call, domainSendKey)(dom, args->codeset, args->holdtime,
                                           args->keycodes.keycodes_val,
                                           (int)args->keycodes.keycodes_len, args->flags, err);
}

const RpcProcedure rpc_stats_procedures[] = {
    {CVR_PROC_DOMAIN_GET_BLOCK_INFO, "virDomainGetBlockInfo",
     RPC_XDR(cvr_domain_get_block_info_args), RPC_XDR(cvr_domain_get_block_info_ret),
     domain_get_block_info, 0},
    {CVR_PROC_DOMAIN_SEND_KEY, "virDomainSendKey", RPC_XDR(cvr_domain_send_key_args), RPC_NONE,
     domain_send_key, RPC_PROC_WRITE},
    {CVR_PROC_DOMAIN_SET_MEMORY, "virDomainSetMemory", RPC_XDR(cvr_domain_set_memory_args),
     RPC_NONE, domain_set_memory, RPC_PROC_WRITE},
    {CVR_PROC_DOMAIN_SET_MAX_MEMORY, "virDomainSetMaxMemory", RPC_XDR(cvr_domain_set_memory_args),
     RPC_NONE, domain_set_max_memory, RPC_PROC_WRITE},
    {CVR_PROC_DOMAIN_SET_MEMORY_FLAGS, "virDomainSetMemoryFlags",
     RPC_XDR(cvr_domain_set_memory_flags_args), RPC_NONE, domain_set_memory_flags,
     RPC_PROC_WRITE},
    {CVR_PROC_DOMAIN_SET_VCPUS, "virDomainSetVcpus", RPC_XDR(cvr_domain_set_vcpus_args),
     RPC_NONE, domain_set_vcpus, RPC_PROC_WRITE},
    {CVR_PROC_DOMAIN_SET_VCPUS_FLAGS, "virDomainSetVcpusFlags",
     RPC_XDR(cvr_domain_set_vcpus_flags_args), RPC_NONE, domain_set_vcpus_flags,
     RPC_PROC_WRITE},
    {CVR_PROC_DOMAIN_GET_MAX_MEMORY, "virDomainGetMaxMemory", RPC_XDR(cvr_domain_args),
     RPC_XDR(cvr_domain_get_max_memory_ret), domain_get_max_memory, 0},
    {CVR_PROC_DOMAIN_GET_MAX_VCPUS, "virDomainGetMaxVcpus", RPC_XDR(cvr_domain_args),
     RPC_XDR(cvr_int_ret), domain_get_max_vcpus, 0},
    {CVR_PROC_DOMAIN_GET_VCPUS_FLAGS, "virDomainGetVcpusFlags", RPC_XDR(cvr_domain_flags_args),
     RPC_XDR(cvr_int_ret), domain_get_vcpus_flags, 0},
    {CVR_PROC_DOMAIN_GET_VCPUS, "virDomainGetVcpus", RPC_XDR(cvr_domain_get_vcpus_args),
     RPC_XDR(cvr_domain_get_vcpus_ret), domain_get_vcpus, 0},
    {CVR_PROC_DOMAIN_GET_VCPU_PIN_INFO, "virDomainGetVcpuPinInfo",
     RPC_XDR(cvr_domain_get_vcpu_pin_info_args), RPC_XDR(cvr_domain_get_vcpu_pin_info_ret),
     domain_get_vcpu_pin_info, 0},
    {CVR_PROC_DOMAIN_GET_CPU_STATS, "virDomainGetCPUStats",
     RPC_XDR(cvr_domain_get_cpu_stats_args), RPC_XDR(cvr_domain_get_cpu_stats_ret),
     domain_get_cpu_stats, 0},
    {CVR_PROC_DOMAIN_MEMORY_STATS, "virDomainMemoryStats", RPC_XDR(cvr_domain_memory_stats_args),
     RPC_XDR(cvr_domain_memory_stats_ret), domain_memory_stats, 0},
    {CVR_PROC_DOMAIN_BLOCK_STATS, "virDomainBlockStats", RPC_XDR(cvr_domain_block_stats_args),
     RPC_XDR(cvr_domain_block_stats_ret), domain_block_stats, 0},
    {CVR_PROC_DOMAIN_INTERFACE_STATS, "virDomainInterfaceStats",
     RPC_XDR(cvr_domain_interface_stats_args), RPC_XDR(cvr_domain_interface_stats_ret),
     domain_interface_stats, 0},
    {CVR_PROC_CONNECT_GET_ALL_DOMAIN_STATS, "virConnectGetAllDomainStats",
     RPC_XDR(cvr_connect_get_all_domain_stats_args),
     RPC_XDR(cvr_connect_get_all_domain_stats_ret), connect_get_all_domain_stats, 0},
};
const size_t rpc_stats_procedures_len = G_N_ELEMENTS(rpc_stats_procedures);
