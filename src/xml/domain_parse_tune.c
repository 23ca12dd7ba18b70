#include <string.h>

#include "domain_xml_priv.h"

/*
 * <cputune> and <memtune>: the few knobs a cgroup can enforce on a VMM process. The ranges are
 * libvirt's: shares 2..262144, period 1000..1000000 us, quota -1 (none) or 1000..2^44-1 us.
 */

#define TUNE_SHARES_MIN 2ULL
#define TUNE_SHARES_MAX 262144ULL
#define TUNE_PERIOD_MIN 1000ULL
#define TUNE_PERIOD_MAX 1000000ULL
#define TUNE_QUOTA_MIN 1000ULL
#define TUNE_QUOTA_MAX 17592186044415ULL

/* A leaf's unsigned text within [min, max]; 0 or -1. */
static int
tune_uint(const xmlNode *node, unsigned long long min, unsigned long long max,
          unsigned long long *ret, CvError **err)
{
    static const char *const no_attrs[] = {NULL};
    g_autofree char *text = NULL;
    if (domain_xml_check_attrs(node, no_attrs, err) < 0 || domain_xml_text(node, &text, err) < 0)
        return -1;
    g_strstrip(text);
    if (domain_xml_parse_uint(text, 10, max, ret) < 0 || *ret < min) {
        domain_xml_invalid_text(node, text, err);
        return -1;
    }
    return 0;
}

/* <quota>: -1 (or any negative, as libvirt) for none, else a number of microseconds. */
static int
tune_quota(const xmlNode *node, long long *ret, CvError **err)
{
    static const char *const no_attrs[] = {NULL};
    g_autofree char *text = NULL;
    unsigned long long v = 0;
    if (domain_xml_check_attrs(node, no_attrs, err) < 0 || domain_xml_text(node, &text, err) < 0)
        return -1;
    g_strstrip(text);
    if (text[0] == '-' && domain_xml_parse_uint(text + 1, 10, TUNE_QUOTA_MAX, &v) == 0 && v > 0) {
        *ret = -1;
        return 0;
    }
    if (domain_xml_parse_uint(text, 10, TUNE_QUOTA_MAX, &v) < 0 || v < TUNE_QUOTA_MIN) {
        domain_xml_invalid_text(node, text, err);
        return -1;
    }
    *ret = (long long)v;
    return 0;
}

int
domain_parse_cputune(DomainDef *def, const xmlNode *node, bool *seen, CvError **err)
{
    static const char *const no_attrs[] = {NULL};
    bool seen_shares = false, seen_period = false, seen_quota = false;
    if (domain_xml_once(node, seen, err) < 0 || domain_xml_check_attrs(node, no_attrs, err) < 0)
        return -1;
    for (const xmlNode *c = node->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        unsigned long long v = 0;
        int rc;
        if (domain_xml_is_element(c, "shares")) {
            rc = domain_xml_once(c, &seen_shares, err);
            if (rc == 0 && (rc = tune_uint(c, TUNE_SHARES_MIN, TUNE_SHARES_MAX, &v, err)) == 0)
                def->cpu_shares = (unsigned int)v;
        } else if (domain_xml_is_element(c, "period")) {
            rc = domain_xml_once(c, &seen_period, err);
            if (rc == 0)
                rc = tune_uint(c, TUNE_PERIOD_MIN, TUNE_PERIOD_MAX, &def->cpu_period_us, err);
        } else if (domain_xml_is_element(c, "quota")) {
            rc = domain_xml_once(c, &seen_quota, err);
            if (rc == 0)
                rc = tune_quota(c, &def->cpu_quota_us, err);
        } else {
            domain_xml_unknown_element(c, err);
            rc = -1;
        }
        if (rc < 0)
            return -1;
    }
    return 0;
}

int
domain_parse_memtune(DomainDef *def, const xmlNode *node, bool *seen, CvError **err)
{
    static const char *const no_attrs[] = {NULL};
    static const char *const unit_attrs[] = {"unit", NULL};
    bool seen_hard = false;
    if (domain_xml_once(node, seen, err) < 0 || domain_xml_check_attrs(node, no_attrs, err) < 0)
        return -1;
    for (const xmlNode *c = node->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (!domain_xml_is_element(c, "hard_limit")) {
            domain_xml_unknown_element(c, err);
            return -1;
        }
        g_autofree char *text = NULL;
        g_autofree char *unit = NULL;
        if (domain_xml_once(c, &seen_hard, err) < 0 ||
            domain_xml_check_attrs(c, unit_attrs, err) < 0 || domain_xml_text(c, &text, err) < 0)
            return -1;
        unit = domain_xml_attr(c, "unit");
        g_strstrip(text);
        if (domain_xml_scale_kib(c, text, unit, "KiB", &def->mem_hard_limit_kib, err) < 0)
            return -1;
        if (def->mem_hard_limit_kib == 0) {
            domain_xml_invalid_text(c, text, err);
            return -1;
        }
    }
    return 0;
}
