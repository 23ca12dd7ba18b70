#pragma once

#include <stddef.h>

#include "driver/backend.h"
#include "util/cv_error.h"
#include "xml/domain_def.h"

/*
 * What the FC and CH backends share word for word: the lifecycle actions both honour, and the
 * defaults of BackendLowerCtx (which TAP an interface opens, which file a disk is).
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
