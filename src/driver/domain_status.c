#include "domain_status.h"

#include <errno.h>
#include <libvirt/libvirt.h>
#include <string.h>

#include "util/cv_file.h"

#define GROUP "status"

/* Hand a caught error on to the caller's err (or drop it when the caller passed none). */
static void
error_pass(CvError **err, CvError *e)
{
    if (err && !*err)
        *err = e;
    else
        cv_error_free(e);
}

/* Key-file spelling of virDomainState, indexed by state. */
static const char *const state_keys[VIR_DOMAIN_PMSUSPENDED + 1] = {
    [VIR_DOMAIN_NOSTATE] = "nostate",   [VIR_DOMAIN_RUNNING] = "running",
    [VIR_DOMAIN_BLOCKED] = "blocked",   [VIR_DOMAIN_PAUSED] = "paused",
    [VIR_DOMAIN_SHUTDOWN] = "shutdown", [VIR_DOMAIN_SHUTOFF] = "shutoff",
    [VIR_DOMAIN_CRASHED] = "crashed",   [VIR_DOMAIN_PMSUSPENDED] = "pmsuspended",
};

static const char *const state_names[VIR_DOMAIN_PMSUSPENDED + 1] = {
    [VIR_DOMAIN_NOSTATE] = "no state",     [VIR_DOMAIN_RUNNING] = "running",
    [VIR_DOMAIN_BLOCKED] = "idle",         [VIR_DOMAIN_PAUSED] = "paused",
    [VIR_DOMAIN_SHUTDOWN] = "in shutdown", [VIR_DOMAIN_SHUTOFF] = "shut off",
    [VIR_DOMAIN_CRASHED] = "crashed",      [VIR_DOMAIN_PMSUSPENDED] = "pmsuspended",
};

void
domain_status_init(DomainStatus *st)
{
    *st = (DomainStatus){
        .state = VIR_DOMAIN_SHUTOFF,
        .reason = VIR_DOMAIN_SHUTOFF_UNKNOWN,
        .id = -1,
        .persistent = true,
    };
}

void
domain_status_clear(DomainStatus *st)
{
    g_free(st->backend);
    g_free(st->api_socket);
    g_free(st->console_path);
    g_strfreev(st->taps);
    g_strfreev(st->overlays);
    domain_status_init(st);
}

void
domain_status_copy(DomainStatus *dst, const DomainStatus *src)
{
    *dst = *src;
    dst->backend = g_strdup(src->backend);
    dst->api_socket = g_strdup(src->api_socket);
    dst->console_path = g_strdup(src->console_path);
    dst->taps = g_strdupv(src->taps);
    dst->overlays = g_strdupv(src->overlays);
}

static const char *const intent_keys[DOMAIN_STOP_INTENT_LAST] = {
    [DOMAIN_STOP_INTENT_NONE] = "none",
    [DOMAIN_STOP_INTENT_SHUTDOWN] = "shutdown",
    [DOMAIN_STOP_INTENT_DESTROY] = "destroyed",
    [DOMAIN_STOP_INTENT_REBOOT] = "reboot",
};

bool
domain_status_is_active(const DomainStatus *st)
{
    return st->state != VIR_DOMAIN_SHUTOFF && st->state != VIR_DOMAIN_CRASHED &&
           st->state != VIR_DOMAIN_NOSTATE;
}

const char *
domain_status_state_to_string(int state)
{
    if (state < 0 || state > VIR_DOMAIN_PMSUSPENDED)
        return "no state";
    return state_names[state];
}

int
domain_status_load_at(int run_domains_fd, const char *name, DomainStatus *ret_st, CvError **err)
{
    g_autofree char *rel = g_build_filename(name, DOMAIN_STATUS_FILE, NULL);
    g_autofree char *data = NULL;
    size_t len = 0;
    CvError *rerr = NULL;
    if (cv_file_read_at(run_domains_fd, rel, 64 * 1024, &data, &len, &rerr) < 0) {
        if (rerr->sys_errno == ENOENT || rerr->sys_errno == ENOTDIR) {
            cv_error_free(rerr);
            domain_status_init(ret_st);
            return 0;
        }
        error_pass(err, rerr);
        return -1;
    }
    if (len == 0) {
        /* a status written just before a power cut (they are not synced): no VM survived it */
        domain_status_init(ret_st);
        return 0;
    }
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autoptr(GError) gerr = NULL;
    if (!g_key_file_load_from_data(kf, data, len, G_KEY_FILE_NONE, &gerr)) {
        cv_error_set(err, VIR_FROM_CH, VIR_ERR_INTERNAL_ERROR,
                     "malformed status file of domain '%s': %s", name, gerr->message);
        return -1;
    }
    DomainStatus st;
    domain_status_init(&st);
    g_autofree char *state = g_key_file_get_string(kf, GROUP, "state", NULL);
    st.state = -1;
    for (int i = 0; state && i <= VIR_DOMAIN_PMSUSPENDED; i++) {
        if (strcmp(state, state_keys[i]) == 0)
            st.state = i;
    }
    if (st.state < 0) {
        cv_error_set(err, VIR_FROM_CH, VIR_ERR_INTERNAL_ERROR,
                     "malformed status file of domain '%s': unknown state '%s'", name,
                     state ? state : "");
        return -1;
    }
    st.reason = g_key_file_get_integer(kf, GROUP, "reason", NULL);
    st.id = g_key_file_has_key(kf, GROUP, "id", NULL)
                ? g_key_file_get_integer(kf, GROUP, "id", NULL)
                : -1;
    st.pid = (pid_t)g_key_file_get_int64(kf, GROUP, "pid", NULL);
    st.start_time = g_key_file_get_uint64(kf, GROUP, "start-time", NULL);
    st.backend = g_key_file_get_string(kf, GROUP, "backend", NULL);
    if (g_key_file_has_key(kf, GROUP, "persistent", NULL))
        st.persistent = g_key_file_get_boolean(kf, GROUP, "persistent", NULL);
    st.api_socket = g_key_file_get_string(kf, GROUP, "api-socket", NULL);
    st.console_path = g_key_file_get_string(kf, GROUP, "console-path", NULL);
    st.waiter_pid = (pid_t)g_key_file_get_int64(kf, GROUP, "waiter-pid", NULL);
    st.relay_pid = (pid_t)g_key_file_get_int64(kf, GROUP, "relay-pid", NULL);
    st.relay_start_time = g_key_file_get_uint64(kf, GROUP, "relay-start-time", NULL);
    st.taps = g_key_file_get_string_list(kf, GROUP, "taps", NULL, NULL);
    st.overlays = g_key_file_get_string_list(kf, GROUP, "overlays", NULL, NULL);
    g_autofree char *intent = g_key_file_get_string(kf, GROUP, "stop-intent", NULL);
    for (int i = 0; intent && i < DOMAIN_STOP_INTENT_LAST; i++) {
        if (strcmp(intent, intent_keys[i]) == 0)
            st.stop_intent = i;
    }
    *ret_st = st;
    return 0;
}

int
domain_status_save(const char *live_dir, const DomainStatus *st, CvError **err)
{
    g_autoptr(GKeyFile) kf = g_key_file_new();
    int state = st->state >= 0 && st->state <= VIR_DOMAIN_PMSUSPENDED ? st->state : 0;
    g_key_file_set_string(kf, GROUP, "state", state_keys[state]);
    g_key_file_set_integer(kf, GROUP, "reason", st->reason);
    g_key_file_set_integer(kf, GROUP, "id", st->id);
    g_key_file_set_int64(kf, GROUP, "pid", st->pid);
    g_key_file_set_uint64(kf, GROUP, "start-time", st->start_time);
    if (st->backend)
        g_key_file_set_string(kf, GROUP, "backend", st->backend);
    g_key_file_set_boolean(kf, GROUP, "persistent", st->persistent);
    if (st->api_socket)
        g_key_file_set_string(kf, GROUP, "api-socket", st->api_socket);
    if (st->console_path)
        g_key_file_set_string(kf, GROUP, "console-path", st->console_path);
    if (st->waiter_pid)
        g_key_file_set_int64(kf, GROUP, "waiter-pid", st->waiter_pid);
    if (st->relay_pid) {
        g_key_file_set_int64(kf, GROUP, "relay-pid", st->relay_pid);
        g_key_file_set_uint64(kf, GROUP, "relay-start-time", st->relay_start_time);
    }
    if (st->taps && st->taps[0])
        g_key_file_set_string_list(kf, GROUP, "taps", (const char *const *)st->taps,
                                   g_strv_length(st->taps));
    if (st->overlays && st->overlays[0])
        g_key_file_set_string_list(kf, GROUP, "overlays", (const char *const *)st->overlays,
                                   g_strv_length(st->overlays));
    if (st->stop_intent > 0 && st->stop_intent < DOMAIN_STOP_INTENT_LAST)
        g_key_file_set_string(kf, GROUP, "stop-intent", intent_keys[st->stop_intent]);
    gsize len = 0;
    g_autofree char *data = g_key_file_to_data(kf, &len, NULL);
    g_autofree char *path = g_build_filename(live_dir, DOMAIN_STATUS_FILE, NULL);
    return cv_file_write_volatile(path, data, len, 0600, err);
}
