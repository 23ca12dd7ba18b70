/* The simulated guest: boot log, login prompt, echo, poweroff/reboot, on one or more ports. */
#include "sim_console.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

typedef enum {
    GUEST_OFF,
    GUEST_BOOTING,
    GUEST_UP,
    GUEST_HALTED,
} GuestState;

typedef struct {
    SimGuest *g;
    char *name;
    int in_fd, out_fd, extra_fd, listen_fd;
    gboolean owned;
    guint in_watch, listen_watch, out_watch;
    gboolean enabled;
    GString *line;
    GString *pending;   /* input that arrived while paused */
    GString *backlog;   /* output while no socket client is connected */
    GString *outq;      /* output the console could not take yet; input waits meanwhile */
    gboolean last_cr;
    /* a PTY of the VMM's own (CH's pty mode): while nobody holds its subordinate end it
     * reads as a hang-up; output waits, and the PTY is looked at again once a second */
    gboolean hup_poll, hup;
    guint hup_timer;
} SimPort;

struct SimGuest {
    SimGuestEventFn fn;
    gpointer user_data;
    GPtrArray *ports;
    GuestState state;
    gboolean paused;
    gboolean logged_in;
    int pending_request;  /* -1 or a SimGuestEvent asked for while paused */
    guint timer;
    char *cmdline;
    GStrv info;
    double uptime;
};

static struct termios saved_tio;
static int saved_tio_fd = -1;

void
sim_console_tty_raw(int fd)
{
    struct termios t;

    if (!isatty(fd) || tcgetattr(fd, &t) < 0)
        return;
    saved_tio = t;
    saved_tio_fd = fd;
    cfmakeraw(&t);
    tcsetattr(fd, TCSANOW, &t);
}

void
sim_console_tty_restore(void)
{
    if (saved_tio_fd >= 0)
        tcsetattr(saved_tio_fd, TCSANOW, &saved_tio);
    saved_tio_fd = -1;
}

static void
sim_port_write_fd(int fd, const char *s, gsize len)
{
    while (len > 0) {
        ssize_t n = write(fd, s, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return; /* a PTY nobody reads, a closed client: the output is lost, as on real hw */
        s += n;
        len -= (gsize)n;
    }
}

/* Output a console does not take is kept up to this much; beyond, nobody reads it. */
#define SIM_PORT_OUTQ_MAX (1 << 20)

static gboolean sim_port_readable(gint fd, GIOCondition cond, gpointer data);

static void
sim_port_input_resume(SimPort *p)
{
    if (p->hup)
        return;
    if (!p->in_watch && p->in_fd >= 0)
        p->in_watch = g_unix_fd_add(p->in_fd, G_IO_IN | G_IO_HUP | G_IO_ERR, sim_port_readable, p);
}

/* Drop queued output and stop waiting to write it (the console went away). */
static void
sim_port_output_reset(SimPort *p)
{
    if (p->out_watch)
        g_source_remove(p->out_watch);
    p->out_watch = 0;
    g_string_truncate(p->outq, 0);
}

/* Write what the console takes now: TRUE once nothing is left. */
static gboolean
sim_port_flush(SimPort *p)
{
    while (p->outq->len > 0) {
        ssize_t n = write(p->out_fd, p->outq->str, p->outq->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return FALSE;
        if (n <= 0) {
            g_string_truncate(p->outq, 0); /* a closed console: the output is lost */
            return TRUE;
        }
        g_string_erase(p->outq, 0, n);
    }
    return TRUE;
}

static gboolean
sim_port_writable(gint fd, GIOCondition cond, gpointer data)
{
    SimPort *p = data;

    if (!sim_port_flush(p))
        return G_SOURCE_CONTINUE;
    p->out_watch = 0;
    sim_port_input_resume(p);
    return G_SOURCE_REMOVE;
}

/*
 * Output on a console that may not take it all at once (a non-blocking PTY master): the rest
 * waits, and so does the port's input, as a guest whose UART is full stops echoing and
 * reading. Past SIM_PORT_OUTQ_MAX nobody reads the console, and output is lost as on real
 * hardware.
 */
static void
sim_port_write_out(SimPort *p, const char *s, gsize len)
{
    if (p->outq->len + len > SIM_PORT_OUTQ_MAX)
        return;
    g_string_append_len(p->outq, s, (gssize)len);
    if (p->hup || p->out_watch || sim_port_flush(p))
        return;
    p->out_watch = g_unix_fd_add(p->out_fd, G_IO_OUT | G_IO_ERR, sim_port_writable, p);
    if (p->in_watch) {
        g_source_remove(p->in_watch);
        p->in_watch = 0;
    }
}

static void
sim_port_write(SimPort *p, const char *s)
{
    if (p->listen_fd >= 0 && p->out_fd < 0) {
        g_string_append(p->backlog, s);
        if (p->backlog->len > 65536)
            g_string_erase(p->backlog, 0, (gssize)(p->backlog->len - 65536));
        return;
    }
    if (p->out_fd >= 0)
        sim_port_write_out(p, s, strlen(s));
}

static void
sim_guest_print(SimGuest *g, const char *s)
{
    for (guint i = 0; i < g->ports->len; i++) {
        SimPort *p = g->ports->pdata[i];
        if (p->enabled)
            sim_port_write(p, s);
    }
}

static void
sim_guest_printk(SimGuest *g, const char *msg)
{
    g_autofree char *line = NULL;

    g->uptime += 0.013;
    line = g_strdup_printf("[%5d.%06d] %s\r\n", (int)g->uptime,
                           (int)((g->uptime - (int)g->uptime) * 1e6), msg);
    sim_guest_print(g, line);
}

static void
sim_guest_cancel_timer(SimGuest *g)
{
    if (g->timer)
        g_source_remove(g->timer);
    g->timer = 0;
}

typedef struct {
    SimGuest *g;
    SimGuestEvent ev;
} GuestEventCall;

static gboolean
sim_guest_event_idle(gpointer data)
{
    GuestEventCall *c = data;

    c->g->timer = 0;
    c->g->fn(c->ev, c->g->user_data);
    return G_SOURCE_REMOVE;
}

static void
sim_guest_go_down(SimGuest *g, SimGuestEvent ev)
{
    GuestEventCall *c = g_new0(GuestEventCall, 1);

    sim_guest_print(g, "\r\n");
    if (ev == SIM_GUEST_CRASH || ev == SIM_GUEST_TRIPLE_FAULT) {
        sim_guest_printk(g, "traps: cocoon-crash: general protection fault");
    } else {
        sim_guest_printk(g, "systemd-shutdown[1]: Syncing filesystems and block devices.");
        sim_guest_printk(g, ev == SIM_GUEST_REBOOT ? "reboot: Restarting system"
                                                   : "reboot: Power down");
    }
    g->state = ev == SIM_GUEST_REBOOT || ev == SIM_GUEST_TRIPLE_FAULT ? GUEST_OFF : GUEST_HALTED;
    g->logged_in = FALSE;
    c->g = g;
    c->ev = ev;
    sim_guest_cancel_timer(g);
    g->timer = g_timeout_add_full(G_PRIORITY_DEFAULT, 20, sim_guest_event_idle, c, g_free);
}

static void
sim_guest_prompt(SimGuest *g, SimPort *p)
{
    const char *s = g->logged_in ? "root@cocoon-sim:~# " : "\r\ncocoon-sim login: ";

    if (p)
        sim_port_write(p, s);
    else
        sim_guest_print(g, s);
}

static void
sim_guest_command(SimGuest *g, SimPort *p, const char *raw)
{
    g_autofree char *cmd = g_strstrip(g_strdup(raw));

    if (g_str_equal(cmd, "poweroff") || g_str_equal(cmd, "halt") ||
        g_str_equal(cmd, "shutdown -h now")) {
        sim_guest_go_down(g, SIM_GUEST_POWEROFF);
        return;
    }
    if (g_str_equal(cmd, "reboot") || g_str_equal(cmd, "shutdown -r now")) {
        sim_guest_go_down(g, SIM_GUEST_REBOOT);
        return;
    }
    if (g_str_equal(cmd, "crash")) {
        sim_guest_go_down(g, SIM_GUEST_CRASH);
        return;
    }
    if (g_str_equal(cmd, "triple-fault")) {
        sim_guest_go_down(g, SIM_GUEST_TRIPLE_FAULT);
        return;
    }
    if (!g->logged_in) {
        if (*cmd) {
            g->logged_in = TRUE;
            sim_port_write(p, "Welcome to the Cocoon simulated guest.\r\n");
        }
        sim_guest_prompt(g, p);
        return;
    }
    if (g_str_has_prefix(cmd, "echo ")) {
        g_autofree char *out = g_strdup_printf("%s\r\n", cmd + 5);
        sim_port_write(p, out);
    } else if (g_str_equal(cmd, "cat /proc/cmdline")) {
        g_autofree char *out = g_strdup_printf("%s\r\n", g->cmdline ? g->cmdline : "");
        sim_port_write(p, out);
    } else if (g_str_equal(cmd, "exit") || g_str_equal(cmd, "logout")) {
        g->logged_in = FALSE;
    } else if (*cmd) {
        g_autofree char *out = g_strdup_printf("-sh: %s: not found\r\n", cmd);
        sim_port_write(p, out);
    }
    sim_guest_prompt(g, p);
}

static void
sim_guest_input(SimGuest *g, SimPort *p, const char *buf, gsize len)
{
    for (gsize i = 0; i < len && g->state == GUEST_UP; i++) {
        char c = buf[i];
        if (g->paused) {
            g_string_append_len(p->pending, buf + i, (gssize)(len - i));
            return;
        }
        if (c == '\n' && p->last_cr) {
            p->last_cr = FALSE;
            continue;
        }
        p->last_cr = c == '\r';
        if (c == '\r' || c == '\n') {
            g_autofree char *line = g_strdup(p->line->str);
            g_string_truncate(p->line, 0);
            sim_port_write(p, "\r\n");
            sim_guest_command(g, p, line);
        } else if (c == 0x7f || c == 0x08) {
            if (p->line->len > 0) {
                g_string_truncate(p->line, p->line->len - 1);
                sim_port_write(p, "\b \b");
            }
        } else if (c == 0x03) {
            g_string_truncate(p->line, 0);
            sim_port_write(p, "^C\r\n");
            sim_guest_prompt(g, p);
        } else if ((unsigned char)c >= 0x20) {
            char echo[2] = { c, 0 };
            g_string_append_c(p->line, c);
            sim_port_write(p, echo);
        }
    }
}

/* Once a second, as CH's serial manager: is someone holding the PTY's subordinate end now? */
static gboolean
sim_port_hup_check(gpointer data)
{
    SimPort *p = data;
    struct pollfd pfd = {.fd = p->in_fd, .events = POLLIN};

    if (poll(&pfd, 1, 0) >= 0 && (pfd.revents & POLLHUP))
        return G_SOURCE_CONTINUE;
    p->hup_timer = 0;
    p->hup = FALSE;
    if (p->outq->len > 0 && !p->out_watch) {
        GString *held = p->outq;
        p->outq = g_string_new(NULL);
        sim_port_write_out(p, held->str, held->len);
        g_string_free(held, TRUE);
    }
    if (!p->out_watch)
        sim_port_input_resume(p);
    return G_SOURCE_REMOVE;
}

static void
sim_port_hung_up(SimPort *p)
{
    p->hup = TRUE;
    if (!p->hup_timer)
        p->hup_timer = g_timeout_add(1000, sim_port_hup_check, p);
}

static gboolean
sim_port_readable(gint fd, GIOCondition cond, gpointer data)
{
    SimPort *p = data;
    char buf[1024];
    ssize_t n = read(fd, buf, sizeof(buf));

    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return G_SOURCE_CONTINUE;
    if (n <= 0) {
        p->in_watch = 0;
        if (p->hup_poll) { /* the last holder of the subordinate end closed it */
            sim_port_hung_up(p);
            return G_SOURCE_REMOVE;
        }
        if (p->listen_fd >= 0) {  /* socket client went away */
            sim_port_output_reset(p);
            close(p->in_fd);
            p->in_fd = p->out_fd = -1;
        }
        return G_SOURCE_REMOVE;
    }
    if (p->enabled)
        sim_guest_input(p->g, p, buf, (gsize)n);
    return G_SOURCE_CONTINUE;
}

static gboolean
sim_port_accept(gint fd, GIOCondition cond, gpointer data)
{
    SimPort *p = data;
    int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

    if (c < 0)
        return G_SOURCE_CONTINUE;
    if (p->in_fd >= 0) {
        if (p->in_watch)
            g_source_remove(p->in_watch);
        p->in_watch = 0;
        sim_port_output_reset(p);
        close(p->in_fd);
    }
    p->in_fd = p->out_fd = c;
    sim_port_write_fd(c, p->backlog->str, p->backlog->len);
    g_string_truncate(p->backlog, 0);
    p->in_watch = g_unix_fd_add(c, G_IO_IN | G_IO_HUP | G_IO_ERR, sim_port_readable, p);
    return G_SOURCE_CONTINUE;
}

static SimPort *
sim_port_new(SimGuest *g, const char *name)
{
    SimPort *p = g_new0(SimPort, 1);

    p->g = g;
    p->name = g_strdup(name);
    p->in_fd = p->out_fd = p->extra_fd = p->listen_fd = -1;
    p->line = g_string_new(NULL);
    p->pending = g_string_new(NULL);
    p->backlog = g_string_new(NULL);
    p->outq = g_string_new(NULL);
    g_ptr_array_add(g->ports, p);
    return p;
}

static void
sim_port_free(gpointer data)
{
    SimPort *p = data;

    if (p->in_watch)
        g_source_remove(p->in_watch);
    if (p->listen_watch)
        g_source_remove(p->listen_watch);
    if (p->hup_timer)
        g_source_remove(p->hup_timer);
    sim_port_output_reset(p);
    if (p->owned || p->listen_fd >= 0) {
        if (p->in_fd >= 0)
            close(p->in_fd);
        if (p->out_fd >= 0 && p->out_fd != p->in_fd)
            close(p->out_fd);
    }
    if (p->extra_fd >= 0)
        close(p->extra_fd);
    if (p->listen_fd >= 0)
        close(p->listen_fd);
    g_string_free(p->line, TRUE);
    g_string_free(p->pending, TRUE);
    g_string_free(p->backlog, TRUE);
    g_string_free(p->outq, TRUE);
    g_free(p->name);
    g_free(p);
}

void
sim_guest_port_add_fds(SimGuest *g, const char *name, int in_fd, int out_fd, int extra_fd,
                       gboolean owned)
{
    SimPort *p = sim_port_new(g, name);

    p->in_fd = in_fd;
    p->out_fd = out_fd;
    p->extra_fd = extra_fd;
    p->owned = owned;
    if (in_fd >= 0)
        p->in_watch = g_unix_fd_add(in_fd, G_IO_IN | G_IO_HUP | G_IO_ERR, sim_port_readable, p);
}

void
sim_guest_port_add_pty(SimGuest *g, const char *name, int master)
{
    SimPort *p = sim_port_new(g, name);

    p->in_fd = p->out_fd = master;
    p->owned = TRUE;
    p->hup_poll = TRUE;
    sim_port_hung_up(p);
}

void
sim_guest_port_add_listener(SimGuest *g, const char *name, int listen_fd)
{
    SimPort *p = sim_port_new(g, name);

    p->listen_fd = listen_fd;
    p->listen_watch = g_unix_fd_add(listen_fd, G_IO_IN, sim_port_accept, p);
}

void
sim_guest_ports_clear(SimGuest *g)
{
    g_ptr_array_set_size(g->ports, 0);
}

SimGuest *
sim_guest_new(SimGuestEventFn fn, gpointer user_data)
{
    SimGuest *g = g_new0(SimGuest, 1);

    g->fn = fn;
    g->user_data = user_data;
    g->ports = g_ptr_array_new_with_free_func(sim_port_free);
    g->pending_request = -1;
    return g;
}

void
sim_guest_free(SimGuest *g)
{
    if (!g)
        return;
    sim_guest_cancel_timer(g);
    g_ptr_array_unref(g->ports);
    g_free(g->cmdline);
    g_strfreev(g->info);
    g_free(g);
}

/* Which ports are consoles: every console=NAME[,opts] of the command line, else hvc0. */
static void
sim_guest_enable_ports(SimGuest *g, const char *cmdline)
{
    g_auto(GStrv) words = g_strsplit(cmdline ? cmdline : "", " ", -1);
    gboolean any = FALSE;
    gboolean no_uart = cmdline && strstr(cmdline, "8250.nr_uarts=0") != NULL;

    for (guint i = 0; i < g->ports->len; i++)
        ((SimPort *)g->ports->pdata[i])->enabled = FALSE;
    for (char **w = words; *w; w++) {
        g_autofree char *dev = NULL;
        if (!g_str_has_prefix(*w, "console="))
            continue;
        any = TRUE;
        dev = g_strdup(*w + 8);
        if (strchr(dev, ','))
            *strchr(dev, ',') = '\0';
        if (no_uart && g_str_has_prefix(dev, "ttyS"))
            continue;
        for (guint i = 0; i < g->ports->len; i++) {
            SimPort *p = g->ports->pdata[i];
            if (g_str_equal(p->name, dev))
                p->enabled = TRUE;
        }
    }
    if (!any) {
        for (guint i = 0; i < g->ports->len; i++) {
            SimPort *p = g->ports->pdata[i];
            if (g_str_equal(p->name, "hvc0"))
                p->enabled = TRUE;
        }
    }
}

static gboolean
sim_guest_boot_log(gpointer data)
{
    SimGuest *g = data;
    g_autofree char *cl = NULL;

    g->timer = 0;
    if (g->state != GUEST_BOOTING)
        return G_SOURCE_REMOVE;
    if (g->paused) {
        g->timer = g_timeout_add(20, sim_guest_boot_log, g);
        return G_SOURCE_REMOVE;
    }
    g->uptime = 0;
    sim_guest_printk(g, "Linux version 6.1.0-cocoon-sim (simulated guest) #1 SMP");
    cl = g_strdup_printf("Command line: %s", g->cmdline ? g->cmdline : "");
    sim_guest_printk(g, cl);
    for (char **l = g->info; l && *l; l++)
        sim_guest_printk(g, *l);
    sim_guest_printk(g, "Run /sbin/init as init process");
    sim_guest_print(g, "\r\nCocoon simulated guest (Linux 6.1)\r\n");
    g->state = GUEST_UP;
    g->logged_in = FALSE;
    sim_guest_prompt(g, NULL);
    if (g->pending_request >= 0) {
        SimGuestEvent ev = (SimGuestEvent)g->pending_request;
        g->pending_request = -1;
        sim_guest_go_down(g, ev);
    }
    return G_SOURCE_REMOVE;
}

void
sim_guest_boot(SimGuest *g, const char *cmdline, const char *const *info)
{
    sim_guest_cancel_timer(g);
    g_free(g->cmdline);
    g->cmdline = g_strdup(cmdline);
    g_strfreev(g->info);
    g->info = g_strdupv((char **)info);
    g->state = GUEST_BOOTING;
    g->paused = FALSE;
    g->pending_request = -1;
    sim_guest_enable_ports(g, cmdline);
    g->timer = g_timeout_add(30, sim_guest_boot_log, g);
}

void
sim_guest_resume_booted(SimGuest *g, const char *cmdline)
{
    sim_guest_cancel_timer(g);
    g_free(g->cmdline);
    g->cmdline = g_strdup(cmdline);
    g->state = GUEST_UP;
    g->logged_in = FALSE;
    g->pending_request = -1;
    sim_guest_enable_ports(g, cmdline);
}

void
sim_guest_stop(SimGuest *g)
{
    sim_guest_cancel_timer(g);
    g->state = GUEST_OFF;
    g->paused = FALSE;
    g->pending_request = -1;
    for (guint i = 0; i < g->ports->len; i++) {
        SimPort *p = g->ports->pdata[i];
        p->enabled = FALSE;
        g_string_truncate(p->line, 0);
        g_string_truncate(p->pending, 0);
    }
}

void
sim_guest_set_paused(SimGuest *g, gboolean paused)
{
    g->paused = paused;
    if (paused || g->state != GUEST_UP)
        return;
    for (guint i = 0; i < g->ports->len && g->state == GUEST_UP && !g->paused; i++) {
        SimPort *p = g->ports->pdata[i];
        g_autofree char *buf = g_strdup(p->pending->str);
        gsize len = p->pending->len;
        g_string_truncate(p->pending, 0);
        sim_guest_input(g, p, buf, len);
    }
    if (g->state == GUEST_UP && g->pending_request >= 0) {
        SimGuestEvent ev = (SimGuestEvent)g->pending_request;
        g->pending_request = -1;
        sim_guest_go_down(g, ev);
    }
}

void
sim_guest_request(SimGuest *g, SimGuestEvent ev, gboolean from_host)
{
    if (from_host && g_strcmp0(g_getenv("COCOON_SIM_IGNORE_SHUTDOWN"), "1") == 0)
        return;
    if (g->state == GUEST_BOOTING || (g->state == GUEST_UP && g->paused)) {
        g->pending_request = (int)ev;
        return;
    }
    if (g->state != GUEST_UP)
        return;
    sim_guest_go_down(g, ev);
}

/* SIGUSR1 (power off) and SIGUSR2 (reboot), read from a signalfd by the main loop. GLib's
 * own signal sources would start a helper thread, and with it wake-ups of the main loop on
 * every API call: a real VMM answers at once. */
static gboolean
sim_guest_on_signal(int fd, GIOCondition cond, gpointer data)
{
    struct signalfd_siginfo si;

    while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
        sim_guest_request(data, si.ssi_signo == SIGUSR1 ? SIM_GUEST_POWEROFF : SIM_GUEST_REBOOT,
                          FALSE);
    return G_SOURCE_CONTINUE;
}

void
sim_guest_watch_signals(SimGuest *g)
{
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    sigprocmask(SIG_BLOCK, &set, NULL);
    int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0) {
        g_printerr("signalfd: %s\n", g_strerror(errno));
        exit(1);
    }
    g_unix_fd_add(fd, G_IO_IN, sim_guest_on_signal, g);
}
