/* cocoonvirsh: the command table, one part per cmd_*.c file. */

#include <string.h>

#include "cli.h"

static const CliCmd *const tables[] = {
    cli_cmds_domain,
    cli_cmds_lifecycle,
    cli_cmds_list,
    cli_cmds_host,
    cli_cmds_console,
    cli_cmds_monitor,
    cli_cmds_tune,
    cli_cmds_node,
    cli_cmds_event,
    cli_cmds_snapshot,
    cli_cmds_save,
    cli_cmds_doctor,
    cli_cmds_snapshot_archive,
    cli_cmds_gc,
    cli_cmds_clone,
    NULL,
};

const CliOpt cli_opts_domain_only[] = {
    CLI_OPT_DOMAIN,
    { NULL },
};

/* virsh's help group titles and keywords; the shell's own commands are "virsh". */
static const struct {
    const char *name;
    const char *keyword;
} groups[CLI_GROUP_LAST] = {
    [CLI_GROUP_DOMAIN] = { "Domain Management", "domain" },
    [CLI_GROUP_MONITOR] = { "Domain Monitoring", "monitor" },
    [CLI_GROUP_HOST] = { "Host and Hypervisor", "host" },
    [CLI_GROUP_SNAPSHOT] = { "Snapshot", "snapshot" },
    [CLI_GROUP_VIRSH] = { "Virsh itself", "virsh" },
};

const CliCmd *const *cli_command_tables(void)
{
    return tables;
}

const CliCmd *cli_command_find(const char *name)
{
    for (size_t t = 0; tables[t]; t++) {
        for (const CliCmd *c = tables[t]; c->name; c++) {
            if (strcmp(c->name, name) == 0)
                return c;
        }
    }
    return NULL;
}

const char *cli_group_name(CliGroup group)
{
    return groups[group].name;
}

const char *cli_group_keyword(CliGroup group)
{
    return groups[group].keyword;
}
