#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "driver/backend.h"
#include "util/cv_error.h"
#include "xml/domain_def.h"

/*
 * What the FC and CH backends share word for word: the lifecycle actions both honour, the
 * defaults of BackendLowerCtx (which TAP an interface opens, which file a disk is), how their
 * logs are searched, and the guest's side of <interface> <ip>/<route> as the kernel's ip=
 * parameter.
 */

/**
 * backend_common_validate_lifecycle: refuse an <on_poweroff>, <on_reboot> or <on_crash> action
 * other than destroy or restart ("… is not supported by the <backend_name> backend").
 * Returns 0, or -1 with *err (VIR_ERR_CONFIG_UNSUPPORTED).
 */
int backend_common_validate_lifecycle(const DomainDef *def, const char *backend_name,
                                      CvError **err);

/**
 * backend_common_validate_machine: refuse what neither microVM gives its guest: <apic/> or
 * <pae/> off x86_64, <acpi/> where acpi_ok is false, an HPET or TSC timer, kvmclock turned
 * off. Clock offset utc and the legacy timers' tick policies mean nothing for a guest that
 * keeps time with kvmclock: accepted. 0, or -1 with *err (VIR_ERR_CONFIG_UNSUPPORTED).
 */
int backend_common_validate_machine(const DomainDef *def, const char *backend_name, bool acpi_ok,
                                    CvError **err);

/**
 * backend_common_tap_name: the TAP interface i of def opens: ctx's entry, else its
 * <target dev>, else "vnet<i>". Returns a new string (g_free).
 */
char *backend_common_tap_name(const DomainDef *def, const BackendLowerCtx *ctx, size_t i);

/**
 * backend_common_disk_path: the file disk i of def is opened from: ctx's entry (a transient
 * disk's overlay), else its <source>. Borrowed from ctx or def.
 */
const char *backend_common_disk_path(const DomainDef *def, const BackendLowerCtx *ctx,
                                     size_t i);

/**
 * backend_common_log_has: whether the (VMM log) file at path holds needle; false when it
 * cannot be read.
 */
bool backend_common_log_has(const char *path, const char *needle);

/**
 * backend_common_ip_prefix: the prefix of ip, or the one libvirt assumes when none is given
 * (classful for IPv4, /64 for IPv6); 0 when there is none (IPv4 class D/E).
 */
unsigned int backend_common_ip_prefix(const DomainNetIPDef *ip);

/**
 * backend_common_netmask: the netmask of a prefix in dotted (or IPv6) form; a new string.
 */
char *backend_common_netmask(bool is_ipv6, unsigned int prefix);

/**
 * backend_common_validate_guest_ip: refuse what the kernel's ip= cannot carry for net, the
 * interface at index, in the words "… is not supported by the <backend_name> backend: …".
 * On type='bridge' the host side is the bridge, so <ip> is the guest's address: at most one,
 * IPv4, with direct kernel boot; a <route> only as the IPv4 default route (its gateway).
 * On type='ethernet' <ip> is the host end of the TAP and its peer the guest's end (libvirt's
 * meaning); an IPv4 peer becomes ip= as well. Returns 0, or -1 with *err.
 */
int backend_common_validate_guest_ip(const DomainDef *def, const DomainNetDef *net,
                                     const char *backend_name, CvError **err);

/**
 * backend_common_kernel_ip: "ip=CLIENT::GATEWAY:NETMASK::ethN:off" for the first interface
 * (index N) that gives the guest an IPv4 address — a type='bridge' <ip address>, with the
 * gateway of its default <route>; else a type='ethernet' <ip peer>, with the host end
 * (<ip address>) as gateway. NULL when no interface does, when there is no <kernel>, or when
 * the user's <cmdline> sets ip= itself. A new string.
 */
char *backend_common_kernel_ip(const DomainDef *def);
