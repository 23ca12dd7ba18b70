/* cocoonvirsh: lifecycle commands (start, shutdown, destroy, reboot, suspend, resume, create). */

#include <string.h>

#include "cli.h"

typedef enum {
    LIFECYCLE_START,
    LIFECYCLE_SHUTDOWN,
    LIFECYCLE_DESTROY,
    LIFECYCLE_REBOOT,
    LIFECYCLE_SUSPEND,
    LIFECYCLE_RESUME,
} LifecycleOp;

/* What each command says, in virsh's words. */
static const struct {
    const char *cmd;
    LifecycleOp op;
    unsigned int by;    /* forms of the domain argument accepted */
    const char *done;   /* "Domain '%s' …" */
    const char *verb;   /* "Failed to <verb> domain '%s'" */
} lifecycle_ops[] = {
    { "start", LIFECYCLE_START, CLI_BY_NAME | CLI_BY_UUID, "started", "start" },
    { "shutdown", LIFECYCLE_SHUTDOWN, CLI_BY_ANY, "is being shutdown", "shutdown" },
    { "destroy", LIFECYCLE_DESTROY, CLI_BY_ANY, "destroyed", "destroy" },
    { "reboot", LIFECYCLE_REBOOT, CLI_BY_ANY, "is being rebooted", "reboot" },
    { "suspend", LIFECYCLE_SUSPEND, CLI_BY_ANY, "suspended", "suspend" },
    { "resume", LIFECYCLE_RESUME, CLI_BY_ANY, "resumed", "resume" },
};

/* The one driver call of op; NO_SUPPORT when the driver lacks the member. */
static int lifecycle_call(CocoonDomain *dom, LifecycleOp op, unsigned int flags, CvError **err)
{
    CocoonConn *conn = dom->conn;

    switch (op) {
    case LIFECYCLE_START:
        return CLI_CALL(conn, domainCreateWithFlags, "virDomainCreateWithFlags", -1, err, dom,
                        flags, err);
    case LIFECYCLE_SHUTDOWN:
        return CLI_CALL(conn, domainShutdownFlags, "virDomainShutdownFlags", -1, err, dom, flags,
                        err);
    case LIFECYCLE_DESTROY:
        return CLI_CALL(conn, domainDestroyFlags, "virDomainDestroyFlags", -1, err, dom, flags,
                        err);
    case LIFECYCLE_REBOOT:
        return CLI_CALL(conn, domainReboot, "virDomainReboot", -1, err, dom, flags, err);
    case LIFECYCLE_SUSPEND:
        return CLI_CALL(conn, domainSuspend, "virDomainSuspend", -1, err, dom, err);
    case LIFECYCLE_RESUME:
        return CLI_CALL(conn, domainResume, "virDomainResume", -1, err, dom, err);
    }
    g_assert_not_reached();
}

/* virsh's --mode words of shutdown and reboot (comma-separated), as flags; false when a word
 * is unknown (reported). The SHUTDOWN_* and REBOOT_* values are the same bits. */
static bool lifecycle_mode_flags(const char *mode, unsigned int *ret_flags)
{
    static const struct {
        const char *word;
        unsigned int flag;
    } modes[] = {
        { "acpi", VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN },
        { "agent", VIR_DOMAIN_SHUTDOWN_GUEST_AGENT },
        { "initctl", VIR_DOMAIN_SHUTDOWN_INITCTL },
        { "signal", VIR_DOMAIN_SHUTDOWN_SIGNAL },
        { "paravirt", VIR_DOMAIN_SHUTDOWN_PARAVIRT },
    };
    g_auto(GStrv) words = g_strsplit(mode ? mode : "", ",", -1);
    unsigned int flags = 0;

    for (size_t w = 0; mode && words[w]; w++) {
        size_t i;
        for (i = 0; i < G_N_ELEMENTS(modes); i++) {
            if (strcmp(words[w], modes[i].word) == 0)
                break;
        }
        if (i == G_N_ELEMENTS(modes)) {
            cli_error("Unknown mode %s value, expecting 'acpi', 'agent', 'initctl', 'signal' or "
                      "'paravirt'", words[w]);
            return false;
        }
        flags |= modes[i].flag;
    }
    *ret_flags = flags;
    return true;
}

/* The flags a command's options ask for. */
static unsigned int lifecycle_flags(const CliArgs *args, LifecycleOp op)
{
    unsigned int flags = 0;

    if (op == LIFECYCLE_START) {
        if (cli_args_bool(args, "paused"))
            flags |= VIR_DOMAIN_START_PAUSED;
        if (cli_args_bool(args, "autodestroy"))
            flags |= VIR_DOMAIN_START_AUTODESTROY;
        if (cli_args_bool(args, "bypass-cache"))
            flags |= VIR_DOMAIN_START_BYPASS_CACHE;
        if (cli_args_bool(args, "force-boot"))
            flags |= VIR_DOMAIN_START_FORCE_BOOT;
    } else if (op == LIFECYCLE_DESTROY) {
        if (cli_args_bool(args, "graceful"))
            flags |= VIR_DOMAIN_DESTROY_GRACEFUL;
    }
    return flags;
}

/* One handler for the six domain commands: lookup, one driver call, one line. */
static bool cmd_lifecycle(CliCtl *ctl, const CliArgs *args)
{
    const char *name = cli_args_string(args, "domain");
    g_autoptr(CocoonDomain) dom = NULL;
    g_autoptr(CvError) err = NULL;
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(lifecycle_ops); i++) {
        if (strcmp(lifecycle_ops[i].cmd, args->cmd->name) == 0)
            break;
    }
    g_assert(i < G_N_ELEMENTS(lifecycle_ops));
    unsigned int mode = 0;
    if ((lifecycle_ops[i].op == LIFECYCLE_SHUTDOWN || lifecycle_ops[i].op == LIFECYCLE_REBOOT) &&
        !lifecycle_mode_flags(cli_args_string(args, "mode"), &mode))
        return false;
    if (!(dom = cli_domain_lookup(ctl, args, "domain", lifecycle_ops[i].by)))
        return false;
    if (lifecycle_ops[i].op == LIFECYCLE_START && dom->id >= 0) {
        cli_error("Domain is already active");
        return false;
    }
    if (lifecycle_call(dom, lifecycle_ops[i].op,
                       lifecycle_flags(args, lifecycle_ops[i].op) | mode, &err) < 0) {
        cli_error("Failed to %s domain '%s'", lifecycle_ops[i].verb, name);
        cli_error_report(err);
        return false;
    }
    cli_print_extra(ctl, "Domain '%s' %s\n", name, lifecycle_ops[i].done);
    if (lifecycle_ops[i].op == LIFECYCLE_START && cli_args_bool(args, "console"))
        return cli_console_run(ctl, dom, NULL, 0);
    return true;
}

static bool cmd_create(CliCtl *ctl, const CliArgs *args)
{
    const char *file = cli_args_string(args, "file");
    g_autofree char *xml = NULL;
    g_autoptr(CvError) err = NULL;
    g_autoptr(CocoonDomain) dom = NULL;
    unsigned int flags = 0;
    CocoonConn *conn;

    if (!(xml = cli_file_read(file)) || !(conn = cli_conn(ctl)))
        return false;
    if (cli_args_bool(args, "paused"))
        flags |= VIR_DOMAIN_START_PAUSED;
    if (cli_args_bool(args, "autodestroy"))
        flags |= VIR_DOMAIN_START_AUTODESTROY;
    if (cli_args_bool(args, "validate"))
        flags |= VIR_DOMAIN_START_VALIDATE;
    dom = CLI_CALL(conn, domainCreateXML, "virDomainCreateXML", NULL, &err, conn, xml, flags,
                   &err);
    if (!dom) {
        cli_error("Failed to create domain from %s", file);
        cli_error_report(err);
        return false;
    }
    cli_print_extra(ctl, "Domain '%s' created from %s\n", dom->name, file);
    return true;
}

static const CliOpt opts_start[] = {
    { "domain", CLI_OPT_STRING, CLI_OPT_REQUIRED | CLI_OPT_POSITIONAL,
      "name or uuid of the inactive domain" },
    { "console", CLI_OPT_BOOL, 0, "attach to console after creation" },
    { "paused", CLI_OPT_BOOL, 0, "leave the guest paused after start" },
    { "autodestroy", CLI_OPT_BOOL, 0, "automatically destroy the guest when virsh disconnects" },
    { "bypass-cache", CLI_OPT_BOOL, 0, "avoid file system cache when loading" },
    { "force-boot", CLI_OPT_BOOL, 0, "force fresh boot by discarding any managed save" },
    { NULL },
};

/* shutdown and reboot take the same options. */
static const CliOpt opts_shutdown[] = {
    CLI_OPT_DOMAIN,
    { "mode", CLI_OPT_STRING, 0, "shutdown mode: acpi|agent|initctl|signal|paravirt" },
    { NULL },
};

static const CliOpt opts_destroy[] = {
    CLI_OPT_DOMAIN,
    { "graceful", CLI_OPT_BOOL, 0, "terminate gracefully" },
    { NULL },
};

static const CliOpt opts_create[] = {
    { "file", CLI_OPT_STRING, CLI_OPT_REQUIRED | CLI_OPT_POSITIONAL,
      "file containing an XML domain description" },
    { "paused", CLI_OPT_BOOL, 0, "leave the guest paused after creation" },
    { "autodestroy", CLI_OPT_BOOL, 0, "automatically destroy the guest when virsh disconnects" },
    { "validate", CLI_OPT_BOOL, 0, "validate the XML against the schema" },
    { NULL },
};

const CliCmd cli_cmds_lifecycle[] = {
    { "create", CLI_GROUP_DOMAIN, cmd_create, opts_create, "create a domain from an XML file",
      "Create a domain." },
    { "destroy", CLI_GROUP_DOMAIN, cmd_lifecycle, opts_destroy, "destroy (stop) a domain",
      "Destroy a given domain." },
    { "reboot", CLI_GROUP_DOMAIN, cmd_lifecycle, opts_shutdown, "reboot a domain",
      "Run a reboot command in the target domain." },
    { "resume", CLI_GROUP_DOMAIN, cmd_lifecycle, cli_opts_domain_only, "resume a domain",
      "Resume a previously suspended domain." },
    { "shutdown", CLI_GROUP_DOMAIN, cmd_lifecycle, opts_shutdown, "gracefully shutdown a domain",
      "Run shutdown in the target domain." },
    { "start", CLI_GROUP_DOMAIN, cmd_lifecycle, opts_start,
      "start a (previously defined) inactive domain", "Start a domain." },
    { "suspend", CLI_GROUP_DOMAIN, cmd_lifecycle, cli_opts_domain_only, "suspend a domain",
      "Suspend a running domain." },
    { NULL },
};
