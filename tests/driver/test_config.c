/*
 * cocoon.conf(5): every key read into the configuration, every kind of mistake an error that
 * names the file and the line, and the doctor's version comparison.
 */

#include <unistd.h>

#include "driver/config.h"
#include "driver/host_doctor.h"
#include "driver_test.h"

static char *dir;

/* Load text as a configuration file; *ret_err gets the message of a failure. */
static CocoonConfig *
load(const char *text, char **ret_path, char **ret_err)
{
    static int n;
    char *path = g_strdup_printf("%s/c%d.conf", dir, n++);
    g_assert(g_file_set_contents(path, text, -1, NULL));
    CvError *err = NULL;
    CocoonConfig *cfg = cocoon_config_load(path, &err);
    *ret_err = err ? g_strdup(err->message) : NULL;
    cv_error_free(err);
    *ret_path = path;
    return cfg;
}

static void
test_all_keys(void)
{
    g_autofree char *path = NULL, *err = NULL;
    g_autoptr(CocoonConfig) cfg = load("# comment\n; another\n\n[hypervisors]\n"
                                       "default = cloud-hypervisor\n"
                                       "firecracker=/opt/fc/firecracker\n"
                                       "cloud-hypervisor = /opt/ch//cloud-hypervisor\n"
                                       "jailer = /opt/fc/jailer\n"
                                       "[paths]\nroot = /srv/cocoon\nrun = /run/x\n"
                                       "[ timeouts ]\nstart = 3\nshutdown = 40\nstop = 7\n"
                                       "[daemon]\nsocket-group = root\n",
                                       &path, &err);
    CHECK(cfg && !err);
    if (!cfg)
        return;
    CHECK(strcmp(cfg->path, path) == 0);
    CHECK(cfg->default_kind == BACKEND_CLOUD_HYPERVISOR);
    CHECK(strcmp(cfg->binaries[BACKEND_FIRECRACKER], "/opt/fc/firecracker") == 0);
    CHECK(strcmp(cfg->binaries[BACKEND_CLOUD_HYPERVISOR], "/opt/ch/cloud-hypervisor") == 0);
    CHECK(strcmp(cfg->jailer, "/opt/fc/jailer") == 0);
    CHECK(strcmp(cfg->root, "/srv/cocoon") == 0 && strcmp(cfg->run, "/run/x") == 0);
    CHECK(cfg->start_timeout_ms == 3000 && cfg->shutdown_timeout_ms == 40000 &&
          cfg->stop_timeout_ms == 7000);
    CHECK(strcmp(cfg->socket_group, "root") == 0);
}

static void
test_defaults(void)
{
    g_autofree char *path = NULL, *err = NULL;
    g_autoptr(CocoonConfig) cfg = load("", &path, &err);
    CHECK(cfg && !err && cfg->default_kind == BACKEND_FIRECRACKER && !cfg->root &&
          !cfg->jailer && !cfg->start_timeout_ms && !cfg->socket_group);
    CvError *e = NULL;
    g_autoptr(CocoonConfig) none = cocoon_config_load("/nonexistent/cocoon.conf", &e);
    CHECK(none && !e && !none->path);
    /* the installed default file is all comments: it must load and change nothing */
    g_autofree char *shipped = g_build_filename(g_getenv("COCOON_SRCDIR"), "data",
                                                "cocoon.conf", NULL);
    g_autoptr(CocoonConfig) dflt = cocoon_config_load(shipped, &e);
    CHECK(dflt && !e && dflt->default_kind == BACKEND_FIRECRACKER && !dflt->root &&
          !dflt->binaries[0] && !dflt->shutdown_timeout_ms);
}

static void
test_errors(void)
{
    static const struct {
        const char *text;
        const char *error; /* after "configuration file '<path>' " */
    } cases[] = {
        {"[hypervisors]\nfirecraker = /x\n", "line 2: unknown key 'firecraker' in [hypervisors]"},
        {"\n\n[hypervisor]\n", "line 3: unknown group [hypervisor]"},
        {"default = firecracker\n", "line 1: key 'default' outside a known group"},
        {"[hypervisors]\ndefault = qemu\n",
         "line 2: default 'qemu' is not firecracker or cloud-hypervisor"},
        {"[hypervisors]\nfirecracker = bin/firecracker\n",
         "line 2: firecracker 'bin/firecracker' is not an absolute path"},
        {"[timeouts]\nshutdown = 0\n",
         "line 2: shutdown '0' is not a number of seconds from 1 to 86400"},
        {"[timeouts]\nstart = 5s\n", "line 2: start '5s' is not a number of seconds"},
        {"[timeouts]\nstop = 100000\n", "line 2: stop '100000' is not a number of seconds"},
        {"[daemon]\nsocket-group = no-such-group-here\n",
         "line 2: socket-group 'no-such-group-here' is not a group of this host"},
        {"[paths]\nroot = /a\nroot = /b\n", "line 3: key 'root' given twice in [paths]"},
        {"[paths]\nroot\n", "line 2: expected 'key = value' or '[group]', found 'root'"},
        {"[paths]\nroot =\n", "line 2: key 'root' has no value"},
        {"[paths\n", "line 1: malformed group header '[paths'"},
        {"[paths]\n = /x\n", "line 2: a value without a key"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *path = NULL, *err = NULL;
        g_autoptr(CocoonConfig) cfg = load(cases[i].text, &path, &err);
        g_autofree char *want =
            g_strdup_printf("configuration file '%s' %s", path, cases[i].error);
        bool ok = !cfg && err && g_str_has_prefix(err, want);
        if (!ok)
            fprintf(stderr, "case %zu: want '%s…', got '%s'\n", i, want, err ? err : "success");
        CHECK(ok);
    }
    CvError *e = NULL;
    g_autofree char *sub = g_build_filename(dir, "a-directory.conf", NULL);
    g_assert(g_mkdir_with_parents(sub, 0755) == 0);
    g_autoptr(CocoonConfig) cfg = cocoon_config_load(sub, &e);
    CHECK(!cfg && e && strstr(e->message, "cannot read configuration file"));
    cv_error_free(e);
}

static void
test_default_path(void)
{
    g_setenv("COCOON_CONFIG", "/somewhere/else.conf", TRUE);
    g_autofree char *p = cocoon_config_default_path();
    CHECK(strcmp(p, "/somewhere/else.conf") == 0);
    g_unsetenv("COCOON_CONFIG");
    g_autofree char *q = cocoon_config_default_path();
    if (geteuid() == 0)
        CHECK(g_str_has_suffix(q, "/cocoon/cocoon.conf") && g_path_is_absolute(q));
}

static void
test_versions(void)
{
    CHECK(host_doctor_version_cmp("53.0.0-offline", "53.0") == 0);
    CHECK(host_doctor_version_cmp("v1.16.1", "1.16.1") == 0);
    CHECK(host_doctor_version_cmp("1.15.0", "1.16.1") < 0);
    CHECK(host_doctor_version_cmp("1.16.10", "1.16.9") > 0);
    CHECK(host_doctor_version_cmp("54", "53.9") > 0);
    CHECK(host_doctor_version_cmp("unknown", "1.0") < 0);
}

int
main(void)
{
    dir = g_dir_make_tmp("cocoon-config-XXXXXX", NULL);
    g_assert(dir);
    test_all_keys();
    test_defaults();
    test_errors();
    test_default_path();
    test_versions();
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
    g_free(dir);
    printf("%d failed\n", failures);
    return failures ? 1 : 0;
}
