/*
 * Golden tests of the Firecracker lowering: tests/xml2argv/fc/<case>.xml is parsed, validated and
 * lowered with a fixed context; the call plan must equal <case>.json (or, for a script case, the
 * curl script must equal <case>.sh), and a refused definition must give exactly <case>.err.
 * COCOON_TEST_REGENERATE=1 rewrites the expected files.
 */
#include <stdio.h>
#include <string.h>

#include "../testutils.h"
#include "driver/backend.h"
#include "driver/fc/fc_lower.h"
#include "driver/fc/fc_paths.h"

typedef enum {
    EXPECT_JSON, /* <case>.json: fc_call_plan_to_json */
    EXPECT_SH,   /* <case>.sh: the curl script of domxml-to-native 'firecracker-api' */
    EXPECT_ERR,  /* <case>.err: the error message of parse, validate or lower */
} Expect;

typedef struct {
    const char *name;
    Expect expect;
} TestCase;

static const TestCase cases[] = {
    {"minimal", EXPECT_JSON},
    {"initrd-cmdline", EXPECT_JSON},
    {"cmdline-root", EXPECT_JSON},
    {"cmdline-keys-kept", EXPECT_JSON},
    {"disks", EXPECT_JSON},
    {"disks-unordered", EXPECT_JSON},
    {"net-ethernet", EXPECT_JSON},
    {"net-bridge", EXPECT_JSON},
    {"net-bridge-ip", EXPECT_JSON},
    {"net-ethernet-peer", EXPECT_JSON},
    {"cmdline-ip-kept", EXPECT_JSON},
    {"balloon", EXPECT_JSON},
    {"rng", EXPECT_JSON},
    {"vsock", EXPECT_JSON},
    {"vsock-auto", EXPECT_JSON},
    {"serial-pty", EXPECT_JSON},
    {"serial-file", EXPECT_JSON},
    {"hugepages", EXPECT_JSON},
    {"full", EXPECT_JSON},
    {"features-clock", EXPECT_JSON},
    {"disk-cache-io", EXPECT_JSON},
    {"virt-install", EXPECT_JSON},
    {"err-disk-shareable-rw", EXPECT_ERR},
    {"err-disk-cache-writethrough", EXPECT_ERR},
    {"err-disk-io-native", EXPECT_ERR},
    {"err-timer-hpet", EXPECT_ERR},
    {"err-acpi-aarch64", EXPECT_ERR},
    {"full", EXPECT_SH},

    {"err-efi", EXPECT_ERR},
    {"err-loader", EXPECT_ERR},
    {"err-no-kernel", EXPECT_ERR},
    {"err-hostdev", EXPECT_ERR},
    {"err-filesystem", EXPECT_ERR},
    {"err-net-queues", EXPECT_ERR},
    {"err-disk-qcow2", EXPECT_ERR},
    {"err-disk-serial", EXPECT_ERR},
    {"err-disk-gap", EXPECT_ERR},
    {"err-disk-not-vd", EXPECT_ERR},
    {"err-console-virtio", EXPECT_ERR},
    {"err-serial-unix", EXPECT_ERR},
    {"err-console-unix", EXPECT_ERR},
    {"err-console-differs", EXPECT_ERR},
    {"err-two-serials", EXPECT_ERR},
    {"err-vcpus-max", EXPECT_ERR},
    {"err-vcpus-current", EXPECT_ERR},
    {"err-memory-mib", EXPECT_ERR},
    {"err-current-memory-no-balloon", EXPECT_ERR},
    {"err-hugepages-1g", EXPECT_ERR},
    {"err-memory-shared", EXPECT_ERR},
    {"err-arch", EXPECT_ERR},
    {"err-on-crash-preserve", EXPECT_ERR},
    {"err-on-reboot-rename", EXPECT_ERR},
    {"err-on-crash-coredump", EXPECT_ERR},
    {"err-rng-egd", EXPECT_ERR},
    {"err-two-rngs", EXPECT_ERR},
    {"err-bridge-route", EXPECT_ERR},
    {"err-emulator-ch", EXPECT_ERR},
    {"err-parse", EXPECT_ERR},
};

static bool
id_is_valid(const char *id)
{
    if (!*id)
        return false;
    for (const char *p = id; *p; p++) {
        if (!g_ascii_isalnum(*p) && *p != '_')
            return false;
    }
    return true;
}

/* FC's own rules for resource ids: only alphanumerics and '_', and the id in the path must be
 * the id in the body. A golden file could pin a wrong id; this catches it whatever the file. */
static int
check_plan_ids(const char *name, const FcCallPlan *plan)
{
    static const struct {
        const char *prefix;
        const char *field;
    } resources[] = {{"/drives/", "drive_id"}, {"/network-interfaces/", "iface_id"}};

    for (size_t i = 0; i < plan->ncalls; i++) {
        const FcCall *call = &plan->calls[i];
        for (size_t r = 0; r < G_N_ELEMENTS(resources); r++) {
            if (!g_str_has_prefix(call->path, resources[r].prefix))
                continue;
            const char *id = call->path + strlen(resources[r].prefix);
            json_object *field = NULL;
            if (!id_is_valid(id) || !call->body ||
                !json_object_object_get_ex(call->body, resources[r].field, &field) ||
                strcmp(json_object_get_string(field), id) != 0) {
                fprintf(stderr, "%s: bad resource id in %s\n", name, call->path);
                return -1;
            }
        }
    }
    if (plan->ncalls == 0 || strcmp(plan->calls[plan->ncalls - 1].path, "/actions") != 0) {
        fprintf(stderr, "%s: the plan does not end with PUT /actions\n", name);
        return -1;
    }
    return 0;
}

/* The output of a definition for one case, or NULL with *err set. */
static char *
lower_case(const TestCase *tc, const DomainDef *def, CvError **err)
{
    g_autofree char *run_dir = g_strdup_printf("/run/cocoon/domains/%s", def->name);
    BackendLowerCtx ctx = {.run_dir = run_dir};

    if (tc->expect == EXPECT_SH)
        return fc_backend.to_native(def, "firecracker-api", &ctx, err);

    if (fc_backend.validate(def, err) < 0)
        return NULL;
    g_autoptr(FcCallPlan) plan = fc_lower(def, &ctx, err);
    if (!plan)
        return NULL;
    g_autofree char *out = fc_call_plan_to_json(plan);
    if (check_plan_ids(tc->name, plan) < 0)
        g_clear_pointer(&out, g_free);

    /* domxml-to-native must print exactly the plan the driver would run. */
    g_autofree char *native = fc_backend.to_native(def, "firecracker-json", &ctx, err);
    if (!native)
        return NULL;
    if (out && strcmp(native, out) != 0) {
        fprintf(stderr, "%s: to_native differs from fc_call_plan_to_json\n", tc->name);
        g_clear_pointer(&out, g_free);
    }
    if (!out)
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_INTERNAL_ERROR, "invalid plan");
    return g_steal_pointer(&out);
}

/* The output of one case, or NULL with *ret_error set to the error text + "\n". */
static char *
run_case(const TestCase *tc, const char *xml, char **ret_error)
{
    g_autoptr(CvError) err = NULL;
    g_autoptr(DomainDef) def = domain_def_parse_string(xml, 0, &err);
    char *out = def ? lower_case(tc, def, &err) : NULL;
    if (out)
        return out;

    *ret_error = g_strdup_printf("%s\n", err ? err->message : "(no error message)");
    /* Refusals of this backend carry libvirt's code for them, so clients can tell them apart. */
    if (err && g_str_has_prefix(err->message, "unsupported configuration: ") &&
        (err->code != VIR_ERR_CONFIG_UNSUPPORTED || err->domain != VIR_FROM_DOMAIN)) {
        fprintf(stderr, "%s: wrong error code %d or domain %d\n", tc->name, err->code, err->domain);
        g_free(*ret_error);
        *ret_error = g_strdup("(wrong error code)\n");
    }
    return NULL;
}

static int
test_one(const TestCase *tc)
{
    static const char *const exts[] = {"json", "sh", "err"};
    g_autofree char *dir = g_build_filename(test_source_dir(), "xml2argv", "fc", NULL);
    g_autofree char *xml_path = g_strdup_printf("%s/%s.xml", dir, tc->name);
    g_autofree char *expected_path = g_strdup_printf("%s/%s.%s", dir, tc->name, exts[tc->expect]);
    g_autofree char *xml = test_read_file(xml_path);
    if (!xml)
        return -1;

    g_autofree char *error = NULL;
    g_autofree char *out = run_case(tc, xml, &error);
    if (tc->expect == EXPECT_ERR) {
        if (out) {
            fprintf(stderr, "%s: expected an error, got a plan\n", tc->name);
            return -1;
        }
        return test_compare_golden(expected_path, error);
    }
    if (!out) {
        fprintf(stderr, "%s: unexpected error: %s", tc->name, error);
        return -1;
    }
    return test_compare_golden(expected_path, out);
}

/* The body of the first call to path in plan, or NULL. */
static json_object *
plan_body(const FcCallPlan *plan, const char *path)
{
    for (size_t i = 0; i < plan->ncalls; i++) {
        if (strcmp(plan->calls[i].path, path) == 0)
            return plan->calls[i].body;
    }
    return NULL;
}

static bool
body_has(json_object *body, const char *key, const char *value)
{
    json_object *field = NULL;
    return body && json_object_object_get_ex(body, key, &field) &&
           strcmp(json_object_get_string(field), value) == 0;
}

/* The host-dependent context (extracted kernel, overlays, TAPs) overrides the XML's paths; the
 * golden files use no overrides, so this checks them. Disk and TAP overrides are indexed in
 * XML order, not guest order: disks-unordered lists vdb first. */
static int
test_ctx_overrides(void)
{
    g_autofree char *xml_path =
        g_build_filename(test_source_dir(), "xml2argv", "fc", "disks-unordered.xml", NULL);
    g_autofree char *xml = test_read_file(xml_path);
    g_autoptr(CvError) err = NULL;
    g_autoptr(DomainDef) def = xml ? domain_def_parse_string(xml, 0, &err) : NULL;
    if (!def) {
        fprintf(stderr, "ctx overrides: %s\n", err ? err->message : "no XML");
        return -1;
    }
    const char *const disk_paths[] = {"/run/x/overlay-vdb.raw", NULL};
    BackendLowerCtx ctx = {
        .run_dir = "/run/x", .disk_paths = disk_paths, .kernel_path = "/run/x/vmlinux"};
    g_autoptr(FcCallPlan) plan = fc_lower(def, &ctx, &err);
    if (!plan) {
        fprintf(stderr, "ctx overrides: %s\n", err->message);
        return -1;
    }
    if (!body_has(plan_body(plan, "/boot-source"), "kernel_image_path", "/run/x/vmlinux") ||
        !body_has(plan_body(plan, "/drives/vdb"), "path_on_host", "/run/x/overlay-vdb.raw") ||
        !body_has(plan_body(plan, "/drives/vda"), "path_on_host", "/srv/images/root.raw")) {
        fprintf(stderr, "ctx overrides: kernel or disk path not taken from the context\n");
        return -1;
    }

    g_autofree char *net_path =
        g_build_filename(test_source_dir(), "xml2argv", "fc", "net-bridge.xml", NULL);
    g_autofree char *net_xml = test_read_file(net_path);
    g_autoptr(DomainDef) net_def = net_xml ? domain_def_parse_string(net_xml, 0, &err) : NULL;
    const char *const taps[] = {"cocoontap7", NULL};
    BackendLowerCtx net_ctx = {.run_dir = "/run/x", .tap_names = taps};
    g_autoptr(FcCallPlan) net_plan = net_def ? fc_lower(net_def, &net_ctx, &err) : NULL;
    if (!net_plan ||
        !body_has(plan_body(net_plan, "/network-interfaces/net0"), "host_dev_name", "cocoontap7") ||
        !body_has(plan_body(net_plan, "/network-interfaces/net1"), "host_dev_name", "fcbr1tap")) {
        fprintf(stderr, "ctx overrides: TAP name not taken from the context\n");
        return -1;
    }
    return 0;
}

/* Properties no golden file can express. */
static int
test_units(void)
{
    int ret = test_ctx_overrides();
    g_autofree char *sock = fc_api_socket_path("/run/cocoon/domains/a");
    if (strcmp(sock, "/run/cocoon/domains/a/fc-api.sock") != 0) {
        fprintf(stderr, "fc_api_socket_path: %s\n", sock);
        ret = -1;
    }
    if (backend_for_native_format("firecracker-json") != &fc_backend ||
        backend_for_native_format("firecracker-api") != &fc_backend ||
        strcmp(fc_backend.name, "firecracker") != 0 ||
        strcmp(fc_backend.env_override, "COCOON_FIRECRACKER") != 0) {
        fprintf(stderr, "fc_backend table is not wired\n");
        ret = -1;
    }

    /* An unknown native format is refused, not rendered as something else. */
    CvError *err = NULL;
    DomainDef def = {0};
    BackendLowerCtx ctx = {.run_dir = "/run/cocoon/domains/a"};
    char *out = fc_backend.to_native(&def, "qemu-argv", &ctx, &err);
    if (out || !err || err->code != VIR_ERR_INVALID_ARG) {
        fprintf(stderr, "to_native accepted format 'qemu-argv'\n");
        ret = -1;
    }
    g_free(out);
    cv_error_free(err);
    return ret;
}

int
main(void)
{
    int failed = 0;
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        int rc = test_one(&cases[i]);
        printf("%s %s (%s)\n", rc == 0 ? "ok  " : "FAIL", cases[i].name,
               cases[i].expect == EXPECT_SH    ? "sh"
               : cases[i].expect == EXPECT_ERR ? "err"
                                               : "json");
        if (rc < 0)
            failed++;
    }
    if (test_units() < 0)
        failed++;
    printf("%zu cases, %d failed\n", G_N_ELEMENTS(cases), failed);
    return failed ? 1 : 0;
}
