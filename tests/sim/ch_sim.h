/* ch-sim: a Cloud Hypervisor v53.0 simulator for tests (never installed). Shared state. */
#pragma once

#include "sim_console.h"
#include "sim_http.h"
#include "sim_json.h"

#include <glib.h>
#include <json-c/json.h>

#define CH_SIM_VERSION "53.0.0"
#define CH_MSG_NOT_CREATED "VM is not created"
#define CH_MSG_CONFIG_MISSING "VM config is missing"
#define CH_MSG_NOT_RUNNING "VM is not running"
#define CH_MSG_ALREADY_CREATED "VM is already created"

typedef enum {
    CH_STATE_NO_VM,
    CH_STATE_CREATED,
    CH_STATE_RUNNING,
    CH_STATE_PAUSED,
} ChState;

typedef struct {
    ChState state;
    json_object *config;    /* stored VmConfig with defaults filled; NULL in NoVm */
    GArray *tap_fds;        /* open TAP queues of the live VM */
    int vsock_fd;           /* host side of the vsock device of the live VM */
    char *vsock_path;
    char *serial_socket;    /* path of a Socket-mode serial we bound */
    guint device_counter;   /* shared by every auto-named device: _disk0, _net1, ... */
    guint pci_slot;
    gboolean no_shutdown;
    gboolean consoles_ready;
    gboolean any_tty;
    SimGuest *guest;
    GMainLoop *loop;
    int exit_code;
    int log_fd;             /* -1: stderr */
    int verbosity;
    int event_fd;
    gint64 start_time;
} ChSim;

/* An error chain, outermost first; the HTTP status is derived from the root cause. */
typedef struct {
    GPtrArray *msgs;
} ChError;

/** ch_error_set: fills @err with the NULL-terminated chain of messages. */
void ch_error_set(ChError *err, const char *first, ...) G_GNUC_NULL_TERMINATED;

/** ch_error_clear: frees the messages of @err. */
void ch_error_clear(ChError *err);

/** ch_sim_log: a log line at @level ("ERROR", "WARN", "INFO", "DEBUG") subject to -v. */
void ch_sim_log(ChSim *s, const char *level, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

/** ch_sim_event: writes an event to --event-monitor (nothing when not given). */
void ch_sim_event(ChSim *s, const char *source, const char *event);

/** ch_sim_quit: stops the main loop; the process exits with @code. */
void ch_sim_quit(ChSim *s, int code);

/* ch_sim_config.c */
/** ch_config_check_types: NULL, or the deserialisation message for a VmConfig body. */
char *ch_config_check_types(json_object *cfg);
/** ch_config_check_schema: like ch_config_check_types for a named body kind ("disk", ...). */
char *ch_config_check_schema(const char *kind, json_object *body);
/** ch_config_fill: a copy of @cfg with every default materialised (serde defaults). */
json_object *ch_config_fill(json_object *cfg);
/** ch_config_fill_device: fills the defaults of one device of @kind ("disks", "net", ...). */
void ch_config_fill_device(const char *kind, json_object *dev);
/** ch_config_validate: NULL when @cfg passes CH's boot-time validation, else the message. */
char *ch_config_validate(json_object *cfg);
/** ch_config_assign_ids: names every device without an id (shared counter). */
void ch_config_assign_ids(ChSim *s, json_object *cfg);

/* ch_sim_vm.c: functions returning int give 0, or -1 with @err filled (root cause last). */
/** ch_vm_prepare_consoles: serial/console backends of s->config (PTYs, files, sockets, tty). */
int ch_vm_prepare_consoles(ChSim *s, ChError *err);
/** ch_vm_release_consoles: stops the guest and closes every console backend. */
void ch_vm_release_consoles(ChSim *s);
/** ch_vm_boot: validates s->config, opens kernel/disks/TAPs, names devices, boots the guest. */
int ch_vm_boot(ChSim *s, ChError *err);
/** ch_vm_shutdown: drops the live VM (TAPs, vsock); the config stays: state Created. */
void ch_vm_shutdown(ChSim *s);
/** ch_vm_delete: shutdown, then forget the config and consoles: state NoVm. */
void ch_vm_delete(ChSim *s);
/** ch_vm_reboot: the guest boots again from the same config; state Running. */
void ch_vm_reboot(ChSim *s);
/** ch_vm_open_disk: opens a disk's backing file like CH does at boot/hotplug. */
int ch_vm_open_disk(json_object *disk, ChError *err);
/** ch_vm_open_net: attaches (or creates) the TAP of @net; the fds live until shutdown. */
int ch_vm_open_net(ChSim *s, json_object *net, ChError *err);
/** ch_vm_snapshot: writes config.json, state.json, memory-ranges into the dir of @url. */
int ch_vm_snapshot(ChSim *s, const char *url, ChError *err);
/** ch_vm_restore: builds a Paused (or, with resume, Running) VM from a snapshot dir. */
int ch_vm_restore(ChSim *s, json_object *body, ChError *err);
/** ch_vm_guest_event: guest reboot → reboot; guest power-off → exit (or Created). */
void ch_vm_guest_event(SimGuestEvent ev, gpointer user_data);

/* ch_sim_api.c */
void ch_api_handle(const SimHttpRequest *req, SimHttpResponse *resp, gpointer user_data);

/* ch_sim_cli.c */
/**
 * ch_cli_parse:
 * Parses cloud-hypervisor's command line into @s's options and, when a payload is given,
 * a VmConfig (*ret_config) or a restore request (*ret_restore).
 * Returns: 0, or the exit code for a usage (2) or config (1) error, with a message printed.
 */
int ch_cli_parse(ChSim *s, int argc, char **argv, char **ret_api_socket, int *ret_api_fd,
                 json_object **ret_config, json_object **ret_restore, gboolean *ret_exit_now);
