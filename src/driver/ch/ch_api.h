#pragma once

#include <json-c/json.h>
#include <stdbool.h>

#include "util/cv_error.h"

/*
 * The Cloud Hypervisor REST API (/api/v1/<endpoint>), one function per endpoint Cocoon uses.
 * JSON in, JSON or an error out; nothing here knows about definitions. CH answers a failure
 * with a JSON array of strings, the error chain from outermost to root cause; it becomes one
 * VIR_ERR_OPERATION_FAILED message with the HTTP status:
 * "vm.pause: 500: Error from API: The VM could not be paused: VM is not running".
 */

/**
 * ch_api_request: send `method /api/v1/endpoint` with body (may be NULL) to the socket sock.
 * On a 2xx reply returns 0 and, when ret_reply is not NULL, stores the parsed JSON reply
 * there (NULL for an empty body; caller owns it). Returns -1 with *err otherwise; when
 * ret_status is not NULL it receives the HTTP status of a refusal (0 when there was no reply).
 */
int ch_api_request(const char *sock, const char *method, const char *endpoint,
                   const json_object *body, json_object **ret_reply, long *ret_status,
                   CvError **err);

/**
 * ch_api_vm_info: GET vm.info — {config, state, memory_actual_size, …}.
 * Returns 0 with *ret_info (caller owns it), or -1 with *err; *ret_status as ch_api_request.
 */
int ch_api_vm_info(const char *sock, json_object **ret_info, long *ret_status, CvError **err);

/** ch_api_vm_pause: PUT vm.pause (Running → Paused; an error when not Running). */
int ch_api_vm_pause(const char *sock, CvError **err);

/** ch_api_vm_resume: PUT vm.resume (Paused → Running; an error when not Paused). */
int ch_api_vm_resume(const char *sock, CvError **err);

/** ch_api_vm_power_button: PUT vm.power-button (ACPI power button; the guest powers off). */
int ch_api_vm_power_button(const char *sock, CvError **err);

/** ch_api_vm_reboot: PUT vm.reboot (the VMM reboots the VM itself). */
int ch_api_vm_reboot(const char *sock, CvError **err);

/* ---- snapshots (ch_snapshot.c builds on these) ------------------------------------------ */

/** ch_api_vm_snapshot_body: {"destination_url": "file://DIR"}. New object. */
json_object *ch_api_vm_snapshot_body(const char *dir);

/** ch_api_vm_restore_body: {"source_url": "file://DIR", "resume": resume}. New object. */
json_object *ch_api_vm_restore_body(const char *dir, bool resume);

/** ch_api_vm_snapshot: PUT vm.snapshot into the existing, empty dir (the VM must be paused). */
int ch_api_vm_snapshot(const char *sock, const char *dir, CvError **err);

/** ch_api_vm_restore: PUT vm.restore from dir on a VMM that holds no VM. */
int ch_api_vm_restore(const char *sock, const char *dir, bool resume, CvError **err);
