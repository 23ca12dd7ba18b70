/* cocoonvirsh: console, the interactive session with a domain's serial console. */

#include <unistd.h>

#include "cli.h"
#include "console/console_terminal.h"

bool cli_console_run(CliCtl *ctl, CocoonDomain *dom, const char *dev_name, unsigned int flags)
{
    g_autoptr(CocoonStream) st = cocoon_stream_new(0);
    g_autoptr(CvError) err = NULL;
    ConsoleTerminalOptions opts = CONSOLE_TERMINAL_OPTIONS_INIT(NULL);
    /* With piped input: how long the guest may stay quiet after the input ended before the
     * session ends (scripts feeding slow guests raise it). */
    const char *idle = g_getenv("COCOON_CONSOLE_IDLE_MS");
    if (idle && *idle)
        opts.idle_timeout_ms = (int)g_ascii_strtoll(idle, NULL, 10);
    ConsoleTerminalEnd end = CONSOLE_TERMINAL_CLOSED;
    CocoonConn *conn = dom->conn;
    int fd;

    /* virsh prints the banner before it asks for the console, errors follow it */
    cli_print_extra(ctl, "Connected to domain '%s'\n", dom->name);
    cli_print_extra(ctl, "Escape character is ^] (Ctrl + ])\n");
    fflush(stdout);

    if (CLI_CALL(conn, domainOpenConsole, "virDomainOpenConsole", -1, &err, dom, dev_name, st,
                 flags, &err) < 0) {
        cli_error_report(err);
        return false;
    }
    /* The terminal loop polls one fd: every driver's console stream offers one (the local
     * driver its relay connection, the remote driver the end of its stream pump). */
    fd = cocoon_stream_get_fd(st);
    if (fd < 0) {
        cocoon_stream_abort(st, NULL);
        cli_error("internal error: the console stream has no file descriptor");
        return false;
    }
    if (console_terminal_run(fd, &opts, &end, &err) < 0) {
        cocoon_stream_abort(st, NULL);
        cli_error_report(err);
        return false;
    }
    if (cocoon_stream_finish(st, &err) < 0) {
        cli_error_report(err);
        return false;
    }
    return true;
}

static bool cmd_console(CliCtl *ctl, const CliArgs *args)
{
    g_autoptr(CocoonDomain) dom = NULL;
    g_autoptr(CvError) err = NULL;
    unsigned int flags = 0;
    int state = VIR_DOMAIN_NOSTATE;

    if (!(dom = cli_domain_lookup(ctl, args, "domain", CLI_BY_ANY)))
        return false;
    if (CLI_CALL(dom->conn, domainGetState, "virDomainGetState", -1, &err, dom, &state, NULL, 0,
                 &err) < 0) {
        cli_error_report(err);
        return false;
    }
    if (state == VIR_DOMAIN_SHUTOFF) {
        cli_error("The domain is not running");
        return false;
    }
    if (cli_args_bool(args, "force"))
        flags |= VIR_DOMAIN_CONSOLE_FORCE;
    if (cli_args_bool(args, "safe"))
        flags |= VIR_DOMAIN_CONSOLE_SAFE;
    return cli_console_run(ctl, dom, cli_args_string(args, "devname"), flags);
}

static const CliOpt opts_console[] = {
    CLI_OPT_DOMAIN,
    { "devname", CLI_OPT_STRING, 0, "character device name" },
    { "force", CLI_OPT_BOOL, 0, "force console connection (disconnect already connected sessions)" },
    { "safe", CLI_OPT_BOOL, 0, "only connect if safe console handling is supported" },
    { NULL },
};

const CliCmd cli_cmds_console[] = {
    { "console", CLI_GROUP_DOMAIN, cmd_console, opts_console, "connect to the guest console",
      "Connect the virtual serial console for the guest" },
    { NULL },
};
