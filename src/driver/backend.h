#pragma once

#include <glib.h>

#include "util/cv_error.h"
#include "xml/domain_def.h"

/*
 * A backend is one hypervisor (Firecracker or Cloud Hypervisor) behind a small ops table, one
 * instance per backend folder (fc_backend.c, ch_backend.c). The local driver picks the backend
 * of a domain and never contains hypervisor-specific code.
 *
 * Validation and lowering are pure: no I/O, no clock, no randomness. Whatever depends on the
 * host (where the domain's sockets live, which TAP a NIC got, the overlay of a transient disk,
 * the extracted vmlinux) comes in through BackendLowerCtx, so the golden tests pin the exact
 * output.
 */

typedef struct {
    /* Live directory of the domain (<run>/domains/<name>): API socket, logs, console. */
    const char *run_dir;
    /* Per <interface>, in order: the TAP the VMM opens. NULL (or a NULL entry): the interface's
     * <target dev>, else "vnet<index>". */
    const char *const *tap_names;
    /* Per <disk>, in order: the path the VMM opens (a transient disk's overlay). NULL (or a
     * NULL entry): the disk's <source>. */
    const char *const *disk_paths;
    /* FC: the uncompressed vmlinux to boot (extracted from a bzImage). NULL: <os><kernel>. */
    const char *kernel_path;
} BackendLowerCtx;

typedef enum {
    BACKEND_FIRECRACKER,
    BACKEND_CLOUD_HYPERVISOR,
    BACKEND_LAST
} BackendKind;

typedef struct {
    BackendKind kind;
    const char *name;          /* "firecracker" / "cloud-hypervisor": also the binary's name */
    const char *env_override;  /* "COCOON_FIRECRACKER" / "COCOON_CLOUD_HYPERVISOR" */
    /* domxml-to-native formats this backend writes, NULL-terminated */
    const char *const *native_formats;

    /* Can this backend honour def? VIR_ERR_CONFIG_UNSUPPORTED naming element and backend. */
    int (*validate)(const DomainDef *def, CvError **err);
    /* domxml-to-native: validate, lower, and render in one of native_formats. */
    char *(*to_native)(const DomainDef *def, const char *format, const BackendLowerCtx *ctx,
                       CvError **err);
} CocoonBackend;

extern const CocoonBackend fc_backend;
extern const CocoonBackend ch_backend;

/** backend_by_kind: the backend table for kind. */
const CocoonBackend *backend_by_kind(BackendKind kind);

/**
 * backend_for_emulator: the backend whose binary name is the basename of path
 * ("firecracker", "cloud-hypervisor", also "cloud-hypervisor-static"), or NULL.
 */
const CocoonBackend *backend_for_emulator(const char *path);

/**
 * backend_for_native_format: the backend that writes format (e.g. "firecracker-json"), or NULL.
 */
const CocoonBackend *backend_for_native_format(const char *format);
