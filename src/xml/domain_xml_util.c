#include "domain_xml_priv.h"

#include <errno.h>
#include <libxml/xmlstring.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/*
 * Small strict-reading helpers for the domain XML parser: each element's attributes and
 * children are checked against what Cocoon honours, and every refusal carries the same wording.
 */

#define XML_ERR(err, ...) cv_error_set(err, VIR_FROM_DOMAIN, VIR_ERR_XML_ERROR, __VA_ARGS__)
#define UNSUPPORTED(err, ...)                                                                      \
    cv_error_set(err, VIR_FROM_DOMAIN, VIR_ERR_CONFIG_UNSUPPORTED, __VA_ARGS__)

const char *
domain_xml_parent_name(const xmlNode *node)
{
    if (!node->parent || node->parent->type != XML_ELEMENT_NODE)
        return NULL;
    return (const char *)node->parent->name;
}

bool
domain_xml_is_element(const xmlNode *node, const char *name)
{
    return node->type == XML_ELEMENT_NODE && node->ns == NULL &&
           strcmp((const char *)node->name, name) == 0;
}

/* "<X> in <P>" or "<X>" at the root; the element's prefix is kept so a foreign-namespace
 * element is named as written. */
static char *
domain_xml_where(const xmlNode *node)
{
    const char *parent = domain_xml_parent_name(node);
    g_autofree char *name = NULL;
    if (node->ns && node->ns->prefix)
        name = g_strdup_printf("%s:%s", node->ns->prefix, node->name);
    else
        name = g_strdup((const char *)node->name);
    if (parent)
        return g_strdup_printf("<%s> in <%s>", name, parent);
    return g_strdup_printf("<%s>", name);
}

void
domain_xml_unknown_element(const xmlNode *node, CvError **err)
{
    g_autofree char *where = domain_xml_where(node);
    UNSUPPORTED(err, "element %s is not supported", where);
}

void
domain_xml_duplicate_element(const xmlNode *node, CvError **err)
{
    g_autofree char *where = domain_xml_where(node);
    XML_ERR(err, "element %s is given more than once", where);
}

int
domain_xml_check_attrs(const xmlNode *node, const char *const *allowed, CvError **err)
{
    for (const xmlAttr *attr = node->properties; attr; attr = attr->next) {
        bool known = false;
        if (!attr->ns) {
            for (size_t i = 0; allowed && allowed[i]; i++) {
                if (strcmp((const char *)attr->name, allowed[i]) == 0) {
                    known = true;
                    break;
                }
            }
        }
        if (!known) {
            g_autofree char *where = domain_xml_where(node);
            if (attr->ns && attr->ns->prefix)
                UNSUPPORTED(err, "attribute '%s:%s' of %s is not supported",
                            (const char *)attr->ns->prefix, (const char *)attr->name, where);
            else
                UNSUPPORTED(err, "attribute '%s' of %s is not supported", (const char *)attr->name,
                            where);
            return -1;
        }
    }
    return 0;
}

int
domain_xml_check_no_children(const xmlNode *node, CvError **err)
{
    for (const xmlNode *child = node->children; child; child = child->next) {
        if (child->type == XML_ELEMENT_NODE) {
            domain_xml_unknown_element(child, err);
            return -1;
        }
    }
    return 0;
}

int
domain_xml_check_leaf(const xmlNode *node, const char *const *allowed, CvError **err)
{
    if (domain_xml_check_attrs(node, allowed, err) < 0)
        return -1;
    return domain_xml_check_no_children(node, err);
}

void
domain_xml_unsupported_value(CvError **err, const char *owner, const char *what, const char *value)
{
    UNSUPPORTED(err, "<%s> %s '%s' is not supported", owner, what, value);
}

void
domain_xml_invalid_attr(const xmlNode *node, const char *attr, const char *value, CvError **err)
{
    g_autofree char *where = domain_xml_where(node);
    XML_ERR(err, "invalid value '%s' for attribute '%s' of %s", value, attr, where);
}

void
domain_xml_invalid_text(const xmlNode *node, const char *value, CvError **err)
{
    XML_ERR(err, "invalid value '%s' for <%s>", value, (const char *)node->name);
}

void
domain_xml_missing_attr(const xmlNode *node, const char *attr, CvError **err)
{
    g_autofree char *where = domain_xml_where(node);
    XML_ERR(err, "missing attribute '%s' of %s", attr, where);
}

void
domain_xml_missing_element(const xmlNode *parent, const char *name, CvError **err)
{
    XML_ERR(err, "missing element <%s> in <%s>", name, (const char *)parent->name);
}

char *
domain_xml_attr(const xmlNode *node, const char *name)
{
    xmlChar *value = xmlGetNoNsProp(node, (const xmlChar *)name);
    if (!value)
        return NULL;
    char *copy = g_strdup((const char *)value);
    xmlFree(value);
    return copy;
}

int
domain_xml_text(const xmlNode *node, char **ret_text, CvError **err)
{
    if (domain_xml_check_no_children(node, err) < 0)
        return -1;
    xmlChar *content = xmlNodeGetContent(node);
    *ret_text = g_strdup(content ? (const char *)content : "");
    xmlFree(content);
    return 0;
}

int
domain_xml_parse_uint(const char *str, int base, unsigned long long max, unsigned long long *ret)
{
    if (!str)
        return -1;
    while (g_ascii_isspace(*str))
        str++;
    /* strtoull accepts a sign; a size or a count never has one */
    if (!g_ascii_isxdigit(*str))
        return -1;
    errno = 0;
    char *end = NULL;
    unsigned long long value = strtoull(str, &end, base);
    if (errno != 0 || end == str)
        return -1;
    while (g_ascii_isspace(*end))
        end++;
    if (*end != '\0' || value > max)
        return -1;
    *ret = value;
    return 0;
}

int
domain_xml_attr_uint(const xmlNode *node, const char *attr, int base, unsigned long long min,
                     unsigned long long max, unsigned int *ret, CvError **err)
{
    g_autofree char *str = domain_xml_attr(node, attr);
    unsigned long long value = 0;
    if (!str)
        return 0;
    if (domain_xml_parse_uint(str, base, max > UINT_MAX ? UINT_MAX : max, &value) < 0 ||
        value < min) {
        domain_xml_invalid_attr(node, attr, str, err);
        return -1;
    }
    *ret = (unsigned int)value;
    return 1;
}

int
domain_xml_attr_yesno(const xmlNode *node, const char *attr, const char *yes, const char *no,
                      bool *ret, CvError **err)
{
    g_autofree char *str = domain_xml_attr(node, attr);
    if (!str)
        return 0;
    if (strcmp(str, yes) == 0) {
        *ret = true;
    } else if (strcmp(str, no) == 0) {
        *ret = false;
    } else {
        domain_xml_invalid_attr(node, attr, str, err);
        return -1;
    }
    return 1;
}

/* libvirt's unit spellings, case-insensitively: b/bytes; k, KiB (1024) and KB (1000); and the
 * same pattern for M, G, T, P, E. */
static int
domain_xml_unit_bytes(const char *unit, unsigned long long *ret)
{
    static const char prefixes[] = "kmgtpe";
    if (g_ascii_strcasecmp(unit, "b") == 0 || g_ascii_strcasecmp(unit, "bytes") == 0) {
        *ret = 1;
        return 0;
    }
    const char *p = strchr(prefixes, g_ascii_tolower(unit[0]));
    if (unit[0] == '\0' || !p)
        return -1;
    unsigned int power = (unsigned int)(p - prefixes) + 1;
    unsigned long long base;
    const char *rest = unit + 1;
    if (*rest == '\0' || g_ascii_strcasecmp(rest, "ib") == 0)
        base = 1024;
    else if (g_ascii_strcasecmp(rest, "b") == 0)
        base = 1000;
    else
        return -1;
    unsigned long long scale = 1;
    for (unsigned int i = 0; i < power; i++)
        scale *= base;
    *ret = scale;
    return 0;
}

int
domain_xml_scale_kib(const xmlNode *node, const char *value, const char *unit,
                     const char *default_unit, unsigned long long *ret_kib, CvError **err)
{
    unsigned long long number = 0;
    unsigned long long scale = 0;
    const char *u = unit ? unit : default_unit;
    if (domain_xml_unit_bytes(u, &scale) < 0) {
        domain_xml_invalid_attr(node, "unit", u, err);
        return -1;
    }
    if (domain_xml_parse_uint(value, 10, ULLONG_MAX, &number) < 0) {
        domain_xml_invalid_text(node, value, err);
        return -1;
    }
    /* the size in bytes must fit in 64 bits, as in libvirt */
    if (number > ULLONG_MAX / scale)
        goto overflow;
    unsigned long long bytes = number * scale;
    unsigned long long kib = bytes / 1024 + (bytes % 1024 != 0);
    *ret_kib = kib;
    return 0;

overflow:
    XML_ERR(err, "value '%s' %s of <%s> is too large", value, u, (const char *)node->name);
    return -1;
}

int
domain_mac_parse(const char *str, char **ret_mac)
{
    unsigned int bytes[6];
    const char *p = str;
    for (int i = 0; i < 6; i++) {
        unsigned int value = 0;
        int digits = 0;
        while (g_ascii_isxdigit(*p) && digits < 3) {
            value = value * 16 + (unsigned int)g_ascii_xdigit_value(*p);
            p++;
            digits++;
        }
        if (digits == 0 || digits > 2)
            return -1;
        bytes[i] = value;
        if (i < 5) {
            if (*p != ':')
                return -1;
            p++;
        }
    }
    if (*p != '\0')
        return -1;
    *ret_mac = g_strdup_printf("%02x:%02x:%02x:%02x:%02x:%02x", bytes[0], bytes[1], bytes[2],
                               bytes[3], bytes[4], bytes[5]);
    return 0;
}

char *
domain_mac_generate(const unsigned char uuid[DOMAIN_UUID_LEN], size_t index)
{
    g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);
    char idx[32];
    guint8 digest[32];
    gsize len = sizeof(digest);

    /* the index as decimal text keeps the derivation independent of byte order */
    g_snprintf(idx, sizeof(idx), "%zu", index);
    g_checksum_update(sum, uuid, DOMAIN_UUID_LEN);
    g_checksum_update(sum, (const guchar *)idx, (gssize)strlen(idx));
    g_checksum_get_digest(sum, digest, &len);
    return g_strdup_printf("52:54:00:%02x:%02x:%02x", digest[0], digest[1], digest[2]);
}

static bool
domain_xml_chars_ok(const char *value, const char *extra)
{
    if (!value || !*value)
        return false;
    for (const char *p = value; *p; p++)
        if (!g_ascii_isalnum(*p) && !strchr(extra, *p))
            return false;
    return true;
}

bool
domain_xml_value_ok(DomainXmlValueKind kind, const char *value)
{
    if (!value || strpbrk(value, "\n\r"))
        return false;
    switch (kind) {
    case DOMAIN_XML_VALUE_ABS_PATH:
        return value[0] == '/' && value[1] != '\0';
    case DOMAIN_XML_VALUE_ABS_DIR:
        return value[0] == '/';
    case DOMAIN_XML_VALUE_PATH:
        return value[0] != '\0';
    case DOMAIN_XML_VALUE_DEVICE_NAME:
        return domain_xml_chars_ok(value, "_.-\\:/");
    case DOMAIN_XML_VALUE_GENERIC_NAME:
        return domain_xml_chars_ok(value, "_+-");
    case DOMAIN_XML_VALUE_MACHINE:
        return domain_xml_chars_ok(value, "_.-");
    case DOMAIN_XML_VALUE_DISK_SERIAL:
        return domain_xml_chars_ok(value, "_.+- ");
    case DOMAIN_XML_VALUE_DISK_TARGET: {
        static const char *const prefixes[] = {"fd", "hd", "sd", "vd", "xvd", "ubd"};
        const char *rest = g_str_has_prefix(value, "ioemu:") ? value + 6 : value;
        for (size_t i = 0; i < G_N_ELEMENTS(prefixes); i++)
            if (g_str_has_prefix(rest, prefixes[i]) &&
                domain_xml_chars_ok(rest + strlen(prefixes[i]), "_"))
                return true;
        return false;
    }
    }
    return false;
}

int
domain_xml_check_attr_value(const xmlNode *node, const char *attr, const char *value,
                            DomainXmlValueKind kind, CvError **err)
{
    if (!value || domain_xml_value_ok(kind, value))
        return 0;
    domain_xml_invalid_attr(node, attr, value, err);
    return -1;
}

int
domain_xml_check_text_value(const xmlNode *node, const char *value, DomainXmlValueKind kind,
                            CvError **err)
{
    if (!value || domain_xml_value_ok(kind, value))
        return 0;
    domain_xml_invalid_text(node, value, err);
    return -1;
}

int
domain_xml_once(const xmlNode *node, bool *seen, CvError **err)
{
    if (*seen) {
        domain_xml_duplicate_element(node, err);
        return -1;
    }
    *seen = true;
    return 0;
}

/* A flag element such as <readonly/>: no attributes, no children, at most once. */
int
domain_xml_flag(const xmlNode *node, bool *field, CvError **err)
{
    static const char *const no_attrs[] = {NULL};
    if (domain_xml_once(node, field, err) < 0)
        return -1;
    return domain_xml_check_leaf(node, no_attrs, err);
}

int
domain_xml_required_attr(const xmlNode *node, const char *attr, char **ret, CvError **err)
{
    char *value = domain_xml_attr(node, attr);
    if (!value) {
        domain_xml_missing_attr(node, attr, err);
        return -1;
    }
    *ret = value;
    return 0;
}
