/* cocoonvirsh: clone --snapshot (Cocoon's own): a new domain from a snapshot of another. */

#include "cli.h"

static bool cmd_clone(CliCtl *ctl, const CliArgs *args)
{
    const char *snap = cli_args_string(args, "snapshot");
    const char *new_name = cli_args_string(args, "newname");
    g_autoptr(CocoonDomain) src = cli_domain_lookup(ctl, args, "domain", CLI_BY_ANY);
    g_autoptr(CocoonDomain) dom = NULL;
    g_autoptr(CvError) err = NULL;
    g_autofree char *notes = NULL;
    unsigned int flags = cli_args_bool(args, "paused") ? COCOON_CLONE_PAUSED : 0;

    if (!src)
        return false;
    dom = CLI_CALL(src->conn, cocoonDomainCloneFromSnapshot, "cocoonDomainCloneFromSnapshot",
                   NULL, &err, src, snap, new_name, flags, &notes, &err);
    if (!dom) {
        cli_error_report(err);
        return false;
    }
    cli_print_extra(ctl, "Domain '%s' cloned from snapshot '%s' of domain '%s'%s\n", dom->name,
                    snap, src->name, dom->id >= 0 ? " and started" : "");
    if (notes)
        cli_print_extra(ctl, "Note: %s\n", notes);
    return true;
}

static const CliOpt opts_clone[] = {
    { "snapshot", CLI_OPT_STRING, CLI_OPT_REQUIRED, "the snapshot to clone" },
    CLI_OPT_DOMAIN,
    { "newname", CLI_OPT_STRING, CLI_OPT_REQUIRED | CLI_OPT_POSITIONAL, "the new domain's name" },
    { "paused", CLI_OPT_BOOL, 0, "leave the clone paused" },
    { NULL },
};

const CliCmd cli_cmds_clone[] = {
    { "clone", CLI_GROUP_DOMAIN, cmd_clone, opts_clone,
      "Clone a new domain from a snapshot",
      "Define a new domain (new name and uuid, its own copies of the snapshot's disks, its own\n"
      "    TAPs) and, when the snapshot holds memory, start it from that state. The guest memory\n"
      "    is shared read-only with the snapshot, never copied." },
    { NULL },
};
