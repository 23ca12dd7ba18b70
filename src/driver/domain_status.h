#pragma once

#include <glib.h>
#include <stdbool.h>
#include <sys/types.h>

#include "util/cv_error.h"

/*
 * The live state of one domain: <run>/domains/<name>/status, a small key file written
 * atomically by the lifecycle code while the VMM runs. No file means shut off.
 *
 *   [status]
 *   state=running          # virDomainState spelled as virsh prints it, without spaces
 *   reason=1               # the virDomain*Reason number of that state
 *   id=3
 *   pid=12345
 *   start-time=987654      # /proc/<pid>/stat field 22: tells a live VMM from a reused pid
 *   backend=firecracker
 *   persistent=true        # false: a transient domain (createXML), gone when it stops
 *   api-socket=/run/…/fc.sock
 *   console-path=/dev/pts/7  # CH: the PTY of the guest console
 *   waiter-pid=12344         # the process recording the VMM's exit status (cv_process.h)
 *   relay-pid=12346          # the console relay
 *   taps=cv1a2b0;            # TAPs this boot created (removed at stop)
 *   overlays=/run/…/vda.overlay;  # transient-disk overlays of this boot
 *   stop-intent=destroyed    # what Cocoon itself did to stop the VMM, recorded before acting
 */

#define DOMAIN_STATUS_FILE "status"

typedef struct {
    int state;  /* virDomainState */
    int reason; /* virDomain<State>Reason */
    int id;     /* -1 when not running */
    pid_t pid;  /* 0 when none */
    unsigned long long start_time;
    char *backend; /* "firecracker" / "cloud-hypervisor"; NULL when shut off */
    bool persistent;
    /* runtime details of the running VMM (NULL / 0 when none) */
    char *api_socket;
    char *console_path;
    pid_t waiter_pid;
    pid_t relay_pid;
    unsigned long long relay_start_time;
    char **taps;     /* NULL-terminated; TAPs created for this boot */
    char **overlays; /* NULL-terminated; transient-disk overlays of this boot */
    /* DOMAIN_STOP_INTENT_*: set before Cocoon signals or asks the VMM to stop, so the exit
     * that follows is not taken for a crash or a guest reboot */
    int stop_intent;
} DomainStatus;

typedef enum {
    DOMAIN_STOP_INTENT_NONE,
    DOMAIN_STOP_INTENT_SHUTDOWN, /* a shutdown request: the exit is a shutdown */
    DOMAIN_STOP_INTENT_DESTROY,  /* destroy: the exit is destroyed */
    DOMAIN_STOP_INTENT_REBOOT,   /* reboot (FC): the process is started again */
    DOMAIN_STOP_INTENT_LAST
} DomainStopIntent;

/** domain_status_init: shut off, reason unknown, no id, no pid. */
void domain_status_init(DomainStatus *st);

/** domain_status_clear: free the members and re-initialise. */
void domain_status_clear(DomainStatus *st);

/** domain_status_is_active: running, paused, blocked, shutting down or pmsuspended. */
bool domain_status_is_active(const DomainStatus *st);

/**
 * domain_status_load_at: read `name`/status under the run domains directory fd. A missing
 * file (or directory) yields the shut-off status. *ret_st is overwritten on success.
 * 0, or -1 with *err for an unreadable or malformed file.
 */
int domain_status_load_at(int run_domains_fd, const char *name, DomainStatus *ret_st,
                          CvError **err);

/** domain_status_save: write live_dir/status atomically. 0 or -1 with *err. */
int domain_status_save(const char *live_dir, const DomainStatus *st, CvError **err);

/** domain_status_copy: a deep copy of src into *dst (dst is overwritten, not cleared). */
void domain_status_copy(DomainStatus *dst, const DomainStatus *src);

/** domain_status_state_to_string: "running", "shut off", … as virsh prints a state. */
const char *domain_status_state_to_string(int state);
