#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "util/cv_error.h"
#include "xml/domain_def.h"

/*
 * The host side of a domain's <interface>s, set up before the VMM opens its TAPs and torn
 * down after it exits (netlink through libnl-3, no `ip` commands).
 */

/**
 * host_tap_name: the TAP name interface `index` of domain `domain_name` uses when its
 * <target dev> is absent: at most 15 characters, stable for the domain, unique between
 * domains in practice ("cv" + 8 hex digits of a SHA-256 of the name + "n" + index; from
 * index 10000 on the hash is shortened to stay within 15). New string.
 */
char *host_tap_name(const char *domain_name, size_t index);

/**
 * host_tap_prepare: make TAP `name` ready for net. With <target managed='no'> the TAP must
 * exist already and is left as it is. Otherwise it is created (IFF_TAP | IFF_NO_PI, plus
 * IFF_MULTI_QUEUE when multi_queue) unless it exists, set up, given net->mtu (without one,
 * the bridge's MTU for type bridge), attached to net->bridge for type bridge, and given the
 * host-side <ip> addresses and <route>s.
 * *ret_created tells whether this call created it (only created TAPs are removed later).
 * On failure nothing this call created is left behind: a TAP it created is deleted; on a TAP
 * that existed, the addresses and routes it added are removed and its bridge restored (MTU
 * and up state stay). multi_queue must match how the VMM opens the TAP (CH with more than
 * one queue pair: true; FC: false): the kernel refuses an open whose IFF_MULTI_QUEUE differs
 * from the device's, and an existing TAP that does not match is an error here already.
 * Addresses given without a prefix get libvirt's default (IPv4 class, /64 for IPv6).
 * Errors name the TAP and carry the kernel's errno (VIR_ERR_SYSTEM_ERROR).
 */
int host_tap_prepare(const DomainNetDef *net, const char *name, bool multi_queue,
                     bool *ret_created, CvError **err);

/**
 * host_tap_remove: delete TAP name; a TAP that is already gone is not an error, an interface
 * of that name that is not a TAP is refused (VIR_ERR_OPERATION_INVALID) and left alone.
 */
int host_tap_remove(const char *name, CvError **err);

/**
 * host_netns_enter: switch the calling thread into the network namespace at path (such as
 * /run/netns/X); *ret_self is the one to go back to with host_netns_leave. 0 or -1 with *err.
 */
int host_netns_enter(const char *path, int *ret_self, CvError **err);

/** host_netns_leave: back into the namespace host_netns_enter left (self < 0: nothing). */
void host_netns_leave(int self);

/**
 * host_tap_set_owner: give the existing (persistent) TAP name to uid/gid, so that a process
 * with no CAP_NET_ADMIN running as them may open it (-1, -1: no owner again). With netns (a
 * path such as /run/netns/X), in that network namespace. 0 or -1 with *err.
 */
int host_tap_set_owner(const char *name, long uid, long gid, const char *netns, CvError **err);
