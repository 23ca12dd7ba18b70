/*
 * Domain XML parser/formatter tests.
 *
 * Golden cases: tests/xml/data/<case>.xml → <case>.out.xml (the canonical output; its own
 * format(parse()) must give it back unchanged) or <case>.err (the exact error message).
 * COCOON_TEST_REGENERATE=1 rewrites the expected files. The remaining tests check what cannot
 * be a golden file: random uuids, generated MACs, units, the size limit, copy and free.
 */
#include <glib.h>
#include <libvirt/virterror.h>
#include <string.h>

#include "../testutils.h"
#include "xml/domain_def.h"

typedef struct {
    const char *name;
    int code; /* 0: parses; otherwise the expected virErrorNumber */
} XmlCase;

static const XmlCase cases[] = {
    /* accepted: one per feature, then everything together */
    {"minimal", 0},
    {"generic-features", 0},
    {"generic-disk-driver", 0},
    {"generic-loader-pflash", 0},
    {"bad-clock-localtime", VIR_ERR_CONFIG_UNSUPPORTED},
    {"bad-feature-hyperv", VIR_ERR_CONFIG_UNSUPPORTED},
    {"bad-disk-cache", VIR_ERR_XML_ERROR},
    {"kernel-boot", 0},
    {"efi-loader", 0},
    {"lifecycle", 0},
    {"id-ignored", 0},
    {"escaping", 0},
    {"metadata", 0},
    {"memory-bytes", 0},
    {"memory-decimal-units", 0},
    {"memory-binary-units", 0},
    {"current-memory-clamped", 0},
    {"memory-backing", 0},
    {"hugepages-default", 0},
    {"vcpu-current", 0},
    {"disk-file", 0},
    {"disk-block", 0},
    {"disk-default-bus", 0},
    {"net-ethernet", 0},
    {"net-bridge-ip", 0},
    {"net-bridge-generated-mac", 0},
    {"serial-pty", 0},
    {"serial-file", 0},
    {"serial-unix-virtio-console", 0},
    {"console-serial-only", 0},
    {"console-virtio", 0},
    {"rng", 0},
    {"rng-default-backend", 0},
    {"memballoon", 0},
    {"memballoon-none", 0},
    {"vsock-auto", 0},
    {"vsock-address", 0},
    {"filesystem-socket", 0},
    {"filesystem-dir", 0},
    {"hostdev", 0},
    {"full", 0},
    /* refused: unknown elements and attributes */
    {"unknown-element-devices", VIR_ERR_CONFIG_UNSUPPORTED},
    {"unknown-element-domain", VIR_ERR_CONFIG_UNSUPPORTED},
    {"unknown-element-namespaced", VIR_ERR_CONFIG_UNSUPPORTED},
    {"xinclude", VIR_ERR_CONFIG_UNSUPPORTED},
    {"unknown-attr-disk-driver", VIR_ERR_CONFIG_UNSUPPORTED},
    {"unknown-attr-disk", VIR_ERR_CONFIG_UNSUPPORTED},
    /* refused: values Cocoon does not honour */
    {"bad-domain-type", VIR_ERR_CONFIG_UNSUPPORTED},
    {"bad-disk-bus", VIR_ERR_CONFIG_UNSUPPORTED},
    {"bad-disk-device", VIR_ERR_CONFIG_UNSUPPORTED},
    {"bad-net-type", VIR_ERR_CONFIG_UNSUPPORTED},
    {"bad-serial-type", VIR_ERR_CONFIG_UNSUPPORTED},
    {"bad-serial-unix-connect", VIR_ERR_CONFIG_UNSUPPORTED},
    {"bad-hostdev-type", VIR_ERR_CONFIG_UNSUPPORTED},
    {"bad-filesystem-9p", VIR_ERR_CONFIG_UNSUPPORTED},
    {"bad-os-type", VIR_ERR_CONFIG_UNSUPPORTED},
    {"bad-os-arch", VIR_ERR_CONFIG_UNSUPPORTED},
    /* refused: missing pieces */
    {"missing-name", VIR_ERR_XML_ERROR},
    {"missing-memory", VIR_ERR_XML_ERROR},
    {"missing-os-type", VIR_ERR_XML_ERROR},
    {"missing-disk-source", VIR_ERR_XML_ERROR},
    {"missing-disk-target", VIR_ERR_XML_ERROR},
    {"duplicate-name", VIR_ERR_XML_ERROR},
    /* refused: bad values */
    {"bad-uuid", VIR_ERR_XML_ERROR},
    {"bad-mac", VIR_ERR_XML_ERROR},
    {"multicast-mac", VIR_ERR_XML_ERROR},
    {"bad-memory", VIR_ERR_XML_ERROR},
    {"bad-memory-unit", VIR_ERR_XML_ERROR},
    {"bad-vcpu-current", VIR_ERR_XML_ERROR},
    {"bad-hostdev-slot", VIR_ERR_XML_ERROR},
    {"bad-ip-prefix", VIR_ERR_XML_ERROR},
    {"bad-ip-peer-family", VIR_ERR_XML_ERROR},
    {"duplicate-disk-target", VIR_ERR_XML_ERROR},
    {"bad-disk-path-relative", VIR_ERR_XML_ERROR},
    {"bad-disk-serial", VIR_ERR_XML_ERROR},
    {"bad-metadata-no-namespace", VIR_ERR_XML_ERROR},
    /* refused: documents */
    {"malformed", VIR_ERR_XML_DETAIL},
    {"not-domain", VIR_ERR_XML_ERROR},
    {"doctype-entities", VIR_ERR_XML_ERROR},
    {"doctype-external", VIR_ERR_XML_ERROR},
};

static char *
data_path(const char *name, const char *suffix)
{
    return g_strdup_printf("%s/xml/data/%s%s", test_source_dir(), name, suffix);
}

static void
test_case(gconstpointer data)
{
    const XmlCase *tc = data;
    g_autofree char *in_path = data_path(tc->name, ".xml");
    g_autofree char *xml = test_read_file(in_path);
    g_autoptr(CvError) err = NULL;
    g_assert_nonnull(xml);

    g_autoptr(DomainDef) def = domain_def_parse_string(xml, 0, &err);
    if (tc->code) {
        if (def)
            g_error("%s: parsed, but an error was expected", tc->name);
        g_assert_nonnull(err);
        g_autofree char *expected_path = data_path(tc->name, ".err");
        g_autofree char *actual = g_strconcat(err->message, "\n", NULL);
        g_assert_cmpint(test_compare_golden(expected_path, actual), ==, 0);
        g_assert_cmpint(err->code, ==, tc->code);
        g_assert_cmpint(err->domain, ==, VIR_FROM_DOMAIN);
        return;
    }
    if (!def)
        g_error("%s: %s", tc->name, err->message);
    g_assert_null(err);

    g_autofree char *out = domain_def_format(def, -1);
    g_autofree char *out_path = data_path(tc->name, ".out.xml");
    g_assert_cmpint(test_compare_golden(out_path, out), ==, 0);

    /* the canonical form is a fixed point: read the golden file itself back */
    g_autofree char *golden = test_read_file(out_path);
    g_assert_nonnull(golden);
    g_autoptr(DomainDef) again = domain_def_parse_string(golden, 0, &err);
    if (!again)
        g_error("%s.out.xml: %s", tc->name, err->message);
    g_autofree char *out2 = domain_def_format(again, -1);
    g_assert_cmpstr(out2, ==, golden);
}

/* ---- generated values ---------------------------------------------------------------- */

static const char no_uuid_xml[] =
    "<domain type='kvm'><name>gen</name><memory>1024</memory><os><type>hvm</type></os>"
    "<devices><interface type='ethernet'/><interface type='ethernet'/></devices></domain>";

static const char with_uuid_xml[] =
    "<domain type='kvm'><name>gen</name><uuid>%s</uuid><memory>1024</memory>"
    "<os><type>hvm</type></os><devices><interface type='ethernet'/>"
    "<interface type='ethernet'/></devices></domain>";

static void
assert_generated_mac(const char *mac)
{
    g_assert_nonnull(mac);
    g_assert_true(g_regex_match_simple("^52:54:00(:[0-9a-f]{2}){3}$", mac, 0, 0));
}

static void
test_generated_uuid(void)
{
    g_autoptr(CvError) err = NULL;
    g_autoptr(DomainDef) a = domain_def_parse_string(no_uuid_xml, 0, &err);
    g_autoptr(DomainDef) b = domain_def_parse_string(no_uuid_xml, 0, &err);
    g_assert_nonnull(a);
    g_assert_nonnull(b);

    char ua[DOMAIN_UUID_STRING_LEN], ub[DOMAIN_UUID_STRING_LEN];
    domain_uuid_format(a->uuid, ua);
    domain_uuid_format(b->uuid, ub);
    g_assert_true(g_uuid_string_is_valid(ua));
    g_assert_cmpstr(ua, !=, ub);

    /* the uuid is printed, and reading the output back keeps it and the MACs */
    g_autofree char *out = domain_def_format(a, -1);
    g_autofree char *uuid_line = g_strdup_printf("  <uuid>%s</uuid>\n", ua);
    g_assert_nonnull(strstr(out, uuid_line));
    g_autoptr(DomainDef) back = domain_def_parse_string(out, 0, &err);
    g_assert_nonnull(back);
    g_assert_cmpmem(back->uuid, DOMAIN_UUID_LEN, a->uuid, DOMAIN_UUID_LEN);
    g_autofree char *out2 = domain_def_format(back, -1);
    g_assert_cmpstr(out, ==, out2);
}

static void
test_generated_mac(void)
{
    g_autoptr(CvError) err = NULL;
    g_autofree char *x1 = g_strdup_printf(with_uuid_xml, "c7a5fdbd-edaf-9455-926a-d65c16db1809");
    g_autofree char *x2 = g_strdup_printf(with_uuid_xml, "c7a5fdbd-edaf-9455-926a-d65c16db1800");
    g_autoptr(DomainDef) a = domain_def_parse_string(x1, 0, &err);
    g_autoptr(DomainDef) b = domain_def_parse_string(x1, 0, &err);
    g_autoptr(DomainDef) c = domain_def_parse_string(x2, 0, &err);
    g_assert_nonnull(a);
    g_assert_nonnull(b);
    g_assert_nonnull(c);
    g_assert_cmpuint(a->nnets, ==, 2);
    for (size_t i = 0; i < 2; i++) {
        assert_generated_mac(a->nets[i]->mac);
        /* same uuid and index: same MAC */
        g_assert_cmpstr(a->nets[i]->mac, ==, b->nets[i]->mac);
        /* another uuid: another MAC */
        g_assert_cmpstr(a->nets[i]->mac, !=, c->nets[i]->mac);
    }
    /* two interfaces of one domain do not share a MAC */
    g_assert_cmpstr(a->nets[0]->mac, !=, a->nets[1]->mac);

    /* random uuid: still the 52:54:00 prefix */
    g_autoptr(DomainDef) r = domain_def_parse_string(no_uuid_xml, 0, &err);
    g_assert_nonnull(r);
    assert_generated_mac(r->nets[0]->mac);
}

static void
test_no_generate(void)
{
    g_autoptr(CvError) err = NULL;
    g_autoptr(DomainDef) def =
        domain_def_parse_string(no_uuid_xml, DOMAIN_DEF_PARSE_NO_GENERATE, &err);
    g_assert_nonnull(def);
    static const unsigned char zero[DOMAIN_UUID_LEN] = {0};
    g_assert_cmpmem(def->uuid, DOMAIN_UUID_LEN, zero, DOMAIN_UUID_LEN);
    g_assert_null(def->nets[0]->mac);
    g_autofree char *out = domain_def_format(def, -1);
    g_assert_null(strstr(out, "<uuid>"));
    g_assert_null(strstr(out, "<mac "));

    /* a copy keeps them empty */
    g_autoptr(DomainDef) copy = domain_def_copy(def, &err);
    g_assert_nonnull(copy);
    g_assert_null(copy->nets[0]->mac);
    g_assert_cmpmem(copy->uuid, DOMAIN_UUID_LEN, zero, DOMAIN_UUID_LEN);
}

/* ---- units --------------------------------------------------------------------------- */

static void
test_memory_units(void)
{
    static const struct {
        const char *value;
        const char *unit;
        unsigned long long kib;
    } units[] = {
        {"4096", NULL, 4096ULL},
        {"2048", "b", 2ULL},
        {"1", "b", 1ULL}, /* rounded up */
        {"1025", "bytes", 2ULL},
        {"1", "KB", 1ULL}, /* 1000 bytes */
        {"2048", "KB", 2000ULL},
        {"3", "k", 3ULL},
        {"3", "KiB", 3ULL},
        {"1", "MB", 977ULL}, /* 1000000 / 1024 = 976.56 */
        {"2", "M", 2048ULL},
        {"2", "MiB", 2048ULL},
        {"1", "GB", 976563ULL}, /* 10^9 / 1024 = 976562.5 */
        {"1", "G", 1048576ULL},
        {"1", "GiB", 1048576ULL},
        {"1", "TB", 976562500ULL},
        {"1", "T", 1073741824ULL},
        {"1", "TiB", 1073741824ULL},
        {"1", "PB", 976562500000ULL},
        {"1", "P", 1099511627776ULL},
        {"1", "PiB", 1099511627776ULL},
        {"1", "EB", 976562500000000ULL},
        {"1", "E", 1125899906842624ULL},
        {"1", "EiB", 1125899906842624ULL},
        {"2", "gib", 2097152ULL}, /* case does not matter, as in libvirt */
    };
    for (size_t i = 0; i < G_N_ELEMENTS(units); i++) {
        g_autoptr(CvError) err = NULL;
        g_autofree char *unit_attr =
            units[i].unit ? g_strdup_printf(" unit='%s'", units[i].unit) : g_strdup("");
        g_autofree char *xml =
            g_strdup_printf("<domain type='kvm'><name>u</name><memory%s>%s</memory>"
                            "<currentMemory%s>%s</currentMemory><os><type>hvm</type></os></domain>",
                            unit_attr, units[i].value, unit_attr, units[i].value);
        g_autoptr(DomainDef) def = domain_def_parse_string(xml, 0, &err);
        if (!def)
            g_error("%s %s: %s", units[i].value, units[i].unit, err->message);
        g_assert_cmpuint(def->memory_kib, ==, units[i].kib);
        g_assert_cmpuint(def->current_memory_kib, ==, units[i].kib);
    }

    /* 16 EiB does not fit */
    g_autoptr(CvError) err = NULL;
    g_autoptr(DomainDef) def =
        domain_def_parse_string("<domain type='kvm'><name>u</name><memory unit='EiB'>16</memory>"
                                "<os><type>hvm</type></os></domain>",
                                0, &err);
    g_assert_null(def);
    g_assert_cmpint(err->code, ==, VIR_ERR_XML_ERROR);
    g_assert_nonnull(strstr(err->message, "<memory>"));
}

/* ---- limits and API edges ------------------------------------------------------------ */

static void
test_too_large(void)
{
    /* a well-formed document one byte over the limit: refused before parsing */
    static const char head[] = "<domain type='kvm'><name>big</name><description>";
    static const char tail[] = "</description><memory>1024</memory><os><type>hvm</type></os>"
                               "</domain>";
    size_t total = (size_t)DOMAIN_XML_MAX_SIZE + 1;
    GString *xml = g_string_sized_new(total + 1);
    g_string_append(xml, head);
    while (xml->len < total - strlen(tail))
        g_string_append_c(xml, 'x');
    g_string_append(xml, tail);
    g_assert_cmpuint(xml->len, ==, total);

    g_autoptr(CvError) err = NULL;
    g_autoptr(DomainDef) def = domain_def_parse_string(xml->str, 0, &err);
    g_assert_null(def);
    g_assert_nonnull(err);
    g_autofree char *expected_path = data_path("too-large", ".err");
    g_autofree char *actual = g_strconcat(err->message, "\n", NULL);
    g_assert_cmpint(test_compare_golden(expected_path, actual), ==, 0);
    g_assert_cmpint(err->code, ==, VIR_ERR_XML_ERROR);

    /* the same document at exactly the limit is read */
    g_string_erase(xml, strlen(head), 1);
    g_clear_pointer(&err, cv_error_free);
    g_autoptr(DomainDef) ok = domain_def_parse_string(xml->str, 0, &err);
    g_assert_nonnull(ok);
    g_assert_cmpuint(strlen(ok->description), ==,
                     DOMAIN_XML_MAX_SIZE - strlen(head) - strlen(tail));
    g_string_free(xml, TRUE);
}

static void
test_copy(void)
{
    g_autofree char *path = data_path("full", ".xml");
    g_autofree char *xml = test_read_file(path);
    g_autoptr(CvError) err = NULL;
    g_assert_nonnull(xml);
    g_autoptr(DomainDef) def = domain_def_parse_string(xml, 0, &err);
    g_assert_nonnull(def);
    g_autoptr(DomainDef) copy = domain_def_copy(def, &err);
    g_assert_nonnull(copy);
    g_assert_true(copy != def);
    g_assert_true(copy->disks[0] != def->disks[0]);
    g_assert_cmpstr(copy->disks[0]->source, ==, def->disks[0]->source);
    g_autofree char *a = domain_def_format(def, -1);
    g_autofree char *b = domain_def_format(copy, -1);
    g_assert_cmpstr(a, ==, b);
    domain_def_free(NULL);
}

static void
test_format_id(void)
{
    g_autoptr(CvError) err = NULL;
    g_autoptr(DomainDef) def = domain_def_parse_string(no_uuid_xml, 0, &err);
    g_assert_nonnull(def);
    g_autofree char *running = domain_def_format(def, 7);
    g_autofree char *inactive = domain_def_format(def, -1);
    g_assert_true(g_str_has_prefix(running, "<domain type='kvm' id='7'>\n"));
    g_assert_true(g_str_has_prefix(inactive, "<domain type='kvm'>\n"));
    g_assert_true(g_str_has_suffix(running, "</domain>\n"));
}

static void
test_uuid(void)
{
    unsigned char uuid[DOMAIN_UUID_LEN];
    char buf[DOMAIN_UUID_STRING_LEN];
    g_assert_cmpint(domain_uuid_parse("C7A5FDBD-EDAF-9455-926A-D65C16DB1809", uuid), ==, 0);
    domain_uuid_format(uuid, buf);
    g_assert_cmpstr(buf, ==, "c7a5fdbd-edaf-9455-926a-d65c16db1809");
    g_assert_cmpint(domain_uuid_parse("c7a5fdbdedaf9455926ad65c16db1809", uuid), ==, 0);
    domain_uuid_format(uuid, buf);
    g_assert_cmpstr(buf, ==, "c7a5fdbd-edaf-9455-926a-d65c16db1809");
    g_assert_cmpint(domain_uuid_parse("c7a5fdbd-edaf-9455-926a-d65c16db180", uuid), ==, -1);
    g_assert_cmpint(domain_uuid_parse("c7a5fdbd-edaf-9455-926a-d65c16db18090", uuid), ==, -1);
    g_assert_cmpint(domain_uuid_parse("g7a5fdbd-edaf-9455-926a-d65c16db1809", uuid), ==, -1);
    g_assert_cmpint(domain_uuid_parse("", uuid), ==, -1);
    g_assert_cmpint(domain_uuid_parse(NULL, uuid), ==, -1);
}

static void
test_lifecycle_names(void)
{
    g_assert_cmpstr(domain_lifecycle_action_to_string(DOMAIN_LIFECYCLE_ACTION_DESTROY), ==,
                    "destroy");
    g_assert_cmpstr(domain_lifecycle_action_to_string(DOMAIN_LIFECYCLE_ACTION_RESTART), ==,
                    "restart");
    g_assert_cmpstr(domain_lifecycle_action_to_string(DOMAIN_LIFECYCLE_ACTION_RESTART_RENAME), ==,
                    "rename-restart");
    g_assert_cmpstr(domain_lifecycle_action_to_string(DOMAIN_LIFECYCLE_ACTION_PRESERVE), ==,
                    "preserve");
    g_assert_cmpstr(domain_lifecycle_action_to_string(DOMAIN_LIFECYCLE_ACTION_COREDUMP_DESTROY), ==,
                    "coredump-destroy");
    g_assert_cmpstr(domain_lifecycle_action_to_string(DOMAIN_LIFECYCLE_ACTION_COREDUMP_RESTART), ==,
                    "coredump-restart");
    g_assert_null(domain_lifecycle_action_to_string(DOMAIN_LIFECYCLE_ACTION_LAST));
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *path = g_strdup_printf("/xml/case/%s", cases[i].name);
        g_test_add_data_func(path, &cases[i], test_case);
    }
    g_test_add_func("/xml/generated-uuid", test_generated_uuid);
    g_test_add_func("/xml/generated-mac", test_generated_mac);
    g_test_add_func("/xml/no-generate", test_no_generate);
    g_test_add_func("/xml/memory-units", test_memory_units);
    g_test_add_func("/xml/too-large", test_too_large);
    g_test_add_func("/xml/copy", test_copy);
    g_test_add_func("/xml/format-id", test_format_id);
    g_test_add_func("/xml/uuid", test_uuid);
    g_test_add_func("/xml/lifecycle-names", test_lifecycle_names);
    return g_test_run();
}
