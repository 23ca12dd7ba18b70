#pragma once

#include <json-c/json.h>

#include "driver/backend.h"
#include "fc_api.h"

/* The ordered REST calls that configure and boot one microVM. */
typedef struct {
    FcCall *calls;
    size_t ncalls;
} FcCallPlan;

/**
 * fc_lower: turn a validated definition into the ordered REST calls that boot it
 * (machine-config, boot-source, drives, network-interfaces, balloon, entropy, vsock, then
 * PUT /actions InstanceStart). Pure. Returns a new plan owned by the caller, or NULL with *err.
 */
FcCallPlan *fc_lower(const DomainDef *def, const BackendLowerCtx *ctx, CvError **err);

/** fc_drive_id: the drive id FC is given for disk index i of def (letters, digits, '_'). */
char *fc_drive_id(const DomainDef *def, size_t i);

/** fc_call_plan_to_json: the plan as a JSON array of {"method","path","body"}; new string. */
char *fc_call_plan_to_json(const FcCallPlan *plan);

/**
 * fc_call_plan_to_curl: a runnable shell script, one `curl --unix-socket SOCK -X METHOD
 * 'http://localhost/PATH' -H 'Content-Type: application/json' -d 'JSON'` line per call.
 */
char *fc_call_plan_to_curl(const FcCallPlan *plan, const char *api_socket);

void fc_call_plan_free(FcCallPlan *plan);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FcCallPlan, fc_call_plan_free)
