#include "host_net_priv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/rtnetlink.h>
#include <netlink/addr.h>
#include <netlink/errno.h>
#include <netlink/route/nexthop.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>

/* Netlink plumbing: the socket and how its failures become CvErrors. */

static int
host_nl_err_cb(struct sockaddr_nl *nla, struct nlmsgerr *nlerr, void *arg)
{
    HostNl *nl = arg;
    nl->kernel_errno = -nlerr->error;
    /* NL_STOP still makes the request fail with libnl's code; we keep the errno as well */
    return NL_STOP;
}

int
host_nl_open(HostNl *nl, CvError **err)
{
    nl->kernel_errno = 0;
    struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);
    if (!cb)
        g_error("out of memory");
    nl_cb_err(cb, NL_CB_CUSTOM, host_nl_err_cb, nl);
    nl->sk = nl_socket_alloc_cb(cb);
    nl_cb_put(cb);
    if (!nl->sk)
        g_error("out of memory");
    /* libnl opens its socket with SOCK_CLOEXEC */
    int rc = nl_connect(nl->sk, NETLINK_ROUTE);
    if (rc < 0) {
        host_nl_error(nl, rc, err, "cannot open a rtnetlink socket");
        nl_socket_free(nl->sk);
        nl->sk = NULL;
        return -1;
    }
    return 0;
}

void
host_nl_close(HostNl *nl)
{
    if (nl->sk)
        nl_socket_free(nl->sk);
    nl->sk = NULL;
}

void
host_nl_begin(HostNl *nl)
{
    nl->kernel_errno = 0;
}

/*
 * The errno behind libnl result rc. Most requests go through our error callback; lookups
 * (rtnl_link_get_kernel) install their own and leave only libnl's code, mapped back here for
 * the errors a lookup meets.
 */
static int
host_nl_errno(HostNl *nl, int rc)
{
    if (nl->kernel_errno > 0)
        return nl->kernel_errno;
    switch (-rc) {
    case NLE_NODEV:
        return ENODEV;
    case NLE_OBJ_NOTFOUND:
        return ENOENT;
    case NLE_PERM:
        return EPERM;
    case NLE_NOACCESS:
        return EACCES;
    case NLE_EXIST:
        return EEXIST;
    case NLE_BUSY:
        return EBUSY;
    case NLE_OPNOTSUPP:
        return EOPNOTSUPP;
    case NLE_RANGE:
        return ERANGE;
    default:
        return 0;
    }
}

gboolean
host_nl_is_errno(HostNl *nl, int rc, int errnum)
{
    return rc < 0 && host_nl_errno(nl, rc) == errnum;
}

void
host_nl_error(HostNl *nl, int rc, CvError **err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *text = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    int errnum = host_nl_errno(nl, rc);
    if (errnum > 0)
        cv_error_set_errno(err, VIR_FROM_NONE, errnum, "%s", text);
    else
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_INTERNAL_ERROR, "%s: %s", text, nl_geterror(rc));
}

/* Undo records. */

void
host_net_undo_init(HostNetUndo *undo)
{
    undo->addrs = g_ptr_array_new_with_free_func((GDestroyNotify)rtnl_addr_put);
    undo->routes = g_ptr_array_new_with_free_func((GDestroyNotify)rtnl_route_put);
}

void
host_net_undo_clear(HostNetUndo *undo)
{
    g_clear_pointer(&undo->addrs, g_ptr_array_unref);
    g_clear_pointer(&undo->routes, g_ptr_array_unref);
}

void
host_net_undo_run(HostNl *nl, HostNetUndo *undo)
{
    for (guint i = undo->routes->len; i > 0; i--)
        rtnl_route_delete(nl->sk, g_ptr_array_index(undo->routes, i - 1), 0);
    for (guint i = undo->addrs->len; i > 0; i--)
        rtnl_addr_delete(nl->sk, g_ptr_array_index(undo->addrs, i - 1), 0);
    g_ptr_array_set_size(undo->routes, 0);
    g_ptr_array_set_size(undo->addrs, 0);
}

/* Addresses and routes. */

unsigned int
host_net_prefix_default(const HostNlAddr *addr, unsigned int prefix)
{
    if (prefix > 0)
        return prefix;
    if (nl_addr_iszero(addr))
        return 0;
    if (nl_addr_get_family(addr) == AF_INET6)
        return 64;
    const unsigned char *b = nl_addr_get_binary_addr(addr);
    if (b[0] < 128)
        return 8;
    if (b[0] < 192)
        return 16;
    if (b[0] < 224)
        return 24;
    return 32;
}

/* Parse text as an address of family (AF_INET/AF_INET6) for messages about tap. */
static HostNlAddr *
host_net_addr_parse(const char *text, int family, const char *what, const char *tap, CvError **err)
{
    HostNlAddr *a = NULL;
    /* a prefix comes in its own attribute, and words like "default" are not addresses */
    if (!text || strchr(text, '/') || nl_addr_parse(text, family, &a) < 0 ||
        nl_addr_get_family(a) != family || nl_addr_get_len(a) != (family == AF_INET6 ? 16u : 4u)) {
        if (a)
            nl_addr_put(a);
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_CONFIG_UNSUPPORTED,
                     "invalid %s %s '%s' for TAP '%s'", family == AF_INET6 ? "IPv6" : "IPv4", what,
                     text ? text : "", tap);
        return NULL;
    }
    return a;
}

static int
host_net_addr_add(HostNl *nl, const char *tap, int ifindex, const DomainNetIPDef *ip,
                  HostNetUndo *undo, CvError **err)
{
    int family = ip->is_ipv6 ? AF_INET6 : AF_INET;
    g_autoptr(HostNlAddr) local = host_net_addr_parse(ip->address, family, "address", tap, err);
    if (!local)
        return -1;
    g_autoptr(HostNlAddr) peer = NULL;
    if (ip->peer && !(peer = host_net_addr_parse(ip->peer, family, "peer", tap, err)))
        return -1;
    unsigned int prefix = host_net_prefix_default(local, ip->prefix);
    if (prefix > (family == AF_INET6 ? 128u : 32u)) {
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_CONFIG_UNSUPPORTED,
                     "invalid prefix %u for address '%s' of TAP '%s'", prefix, ip->address, tap);
        return -1;
    }

    g_autoptr(HostNlIfAddr) addr = rtnl_addr_alloc();
    if (!addr)
        g_error("out of memory");
    rtnl_addr_set_ifindex(addr, ifindex);
    rtnl_addr_set_family(addr, family);
    nl_addr_set_prefixlen(local, (int)prefix);
    rtnl_addr_set_local(addr, local);
    rtnl_addr_set_prefixlen(addr, (int)prefix);
    if (peer) {
        nl_addr_set_prefixlen(peer, (int)prefix);
        rtnl_addr_set_peer(addr, peer);
    } else if (family == AF_INET && prefix < 31) {
        /* the broadcast address of the subnet, as `ip addr add … brd +` would set */
        guint32 host;
        memcpy(&host, nl_addr_get_binary_addr(local), sizeof(host));
        host = htonl(ntohl(host) | (prefix ? 0xffffffffu >> prefix : 0xffffffffu));
        g_autoptr(HostNlAddr) brd = nl_addr_build(AF_INET, &host, sizeof(host));
        if (!brd)
            g_error("out of memory");
        rtnl_addr_set_broadcast(addr, brd);
    }

    host_nl_begin(nl);
    int rc = rtnl_addr_add(nl->sk, addr, NLM_F_EXCL);
    if (host_nl_is_errno(nl, rc, EEXIST))
        return 0; /* the TAP has it already: not ours to remove later */
    if (rc < 0) {
        host_nl_error(nl, rc, err, "cannot add address '%s/%u' to TAP '%s'", ip->address, prefix,
                      tap);
        return -1;
    }
    g_ptr_array_add(undo->addrs, g_steal_pointer(&addr));
    return 0;
}

int
host_net_addrs_apply(HostNl *nl, const char *tap, int ifindex, const DomainNetDef *net,
                     HostNetUndo *undo, CvError **err)
{
    for (size_t i = 0; i < net->nips; i++) {
        if (host_net_addr_add(nl, tap, ifindex, &net->ips[i], undo, err) < 0)
            return -1;
    }
    return 0;
}

static int
host_net_route_add(HostNl *nl, const char *tap, int ifindex, const DomainNetRouteDef *def,
                   HostNetUndo *undo, CvError **err)
{
    int family = def->is_ipv6 ? AF_INET6 : AF_INET;
    g_autoptr(HostNlAddr) dst =
        host_net_addr_parse(def->address, family, "route address", tap, err);
    if (!dst)
        return -1;
    g_autoptr(HostNlAddr) gw = NULL;
    if (def->gateway && !(gw = host_net_addr_parse(def->gateway, family, "gateway", tap, err)))
        return -1;
    unsigned int prefix = host_net_prefix_default(dst, def->prefix);
    if (prefix > (family == AF_INET6 ? 128u : 32u)) {
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_CONFIG_UNSUPPORTED,
                     "invalid prefix %u for route '%s' of TAP '%s'", prefix, def->address, tap);
        return -1;
    }
    nl_addr_set_prefixlen(dst, (int)prefix);

    g_autoptr(HostNlRoute) route = rtnl_route_alloc();
    struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
    if (!route || !nh)
        g_error("out of memory");
    rtnl_route_set_family(route, (uint8_t)family);
    rtnl_route_set_dst(route, dst);
    rtnl_route_set_table(route, RT_TABLE_MAIN);
    rtnl_route_set_protocol(route, RTPROT_BOOT);
    rtnl_route_set_type(route, RTN_UNICAST);
    rtnl_route_set_scope(route, gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK);
    rtnl_route_nh_set_ifindex(nh, ifindex);
    if (gw)
        rtnl_route_nh_set_gateway(nh, gw);
    rtnl_route_add_nexthop(route, nh); /* the route owns nh now */

    host_nl_begin(nl);
    int rc = rtnl_route_add(nl->sk, route, NLM_F_EXCL);
    if (host_nl_is_errno(nl, rc, EEXIST))
        return 0;
    if (rc < 0) {
        if (gw)
            host_nl_error(nl, rc, err, "cannot add route to '%s/%u' via '%s' on TAP '%s'",
                          def->address, prefix, def->gateway, tap);
        else
            host_nl_error(nl, rc, err, "cannot add route to '%s/%u' on TAP '%s'", def->address,
                          prefix, tap);
        return -1;
    }
    g_ptr_array_add(undo->routes, g_steal_pointer(&route));
    return 0;
}

int
host_net_routes_apply(HostNl *nl, const char *tap, int ifindex, const DomainNetDef *net,
                      HostNetUndo *undo, CvError **err)
{
    for (size_t i = 0; i < net->nroutes; i++) {
        if (host_net_route_add(nl, tap, ifindex, &net->routes[i], undo, err) < 0)
            return -1;
    }
    return 0;
}
