/* cocoonvirsh: snapshot-export and snapshot-import (Cocoon's own, no virsh counterpart). */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

/* A progress bar on stderr, drawn only when stderr is a terminal. */
typedef struct {
    const char *what;
    gint64 last_us;
    int last_pct;
    bool drawn;
} Progress;

static void progress_draw(unsigned long long done, unsigned long long total, void *opaque)
{
    Progress *p = opaque;
    int pct = total ? (int)(done * 100 / total) : 100;
    gint64 now = g_get_monotonic_time();
    if (pct == p->last_pct || (now - p->last_us < 100000 && pct != 100))
        return;
    p->last_pct = pct;
    p->last_us = now;
    char bar[41];
    int fill = pct * 40 / 100;
    memset(bar, '#', (size_t)fill);
    memset(bar + fill, ' ', (size_t)(40 - fill));
    bar[40] = '\0';
    fprintf(stderr, "\r%s [%s] %3d%% %.1f/%.1f MiB", p->what, bar, pct,
            (double)done / 1048576.0, (double)total / 1048576.0);
    fflush(stderr);
    p->drawn = true;
}

static void progress_end(Progress *p)
{
    if (p->drawn)
        fprintf(stderr, "\n");
}

static const CocoonProgress *progress_setup(const CliCtl *ctl, Progress *p, CocoonProgress *cp)
{
    if (ctl->quiet || !isatty(STDERR_FILENO))
        return NULL;
    p->last_pct = -1;
    cp->func = progress_draw;
    cp->opaque = p;
    return cp;
}

/* Write into a temporary file next to path, renamed over it on success. */
static int archive_out_open(const char *path, char **ret_tmp)
{
    g_autofree char *dir = g_path_get_dirname(path);
    g_autofree char *base = g_path_get_basename(path);
    g_autofree char *tmp = g_strdup_printf("%s/.%s.tmp-XXXXXX", dir, base);
    int fd = g_mkstemp_full(tmp, O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    *ret_tmp = g_steal_pointer(&tmp);
    return fd;
}

static bool cmd_snapshot_export(CliCtl *ctl, const CliArgs *args)
{
    const char *snap = cli_args_string(args, "snapshotname");
    const char *file = cli_args_string(args, "file");
    bool to_stdout = strcmp(file, "-") == 0;
    g_autoptr(CocoonDomain) dom = NULL;
    g_autoptr(CvError) err = NULL;
    g_autofree char *tmp = NULL;
    Progress p = { .what = "Exporting" };
    CocoonProgress cp;
    int fd = STDOUT_FILENO;

    if (to_stdout && isatty(STDOUT_FILENO)) {
        cli_error("refusing to write a snapshot archive to a terminal");
        return false;
    }
    if (!(dom = cli_domain_lookup(ctl, args, "domain", CLI_BY_ANY)))
        return false;
    if (!to_stdout && (fd = archive_out_open(file, &tmp)) < 0) {
        cli_error("Failed to open file '%s': %s", file, g_strerror(errno));
        return false;
    }
    const CocoonProgress *prog = progress_setup(ctl, &p, &cp);
    int rc = CLI_CALL(dom->conn, cocoonSnapshotExport, "cocoonSnapshotExport", -1, &err, dom, snap,
                      fd, prog, 0, &err);
    progress_end(&p);
    if (rc == 0 && !to_stdout && (fsync(fd) < 0 || rename(tmp, file) < 0)) {
        cli_error("Failed to write file '%s': %s", file, g_strerror(errno));
        rc = 1;
    }
    if (!to_stdout) {
        close(fd);
        if (rc != 0)
            unlink(tmp);
    }
    if (rc < 0) {
        cli_error_report(err);
        return false;
    }
    if (rc > 0)
        return false;
    /* the archive is stdout: nothing else may go there, the closing empty line neither */
    if (to_stdout)
        ctl->quiet = true;
    else
        cli_print_extra(ctl, "Domain snapshot %s exported to %s\n", snap, file);
    return true;
}

static bool cmd_snapshot_import(CliCtl *ctl, const CliArgs *args)
{
    const char *file = cli_args_string(args, "file");
    const char *dom_name = cli_args_string(args, "domain");
    const char *name = cli_args_string(args, "name");
    g_autoptr(CvError) err = NULL;
    g_autoptr(CocoonDomain) dom = NULL;
    g_autofree char *snap = NULL;
    Progress p = { .what = "Importing" };
    CocoonProgress cp;
    CocoonConn *conn;
    int fd = STDIN_FILENO;

    if (strcmp(file, "-") != 0 && (fd = open(file, O_RDONLY | O_CLOEXEC)) < 0) {
        cli_error("Failed to open file '%s': %s", file, g_strerror(errno));
        return false;
    }
    if (!(conn = cli_conn(ctl))) {
        if (fd != STDIN_FILENO)
            close(fd);
        return false;
    }
    const CocoonProgress *prog = progress_setup(ctl, &p, &cp);
    dom = CLI_CALL(conn, cocoonSnapshotImport, "cocoonSnapshotImport", NULL, &err, conn, dom_name,
                   fd, name, prog, 0, &snap, &err);
    progress_end(&p);
    if (fd != STDIN_FILENO)
        close(fd);
    if (!dom) {
        cli_error_report(err);
        return false;
    }
    cli_print_extra(ctl, "Domain snapshot %s imported into domain '%s'\n", snap, dom->name);
    return true;
}

static const CliOpt opts_snapshot_export[] = {
    CLI_OPT_DOMAIN,
    { "snapshotname", CLI_OPT_STRING, CLI_OPT_REQUIRED | CLI_OPT_POSITIONAL, "snapshot name" },
    { "file", CLI_OPT_STRING, CLI_OPT_REQUIRED | CLI_OPT_POSITIONAL,
      "the archive to write (.tar.zst), - for standard output" },
    { NULL },
};

static const CliOpt opts_snapshot_import[] = {
    { "file", CLI_OPT_STRING, CLI_OPT_REQUIRED | CLI_OPT_POSITIONAL,
      "the archive to read (.tar.zst), - for standard input" },
    { "domain", CLI_OPT_STRING, CLI_OPT_POSITIONAL,
      "the domain to import into (default: the one the archive names; defined when missing)" },
    { "name", CLI_OPT_STRING, 0, "a new name for the snapshot" },
    { NULL },
};

const CliCmd cli_cmds_snapshot_archive[] = {
    { "snapshot-export", CLI_GROUP_SNAPSHOT, cmd_snapshot_export, opts_snapshot_export,
      "Export a snapshot as a portable archive",
      "Write a snapshot (metadata, memory, disks) as one zstd-compressed tar archive that\n"
      "    GNU tar reads and snapshot-import takes on another host." },
    { "snapshot-import", CLI_GROUP_SNAPSHOT, cmd_snapshot_import, opts_snapshot_import,
      "Import a snapshot from an archive",
      "Create a snapshot from an archive of snapshot-export; defines the domain it carries\n"
      "    when no domain of that name exists." },
    { NULL },
};
