#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "driver/backend.h"
#include "util/cv_error.h"
#include "xml/domain_def.h"

/*
 * What the FC and CH backends share word for word: the lifecycle actions both honour, the
 * defaults of BackendLowerCtx (which TAP an interface opens, which file a disk is), and how
 * their logs are searched.
 */

/**
 * backend_common_validate_lifecycle: refuse an <on_poweroff>, <on_reboot> or <on_crash> action
 * other than destroy or restart ("… is not supported by the <backend_name> backend").
 * Returns 0, or -1 with *err (VIR_ERR_CONFIG_UNSUPPORTED).
 */
int backend_common_validate_lifecycle(const DomainDef *def, const char *backend_name,
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
