/* cocoonvirsh: host limits and capabilities (maxvcpus, freecell, domcapabilities). */

#include "cli.h"

static bool cmd_maxvcpus(CliCtl *ctl, const CliArgs *args)
{
    g_autoptr(CvError) err = NULL;
    CocoonConn *conn = cli_conn(ctl);
    int n;

    if (!conn)
        return false;
    n = CLI_CALL(conn, connectGetMaxVcpus, "virConnectGetMaxVcpus", -1, &err, conn,
                 cli_args_string(args, "type"), &err);
    if (n < 0) {
        cli_error_report(err);
        return false;
    }
    printf("%d\n", n);
    return true;
}

static bool cmd_freecell(CliCtl *ctl, const CliArgs *args)
{
    g_autoptr(CvError) err = NULL;
    const char *cellno = cli_args_string(args, "cellno");
    bool all = cli_args_bool(args, "all");
    CocoonConn *conn = cli_conn(ctl);
    unsigned long long cells[64];

    if (!conn)
        return false;
    if (cellno && all) {
        cli_error("Options --all and --cellno are mutually exclusive");
        return false;
    }
    if (cellno) {
        guint64 c;
        if (!g_ascii_string_to_unsigned(cellno, 10, 0, G_MAXINT, &c, NULL)) {
            cli_error("Numeric value '%s' for <cellno> option is malformed or out of range",
                      cellno);
            return false;
        }
        if (CLI_CALL(conn, nodeGetCellsFreeMemory, "virNodeGetCellsFreeMemory", -1, &err, conn,
                     cells, (int)c, 1, &err) < 1) {
            cli_error_report(err);
            return false;
        }
        printf("%d: %llu KiB\n", (int)c, cells[0] / 1024);
        return true;
    }
    if (!all) {
        unsigned long long bytes;
        if (CLI_CALL(conn, nodeGetFreeMemory, "virNodeGetFreeMemory", -1, &err, conn, &bytes,
                     &err) < 0) {
            cli_error_report(err);
            return false;
        }
        printf("Total: %llu KiB\n", bytes / 1024);
        return true;
    }
    int n = CLI_CALL(conn, nodeGetCellsFreeMemory, "virNodeGetCellsFreeMemory", -1, &err, conn,
                     cells, 0, (int)G_N_ELEMENTS(cells), &err);
    if (n < 0) {
        cli_error_report(err);
        return false;
    }
    unsigned long long total = 0;
    for (int i = 0; i < n; i++) {
        printf("%5d: %10llu KiB\n", i, cells[i] / 1024);
        total += cells[i] / 1024;
    }
    printf("--------------------\n");
    printf("%s %10llu KiB\n", "Total:", total);
    return true;
}

static bool cmd_domcapabilities(CliCtl *ctl, const CliArgs *args)
{
    g_autoptr(CvError) err = NULL;
    g_autofree char *xml = NULL;
    CocoonConn *conn = cli_conn(ctl);

    if (!conn)
        return false;
    xml = CLI_CALL(conn, connectGetDomainCapabilities, "virConnectGetDomainCapabilities", NULL,
                   &err, conn, cli_args_string(args, "emulatorbin"), cli_args_string(args, "arch"),
                   cli_args_string(args, "machine"), cli_args_string(args, "virttype"), 0, &err);
    if (!xml) {
        cli_error("failed to get emulator capabilities");
        cli_error_report(err);
        return false;
    }
    fputs(xml, stdout);
    return true;
}

static const CliOpt opts_maxvcpus[] = {
    { "type", CLI_OPT_STRING, 0, "domain type" },
    { NULL },
};

static const CliOpt opts_freecell[] = {
    { "cellno", CLI_OPT_STRING, CLI_OPT_POSITIONAL, "NUMA cell number" },
    { "all", CLI_OPT_BOOL, 0, "show free memory for all NUMA cells" },
    { NULL },
};

static const CliOpt opts_domcapabilities[] = {
    { "virttype", CLI_OPT_STRING, CLI_OPT_POSITIONAL, "virtualization type (/domain/@type)" },
    { "emulatorbin", CLI_OPT_STRING, CLI_OPT_POSITIONAL, "path to emulator binary" },
    { "arch", CLI_OPT_STRING, CLI_OPT_POSITIONAL, "domain architecture (/domain/os/type/@arch)" },
    { "machine", CLI_OPT_STRING, CLI_OPT_POSITIONAL, "machine type (/domain/os/type/@machine)" },
    { NULL },
};

const CliCmd cli_cmds_node[] = {
    { "domcapabilities", CLI_GROUP_HOST, cmd_domcapabilities, opts_domcapabilities,
      "domain capabilities",
      "Returns capabilities of the emulator (firecracker or cloud-hypervisor)." },
    { "freecell", CLI_GROUP_HOST, cmd_freecell, opts_freecell, "NUMA free memory",
      "display available free memory for the NUMA cell." },
    { "maxvcpus", CLI_GROUP_HOST, cmd_maxvcpus, opts_maxvcpus, "connection vcpu maximum",
      "Get maximum number of virtual CPUs for a guest domain (--type firecracker or "
      "cloud-hypervisor; kvm: the default one)." },
    { NULL },
};
