#pragma once

#include <json-c/json.h>

#include "driver/backend.h"

/**
 * ch_lower_argv: the cloud-hypervisor command line (argv[0] is the binary name
 * "cloud-hypervisor") that creates and boots def: --api-socket, --cpus, --memory,
 * --kernel/--firmware, --initramfs, --cmdline, --disk, --net, --rng, --serial, --console,
 * --balloon, --vsock, --fs, --device. Pure. A NULL-terminated vector owned by the caller, or
 * NULL with *err.
 */
GStrv ch_lower_argv(const DomainDef *def, const BackendLowerCtx *ctx, CvError **err);

/**
 * ch_lower_vmconfig: the VmConfig (body of PUT /api/v1/vm.create) equivalent to the argv.
 * Pure. A new object owned by the caller, or NULL with *err.
 */
json_object *ch_lower_vmconfig(const DomainDef *def, const BackendLowerCtx *ctx, CvError **err);

/** ch_api_socket_path: the API socket of a domain whose live directory is run_dir; new string. */
char *ch_api_socket_path(const char *run_dir);
