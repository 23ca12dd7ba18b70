/* cocoonvirsh: domain monitoring beyond dominfo (domblklist, domiflist, domblkinfo,
 * dommemstat, domblkstat, domifstat, domstats, vcpuinfo, vcpucount), in virsh's layout. */

#include <string.h>

#include "cli.h"
#include "driver/typed_params.h"

/* The definition of dom as dumpxml prints it (inactive: the persistent one). */
static DomainDef *domain_def_of(CocoonDomain *dom, bool inactive, CvError **err)
{
    g_autofree char *xml = CLI_CALL(dom->conn, domainGetXMLDesc, "virDomainGetXMLDesc", NULL,
                                    err, dom, inactive ? VIR_DOMAIN_XML_INACTIVE : 0, err);
    return xml ? domain_def_parse_string(xml, DOMAIN_DEF_PARSE_NO_GENERATE, err) : NULL;
}

static bool cmd_domblklist(CliCtl *ctl, const CliArgs *args)
{
    g_autoptr(CocoonDomain) dom = cli_domain_lookup(ctl, args, "domain", CLI_BY_ANY);
    g_autoptr(CvError) err = NULL;
    g_autoptr(DomainDef) def = NULL;
    bool details = cli_args_bool(args, "details");
    g_autoptr(CliTable) t = NULL;

    if (!dom)
        return false;
    if (!(def = domain_def_of(dom, cli_args_bool(args, "inactive"), &err))) {
        cli_error_report(err);
        return false;
    }
    t = details ? cli_table_new("Type", "Device", "Target", "Source", NULL)
                : cli_table_new("Target", "Source", NULL);
    for (size_t i = 0; i < def->ndisks; i++) {
        const DomainDiskDef *d = def->disks[i];
        const char *src = d->source ? d->source : "-";
        if (details)
            cli_table_add_row(t, d->type == DOMAIN_DISK_TYPE_BLOCK ? "block" : "file", "disk",
                              d->target_dev, src, NULL);
        else
            cli_table_add_row(t, d->target_dev, src, NULL);
    }
    cli_table_print(t, !ctl->quiet);
    return true;
}

static bool cmd_domiflist(CliCtl *ctl, const CliArgs *args)
{
    g_autoptr(CocoonDomain) dom = cli_domain_lookup(ctl, args, "domain", CLI_BY_ANY);
    g_autoptr(CvError) err = NULL;
    g_autoptr(DomainDef) def = NULL;
    g_autoptr(CliTable) t = NULL;

    if (!dom)
        return false;
    if (!(def = domain_def_of(dom, cli_args_bool(args, "inactive"), &err))) {
        cli_error_report(err);
        return false;
    }
    t = cli_table_new("Interface", "Type", "Source", "Model", "MAC", NULL);
    for (size_t i = 0; i < def->nnets; i++) {
        const DomainNetDef *n = def->nets[i];
        bool bridge = n->type == DOMAIN_NET_TYPE_BRIDGE;
        cli_table_add_row(t, n->target_dev ? n->target_dev : "-", bridge ? "bridge" : "ethernet",
                          bridge && n->bridge ? n->bridge : "-", n->model ? n->model : "-",
                          n->mac ? n->mac : "-", NULL);
    }
    cli_table_print(t, !ctl->quiet);
    return true;
}

static bool cmd_domblkinfo(CliCtl *ctl, const CliArgs *args)
{
    g_autoptr(CocoonDomain) dom = cli_domain_lookup(ctl, args, "domain", CLI_BY_ANY);
    g_autoptr(CvError) err = NULL;
    const char *device = cli_args_string(args, "device");
    CocoonBlockInfo info;

    if (!dom)
        return false;
    if (!device) {
        cli_error("command 'domblkinfo' requires <device> option");
        return false;
    }
    if (CLI_CALL(dom->conn, domainGetBlockInfo, "virDomainGetBlockInfo", -1, &err, dom, device,
                 &info, 0, &err) < 0) {
        cli_error_report(err);
        return false;
    }
    printf("%-15s %llu\n", "Capacity:", info.capacity);
    printf("%-15s %llu\n", "Allocation:", info.allocation);
    printf("%-15s %llu\n", "Physical:", info.physical);
    return true;
}


static bool cmd_dommemstat(CliCtl *ctl, const CliArgs *args)
{
    g_autoptr(CocoonDomain) dom = cli_domain_lookup(ctl, args, "domain", CLI_BY_ANY);
    g_autoptr(CvError) err = NULL;
    CocoonMemoryStat stats[VIR_DOMAIN_MEMORY_STAT_NR];
    int n;

    if (!dom)
        return false;
    n = CLI_CALL(dom->conn, domainMemoryStats, "virDomainMemoryStats", -1, &err, dom, stats,
                 VIR_DOMAIN_MEMORY_STAT_NR, 0, &err);
    if (n < 0) {
        cli_error("Failed to get memory statistics for domain %s", dom->name);
        cli_error_report(err);
        return false;
    }
    for (int i = 0; i < n; i++)
        if (cocoon_memory_stat_name(stats[i].tag))
            printf("%s %llu\n", cocoon_memory_stat_name(stats[i].tag), stats[i].val);
    return true;
}

static void print_counter(const char *dev, const char *name, long long v)
{
    if (v >= 0)
        printf("%s %s %lld\n", dev, name, v);
}

static bool cmd_domblkstat(CliCtl *ctl, const CliArgs *args)
{
    g_autoptr(CocoonDomain) dom = cli_domain_lookup(ctl, args, "domain", CLI_BY_ANY);
    g_autoptr(CvError) err = NULL;
    const char *device = cli_args_string(args, "device");
    CocoonBlockStats s;

    if (!dom)
        return false;
    if (!device)
        device = "";
    if (CLI_CALL(dom->conn, domainBlockStats, "virDomainBlockStats", -1, &err, dom, device, &s,
                 &err) < 0) {
        cli_error("Failed to get block stats %s %s", dom->name, device);
        cli_error_report(err);
        return false;
    }
    print_counter(device, "rd_req", s.rd_req);
    print_counter(device, "rd_bytes", s.rd_bytes);
    print_counter(device, "wr_req", s.wr_req);
    print_counter(device, "wr_bytes", s.wr_bytes);
    print_counter(device, "errs", s.errs);
    return true;
}

static bool cmd_domifstat(CliCtl *ctl, const CliArgs *args)
{
    g_autoptr(CocoonDomain) dom = cli_domain_lookup(ctl, args, "domain", CLI_BY_ANY);
    g_autoptr(CvError) err = NULL;
    const char *device = cli_args_string(args, "interface");
    CocoonInterfaceStats s;

    if (!dom)
        return false;
    if (CLI_CALL(dom->conn, domainInterfaceStats, "virDomainInterfaceStats", -1, &err, dom,
                 device, &s, &err) < 0) {
        cli_error("Failed to get interface stats %s %s", dom->name, device);
        cli_error_report(err);
        return false;
    }
    print_counter(device, "rx_bytes", s.rx_bytes);
    print_counter(device, "rx_packets", s.rx_packets);
    print_counter(device, "rx_errs", s.rx_errs);
    print_counter(device, "rx_drop", s.rx_drop);
    print_counter(device, "tx_bytes", s.tx_bytes);
    print_counter(device, "tx_packets", s.tx_packets);
    print_counter(device, "tx_errs", s.tx_errs);
    print_counter(device, "tx_drop", s.tx_drop);
    return true;
}

static void print_param(const CocoonTypedParam *p)
{
    switch (p->type) {
    case VIR_TYPED_PARAM_INT:
        printf("  %s=%d\n", p->field, p->value.i);
        break;
    case VIR_TYPED_PARAM_UINT:
        printf("  %s=%u\n", p->field, p->value.ui);
        break;
    case VIR_TYPED_PARAM_LLONG:
        printf("  %s=%lld\n", p->field, p->value.l);
        break;
    case VIR_TYPED_PARAM_ULLONG:
        printf("  %s=%llu\n", p->field, p->value.ul);
        break;
    case VIR_TYPED_PARAM_DOUBLE:
        printf("  %s=%f\n", p->field, p->value.d);
        break;
    case VIR_TYPED_PARAM_BOOLEAN:
        printf("  %s=%s\n", p->field, p->value.b ? "yes" : "no");
        break;
    default:
        printf("  %s=%s\n", p->field, p->value.s ? p->value.s : "");
        break;
    }
}

static bool cmd_domstats(CliCtl *ctl, const CliArgs *args)
{
    static const struct {
        const char *opt;
        unsigned int bit;
    } groups[] = {
        {"state", VIR_DOMAIN_STATS_STATE},     {"cpu-total", VIR_DOMAIN_STATS_CPU_TOTAL},
        {"balloon", VIR_DOMAIN_STATS_BALLOON}, {"vcpu", VIR_DOMAIN_STATS_VCPU},
        {"interface", VIR_DOMAIN_STATS_INTERFACE}, {"block", VIR_DOMAIN_STATS_BLOCK},
    };
    static const struct {
        const char *opt;
        unsigned int bit;
    } filters[] = {
        {"list-active", VIR_CONNECT_GET_ALL_DOMAINS_STATS_ACTIVE},
        {"list-inactive", VIR_CONNECT_GET_ALL_DOMAINS_STATS_INACTIVE},
        {"list-persistent", VIR_CONNECT_GET_ALL_DOMAINS_STATS_PERSISTENT},
        {"list-transient", VIR_CONNECT_GET_ALL_DOMAINS_STATS_TRANSIENT},
        {"list-running", VIR_CONNECT_GET_ALL_DOMAINS_STATS_RUNNING},
        {"list-paused", VIR_CONNECT_GET_ALL_DOMAINS_STATS_PAUSED},
        {"list-shutoff", VIR_CONNECT_GET_ALL_DOMAINS_STATS_SHUTOFF},
        {"list-other", VIR_CONNECT_GET_ALL_DOMAINS_STATS_OTHER},
    };
    g_autoptr(CvError) err = NULL;
    g_autoptr(CocoonDomain) one = NULL;
    CocoonDomainStatsRecord *recs = NULL;
    unsigned int stats = 0, flags = 0;
    size_t n = 0;
    CocoonConn *conn = cli_conn(ctl);

    if (!conn)
        return false;
    for (size_t i = 0; i < G_N_ELEMENTS(groups); i++)
        if (cli_args_bool(args, groups[i].opt))
            stats |= groups[i].bit;
    for (size_t i = 0; i < G_N_ELEMENTS(filters); i++)
        if (cli_args_bool(args, filters[i].opt))
            flags |= filters[i].bit;
    if (cli_args_bool(args, "enforce"))
        flags |= VIR_CONNECT_GET_ALL_DOMAINS_STATS_ENFORCE_STATS;
    if (cli_args_string(args, "domain")) {
        if (flags & ~VIR_CONNECT_GET_ALL_DOMAINS_STATS_ENFORCE_STATS) {
            cli_error("filtering is not supported by this function");
            return false;
        }
        if (!(one = cli_domain_lookup(ctl, args, "domain", CLI_BY_ANY)))
            return false;
    }
    CocoonDomain *doms[] = {one, NULL};
    if (CLI_CALL(conn, connectGetAllDomainStats, "virConnectGetAllDomainStats", -1, &err, conn,
                 one ? doms : NULL, one ? 1 : 0, stats, flags, &recs, &n, &err) < 0) {
        cli_error_report(err);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        printf("Domain: '%s'\n", recs[i].dom->name);
        for (size_t k = 0; k < recs[i].params.n; k++)
            print_param(&recs[i].params.params[k]);
        if (i + 1 < n)
            printf("\n");
    }
    cocoon_domain_stats_free(recs, n);
    return true;
}

/* "yyyy" for each host CPU a vCPU may run on (none is pinned: all of them). */
static char *affinity_string(CocoonConn *conn)
{
    g_autoptr(CvError) err = NULL;
    int ncpus = CLI_CALL(conn, nodeGetCPUMap, "virNodeGetCPUMap", -1, &err, conn, NULL, NULL,
                         &err);
    return ncpus > 0 ? g_strnfill((gsize)ncpus, 'y') : g_strdup("-");
}

static bool cmd_vcpuinfo(CliCtl *ctl, const CliArgs *args)
{
    g_autoptr(CocoonDomain) dom = cli_domain_lookup(ctl, args, "domain", CLI_BY_ANY);
    g_autoptr(CvError) err = NULL;
    g_autofree CocoonVcpuInfo *info = NULL;
    g_autofree char *affinity = NULL;
    size_t n = 0;

    if (!dom)
        return false;
    affinity = affinity_string(dom->conn);
    if (dom->id < 0) {
        /* virsh's form for a domain that does not run: the configured vCPUs */
        int max = CLI_CALL(dom->conn, domainGetVcpusFlags, "virDomainGetVcpusFlags", -1, &err,
                           dom, VIR_DOMAIN_AFFECT_CONFIG | VIR_DOMAIN_VCPU_MAXIMUM, &err);
        if (max < 0) {
            cli_error_report(err);
            return false;
        }
        for (int i = 0; i < max; i++) {
            if (i)
                printf("\n");
            printf("%-15s %d\n%-15s %s\n%-15s %s\n%-15s %s\n", "VCPU:", i, "CPU:", "N/A",
                   "State:", "N/A", "CPU time", "N/A");
            printf("%-15s %s\n", "CPU Affinity:", affinity);
        }
        return true;
    }
    if (CLI_CALL(dom->conn, domainGetVcpus, "virDomainGetVcpus", -1, &err, dom, &info, &n,
                 &err) < 0) {
        cli_error_report(err);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (i)
            printf("\n");
        printf("%-15s %u\n", "VCPU:", info[i].number);
        printf("%-15s %d\n", "CPU:", info[i].cpu);
        printf("%-15s %s\n", "State:",
               info[i].state == VIR_VCPU_RUNNING   ? "running"
               : info[i].state == VIR_VCPU_BLOCKED ? "blocked"
               : info[i].state == VIR_VCPU_OFFLINE ? "offline"
                                                   : "no state");
        if (info[i].cpu_time_ns)
            printf("%-15s %.1lfs\n", "CPU time:", (double)info[i].cpu_time_ns / 1e9);
        printf("%-15s %s\n", "CPU Affinity:", affinity);
    }
    return true;
}

static bool cmd_vcpucount(CliCtl *ctl, const CliArgs *args)
{
    g_autoptr(CocoonDomain) dom = cli_domain_lookup(ctl, args, "domain", CLI_BY_ANY);
    bool maximum = cli_args_bool(args, "maximum"), active = cli_args_bool(args, "active");
    bool live = cli_args_bool(args, "live"), config = cli_args_bool(args, "config");
    bool current = cli_args_bool(args, "current");

    if (!dom)
        return false;
    if (current && (live || config)) {
        cli_error("Options --current and --live are mutually exclusive");
        return false;
    }
    if (maximum && active) {
        cli_error("Options --maximum and --active are mutually exclusive");
        return false;
    }
    if (live && config) {
        cli_error("Options --live and --config are mutually exclusive");
        return false;
    }
    if (maximum || active || live || config || current) {
        /* one count, as virsh prints it for any selection */
        unsigned int flags = (maximum ? VIR_DOMAIN_VCPU_MAXIMUM : 0) |
                             (live ? VIR_DOMAIN_AFFECT_LIVE : 0) |
                             (config ? VIR_DOMAIN_AFFECT_CONFIG : 0);
        g_autoptr(CvError) err = NULL;
        int n = CLI_CALL(dom->conn, domainGetVcpusFlags, "virDomainGetVcpusFlags", -1, &err, dom,
                         flags, &err);
        if (n < 0) {
            cli_error_report(err);
            return false;
        }
        printf("%d\n", n);
        return true;
    }
    for (int row = 0; row < 4; row++) {
        bool is_max = row < 2, is_live = row % 2 == 1;
        unsigned int flags = (is_max ? VIR_DOMAIN_VCPU_MAXIMUM : 0) |
                             (is_live ? VIR_DOMAIN_AFFECT_LIVE : VIR_DOMAIN_AFFECT_CONFIG);
        g_autoptr(CvError) err = NULL;
        int n = CLI_CALL(dom->conn, domainGetVcpusFlags, "virDomainGetVcpusFlags", -1, &err, dom,
                         flags, &err);
        if (n < 0) {
            if (is_live && err && err->code == VIR_ERR_OPERATION_INVALID)
                continue; /* an inactive domain has no live rows */
            cli_error_report(err);
            return false;
        }
        printf("%-12s %-12s %3d\n", is_max ? "maximum" : "current", is_live ? "live" : "config",
               n);
    }
    return true;
}

static const CliOpt opts_domblklist[] = {
    CLI_OPT_DOMAIN,
    { "inactive", CLI_OPT_BOOL, 0, "get inactive rather than running configuration" },
    { "details", CLI_OPT_BOOL, 0, "additionally display the type and device value" },
    { NULL },
};

static const CliOpt opts_domiflist[] = {
    CLI_OPT_DOMAIN,
    { "inactive", CLI_OPT_BOOL, 0, "get inactive rather than running configuration" },
    { NULL },
};

static const CliOpt opts_domblkinfo[] = {
    CLI_OPT_DOMAIN,
    { "device", CLI_OPT_STRING, CLI_OPT_POSITIONAL, "block device" },
    { NULL },
};

static const CliOpt opts_domblkstat[] = {
    CLI_OPT_DOMAIN,
    { "device", CLI_OPT_STRING, CLI_OPT_POSITIONAL, "block device" },
    { "human", CLI_OPT_BOOL, 0, "print a more human readable output" },
    { NULL },
};

static const CliOpt opts_domifstat[] = {
    CLI_OPT_DOMAIN,
    { "interface", CLI_OPT_STRING, CLI_OPT_REQUIRED | CLI_OPT_POSITIONAL, "interface device" },
    { NULL },
};

static const CliOpt opts_domstats[] = {
    { "state", CLI_OPT_BOOL, 0, "report domain state" },
    { "cpu-total", CLI_OPT_BOOL, 0, "report domain physical cpu usage" },
    { "balloon", CLI_OPT_BOOL, 0, "report domain balloon statistics" },
    { "vcpu", CLI_OPT_BOOL, 0, "report domain virtual cpu information" },
    { "interface", CLI_OPT_BOOL, 0, "report domain network interface information" },
    { "block", CLI_OPT_BOOL, 0, "report domain block device statistics" },
    { "list-active", CLI_OPT_BOOL, 0, "list only active domains" },
    { "list-inactive", CLI_OPT_BOOL, 0, "list only inactive domains" },
    { "list-persistent", CLI_OPT_BOOL, 0, "list only persistent domains" },
    { "list-transient", CLI_OPT_BOOL, 0, "list only transient domains" },
    { "list-running", CLI_OPT_BOOL, 0, "list only running domains" },
    { "list-paused", CLI_OPT_BOOL, 0, "list only paused domains" },
    { "list-shutoff", CLI_OPT_BOOL, 0, "list only shutoff domains" },
    { "list-other", CLI_OPT_BOOL, 0, "list only domains in other states" },
    { "enforce", CLI_OPT_BOOL, 0, "enforce requested stats parameters" },
    { "domain", CLI_OPT_STRING, CLI_OPT_POSITIONAL, "list of domains to get stats for" },
    { NULL },
};

static const CliOpt opts_vcpucount[] = {
    CLI_OPT_DOMAIN,
    { "maximum", CLI_OPT_BOOL, 0, "get maximum count of vcpus" },
    { "active", CLI_OPT_BOOL, 0, "get number of currently active vcpus" },
    { "live", CLI_OPT_BOOL, 0, "get value from running domain" },
    { "config", CLI_OPT_BOOL, 0, "get value to be used on next boot" },
    { "current", CLI_OPT_BOOL, 0, "get value according to current domain state" },
    { NULL },
};

const CliCmd cli_cmds_monitor[] = {
    { "domblkinfo", CLI_GROUP_MONITOR, cmd_domblkinfo, opts_domblkinfo,
      "domain block device size information", "Get block device size info for a domain." },
    { "domblklist", CLI_GROUP_MONITOR, cmd_domblklist, opts_domblklist,
      "list all domain blocks", "Get the summary of block devices for a domain." },
    { "domblkstat", CLI_GROUP_MONITOR, cmd_domblkstat, opts_domblkstat,
      "get device block stats for a domain", "Get device block stats for a running domain." },
    { "domiflist", CLI_GROUP_MONITOR, cmd_domiflist, opts_domiflist,
      "list all domain virtual interfaces",
      "Get the summary of virtual interfaces for a domain." },
    { "domifstat", CLI_GROUP_MONITOR, cmd_domifstat, opts_domifstat,
      "get network interface stats for a domain",
      "Get network interface stats for a running domain (its TAP's counters)." },
    { "dommemstat", CLI_GROUP_MONITOR, cmd_dommemstat, cli_opts_domain_only,
      "get memory statistics for a domain",
      "Get memory statistics for a running domain (the balloon's and the VMM's rss)." },
    { "domstats", CLI_GROUP_MONITOR, cmd_domstats, opts_domstats,
      "get statistics about one or multiple domains",
      "Gets statistics about one or more (or all) domains" },
    { "vcpucount", CLI_GROUP_DOMAIN, cmd_vcpucount, opts_vcpucount, "domain vcpu counts",
      "Returns the number of virtual CPUs used by the domain." },
    { "vcpuinfo", CLI_GROUP_DOMAIN, cmd_vcpuinfo, cli_opts_domain_only,
      "detailed domain vcpu information",
      "Returns basic information about the domain virtual CPUs." },
    { NULL },
};
