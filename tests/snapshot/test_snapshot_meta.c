/* Unit tests of src/snapshot: the layout (stage, commit, list, tree, current, delete), meta.json
 * and its path checks, the <domainsnapshot> XML both ways, and the disk capture/restore. */

#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "snapshot/snapshot_disk.h"
#include "snapshot/snapshot_meta.h"
#include "snapshot/snapshot_xml.h"
#include "util/cv_file.h"

static char *root;

static const char *domain_xml =
    "<domain type='kvm'>\n"
    "  <name>d1</name>\n"
    "  <uuid>3b1c2f4e-8a6d-4f0b-9c2e-5d7a1e0f4b21</uuid>\n"
    "  <memory unit='KiB'>131072</memory>\n"
    "</domain>\n";

static SnapshotMeta *
make(const char *name, const char *parent, long long created)
{
    SnapshotMeta *m = snapshot_meta_new(name);
    m->backend = g_strdup("firecracker");
    m->state = g_strdup("running");
    m->created = created;
    m->parent = g_strdup(parent);
    m->memory_file = g_strdup(SNAPSHOT_MEMORY_FILE);
    m->memory_size = 4096;
    m->vmstate = g_strdup(SNAPSHOT_VMSTATE_FILE);
    m->description = g_strdup("a <b> & 'c'");
    m->domain_xml = g_strdup(domain_xml);
    snapshot_meta_add_disk(m, "vda", "disks/vda.img", "/img/vda.img", false);
    snapshot_meta_add_disk(m, "vdb", NULL, "/img/ro.img", true);
    return m;
}

static void
commit(SnapshotMeta *m)
{
    g_autoptr(CvError) err = NULL;
    g_assert_cmpint(snapshot_meta_stage_begin(root, "d1", m, &err), ==, 0);
    g_autofree char *base = g_path_get_basename(m->dir);
    g_assert_true(g_str_has_prefix(base, ".tmp-"));
    g_autofree char *xml = snapshot_xml_format(m);
    g_assert_cmpint(snapshot_meta_stage_commit(m, xml, &err), ==, 0);
}

static void
test_layout(void)
{
    g_autoptr(CvError) err = NULL;
    g_autoptr(SnapshotMeta) a = make("a", NULL, 100);
    g_autoptr(SnapshotMeta) b = make("b", "a", 200);
    g_autoptr(SnapshotMeta) c = make("c", "b", 300);
    commit(a);
    commit(b);
    /* a staging folder left behind is never listed */
    g_autoptr(SnapshotMeta) half = make("half", NULL, 50);
    g_assert_cmpint(snapshot_meta_stage_begin(root, "d1", half, &err), ==, 0);
    commit(c);

    g_autoptr(GPtrArray) list = NULL;
    g_assert_cmpint(snapshot_meta_list(root, "d1", &list, &err), ==, 0);
    g_assert_cmpuint(list->len, ==, 3);
    g_assert_cmpstr(((SnapshotMeta *)list->pdata[0])->name, ==, "a");
    g_assert_cmpstr(((SnapshotMeta *)list->pdata[2])->name, ==, "c");
    g_assert_cmpuint(snapshot_meta_count_children(list, "a", false), ==, 1);
    g_assert_cmpuint(snapshot_meta_count_children(list, "a", true), ==, 2);
    g_assert_true(snapshot_meta_is_descendant(list, "c", "a"));
    g_assert_false(snapshot_meta_is_descendant(list, "a", "c"));

    /* a load derives absolute paths from the folder and reads the XML's facts */
    g_autoptr(SnapshotMeta) lb = snapshot_meta_load(root, "d1", "b", &err);
    g_assert_nonnull(lb);
    g_autofree char *mem = snapshot_meta_path(lb, lb->memory_file);
    g_autofree char *want = g_build_filename(root, "domains", "d1", "snapshots", "b", "memory", NULL);
    g_assert_cmpstr(mem, ==, want);
    g_assert_cmpstr(lb->description, ==, "a <b> & 'c'");
    g_assert_cmpstr(lb->parent, ==, "a");
    g_assert_nonnull(strstr(lb->domain_xml, "<name>d1</name>"));

    /* an existing name is refused before anything is made */
    g_autoptr(SnapshotMeta) dup = make("b", NULL, 1);
    g_autoptr(CvError) derr = NULL;
    g_assert_cmpint(snapshot_meta_stage_begin(root, "d1", dup, &derr), ==, -1);
    g_assert_nonnull(strstr(derr->message, "already exists"));

    /* missing: libvirt's words */
    g_autoptr(CvError) nerr = NULL;
    g_assert_null(snapshot_meta_load(root, "d1", "nope", &nerr));
    g_assert_cmpint(nerr->code, ==, VIR_ERR_NO_DOMAIN_SNAPSHOT);
    g_assert_cmpstr(nerr->message, ==,
                    "Domain snapshot not found: no domain snapshot with matching name 'nope'");

    g_assert_null(snapshot_meta_current(root, "d1"));
    g_assert_cmpint(snapshot_meta_set_current(root, "d1", "c", &err), ==, 0);
    g_autofree char *cur = snapshot_meta_current(root, "d1");
    g_assert_cmpstr(cur, ==, "c");

    g_assert_cmpint(snapshot_meta_delete(lb, &err), ==, 0);
    g_autoptr(GPtrArray) after = NULL;
    g_assert_cmpint(snapshot_meta_list(root, "d1", &after, &err), ==, 0);
    g_assert_cmpuint(after->len, ==, 2);
    g_assert_null(snapshot_meta_find(after, "b"));
    snapshot_meta_stage_abort(half);
    g_autofree char *half_dir = g_strdup(half->dir);
    g_assert_false(g_file_test(half_dir, G_FILE_TEST_EXISTS));
}

static void
test_json_paths(void)
{
    g_autoptr(SnapshotMeta) m = make("j", NULL, 7);
    g_autofree char *text = snapshot_meta_to_json(m);
    g_autoptr(CvError) err = NULL;
    g_autoptr(SnapshotMeta) back = snapshot_meta_from_json("j", text, &err);
    g_assert_nonnull(back);
    g_assert_cmpstr(back->memory_file, ==, "memory");
    g_assert_cmpuint(back->disks->len, ==, 2);
    g_assert_cmpstr(((SnapshotDisk *)back->disks->pdata[0])->file, ==, "disks/vda.img");
    g_assert_null(((SnapshotDisk *)back->disks->pdata[1])->file);
    g_assert_true(((SnapshotDisk *)back->disks->pdata[1])->readonly);

    /* paths that leave the folder are refused */
    const char *bad[] = {
        "{\"version\":1,\"backend\":\"firecracker\",\"state\":\"running\",\"vmstate\":\"/etc/x\"}",
        "{\"version\":1,\"backend\":\"firecracker\",\"state\":\"running\",\"vmstate\":\"../x\"}",
        ("{\"version\":1,\"backend\":\"firecracker\",\"state\":\"running\",\"disks\":"
         "[{\"target\":\"vda\",\"file\":\"disks/../../x\"}]}"),
        "{\"version\":2,\"backend\":\"firecracker\",\"state\":\"running\"}",
        "not json",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(CvError) e = NULL;
        g_assert_null(snapshot_meta_from_json("j", bad[i], &e));
        g_assert_nonnull(e);
    }
}

static void
test_xml(void)
{
    g_autoptr(SnapshotMeta) m = make("x", "p", 1796156246);
    m->dir = g_strdup("/var/lib/cocoon/domains/d1/snapshots/x");
    g_autofree char *xml = snapshot_xml_format(m);
    g_assert_nonnull(strstr(xml, "<memory snapshot='external' "
                                 "file='/var/lib/cocoon/domains/d1/snapshots/x/memory'/>"));
    g_assert_nonnull(strstr(xml, "<disk name='vdb' snapshot='no'/>"));
    g_assert_nonnull(strstr(xml, "<creationTime>1796156246</creationTime>"));
    g_assert_nonnull(strstr(xml, "  <domain type='kvm'>\n    <name>d1</name>"));
    g_autoptr(CvError) err = NULL;
    g_autoptr(SnapshotXmlRequest) req = snapshot_xml_parse(xml, &err);
    g_assert_nonnull(req);
    g_assert_cmpstr(req->name, ==, "x");
    g_assert_cmpstr(req->parent, ==, "p");
    g_assert_cmpstr(req->description, ==, "a <b> & 'c'");
    g_assert_cmpint(req->created, ==, 1796156246);
    g_assert_cmpint(req->memory, ==, SNAPSHOT_XML_LOCATION_EXTERNAL);
    g_assert_cmpuint(req->disks->len, ==, 2);
    /* the nested <domain> comes back without the indentation it had inside */
    g_assert_true(g_str_has_prefix(req->domain_xml, "<domain type=\"kvm\">\n  <name>d1</name>"));

    const char *bad[] = {"<domain/>", "<domainsnapshot><bogus/></domainsnapshot>",
                         "<domainsnapshot><creationTime>x</creationTime></domainsnapshot>",
                         "<domainsnapshot><memory snapshot='sideways'/></domainsnapshot>",
                         "<domainsnapshot>"};
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(CvError) e = NULL;
        g_assert_null(snapshot_xml_parse(bad[i], &e));
        g_assert_cmpint(e->code, ==, VIR_ERR_XML_ERROR);
    }

    /* an element given twice is refused (it overwrote, and leaked, the first: found by
     * tests/fuzz/fuzz_snapshot.c, regress/snapshot/leak-duplicate-*) */
    const struct {
        const char *xml, *message;
    } twice[] = {
        {"<domainsnapshot><name>a</name><name>b</name></domainsnapshot>",
         "XML error: element <name> is given more than once in <domainsnapshot>"},
        {"<domainsnapshot><parent><name>a</name><name>b</name></parent></domainsnapshot>",
         "XML error: element <name> is given more than once in <parent>"},
        {"<domainsnapshot><disks><disk name='vda'><source file='/a'/><source file='/b'/>"
         "</disk></disks></domainsnapshot>",
         "XML error: element <source> is given more than once in <disk>"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(twice); i++) {
        g_autoptr(CvError) e = NULL;
        g_assert_null(snapshot_xml_parse(twice[i].xml, &e));
        g_assert_cmpstr(e->message, ==, twice[i].message);
    }
}

static void
test_disk(void)
{
    g_autofree char *src = g_build_filename(root, "disk.img", NULL);
    g_autofree char *copy = g_build_filename(root, "disk.copy", NULL);
    g_autoptr(CvError) err = NULL;
    /* 8 MiB with data at both ends and a hole between */
    FILE *f = fopen(src, "wb");
    fputs("head", f);
    fseek(f, (8 << 20) - 4, SEEK_SET);
    fputs("tail", f);
    fclose(f);
    g_assert_cmpint(snapshot_disk_capture(src, copy, &err), ==, 0);
    g_autofree char *a = NULL, *b = NULL;
    gsize la, lb;
    g_assert_true(g_file_get_contents(src, &a, &la, NULL));
    g_assert_true(g_file_get_contents(copy, &b, &lb, NULL));
    g_assert_cmpuint(la, ==, lb);
    g_assert_true(memcmp(a, b, la) == 0);
    /* the copy exists once: a second capture to it is refused */
    g_autoptr(CvError) e2 = NULL;
    g_assert_cmpint(snapshot_disk_capture(src, copy, &e2), ==, -1);

    g_assert_true(g_file_set_contents(src, "changed", -1, NULL));
    g_assert_cmpint(snapshot_disk_restore(copy, src, &err), ==, 0);
    g_autofree char *c = NULL;
    gsize lc;
    g_assert_true(g_file_get_contents(src, &c, &lc, NULL));
    g_assert_cmpuint(lc, ==, la);
    g_assert_true(memcmp(c, a, lc) == 0);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    root = g_dir_make_tmp("cocoon-snap-XXXXXX", NULL);
    g_test_add_func("/snapshot/layout", test_layout);
    g_test_add_func("/snapshot/json-paths", test_json_paths);
    g_test_add_func("/snapshot/xml", test_xml);
    g_test_add_func("/snapshot/disk", test_disk);
    int rc = g_test_run();
    cv_dir_remove_tree_at(AT_FDCWD, root, NULL);
    g_free(root);
    return rc;
}
