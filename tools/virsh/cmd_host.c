/* cocoonvirsh: host and shell commands (version, uri, hostname, nodeinfo, capabilities, help,
 * quit, exit). */

#include <string.h>

#include "cli.h"

static bool cmd_version(CliCtl *ctl, const CliArgs *args)
{
    g_autoptr(CvError) err = NULL;
    unsigned long long v = 0;
    CocoonConn *conn = cli_conn(ctl);

    if (!conn)
        return false;
    printf("Compiled against library: cocoon %s\n", COCOON_VERSION);
    printf("Using library: cocoon %s\n", COCOON_VERSION);
    printf("Using API: Cocoon %s\n", COCOON_VERSION);
    if (CLI_CALL(conn, connectGetVersion, "virConnectGetVersion", -1, &err, conn, &v, &err) < 0) {
        cli_error("failed to get the hypervisor version");
        cli_error_report(err);
        return false;
    }
    /* Cocoon drives two hypervisors; the version is the driver's, which runs them both */
    printf("Running hypervisor: Cocoon (Firecracker, Cloud Hypervisor) %llu.%llu.%llu\n",
           v / 1000000, (v / 1000) % 1000, v % 1000);
    return true;
}

static bool cmd_uri(CliCtl *ctl, const CliArgs *args)
{
    CocoonConn *conn = cli_conn(ctl);

    if (!conn)
        return false;
    printf("%s\n", conn->uri);
    return true;
}

static bool cmd_hostname(CliCtl *ctl, const CliArgs *args)
{
    g_autoptr(CvError) err = NULL;
    g_autofree char *host = NULL;
    CocoonConn *conn = cli_conn(ctl);

    if (!conn)
        return false;
    host = CLI_CALL(conn, connectGetHostname, "virConnectGetHostname", NULL, &err, conn, &err);
    if (!host) {
        cli_error("failed to get hostname");
        cli_error_report(err);
        return false;
    }
    printf("%s\n", host);
    return true;
}

static bool cmd_capabilities(CliCtl *ctl, const CliArgs *args)
{
    g_autoptr(CvError) err = NULL;
    g_autofree char *caps = NULL;
    CocoonConn *conn = cli_conn(ctl);

    if (!conn)
        return false;
    caps = CLI_CALL(conn, connectGetCapabilities, "virConnectGetCapabilities", NULL, &err, conn,
                    &err);
    if (!caps) {
        cli_error("failed to get capabilities");
        cli_error_report(err);
        return false;
    }
    fputs(caps, stdout);
    return true;
}

#define NODE_LINE(label, fmt, ...) printf("%-20s " fmt "\n", label, __VA_ARGS__)

static bool cmd_nodeinfo(CliCtl *ctl, const CliArgs *args)
{
    g_autoptr(CvError) err = NULL;
    CocoonNodeInfo info = { 0 };
    CocoonConn *conn = cli_conn(ctl);

    if (!conn)
        return false;
    if (CLI_CALL(conn, nodeGetInfo, "virNodeGetInfo", -1, &err, conn, &info, &err) < 0) {
        cli_error("failed to get node information");
        cli_error_report(err);
        return false;
    }
    NODE_LINE("CPU model:", "%s", info.model ? info.model : "");
    NODE_LINE("CPU(s):", "%u", info.cpus);
    if (info.mhz)
        NODE_LINE("CPU frequency:", "%u MHz", info.mhz);
    NODE_LINE("CPU socket(s):", "%u", info.sockets);
    NODE_LINE("Core(s) per socket:", "%u", info.cores);
    NODE_LINE("Thread(s) per core:", "%u", info.threads);
    NODE_LINE("NUMA cell(s):", "%u", info.nodes);
    NODE_LINE("Memory size:", "%lu KiB", info.memory_kib);
    g_free(info.model);
    return true;
}

/* ---- help ---- */

static int help_cmd_compare(gconstpointer a, gconstpointer b)
{
    const CliCmd *x = *(const CliCmd *const *)a;
    const CliCmd *y = *(const CliCmd *const *)b;

    return strcmp(x->name, y->name);
}

static void help_group_print(CliGroup group)
{
    const CliCmd *const *tables = cli_command_tables();
    g_autoptr(GPtrArray) cmds = g_ptr_array_new();

    for (size_t t = 0; tables[t]; t++) {
        for (const CliCmd *c = tables[t]; c->name; c++) {
            if (c->group == group)
                g_ptr_array_add(cmds, (gpointer)c);
        }
    }
    g_ptr_array_sort(cmds, help_cmd_compare);
    printf(" %s (help keyword '%s'):\n", cli_group_name(group), cli_group_keyword(group));
    for (guint i = 0; i < cmds->len; i++) {
        const CliCmd *c = g_ptr_array_index(cmds, i);

        printf("    %-30s %s\n", c->name, c->summary);
    }
    printf("\n");
}

static void help_command_print(const CliCmd *cmd)
{
    g_autoptr(GString) synopsis = g_string_new(cmd->name);
    const CliOpt *opts = cmd->opts;

    for (size_t i = 0; opts && opts[i].name; i++) {
        const CliOpt *o = &opts[i];

        if (o->type == CLI_OPT_BOOL)
            g_string_append_printf(synopsis, " [--%s]", o->name);
        else if (o->flags & CLI_OPT_REQUIRED)
            g_string_append_printf(synopsis, " <%s>", o->name);
        else if (o->flags & CLI_OPT_POSITIONAL)
            g_string_append_printf(synopsis, " [<%s>]", o->name);
        else
            g_string_append_printf(synopsis, " [--%s <string>]", o->name);
    }
    printf("  NAME\n    %s - %s\n\n", cmd->name, cmd->summary);
    printf("  SYNOPSIS\n    %s\n\n", synopsis->str);
    if (cmd->description)
        printf("  DESCRIPTION\n    %s\n\n", cmd->description);
    if (!opts || !opts[0].name)
        return;
    printf("  OPTIONS\n");
    for (size_t i = 0; opts[i].name; i++) {
        const CliOpt *o = &opts[i];
        g_autofree char *left = NULL;

        if (o->type == CLI_OPT_BOOL)
            left = g_strdup_printf("--%s", o->name);
        else if (o->flags & CLI_OPT_POSITIONAL)
            left = g_strdup_printf("[--%s] <string>", o->name);
        else
            left = g_strdup_printf("--%s <string>", o->name);
        printf("    %-15s  %s\n", left, o->help);
    }
    printf("\n");
}

static bool cmd_help(CliCtl *ctl, const CliArgs *args)
{
    const char *what = cli_args_string(args, "command");
    const CliCmd *cmd;

    if (!what) {
        printf("Grouped commands:\n\n");
        for (int g = 0; g < CLI_GROUP_LAST; g++)
            help_group_print(g);
        return true;
    }
    for (int g = 0; g < CLI_GROUP_LAST; g++) {
        if (strcmp(what, cli_group_keyword(g)) == 0) {
            help_group_print(g);
            return true;
        }
    }
    if ((cmd = cli_command_find(what))) {
        help_command_print(cmd);
        return true;
    }
    cli_error("command or command group '%s' doesn't exist", what);
    return false;
}

static bool cmd_quit(CliCtl *ctl, const CliArgs *args)
{
    ctl->quit = true;
    return true;
}

static const CliOpt opts_none[] = {
    { NULL },
};

static const CliOpt opts_help[] = {
    { "command", CLI_OPT_STRING, CLI_OPT_POSITIONAL,
      "Prints global help, command specific help, or help for a group of related commands" },
    { NULL },
};

const CliCmd cli_cmds_host[] = {
    { "capabilities", CLI_GROUP_HOST, cmd_capabilities, opts_none, "capabilities",
      "Returns capabilities of hypervisor/driver." },
    { "hostname", CLI_GROUP_HOST, cmd_hostname, opts_none, "print the hypervisor hostname", NULL },
    { "nodeinfo", CLI_GROUP_HOST, cmd_nodeinfo, opts_none, "node information",
      "Returns basic information about the node." },
    { "uri", CLI_GROUP_HOST, cmd_uri, opts_none, "print the hypervisor canonical URI", NULL },
    { "version", CLI_GROUP_HOST, cmd_version, opts_none, "show version",
      "Display the system version information." },
    { "exit", CLI_GROUP_VIRSH, cmd_quit, opts_none, "quit this interactive terminal", NULL },
    { "help", CLI_GROUP_VIRSH, cmd_help, opts_help, "print help",
      "Prints global help, command specific help, or help for a\n"
      "    group of related commands" },
    { "quit", CLI_GROUP_VIRSH, cmd_quit, opts_none, "quit this interactive terminal", NULL },
    { NULL },
};
