#include <string.h>

#include "domain_xml_priv.h"

/*
 * <features> and <clock>: what libvirt XML says of the machine a guest gets. Parsed are the
 * elements whose meaning a microVM can give (whether a backend honours them is its validator's
 * call); anything else is refused here with its name. Clock offsets other than utc are
 * refused: both VMMs hand the guest the host's UTC time and cannot shift it.
 */

static const char *const timer_names[] = {"rtc", "pit", "hpet", "kvmclock", "tsc", NULL};
static const char *const tick_policies[] = {"delay", "catchup", "merge", "discard", NULL};

int
domain_parse_features(DomainDef *def, const xmlNode *node, bool *seen, CvError **err)
{
    static const char *const no_attrs[] = {NULL};
    if (domain_xml_once(node, seen, err) < 0 || domain_xml_check_attrs(node, no_attrs, err) < 0)
        return -1;
    for (const xmlNode *c = node->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        bool *flag = domain_xml_is_element(c, "acpi")   ? &def->feature_acpi
                     : domain_xml_is_element(c, "apic") ? &def->feature_apic
                     : domain_xml_is_element(c, "pae")  ? &def->feature_pae
                                                        : NULL;
        if (!flag) {
            domain_xml_unknown_element(c, err);
            return -1;
        }
        if (domain_xml_flag(c, flag, err) < 0)
            return -1;
    }
    return 0;
}

static int
domain_parse_timer(DomainDef *def, const xmlNode *c, CvError **err)
{
    static const char *const attrs[] = {"name", "tickpolicy", "present", NULL};
    g_autofree char *name = NULL;
    if (domain_xml_check_leaf(c, attrs, err) < 0 ||
        domain_xml_required_attr(c, "name", &name, err) < 0)
        return -1;
    if (!g_strv_contains(timer_names, name)) {
        domain_xml_unsupported_value(err, "timer", "name", name);
        return -1;
    }
    for (size_t i = 0; i < def->ntimers; i++)
        if (strcmp(def->timers[i].name, name) == 0) {
            domain_xml_duplicate_element(c, err);
            return -1;
        }
    g_autofree char *tick = domain_xml_attr(c, "tickpolicy");
    if (tick && !g_strv_contains(tick_policies, tick)) {
        domain_xml_invalid_attr(c, "tickpolicy", tick, err);
        return -1;
    }
    bool present = true;
    g_autofree char *present_str = domain_xml_attr(c, "present");
    if (domain_xml_attr_yesno(c, "present", "yes", "no", &present, err) < 0)
        return -1;
    def->timers = g_renew(DomainTimerDef, def->timers, def->ntimers + 1);
    def->timers[def->ntimers++] = (DomainTimerDef){
        .name = g_steal_pointer(&name),
        .tickpolicy = g_steal_pointer(&tick),
        .present = present_str ? present : -1,
    };
    return 0;
}

int
domain_parse_clock(DomainDef *def, const xmlNode *node, bool *seen, CvError **err)
{
    static const char *const attrs[] = {"offset", NULL};
    if (domain_xml_once(node, seen, err) < 0 || domain_xml_check_attrs(node, attrs, err) < 0)
        return -1;
    g_autofree char *offset = domain_xml_attr(node, "offset");
    if (!offset) {
        domain_xml_missing_attr(node, "offset", err);
        return -1;
    }
    if (strcmp(offset, "utc") != 0) {
        domain_xml_unsupported_value(err, "clock", "offset", offset);
        return -1;
    }
    def->clock_offset = g_steal_pointer(&offset);
    for (const xmlNode *c = node->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (!domain_xml_is_element(c, "timer")) {
            domain_xml_unknown_element(c, err);
            return -1;
        }
        if (domain_parse_timer(def, c, err) < 0)
            return -1;
    }
    return 0;
}
