#pragma once

#include <glib.h>

#include "driver/backend.h"
#include "util/cv_error.h"
#include "xml/domain_def.h"

/*
 * The host configuration of the local driver: a GKeyFile at $COCOON_CONFIG, else
 * /etc/cocoon/cocoon.conf (absent is fine: the defaults apply).
 *
 *   [hypervisors]
 *   default=firecracker            # or cloud-hypervisor; the backend when <emulator> is absent
 *   firecracker=/opt/fc/firecracker
 *   cloud-hypervisor=/opt/ch/cloud-hypervisor
 */

typedef struct {
    char *path; /* the file read, or NULL when there was none */
    BackendKind default_kind;
    char *binaries[BACKEND_LAST];       /* [hypervisors] paths; NULL when not configured */
    char *emulator_cache[BACKEND_LAST]; /* memo of cocoon_config_default_emulator */
} CocoonConfig;

/** cocoon_config_default_path: $COCOON_CONFIG, else /etc/cocoon/cocoon.conf (borrowed). */
const char *cocoon_config_default_path(void);

/**
 * cocoon_config_load: read path (NULL: cocoon_config_default_path()). A missing file yields
 * the defaults; a malformed one, or an unknown default, is VIR_ERR_CONFIG_UNSUPPORTED.
 * Returns a new config, or NULL with *err.
 */
CocoonConfig *cocoon_config_load(const char *path, CvError **err);

/** cocoon_config_free: free cfg; accepts NULL. */
void cocoon_config_free(CocoonConfig *cfg);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CocoonConfig, cocoon_config_free)

/** cocoon_config_default_backend: the backend of a definition without <emulator>. */
const CocoonBackend *cocoon_config_default_backend(const CocoonConfig *cfg);

/**
 * cocoon_config_default_emulator: the <emulator> path a definition of backend gets when it
 * has none: the configured path, else the binary found on PATH, else /usr/bin/<name>.
 * Borrowed from cfg (memoised: defining many domains does not search PATH each time).
 */
const char *cocoon_config_default_emulator(CocoonConfig *cfg, const CocoonBackend *backend);

/**
 * cocoon_config_resolve_binary: the binary that runs a domain of backend, first found:
 * the environment override (COCOON_FIRECRACKER / COCOON_CLOUD_HYPERVISOR), the domain's
 * <emulator> (may be NULL) if it exists, the configured path, then PATH.
 * Returns a new string, or NULL with a VIR_ERR_SYSTEM_ERROR (ENOENT) naming what was tried.
 */
char *cocoon_config_resolve_binary(const CocoonConfig *cfg, const CocoonBackend *backend,
                                   const char *emulator, CvError **err);

/**
 * cocoon_config_backend_for_def: the backend of def, by the basename of its <emulator>
 * ("unsupported configuration: emulator '/usr/bin/qemu' is not firecracker or
 * cloud-hypervisor"), or the default backend when it has none, in which case def->emulator
 * is set to cocoon_config_default_emulator(). Returns the backend or NULL with *err.
 */
const CocoonBackend *cocoon_config_backend_for_def(CocoonConfig *cfg, DomainDef *def,
                                                   CvError **err);
