#include "domain_xml_priv.h"

#include <string.h>

/* <serial> and <console> → DomainChrDef, and libvirt's pairing of the two. */

static int
domain_parse_chr_source(DomainChrDef *chr, const xmlNode *node, const char *owner, CvError **err)
{
    static const char *const path_attrs[] = {"path", NULL};
    static const char *const unix_attrs[] = {"mode", "path", NULL};

    if (domain_xml_check_leaf(node, chr->type == DOMAIN_CHR_TYPE_UNIX ? unix_attrs : path_attrs,
                              err) < 0)
        return -1;
    if (chr->type == DOMAIN_CHR_TYPE_PTY)
        return 0; /* a pty's path is live state (the allocated /dev/pts/N): ignored, as libvirt */
    if (chr->type == DOMAIN_CHR_TYPE_UNIX) {
        g_autofree char *mode = domain_xml_attr(node, "mode");
        /* libvirt's default mode is 'connect': Cocoon only listens */
        if (!mode || strcmp(mode, "bind") != 0) {
            domain_xml_unsupported_value(err, owner, "source mode", mode ? mode : "connect");
            return -1;
        }
    }
    if (domain_xml_required_attr(node, "path", &chr->path, err) < 0)
        return -1;
    return domain_xml_check_attr_value(node, "path", chr->path, DOMAIN_XML_VALUE_ABS_PATH, err);
}

static int
domain_parse_chr_target(DomainChrDef *chr, const xmlNode *node, bool console, bool *port_given,
                        CvError **err)
{
    static const char *const attrs[] = {"type", "port", NULL};
    const char *owner = console ? "console" : "serial";
    if (domain_xml_check_leaf(node, attrs, err) < 0)
        return -1;
    g_autofree char *type = domain_xml_attr(node, "type");
    if (type) {
        if (console && strcmp(type, "serial") == 0) {
            chr->target_type = DOMAIN_CHR_TARGET_SERIAL;
        } else if (console && strcmp(type, "virtio") == 0) {
            chr->target_type = DOMAIN_CHR_TARGET_VIRTIO;
        } else if (!console && strcmp(type, "isa-serial") == 0) {
            chr->target_type = DOMAIN_CHR_TARGET_DEFAULT; /* what a serial is anyway */
        } else {
            domain_xml_unsupported_value(err, owner, "target type", type);
            return -1;
        }
    }
    int rc = domain_xml_attr_uint(node, "port", 10, 0, UINT_MAX, &chr->port, err);
    if (rc < 0)
        return -1;
    *port_given = rc > 0;
    return 0;
}

DomainChrDef *
domain_parse_chr(const xmlNode *node, bool console, bool *port_given, CvError **err)
{
    static const char *const attrs[] = {"type", NULL};
    const char *owner = console ? "console" : "serial";
    g_autoptr(DomainChrDef) chr = g_new0(DomainChrDef, 1);
    bool seen_source = false, seen_target = false;

    *port_given = false;
    if (domain_xml_check_attrs(node, attrs, err) < 0)
        return NULL;
    g_autofree char *type = domain_xml_attr(node, "type");
    if (!type || strcmp(type, "pty") == 0) {
        chr->type = DOMAIN_CHR_TYPE_PTY;
    } else if (strcmp(type, "file") == 0) {
        chr->type = DOMAIN_CHR_TYPE_FILE;
    } else if (strcmp(type, "unix") == 0) {
        chr->type = DOMAIN_CHR_TYPE_UNIX;
    } else {
        domain_xml_unsupported_value(err, owner, "type", type);
        return NULL;
    }
    for (const xmlNode *c = node->children; c; c = c->next) {
        int rc;
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (domain_xml_is_element(c, "source"))
            rc = domain_xml_once(c, &seen_source, err) < 0
                     ? -1
                     : domain_parse_chr_source(chr, c, owner, err);
        else if (domain_xml_is_element(c, "target"))
            rc = domain_xml_once(c, &seen_target, err) < 0
                     ? -1
                     : domain_parse_chr_target(chr, c, console, port_given, err);
        else {
            domain_xml_unknown_element(c, err);
            rc = -1;
        }
        if (rc < 0)
            return NULL;
    }
    if (chr->type != DOMAIN_CHR_TYPE_PTY && !chr->path) {
        domain_xml_missing_element(node, "source", err);
        return NULL;
    }
    return g_steal_pointer(&chr);
}

static DomainChrDef *
domain_chr_def_copy(const DomainChrDef *src)
{
    DomainChrDef *copy = g_new0(DomainChrDef, 1);
    *copy = *src;
    copy->path = g_strdup(src->path);
    return copy;
}

/*
 * libvirt's pairing of <serial> and <console>: a console whose target is 'serial' is the same
 * device as the serial with its port. A lone serial-targeted console becomes serials[0]; a
 * serial with no console at all gets the mirror console libvirt prints.
 */
void
domain_parse_chr_pairing(DomainDef *def)
{
    for (size_t i = 0; i < def->nconsoles; i++)
        if (def->consoles[i]->target_type == DOMAIN_CHR_TARGET_DEFAULT)
            def->consoles[i]->target_type = DOMAIN_CHR_TARGET_SERIAL;

    if (def->nserials == 0) {
        for (size_t i = 0; i < def->nconsoles; i++) {
            if (def->consoles[i]->target_type == DOMAIN_CHR_TARGET_SERIAL) {
                DomainChrDef *serial = domain_chr_def_copy(def->consoles[i]);
                serial->target_type = DOMAIN_CHR_TARGET_DEFAULT;
                DOMAIN_APPEND(def->serials, def->nserials, serial);
                break;
            }
        }
    } else if (def->nconsoles == 0) {
        DomainChrDef *mirror = domain_chr_def_copy(def->serials[0]);
        mirror->target_type = DOMAIN_CHR_TARGET_SERIAL;
        DOMAIN_APPEND(def->consoles, def->nconsoles, mirror);
    }
}
