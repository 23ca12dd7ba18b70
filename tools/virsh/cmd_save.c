/* cocoonvirsh: save, restore, managedsave, managedsave-remove, in virsh's words. */

#include "cli.h"

static unsigned int save_flags(const CliArgs *args)
{
    unsigned int flags = 0;
    if (cli_args_bool(args, "bypass-cache"))
        flags |= VIR_DOMAIN_SAVE_BYPASS_CACHE;
    if (cli_args_bool(args, "running"))
        flags |= VIR_DOMAIN_SAVE_RUNNING;
    if (cli_args_bool(args, "paused"))
        flags |= VIR_DOMAIN_SAVE_PAUSED;
    return flags;
}

/* The --xml FILE of save/restore, read (NULL: not given); false when it cannot be read. */
static bool save_xml(const CliArgs *args, char **ret_xml)
{
    const char *file = cli_args_string(args, "xml");
    *ret_xml = NULL;
    if (!file)
        return true;
    return (*ret_xml = cli_file_read(file)) != NULL;
}

static bool cmd_save(CliCtl *ctl, const CliArgs *args)
{
    const char *to = cli_args_string(args, "file");
    g_autoptr(CocoonDomain) dom = cli_domain_lookup(ctl, args, "domain", CLI_BY_ANY);
    g_autoptr(CvError) err = NULL;
    g_autofree char *xml = NULL;
    if (!dom || !save_xml(args, &xml))
        return false;
    if (CLI_CALL(dom->conn, domainSaveFlags, "virDomainSaveFlags", -1, &err, dom, to, xml,
                 save_flags(args), &err) < 0) {
        cli_error("Failed to save domain '%s' to %s", dom->name, to);
        cli_error_report(err);
        return false;
    }
    /* virsh ends its (silent) job progress with a newline first */
    cli_print_extra(ctl, "\nDomain '%s' saved to %s\n", dom->name, to);
    return true;
}

static bool cmd_restore(CliCtl *ctl, const CliArgs *args)
{
    const char *from = cli_args_string(args, "file");
    g_autoptr(CvError) err = NULL;
    g_autofree char *xml = NULL;
    CocoonConn *conn = cli_conn(ctl);
    if (!conn || !save_xml(args, &xml))
        return false;
    if (CLI_CALL(conn, domainRestoreFlags, "virDomainRestoreFlags", -1, &err, conn, from, xml,
                 save_flags(args), &err) < 0) {
        cli_error("Failed to restore domain from %s", from);
        cli_error_report(err);
        return false;
    }
    cli_print_extra(ctl, "Domain restored from %s\n", from);
    return true;
}

static bool cmd_managedsave(CliCtl *ctl, const CliArgs *args)
{
    g_autoptr(CocoonDomain) dom = cli_domain_lookup(ctl, args, "domain", CLI_BY_ANY);
    g_autoptr(CvError) err = NULL;
    if (!dom)
        return false;
    if (CLI_CALL(dom->conn, domainManagedSave, "virDomainManagedSave", -1, &err, dom,
                 save_flags(args), &err) < 0) {
        cli_error("Failed to save domain '%s' state", dom->name);
        cli_error_report(err);
        return false;
    }
    cli_print_extra(ctl, "\nDomain '%s' state saved by libvirt\n", dom->name);
    return true;
}

static bool cmd_managedsave_remove(CliCtl *ctl, const CliArgs *args)
{
    g_autoptr(CocoonDomain) dom = cli_domain_lookup(ctl, args, "domain", CLI_BY_ANY);
    g_autoptr(CvError) err = NULL;
    if (!dom)
        return false;
    int has = CLI_CALL(dom->conn, domainHasManagedSaveImage, "virDomainHasManagedSaveImage", -1,
                       &err, dom, 0, &err);
    if (has < 0) {
        cli_error("Failed to check for domain managed save image");
        cli_error_report(err);
        return false;
    }
    if (has == 0) {
        cli_print_extra(ctl, "Domain '%s' has no manage save image; removal skipped", dom->name);
        return true;
    }
    if (CLI_CALL(dom->conn, domainManagedSaveRemove, "virDomainManagedSaveRemove", -1, &err, dom,
                 0, &err) < 0) {
        cli_error("Failed to remove managed save image for domain '%s'", dom->name);
        cli_error_report(err);
        return false;
    }
    cli_print_extra(ctl, "Removed managedsave image for domain '%s'", dom->name);
    return true;
}

static const CliOpt opts_save[] = {
    CLI_OPT_DOMAIN,
    { "file", CLI_OPT_STRING, CLI_OPT_REQUIRED | CLI_OPT_POSITIONAL, "where to save the data" },
    { "bypass-cache", CLI_OPT_BOOL, 0, "avoid file system cache when saving" },
    { "xml", CLI_OPT_STRING, 0, "filename containing updated XML for the target" },
    { "running", CLI_OPT_BOOL, 0, "set domain to be running on restore" },
    { "paused", CLI_OPT_BOOL, 0, "set domain to be paused on restore" },
    { "verbose", CLI_OPT_BOOL, 0, "display the progress of save" },
    { NULL },
};

static const CliOpt opts_restore[] = {
    { "file", CLI_OPT_STRING, CLI_OPT_REQUIRED | CLI_OPT_POSITIONAL, "the state to restore" },
    { "bypass-cache", CLI_OPT_BOOL, 0, "avoid file system cache when restoring" },
    { "xml", CLI_OPT_STRING, 0, "filename containing updated XML for the target" },
    { "running", CLI_OPT_BOOL, 0, "restore domain into running state" },
    { "paused", CLI_OPT_BOOL, 0, "restore domain into paused state" },
    { NULL },
};

static const CliOpt opts_managedsave[] = {
    CLI_OPT_DOMAIN,
    { "bypass-cache", CLI_OPT_BOOL, 0, "avoid file system cache when saving" },
    { "running", CLI_OPT_BOOL, 0, "set domain to be running on next start" },
    { "paused", CLI_OPT_BOOL, 0, "set domain to be paused on next start" },
    { "verbose", CLI_OPT_BOOL, 0, "display the progress of save" },
    { NULL },
};

const CliCmd cli_cmds_save[] = {
    { "managedsave", CLI_GROUP_DOMAIN, cmd_managedsave, opts_managedsave,
      "managed save of a domain state",
      "Save and destroy a running domain, so it can be restarted from\n"
      "    the same state at a later time.  When the virsh 'start'\n"
      "    command is next run for the domain, it will automatically\n"
      "    be started from this saved state." },
    { "managedsave-remove", CLI_GROUP_DOMAIN, cmd_managedsave_remove, cli_opts_domain_only,
      "Remove managed save of a domain", "Remove an existing managed save state file from a domain" },
    { "restore", CLI_GROUP_DOMAIN, cmd_restore, opts_restore,
      "restore a domain from a saved state in a file", "Restore a domain." },
    { "save", CLI_GROUP_DOMAIN, cmd_save, opts_save, "save a domain state to a file",
      "Save the RAM state of a running domain." },
    { NULL },
};
