/* ch-sim: a Cloud Hypervisor v53.0 simulator for tests (never installed): main loop. */
#include "ch_sim.h"

#include "sim_http.h"
#include "sim_log.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <unistd.h>

void
ch_sim_log(ChSim *s, const char *level, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;
    int need = g_str_equal(level, "INFO") ? 1 : g_str_equal(level, "DEBUG") ? 2 : 0;

    if (s->verbosity < need)
        return;
    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    sim_log_line(s->log_fd >= 0 ? s->log_fd : 2, "cloud-hypervisor: %.6fms: <vmm> %s:ch-sim -- %s",
                 (double)(g_get_monotonic_time() - s->start_time) / 1000.0, level, msg);
}

void
ch_sim_event(ChSim *s, const char *source, const char *event)
{
    gint64 t = g_get_monotonic_time() - s->start_time;
    g_autofree char *text = NULL;

    if (s->event_fd < 0)
        return;
    text = g_strdup_printf("{\n  \"timestamp\": {\n    \"secs\": %" G_GINT64_FORMAT ",\n    \"nanos\": %d\n  },\n"
                           "  \"source\": \"%s\",\n  \"event\": \"%s\",\n  \"properties\": null\n}\n\n",
                           t / G_USEC_PER_SEC, (int)(t % G_USEC_PER_SEC) * 1000, source, event);
    if (write(s->event_fd, text, strlen(text)) < 0)
        ch_sim_log(s, "WARN", "cannot write to the event monitor");
}

void
ch_sim_quit(ChSim *s, int code)
{
    s->exit_code = code;
    g_main_loop_quit(s->loop);
}

static char *
ch_error_join(ChError *err)
{
    g_autoptr(GString) s = g_string_new(NULL);

    for (guint i = 0; err->msgs && i < err->msgs->len; i++)
        g_string_append_printf(s, "%s%s", i ? ": " : "", (char *)err->msgs->pdata[i]);
    ch_error_clear(err);
    return g_strdup(s->str);
}

/* v53: an exclusive lock on <path>.lock guards the socket; a stale socket is removed. */
static int
ch_open_api_socket(const char *path, int *ret_lock_fd)
{
    g_autofree char *lock = g_strdup_printf("%s.lock", path);
    int lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    int fd;

    if (lfd < 0) {
        fprintf(stderr, "Error starting VMM: cannot open the lock file '%s': %s\n", lock,
                g_strerror(errno));
        return -1;
    }
    if (flock(lfd, LOCK_EX | LOCK_NB) < 0) {
        fprintf(stderr, "Error starting VMM: the API socket '%s' is in use by another "
                "cloud-hypervisor process\n", path);
        close(lfd);
        return -1;
    }
    unlink(path);
    fd = sim_http_listen_unix(path);
    if (fd < 0) {
        fprintf(stderr, "Error starting VMM: cannot bind the API socket '%s': %s\n", path,
                g_strerror(errno));
        close(lfd);
        return -1;
    }
    *ret_lock_fd = lfd;
    return fd;
}

int
main(int argc, char **argv)
{
    ChSim s = { 0 };
    g_autofree char *api_path = NULL;
    int api_fd = -1, lock_fd = -1, lfd = -1;
    json_object *config = NULL, *restore = NULL;
    gboolean exit_now = FALSE;
    SimHttpServer *srv = NULL;
    int rc;

    s.log_fd = s.event_fd = s.vsock_fd = -1;
    s.start_time = g_get_monotonic_time();
    s.pci_slot = 6;
    rc = ch_cli_parse(&s, argc, argv, &api_path, &api_fd, &config, &restore, &exit_now);
    if (rc != 0 || exit_now)
        return rc;
    s.loop = g_main_loop_new(NULL, FALSE);
    s.tap_fds = g_array_new(FALSE, FALSE, sizeof(int));
    s.guest = sim_guest_new(ch_vm_guest_event, &s);
    signal(SIGPIPE, SIG_IGN);
    if (api_path) {
        if ((lfd = ch_open_api_socket(api_path, &lock_fd)) < 0) {
            rc = 1;
            goto out;
        }
    } else if (api_fd >= 0) {
        lfd = api_fd;
        if (listen(lfd, 16) < 0) {
            fprintf(stderr, "Error starting VMM: fd=%d is not a socket: %s\n", api_fd, g_strerror(errno));
            rc = 1;
            goto out;
        }
    }
    ch_sim_event(&s, "vmm", "starting");
    if (config) {
        ChError err = { 0 };
        g_autofree char *terr = ch_config_check_types(config);
        if (terr) {
            fprintf(stderr, "Error parsing config: %s\n", terr);
            rc = 1;
            goto out;
        }
        s.config = ch_config_fill(config);
        s.state = CH_STATE_CREATED;
        if (ch_vm_prepare_consoles(&s, &err) < 0 || ch_vm_boot(&s, &err) < 0) {
            g_autofree char *m = ch_error_join(&err);
            fprintf(stderr, "Error booting VM: %s\n", m);
            rc = 1;
            goto out;
        }
    } else if (restore) {
        ChError err = { 0 };
        if (ch_vm_restore(&s, restore, &err) < 0) {
            g_autofree char *m = ch_error_join(&err);
            fprintf(stderr, "Error restoring VM: %s\n", m);
            rc = 1;
            goto out;
        }
    }
    if (lfd >= 0) {
        srv = sim_http_server_new(lfd, "Cloud Hypervisor API", ch_api_handle, &s);
        lfd = -1;
    }
    sim_guest_watch_signals(s.guest);
    g_main_loop_run(s.loop);
    rc = s.exit_code;
out:
    sim_http_server_free(srv);
    if (lfd >= 0)
        close(lfd);
    ch_vm_delete(&s);
    sim_console_tty_restore();
    if (api_path && lock_fd >= 0) {
        g_autofree char *lock = g_strdup_printf("%s.lock", api_path);
        unlink(api_path);
        unlink(lock);
        close(lock_fd);
    }
    json_object_put(config);
    json_object_put(restore);
    sim_guest_free(s.guest);
    g_array_unref(s.tap_fds);
    if (s.log_fd >= 0)
        close(s.log_fd);
    if (s.event_fd > 2)
        close(s.event_fd);
    g_main_loop_unref(s.loop);
    return rc;
}
