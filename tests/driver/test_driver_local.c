/*
 * The local driver on a temporary root: URIs, define/redefine/undefine and their refusals,
 * lookups, list filters, autostart, domxml-to-native, host answers, durability details (no
 * temporary files, the uuid index repairs itself) and two processes changing domains at once.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "driver/config.h"
#include "driver/domain_status.h"
#include "driver/driver.h"
#include "driver/driver_remote.h"
#include "driver_test.h"
#include "testutils.h"

#define U1 "11111111-2222-3333-4444-555555555501"
#define U2 "11111111-2222-3333-4444-555555555502"
#define U3 "11111111-2222-3333-4444-555555555503"

static char *
fc_xml(const char *name, const char *uuid, unsigned int mib)
{
    return g_strdup_printf("<domain type='kvm'>\n"
                           "  <name>%s</name>\n"
                           "  <uuid>%s</uuid>\n"
                           "  <memory unit='MiB'>%u</memory>\n"
                           "  <vcpu>2</vcpu>\n"
                           "  <os>\n"
                           "    <type arch='x86_64'>hvm</type>\n"
                           "    <kernel>/boot/vmlinux</kernel>\n"
                           "    <cmdline>console=ttyS0</cmdline>\n"
                           "  </os>\n"
                           "  <devices>\n"
                           "    <emulator>/usr/bin/firecracker</emulator>\n"
                           "  </devices>\n"
                           "</domain>\n",
                           name, uuid, mib);
}

static char *
ch_xml(const char *name, const char *uuid)
{
    return g_strdup_printf("<domain type='kvm'>\n"
                           "  <name>%s</name>\n"
                           "  <uuid>%s</uuid>\n"
                           "  <memory unit='KiB'>524288</memory>\n"
                           "  <vcpu>1</vcpu>\n"
                           "  <os>\n"
                           "    <type>hvm</type>\n"
                           "    <kernel>/boot/vmlinux</kernel>\n"
                           "  </os>\n"
                           "  <devices>\n"
                           "    <emulator>/usr/bin/cloud-hypervisor</emulator>\n"
                           "  </devices>\n"
                           "</domain>\n",
                           name, uuid);
}

/* A domain without <emulator>: the configured default decides. */
static char *
bare_xml(const char *name)
{
    return g_strdup_printf("<domain type='kvm'><name>%s</name><memory>262144</memory>"
                           "<vcpu>1</vcpu><os><type>hvm</type><kernel>/boot/vmlinux</kernel>"
                           "</os></domain>",
                           name);
}

static CocoonDomain *
define(CocoonConn *conn, const char *xml, CvError **err)
{
    return conn->driver->domainDefineXMLFlags(conn, xml, 0, err);
}

static char *
file_text(const char *path)
{
    char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL))
        return NULL;
    return text;
}

static gint
str_ptr_cmp(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names in dir (without . and ..), sorted, joined by ','. */
static char *
dir_names(const char *dir)
{
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    DIR *d = opendir(dir);
    if (!d)
        return g_strdup("<none>");
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            g_ptr_array_add(names, g_strdup(de->d_name));
    }
    closedir(d);
    g_ptr_array_sort(names, str_ptr_cmp);
    g_ptr_array_add(names, NULL);
    return g_strjoinv(",", (char **)names->pdata);
}

static char *
list_names(CocoonConn *conn, unsigned int flags)
{
    CvError *err = NULL;
    CocoonDomain **doms = NULL;
    size_t n = 0;
    if (conn->driver->connectListAllDomains(conn, &doms, &n, flags, &err) < 0) {
        char *msg = g_strdup_printf("<error %s>", err->message);
        cv_error_free(err);
        return msg;
    }
    GString *s = g_string_new("");
    for (size_t i = 0; i < n; i++)
        g_string_append_printf(s, "%s%s", i ? "," : "", doms[i]->name);
    CHECK(doms[n] == NULL);
    cocoon_domain_list_free(doms);
    return g_string_free(s, FALSE);
}

static char *fake_remote_uri;

static CocoonConn *
fake_remote_open(const char *uri, unsigned int flags, CvError **err)
{
    g_free(fake_remote_uri);
    fake_remote_uri = g_strdup(uri);
    cv_error_set(err, VIR_FROM_NONE, VIR_ERR_RPC, "fake remote");
    return NULL;
}

/* In a non-root child: with no URI, a daemon socket that answers is preferred (when a remote
 * driver is registered); without an answering socket the embedded driver is used. */
static int
check_daemon_choice(const char *xdg_run, const char *embed_uri)
{
    cocoon_conn_set_remote_opener(fake_remote_open);
    CvError *err = NULL;
    CocoonConn *c = cocoon_conn_open(NULL, 0, &err);
    if (!c || strcmp(c->uri, embed_uri) != 0 || fake_remote_uri)
        return 3; /* no socket: embedded, the remote opener untouched */
    cocoon_conn_close(c);

    g_autofree char *dir = g_build_filename(xdg_run, "libvirt", NULL);
    g_autofree char *sock_path = g_build_filename(dir, "virtcocoond-sock", NULL);
    g_assert(g_mkdir_with_parents(dir, 0700) == 0);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    g_strlcpy(addr.sun_path, sock_path, sizeof(addr.sun_path));
    if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 4) < 0)
        return 4;
    c = cocoon_conn_open(NULL, 0, &err);
    bool chose_daemon = !c && err && err->code == VIR_ERR_RPC && fake_remote_uri &&
                        strcmp(fake_remote_uri, "cocoon:///session") == 0;
    cv_error_free(err);
    cocoon_conn_close(c);
    close(fd);
    unlink(sock_path);
    cocoon_conn_set_remote_opener(NULL);
    return chose_daemon ? 0 : 5;
}

/* ---- URIs -------------------------------------------------------------------------------- */

static void
test_uris(void)
{
    g_autofree char *root = test_root_new("cocoon-driver-XXXXXX");
    CvError *err = NULL;

    g_autofree char *uri = g_strdup_printf("cocoon:///embed?root=%s", root);
    CocoonConn *conn = cocoon_conn_open(uri, 0, &err);
    CHECK_OK(conn, err);
    if (conn) {
        CHECK(strcmp(conn->uri, uri) == 0);
        CHECK(strcmp(conn->driver->name, "cocoon-local") == 0);
        cocoon_conn_close(conn);
    }
    struct stat st;
    g_autofree char *run = g_build_filename(root, "run", NULL);
    g_autofree char *domains = g_build_filename(root, "domains", NULL);
    CHECK(stat(run, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700);
    CHECK(stat(domains, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700);

    /* a relative root becomes absolute in the canonical URI; a new root is created */
    g_autofree char *cwd = g_get_current_dir();
    g_assert(chdir(root) == 0);
    conn = cocoon_conn_open("cocoon:///embed?root=sub/dir", 0, &err);
    CHECK_OK(conn, err);
    if (conn) {
        g_autofree char *want = g_strdup_printf("cocoon:///embed?root=%s/sub/dir", root);
        CHECK(strcmp(conn->uri, want) == 0);
        cocoon_conn_close(conn);
    }
    g_assert(chdir(cwd) == 0);

    /* the daemon's URIs need the remote driver, which this build does not register */
    CHECK(!cocoon_conn_open("cocoon:///system", 0, &err));
    CHECK_ERR(err, VIR_ERR_NO_CONNECT, "no connection driver available for cocoon:///system");
    CHECK(!cocoon_conn_open("cocoon:///session", 0, &err));
    CHECK_ERR(err, VIR_ERR_NO_CONNECT, "no connection driver available for cocoon:///session");
    CHECK(!cocoon_conn_open("cocoon+unix:///system?socket=/tmp/x.sock", 0, &err));
    CHECK_ERR(err, VIR_ERR_NO_CONNECT,
              "no connection driver available for cocoon+unix:///system?socket=/tmp/x.sock");
    CHECK(!cocoon_conn_open("qemu:///system", 0, &err));
    CHECK_ERR(err, VIR_ERR_NO_CONNECT, "no connection driver available for qemu:///system");
    CHECK(!cocoon_conn_open("cocoon:///bogus", 0, &err));
    CHECK(err && err->code == VIR_ERR_INVALID_ARG && strstr(err->message, "cocoon:///bogus"));
    g_clear_pointer(&err, cv_error_free);
    CHECK(!cocoon_conn_open("cocoon:///embed", 0, &err));
    CHECK(err && err->code == VIR_ERR_INVALID_ARG && strstr(err->message, "root"));
    g_clear_pointer(&err, cv_error_free);

    /* no URI: $COCOON_DEFAULT_URI first */
    g_setenv("COCOON_DEFAULT_URI", uri, TRUE);
    conn = cocoon_conn_open(NULL, 0, &err);
    CHECK_OK(conn, err);
    if (conn) {
        CHECK(strcmp(conn->uri, uri) == 0);
        cocoon_conn_close(conn);
    }
    /* else (no daemon here) the embedded driver at the XDG default root; as root the
     * defaults are /var/lib/cocoon and /run/cocoon, so check the user case as nobody */
    g_unsetenv("COCOON_DEFAULT_URI");
    g_autofree char *xdg = g_build_filename(root, "xdg-data", NULL);
    g_autofree char *xdg_run = g_build_filename(root, "xdg-run", NULL);
    g_assert(g_mkdir_with_parents(xdg, 0777) == 0 && g_mkdir_with_parents(xdg_run, 0777) == 0);
    g_assert(chmod(root, 0755) == 0 && chmod(xdg, 0777) == 0 && chmod(xdg_run, 0777) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        if (geteuid() == 0 && (setgid(65534) < 0 || setuid(65534) < 0))
            _exit(2);
        g_setenv("XDG_DATA_HOME", xdg, TRUE);
        g_setenv("XDG_RUNTIME_DIR", xdg_run, TRUE);
        g_autofree char *want =
            g_strdup_printf("cocoon:///embed?root=%s/cocoon&run=%s/cocoon", xdg, xdg_run);
        CvError *cerr = NULL;
        CocoonConn *c = cocoon_conn_open(NULL, 0, &cerr);
        if (!c)
            fprintf(stderr, "default connection: %s\n", cerr->message);
        else if (strcmp(c->uri, want) != 0)
            fprintf(stderr, "default connection: got '%s', want '%s'\n", c->uri, want);
        if (!c || strcmp(c->uri, want) != 0)
            _exit(1);
        cocoon_conn_close(c);
        _exit(check_daemon_choice(xdg_run, want));
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    g_autofree char *xdg_root = g_build_filename(xdg, "cocoon", "domains", NULL);
    g_autofree char *xdg_live = g_build_filename(xdg_run, "cocoon", "domains", NULL);
    CHECK(g_file_test(xdg_root, G_FILE_TEST_IS_DIR) && g_file_test(xdg_live, G_FILE_TEST_IS_DIR));
    test_root_remove(root);
}

/* ---- define, redefine, refusals ------------------------------------------------------------ */

static void
test_define(void)
{
    g_autofree char *root = test_root_new("cocoon-driver-XXXXXX");
    CocoonConn *conn = test_root_open(root);
    const CocoonDriver *drv = conn->driver;
    CvError *err = NULL;

    g_autofree char *xml_a = fc_xml("alpha", U1, 256);
    CocoonDomain *dom = define(conn, xml_a, &err);
    CHECK_OK(dom, err);
    if (dom) {
        CHECK(strcmp(dom->name, "alpha") == 0 && dom->id == -1);
        cocoon_domain_free(dom);
    }
    /* stored canonically where DESIGN.md says, and printed back as stored */
    g_autofree char *path = g_build_filename(root, "domains", "alpha", "domain.xml", NULL);
    g_autofree char *stored = file_text(path);
    g_autofree char *dumped = test_dumpxml(conn, "alpha", 0);
    CHECK(stored && dumped && strcmp(stored, dumped) == 0);
    CHECK(dumped && strstr(dumped, "<uuid>" U1 "</uuid>"));
    CHECK(dumped && strstr(dumped, "<emulator>/usr/bin/firecracker</emulator>"));
    CHECK(dumped && strstr(dumped, "<memory unit='KiB'>262144</memory>"));
    /* no temporary file is left next to it */
    g_autofree char *dir = g_build_filename(root, "domains", "alpha", NULL);
    g_autofree char *names = dir_names(dir);
    CHECK(strcmp(names, "domain.xml") == 0);

    /* redefine with the same uuid updates */
    g_autofree char *xml_a2 = fc_xml("alpha", U1, 512);
    dom = define(conn, xml_a2, &err);
    CHECK_OK(dom, err);
    cocoon_domain_free(dom);
    g_free(dumped);
    dumped = test_dumpxml(conn, "alpha", 0);
    CHECK(dumped && strstr(dumped, "<memory unit='KiB'>524288</memory>"));
    g_free(names);
    names = dir_names(dir);
    CHECK(strcmp(names, "domain.xml") == 0);

    /* same name, other uuid: refused, old definition untouched */
    g_free(stored);
    stored = file_text(path);
    g_autofree char *xml_bad_uuid = fc_xml("alpha", U2, 128);
    CHECK(!define(conn, xml_bad_uuid, &err));
    CHECK_ERR(err, VIR_ERR_OPERATION_FAILED,
              "operation failed: domain 'alpha' is already defined with uuid " U1);
    g_autofree char *after = file_text(path);
    CHECK(after && strcmp(after, stored) == 0);

    /* new name, existing uuid: refused, nothing left behind */
    g_autofree char *xml_clash = fc_xml("beta", U1, 128);
    CHECK(!define(conn, xml_clash, &err));
    CHECK_ERR(err, VIR_ERR_OPERATION_FAILED,
              "operation failed: domain 'alpha' already exists with uuid " U1);
    g_autofree char *beta_dir = g_build_filename(root, "domains", "beta", NULL);
    CHECK(!g_file_test(beta_dir, G_FILE_TEST_EXISTS));

    /* invalid XML and unknown emulators fail and leave the old definition */
    CHECK(!define(conn, "<domain type='kvm'><name>alpha</name", &err));
    CHECK(err != NULL);
    g_clear_pointer(&err, cv_error_free);
    g_autofree char *qemu = fc_xml("alpha", U1, 64);
    char *emu = strstr(qemu, "/usr/bin/firecracker");
    g_autofree char *qemu_xml = g_strdup_printf("%.*s/usr/bin/qemu%s", (int)(emu - qemu), qemu,
                                                emu + strlen("/usr/bin/firecracker"));
    CHECK(!define(conn, qemu_xml, &err));
    CHECK_ERR(err, VIR_ERR_CONFIG_UNSUPPORTED,
              "unsupported configuration: emulator '/usr/bin/qemu' is not firecracker or "
              "cloud-hypervisor");
    g_free(after);
    after = file_text(path);
    CHECK(after && strcmp(after, stored) == 0);

    /* a backend refusal (FC has no firmware boot) is a failed define too */
    g_autofree char *efi =
        g_strdup_printf("<domain type='kvm'><name>efi</name><memory>262144</memory><vcpu>1</vcpu>"
                        "<os firmware='efi'><type>hvm</type></os><devices>"
                        "<emulator>/usr/bin/firecracker</emulator></devices></domain>");
    CHECK(!define(conn, efi, &err));
    CHECK(err && err->code == VIR_ERR_CONFIG_UNSUPPORTED);
    g_clear_pointer(&err, cv_error_free);
    g_autofree char *efi_dir = g_build_filename(root, "domains", "efi", NULL);
    CHECK(!g_file_test(efi_dir, G_FILE_TEST_EXISTS));

    /* lookups */
    unsigned char u1[DOMAIN_UUID_LEN], u3[DOMAIN_UUID_LEN];
    domain_uuid_parse(U1, u1);
    domain_uuid_parse(U3, u3);
    dom = drv->domainLookupByUUID(conn, u1, &err);
    CHECK_OK(dom, err);
    CHECK(dom && strcmp(dom->name, "alpha") == 0);
    cocoon_domain_free(dom);
    CHECK(!drv->domainLookupByUUID(conn, u3, &err));
    CHECK_ERR(err, VIR_ERR_NO_DOMAIN, "Domain not found: no domain with matching uuid '" U3 "'");
    CHECK(!drv->domainLookupByName(conn, "nope", &err));
    CHECK_ERR(err, VIR_ERR_NO_DOMAIN, "Domain not found: no domain with matching name 'nope'");
    CHECK(!drv->domainLookupByID(conn, 1, &err));
    CHECK_ERR(err, VIR_ERR_NO_DOMAIN, "Domain not found: no domain with matching id 1");

    /* state and info of a defined domain */
    dom = drv->domainLookupByName(conn, "alpha", &err);
    CHECK_OK(dom, err);
    if (dom) {
        int state = -1, reason = -1;
        CHECK(drv->domainGetState(dom, &state, &reason, 0, &err) == 0);
        CHECK(state == VIR_DOMAIN_SHUTOFF && reason == VIR_DOMAIN_SHUTOFF_UNKNOWN);
        CocoonDomainInfo info;
        CHECK(drv->domainGetInfo(dom, &info, &err) == 0);
        CHECK(info.state == VIR_DOMAIN_SHUTOFF && info.max_mem_kib == 524288 &&
              info.memory_kib == 524288 && info.nr_virt_cpu == 2 && info.cpu_time_ns == 0);
        CHECK(drv->domainIsActive(dom, &err) == 0);
        CHECK(drv->domainIsPersistent(dom, &err) == 1);
        g_autofree char *inactive = drv->domainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE, &err);
        CHECK(inactive && strcmp(inactive, after) == 0);
        CHECK(!drv->domainGetXMLDesc(dom, 1u << 20, &err));
        CHECK(err && err->code == VIR_ERR_INVALID_ARG);
        g_clear_pointer(&err, cv_error_free);
        CHECK(drv->domainCreateWithFlags); /* exercised in tests/lifecycle */
    }

    /* undefine: gone everywhere; the uuid is free again */
    CHECK(dom && drv->domainUndefineFlags(dom, 0, &err) == 0);
    CHECK(!g_file_test(dir, G_FILE_TEST_EXISTS));
    CHECK(!drv->domainLookupByName(conn, "alpha", &err));
    CHECK_ERR(err, VIR_ERR_NO_DOMAIN, "Domain not found: no domain with matching name 'alpha'");
    CHECK(!drv->domainLookupByUUID(conn, u1, &err));
    CHECK(err && err->code == VIR_ERR_NO_DOMAIN);
    g_clear_pointer(&err, cv_error_free);
    CHECK(dom && drv->domainUndefineFlags(dom, 0, &err) < 0);
    CHECK(err && err->code == VIR_ERR_NO_DOMAIN);
    g_clear_pointer(&err, cv_error_free);
    /* a stale reference does not reach a new domain of the same name */
    g_autofree char *xml_a3 = fc_xml("alpha", U3, 128);
    CocoonDomain *again = define(conn, xml_a3, &err);
    CHECK_OK(again, err);
    CHECK(dom && drv->domainGetXMLDesc(dom, 0, &err) == NULL);
    CHECK_ERR(err, VIR_ERR_NO_DOMAIN,
              "Domain not found: no domain with matching uuid '" U1 "' (alpha)");
    cocoon_domain_free(again);
    cocoon_domain_free(dom);
    dom = define(conn, xml_clash, &err); /* beta with U1: allowed now */
    CHECK_OK(dom, err);
    cocoon_domain_free(dom);
    g_autofree char *trash = g_build_filename(root, "trash", NULL);
    g_autofree char *trash_names = dir_names(trash);
    CHECK(strcmp(trash_names, "") == 0);

    /* names that cannot be directories */
    g_autofree char *dotdot = fc_xml("..", U2, 128);
    CHECK(!define(conn, dotdot, &err));
    CHECK(err != NULL);
    g_clear_pointer(&err, cv_error_free);

    cocoon_conn_close(conn);
    test_root_remove(root);
}

/* ---- default backend and configuration ----------------------------------------------------- */

static void
test_config(void)
{
    g_autofree char *root = test_root_new("cocoon-driver-XXXXXX");
    g_autofree char *conf = g_build_filename(root, "cocoon.conf", NULL);
    CvError *err = NULL;

    /* no config file: firecracker, found on PATH or /usr/bin */
    {
        CocoonConn *conn = test_root_open(root);
        g_autofree char *xml = bare_xml("plain");
        CocoonDomain *dom = define(conn, xml, &err);
        CHECK_OK(dom, err);
        cocoon_domain_free(dom);
        g_autofree char *found = g_find_program_in_path("firecracker");
        g_autofree char *want =
            g_strdup_printf("<emulator>%s</emulator>", found ? found : "/usr/bin/firecracker");
        g_autofree char *out = test_dumpxml(conn, "plain", 0);
        CHECK(out && strstr(out, want));
        cocoon_conn_close(conn);
    }
    /* the config chooses the default backend and its binary */
    g_assert(g_file_set_contents(conf,
                                 "[hypervisors]\ndefault=cloud-hypervisor\n"
                                 "cloud-hypervisor=/opt/ch/cloud-hypervisor\n",
                                 -1, NULL));
    g_setenv("COCOON_CONFIG", conf, TRUE);
    {
        CocoonConn *conn = test_root_open(root);
        g_autofree char *xml = bare_xml("chdef");
        CocoonDomain *dom = define(conn, xml, &err);
        CHECK_OK(dom, err);
        cocoon_domain_free(dom);
        g_autofree char *out = test_dumpxml(conn, "chdef", 0);
        CHECK(out && strstr(out, "<emulator>/opt/ch/cloud-hypervisor</emulator>"));
        g_autofree char *caps = conn->driver->connectGetCapabilities(conn, &err);
        CHECK(caps && strstr(caps, "<emulator>/opt/ch/cloud-hypervisor</emulator>"));
        cocoon_conn_close(conn);
    }
    /* a bad default is refused at connect time */
    g_assert(g_file_set_contents(conf, "[hypervisors]\ndefault=qemu\n", -1, NULL));
    g_autofree char *uri = g_strdup_printf("cocoon:///embed?root=%s", root);
    CHECK(!cocoon_conn_open(uri, 0, &err));
    CHECK(err && strstr(err->message, "'qemu'"));
    g_clear_pointer(&err, cv_error_free);
    g_setenv("COCOON_CONFIG", "/nonexistent/cocoon.conf", TRUE);
    test_root_remove(root);
}

/* The binary that runs a domain: env override, <emulator>, config, PATH, in this order. */
static void
test_binary_resolution(void)
{
    g_autofree char *root = test_root_new("cocoon-driver-XXXXXX");
    CvError *err = NULL;
    /* four executables, one per source */
    const char *kinds[] = {"env", "emulator", "config", "path"};
    char *bins[4];
    g_autofree char *path_dir = g_build_filename(root, "path", NULL);
    g_assert(g_mkdir_with_parents(path_dir, 0700) == 0);
    for (int i = 0; i < 4; i++) {
        bins[i] = i == 3 ? g_build_filename(path_dir, "firecracker", NULL)
                         : g_strdup_printf("%s/%s-firecracker", root, kinds[i]);
        g_assert(g_file_set_contents(bins[i], "#!/bin/sh\n", -1, NULL) &&
                 chmod(bins[i], 0755) == 0);
    }
    g_autofree char *conf = g_build_filename(root, "cocoon.conf", NULL);
    g_autofree char *text = g_strdup_printf("[hypervisors]\nfirecracker=%s\n", bins[2]);
    g_assert(g_file_set_contents(conf, text, -1, NULL));
    g_autofree char *old_path = g_strdup(g_getenv("PATH"));
    g_setenv("PATH", path_dir, TRUE);

    g_autoptr(CocoonConfig) cfg = cocoon_config_load(conf, &err);
    CHECK_OK(cfg, err);
    const CocoonBackend *fc = backend_for_emulator("/usr/bin/firecracker");
    g_assert(cfg && fc);
    g_setenv("COCOON_FIRECRACKER", bins[0], TRUE);
    g_autofree char *r0 = cocoon_config_resolve_binary(cfg, fc, bins[1], &err);
    CHECK(r0 && strcmp(r0, bins[0]) == 0);
    g_unsetenv("COCOON_FIRECRACKER");
    g_autofree char *r1 = cocoon_config_resolve_binary(cfg, fc, bins[1], &err);
    CHECK(r1 && strcmp(r1, bins[1]) == 0);
    g_autofree char *r2 = cocoon_config_resolve_binary(cfg, fc, "/nonexistent/firecracker", &err);
    CHECK(r2 && strcmp(r2, bins[2]) == 0);
    g_autoptr(CocoonConfig) bare = cocoon_config_load("/nonexistent/cocoon.conf", &err);
    g_autofree char *r3 = cocoon_config_resolve_binary(bare, fc, "/nonexistent/firecracker", &err);
    CHECK(r3 && strcmp(r3, bins[3]) == 0);
    /* the <emulator> a definition without one gets: config path, else PATH */
    CHECK(strcmp(cocoon_config_default_emulator(cfg, fc), bins[2]) == 0);
    CHECK(strcmp(cocoon_config_default_emulator(bare, fc), bins[3]) == 0);
    g_setenv("PATH", "/nonexistent", TRUE);
    g_autoptr(CocoonConfig) none = cocoon_config_load("/nonexistent/cocoon.conf", &err);
    CHECK(strcmp(cocoon_config_default_emulator(none, fc), "/usr/bin/firecracker") == 0);
    CHECK(!cocoon_config_resolve_binary(none, fc, NULL, &err));
    CHECK(err && err->sys_errno == ENOENT && strstr(err->message, "firecracker"));
    g_clear_pointer(&err, cv_error_free);
    /* a broken override is an error, not a silent fallback */
    g_setenv("COCOON_FIRECRACKER", "/nonexistent/fc", TRUE);
    CHECK(!cocoon_config_resolve_binary(cfg, fc, bins[1], &err));
    CHECK(err && strstr(err->message, "COCOON_FIRECRACKER"));
    g_clear_pointer(&err, cv_error_free);
    g_unsetenv("COCOON_FIRECRACKER");

    g_setenv("PATH", old_path, TRUE);
    for (int i = 0; i < 4; i++)
        g_free(bins[i]);
    test_root_remove(root);
}

/* ---- lists, autostart, live state -------------------------------------------------------- */

static void
test_lists(void)
{
    g_autofree char *root = test_root_new("cocoon-driver-XXXXXX");
    CocoonConn *conn = test_root_open(root);
    const CocoonDriver *drv = conn->driver;
    CvError *err = NULL;

    const char *names[] = {"charlie", "alpha", "bravo"};
    const char *uuids[] = {U3, U1, U2};
    for (int i = 0; i < 3; i++) {
        g_autofree char *xml = i == 2 ? ch_xml(names[i], uuids[i]) : fc_xml(names[i], uuids[i], 64);
        CocoonDomain *dom = define(conn, xml, &err);
        CHECK_OK(dom, err);
        cocoon_domain_free(dom);
    }

    /* autostart */
    CocoonDomain *bravo = drv->domainLookupByName(conn, "bravo", &err);
    CHECK_OK(bravo, err);
    int autostart = -1;
    CHECK(drv->domainGetAutostart(bravo, &autostart, &err) == 0 && autostart == 0);
    CHECK(drv->domainSetAutostart(bravo, 1, &err) == 0);
    CHECK(drv->domainGetAutostart(bravo, &autostart, &err) == 0 && autostart == 1);
    g_autofree char *link = g_build_filename(root, "autostart", "bravo.xml", NULL);
    g_autofree char *target = g_file_read_link(link, NULL);
    CHECK(target && strcmp(target, "../domains/bravo/domain.xml") == 0);
    g_autofree char *via_link = file_text(link); /* the link leads to the definition */
    CHECK(via_link && strstr(via_link, "<name>bravo</name>"));

    struct {
        unsigned int flags;
        const char *want;
    } cases[] = {
        {0, "alpha,bravo,charlie"},
        {VIR_CONNECT_LIST_DOMAINS_INACTIVE, "alpha,bravo,charlie"},
        {VIR_CONNECT_LIST_DOMAINS_ACTIVE, ""},
        {VIR_CONNECT_LIST_DOMAINS_PERSISTENT, "alpha,bravo,charlie"},
        {VIR_CONNECT_LIST_DOMAINS_TRANSIENT, ""},
        {VIR_CONNECT_LIST_DOMAINS_AUTOSTART, "bravo"},
        {VIR_CONNECT_LIST_DOMAINS_NO_AUTOSTART, "alpha,charlie"},
        {VIR_CONNECT_LIST_DOMAINS_AUTOSTART | VIR_CONNECT_LIST_DOMAINS_NO_AUTOSTART,
         "alpha,bravo,charlie"},
        {VIR_CONNECT_LIST_DOMAINS_SHUTOFF, "alpha,bravo,charlie"},
        {VIR_CONNECT_LIST_DOMAINS_RUNNING, ""},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *got = list_names(conn, cases[i].flags);
        if (strcmp(got, cases[i].want) != 0) {
            fprintf(stderr, "list flags 0x%x: got '%s', want '%s'\n", cases[i].flags, got,
                    cases[i].want);
            failures++;
        }
    }
    CocoonDomain **doms = NULL;
    size_t n = 0;
    CHECK(drv->connectListAllDomains(conn, &doms, &n, 1u << 30, &err) < 0);
    CHECK(err && err->code == VIR_ERR_INVALID_ARG);
    g_clear_pointer(&err, cv_error_free);

    /* A running domain as the lifecycle code will record it: listed first, found by id. */
    g_autofree char *live = g_build_filename(root, "run", "domains", "charlie", NULL);
    g_assert(g_mkdir_with_parents(live, 0700) == 0);
    DomainStatus st;
    domain_status_init(&st);
    st.state = VIR_DOMAIN_RUNNING;
    st.reason = VIR_DOMAIN_RUNNING_BOOTED;
    st.id = 7;
    st.pid = getpid();
    CHECK(domain_status_save(live, &st, &err) == 0);
    g_autofree char *active = list_names(conn, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
    CHECK(strcmp(active, "charlie") == 0);
    g_autofree char *all = list_names(conn, 0);
    CHECK(strcmp(all, "charlie,alpha,bravo") == 0);
    CocoonDomain *by_id = drv->domainLookupByID(conn, 7, &err);
    CHECK_OK(by_id, err);
    CHECK(by_id && strcmp(by_id->name, "charlie") == 0 && by_id->id == 7);
    if (by_id) {
        CHECK(drv->domainIsActive(by_id, &err) == 1);
        int state = -1, reason = -1;
        CHECK(drv->domainGetState(by_id, &state, &reason, 0, &err) == 0 &&
              state == VIR_DOMAIN_RUNNING && reason == VIR_DOMAIN_RUNNING_BOOTED);
    }
    CHECK(drv->connectNumOfDomains(conn, &err) == 1);
    g_autofree char *running = list_names(conn, VIR_CONNECT_LIST_DOMAINS_RUNNING);
    CHECK(strcmp(running, "charlie") == 0);
    /* the live definition (the lifecycle writes it at start, with the id) answers dumpxml;
     * XML_INACTIVE gives the persistent one */
    g_autofree char *persistent_xml = by_id ? drv->domainGetXMLDesc(by_id, 0, &err) : NULL;
    CHECK(persistent_xml && !strstr(persistent_xml, "id='7'"));
    g_autofree char *live_xml = persistent_xml ? g_strdup_printf("<domain type='kvm' id='7'>%s",
                                                                 strchr(persistent_xml, '\n'))
                                               : NULL;
    g_autofree char *live_file = g_build_filename(live, "domain.xml", NULL);
    g_assert(live_xml && g_file_set_contents(live_file, live_xml, -1, NULL));
    g_autofree char *dumped = by_id ? drv->domainGetXMLDesc(by_id, 0, &err) : NULL;
    CHECK(dumped && strcmp(dumped, live_xml) == 0);
    g_autofree char *inactive =
        by_id ? drv->domainGetXMLDesc(by_id, VIR_DOMAIN_XML_INACTIVE, &err) : NULL;
    CHECK(inactive && persistent_xml && strcmp(inactive, persistent_xml) == 0);

    /* undefining a running domain leaves it running as a transient one */
    CHECK(by_id && drv->domainUndefineFlags(by_id, 0, &err) == 0);
    g_autofree char *transient = list_names(conn, VIR_CONNECT_LIST_DOMAINS_TRANSIENT);
    CHECK(strcmp(transient, "charlie") == 0);
    CHECK(by_id && drv->domainIsPersistent(by_id, &err) == 0);
    g_autofree char *after_undefine = by_id ? drv->domainGetXMLDesc(by_id, 0, &err) : NULL;
    CHECK(after_undefine && strcmp(after_undefine, live_xml) == 0);
    CHECK(by_id && drv->domainSetAutostart(by_id, 1, &err) < 0);
    CHECK_ERR(err, VIR_ERR_OPERATION_INVALID,
              "Requested operation is not valid: cannot set autostart for transient domain");
    CHECK(by_id && drv->domainUndefineFlags(by_id, 0, &err) < 0);
    CHECK_ERR(err, VIR_ERR_OPERATION_INVALID,
              "Requested operation is not valid: cannot undefine transient domain");
    cocoon_domain_free(by_id);

    /* undefine drops the autostart link */
    CHECK(drv->domainUndefineFlags(bravo, 0, &err) == 0);
    CHECK(!g_file_test(link, G_FILE_TEST_EXISTS) && !g_file_test(link, G_FILE_TEST_IS_SYMLINK));
    cocoon_domain_free(bravo);
    g_autofree char *left = list_names(conn, 0);
    CHECK(strcmp(left, "charlie,alpha") == 0);
    g_autofree char *left_persistent = list_names(conn, VIR_CONNECT_LIST_DOMAINS_PERSISTENT);
    CHECK(strcmp(left_persistent, "alpha") == 0);
    cocoon_conn_close(conn);
    test_root_remove(root);
}

/* ---- the uuid index and hand-written files ------------------------------------------------- */

static void
test_index(void)
{
    g_autofree char *root = test_root_new("cocoon-driver-XXXXXX");
    CocoonConn *conn = test_root_open(root);
    const CocoonDriver *drv = conn->driver;
    CvError *err = NULL;
    unsigned char u1[DOMAIN_UUID_LEN];
    domain_uuid_parse(U1, u1);

    g_autofree char *xml = fc_xml("idx", U1, 64);
    cocoon_domain_free(define(conn, xml, &err));
    CHECK(!err);
    /* the index entry is the definition itself, linked under its uuid */
    g_autofree char *entry = g_build_filename(root, "by-uuid", U1, NULL);
    g_autofree char *path = g_build_filename(root, "domains", "idx", "domain.xml", NULL);
    struct stat st_entry, st_def;
    CHECK(stat(entry, &st_entry) == 0 && stat(path, &st_def) == 0 &&
          st_entry.st_ino == st_def.st_ino);

    /* a lost index entry: the lookup still works, and repairs it */
    g_assert(unlink(entry) == 0);
    CocoonDomain *dom = drv->domainLookupByUUID(conn, u1, &err);
    CHECK_OK(dom, err);
    cocoon_domain_free(dom);
    CHECK(stat(entry, &st_entry) == 0 && st_entry.st_ino == st_def.st_ino);

    /* a stale entry naming another domain does not block a define */
    g_autofree char *ghost = fc_xml("ghost", U1, 64);
    g_assert(unlink(entry) == 0 && g_file_set_contents(entry, ghost, -1, NULL));
    g_autofree char *xml2 = fc_xml("idx", U1, 128);
    dom = define(conn, xml2, &err);
    CHECK_OK(dom, err);
    cocoon_domain_free(dom);
    g_autofree char *indexed = file_text(entry);
    CHECK(indexed && strstr(indexed, "<name>idx</name>"));
    /* and a stale entry does not mislead a lookup */
    g_assert(unlink(entry) == 0 && g_file_set_contents(entry, ghost, -1, NULL));
    dom = drv->domainLookupByUUID(conn, u1, &err);
    CHECK_OK(dom, err);
    CHECK(dom && strcmp(dom->name, "idx") == 0);
    cocoon_domain_free(dom);

    /* a hand-written definition (not in our canonical shape) is still listed by its uuid */
    g_autofree char *hand = g_strdup_printf("<!-- edited -->\n%s", xml2);
    g_assert(g_file_set_contents(path, hand, -1, NULL));
    dom = drv->domainLookupByName(conn, "idx", &err);
    CHECK_OK(dom, err);
    CHECK(dom && memcmp(dom->uuid, u1, DOMAIN_UUID_LEN) == 0);
    cocoon_domain_free(dom);
    g_autofree char *names = list_names(conn, 0);
    CHECK(strcmp(names, "idx") == 0);

    /* an interrupted define (directory without definition) is no domain */
    g_autofree char *empty = g_build_filename(root, "domains", "half", NULL);
    g_assert(mkdir(empty, 0700) == 0);
    g_free(names);
    names = list_names(conn, 0);
    CHECK(strcmp(names, "idx") == 0);
    CHECK(!drv->domainLookupByName(conn, "half", &err));
    CHECK(err && err->code == VIR_ERR_NO_DOMAIN);
    g_clear_pointer(&err, cv_error_free);
    g_autofree char *half = fc_xml("half", U2, 64);
    dom = define(conn, half, &err);
    CHECK_OK(dom, err);
    cocoon_domain_free(dom);

    cocoon_conn_close(conn);
    test_root_remove(root);
}

/* ---- domxml-to-native and host answers ----------------------------------------------------- */

static void
test_native_and_host(void)
{
    g_autofree char *root = test_root_new("cocoon-driver-XXXXXX");
    CocoonConn *conn = test_root_open(root);
    const CocoonDriver *drv = conn->driver;
    CvError *err = NULL;

    g_autofree char *fc = fc_xml("nat", U1, 256);
    g_autofree char *json = drv->connectDomainXMLToNative(conn, "firecracker-json", fc, 0, &err);
    CHECK_OK(json, err);
    CHECK(json && strstr(json, "/boot-source") && strstr(json, "InstanceStart"));
    g_autofree char *curl = drv->connectDomainXMLToNative(conn, "firecracker-api", fc, 0, &err);
    CHECK_OK(curl, err);
    g_autofree char *run_dir = g_build_filename(root, "run", "domains", "nat", NULL);
    CHECK(curl && strstr(curl, run_dir)); /* the API socket lives in the live directory */

    g_autofree char *ch = ch_xml("natch", U2);
    g_autofree char *argv =
        drv->connectDomainXMLToNative(conn, "cloud-hypervisor-argv", ch, 0, &err);
    CHECK_OK(argv, err);
    CHECK(argv && strstr(argv, "--kernel") && strstr(argv, "/boot/vmlinux"));

    CHECK(!drv->connectDomainXMLToNative(conn, "qemu-argv", fc, 0, &err));
    CHECK_ERR(err, VIR_ERR_CONFIG_UNSUPPORTED,
              "unsupported configuration: unsupported native format 'qemu-argv'");
    CHECK(!drv->connectDomainXMLToNative(conn, "cloud-hypervisor-argv", fc, 0, &err));
    CHECK(err && err->code == VIR_ERR_CONFIG_UNSUPPORTED && strstr(err->message, "firecracker"));
    g_clear_pointer(&err, cv_error_free);
    /* nothing was defined by converting */
    g_autofree char *names = list_names(conn, 0);
    CHECK(strcmp(names, "") == 0);

    unsigned long long version = 0;
    unsigned int major = 0, minor = 0, micro = 0;
    g_assert(sscanf(COCOON_VERSION, "%u.%u.%u", &major, &minor, &micro) >= 2);
    CHECK(drv->connectGetVersion(conn, &version, &err) == 0);
    CHECK(version == major * 1000000ull + minor * 1000ull + micro);

    g_autofree char *host = drv->connectGetHostname(conn, &err);
    CHECK(host && *host && strcmp(host, g_get_host_name()) == 0);

    CocoonNodeInfo info;
    CHECK(drv->nodeGetInfo(conn, &info, &err) == 0);
    CHECK(info.cpus == (unsigned int)sysconf(_SC_NPROCESSORS_ONLN));
    CHECK(info.nodes * info.sockets * info.cores * info.threads == info.cpus);
    CHECK(info.memory_kib > 0 &&
          info.memory_kib * 1024ull <= (unsigned long long)sysconf(_SC_PHYS_PAGES) *
                                           (unsigned long long)sysconf(_SC_PAGESIZE) * 2);
    CHECK(info.model && *info.model);
    g_free(info.model);

    g_autofree char *caps = drv->connectGetCapabilities(conn, &err);
    CHECK_OK(caps, err);
    CHECK(caps && strstr(caps, "<os_type>hvm</os_type>") && strstr(caps, "<domain type='kvm'>"));
    g_autofree char *validator = g_find_program_in_path("virt-xml-validate");
    if (caps && validator) {
        g_autofree char *file = g_build_filename(root, "caps.xml", NULL);
        g_assert(g_file_set_contents(file, caps, -1, NULL));
        g_autofree char *cmd =
            g_strdup_printf("'%s' '%s' capability >/dev/null 2>&1", validator, file);
        CHECK(system(cmd) == 0);
    }
    cocoon_conn_close(conn);
    test_root_remove(root);
}

/* ---- two processes at once ----------------------------------------------------------------- */

static char *
race_uuid(int i)
{
    return g_strdup_printf("22222222-0000-0000-0000-%012d", i);
}

/* One racer: define/undefine a shared name, define own names, and try to take uuids the
 * other racer takes under another name. Exit status: 0 when every call behaved. */
static int
racer(const char *root, int me, int rounds)
{
    CocoonConn *conn = test_root_open(root);
    const CocoonDriver *drv = conn->driver;
    int bad = 0;
    for (int i = 0; i < rounds; i++) {
        CvError *err = NULL;
        /* the shared name: each define either succeeds or finds the other's uuid */
        g_autofree char *shared = fc_xml("shared", U1, 64 + me);
        CocoonDomain *dom = define(conn, shared, &err);
        if (dom) {
            if (i % 2 && drv->domainUndefineFlags(dom, 0, &err) < 0 &&
                err->code != VIR_ERR_NO_DOMAIN)
                bad++;
            cocoon_domain_free(dom);
        } else {
            bad++;
        }
        g_clear_pointer(&err, cv_error_free);

        /* the same uuid under two names at the same time: at most one may win */
        g_autofree char *uuid = race_uuid(i);
        g_autofree char *name = g_strdup_printf("clash-%d-%d", i, me);
        g_autofree char *clash = fc_xml(name, uuid, 64);
        dom = define(conn, clash, &err);
        if (!dom && (!err || err->code != VIR_ERR_OPERATION_FAILED))
            bad++;
        cocoon_domain_free(dom);
        g_clear_pointer(&err, cv_error_free);

        /* own names: never disturbed by the other process */
        g_autofree char *own = g_strdup_printf("own-%d-%d", me, i);
        g_autofree char *own_uuid = g_strdup_printf("33333333-0000-0000-%04d-%012d", me, i);
        g_autofree char *own_xml = fc_xml(own, own_uuid, 64);
        dom = define(conn, own_xml, &err);
        if (!dom)
            bad++;
        else if (i % 3 == 0 && drv->domainUndefineFlags(dom, 0, &err) < 0)
            bad++;
        cocoon_domain_free(dom);
        g_clear_pointer(&err, cv_error_free);
    }
    cocoon_conn_close(conn);
    return bad ? 1 : 0;
}

static void
test_concurrency(void)
{
    g_autofree char *root = test_root_new("cocoon-driver-XXXXXX");
    const int rounds = 60;
    pid_t pids[2];
    for (int me = 0; me < 2; me++) {
        pids[me] = fork();
        g_assert(pids[me] >= 0);
        if (pids[me] == 0)
            _exit(racer(root, me, rounds));
    }
    for (int me = 0; me < 2; me++) {
        int status = 0;
        g_assert(waitpid(pids[me], &status, 0) == pids[me]);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }

    /* afterwards: every definition is whole, uuids are unique, nothing half-done is left */
    CocoonConn *conn = test_root_open(root);
    CvError *err = NULL;
    CocoonDomain **doms = NULL;
    size_t n = 0;
    CHECK(conn->driver->connectListAllDomains(conn, &doms, &n, 0, &err) == 0);
    g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (size_t i = 0; doms && i < n; i++) {
        char us[DOMAIN_UUID_STRING_LEN];
        domain_uuid_format(doms[i]->uuid, us);
        CHECK(!g_hash_table_contains(seen, us));
        g_hash_table_add(seen, g_strdup(us));
        g_autofree char *xml = conn->driver->domainGetXMLDesc(doms[i], 0, &err);
        g_autoptr(DomainDef) def = xml ? domain_def_parse_string(xml, 0, &err) : NULL;
        CHECK(def && strcmp(def->name, doms[i]->name) == 0);
        g_clear_pointer(&err, cv_error_free);
        g_autofree char *dir = g_build_filename(root, "domains", doms[i]->name, NULL);
        g_autofree char *files = dir_names(dir);
        CHECK(strcmp(files, "domain.xml") == 0);
    }
    int clash_winners = 0;
    for (int i = 0; i < rounds; i++) {
        int winners = 0;
        for (int me = 0; me < 2; me++) {
            g_autofree char *name = g_strdup_printf("clash-%d-%d", i, me);
            for (size_t k = 0; k < n; k++)
                winners += strcmp(doms[k]->name, name) == 0;
        }
        CHECK(winners == 1);
        clash_winners += winners;
    }
    CHECK(clash_winners == rounds);
    /* own names: 2/3 of them survive in each process */
    for (int me = 0; me < 2; me++) {
        for (int i = 0; i < rounds; i++) {
            g_autofree char *name = g_strdup_printf("own-%d-%d", me, i);
            bool found = false;
            for (size_t k = 0; k < n; k++)
                found |= strcmp(doms[k]->name, name) == 0;
            CHECK(found == (i % 3 != 0));
        }
    }
    cocoon_domain_list_free(doms);
    g_autofree char *domains = g_build_filename(root, "domains", NULL);
    DIR *d = opendir(domains);
    struct dirent *de;
    int dirs = 0;
    while (d && (de = readdir(d)))
        dirs += de->d_name[0] != '.';
    if (d)
        closedir(d);
    CHECK((size_t)dirs == n); /* no empty directory left by a failed or raced define */
    g_autofree char *trash = g_build_filename(root, "trash", NULL);
    g_autofree char *trash_names = dir_names(trash);
    CHECK(strcmp(trash_names, "") == 0);
    cocoon_conn_close(conn);
    test_root_remove(root);
}

int
main(void)
{
    /* no host configuration, no default URI from the environment */
    g_setenv("COCOON_CONFIG", "/nonexistent/cocoon.conf", TRUE);
    g_unsetenv("COCOON_DEFAULT_URI");

    test_uris();
    test_define();
    test_config();
    test_binary_resolution();
    test_lists();
    test_index();
    test_native_and_host();
    test_concurrency();

    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("all driver checks passed\n");
    return 0;
}
