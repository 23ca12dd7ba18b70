#include "local.h"

#include <dirent.h>
#include <string.h>
#include <unistd.h>

#include "driver/backend.h"
#include "driver/host_net.h"
#include "driver/typed_params.h"

/*
 * What a running domain uses and does: its memory limits and vCPUs (definition), the VMM
 * process's CPU time and vCPU threads (/proc), the balloon (the backend asks its VMM), disk
 * counters (the backend, where the VMM keeps them), interface counters (the TAP's, from
 * /sys/class/net, seen from the guest), and all of these at once for domstats. A domain that
 * is not running answers "domain is not running" (VIR_ERR_OPERATION_INVALID) as libvirt does.
 */

/* A running domain: its running definition and the view of its VMM. */
typedef struct {
    DomainStoreEntry *entry;
    DomainDef *def;
    const CocoonBackend *backend;
} RunningDomain;

static void
running_clear(RunningDomain *r)
{
    domain_store_entry_free(r->entry);
    domain_def_free(r->def);
    *r = (RunningDomain){0};
}

static int
not_running(CvError **err)
{
    cv_error_set(err, VIR_FROM_CH, VIR_ERR_OPERATION_INVALID, "domain is not running");
    return -1;
}

static const CocoonBackend *
backend_named(const char *name)
{
    for (int k = 0; k < BACKEND_LAST; k++)
        if (g_strcmp0(backend_by_kind(k)->name, name) == 0)
            return backend_by_kind(k);
    return NULL;
}

static int
running_get(CocoonDomain *dom, RunningDomain *r, CvError **err)
{
    *r = (RunningDomain){0};
    r->def = local_domain_read_def(dom, false, &r->entry, err);
    if (!r->def)
        return -1;
    if (!domain_status_is_active(&r->entry->status)) {
        running_clear(r);
        return not_running(err);
    }
    r->backend = backend_named(r->entry->status.backend);
    if (!r->backend) {
        running_clear(r);
        cv_error_set(err, VIR_FROM_CH, VIR_ERR_INTERNAL_ERROR, "domain '%s' runs unknown backend",
                     dom->name);
        return -1;
    }
    return 0;
}

static BackendVm
running_vm(const RunningDomain *r)
{
    return (BackendVm){.pid = r->entry->status.pid,
                       .start_time = r->entry->status.start_time,
                       .api_socket = r->entry->status.api_socket,
                       .console_path = r->entry->status.console_path};
}

/* ---- memory and vCPU counts ---------------------------------------------------------- */

int
local_domain_get_max_memory(CocoonDomain *dom, unsigned long long *ret_kib, CvError **err)
{
    g_autoptr(DomainDef) def = local_domain_read_def(dom, false, NULL, err);
    if (!def)
        return -1;
    *ret_kib = def->memory_kib;
    return 0;
}

int
local_domain_get_vcpus_flags(CocoonDomain *dom, unsigned int flags, CvError **err)
{
    if (local_check_flags(flags,
                          VIR_DOMAIN_AFFECT_LIVE | VIR_DOMAIN_AFFECT_CONFIG |
                              VIR_DOMAIN_VCPU_MAXIMUM,
                          "virDomainGetVcpusFlags", err) < 0)
        return -1;
    if ((flags & VIR_DOMAIN_AFFECT_LIVE) && (flags & VIR_DOMAIN_AFFECT_CONFIG)) {
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_INVALID_ARG,
                     "invalid flag combination: (0x%x)", flags);
        return -1;
    }
    g_autoptr(DomainStoreEntry) e = NULL;
    g_autoptr(DomainDef) def =
        local_domain_read_def(dom, (flags & VIR_DOMAIN_AFFECT_CONFIG) != 0, &e, err);
    if (!def)
        return -1;
    if ((flags & VIR_DOMAIN_AFFECT_LIVE) && !domain_status_is_active(&e->status))
        return not_running(err);
    if (flags & VIR_DOMAIN_VCPU_MAXIMUM)
        return (int)def->vcpus;
    return (int)(def->vcpus_current ? def->vcpus_current : def->vcpus);
}

/* ---- /proc of the VMM ---------------------------------------------------------------- */

/* utime and stime (fields 14, 15, in clock ticks) and the CPU last run on (field 39) of a
 * /proc/.../stat line. */
static int
stat_times(const char *path, unsigned long long *utime, unsigned long long *stime, int *cpu)
{
    g_autofree char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL))
        return -1;
    const char *p = strrchr(text, ')'); /* the command may hold spaces */
    if (!p)
        return -1;
    g_auto(GStrv) f = g_strsplit(p + 2, " ", -1); /* f[0] is field 3 */
    if (g_strv_length(f) < 37)
        return -1;
    *utime = g_ascii_strtoull(f[11], NULL, 10);
    *stime = g_ascii_strtoull(f[12], NULL, 10);
    *cpu = (int)g_ascii_strtoll(f[36], NULL, 10);
    return 0;
}

static unsigned long long
ticks_to_ns(unsigned long long ticks)
{
    long hz = sysconf(_SC_CLK_TCK);
    return ticks * (1000000000ULL / (unsigned long long)(hz > 0 ? hz : 100));
}

int
local_domain_get_vcpus(CocoonDomain *dom, CocoonVcpuInfo **ret_info, size_t *ret_n,
                       CvError **err)
{
    RunningDomain r;
    if (running_get(dom, &r, err) < 0)
        return -1;
    /* the online vCPUs, as libvirt answers (those above <vcpu current> are not there yet) */
    size_t n = r.def->vcpus_current ? r.def->vcpus_current : r.def->vcpus;
    CocoonVcpuInfo *info = g_new0(CocoonVcpuInfo, n ? n : 1);
    for (size_t i = 0; i < n; i++)
        info[i] = (CocoonVcpuInfo){.number = (unsigned int)i, .state = VIR_VCPU_RUNNING,
                                   .cpu = -1};
    /* the VMM names its vCPU threads: "<vcpu_thread_name><number>" */
    g_autofree char *task_dir = g_strdup_printf("/proc/%d/task", (int)r.entry->status.pid);
    DIR *d = opendir(task_dir);
    const char *prefix = r.backend->vcpu_thread_name;
    for (struct dirent *de; d && prefix && (de = readdir(d));) {
        if (de->d_name[0] == '.')
            continue;
        g_autofree char *comm_path = g_strdup_printf("%s/%s/comm", task_dir, de->d_name);
        g_autofree char *comm = NULL;
        if (!g_file_get_contents(comm_path, &comm, NULL, NULL))
            continue;
        g_strchomp(comm);
        if (!g_str_has_prefix(comm, prefix))
            continue;
        char *end = NULL;
        unsigned long long num = g_ascii_strtoull(comm + strlen(prefix), &end, 10);
        if (end == comm + strlen(prefix) || *end || num >= n)
            continue;
        g_autofree char *stat_path = g_strdup_printf("%s/%s/stat", task_dir, de->d_name);
        unsigned long long ut, st;
        int cpu;
        if (stat_times(stat_path, &ut, &st, &cpu) == 0) {
            info[num].cpu_time_ns = ticks_to_ns(ut + st);
            info[num].cpu = cpu;
        }
    }
    if (d)
        closedir(d);
    running_clear(&r);
    *ret_info = info;
    *ret_n = n;
    return 0;
}

int
local_domain_get_cpu_stats(CocoonDomain *dom, CocoonTypedParams *params, unsigned int flags,
                           CvError **err)
{
    if (local_check_flags(flags, 0, "virDomainGetCPUStats", err) < 0)
        return -1;
    RunningDomain r;
    if (running_get(dom, &r, err) < 0)
        return -1;
    g_autofree char *path = g_strdup_printf("/proc/%d/stat", (int)r.entry->status.pid);
    running_clear(&r);
    unsigned long long ut, st;
    int cpu;
    if (stat_times(path, &ut, &st, &cpu) < 0) {
        cv_error_set(err, VIR_FROM_CH, VIR_ERR_OPERATION_FAILED, "cannot read '%s'", path);
        return -1;
    }
    typed_params_add_ull(params, VIR_DOMAIN_CPU_STATS_CPUTIME, ticks_to_ns(ut + st));
    typed_params_add_ull(params, VIR_DOMAIN_CPU_STATS_USERTIME, ticks_to_ns(ut));
    typed_params_add_ull(params, VIR_DOMAIN_CPU_STATS_SYSTEMTIME, ticks_to_ns(st));
    return 0;
}

/* The VmRSS of pid in KiB, or -1. */
static long long
process_rss_kib(pid_t pid)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/status", (int)pid);
    g_autofree char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL))
        return -1;
    const char *p = strstr(text, "\nVmRSS:");
    return p ? (long long)g_ascii_strtoull(p + 7, NULL, 10) : -1;
}

/* ---- balloon --------------------------------------------------------------------------- */

static int
memory_stats_of(const RunningDomain *r, CocoonMemoryStat *stats, unsigned int max, CvError **err)
{
    BackendMemoryStats m;
    BackendVm vm = running_vm(r);
    if (r->backend->memory_stats(&vm, r->def, &m, err) < 0)
        return -1;
    const long long vals[] = {
        [VIR_DOMAIN_MEMORY_STAT_SWAP_IN] = m.swap_in,
        [VIR_DOMAIN_MEMORY_STAT_SWAP_OUT] = m.swap_out,
        [VIR_DOMAIN_MEMORY_STAT_MAJOR_FAULT] = m.major_fault,
        [VIR_DOMAIN_MEMORY_STAT_MINOR_FAULT] = m.minor_fault,
        [VIR_DOMAIN_MEMORY_STAT_UNUSED] = m.unused,
        [VIR_DOMAIN_MEMORY_STAT_AVAILABLE] = m.available,
        [VIR_DOMAIN_MEMORY_STAT_ACTUAL_BALLOON] = m.actual,
        [VIR_DOMAIN_MEMORY_STAT_RSS] = process_rss_kib(vm.pid),
        [VIR_DOMAIN_MEMORY_STAT_USABLE] = m.usable,
        [VIR_DOMAIN_MEMORY_STAT_LAST_UPDATE] = -1,
        [VIR_DOMAIN_MEMORY_STAT_DISK_CACHES] = m.disk_caches,
    };
    unsigned int n = 0;
    for (size_t tag = 0; tag < G_N_ELEMENTS(vals) && n < max; tag++)
        if (vals[tag] >= 0)
            stats[n++] = (CocoonMemoryStat){.tag = (int)tag, .val = (unsigned long long)vals[tag]};
    return (int)n;
}

int
local_domain_memory_stats(CocoonDomain *dom, CocoonMemoryStat *stats, unsigned int max,
                          unsigned int flags, CvError **err)
{
    if (local_check_flags(flags, 0, "virDomainMemoryStats", err) < 0)
        return -1;
    RunningDomain r;
    if (running_get(dom, &r, err) < 0)
        return -1;
    int n = memory_stats_of(&r, stats, max, err);
    running_clear(&r);
    return n;
}

/* ---- disks and interfaces -------------------------------------------------------------- */

static int
find_disk(const DomainDef *def, const char *path, CvError **err)
{
    for (size_t i = 0; i < def->ndisks; i++)
        if (g_strcmp0(def->disks[i]->target_dev, path) == 0 ||
            g_strcmp0(def->disks[i]->source, path) == 0)
            return (int)i;
    cv_error_set(err, VIR_FROM_CH, VIR_ERR_INVALID_ARG, "invalid path: %s", path);
    return -1;
}

static int
block_stats_of(const RunningDomain *r, size_t disk, CocoonBlockStats *ret, CvError **err)
{
    if (!r->backend->block_stats) {
        cv_error_set(err, VIR_FROM_CH, VIR_ERR_OPERATION_UNSUPPORTED,
                     "%s keeps no disk counters that Cocoon can read", r->backend->name);
        return -1;
    }
    BackendBlockStats b;
    BackendVm vm = running_vm(r);
    if (r->backend->block_stats(&vm, r->def, disk, &b, err) < 0)
        return -1;
    *ret = (CocoonBlockStats){.rd_req = b.rd_req, .rd_bytes = b.rd_bytes, .wr_req = b.wr_req,
                              .wr_bytes = b.wr_bytes, .errs = -1};
    return 0;
}

int
local_domain_block_stats(CocoonDomain *dom, const char *path, CocoonBlockStats *ret_stats,
                         CvError **err)
{
    RunningDomain r;
    if (running_get(dom, &r, err) < 0)
        return -1;
    int disk = find_disk(r.def, path, err);
    int rc = disk < 0 ? -1 : block_stats_of(&r, (size_t)disk, ret_stats, err);
    running_clear(&r);
    return rc;
}

/* The TAP of def->nets[i], as the launch names it. */
static char *
tap_name(const DomainDef *def, size_t i)
{
    const DomainNetDef *net = def->nets[i];
    return net->target_dev ? g_strdup(net->target_dev) : host_tap_name(def->name, i);
}

static long long
sys_counter(const char *tap, const char *name)
{
    g_autofree char *path = g_strdup_printf("/sys/class/net/%s/statistics/%s", tap, name);
    g_autofree char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL))
        return -1;
    return (long long)g_ascii_strtoull(text, NULL, 10);
}

static int
interface_stats_of(const char *tap, CocoonInterfaceStats *ret, CvError **err)
{
    g_autofree char *dir = g_strdup_printf("/sys/class/net/%s/statistics", tap);
    if (!g_file_test(dir, G_FILE_TEST_IS_DIR)) {
        cv_error_set(err, VIR_FROM_CH, VIR_ERR_OPERATION_FAILED,
                     "cannot read the counters of interface '%s'", tap);
        return -1;
    }
    /* what the TAP sends the guest receives: the counters are swapped, as libvirt does */
    *ret = (CocoonInterfaceStats){
        .rx_bytes = sys_counter(tap, "tx_bytes"), .rx_packets = sys_counter(tap, "tx_packets"),
        .rx_errs = sys_counter(tap, "tx_errors"), .rx_drop = sys_counter(tap, "tx_dropped"),
        .tx_bytes = sys_counter(tap, "rx_bytes"), .tx_packets = sys_counter(tap, "rx_packets"),
        .tx_errs = sys_counter(tap, "rx_errors"), .tx_drop = sys_counter(tap, "rx_dropped"),
    };
    return 0;
}

int
local_domain_interface_stats(CocoonDomain *dom, const char *device,
                             CocoonInterfaceStats *ret_stats, CvError **err)
{
    RunningDomain r;
    if (running_get(dom, &r, err) < 0)
        return -1;
    int rc = -1;
    for (size_t i = 0; i < r.def->nnets && rc < 0; i++) {
        g_autofree char *tap = tap_name(r.def, i);
        if (strcmp(tap, device) == 0 || g_ascii_strcasecmp(r.def->nets[i]->mac, device) == 0) {
            rc = interface_stats_of(tap, ret_stats, err);
            goto out;
        }
    }
    cv_error_set(err, VIR_FROM_CH, VIR_ERR_INVALID_ARG, "invalid path, '%s' is not a known interface",
                 device);
out:
    running_clear(&r);
    return rc;
}

/* ---- domstats ---------------------------------------------------------------------------- */

#define STATS_ALL                                                                              \
    (VIR_DOMAIN_STATS_STATE | VIR_DOMAIN_STATS_CPU_TOTAL | VIR_DOMAIN_STATS_BALLOON |           \
     VIR_DOMAIN_STATS_VCPU | VIR_DOMAIN_STATS_INTERFACE | VIR_DOMAIN_STATS_BLOCK)

static void
stats_add_running(CocoonDomain *dom, const RunningDomain *r, unsigned int stats,
                  CocoonTypedParams *p)
{
    CvError *ignored = NULL;
    if (stats & VIR_DOMAIN_STATS_CPU_TOTAL) {
        CocoonTypedParams cpu = {0};
        if (local_domain_get_cpu_stats(dom, &cpu, 0, &ignored) == 0) {
            typed_params_add_ull(p, "cpu.time", cpu.params[0].value.ul);
            typed_params_add_ull(p, "cpu.user", cpu.params[1].value.ul);
            typed_params_add_ull(p, "cpu.system", cpu.params[2].value.ul);
        }
        typed_params_clear(&cpu);
        g_clear_pointer(&ignored, cv_error_free);
    }
    if (stats & VIR_DOMAIN_STATS_BALLOON) {
        CocoonMemoryStat m[VIR_DOMAIN_MEMORY_STAT_NR];
        int n = memory_stats_of(r, m, G_N_ELEMENTS(m), &ignored);
        for (int i = 0; i < n; i++) /* actual: balloon.current, above */
            if (m[i].tag != VIR_DOMAIN_MEMORY_STAT_ACTUAL_BALLOON &&
                cocoon_memory_stat_name(m[i].tag))
                typed_params_add_ullf(p, m[i].val, "balloon.%s",
                                      cocoon_memory_stat_name(m[i].tag));
        g_clear_pointer(&ignored, cv_error_free);
    }
    if (stats & VIR_DOMAIN_STATS_VCPU) {
        CocoonVcpuInfo *info = NULL;
        size_t n = 0;
        if (local_domain_get_vcpus(dom, &info, &n, &ignored) == 0) {
            for (size_t i = 0; i < n; i++) {
                typed_params_add_intf(p, info[i].state, "vcpu.%zu.state", i);
                typed_params_add_ullf(p, info[i].cpu_time_ns, "vcpu.%zu.time", i);
            }
        }
        g_free(info);
        g_clear_pointer(&ignored, cv_error_free);
    }
}

static void
stats_add_devices(const RunningDomain *r, bool running, unsigned int stats, CocoonTypedParams *p)
{
    CvError *ignored = NULL;
    if (stats & VIR_DOMAIN_STATS_INTERFACE) {
        typed_params_add_uint(p, "net.count", (unsigned int)r->def->nnets);
        for (size_t i = 0; i < r->def->nnets; i++) {
            g_autofree char *tap = tap_name(r->def, i);
            typed_params_add_stringf(p, tap, "net.%zu.name", i);
            CocoonInterfaceStats s;
            if (!running || interface_stats_of(tap, &s, &ignored) < 0) {
                g_clear_pointer(&ignored, cv_error_free);
                continue;
            }
            const struct {
                const char *name;
                long long v;
            } c[] = {{"rx.bytes", s.rx_bytes}, {"rx.pkts", s.rx_packets},
                     {"rx.errs", s.rx_errs},   {"rx.drop", s.rx_drop},
                     {"tx.bytes", s.tx_bytes}, {"tx.pkts", s.tx_packets},
                     {"tx.errs", s.tx_errs},   {"tx.drop", s.tx_drop}};
            for (size_t k = 0; k < G_N_ELEMENTS(c); k++)
                if (c[k].v >= 0)
                    typed_params_add_ullf(p, (unsigned long long)c[k].v, "net.%zu.%s", i,
                                          c[k].name);
        }
    }
    if (stats & VIR_DOMAIN_STATS_BLOCK) {
        typed_params_add_uint(p, "block.count", (unsigned int)r->def->ndisks);
        for (size_t i = 0; i < r->def->ndisks; i++) {
            typed_params_add_stringf(p, r->def->disks[i]->target_dev, "block.%zu.name", i);
            typed_params_add_stringf(p, r->def->disks[i]->source, "block.%zu.path", i);
            CocoonBlockStats b;
            if (!running || block_stats_of(r, i, &b, &ignored) < 0) {
                g_clear_pointer(&ignored, cv_error_free);
                continue;
            }
            typed_params_add_ullf(p, (unsigned long long)b.rd_req, "block.%zu.rd.reqs", i);
            typed_params_add_ullf(p, (unsigned long long)b.rd_bytes, "block.%zu.rd.bytes", i);
            typed_params_add_ullf(p, (unsigned long long)b.wr_req, "block.%zu.wr.reqs", i);
            typed_params_add_ullf(p, (unsigned long long)b.wr_bytes, "block.%zu.wr.bytes", i);
        }
    }
}

/* One domain's record; -1 when it vanished meanwhile (it is then left out). */
static int
stats_record(CocoonDomain *dom, unsigned int stats, CocoonTypedParams *p, CvError **err)
{
    RunningDomain r = {0};
    r.def = local_domain_read_def(dom, false, &r.entry, err);
    if (!r.def)
        return -1;
    bool running = domain_status_is_active(&r.entry->status);
    r.backend = running ? backend_named(r.entry->status.backend) : NULL;
    running = running && r.backend;
    if (stats & VIR_DOMAIN_STATS_STATE) {
        typed_params_add_int(p, "state.state", r.entry->status.state);
        typed_params_add_int(p, "state.reason", r.entry->status.reason);
    }
    if (stats & VIR_DOMAIN_STATS_BALLOON) {
        unsigned long long cur = r.def->current_memory_kib ? r.def->current_memory_kib
                                                            : r.def->memory_kib;
        BackendMemoryStats m;
        BackendVm vm = running ? running_vm(&r) : (BackendVm){0};
        CvError *ignored = NULL;
        if (running && r.backend->memory_stats(&vm, r.def, &m, &ignored) == 0 && m.actual >= 0)
            cur = (unsigned long long)m.actual;
        cv_error_free(ignored);
        typed_params_add_ull(p, "balloon.current", cur);
        typed_params_add_ull(p, "balloon.maximum", r.def->memory_kib);
    }
    if (stats & VIR_DOMAIN_STATS_VCPU) {
        typed_params_add_uint(p, "vcpu.current",
                              r.def->vcpus_current ? r.def->vcpus_current : r.def->vcpus);
        typed_params_add_uint(p, "vcpu.maximum", r.def->vcpus);
    }
    if (running)
        stats_add_running(dom, &r, stats, p);
    stats_add_devices(&r, running, stats, p);
    running_clear(&r);
    return 0;
}

int
local_connect_get_all_domain_stats(CocoonConn *conn, CocoonDomain **doms, size_t ndoms,
                                   unsigned int stats, unsigned int flags,
                                   CocoonDomainStatsRecord **ret_records, size_t *ret_n,
                                   CvError **err)
{
    const unsigned int list_flags =
        VIR_CONNECT_GET_ALL_DOMAINS_STATS_ACTIVE | VIR_CONNECT_GET_ALL_DOMAINS_STATS_INACTIVE |
        VIR_CONNECT_GET_ALL_DOMAINS_STATS_PERSISTENT |
        VIR_CONNECT_GET_ALL_DOMAINS_STATS_TRANSIENT | VIR_CONNECT_GET_ALL_DOMAINS_STATS_RUNNING |
        VIR_CONNECT_GET_ALL_DOMAINS_STATS_PAUSED | VIR_CONNECT_GET_ALL_DOMAINS_STATS_SHUTOFF |
        VIR_CONNECT_GET_ALL_DOMAINS_STATS_OTHER;
    if (local_check_flags(flags,
                          list_flags | VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT |
                              VIR_CONNECT_GET_ALL_DOMAINS_STATS_ENFORCE_STATS |
                              VIR_CONNECT_GET_ALL_DOMAINS_STATS_BACKING,
                          "virConnectGetAllDomainStats", err) < 0)
        return -1;
    if ((flags & VIR_CONNECT_GET_ALL_DOMAINS_STATS_ENFORCE_STATS) && (stats & ~STATS_ALL)) {
        cv_error_set(err, VIR_FROM_CH, VIR_ERR_OPERATION_UNSUPPORTED,
                     "Stats types bits 0x%x are not supported by this daemon",
                     stats & ~STATS_ALL);
        return -1;
    }
    if (ndoms && (flags & list_flags)) {
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_INVALID_ARG,
                     "filtering is not supported by this function");
        return -1;
    }
    stats = stats ? stats & STATS_ALL : STATS_ALL;
    CocoonDomain **listed = NULL;
    size_t n = ndoms;
    if (!ndoms) {
        if (conn->driver->connectListAllDomains(conn, &listed, &n, flags & list_flags, err) < 0)
            return -1;
        doms = listed;
    }
    CocoonDomainStatsRecord *records = g_new0(CocoonDomainStatsRecord, n ? n : 1);
    size_t nrec = 0;
    for (size_t i = 0; i < n; i++) {
        CvError *lerr = NULL;
        CocoonDomainStatsRecord *rec = &records[nrec];
        g_autoptr(CocoonDomain) dom =
            cocoon_domain_new(conn, doms[i]->name, doms[i]->uuid, doms[i]->id);
        if (stats_record(dom, stats, &rec->params, &lerr) < 0) {
            typed_params_clear(&rec->params);
            cv_error_free(lerr);
            continue; /* gone meanwhile */
        }
        rec->dom = g_steal_pointer(&dom);
        nrec++;
    }
    cocoon_domain_list_free(listed);
    *ret_records = records;
    *ret_n = nrec;
    return 0;
}
