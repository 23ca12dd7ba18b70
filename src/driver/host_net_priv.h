#pragma once

#include <glib.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>
#include <netlink/socket.h>

#include "util/cv_error.h"
#include "xml/domain_def.h"

/*
 * Internals shared by host_net.c (TAP and link) and host_net_addr.c (addresses and routes).
 * Not part of the driver's API.
 */

typedef struct nl_addr HostNlAddr;
typedef struct rtnl_link HostNlLink;
typedef struct rtnl_addr HostNlIfAddr;
typedef struct rtnl_route HostNlRoute;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HostNlAddr, nl_addr_put)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HostNlLink, rtnl_link_put)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HostNlIfAddr, rtnl_addr_put)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HostNlRoute, rtnl_route_put)

/*
 * A rtnetlink socket that remembers the errno of the kernel's last refusal: libnl maps it to
 * its own, coarser codes, and our messages carry the kernel's words.
 */
typedef struct {
    struct nl_sock *sk;
    int kernel_errno; /* of the last NLMSG_ERROR; reset by host_nl_begin */
} HostNl;

/** host_nl_open: connect nl to NETLINK_ROUTE. 0, or -1 with *err. */
int host_nl_open(HostNl *nl, CvError **err);

/** host_nl_close: release nl (an unopened one too). */
void host_nl_close(HostNl *nl);

/** host_nl_begin: forget the last kernel errno before a request. */
void host_nl_begin(HostNl *nl);

/**
 * host_nl_error: set *err for libnl result rc (< 0) of the request just made: a system
 * error with the kernel's errno when the kernel refused it, else libnl's own text.
 */
void host_nl_error(HostNl *nl, int rc, CvError **err, const char *fmt, ...) G_GNUC_PRINTF(4, 5);

/** host_nl_is_errno: whether the request just made failed with errnum from the kernel. */
gboolean host_nl_is_errno(HostNl *nl, int rc, int errnum);

/*
 * What host_net_addrs_apply/host_net_routes_apply added to a TAP that existed before, so a
 * later failure can take exactly that away again (a TAP we created is simply deleted).
 */
typedef struct {
    GPtrArray *addrs;  /* HostNlIfAddr, owned */
    GPtrArray *routes; /* HostNlRoute, owned */
} HostNetUndo;

/** host_net_undo_init: an empty undo list. */
void host_net_undo_init(HostNetUndo *undo);

/** host_net_undo_run: remove what undo recorded (routes, then addresses), best effort. */
void host_net_undo_run(HostNl *nl, HostNetUndo *undo);

/** host_net_undo_clear: free undo's records without acting on them. */
void host_net_undo_clear(HostNetUndo *undo);

/**
 * host_net_addrs_apply: add net's <ip> addresses to TAP tap (ifindex). An address the TAP
 * has already is left alone; each one added is recorded in undo. 0, or -1 with *err.
 */
int host_net_addrs_apply(HostNl *nl, const char *tap, int ifindex, const DomainNetDef *net,
                         HostNetUndo *undo, CvError **err);

/**
 * host_net_routes_apply: add net's <route>s through TAP tap (ifindex), main table. A route
 * that exists already is left alone; each one added is recorded in undo. 0, or -1 with *err.
 */
int host_net_routes_apply(HostNl *nl, const char *tap, int ifindex, const DomainNetDef *net,
                          HostNetUndo *undo, CvError **err);

/**
 * host_net_prefix_default: the prefix libvirt assumes for an address given without one:
 * 0 for the unspecified address (a default route), 64 for IPv6, else the IPv4 class
 * (8, 16 or 24; 32 beyond class C).
 */
unsigned int host_net_prefix_default(const HostNlAddr *addr, unsigned int prefix);
