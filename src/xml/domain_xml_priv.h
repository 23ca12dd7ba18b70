#pragma once

#include <libxml/tree.h>
#include <stdbool.h>

#include "xml/domain_def.h"

/*
 * Internal helpers shared by the domain XML parser files (domain_parse*.c, domain_xml_util.c).
 * Not part of the xml layer's API. Every helper that can fail sets *err exactly once, with
 * VIR_FROM_DOMAIN and the message shapes the parser promises:
 *   element <X> in <P> is not supported               (unknown element)
 *   attribute 'a' of <X> in <P> is not supported      (unknown attribute)
 *   <owner> what 'value' is not supported              (unsupported value)
 *   invalid value 'v' for <X> / for attribute 'a' of <X> in <P>   (bad number, uuid, MAC…)
 *   missing element <X> in <P> / missing attribute 'a' of <X> in <P>
 */

/** domain_xml_parent_name: the name of node's parent element, or NULL at the root. */
const char *domain_xml_parent_name(const xmlNode *node);

/** domain_xml_is_element: node is an element named name with no namespace. */
bool domain_xml_is_element(const xmlNode *node, const char *name);

/** domain_xml_check_attrs: refuse any attribute not in the NULL-terminated allowed list. */
int domain_xml_check_attrs(const xmlNode *node, const char *const *allowed, CvError **err);

/** domain_xml_check_no_children: refuse any child element (node is a leaf). */
int domain_xml_check_no_children(const xmlNode *node, CvError **err);

/** domain_xml_check_leaf: check_attrs + check_no_children. */
int domain_xml_check_leaf(const xmlNode *node, const char *const *allowed, CvError **err);

/** domain_xml_unknown_element: set the "element <X> in <P> is not supported" error. */
void domain_xml_unknown_element(const xmlNode *node, CvError **err);

/** domain_xml_unsupported_value: "<owner> what 'value' is not supported". */
void domain_xml_unsupported_value(CvError **err, const char *owner, const char *what,
                                  const char *value);

/** domain_xml_invalid_attr: "invalid value 'v' for attribute 'a' of <X> in <P>". */
void domain_xml_invalid_attr(const xmlNode *node, const char *attr, const char *value,
                             CvError **err);

/** domain_xml_invalid_text: "invalid value 'v' for <X>". */
void domain_xml_invalid_text(const xmlNode *node, const char *value, CvError **err);

/** domain_xml_missing_attr: "missing attribute 'a' of <X> in <P>". */
void domain_xml_missing_attr(const xmlNode *node, const char *attr, CvError **err);

/** domain_xml_missing_element: "missing element <name> in <P>". */
void domain_xml_missing_element(const xmlNode *parent, const char *name, CvError **err);

/** domain_xml_duplicate_element: "element <X> in <P> is given more than once". */
void domain_xml_duplicate_element(const xmlNode *node, CvError **err);

/** domain_xml_attr: the value of attribute name (no namespace), g_malloc'ed, or NULL. */
char *domain_xml_attr(const xmlNode *node, const char *name);

/**
 * domain_xml_text: the text of a leaf element (refuses child elements), g_malloc'ed;
 * "" when empty.
 */
int domain_xml_text(const xmlNode *node, char **ret_text, CvError **err);

/** domain_xml_parse_uint: a whole unsigned decimal (base 10) or any base (0); 0 or -1. */
int domain_xml_parse_uint(const char *str, int base, unsigned long long max,
                          unsigned long long *ret);

/**
 * domain_xml_attr_uint: optional unsigned attribute; *ret untouched when absent.
 * Values above max, or below min, are invalid. Returns 1 when present, 0 absent, -1 error.
 */
int domain_xml_attr_uint(const xmlNode *node, const char *attr, int base, unsigned long long min,
                         unsigned long long max, unsigned int *ret, CvError **err);

/**
 * domain_xml_attr_yesno: optional boolean attribute with the two spellings given
 * ("yes"/"no" or "on"/"off"); *ret untouched when absent. 1 present, 0 absent, -1 error.
 */
int domain_xml_attr_yesno(const xmlNode *node, const char *attr, const char *yes, const char *no,
                          bool *ret, CvError **err);

/**
 * domain_xml_scale_kib: value with a libvirt unit (NULL = default_unit) converted to KiB,
 * rounded up. node names the element for errors. 0 or -1.
 */
int domain_xml_scale_kib(const xmlNode *node, const char *value, const char *unit,
                         const char *default_unit, unsigned long long *ret_kib, CvError **err);

/** domain_mac_parse: parse "52:54:00:ab:cd:ef" into its canonical lower-case form. */
int domain_mac_parse(const char *str, char **ret_mac);

/** domain_mac_generate: 52:54:00:xx:xx:xx derived from the uuid and the interface index. */
char *domain_mac_generate(const unsigned char uuid[DOMAIN_UUID_LEN], size_t index);

/** domain_lifecycle_action_from_string: the action for libvirt's spelling, or -1. */
int domain_lifecycle_action_from_string(const char *str);

/** domain_xml_once: a child element that may appear at most once (*seen tracks it). 0 or -1. */
int domain_xml_once(const xmlNode *node, bool *seen, CvError **err);

/** domain_xml_flag: a flag element such as <readonly/>: empty, at most once; sets *field. */
int domain_xml_flag(const xmlNode *node, bool *field, CvError **err);

/** domain_xml_required_attr: *ret = the attribute's value (g_malloc'ed), or "missing". */
int domain_xml_required_attr(const xmlNode *node, const char *attr, char **ret, CvError **err);

/* append item to a (array, count) pair of pointers */
#define DOMAIN_APPEND(array, count, item)                                                          \
    do {                                                                                           \
        (array) = g_renew(__typeof__(*(array)), (array), (count) + 1);                             \
        (array)[(count)++] = (item);                                                               \
    } while (0)

/** domain_parse_net: one <interface>. A new DomainNetDef, or NULL with *err set. */
DomainNetDef *domain_parse_net(const xmlNode *node, CvError **err);

/**
 * domain_parse_chr: one <serial> (console false) or <console>; *port_given tells whether
 * <target port> was written. A new DomainChrDef, or NULL with *err set.
 */
DomainChrDef *domain_parse_chr(const xmlNode *node, bool console, bool *port_given, CvError **err);

/** domain_parse_chr_pairing: libvirt's serial/console pairing, after all devices are read. */
void domain_parse_chr_pairing(DomainDef *def);

/** domain_parse_devices: parse <devices> into def. 0 or -1. */
int domain_parse_devices(DomainDef *def, const xmlNode *devices, CvError **err);

/* <cputune> and <memtune> (domain_parse_tune.c); seen: set once (a second is refused). */
int domain_parse_cputune(DomainDef *def, const xmlNode *node, bool *seen, CvError **err);
int domain_parse_memtune(DomainDef *def, const xmlNode *node, bool *seen, CvError **err);

/* <features> and <clock> (domain_parse_features.c); seen: set once (a second is refused). */
int domain_parse_features(DomainDef *def, const xmlNode *node, bool *seen, CvError **err);
int domain_parse_clock(DomainDef *def, const xmlNode *node, bool *seen, CvError **err);

/** domain_chr_def_free, domain_*_def_free: free one device (NULL-safe). */
void domain_disk_def_free(DomainDiskDef *disk);
void domain_net_def_free(DomainNetDef *net);
void domain_chr_def_free(DomainChrDef *chr);
void domain_rng_def_free(DomainRNGDef *rng);
void domain_fs_def_free(DomainFSDef *fs);
void domain_hostdev_def_free(DomainHostdevDef *hostdev);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(DomainDiskDef, domain_disk_def_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DomainNetDef, domain_net_def_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DomainChrDef, domain_chr_def_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DomainRNGDef, domain_rng_def_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DomainFSDef, domain_fs_def_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DomainHostdevDef, domain_hostdev_def_free)

/* The value shapes libvirt's schema (domain.rng) demands for what Cocoon prints. */
typedef enum {
    DOMAIN_XML_VALUE_ABS_PATH,     /* absFilePath: "/" and at least one more character */
    DOMAIN_XML_VALUE_ABS_DIR,      /* absDirPath: starts with "/" */
    DOMAIN_XML_VALUE_PATH,         /* filePath: not empty */
    DOMAIN_XML_VALUE_DEVICE_NAME,  /* deviceName: [a-zA-Z0-9_.\-\\:/]+ */
    DOMAIN_XML_VALUE_GENERIC_NAME, /* genericName: [a-zA-Z0-9_+\-]+ */
    DOMAIN_XML_VALUE_MACHINE,      /* [a-zA-Z0-9_.\-]+ */
    DOMAIN_XML_VALUE_DISK_TARGET,  /* (fd|hd|sd|vd|xvd|ubd)[a-zA-Z0-9_]+ */
    DOMAIN_XML_VALUE_DISK_SERIAL,  /* [A-Za-z0-9_.+\- ]+ */
} DomainXmlValueKind;

/** domain_xml_value_ok: whether value has the shape kind asks for (no newlines in any). */
bool domain_xml_value_ok(DomainXmlValueKind kind, const char *value);

/**
 * domain_xml_check_attr_value: an attribute's value (may be NULL = absent, accepted) has the
 * shape kind; otherwise "invalid value" naming the attribute. 0 or -1.
 */
int domain_xml_check_attr_value(const xmlNode *node, const char *attr, const char *value,
                                DomainXmlValueKind kind, CvError **err);

/** domain_xml_check_text_value: the same for an element's text. 0 or -1. */
int domain_xml_check_text_value(const xmlNode *node, const char *value, DomainXmlValueKind kind,
                                CvError **err);
