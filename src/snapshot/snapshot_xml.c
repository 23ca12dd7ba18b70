#include "snapshot_xml.h"

#include <errno.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdlib.h>
#include <string.h>

static const char *const location_names[SNAPSHOT_XML_LOCATION_LAST] = {
    [SNAPSHOT_XML_LOCATION_DEFAULT] = NULL,
    [SNAPSHOT_XML_LOCATION_NO] = "no",
    [SNAPSHOT_XML_LOCATION_INTERNAL] = "internal",
    [SNAPSHOT_XML_LOCATION_EXTERNAL] = "external",
    [SNAPSHOT_XML_LOCATION_MANUAL] = "manual",
};

const char *
snapshot_xml_location_to_string(SnapshotXmlLocation loc)
{
    return loc < SNAPSHOT_XML_LOCATION_LAST ? location_names[loc] : NULL;
}

static int
location_parse(const char *s, SnapshotXmlLocation *ret)
{
    for (int i = 1; i < SNAPSHOT_XML_LOCATION_LAST; i++)
        if (strcmp(s, location_names[i]) == 0) {
            *ret = i;
            return 0;
        }
    return -1;
}

static void
xml_disk_free(gpointer p)
{
    SnapshotXmlDisk *d = p;
    g_free(d->name);
    g_free(d->source);
    g_free(d);
}

void
snapshot_xml_request_free(SnapshotXmlRequest *req)
{
    if (!req)
        return;
    g_free(req->name);
    g_free(req->description);
    g_free(req->memory_file);
    g_ptr_array_unref(req->disks);
    g_free(req->state);
    g_free(req->parent);
    g_free(req->domain_xml);
    g_free(req);
}

/* ---- parse -------------------------------------------------------------------------------- */

static bool
is_el(const xmlNode *n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

static char *
node_text(const xmlNode *n)
{
    xmlChar *c = xmlNodeGetContent(n);
    char *s = g_strdup(c ? (const char *)c : "");
    xmlFree(c);
    return s;
}

static char *
node_attr(const xmlNode *n, const char *name)
{
    xmlChar *c = xmlGetNoNsProp(n, (const xmlChar *)name);
    char *s = c ? g_strdup((const char *)c) : NULL;
    xmlFree(c);
    return s;
}

/* "element <X> in <P> is not supported" */
static int
xml_unknown(CvError **err, const xmlNode *n, const char *parent)
{
    cv_error_set(err, VIR_FROM_DOMAIN_SNAPSHOT, VIR_ERR_XML_ERROR,
                 "element <%s> in <%s> is not supported", (const char *)n->name, parent);
    return -1;
}

/* An element that may appear once: a second one is an error, not a silent overwrite. */
static int
xml_once(CvError **err, const xmlNode *n, const void *field, const char *parent)
{
    if (!field)
        return 0;
    cv_error_set(err, VIR_FROM_DOMAIN_SNAPSHOT, VIR_ERR_XML_ERROR,
                 "element <%s> is given more than once in <%s>", (const char *)n->name, parent);
    return -1;
}

static int
parse_location(const xmlNode *n, SnapshotXmlLocation *ret, CvError **err)
{
    g_autofree char *s = node_attr(n, "snapshot");
    if (s && location_parse(s, ret) < 0) {
        cv_error_set(err, VIR_FROM_DOMAIN_SNAPSHOT, VIR_ERR_XML_ERROR,
                     "unknown snapshot location '%s' in <%s>", s, (const char *)n->name);
        return -1;
    }
    return 0;
}

static int
parse_disks(SnapshotXmlRequest *req, const xmlNode *disks, CvError **err)
{
    for (const xmlNode *n = disks->children; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (!is_el(n, "disk"))
            return xml_unknown(err, n, "disks");
        SnapshotXmlDisk *d = g_new0(SnapshotXmlDisk, 1);
        g_ptr_array_add(req->disks, d);
        if (!(d->name = node_attr(n, "name"))) {
            cv_error_set(err, VIR_FROM_DOMAIN_SNAPSHOT, VIR_ERR_XML_ERROR,
                         "missing attribute 'name' of <disk> in <disks>");
            return -1;
        }
        if (parse_location(n, &d->snapshot, err) < 0)
            return -1;
        for (const xmlNode *c = n->children; c; c = c->next) {
            if (!is_el(c, "source"))
                continue;
            if (xml_once(err, c, d->source, "disk") < 0)
                return -1;
            d->source = node_attr(c, "file");
        }
    }
    return 0;
}

static int
parse_time(SnapshotXmlRequest *req, const xmlNode *n, CvError **err)
{
    g_autofree char *t = node_text(n);
    char *end = NULL;
    errno = 0;
    long long v = strtoll(t, &end, 10);
    if (errno || !*t || *end || v < 0) {
        cv_error_set(err, VIR_FROM_DOMAIN_SNAPSHOT, VIR_ERR_XML_ERROR,
                     "invalid value '%s' for <creationTime>", t);
        return -1;
    }
    req->created = v;
    return 0;
}

/* The <domain> element as its own document's text. */
static char *
domain_text(xmlDoc *doc, xmlNode *n)
{
    xmlBuffer *buf = xmlBufferCreate();
    xmlNodeDump(buf, doc, n, 0, 0);
    g_auto(GStrv) lines = g_strsplit((const char *)xmlBufferContent(buf), "\n", -1);
    xmlBufferFree(buf);
    /* the element starts at its tag; what follows keeps the indentation of the document it
     * was nested in: take off what all its lines share, so that a load and a save give back
     * the text that was stored */
    size_t strip = G_MAXSIZE;
    for (size_t i = 1; lines[i]; i++)
        if (*lines[i])
            strip = MIN(strip, strspn(lines[i], " "));
    GString *out = g_string_new(lines[0]);
    for (size_t i = 1; lines[i]; i++) {
        g_string_append_c(out, '\n');
        g_string_append(out, lines[i] + MIN(strip, strlen(lines[i])));
    }
    g_string_append_c(out, '\n');
    return g_string_free(out, FALSE);
}

static int
parse_child(SnapshotXmlRequest *req, xmlDoc *doc, xmlNode *n, CvError **err)
{
    if (is_el(n, "name")) {
        if (xml_once(err, n, req->name, "domainsnapshot") < 0)
            return -1;
        req->name = node_text(n);
    } else if (is_el(n, "description")) {
        if (xml_once(err, n, req->description, "domainsnapshot") < 0)
            return -1;
        req->description = node_text(n);
    } else if (is_el(n, "state")) {
        if (xml_once(err, n, req->state, "domainsnapshot") < 0)
            return -1;
        req->state = node_text(n);
    } else if (is_el(n, "creationTime")) {
        return parse_time(req, n, err);
    } else if (is_el(n, "parent")) {
        for (xmlNode *c = n->children; c; c = c->next) {
            if (!is_el(c, "name"))
                continue;
            if (xml_once(err, c, req->parent, "parent") < 0)
                return -1;
            req->parent = node_text(c);
        }
    } else if (is_el(n, "memory")) {
        if (xml_once(err, n, req->memory_file, "domainsnapshot") < 0)
            return -1;
        req->memory_file = node_attr(n, "file");
        if (parse_location(n, &req->memory, err) < 0)
            return -1;
        if (req->memory_file && req->memory == SNAPSHOT_XML_LOCATION_DEFAULT)
            req->memory = SNAPSHOT_XML_LOCATION_EXTERNAL;
    } else if (is_el(n, "disks")) {
        return parse_disks(req, n, err);
    } else if (is_el(n, "domain")) {
        if (xml_once(err, n, req->domain_xml, "domainsnapshot") < 0)
            return -1;
        req->domain_xml = domain_text(doc, n);
    } else if (is_el(n, "active") || is_el(n, "cookie") || is_el(n, "inactiveDomain")) {
        /* libvirt's own bookkeeping: nothing Cocoon keeps */
    } else {
        return xml_unknown(err, n, "domainsnapshot");
    }
    return 0;
}

SnapshotXmlRequest *
snapshot_xml_parse(const char *xml, CvError **err)
{
    xmlDoc *doc = xmlReadMemory(xml, (int)strlen(xml), "domainsnapshot.xml", NULL,
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc) {
        const xmlError *e = xmlGetLastError();
        g_autofree char *msg = g_strstrip(g_strdup(e && e->message ? e->message : "malformed XML"));
        cv_error_set(err, VIR_FROM_DOMAIN_SNAPSHOT, VIR_ERR_XML_ERROR,
                     "(domain_snapshot_definition):%d: %s", e ? e->line : 0, msg);
        return NULL;
    }
    g_autoptr(SnapshotXmlRequest) req = g_new0(SnapshotXmlRequest, 1);
    req->disks = g_ptr_array_new_with_free_func(xml_disk_free);
    req->created = -1;
    xmlNode *root = xmlDocGetRootElement(doc);
    int rc = 0;
    if (!root || !is_el(root, "domainsnapshot")) {
        cv_error_set(err, VIR_FROM_DOMAIN_SNAPSHOT, VIR_ERR_XML_ERROR,
                     "unexpected root element <%s>, expecting <domainsnapshot>",
                     root ? (const char *)root->name : "");
        rc = -1;
    }
    for (xmlNode *n = root ? root->children : NULL; n && rc == 0; n = n->next)
        if (n->type == XML_ELEMENT_NODE)
            rc = parse_child(req, doc, n, err);
    xmlFreeDoc(doc);
    return rc < 0 ? NULL : g_steal_pointer(&req);
}

/* ---- format ------------------------------------------------------------------------------- */

/* pre + value (escaped) + post */
static void
append_escaped(GString *out, const char *pre, const char *value, const char *post)
{
    g_autofree char *esc = g_markup_escape_text(value, -1);
    g_string_append(out, pre);
    g_string_append(out, esc);
    g_string_append(out, post);
}

/* The memory file the XML names: FC's memory, or CH's memory-ranges in its folder. */
static char *
format_memory_path(const SnapshotMeta *m)
{
    if (m->memory_file)
        return snapshot_meta_path(m, m->memory_file);
    if (m->ch_dir) {
        g_autofree char *rel = g_build_filename(m->ch_dir, "memory-ranges", NULL);
        return snapshot_meta_path(m, rel);
    }
    return NULL;
}

static void
format_disks(GString *out, const SnapshotMeta *m)
{
    if (m->disks->len == 0)
        return;
    g_string_append(out, "  <disks>\n");
    for (guint i = 0; i < m->disks->len; i++) {
        const SnapshotDisk *d = m->disks->pdata[i];
        append_escaped(out, "    <disk name='", d->target, "'");
        if (!d->file) {
            g_string_append(out, " snapshot='no'/>\n");
            continue;
        }
        g_autofree char *path = snapshot_meta_path(m, d->file);
        g_string_append(out, " snapshot='external' type='file'>\n");
        append_escaped(out, "      <source file='", path, "'/>\n");
        g_string_append(out, "    </disk>\n");
    }
    g_string_append(out, "  </disks>\n");
}

static void
format_domain(GString *out, const char *xml)
{
    g_auto(GStrv) lines = g_strsplit(xml, "\n", -1);
    for (size_t i = 0; lines[i]; i++)
        if (*lines[i])
            g_string_append_printf(out, "  %s\n", lines[i]);
}

char *
snapshot_xml_format(const SnapshotMeta *m)
{
    GString *out = g_string_new("<domainsnapshot>\n");
    append_escaped(out, "  <name>", m->name, "</name>\n");
    if (m->description)
        append_escaped(out, "  <description>", m->description, "</description>\n");
    append_escaped(out, "  <state>", m->state, "</state>\n");
    if (m->parent) {
        g_string_append(out, "  <parent>\n");
        append_escaped(out, "    <name>", m->parent, "</name>\n");
        g_string_append(out, "  </parent>\n");
    }
    g_string_append_printf(out, "  <creationTime>%lld</creationTime>\n", m->created);
    g_autofree char *mem = format_memory_path(m);
    if (mem)
        append_escaped(out, "  <memory snapshot='external' file='", mem, "'/>\n");
    else
        g_string_append(out, "  <memory snapshot='no'/>\n");
    format_disks(out, m);
    if (m->domain_xml)
        format_domain(out, m->domain_xml);
    g_string_append(out, "</domainsnapshot>\n");
    return g_string_free(out, FALSE);
}
