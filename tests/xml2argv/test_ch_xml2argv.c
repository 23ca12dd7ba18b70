/*
 * Golden tests of the Cloud Hypervisor lowering: tests/xml2argv/ch/<case>.xml is parsed,
 * validated and lowered with a fixed context (run_dir /run/cocoon/domains/<name>, no overrides).
 * A definition CH can run must give exactly <case>.args (the cloud-hypervisor-argv rendering)
 * and <case>.json (the VmConfig); a refused one must give exactly <case>.err (message + "\n").
 * COCOON_TEST_REGENERATE=1 rewrites the expected files.
 */
#include <stdio.h>
#include <string.h>

#include "driver/backend.h"
#include "driver/ch/ch_lower.h"
#include "../testutils.h"

typedef enum {
    EXPECT_OK,  /* <case>.args and <case>.json */
    EXPECT_ERR, /* <case>.err: the message of parse, validate or lower */
} Expect;

typedef struct {
    const char *name;
    Expect expect;
} TestCase;

static const TestCase cases[] = {
    {"minimal", EXPECT_OK},
    {"uefi", EXPECT_OK},
    {"initrd-cmdline", EXPECT_OK},
    {"cmdline-console-kept", EXPECT_OK},
    {"vcpu-current", EXPECT_OK},
    {"memory-units", EXPECT_OK},
    {"memory-kib", EXPECT_OK},
    {"hugepages-2m", EXPECT_OK},
    {"hugepages-1g", EXPECT_OK},
    {"virtiofs", EXPECT_OK},
    {"disks", EXPECT_OK},
    {"disk-formats", EXPECT_OK},
    {"net-ethernet", EXPECT_OK},
    {"net-bridge-multiqueue", EXPECT_OK},
    {"net-ipv6", EXPECT_OK},
    {"net-bridge-ip", EXPECT_OK},
    {"net-ethernet-peer", EXPECT_OK},
    {"rng", EXPECT_OK},
    {"balloon", EXPECT_OK},
    {"vsock", EXPECT_OK},
    {"vsock-auto", EXPECT_OK},
    {"serial-pty", EXPECT_OK},
    {"serial-file", EXPECT_OK},
    {"serial-unix", EXPECT_OK},
    {"console-virtio-pty", EXPECT_OK},
    {"console-serial-alias", EXPECT_OK},
    {"aarch64", EXPECT_OK},
    {"hostdev", EXPECT_OK},
    {"quoting", EXPECT_OK},
    {"comma-values", EXPECT_OK},
    {"full", EXPECT_OK},
    {"features-clock", EXPECT_OK},
    {"disk-cache-io", EXPECT_OK},
    {"loader-pflash", EXPECT_OK},
    {"virt-install", EXPECT_OK},
    {"err-disk-shareable-rw", EXPECT_ERR},
    {"err-disk-cache-writethrough", EXPECT_ERR},
    {"err-disk-io-threads", EXPECT_ERR},
    {"err-timer-hpet", EXPECT_ERR},
    {"err-apic-aarch64", EXPECT_ERR},
    {"err-loader-secure", EXPECT_ERR},
    {"err-loader-pflash-rw", EXPECT_ERR},

    {"err-no-payload", EXPECT_ERR},
    {"err-efi-no-loader", EXPECT_ERR},
    {"err-kernel-and-loader", EXPECT_ERR},
    {"err-initrd-no-kernel", EXPECT_ERR},
    {"err-disk-vmdk", EXPECT_ERR},
    {"err-disk-quote", EXPECT_ERR},
    {"err-fs-dir-only", EXPECT_ERR},
    {"err-fs-not-shared", EXPECT_ERR},
    {"err-net-queues", EXPECT_ERR},
    {"err-net-route", EXPECT_ERR},
    {"err-bridge-ip-ipv6", EXPECT_ERR},
    {"err-vcpus-max", EXPECT_ERR},
    {"err-hugepages-size", EXPECT_ERR},
    {"err-hugepages-multiple", EXPECT_ERR},
    {"err-memory-source-file", EXPECT_ERR},
    {"err-console-unix", EXPECT_ERR},
    {"err-two-serials", EXPECT_ERR},
    {"err-two-virtio-consoles", EXPECT_ERR},
    {"err-serial-port", EXPECT_ERR},
    {"err-arch", EXPECT_ERR},
    {"err-machine", EXPECT_ERR},
    {"err-on-crash-preserve", EXPECT_ERR},
    {"err-on-poweroff-rename", EXPECT_ERR},
    {"err-current-memory-no-balloon", EXPECT_ERR},
    {"err-balloon-stats", EXPECT_ERR},
    {"err-rng-rate", EXPECT_ERR},
    {"err-two-rngs", EXPECT_ERR},
    {"err-vsock-cid", EXPECT_ERR},
    {"err-emulator-fc", EXPECT_ERR},
    {"err-parse", EXPECT_ERR},
};

static char *
case_path(const char *name, const char *ext)
{
    return g_strdup_printf("%s/xml2argv/ch/%s.%s", test_source_dir(), name, ext);
}

static DomainDef *
case_parse(const char *name, CvError **err)
{
    g_autofree char *path = case_path(name, "xml");
    g_autofree char *xml = test_read_file(path);
    if (!xml) {
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_INTERNAL_ERROR, "cannot read '%s'", path);
        return NULL;
    }
    return domain_def_parse_string(xml, DOMAIN_DEF_PARSE_FLAGS_NONE, err);
}

/* The fixed context of the golden files: no overrides. */
static BackendLowerCtx
case_ctx(const DomainDef *def, char **ret_run_dir)
{
    *ret_run_dir = g_strdup_printf("/run/cocoon/domains/%s", def->name);
    BackendLowerCtx ctx = { .run_dir = *ret_run_dir };
    return ctx;
}

static int
run_case(const TestCase *tc)
{
    g_autoptr(CvError) err = NULL;
    g_autoptr(DomainDef) def = case_parse(tc->name, &err);
    g_autofree char *run_dir = NULL;
    g_autofree char *args = NULL;
    g_autofree char *json = NULL;

    if (def) {
        BackendLowerCtx ctx = case_ctx(def, &run_dir);
        args = ch_backend.to_native(def, "cloud-hypervisor-argv", &ctx, &err);
        if (args)
            json = ch_backend.to_native(def, "cloud-hypervisor-json", &ctx, &err);
    }

    if (tc->expect == EXPECT_ERR) {
        if (!err) {
            fprintf(stderr, "%s: expected an error, got a command line\n", tc->name);
            return -1;
        }
        /* what the parser accepts and the backend refuses is an unsupported configuration */
        if (def && (err->domain != VIR_FROM_DOMAIN || err->code != VIR_ERR_CONFIG_UNSUPPORTED)) {
            fprintf(stderr, "%s: refusal has domain %d code %d, not VIR_FROM_DOMAIN "
                    "VIR_ERR_CONFIG_UNSUPPORTED\n", tc->name, err->domain, err->code);
            return -1;
        }
        g_autofree char *path = case_path(tc->name, "err");
        g_autofree char *actual = g_strconcat(err->message, "\n", NULL);
        return test_compare_golden(path, actual);
    }

    if (err) {
        fprintf(stderr, "%s: unexpected error: %s\n", tc->name, err->message);
        return -1;
    }
    /* validate alone must agree with lowering */
    if (ch_backend.validate(def, &err) < 0) {
        fprintf(stderr, "%s: validate refused what lowering accepted: %s\n", tc->name,
                err->message);
        return -1;
    }
    g_autofree char *args_path = case_path(tc->name, "args");
    g_autofree char *json_path = case_path(tc->name, "json");
    int ret = test_compare_golden(args_path, args);
    if (test_compare_golden(json_path, json) < 0)
        ret = -1;
    return ret;
}

/* The argv vector and its text rendering agree, one "--flag value" pair per line. */
static int
check_argv_rendering(void)
{
    g_autoptr(CvError) err = NULL;
    g_autoptr(DomainDef) def = case_parse("full", &err);
    if (!def) {
        fprintf(stderr, "argv rendering: %s\n", err->message);
        return -1;
    }
    BackendLowerCtx ctx = { .run_dir = "/run/x" };
    g_auto(GStrv) argv = ch_lower_argv(def, &ctx, &err);
    g_autofree char *text = ch_backend.to_native(def, "cloud-hypervisor-argv", &ctx, &err);
    if (!argv || !text) {
        fprintf(stderr, "argv rendering: %s\n", err->message);
        return -1;
    }
    g_auto(GStrv) lines = g_strsplit(text, " \\\n", -1);
    guint nargv = g_strv_length(argv);
    if (strcmp(argv[0], "cloud-hypervisor") != 0 || nargv % 2 != 1 ||
        g_strv_length(lines) != 1 + nargv / 2) {
        fprintf(stderr, "argv rendering: %u arguments but %u lines\n", nargv,
                g_strv_length(lines));
        return -1;
    }
    for (guint i = 1; i < nargv; i += 2) {
        if (!g_str_has_prefix(argv[i], "--") || !g_str_has_prefix(lines[1 + i / 2], argv[i])) {
            fprintf(stderr, "argv rendering: line %u is '%s', argument is '%s'\n", 1 + i / 2,
                    lines[1 + i / 2], argv[i]);
            return -1;
        }
    }
    return 0;
}

/* The argv text is a shell command that gives back exactly the argv vector. */
static int
check_shell_roundtrip(const char *name)
{
    g_autoptr(CvError) err = NULL;
    g_autoptr(DomainDef) def = case_parse(name, &err);
    g_autofree char *run_dir = NULL;
    if (!def) {
        fprintf(stderr, "shell round trip: %s\n", err->message);
        return -1;
    }
    BackendLowerCtx ctx = case_ctx(def, &run_dir);
    g_auto(GStrv) argv = ch_lower_argv(def, &ctx, &err);
    g_autofree char *text = ch_backend.to_native(def, "cloud-hypervisor-argv", &ctx, &err);
    if (!argv || !text || !g_str_has_prefix(text, "cloud-hypervisor ")) {
        fprintf(stderr, "shell round trip: %s\n", err ? err->message : "bad text");
        return -1;
    }
    /* run it with printf in place of the binary: one argument per output line */
    g_autofree char *script = g_strconcat("printf '%s\\n'", text + strlen("cloud-hypervisor"),
                                          NULL);
    g_autofree char *expected = g_strjoinv("\n", argv + 1);
    g_autofree char *expected_nl = g_strconcat(expected, "\n", NULL);
    g_autofree char *out = NULL;
    g_autoptr(GError) gerr = NULL;
    gint status = 0;
    const char *sh[] = { "/bin/sh", "-c", script, NULL };
    if (!g_spawn_sync(NULL, (char **)sh, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, NULL, &status,
                      &gerr) ||
        !g_spawn_check_wait_status(status, &gerr)) {
        fprintf(stderr, "shell round trip: %s\n", gerr->message);
        return -1;
    }
    if (strcmp(out, expected_nl) != 0) {
        fprintf(stderr, "shell round trip of '%s' differs:\n%s---\n%s", name, out, expected_nl);
        return -1;
    }
    return 0;
}

static int
check_shell_roundtrips(void)
{
    if (check_shell_roundtrip("quoting") < 0 || check_shell_roundtrip("comma-values") < 0 ||
        check_shell_roundtrip("full") < 0)
        return -1;
    return 0;
}

/* The context's TAP names and disk paths win over the definition's, entry by entry. */
static int
check_ctx_overrides(void)
{
    g_autoptr(CvError) err = NULL;
    g_autoptr(DomainDef) def = case_parse("full", &err);
    if (!def) {
        fprintf(stderr, "ctx overrides: %s\n", err->message);
        return -1;
    }
    if (def->nnets != 2 || def->ndisks != 2 || !def->nets[1]->target_dev) {
        fprintf(stderr, "ctx overrides: case 'full' needs two disks and two interfaces, the second with a target dev\n");
        return -1;
    }
    const char *taps[] = { "cvtap7", NULL };
    const char *disks[] = { NULL, "/run/x/overlay-vdb.qcow2" };
    BackendLowerCtx ctx = { .run_dir = "/run/x", .tap_names = taps, .disk_paths = disks };
    g_auto(GStrv) argv = ch_lower_argv(def, &ctx, &err);
    if (!argv) {
        fprintf(stderr, "ctx overrides: %s\n", err->message);
        return -1;
    }
    g_autofree char *joined = g_strjoinv("\n", argv);
    g_autofree char *tap0 = g_strdup_printf("tap=%s,", taps[0]);
    g_autofree char *tap1 = g_strdup_printf("tap=%s,", def->nets[1]->target_dev);
    g_autofree char *disk0 = g_strdup_printf("path=%s,", def->disks[0]->source);
    g_autofree char *disk1 = g_strdup_printf("path=%s,", disks[1]);
    g_autofree char *sock = g_strdup("path=/run/x/ch-api.sock");
    if (!strstr(joined, tap0) || !strstr(joined, tap1) || !strstr(joined, disk0) ||
        !strstr(joined, disk1) || !strstr(joined, sock)) {
        fprintf(stderr, "ctx overrides: not applied:\n%s\n", joined);
        return -1;
    }

    /* A host path with a double quote cannot go through CH's key=value syntax. */
    const char *bad[] = { "/run/x/a\"b", NULL };
    BackendLowerCtx bad_ctx = { .run_dir = "/run/x", .disk_paths = bad };
    g_auto(GStrv) none = ch_lower_argv(def, &bad_ctx, &err);
    if (none || !err || err->code != VIR_ERR_CONFIG_UNSUPPORTED || !strstr(err->message, bad[0])) {
        fprintf(stderr, "ctx overrides: a double quote in a disk path was not refused\n");
        return -1;
    }
    return 0;
}

static int
check_backend_table(void)
{
    g_autofree char *sock = ch_api_socket_path("/run/cocoon/domains/a");
    if (strcmp(sock, "/run/cocoon/domains/a/ch-api.sock") != 0) {
        fprintf(stderr, "ch_api_socket_path: '%s'\n", sock);
        return -1;
    }
    if (ch_backend.kind != BACKEND_CLOUD_HYPERVISOR ||
        strcmp(ch_backend.name, "cloud-hypervisor") != 0 ||
        strcmp(ch_backend.env_override, "COCOON_CLOUD_HYPERVISOR") != 0 ||
        backend_for_native_format("cloud-hypervisor-argv") != &ch_backend ||
        backend_for_native_format("cloud-hypervisor-json") != &ch_backend ||
        backend_for_emulator("/usr/bin/cloud-hypervisor") != &ch_backend) {
        fprintf(stderr, "ch_backend table is wrong\n");
        return -1;
    }

    g_autoptr(CvError) err = NULL;
    g_autoptr(DomainDef) def = case_parse("minimal", &err);
    BackendLowerCtx ctx = { .run_dir = "/run/x" };
    g_autofree char *out = def ? ch_backend.to_native(def, "firecracker-json", &ctx, &err) : NULL;
    if (out || !err || err->code != VIR_ERR_INVALID_ARG) {
        fprintf(stderr, "to_native accepted a format that is not its own\n");
        return -1;
    }
    return 0;
}

int
main(void)
{
    int failed = 0;
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        int r = run_case(&cases[i]);
        printf("%s %zu - %s\n", r == 0 ? "ok" : "not ok", i + 1, cases[i].name);
        failed += r != 0;
    }
    struct {
        const char *name;
        int (*fn)(void);
    } checks[] = {
        {"argv rendering", check_argv_rendering},
        {"shell round trip", check_shell_roundtrips},
        {"ctx overrides", check_ctx_overrides},
        {"backend table", check_backend_table},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(checks); i++) {
        int r = checks[i].fn();
        printf("%s %zu - %s\n", r == 0 ? "ok" : "not ok", G_N_ELEMENTS(cases) + i + 1,
               checks[i].name);
        failed += r != 0;
    }
    printf("1..%zu\n", G_N_ELEMENTS(cases) + G_N_ELEMENTS(checks));
    return failed ? 1 : 0;
}
