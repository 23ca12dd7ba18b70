/* cocoonvirsh: the snapshot commands (snapshot-create … snapshot-delete), virsh's layout. */

#include <string.h>
#include <time.h>

#include "cli.h"
#include "snapshot/snapshot_xml.h"

/* The snapshot named by option optname of dom; prints the error. */
static CocoonDomainSnapshot *snap_lookup(CocoonDomain *dom, const char *name)
{
    g_autoptr(CvError) err = NULL;
    CocoonDomainSnapshot *snap =
        CLI_CALL(dom->conn, domainSnapshotLookupByName, "virDomainSnapshotLookupByName", NULL,
                 &err, dom, name, 0, &err);
    if (!snap)
        cli_error_report(err);
    return snap;
}

static bool snap_report(CvError *err)
{
    cli_error_report(err);
    return false;
}

/* The snapshot of option "snapshotname", or dom's current one with --current or no name (as
 * virsh's snapshot-revert and snapshot-delete take it); prints the error. */
static CocoonDomainSnapshot *snap_named_or_current(CocoonDomain *dom, const CliArgs *args)
{
    const char *name = cli_args_string(args, "snapshotname");
    if (name && !cli_args_bool(args, "current"))
        return snap_lookup(dom, name);
    g_autoptr(CvError) err = NULL;
    CocoonDomainSnapshot *snap = CLI_CALL(dom->conn, domainSnapshotCurrent,
                                          "virDomainSnapshotCurrent", NULL, &err, dom, 0, &err);
    if (!snap)
        cli_error_report(err);
    return snap;
}

/* ---- create ------------------------------------------------------------------------------- */

static bool snap_create(CliCtl *ctl, CocoonDomain *dom, const char *xml, unsigned int flags,
                        const char *from)
{
    g_autoptr(CvError) err = NULL;
    g_autoptr(CocoonDomainSnapshot) snap =
        CLI_CALL(dom->conn, domainSnapshotCreateXML, "virDomainSnapshotCreateXML", NULL, &err,
                 dom, xml, flags, &err);
    if (!snap)
        return snap_report(err);
    /* virsh ends these without a newline: the command's closing empty line ends them */
    if (from)
        cli_print_extra(ctl, "Domain snapshot %s created from '%s'", snap->name, from);
    else
        cli_print_extra(ctl, "Domain snapshot %s created", snap->name);
    return true;
}

static bool cmd_snapshot_create_as(CliCtl *ctl, const CliArgs *args)
{
    const char *name = cli_args_string(args, "name");
    const char *desc = cli_args_string(args, "description");
    unsigned int flags = 0;
    g_autoptr(GString) xml = g_string_new("<domainsnapshot>\n");
    if (name) {
        g_autofree char *esc = g_markup_escape_text(name, -1);
        g_string_append_printf(xml, "  <name>%s</name>\n", esc);
    }
    if (desc) {
        g_autofree char *esc = g_markup_escape_text(desc, -1);
        g_string_append_printf(xml, "  <description>%s</description>\n", esc);
    }
    g_string_append(xml, "</domainsnapshot>\n");
    if (cli_args_bool(args, "print-xml")) {
        fputs(xml->str, stdout);
        return true;
    }
    g_autoptr(CocoonDomain) dom = cli_domain_lookup(ctl, args, "domain", CLI_BY_ANY);
    if (!dom)
        return false;
    static const struct {
        const char *opt;
        unsigned int flag;
    } map[] = {
        { "disk-only", VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY },
        { "atomic", VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC },
        { "halt", VIR_DOMAIN_SNAPSHOT_CREATE_HALT },
        { "no-metadata", VIR_DOMAIN_SNAPSHOT_CREATE_NO_METADATA },
        { "reuse-external", VIR_DOMAIN_SNAPSHOT_CREATE_REUSE_EXT },
        { "quiesce", VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE },
        { "live", VIR_DOMAIN_SNAPSHOT_CREATE_LIVE },
        { "validate", VIR_DOMAIN_SNAPSHOT_CREATE_VALIDATE },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(map); i++)
        if (cli_args_bool(args, map[i].opt))
            flags |= map[i].flag;
    return snap_create(ctl, dom, xml->str, flags, NULL);
}

static bool cmd_snapshot_create(CliCtl *ctl, const CliArgs *args)
{
    const char *file = cli_args_string(args, "xmlfile");
    unsigned int flags = 0;
    g_autoptr(CocoonDomain) dom = cli_domain_lookup(ctl, args, "domain", CLI_BY_ANY);
    if (!dom)
        return false;
    g_autofree char *xml = file ? cli_file_read(file) : g_strdup("<domainsnapshot/>");
    if (!xml)
        return false;
    if (cli_args_bool(args, "redefine"))
        flags |= VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE;
    if (cli_args_bool(args, "current"))
        flags |= VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT;
    if (cli_args_bool(args, "disk-only"))
        flags |= VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY;
    if (cli_args_bool(args, "atomic"))
        flags |= VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC;
    if (cli_args_bool(args, "halt"))
        flags |= VIR_DOMAIN_SNAPSHOT_CREATE_HALT;
    if (cli_args_bool(args, "no-metadata"))
        flags |= VIR_DOMAIN_SNAPSHOT_CREATE_NO_METADATA;
    return snap_create(ctl, dom, xml, flags, file);
}

/* ---- what the XML of a snapshot says ------------------------------------------------------ */

typedef struct {
    char *name;
    char *parent;
    char *state;
    long long created;
    bool external, internal;
} SnapInfo;

static void snap_info_clear(SnapInfo *i)
{
    g_free(i->name);
    g_free(i->parent);
    g_free(i->state);
}

static bool snap_info_get(CocoonDomainSnapshot *snap, SnapInfo *ret, char **ret_xml)
{
    g_autoptr(CvError) err = NULL;
    g_autofree char *xml =
        CLI_CALL(snap->dom->conn, domainSnapshotGetXMLDesc, "virDomainSnapshotGetXMLDesc", NULL,
                 &err, snap, 0, &err);
    g_autoptr(SnapshotXmlRequest) req = xml ? snapshot_xml_parse(xml, &err) : NULL;
    if (!req)
        return snap_report(err);
    ret->name = g_strdup(snap->name);
    ret->parent = g_steal_pointer(&req->parent);
    ret->state = g_steal_pointer(&req->state);
    ret->created = req->created;
    ret->external = req->memory == SNAPSHOT_XML_LOCATION_EXTERNAL;
    ret->internal = req->memory == SNAPSHOT_XML_LOCATION_INTERNAL;
    for (guint i = 0; i < req->disks->len; i++) {
        SnapshotXmlDisk *d = req->disks->pdata[i];
        ret->external = ret->external || d->snapshot == SNAPSHOT_XML_LOCATION_EXTERNAL;
        ret->internal = ret->internal || d->snapshot == SNAPSHOT_XML_LOCATION_INTERNAL;
    }
    if (ret_xml)
        *ret_xml = g_steal_pointer(&xml);
    return true;
}

/* ---- list --------------------------------------------------------------------------------- */

static const struct {
    const char *opt;
    unsigned int flag;
} list_filters[] = {
    { "roots", VIR_DOMAIN_SNAPSHOT_LIST_ROOTS },
    { "leaves", VIR_DOMAIN_SNAPSHOT_LIST_LEAVES },
    { "no-leaves", VIR_DOMAIN_SNAPSHOT_LIST_NO_LEAVES },
    { "metadata", VIR_DOMAIN_SNAPSHOT_LIST_METADATA },
    { "no-metadata", VIR_DOMAIN_SNAPSHOT_LIST_NO_METADATA },
    { "inactive", VIR_DOMAIN_SNAPSHOT_LIST_INACTIVE },
    { "active", VIR_DOMAIN_SNAPSHOT_LIST_ACTIVE },
    { "disk-only", VIR_DOMAIN_SNAPSHOT_LIST_DISK_ONLY },
    { "internal", VIR_DOMAIN_SNAPSHOT_LIST_INTERNAL },
    { "external", VIR_DOMAIN_SNAPSHOT_LIST_EXTERNAL },
    { "topological", VIR_DOMAIN_SNAPSHOT_LIST_TOPOLOGICAL },
};

static gint info_cmp_name(gconstpointer a, gconstpointer b)
{
    return strcmp(((const SnapInfo *)a)->name, ((const SnapInfo *)b)->name);
}

/* virsh's tree: each node, a "|" line before its children, a blank line after a last leaf. */
static void tree_print(GArray *infos, guint idx, guint last, bool root, GString *indent)
{
    SnapInfo *me = &g_array_index(infos, SnapInfo, idx);
    printf("%s%s%s\n", indent->str, root ? "" : "+- ", me->name);
    if (!root)
        g_string_append(indent, idx == last ? "  " : "| ");
    int next_last = -1;
    for (guint i = 0; i < infos->len; i++)
        if (g_strcmp0(g_array_index(infos, SnapInfo, i).parent, me->name) == 0)
            next_last = (int)i;
    if (next_last >= 0)
        printf("%s  |\n", indent->str);
    g_string_append(indent, "  ");
    for (guint i = 0; i < infos->len; i++)
        if (g_strcmp0(g_array_index(infos, SnapInfo, i).parent, me->name) == 0)
            tree_print(infos, i, (guint)next_last, false, indent);
    g_string_truncate(indent, indent->len - 2);
    if (next_last < 0 && idx == last)
        printf("%s\n", indent->str);
    if (!root)
        g_string_truncate(indent, indent->len - 2);
}

static void list_table(GArray *infos, bool parent)
{
    CliTable *t = parent ? cli_table_new("Name", "Creation Time", "State", "Parent", NULL)
                         : cli_table_new("Name", "Creation Time", "State", NULL);
    for (guint i = 0; i < infos->len; i++) {
        SnapInfo *s = &g_array_index(infos, SnapInfo, i);
        char when[64] = "";
        time_t t_created = (time_t)s->created;
        struct tm tm;
        if (localtime_r(&t_created, &tm))
            strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S %z", &tm);
        if (parent)
            cli_table_add_row(t, s->name, when, s->state ? s->state : "",
                              s->parent ? s->parent : "", NULL);
        else
            cli_table_add_row(t, s->name, when, s->state ? s->state : "", NULL);
    }
    cli_table_print(t, true);
    cli_table_free(t);
}

static void infos_free(GArray *infos)
{
    for (guint i = 0; i < infos->len; i++)
        snap_info_clear(&g_array_index(infos, SnapInfo, i));
    g_array_free(infos, TRUE);
}

/* The snapshots --from/--current ask for: the children of that one (all, with descendants). */
static int list_fetch(CocoonDomain *dom, const char *from, bool descendants, unsigned int flags,
                      CocoonDomainSnapshot ***ret, size_t *ret_n, CvError **err)
{
    if (!from)
        return CLI_CALL(dom->conn, domainListAllSnapshots, "virDomainListAllSnapshots", -1, err,
                        dom, ret, ret_n, flags, err);
    g_autoptr(CocoonDomainSnapshot) start =
        CLI_CALL(dom->conn, domainSnapshotLookupByName, "virDomainSnapshotLookupByName", NULL,
                 err, dom, from, 0, err);
    if (!start)
        return -1;
    if (descendants)
        flags |= VIR_DOMAIN_SNAPSHOT_LIST_DESCENDANTS;
    return CLI_CALL(dom->conn, domainSnapshotListAllChildren, "virDomainSnapshotListAllChildren",
                    -1, err, start, ret, ret_n, flags, err);
}

static bool cmd_snapshot_list(CliCtl *ctl, const CliArgs *args)
{
    bool tree = cli_args_bool(args, "tree"), name = cli_args_bool(args, "name");
    bool parent = cli_args_bool(args, "parent");
    const char *from = cli_args_string(args, "from");
    if (tree && name) {
        cli_error("Options --tree and --name are mutually exclusive");
        return false;
    }
    if (tree && parent) {
        cli_error("Options --parent and --tree are mutually exclusive");
        return false;
    }
    if (from && cli_args_bool(args, "current")) {
        cli_error("Options --from and --current are mutually exclusive");
        return false;
    }
    g_autoptr(CocoonDomain) dom = cli_domain_lookup(ctl, args, "domain", CLI_BY_ANY);
    if (!dom)
        return false;
    unsigned int flags = 0;
    for (size_t i = 0; i < G_N_ELEMENTS(list_filters); i++)
        if (cli_args_bool(args, list_filters[i].opt))
            flags |= list_filters[i].flag;
    g_autoptr(CvError) err = NULL;
    g_autofree char *current = NULL;
    if (cli_args_bool(args, "current")) {
        g_autoptr(CocoonDomainSnapshot) cur =
            CLI_CALL(dom->conn, domainSnapshotCurrent, "virDomainSnapshotCurrent", NULL, &err,
                     dom, 0, &err);
        if (!cur)
            return snap_report(err);
        from = current = g_strdup(cur->name);
    }
    CocoonDomainSnapshot **snaps = NULL;
    size_t n = 0;
    if (list_fetch(dom, from, cli_args_bool(args, "descendants") || tree, flags, &snaps, &n,
                   &err) < 0)
        return snap_report(err);
    GArray *infos = g_array_new(FALSE, TRUE, sizeof(SnapInfo));
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++) {
        SnapInfo info = {0};
        ok = snap_info_get(snaps[i], &info, NULL);
        if (ok)
            g_array_append_val(infos, info);
    }
    cocoon_domain_snapshot_list_free(snaps);
    if (ok && !(flags & VIR_DOMAIN_SNAPSHOT_LIST_TOPOLOGICAL))
        g_array_sort(infos, info_cmp_name);
    if (ok && tree) {
        g_autoptr(GString) indent = g_string_new(NULL);
        for (guint i = 0; i < infos->len; i++) {
            SnapInfo *s = &g_array_index(infos, SnapInfo, i);
            bool in_list = false;
            for (guint k = 0; s->parent && k < infos->len; k++)
                in_list = in_list || strcmp(g_array_index(infos, SnapInfo, k).name, s->parent) == 0;
            if (!in_list)
                tree_print(infos, i, i, true, indent);
        }
    } else if (ok && name) {
        for (guint i = 0; i < infos->len; i++)
            printf("%s\n", g_array_index(infos, SnapInfo, i).name);
    } else if (ok) {
        list_table(infos, parent);
    }
    infos_free(infos);
    return ok;
}

/* ---- info, dumpxml, current, parent ------------------------------------------------------- */

static int count_children(CocoonDomainSnapshot *snap, bool descendants, CvError **err)
{
    CocoonDomainSnapshot **list = NULL;
    size_t n = 0;
    if (CLI_CALL(snap->dom->conn, domainSnapshotListAllChildren,
                 "virDomainSnapshotListAllChildren", -1, err, snap, &list, &n,
                 descendants ? VIR_DOMAIN_SNAPSHOT_LIST_DESCENDANTS : 0, err) < 0)
        return -1;
    cocoon_domain_snapshot_list_free(list);
    return (int)n;
}

static bool cmd_snapshot_info(CliCtl *ctl, const CliArgs *args)
{
    g_autoptr(CocoonDomain) dom = cli_domain_lookup(ctl, args, "domain", CLI_BY_ANY);
    if (!dom)
        return false;
    g_autoptr(CocoonDomainSnapshot) snap = snap_lookup(dom, cli_args_string(args, "snapshotname"));
    if (!snap)
        return false;
    g_autoptr(CvError) err = NULL;
    SnapInfo info = {0};
    if (!snap_info_get(snap, &info, NULL))
        return false;
    int current = CLI_CALL(dom->conn, domainSnapshotIsCurrent, "virDomainSnapshotIsCurrent", -1,
                           &err, snap, 0, &err);
    int children = current < 0 ? -1 : count_children(snap, false, &err);
    int descendants = children < 0 ? -1 : count_children(snap, true, &err);
    int meta = descendants < 0 ? -1
                               : CLI_CALL(dom->conn, domainSnapshotHasMetadata,
                                          "virDomainSnapshotHasMetadata", -1, &err, snap, 0, &err);
    if (meta < 0) {
        snap_info_clear(&info);
        return snap_report(err);
    }
    printf("%-15s %s\n", "Name:", info.name);
    printf("%-15s %s\n", "Domain:", dom->name);
    printf("%-15s %s\n", "Current:", current ? "yes" : "no");
    printf("%-15s %s\n", "State:", info.state ? info.state : "");
    printf("%-15s %s\n", "Location:",
           info.external ? (info.internal ? "mixed" : "external") : "internal");
    printf("%-15s %s\n", "Parent:", info.parent ? info.parent : "-");
    printf("%-15s %d\n", "Children:", children);
    printf("%-15s %d\n", "Descendants:", descendants);
    printf("%-15s %s\n", "Metadata:", meta ? "yes" : "no");
    snap_info_clear(&info);
    return true;
}

static bool cmd_snapshot_dumpxml(CliCtl *ctl, const CliArgs *args)
{
    g_autoptr(CocoonDomain) dom = cli_domain_lookup(ctl, args, "domain", CLI_BY_ANY);
    if (!dom)
        return false;
    g_autoptr(CocoonDomainSnapshot) snap = snap_lookup(dom, cli_args_string(args, "snapshotname"));
    if (!snap)
        return false;
    g_autoptr(CvError) err = NULL;
    unsigned int flags = cli_args_bool(args, "security-info") ? VIR_DOMAIN_SNAPSHOT_XML_SECURE : 0;
    g_autofree char *xml = CLI_CALL(dom->conn, domainSnapshotGetXMLDesc,
                                    "virDomainSnapshotGetXMLDesc", NULL, &err, snap, flags, &err);
    if (!xml)
        return snap_report(err);
    fputs(xml, stdout);
    return true;
}

/* ---- edit -------------------------------------------------------------------------------- */

typedef struct {
    CocoonDomain *dom;
    const char *name;      /* the snapshot edited */
    unsigned int flags;    /* REDEFINE, CURRENT, DISK_ONLY */
    bool rename, clone;
    char *new_name;        /* the name in the edited text */
    bool refused;          /* a new name without --rename or --clone: nothing defined */
} SnapEdit;

static bool snap_edit_apply(const char *edited, void *opaque, CvError **err)
{
    SnapEdit *e = opaque;
    /* a name change needs --rename or --clone: refused before anything is defined */
    g_autoptr(SnapshotXmlRequest) req = snapshot_xml_parse(edited, NULL);
    if (req && req->name && strcmp(req->name, e->name) != 0 && !e->rename && !e->clone) {
        e->new_name = g_strdup(req->name);
        e->refused = true;
        return true;
    }
    g_autoptr(CocoonDomainSnapshot) snap =
        CLI_CALL(e->dom->conn, domainSnapshotCreateXML, "virDomainSnapshotCreateXML", NULL, err,
                 e->dom, edited, e->flags, err);
    if (!snap)
        return false;
    e->new_name = g_strdup(snap->name);
    return true;
}

static bool cmd_snapshot_edit(CliCtl *ctl, const CliArgs *args)
{
    g_autoptr(CocoonDomain) dom = cli_domain_lookup(ctl, args, "domain", CLI_BY_ANY);
    if (!dom)
        return false;
    bool rename = cli_args_bool(args, "rename"), clone = cli_args_bool(args, "clone");
    if (rename && clone) {
        cli_error("Options --rename and --clone are mutually exclusive");
        return false;
    }
    /* a redefine carries metadata only: the memory and disk data of a Cocoon snapshot are
     * kept under its name, so a renamed or cloned one could not be reverted */
    if (rename || clone) {
        cli_error("unsupported configuration: snapshot-edit --%s: a snapshot's memory and disk "
                  "data stay under its name; create a new snapshot instead",
                  rename ? "rename" : "clone");
        return false;
    }
    g_autoptr(CocoonDomainSnapshot) snap = snap_named_or_current(dom, args);
    if (!snap)
        return false;
    g_autoptr(CvError) err = NULL;
    g_autofree char *orig =
        CLI_CALL(dom->conn, domainSnapshotGetXMLDesc, "virDomainSnapshotGetXMLDesc", NULL, &err,
                 snap, VIR_DOMAIN_SNAPSHOT_XML_SECURE, &err);
    if (!orig)
        return snap_report(err);
    int current = CLI_CALL(dom->conn, domainSnapshotIsCurrent, "virDomainSnapshotIsCurrent", -1,
                           &err, snap, 0, &err);
    if (current < 0)
        return snap_report(err);
    SnapEdit e = { .dom = dom, .name = snap->name, .rename = rename, .clone = clone,
                   .flags = VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE };
    /* it stays current (or becomes so with --current and a name); a disk-only one stays so */
    if (current || (cli_args_bool(args, "current") && cli_args_string(args, "snapshotname")))
        e.flags |= VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT;
    if (strstr(orig, "<state>disk-snapshot</state>"))
        e.flags |= VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY;

    CliEditResult res = cli_edit_text(orig, snap_edit_apply, &e);
    g_autofree char *new_name = g_steal_pointer(&e.new_name);
    if (res == CLI_EDIT_UNCHANGED) {
        printf("Snapshot %s XML configuration not changed.\n", snap->name);
        return true;
    }
    if (res == CLI_EDIT_FAILED) {
        cli_error("Failed to update %s", snap->name);
        return false;
    }
    if (e.refused) {
        cli_error("Must use --rename or --clone to change %s to %s", snap->name, new_name);
        cli_error("Failed to update %s", snap->name);
        return false;
    }
    if (strcmp(new_name, snap->name) == 0) {
        printf("Snapshot %s edited.\n", snap->name);
        return true;
    }
    if (clone) {
        printf("Snapshot %s cloned to %s.\n", snap->name, new_name);
        return true;
    }
    /* --rename: the old name goes, its metadata only (what it holds is the new one's) */
    if (CLI_CALL(dom->conn, domainSnapshotDelete, "virDomainSnapshotDelete", -1, &err, snap,
                 VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY, &err) < 0) {
        cli_error_report(err);
        cli_error("Failed to clean up %s", snap->name);
        cli_error("Failed to update %s", snap->name);
        return false;
    }
    return true;
}

/* snapshot-current DOM SNAP: make SNAP current by redefining it as it is. */
static bool snapshot_set_current(CliCtl *ctl, CocoonDomain *dom, const char *name)
{
    g_autoptr(CocoonDomainSnapshot) snap = snap_lookup(dom, name);
    if (!snap)
        return false;
    g_autoptr(CvError) err = NULL;
    g_autofree char *xml = CLI_CALL(dom->conn, domainSnapshotGetXMLDesc,
                                    "virDomainSnapshotGetXMLDesc", NULL, &err, snap, 0, &err);
    g_autoptr(CocoonDomainSnapshot) again =
        xml ? CLI_CALL(dom->conn, domainSnapshotCreateXML, "virDomainSnapshotCreateXML", NULL,
                       &err, dom, xml,
                       VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE | VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT,
                       &err)
            : NULL;
    if (!again)
        return snap_report(err);
    cli_print_extra(ctl, "Snapshot %s set as current", name);
    return true;
}

static bool cmd_snapshot_current(CliCtl *ctl, const CliArgs *args)
{
    g_autoptr(CocoonDomain) dom = cli_domain_lookup(ctl, args, "domain", CLI_BY_ANY);
    if (!dom)
        return false;
    const char *set = cli_args_string(args, "snapshotname");
    if (set)
        return snapshot_set_current(ctl, dom, set);
    g_autoptr(CvError) err = NULL;
    int has = CLI_CALL(dom->conn, domainHasCurrentSnapshot, "virDomainHasCurrentSnapshot", -1,
                       &err, dom, 0, &err);
    if (has < 0)
        return snap_report(err);
    if (has == 0) {
        cli_error("domain '%s' has no current snapshot", dom->name);
        return false;
    }
    g_autoptr(CocoonDomainSnapshot) cur = CLI_CALL(
        dom->conn, domainSnapshotCurrent, "virDomainSnapshotCurrent", NULL, &err, dom, 0, &err);
    if (!cur)
        return snap_report(err);
    /* virsh prints the bare name: the command's closing empty line ends it */
    if (cli_args_bool(args, "name")) {
        printf("%s", cur->name);
        return true;
    }
    g_autofree char *xml = CLI_CALL(dom->conn, domainSnapshotGetXMLDesc,
                                    "virDomainSnapshotGetXMLDesc", NULL, &err, cur, 0, &err);
    if (!xml)
        return snap_report(err);
    fputs(xml, stdout);
    return true;
}

static bool cmd_snapshot_parent(CliCtl *ctl, const CliArgs *args)
{
    g_autoptr(CocoonDomain) dom = cli_domain_lookup(ctl, args, "domain", CLI_BY_ANY);
    if (!dom)
        return false;
    g_autoptr(CocoonDomainSnapshot) snap = snap_lookup(dom, cli_args_string(args, "snapshotname"));
    if (!snap)
        return false;
    SnapInfo info = {0};
    if (!snap_info_get(snap, &info, NULL))
        return false;
    bool ok = info.parent != NULL;
    if (ok)
        printf("%s", info.parent);
    else
        cli_error("snapshot '%s' has no parent", snap->name);
    snap_info_clear(&info);
    return ok;
}

/* ---- revert, delete ----------------------------------------------------------------------- */

static bool cmd_snapshot_revert(CliCtl *ctl, const CliArgs *args)
{
    g_autoptr(CocoonDomain) dom = cli_domain_lookup(ctl, args, "domain", CLI_BY_ANY);
    if (!dom)
        return false;
    g_autoptr(CocoonDomainSnapshot) snap = snap_named_or_current(dom, args);
    if (!snap)
        return false;
    g_autoptr(CvError) err = NULL;
    unsigned int flags = 0;
    if (cli_args_bool(args, "running"))
        flags |= VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING;
    if (cli_args_bool(args, "paused"))
        flags |= VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED;
    if (cli_args_bool(args, "force"))
        flags |= VIR_DOMAIN_SNAPSHOT_REVERT_FORCE;
    if (CLI_CALL(dom->conn, domainRevertToSnapshot, "virDomainRevertToSnapshot", -1, &err, snap,
                 flags, &err) < 0)
        return snap_report(err);
    cli_print_extra(ctl, "Domain snapshot %s reverted\n", snap->name);
    return true;
}

static bool cmd_snapshot_delete(CliCtl *ctl, const CliArgs *args)
{
    g_autoptr(CocoonDomain) dom = cli_domain_lookup(ctl, args, "domain", CLI_BY_ANY);
    if (!dom)
        return false;
    g_autoptr(CocoonDomainSnapshot) snap = snap_named_or_current(dom, args);
    if (!snap)
        return false;
    g_autoptr(CvError) err = NULL;
    unsigned int flags = 0;
    if (cli_args_bool(args, "children"))
        flags |= VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN;
    if (cli_args_bool(args, "children-only"))
        flags |= VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY;
    if (cli_args_bool(args, "metadata"))
        flags |= VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY;
    if (CLI_CALL(dom->conn, domainSnapshotDelete, "virDomainSnapshotDelete", -1, &err, snap,
                 flags, &err) < 0) {
        cli_error("Failed to delete snapshot %s", snap->name);
        return snap_report(err);
    }
    if (flags & VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY)
        cli_print_extra(ctl, "Domain snapshot %s children deleted\n", snap->name);
    else
        cli_print_extra(ctl, "Domain snapshot %s deleted\n", snap->name);
    return true;
}

/* ---- the table ---------------------------------------------------------------------------- */

#define OPT_SNAPNAME                                                                           \
    { "snapshotname", CLI_OPT_STRING, CLI_OPT_REQUIRED | CLI_OPT_POSITIONAL, "snapshot name" }
#define OPT_SNAPNAME_OPT                                                                       \
    { "snapshotname", CLI_OPT_STRING, CLI_OPT_POSITIONAL, "snapshot name" }

static const CliOpt opts_create_as[] = {
    CLI_OPT_DOMAIN,
    { "name", CLI_OPT_STRING, CLI_OPT_POSITIONAL, "name of snapshot" },
    { "description", CLI_OPT_STRING, CLI_OPT_POSITIONAL, "description of snapshot" },
    { "print-xml", CLI_OPT_BOOL, 0, "print XML document rather than create" },
    { "no-metadata", CLI_OPT_BOOL, 0, "take snapshot but create no metadata" },
    { "halt", CLI_OPT_BOOL, 0, "halt domain after snapshot is created" },
    { "disk-only", CLI_OPT_BOOL, 0, "create a disk-only snapshot" },
    { "reuse-external", CLI_OPT_BOOL, 0, "reuse any existing external files" },
    { "quiesce", CLI_OPT_BOOL, 0, "quiesce guest's file systems" },
    { "atomic", CLI_OPT_BOOL, 0, "require atomic operation" },
    { "live", CLI_OPT_BOOL, 0, "take a live snapshot" },
    { "validate", CLI_OPT_BOOL, 0, "validate the XML against the schema" },
    { NULL },
};

static const CliOpt opts_create[] = {
    CLI_OPT_DOMAIN,
    { "xmlfile", CLI_OPT_STRING, CLI_OPT_POSITIONAL, "domain snapshot XML" },
    { "redefine", CLI_OPT_BOOL, 0, "redefine metadata for existing snapshot" },
    { "current", CLI_OPT_BOOL, 0, "with redefine, set current snapshot" },
    { "no-metadata", CLI_OPT_BOOL, 0, "take snapshot but create no metadata" },
    { "halt", CLI_OPT_BOOL, 0, "halt domain after snapshot is created" },
    { "disk-only", CLI_OPT_BOOL, 0, "create a disk-only snapshot" },
    { "atomic", CLI_OPT_BOOL, 0, "require atomic operation" },
    { NULL },
};

static const CliOpt opts_list[] = {
    CLI_OPT_DOMAIN,
    { "parent", CLI_OPT_BOOL, 0, "add a column showing parent snapshot" },
    { "roots", CLI_OPT_BOOL, 0, "list only snapshots without parents" },
    { "leaves", CLI_OPT_BOOL, 0, "list only snapshots without children" },
    { "no-leaves", CLI_OPT_BOOL, 0, "list only snapshots that are not leaves (with children)" },
    { "metadata", CLI_OPT_BOOL, 0,
      "list only snapshots that have metadata that would prevent undefine" },
    { "no-metadata", CLI_OPT_BOOL, 0, "list only snapshots that have no metadata managed by libvirt" },
    { "inactive", CLI_OPT_BOOL, 0, "filter by snapshots taken while inactive" },
    { "active", CLI_OPT_BOOL, 0, "filter by snapshots taken while active (full system snapshots)" },
    { "disk-only", CLI_OPT_BOOL, 0, "filter by disk-only snapshots" },
    { "internal", CLI_OPT_BOOL, 0, "filter by internal snapshots" },
    { "external", CLI_OPT_BOOL, 0, "filter by external snapshots" },
    { "tree", CLI_OPT_BOOL, 0, "list snapshots in a tree" },
    { "from", CLI_OPT_STRING, 0, "limit list to children of given snapshot" },
    { "current", CLI_OPT_BOOL, 0, "limit list to children of current snapshot" },
    { "descendants", CLI_OPT_BOOL, 0, "with --from, list all descendants" },
    { "name", CLI_OPT_BOOL, 0, "list snapshot names only" },
    { "topological", CLI_OPT_BOOL, 0, "sort list topologically rather than by name" },
    { NULL },
};

static const CliOpt opts_snap[] = {
    CLI_OPT_DOMAIN,
    OPT_SNAPNAME,
    { NULL },
};

static const CliOpt opts_dumpxml[] = {
    CLI_OPT_DOMAIN,
    OPT_SNAPNAME,
    { "security-info", CLI_OPT_BOOL, 0, "include security sensitive information in XML dump" },
    { NULL },
};

static const CliOpt opts_current[] = {
    CLI_OPT_DOMAIN,
    { "name", CLI_OPT_BOOL, 0, "list the name, rather than the full xml" },
    { "security-info", CLI_OPT_BOOL, 0, "include security sensitive information in XML dump" },
    OPT_SNAPNAME_OPT,
    { NULL },
};

static const CliOpt opts_edit[] = {
    CLI_OPT_DOMAIN,
    OPT_SNAPNAME_OPT,
    { "current", CLI_OPT_BOOL, 0, "also set edited snapshot as current" },
    { "rename", CLI_OPT_BOOL, 0, "refused: a snapshot's data stay under its name" },
    { "clone", CLI_OPT_BOOL, 0, "refused: a snapshot's data stay under its name" },
    { NULL },
};

static const CliOpt opts_revert[] = {
    CLI_OPT_DOMAIN,
    OPT_SNAPNAME_OPT,
    { "current", CLI_OPT_BOOL, 0, "revert to current snapshot" },
    { "running", CLI_OPT_BOOL, 0, "after reverting, change state to running" },
    { "paused", CLI_OPT_BOOL, 0, "after reverting, change state to paused" },
    { "force", CLI_OPT_BOOL, 0, "try harder on risky reverts" },
    { NULL },
};

static const CliOpt opts_delete[] = {
    CLI_OPT_DOMAIN,
    OPT_SNAPNAME_OPT,
    { "current", CLI_OPT_BOOL, 0, "delete current snapshot" },
    { "children", CLI_OPT_BOOL, 0, "delete snapshot and all children" },
    { "children-only", CLI_OPT_BOOL, 0, "delete children but not snapshot" },
    { "metadata", CLI_OPT_BOOL, 0, "delete only libvirt metadata, leaving snapshot contents behind" },
    { NULL },
};

const CliCmd cli_cmds_snapshot[] = {
    { "snapshot-create", CLI_GROUP_SNAPSHOT, cmd_snapshot_create, opts_create,
      "Create a snapshot from XML", "Create a snapshot (disk and RAM) from XML" },
    { "snapshot-create-as", CLI_GROUP_SNAPSHOT, cmd_snapshot_create_as, opts_create_as,
      "Create a snapshot from a set of args", "Create a snapshot (disk and RAM) from arguments" },
    { "snapshot-current", CLI_GROUP_SNAPSHOT, cmd_snapshot_current, opts_current,
      "Get or set the current snapshot", "Get or set the current snapshot" },
    { "snapshot-delete", CLI_GROUP_SNAPSHOT, cmd_snapshot_delete, opts_delete,
      "Delete a domain snapshot", "Snapshot Delete" },
    { "snapshot-dumpxml", CLI_GROUP_SNAPSHOT, cmd_snapshot_dumpxml, opts_dumpxml,
      "Dump XML for a domain snapshot", "Snapshot Dump XML" },
    { "snapshot-edit", CLI_GROUP_SNAPSHOT, cmd_snapshot_edit, opts_edit,
      "edit XML for a snapshot", "Edit the domain snapshot XML for a named snapshot" },
    { "snapshot-info", CLI_GROUP_SNAPSHOT, cmd_snapshot_info, opts_snap,
      "snapshot information", "Returns basic information about a snapshot." },
    { "snapshot-list", CLI_GROUP_SNAPSHOT, cmd_snapshot_list, opts_list,
      "List snapshots for a domain", "Snapshot List" },
    { "snapshot-parent", CLI_GROUP_SNAPSHOT, cmd_snapshot_parent, opts_snap,
      "Get the name of the parent of a snapshot",
      "Extract the name of the parent of a snapshot" },
    { "snapshot-revert", CLI_GROUP_SNAPSHOT, cmd_snapshot_revert, opts_revert,
      "Revert a domain to a snapshot", "Revert domain to snapshot" },
    { NULL },
};
