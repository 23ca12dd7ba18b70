/* cocoonvirsh: doctor, what this host offers Cocoon (src/driver/host_doctor.c). */

#include "cli.h"
#include "driver/host_doctor.h"

static const char *const level_tags[] = {
    [DOCTOR_OK] = "ok",
    [DOCTOR_WARN] = "warn",
    [DOCTOR_FAIL] = "FAIL",
};

static bool cmd_doctor(CliCtl *ctl, const CliArgs *args)
{
    g_autoptr(CvError) err = NULL;
    g_autoptr(CocoonConfig) cfg = cocoon_config_load(NULL, &err);

    if (!cfg) {
        cli_error_report(err);
        return false;
    }
    DoctorWhere where = { cli_args_string(args, "root"), cli_args_string(args, "socket") };
    g_autoptr(DoctorReport) report = host_doctor_run(cfg, &where);

    printf("configuration: %s\n", cfg->path ? cfg->path : "none (built-in defaults)");
    for (guint i = 0; i < report->checks->len; i++) {
        const DoctorCheck *c = g_ptr_array_index(report->checks, i);

        printf("[%-4s] %s: %s\n", level_tags[c->level], c->name, c->detail);
        if (c->fix && c->level != DOCTOR_OK)
            printf("       fix: %s\n", c->fix);
    }
    bool all = true;
    printf("\n");
    for (int k = 0; k < BACKEND_LAST; k++) {
        const CocoonBackend *b = backend_by_kind(k);
        bool runs = host_doctor_backend_runs(report, b);

        printf("%s: %s\n", b->name, runs ? "can run" : "cannot run");
        all = all && runs;
    }
    if (!all)
        cli_error("a backend cannot run on this host: see the FAIL lines above");
    return all;
}

static const CliOpt opts_doctor[] = {
    { "root", CLI_OPT_STRING, 0, "the root whose free space to check (default: cocoon.conf's)" },
    { "socket", CLI_OPT_STRING, 0, "the daemon's read-write socket (default: the system one)" },
    { NULL },
};

const CliCmd cli_cmds_doctor[] = {
    { "doctor", CLI_GROUP_HOST, cmd_doctor, opts_doctor,
      "check what this host offers Cocoon",
      "Checks /dev/kvm, the hypervisor binaries and their versions, TAP, bridge, io_uring,\n"
      "    cgroup v2, free space and the daemon's sockets, each with how to fix it. The exit\n"
      "    status is non-zero when a backend cannot run." },
    { NULL },
};
