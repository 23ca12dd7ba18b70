/*
 * Firecracker under its jailer, without KVM or the jailer: the jailer's command line for a
 * definition (cgroup v1 and v2 limits from <cputune>/<memtune>, namespaces, seccomp), the
 * lowering as FC sees it from inside the chroot, the chroot fc_jail_prepare makes (hard links,
 * owners, socket links, the state file) and that fc_jail_release leaves nothing of it,
 * <cputune>/<memtune> parsed and formatted, and the [jailer] keys of cocoon.conf.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "driver/config.h"
#include "driver/fc/fc_jail.h"
#include "driver/fc/fc_lower.h"
#include "driver_test.h"
#include "util/cv_file.h"

#define XML_HEAD                                                                                   \
    "<domain type='kvm'><name>web-1</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>"
#define XML_OS(k) "<os><type>hvm</type><kernel>" k "</kernel><cmdline>console=ttyS0</cmdline></os>"

static DomainDef *
parse(const char *xml, char **ret_err)
{
    CvError *err = NULL;
    DomainDef *def = domain_def_parse_string(xml, 0, &err);
    *ret_err = err ? g_strdup(err->message) : NULL;
    cv_error_free(err);
    return def;
}

static char *
joined(char **argv)
{
    return g_strjoinv(" ", argv);
}

static void
test_argv(void)
{
    g_autofree char *e = NULL;
    DomainDef *def = parse(XML_HEAD "<cputune><shares>2048</shares><period>50000</period>"
                                    "<quota>25000</quota></cputune>"
                                    "<memtune><hard_limit unit='MiB'>256</hard_limit></memtune>"
                                    XML_OS("/k") "</domain>",
                           &e);
    CHECK(def && !e);
    if (!def)
        return;
    BackendJail jail = {.jailer = "/opt/jailer", .chroot_base = "/run/c/jail", .uid = 52000,
                        .gid = 52001, .cgroup_version = 2};
    g_auto(GStrv) v2 = fc_jail_argv(&jail, "/opt/firecracker", "web-1", def);
    g_autofree char *s2 = joined(v2);
    CHECK(strcmp(s2, "/opt/jailer --id web-1 --exec-file /opt/firecracker --uid 52000 --gid 52001 "
                     "--chroot-base-dir /run/c/jail --cgroup-version 2 --cgroup cpu.weight=79 "
                     "--cgroup cpu.max=25000 50000 --cgroup memory.max=268435456 -- --api-sock "
                     "/fc-api.sock --log-path /vmm.log --level Info") == 0);
    if (strstr(s2, "cpu.weight") == NULL)
        fprintf(stderr, "v2: %s\n", s2);
    /* each --cgroup value is one argument, spaces and all */
    bool found = false;
    for (size_t i = 0; v2[i]; i++)
        found |= strcmp(v2[i], "cpu.max=25000 50000") == 0;
    CHECK(found);

    jail.cgroup_version = 1;
    jail.new_pid_ns = true;
    jail.netns = "/run/netns/t1";
    jail.seccomp_filter = "/etc/f.bpf";
    g_auto(GStrv) v1 = fc_jail_argv(&jail, "/opt/firecracker", "web-1", def);
    g_autofree char *s1 = joined(v1);
    CHECK(strcmp(s1, "/opt/jailer --id web-1 --exec-file /opt/firecracker --uid 52000 --gid 52001 "
                     "--chroot-base-dir /run/c/jail --cgroup-version 1 --cgroup cpu.shares=2048 "
                     "--cgroup cpu.cfs_period_us=50000 --cgroup cpu.cfs_quota_us=25000 "
                     "--cgroup memory.limit_in_bytes=268435456 --netns /run/netns/t1 "
                     "--new-pid-ns -- --api-sock /fc-api.sock --log-path /vmm.log --level Info "
                     "--seccomp-filter /seccomp-filter") == 0);
    domain_def_free(def);

    /* no limits: no cgroup at all; an unlimited quota is "max" */
    def = parse(XML_HEAD "<cputune><quota>-1</quota></cputune>" XML_OS("/k") "</domain>", &e);
    CHECK(def && !e);
    if (!def)
        return;
    jail = (BackendJail){.jailer = "/j", .chroot_base = "/b", .uid = 1, .gid = 1,
                         .cgroup_version = 2};
    g_auto(GStrv) q = fc_jail_argv(&jail, "/fc", "x", def);
    g_autofree char *sq = joined(q);
    CHECK(strstr(sq, "--cgroup cpu.max=max 100000 --") != NULL);
    domain_def_free(def);
}

static void
test_tune_xml(void)
{
    g_autofree char *e = NULL;
    DomainDef *def = parse(XML_HEAD "<cputune><shares>512</shares><quota>-1</quota></cputune>"
                                    "<memtune><hard_limit>65536</hard_limit></memtune>"
                                    XML_OS("/k") "</domain>",
                           &e);
    CHECK(def && !e);
    if (def) {
        CHECK(def->cpu_shares == 512 && def->cpu_quota_us == -1 && !def->cpu_period_us);
        CHECK(def->mem_hard_limit_kib == 65536);
        g_autofree char *xml = domain_def_format(def, -1);
        CHECK(strstr(xml, "<memtune>\n    <hard_limit unit='KiB'>65536</hard_limit>\n  "
                          "</memtune>") != NULL);
        CHECK(strstr(xml, "<cputune>\n    <shares>512</shares>\n    <quota>-1</quota>\n  "
                          "</cputune>") != NULL);
        g_autofree char *e2 = NULL;
        DomainDef *again = parse(xml, &e2);
        CHECK(again && again->cpu_shares == 512 && again->mem_hard_limit_kib == 65536);
        domain_def_free(again);
        domain_def_free(def);
    }
    struct {
        const char *xml, *err;
    } bad[] = {
        {"<cputune><shares>1</shares></cputune>", "invalid value '1' for <shares>"},
        {"<cputune><period>999</period></cputune>", "invalid value '999' for <period>"},
        {"<cputune><quota>10</quota></cputune>", "invalid value '10' for <quota>"},
        {"<cputune><emulatorpin/></cputune>", "element <emulatorpin> in <cputune>"},
        {"<memtune><hard_limit>0</hard_limit></memtune>", "invalid value '0' for <hard_limit>"},
        {"<memtune><soft_limit>1</soft_limit></memtune>", "element <soft_limit> in <memtune>"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autofree char *xml = g_strconcat(XML_HEAD, bad[i].xml, XML_OS("/k"), "</domain>", NULL);
        g_autofree char *err = NULL;
        DomainDef *d = parse(xml, &err);
        CHECK(!d && err && strstr(err, bad[i].err));
        if (!err || !strstr(err, bad[i].err))
            fprintf(stderr, "case %zu: %s\n", i, err ? err : "(accepted)");
        domain_def_free(d);
    }
}

static void
touch(const char *path, mode_t mode)
{
    g_assert(g_file_set_contents(path, "x", 1, NULL));
    g_assert(chmod(path, mode) == 0);
}

/* The chroot made for a launch, the lowering from inside, and nothing left after release. */
static void
test_prepare_release(const char *dir)
{
    g_autofree char *run = g_build_filename(dir, "live", NULL);
    g_autofree char *base = g_build_filename(dir, "jail", NULL);
    g_autofree char *kernel = g_build_filename(dir, "vmlinux", NULL);
    g_autofree char *disk = g_build_filename(dir, "disk.img", NULL);
    g_autofree char *log = g_build_filename(run, "vmm.log", NULL);
    g_assert(g_mkdir_with_parents(run, 0700) == 0);
    touch(kernel, 0644);
    touch(disk, 0600);
    touch(log, 0600);
    g_autofree char *xml = g_strdup_printf(
        XML_HEAD "<os><type>hvm</type><kernel>%s</kernel></os><devices><disk type='file' "
                 "device='disk'><source file='%s'/><target dev='vda' bus='virtio'/></disk>"
                 "<vsock model='virtio'><cid auto='yes'/></vsock></devices></domain>",
        kernel, disk);
    g_autofree char *e = NULL;
    DomainDef *def = parse(xml, &e);
    CHECK(def && !e);
    if (!def)
        return;
    BackendJail jail = {.jailer = "/j", .chroot_base = base, .uid = 52000, .gid = 52000,
                        .cgroup_version = 1};
    BackendLaunchCtx ctx = {.binary = "/fc", .log_path = log, .console_fd = -1,
                            .lower = {.run_dir = run}, .jail = &jail};
    FcJailPrep prep;
    CvError *err = NULL;
    int rc = fc_jail_prepare(def, &ctx, "web-1", &prep, &err);
    CHECK_OK(rc == 0, err);
    if (rc == 0) {
        g_autofree char *root = g_build_filename(base, "firecracker", "web-1", "root", NULL);
        CHECK(strcmp(prep.root, root) == 0);
        struct stat in, out;
        g_autofree char *kin = g_build_filename(root, "kernel", NULL);
        g_autofree char *din = g_build_filename(root, "disk-vda", NULL);
        /* hard links: the same inode, never a copy */
        CHECK(stat(kin, &in) == 0 && stat(kernel, &out) == 0 && in.st_ino == out.st_ino);
        CHECK(stat(din, &in) == 0 && stat(disk, &out) == 0 && in.st_ino == out.st_ino);
        /* the disk (0600 root's) is given to the jail's uid; the readable kernel is not */
        CHECK(out.st_uid == 52000);
        CHECK(stat(kernel, &out) == 0 && out.st_uid == 0);
        g_autofree char *sock = g_build_filename(run, "fc-api.sock", NULL);
        g_autofree char *target = g_file_read_link(sock, NULL);
        g_autofree char *want = g_build_filename(root, "fc-api.sock", NULL);
        CHECK(target && strcmp(target, want) == 0);

        g_autoptr(FcCallPlan) plan = fc_lower(&prep.def, &prep.lower, &err);
        CHECK_OK(plan != NULL, err);
        g_autofree char *json = plan ? fc_call_plan_to_json(plan) : NULL;
        CHECK(json && strstr(json, "\"kernel_image_path\": \"/kernel\""));
        CHECK(json && strstr(json, "\"path_on_host\": \"/disk-vda\""));
        CHECK(json && strstr(json, "\"uds_path\": \"/vsock.sock\""));
        if (json && !strstr(json, "/disk-vda"))
            fprintf(stderr, "%s\n", json);
        fc_jail_prep_clear(&prep);

        fc_jail_release(run, NULL);
        g_autofree char *jaildir = g_build_filename(base, "firecracker", "web-1", NULL);
        CHECK(!g_file_test(jaildir, G_FILE_TEST_EXISTS));
        CHECK(stat(disk, &out) == 0 && out.st_uid == 0 && out.st_nlink == 1);
        g_autofree char *state = g_build_filename(run, FC_JAIL_STATE, NULL);
        CHECK(!g_file_test(state, G_FILE_TEST_EXISTS));
    }
    /* a serial file cannot be reached from inside: refused, nothing made */
    domain_def_free(def);
    g_autofree char *xml2 = g_strdup_printf(
        XML_HEAD "<os><type>hvm</type><kernel>%s</kernel></os><devices><serial type='file'>"
                 "<source path='%s/out'/></serial></devices></domain>",
        kernel, dir);
    def = parse(xml2, &e);
    CHECK(def != NULL);
    if (def) {
        CHECK(fc_jail_prepare(def, &ctx, "web-2", &prep, &err) < 0);
        CHECK_ERR(err, VIR_ERR_CONFIG_UNSUPPORTED,
                  "unsupported configuration: a <serial type='file'> cannot reach into the "
                  "jail of domain 'web-1'");
        g_autofree char *j2 = g_build_filename(base, "firecracker", "web-2", NULL);
        CHECK(!g_file_test(j2, G_FILE_TEST_EXISTS));
        domain_def_free(def);
    }
}

static void
test_config_keys(const char *dir)
{
    g_autofree char *path = g_build_filename(dir, "cocoon.conf", NULL);
    g_assert(g_file_set_contents(path,
                                 "[hypervisors]\njailer = /bin/true\nfirecracker = /bin/true\n"
                                 "[jailer]\nuid = 1234\ngid = 4321\nchroot-base = /srv/j\n"
                                 "cgroup-version = 2\nnew-pid-ns = yes\nnetns = /run/netns/a\n"
                                 "seccomp-filter = /etc/f.bpf\n",
                                 -1, NULL));
    CvError *err = NULL;
    g_autoptr(CocoonConfig) cfg = cocoon_config_load(path, &err);
    CHECK_OK(cfg != NULL, err);
    if (cfg) {
        g_unsetenv("COCOON_JAILER");
        g_unsetenv("COCOON_FIRECRACKER");
        CocoonJail j = {0};
        CHECK(cocoon_config_jail(cfg, "/usr/bin/firecracker", "/run/c", &j, &err) == 1);
        CHECK(j.jail.uid == 1234 && j.jail.gid == 4321 && j.jail.cgroup_version == 2);
        CHECK(j.jail.new_pid_ns && strcmp(j.jail.netns, "/run/netns/a") == 0);
        CHECK(strcmp(j.jail.chroot_base, "/srv/j") == 0);
        CHECK(strcmp(j.jail.seccomp_filter, "/etc/f.bpf") == 0);
        CHECK(strcmp(j.jailer, "/bin/true") == 0 && strcmp(j.firecracker, "/bin/true") == 0);
        cocoon_config_jail_clear(&j);
    }
    /* no jailer configured: not jailed, unless <emulator> is one */
    g_assert(g_file_set_contents(path, "[hypervisors]\nfirecracker = /bin/true\n", -1, NULL));
    g_autoptr(CocoonConfig) plain = cocoon_config_load(path, &err);
    CHECK_OK(plain != NULL, err);
    if (plain) {
        CocoonJail j = {0};
        CHECK(cocoon_config_jail(plain, "/usr/bin/firecracker", "/run/c", &j, &err) == 0);
        CHECK(cocoon_config_jail(plain, "/nonexistent/jailer", "/run/c", &j, &err) < 0);
        CHECK_ERR(err, VIR_ERR_SYSTEM_ERROR,
                  "cannot use the jailer '/nonexistent/jailer': No such file or directory");
        CHECK(cocoon_config_jail(plain, "/bin/true-jailer-x", "/run/c", &j, &err) < 0);
        g_clear_pointer(&err, cv_error_free);
    }
    struct {
        const char *text, *msg;
    } bad[] = {
        {"[jailer]\nuid = 0\n", "uid '0' is not a number from 1 to 4294967294"},
        {"[jailer]\nnew-pid-ns = maybe\n", "new-pid-ns 'maybe' is not yes or no"},
        {"[jailer]\ncgroup-version = 3\n", "cgroup-version '3' is not 1 or 2"},
        {"[jailer]\nchroot-base = rel\n", "chroot-base 'rel' is not an absolute path"},
        {"[jailer]\nnice = 1\n", "unknown key 'nice' in [jailer]"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_assert(g_file_set_contents(path, bad[i].text, -1, NULL));
        CocoonConfig *c = cocoon_config_load(path, &err);
        CHECK(!c && err && strstr(err->message, bad[i].msg) && strstr(err->message, "line 2"));
        if (err && !strstr(err->message, bad[i].msg))
            fprintf(stderr, "case %zu: %s\n", i, err->message);
        cocoon_config_free(c);
        g_clear_pointer(&err, cv_error_free);
    }
}

int
main(void)
{
    g_autofree char *dir = g_dir_make_tmp("fc-jail-XXXXXX", NULL);
    g_assert(dir);
    test_argv();
    test_tune_xml();
    if (geteuid() == 0)
        test_prepare_release(dir);
    else
        fprintf(stderr, "not root: the chroot's owners are not checked\n");
    test_config_keys(dir);
    CvError *err = NULL;
    cv_dir_remove_tree_at(AT_FDCWD, dir, &err);
    cv_error_free(err);
    return failures ? 1 : 0;
}
