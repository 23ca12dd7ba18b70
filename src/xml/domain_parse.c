#include "domain_xml_priv.h"

#include <libxml/parser.h>
#include <libxml/xmlerror.h>
#include <string.h>

/*
 * Domain XML → DomainDef: loading the document safely, then the top-level elements
 * (<name>, <memory>, <vcpu>, <os>, …). <devices> is in domain_parse_devices.c.
 */

#define XML_ERR(err, ...) cv_error_set(err, VIR_FROM_DOMAIN, VIR_ERR_XML_ERROR, __VA_ARGS__)

/* ---- loading -------------------------------------------------------------------------- */

typedef struct {
    bool doctype;
    int line;
    char *message; /* the first error libxml2 reported */
} DomainParseState;

static void
domain_parse_on_error(void *user, xmlErrorPtr error)
{
    xmlParserCtxtPtr ctxt = user;
    DomainParseState *state = ctxt->_private;
    if (!state || state->message || !error || error->level < XML_ERR_ERROR)
        return;
    state->line = error->line;
    state->message = g_strdup(error->message ? error->message : "unknown error");
    g_strchomp(state->message);
}

/* A DOCTYPE is refused as soon as the parser sees it, before any entity declaration of the
 * internal subset is read: no entity expansion, no external DTD. */
static void
domain_parse_on_doctype(void *user, const xmlChar *name, const xmlChar *external_id,
                        const xmlChar *system_id)
{
    xmlParserCtxtPtr ctxt = user;
    DomainParseState *state = ctxt->_private;
    state->doctype = true;
    xmlStopParser(ctxt);
}

static void
domain_parse_on_entity(void *user, const xmlChar *name, int type, const xmlChar *public_id,
                       const xmlChar *system_id, xmlChar *content)
{
    domain_parse_on_doctype(user, name, public_id, system_id);
}

static xmlDocPtr
domain_parse_document(const char *xml, CvError **err)
{
    DomainParseState state = {0};
    size_t len = strnlen(xml, (size_t)DOMAIN_XML_MAX_SIZE + 1);
    if (len > DOMAIN_XML_MAX_SIZE) {
        XML_ERR(err, "domain XML is larger than %d bytes", DOMAIN_XML_MAX_SIZE);
        return NULL;
    }

    /* libxml2's global set-up is not safe to race: do it once, before any parser runs */
    static gsize initialized = 0;
    if (g_once_init_enter(&initialized)) {
        xmlInitParser();
        g_once_init_leave(&initialized, 1);
    }

    xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
    if (!ctxt) {
        cv_error_set(err, VIR_FROM_DOMAIN, VIR_ERR_INTERNAL_ERROR,
                     "failed to allocate an XML parser context");
        return NULL;
    }
    ctxt->_private = &state;
    ctxt->sax->serror = domain_parse_on_error;
    ctxt->sax->internalSubset = domain_parse_on_doctype;
    ctxt->sax->externalSubset = domain_parse_on_doctype;
    ctxt->sax->entityDecl = domain_parse_on_entity;

    /* no XML_PARSE_NOENT / DTDLOAD / DTDATTR / XINCLUDE: nothing is fetched or expanded */
    xmlDocPtr doc = xmlCtxtReadMemory(ctxt, xml, (int)len, "domain_definition", NULL,
                                      XML_PARSE_NONET | XML_PARSE_NOCDATA);
    if (state.doctype || (doc && (doc->intSubset || doc->extSubset))) {
        XML_ERR(err, "document type declarations (<!DOCTYPE>) are not allowed in domain XML");
        goto fail;
    }
    if (!doc || state.message || !ctxt->wellFormed) {
        cv_error_set(err, VIR_FROM_DOMAIN, VIR_ERR_XML_DETAIL, "(domain_definition):%d: %s",
                     state.line, state.message ? state.message : "failed to parse XML document");
        goto fail;
    }
    if (!xmlDocGetRootElement(doc)) {
        cv_error_set(err, VIR_FROM_DOMAIN, VIR_ERR_XML_DETAIL,
                     "(domain_definition):%d: missing root element",
                     ctxt->input ? ctxt->input->line : 0);
        goto fail;
    }
    g_free(state.message);
    xmlFreeParserCtxt(ctxt);
    return doc;

fail:
    g_free(state.message);
    if (doc)
        xmlFreeDoc(doc);
    xmlFreeParserCtxt(ctxt);
    return NULL;
}

/* ---- top-level elements --------------------------------------------------------------- */

static const char *const no_attrs[] = {NULL};

static int
domain_parse_text_once(const xmlNode *node, char **field, CvError **err)
{
    if (*field) {
        domain_xml_duplicate_element(node, err);
        return -1;
    }
    if (domain_xml_check_attrs(node, no_attrs, err) < 0)
        return -1;
    return domain_xml_text(node, field, err);
}

static int
domain_parse_path_once(const xmlNode *node, char **field, CvError **err)
{
    if (domain_parse_text_once(node, field, err) < 0)
        return -1;
    return domain_xml_check_text_value(node, *field, DOMAIN_XML_VALUE_PATH, err);
}

static int
domain_parse_name(DomainDef *def, const xmlNode *node, CvError **err)
{
    if (domain_parse_text_once(node, &def->name, err) < 0)
        return -1;
    if (def->name[0] == '\0') {
        XML_ERR(err, "empty <name> in <domain>");
        return -1;
    }
    /* a name is a directory and a line of `list`: no tab, newline or other control byte
     * (and none echoed back in the error, where it would reach a terminal) */
    for (const unsigned char *p = (const unsigned char *)def->name; *p; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            XML_ERR(err, "<name> cannot contain control characters");
            return -1;
        }
    }
    if (strchr(def->name, '/')) {
        XML_ERR(err, "name '%s' cannot contain '/'", def->name);
        return -1;
    }
    return domain_xml_check_text_value(node, def->name, DOMAIN_XML_VALUE_PATH, err);
}

static int
domain_parse_title(DomainDef *def, const xmlNode *node, CvError **err)
{
    if (domain_parse_text_once(node, &def->title, err) < 0)
        return -1;
    if (strchr(def->title, '\n')) {
        XML_ERR(err, "<title> cannot contain newlines");
        return -1;
    }
    if (def->title[0] == '\0') /* as libvirt: an empty title is no title */
        g_clear_pointer(&def->title, g_free);
    return 0;
}

static int
domain_parse_uuid(DomainDef *def, const xmlNode *node, bool *seen, CvError **err)
{
    g_autofree char *text = NULL;
    if (*seen) {
        domain_xml_duplicate_element(node, err);
        return -1;
    }
    *seen = true;
    if (domain_xml_check_attrs(node, no_attrs, err) < 0 || domain_xml_text(node, &text, err) < 0)
        return -1;
    if (domain_uuid_parse(text, def->uuid) < 0) {
        domain_xml_invalid_text(node, text, err);
        return -1;
    }
    return 0;
}

/* Removes the whitespace-only text between elements, so re-indenting gives the same bytes
 * whatever the input's layout was. Text inside a leaf element is kept as written. */
static void
domain_parse_strip_blanks(xmlNode *node)
{
    bool has_elements = false;
    for (xmlNode *c = node->children; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE)
            has_elements = true;
    xmlNode *next = NULL;
    for (xmlNode *c = node->children; c; c = next) {
        next = c->next;
        if (c->type == XML_ELEMENT_NODE) {
            domain_parse_strip_blanks(c);
        } else if (has_elements && c->type == XML_TEXT_NODE && xmlIsBlankNode(c)) {
            xmlUnlinkNode(c);
            xmlFreeNode(c);
        }
    }
}

static int
domain_parse_metadata(DomainDef *def, const xmlNode *node, CvError **err)
{
    if (def->metadata) {
        domain_xml_duplicate_element(node, err);
        return -1;
    }
    if (domain_xml_check_attrs(node, no_attrs, err) < 0)
        return -1;
    /* as libvirt's schema: only elements, each in its application's own namespace */
    for (const xmlNode *c = node->children; c; c = c->next) {
        if (c->type == XML_ELEMENT_NODE && !c->ns) {
            XML_ERR(err, "element <%s> in <metadata> must have a namespace", (const char *)c->name);
            return -1;
        }
        if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && !xmlIsBlankNode(c)) {
            XML_ERR(err, "<metadata> may contain only elements, not text");
            return -1;
        }
    }

    /* a private copy in its own document: namespaces declared higher up are re-declared on
     * the copy, and the caller's tree is left alone */
    xmlDocPtr doc = xmlNewDoc((const xmlChar *)"1.0");
    xmlNodePtr copy = doc ? xmlDocCopyNode((xmlNodePtr)node, doc, 1) : NULL;
    xmlBufferPtr buf = xmlBufferCreate();
    if (!doc || !copy || !buf) {
        cv_error_set(err, VIR_FROM_DOMAIN, VIR_ERR_INTERNAL_ERROR, "failed to copy <metadata>");
        goto fail;
    }
    xmlDocSetRootElement(doc, copy);
    domain_parse_strip_blanks(copy);
    /* level 1: the stored text is already indented for its place inside <domain> */
    if (xmlNodeDump(buf, doc, copy, 1, 1) < 0) {
        cv_error_set(err, VIR_FROM_DOMAIN, VIR_ERR_INTERNAL_ERROR,
                     "failed to serialise <metadata>");
        goto fail;
    }
    def->metadata = g_strdup((const char *)xmlBufferContent(buf));
    xmlBufferFree(buf);
    xmlFreeDoc(doc);
    return 0;

fail:
    if (buf)
        xmlBufferFree(buf);
    if (doc)
        xmlFreeDoc(doc);
    return -1;
}

static int
domain_parse_memory(const xmlNode *node, unsigned long long *field, bool *seen, CvError **err)
{
    static const char *const attrs[] = {"unit", NULL};
    g_autofree char *text = NULL;
    g_autofree char *unit = NULL;
    if (*seen) {
        domain_xml_duplicate_element(node, err);
        return -1;
    }
    *seen = true;
    if (domain_xml_check_attrs(node, attrs, err) < 0 || domain_xml_text(node, &text, err) < 0)
        return -1;
    unit = domain_xml_attr(node, "unit");
    if (domain_xml_scale_kib(node, text, unit, "KiB", field, err) < 0)
        return -1;
    if (*field == 0) {
        domain_xml_invalid_text(node, text, err);
        return -1;
    }
    return 0;
}

static int
domain_parse_vcpu(DomainDef *def, const xmlNode *node, bool *seen, CvError **err)
{
    static const char *const attrs[] = {"placement", "current", NULL};
    g_autofree char *text = NULL;
    unsigned long long count = 0;
    if (*seen) {
        domain_xml_duplicate_element(node, err);
        return -1;
    }
    *seen = true;
    if (domain_xml_check_attrs(node, attrs, err) < 0 || domain_xml_text(node, &text, err) < 0)
        return -1;
    if (domain_xml_parse_uint(text, 10, UINT_MAX, &count) < 0 || count == 0) {
        domain_xml_invalid_text(node, text, err);
        return -1;
    }
    def->vcpus = (unsigned int)count;
    def->vcpus_current = def->vcpus;

    g_autofree char *placement = domain_xml_attr(node, "placement");
    if (placement) {
        if (strcmp(placement, "static") != 0 && strcmp(placement, "auto") != 0) {
            domain_xml_unsupported_value(err, "vcpu", "placement", placement);
            return -1;
        }
        def->vcpu_placement = g_steal_pointer(&placement);
    }
    if (domain_xml_attr_uint(node, "current", 10, 1, UINT_MAX, &def->vcpus_current, err) < 0)
        return -1;
    if (def->vcpus_current > def->vcpus) {
        XML_ERR(err, "vcpu current '%u' cannot exceed the maximum '%u'", def->vcpus_current,
                def->vcpus);
        return -1;
    }
    return 0;
}

static int
domain_parse_hugepages(DomainDef *def, const xmlNode *node, CvError **err)
{
    static const char *const page_attrs[] = {"size", "unit", NULL};
    if (def->hugepages) {
        domain_xml_duplicate_element(node, err);
        return -1;
    }
    if (domain_xml_check_attrs(node, no_attrs, err) < 0)
        return -1;
    def->hugepages = true;
    for (const xmlNode *c = node->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (!domain_xml_is_element(c, "page") || def->hugepage_kib != 0) {
            /* one page size for the whole guest: per-NUMA-node sizes are not honoured */
            domain_xml_unknown_element(c, err);
            return -1;
        }
        if (domain_xml_check_leaf(c, page_attrs, err) < 0)
            return -1;
        g_autofree char *size = domain_xml_attr(c, "size");
        g_autofree char *unit = domain_xml_attr(c, "unit");
        if (!size) {
            domain_xml_missing_attr(c, "size", err);
            return -1;
        }
        if (domain_xml_scale_kib(c, size, unit, "KiB", &def->hugepage_kib, err) < 0)
            return -1;
        if (def->hugepage_kib == 0) {
            domain_xml_invalid_attr(c, "size", size, err);
            return -1;
        }
    }
    return 0;
}

static int
domain_parse_memory_backing(DomainDef *def, const xmlNode *node, bool *seen, CvError **err)
{
    static const char *const mode_attrs[] = {"mode", NULL};
    static const char *const type_attrs[] = {"type", NULL};
    bool seen_access = false;
    if (*seen) {
        domain_xml_duplicate_element(node, err);
        return -1;
    }
    *seen = true;
    if (domain_xml_check_attrs(node, no_attrs, err) < 0)
        return -1;
    for (const xmlNode *c = node->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (domain_xml_is_element(c, "hugepages")) {
            if (domain_parse_hugepages(def, c, err) < 0)
                return -1;
        } else if (domain_xml_is_element(c, "access")) {
            if (seen_access) {
                domain_xml_duplicate_element(c, err);
                return -1;
            }
            seen_access = true;
            if (domain_xml_check_leaf(c, mode_attrs, err) < 0)
                return -1;
            g_autofree char *mode = domain_xml_attr(c, "mode");
            if (!mode) {
                domain_xml_missing_attr(c, "mode", err);
                return -1;
            }
            /* 'private' is the default: it needs no field */
            if (strcmp(mode, "shared") == 0) {
                def->memory_shared = true;
            } else if (strcmp(mode, "private") != 0) {
                domain_xml_unsupported_value(err, "access", "mode", mode);
                return -1;
            }
        } else if (domain_xml_is_element(c, "source")) {
            if (def->memory_source) {
                domain_xml_duplicate_element(c, err);
                return -1;
            }
            if (domain_xml_check_leaf(c, type_attrs, err) < 0)
                return -1;
            g_autofree char *type = domain_xml_attr(c, "type");
            if (!type) {
                domain_xml_missing_attr(c, "type", err);
                return -1;
            }
            if (strcmp(type, "memfd") != 0 && strcmp(type, "file") != 0 &&
                strcmp(type, "anonymous") != 0) {
                domain_xml_unsupported_value(err, "source", "type", type);
                return -1;
            }
            def->memory_source = g_steal_pointer(&type);
        } else {
            domain_xml_unknown_element(c, err);
            return -1;
        }
    }
    return 0;
}

static int
domain_parse_os_type(DomainDef *def, const xmlNode *node, CvError **err)
{
    static const char *const attrs[] = {"arch", "machine", NULL};
    if (def->os.type) {
        domain_xml_duplicate_element(node, err);
        return -1;
    }
    if (domain_xml_check_attrs(node, attrs, err) < 0 ||
        domain_xml_text(node, &def->os.type, err) < 0)
        return -1;
    g_strstrip(def->os.type);
    if (strcmp(def->os.type, "hvm") != 0) {
        domain_xml_unsupported_value(err, "os", "type", def->os.type);
        return -1;
    }
    def->os.arch = domain_xml_attr(node, "arch");
    def->os.machine = domain_xml_attr(node, "machine");
    /* the architectures Firecracker and Cloud Hypervisor run on */
    if (def->os.arch && strcmp(def->os.arch, "x86_64") != 0 &&
        strcmp(def->os.arch, "aarch64") != 0 && strcmp(def->os.arch, "riscv64") != 0) {
        domain_xml_unsupported_value(err, "os", "arch", def->os.arch);
        return -1;
    }
    return domain_xml_check_attr_value(node, "machine", def->os.machine, DOMAIN_XML_VALUE_MACHINE,
                                       err);
}

static int
domain_parse_os_loader(DomainDef *def, const xmlNode *node, CvError **err)
{
    static const char *const attrs[] = {"readonly", "type", "secure", NULL};
    if (def->os.loader) {
        domain_xml_duplicate_element(node, err);
        return -1;
    }
    if (domain_xml_check_attrs(node, attrs, err) < 0 ||
        domain_xml_text(node, &def->os.loader, err) < 0 ||
        domain_xml_check_text_value(node, def->os.loader, DOMAIN_XML_VALUE_ABS_PATH, err) < 0)
        return -1;
    if (domain_xml_attr_yesno(node, "readonly", "yes", "no", &def->os.loader_readonly, err) < 0)
        return -1;
    bool secure = false;
    if (domain_xml_attr_yesno(node, "secure", "yes", "no", &secure, err) < 0)
        return -1;
    def->os.loader_secure = domain_xml_attr(node, "secure");
    g_autofree char *type = domain_xml_attr(node, "type");
    if (type) {
        if (strcmp(type, "rom") != 0 && strcmp(type, "pflash") != 0) {
            domain_xml_unsupported_value(err, "loader", "type", type);
            return -1;
        }
        def->os.loader_type = g_steal_pointer(&type);
    }
    return 0;
}

static int
domain_parse_os(DomainDef *def, const xmlNode *node, bool *seen, CvError **err)
{
    static const char *const attrs[] = {"firmware", NULL};
    if (*seen) {
        domain_xml_duplicate_element(node, err);
        return -1;
    }
    *seen = true;
    if (domain_xml_check_attrs(node, attrs, err) < 0)
        return -1;
    g_autofree char *firmware = domain_xml_attr(node, "firmware");
    if (firmware) {
        if (strcmp(firmware, "efi") != 0) {
            domain_xml_unsupported_value(err, "os", "firmware", firmware);
            return -1;
        }
        def->os.firmware_efi = true;
    }
    for (const xmlNode *c = node->children; c; c = c->next) {
        int rc;
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (domain_xml_is_element(c, "type"))
            rc = domain_parse_os_type(def, c, err);
        else if (domain_xml_is_element(c, "loader"))
            rc = domain_parse_os_loader(def, c, err);
        else if (domain_xml_is_element(c, "kernel"))
            rc = domain_parse_path_once(c, &def->os.kernel, err);
        else if (domain_xml_is_element(c, "initrd"))
            rc = domain_parse_path_once(c, &def->os.initrd, err);
        else if (domain_xml_is_element(c, "cmdline"))
            rc = domain_parse_text_once(c, &def->os.cmdline, err);
        else {
            domain_xml_unknown_element(c, err);
            rc = -1;
        }
        if (rc < 0)
            return -1;
    }
    if (!def->os.type) {
        domain_xml_missing_element(node, "type", err);
        return -1;
    }
    return 0;
}

static int
domain_parse_lifecycle(const xmlNode *node, DomainLifecycleAction *field, CvError **err)
{
    g_autofree char *text = NULL;
    if (*field != DOMAIN_LIFECYCLE_ACTION_DEFAULT) {
        domain_xml_duplicate_element(node, err);
        return -1;
    }
    if (domain_xml_check_attrs(node, no_attrs, err) < 0 || domain_xml_text(node, &text, err) < 0)
        return -1;
    g_strstrip(text);
    int action = domain_lifecycle_action_from_string(text);
    bool crash = strcmp((const char *)node->name, "on_crash") == 0;
    if (action < 0 || (!crash && (action == DOMAIN_LIFECYCLE_ACTION_COREDUMP_DESTROY ||
                                  action == DOMAIN_LIFECYCLE_ACTION_COREDUMP_RESTART))) {
        domain_xml_unsupported_value(err, (const char *)node->name, "action", text);
        return -1;
    }
    *field = (DomainLifecycleAction)action;
    return 0;
}

static int
domain_parse_root(DomainDef *def, const xmlNode *root, bool *ret_had_uuid, CvError **err)
{
    static const char *const attrs[] = {"type", "id", NULL};
    bool seen_uuid = false, seen_memory = false, seen_current = false, seen_vcpu = false;
    bool seen_backing = false, seen_os = false, seen_devices = false;
    bool seen_features = false, seen_clock = false, seen_cputune = false, seen_memtune = false;

    if (!domain_xml_is_element(root, "domain")) {
        XML_ERR(err, "expected root element <domain>, found <%s>", (const char *)root->name);
        return -1;
    }
    /* id is live state: accepted and ignored, as libvirt does when defining */
    if (domain_xml_check_attrs(root, attrs, err) < 0)
        return -1;
    g_autofree char *type = domain_xml_attr(root, "type");
    if (!type) {
        domain_xml_missing_attr(root, "type", err);
        return -1;
    }
    if (strcmp(type, "kvm") != 0) {
        domain_xml_unsupported_value(err, "domain", "type", type);
        return -1;
    }

    for (const xmlNode *c = root->children; c; c = c->next) {
        int rc;
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (domain_xml_is_element(c, "name"))
            rc = domain_parse_name(def, c, err);
        else if (domain_xml_is_element(c, "uuid"))
            rc = domain_parse_uuid(def, c, &seen_uuid, err);
        else if (domain_xml_is_element(c, "title"))
            rc = domain_parse_title(def, c, err);
        else if (domain_xml_is_element(c, "description"))
            rc = domain_parse_text_once(c, &def->description, err);
        else if (domain_xml_is_element(c, "metadata"))
            rc = domain_parse_metadata(def, c, err);
        else if (domain_xml_is_element(c, "memory"))
            rc = domain_parse_memory(c, &def->memory_kib, &seen_memory, err);
        else if (domain_xml_is_element(c, "currentMemory"))
            rc = domain_parse_memory(c, &def->current_memory_kib, &seen_current, err);
        else if (domain_xml_is_element(c, "memoryBacking"))
            rc = domain_parse_memory_backing(def, c, &seen_backing, err);
        else if (domain_xml_is_element(c, "vcpu"))
            rc = domain_parse_vcpu(def, c, &seen_vcpu, err);
        else if (domain_xml_is_element(c, "cputune"))
            rc = domain_parse_cputune(def, c, &seen_cputune, err);
        else if (domain_xml_is_element(c, "memtune"))
            rc = domain_parse_memtune(def, c, &seen_memtune, err);
        else if (domain_xml_is_element(c, "os"))
            rc = domain_parse_os(def, c, &seen_os, err);
        else if (domain_xml_is_element(c, "features"))
            rc = domain_parse_features(def, c, &seen_features, err);
        else if (domain_xml_is_element(c, "clock"))
            rc = domain_parse_clock(def, c, &seen_clock, err);
        else if (domain_xml_is_element(c, "on_poweroff"))
            rc = domain_parse_lifecycle(c, &def->on_poweroff, err);
        else if (domain_xml_is_element(c, "on_reboot"))
            rc = domain_parse_lifecycle(c, &def->on_reboot, err);
        else if (domain_xml_is_element(c, "on_crash"))
            rc = domain_parse_lifecycle(c, &def->on_crash, err);
        else if (domain_xml_is_element(c, "devices")) {
            if (seen_devices) {
                domain_xml_duplicate_element(c, err);
                return -1;
            }
            seen_devices = true;
            rc = domain_parse_devices(def, c, err);
        } else {
            domain_xml_unknown_element(c, err);
            rc = -1;
        }
        if (rc < 0)
            return -1;
    }

    if (!def->name) {
        domain_xml_missing_element(root, "name", err);
        return -1;
    }
    if (!seen_memory) {
        domain_xml_missing_element(root, "memory", err);
        return -1;
    }
    if (!seen_os) {
        domain_xml_missing_element(root, "os", err);
        return -1;
    }
    if (!seen_current || def->current_memory_kib > def->memory_kib)
        def->current_memory_kib = def->memory_kib;
    if (!seen_vcpu) {
        def->vcpus = 1;
        def->vcpus_current = 1;
    }
    *ret_had_uuid = seen_uuid;
    return 0;
}

/* ---- after parsing: the values libvirt fills in --------------------------------------- */

static void
domain_def_generate(DomainDef *def, bool had_uuid, unsigned int flags)
{
    if (flags & DOMAIN_DEF_PARSE_NO_GENERATE)
        return;
    if (!had_uuid) {
        g_autofree char *random = g_uuid_string_random();
        if (domain_uuid_parse(random, def->uuid) < 0)
            g_assert_not_reached();
    }
    for (size_t i = 0; i < def->nnets; i++) {
        if (!def->nets[i]->mac) {
            def->nets[i]->mac = domain_mac_generate(def->uuid, i);
            def->nets[i]->mac_generated = true;
        }
    }
}

DomainDef *
domain_def_parse_string(const char *xml, unsigned int flags, CvError **err)
{
    if (!xml) {
        cv_error_set(err, VIR_FROM_DOMAIN, VIR_ERR_INVALID_ARG, "no domain XML given");
        return NULL;
    }
    xmlDocPtr doc = domain_parse_document(xml, err);
    if (!doc)
        return NULL;

    g_autoptr(DomainDef) def = g_new0(DomainDef, 1);
    bool had_uuid = false;
    int rc = domain_parse_root(def, xmlDocGetRootElement(doc), &had_uuid, err);
    xmlFreeDoc(doc);
    if (rc < 0)
        return NULL;
    domain_def_generate(def, had_uuid, flags);
    return g_steal_pointer(&def);
}
