/* cocoonvirsh: gc (Cocoon's own): remove what no domain or snapshot uses. */

#include "cli.h"

static bool cmd_gc(CliCtl *ctl, const CliArgs *args)
{
    bool dry = cli_args_bool(args, "dry-run");
    g_autoptr(CvError) err = NULL;
    g_auto(GStrv) items = NULL;
    CocoonConn *conn = cli_conn(ctl);

    if (!conn)
        return false;
    if (CLI_CALL(conn, cocoonGarbageCollect, "cocoonGarbageCollect", -1, &err, conn,
                 dry ? COCOON_GC_DRY_RUN : 0, &items, &err) < 0) {
        cli_error_report(err);
        return false;
    }
    for (size_t i = 0; items[i]; i++)
        printf("%s %s\n", dry ? "Would remove" : "Removed", items[i]);
    if (!items[0])
        cli_print_extra(ctl, "Nothing to remove\n");
    return true;
}

static const CliOpt opts_gc[] = {
    { "dry-run", CLI_OPT_BOOL, 0, "only list what would be removed" },
    { NULL },
};

const CliCmd cli_cmds_gc[] = {
    { "gc", CLI_GROUP_HOST, cmd_gc, opts_gc,
      "Remove what no domain or snapshot uses",
      "Remove the leftovers no domain or snapshot refers to, on both hypervisors: live folders\n"
      "    of undefined domains, temporary files of interrupted writes, stale transient-disk\n"
      "    overlays, extracted kernels no domain boots, unfinished snapshots and imports, the\n"
      "    snapshots of undefined domains. Never what a defined or running domain uses." },
    { NULL },
};
