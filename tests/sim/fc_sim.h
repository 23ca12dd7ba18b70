/* fc-sim: a Firecracker v1.16.1 simulator for tests (never installed). Shared state. */
#pragma once

#include "sim_console.h"
#include "sim_http.h"
#include "sim_json.h"

#include <glib.h>
#include <json-c/json.h>

#define FC_SIM_VERSION "1.16.1"
#define FC_MSG_PRE_BOOT "The requested operation is not supported before starting the microVM."
#define FC_MSG_POST_BOOT "The requested operation is not supported after starting the microVM."
#define FC_MSG_DESERIALIZE "An error occurred when deserializing the json body of a request: "
#define FC_DEFAULT_BOOT_ARGS "reboot=k panic=1 nomodule 8250.nr_uarts=0 i8042.noaux i8042.nomux " \
                             "i8042.dumbkbd swiotlb=noforce"

typedef enum {
    FC_STATE_NOT_STARTED,
    FC_STATE_RUNNING,
    FC_STATE_PAUSED,
} FcState;

typedef struct {
    char *id;
    FcState state;
    gboolean boot_touched;     /* a boot-path resource was configured: no snapshot load */
    gboolean restored;         /* started from a snapshot */
    json_object *boot_source;  /* normalised, NULL when unset */
    gint64 vcpus, mem_mib;
    gboolean smt, track_dirty;
    char *huge_pages;
    char *cpu_template;
    json_object *drives;       /* array, root device first */
    json_object *nets;         /* array */
    json_object *balloon, *vsock, *entropy, *serial, *logger, *metrics, *mmds_config, *mmds;
    json_object *cpu_config;
    int log_fd;                /* -1: stdout */
    char *level;
    gboolean show_level, show_origin;
    int metrics_fd;
    int vsock_fd;
    int serial_fd;
    gsize max_payload;
    SimGuest *guest;
    GMainLoop *loop;
    int exit_code;
} FcSim;

/* A setter: 0 on success, -1 with *ret_msg set (the fault_message; caller frees). */
typedef int (*FcSetter)(FcSim *s, json_object *body, char **ret_msg);

/** fc_sim_log: one log line (format as Firecracker's) to --log-path/PUT /logger, else stdout. */
void fc_sim_log(FcSim *s, const char *level, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

/** fc_sim_quit: stop the main loop; the process exits with @code. */
void fc_sim_quit(FcSim *s, int code);

/** fc_sim_check_resource_id: NULL if @id is a valid API resource id, else the message. */
const char *fc_sim_check_resource_id(const char *id);

/* Resource setters (fc_sim_res.c), also used for --config-file. Each validates the body
 * strictly first. */
int fc_res_boot_source(FcSim *s, json_object *body, char **ret_msg);
int fc_res_machine_config_put(FcSim *s, json_object *body, char **ret_msg);
int fc_res_machine_config_patch(FcSim *s, json_object *body, char **ret_msg);
int fc_res_drive_put(FcSim *s, json_object *body, char **ret_msg);
int fc_res_drive_patch(FcSim *s, json_object *body, char **ret_msg);
int fc_res_net_put(FcSim *s, json_object *body, char **ret_msg);
int fc_res_net_patch(FcSim *s, json_object *body, char **ret_msg);
int fc_res_balloon_put(FcSim *s, json_object *body, char **ret_msg);
int fc_res_balloon_patch(FcSim *s, json_object *body, char **ret_msg);
int fc_res_balloon_stats_patch(FcSim *s, json_object *body, char **ret_msg);
int fc_res_vsock(FcSim *s, json_object *body, char **ret_msg);
int fc_res_entropy(FcSim *s, json_object *body, char **ret_msg);
int fc_res_serial(FcSim *s, json_object *body, char **ret_msg);
int fc_res_logger(FcSim *s, json_object *body, char **ret_msg);
int fc_res_metrics(FcSim *s, json_object *body, char **ret_msg);
int fc_res_mmds_config(FcSim *s, json_object *body, char **ret_msg);
int fc_res_cpu_config(FcSim *s, json_object *body, char **ret_msg);

/** fc_res_schema: the strict field table for a body kind ("drive", "vm", ...) or NULL. */
const SimField *fc_res_schema(const char *kind);

/** fc_res_machine_config: GET /machine-config body (caller frees). */
json_object *fc_res_machine_config(FcSim *s);

/** fc_res_vm_config: GET /vm/config body (caller frees). */
json_object *fc_res_vm_config(FcSim *s);

/** fc_res_check_tap: 0 if @name is an existing TAP interface, else -1 with the message. */
int fc_res_check_tap(const char *name, char **ret_msg);

/** fc_vm_instance_start: boots (needs a boot source); 0 or -1 with the fault message. */
int fc_vm_instance_start(FcSim *s, char **ret_msg);
/** fc_vm_snapshot_create: needs Paused; writes the state blob and the sparse memory file. */
int fc_vm_snapshot_create(FcSim *s, json_object *body, char **ret_msg);
/** fc_vm_snapshot_load: 0, or -1 with *ret_fatal telling whether the process must exit after
 * answering (a failed restore is fatal, a refused load is not). */
int fc_vm_snapshot_load(FcSim *s, json_object *body, gboolean *ret_fatal, char **ret_msg);
/** fc_vm_guest_event: guest reboot → the process exits 0; guest power-off → nothing visible. */
void fc_vm_guest_event(SimGuestEvent ev, gpointer user_data);

/** fc_api_handle: the HTTP request handler (fc_sim_api.c). */
void fc_api_handle(const SimHttpRequest *req, SimHttpResponse *resp, gpointer user_data);
