#include "domain_xml_priv.h"

#include <arpa/inet.h>
#include <string.h>

/* <interface type='ethernet|bridge'> → DomainNetDef. */

#define XML_ERR(err, ...) cv_error_set(err, VIR_FROM_DOMAIN, VIR_ERR_XML_ERROR, __VA_ARGS__)

/* An IP address attribute; is_ipv6 tells which family it is. */
static int
domain_parse_ip_attr(const xmlNode *node, const char *attr, bool required, char **ret,
                     bool *is_ipv6, CvError **err)
{
    unsigned char buf[sizeof(struct in6_addr)];
    g_autofree char *value = domain_xml_attr(node, attr);
    if (!value) {
        if (required) {
            domain_xml_missing_attr(node, attr, err);
            return -1;
        }
        return 0;
    }
    if (inet_pton(AF_INET, value, buf) == 1) {
        *is_ipv6 = false;
    } else if (inet_pton(AF_INET6, value, buf) == 1) {
        *is_ipv6 = true;
    } else {
        domain_xml_invalid_attr(node, attr, value, err);
        return -1;
    }
    *ret = g_steal_pointer(&value);
    return 0;
}

/* family='ipv4|ipv6' must agree with the address; the prefix must fit the family. */
static int
domain_parse_ip_family(const xmlNode *node, bool is_ipv6, unsigned int *prefix, CvError **err)
{
    g_autofree char *family = domain_xml_attr(node, "family");
    if (family) {
        if (strcmp(family, "ipv4") != 0 && strcmp(family, "ipv6") != 0) {
            domain_xml_unsupported_value(err, (const char *)node->name, "family", family);
            return -1;
        }
        if ((strcmp(family, "ipv6") == 0) != is_ipv6) {
            domain_xml_invalid_attr(node, "family", family, err);
            return -1;
        }
    }
    return domain_xml_attr_uint(node, "prefix", 10, 0, is_ipv6 ? 128 : 32, prefix, err) < 0 ? -1
                                                                                            : 0;
}

static int
domain_parse_net_ip(DomainNetDef *net, const xmlNode *node, CvError **err)
{
    static const char *const attrs[] = {"address", "prefix", "peer", "family", NULL};
    DomainNetIPDef ip = {0};
    bool peer_ipv6 = false;
    if (domain_xml_check_leaf(node, attrs, err) < 0 ||
        domain_parse_ip_attr(node, "address", true, &ip.address, &ip.is_ipv6, err) < 0)
        return -1;
    if (domain_parse_ip_family(node, ip.is_ipv6, &ip.prefix, err) < 0 ||
        domain_parse_ip_attr(node, "peer", false, &ip.peer, &peer_ipv6, err) < 0) {
        g_free(ip.address);
        return -1;
    }
    if (ip.peer && peer_ipv6 != ip.is_ipv6) {
        domain_xml_invalid_attr(node, "peer", ip.peer, err);
        g_free(ip.address);
        g_free(ip.peer);
        return -1;
    }
    net->ips = g_renew(DomainNetIPDef, net->ips, net->nips + 1);
    net->ips[net->nips++] = ip;
    return 0;
}

static int
domain_parse_net_route(DomainNetDef *net, const xmlNode *node, CvError **err)
{
    static const char *const attrs[] = {"family", "address", "prefix", "gateway", NULL};
    DomainNetRouteDef route = {0};
    bool gateway_ipv6 = false;
    if (domain_xml_check_leaf(node, attrs, err) < 0 ||
        domain_parse_ip_attr(node, "address", true, &route.address, &route.is_ipv6, err) < 0)
        return -1;
    if (domain_parse_ip_family(node, route.is_ipv6, &route.prefix, err) < 0 ||
        domain_parse_ip_attr(node, "gateway", true, &route.gateway, &gateway_ipv6, err) < 0) {
        g_free(route.address);
        return -1;
    }
    if (gateway_ipv6 != route.is_ipv6) {
        domain_xml_invalid_attr(node, "gateway", route.gateway, err);
        g_free(route.address);
        g_free(route.gateway);
        return -1;
    }
    net->routes = g_renew(DomainNetRouteDef, net->routes, net->nroutes + 1);
    net->routes[net->nroutes++] = route;
    return 0;
}

static int
domain_parse_net_mac(DomainNetDef *net, const xmlNode *node, CvError **err)
{
    static const char *const attrs[] = {"address", NULL};
    g_autofree char *address = NULL;
    if (domain_xml_check_leaf(node, attrs, err) < 0 ||
        domain_xml_required_attr(node, "address", &address, err) < 0)
        return -1;
    if (domain_mac_parse(address, &net->mac) < 0) {
        domain_xml_invalid_attr(node, "address", address, err);
        return -1;
    }
    if (g_ascii_xdigit_value(net->mac[1]) & 1) {
        XML_ERR(err, "expected unicast mac address, found multicast '%s'", address);
        return -1;
    }
    return 0;
}

static int
domain_parse_net_child(DomainNetDef *net, const xmlNode *c, bool *seen, CvError **err)
{
    static const char *const source_attrs[] = {"bridge", NULL};
    static const char *const target_attrs[] = {"dev", "managed", NULL};
    static const char *const model_attrs[] = {"type", NULL};
    static const char *const driver_attrs[] = {"queues", NULL};
    static const char *const mtu_attrs[] = {"size", NULL};

    if (domain_xml_is_element(c, "mac"))
        return domain_xml_once(c, &seen[0], err) < 0 ? -1 : domain_parse_net_mac(net, c, err);
    if (domain_xml_is_element(c, "source") && net->type == DOMAIN_NET_TYPE_BRIDGE) {
        if (domain_xml_once(c, &seen[1], err) < 0 ||
            domain_xml_check_leaf(c, source_attrs, err) < 0)
            return -1;
        if (domain_xml_required_attr(c, "bridge", &net->bridge, err) < 0)
            return -1;
        return domain_xml_check_attr_value(c, "bridge", net->bridge, DOMAIN_XML_VALUE_DEVICE_NAME,
                                           err);
    }
    if (domain_xml_is_element(c, "target")) {
        bool managed = true;
        if (domain_xml_once(c, &seen[2], err) < 0 ||
            domain_xml_check_leaf(c, target_attrs, err) < 0 ||
            domain_xml_required_attr(c, "dev", &net->target_dev, err) < 0 ||
            domain_xml_check_attr_value(c, "dev", net->target_dev, DOMAIN_XML_VALUE_DEVICE_NAME,
                                        err) < 0 ||
            domain_xml_attr_yesno(c, "managed", "yes", "no", &managed, err) < 0)
            return -1;
        net->target_managed_no = !managed;
        return 0;
    }
    if (domain_xml_is_element(c, "model")) {
        if (domain_xml_once(c, &seen[3], err) < 0 ||
            domain_xml_check_leaf(c, model_attrs, err) < 0 ||
            domain_xml_required_attr(c, "type", &net->model, err) < 0)
            return -1;
        if (strcmp(net->model, "virtio") != 0) {
            domain_xml_unsupported_value(err, "interface", "model", net->model);
            return -1;
        }
        return 0;
    }
    if (domain_xml_is_element(c, "driver")) {
        if (domain_xml_once(c, &seen[4], err) < 0 ||
            domain_xml_check_leaf(c, driver_attrs, err) < 0)
            return -1;
        return domain_xml_attr_uint(c, "queues", 10, 1, UINT_MAX, &net->queues, err) < 0 ? -1 : 0;
    }
    if (domain_xml_is_element(c, "mtu")) {
        if (domain_xml_once(c, &seen[5], err) < 0 || domain_xml_check_leaf(c, mtu_attrs, err) < 0)
            return -1;
        int rc = domain_xml_attr_uint(c, "size", 10, 1, UINT_MAX, &net->mtu, err);
        if (rc == 0)
            domain_xml_missing_attr(c, "size", err);
        return rc <= 0 ? -1 : 0;
    }
    if (domain_xml_is_element(c, "ip"))
        return domain_parse_net_ip(net, c, err);
    if (domain_xml_is_element(c, "route"))
        return domain_parse_net_route(net, c, err);
    domain_xml_unknown_element(c, err);
    return -1;
}

DomainNetDef *
domain_parse_net(const xmlNode *node, CvError **err)
{
    static const char *const attrs[] = {"type", NULL};
    g_autoptr(DomainNetDef) net = g_new0(DomainNetDef, 1);
    g_autofree char *type = NULL;
    bool seen[6] = {false};

    if (domain_xml_check_attrs(node, attrs, err) < 0 ||
        domain_xml_required_attr(node, "type", &type, err) < 0)
        return NULL;
    if (strcmp(type, "ethernet") == 0) {
        net->type = DOMAIN_NET_TYPE_ETHERNET;
    } else if (strcmp(type, "bridge") == 0) {
        net->type = DOMAIN_NET_TYPE_BRIDGE;
    } else {
        domain_xml_unsupported_value(err, "interface", "type", type);
        return NULL;
    }
    for (const xmlNode *c = node->children; c; c = c->next) {
        if (c->type == XML_ELEMENT_NODE && domain_parse_net_child(net, c, seen, err) < 0)
            return NULL;
    }
    if (net->type == DOMAIN_NET_TYPE_BRIDGE && !net->bridge) {
        domain_xml_missing_element(node, "source", err);
        return NULL;
    }
    return g_steal_pointer(&net);
}
