#include "console/console_relay.h"

#include "console/console_ring.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "util/cv_mem.h"

#define VIR_FROM_THIS VIR_FROM_STREAMS

#define RELAY_READ_CHUNK (64 * 1024)
#define RELAY_INPUT_QUEUE (64 * 1024)
/* How long a viewer being closed may take to receive its last bytes and notice. */
#define RELAY_LINGER_MS 1000
/* Reads of one source per wake-up, so one busy fd cannot starve the others. */
#define RELAY_READS_PER_WAKEUP 16

#define NOTICE_TAKEN_OVER "\r\n[console session taken over by another client]\r\n"
#define NOTICE_TOO_SLOW "\r\n[console viewer too slow: disconnected]\r\n"

/* epoll tags of the relay's own fds; viewers are tagged by their (heap) address. */
enum { TAG_PTY = 1, TAG_LISTEN, TAG_STOP, TAG_PID, TAG_LAST_FIXED };

typedef enum {
    VIEWER_HANDSHAKE,
    VIEWER_ATTACHED,
    VIEWER_CLOSING, /* flushing its queue (and a notice), then closed */
    VIEWER_DEAD,    /* closed; freed after the current batch of events */
} ViewerState;

typedef struct {
    int fd;
    unsigned int id;
    ViewerState state;
    bool interactive;
    bool exclusive; /* a safe session */
    bool out_dead;  /* the peer is gone for writing; read what it left, then close */
    bool registered;
    uint32_t events;
    int64_t deadline;                      /* VIEWER_CLOSING: monotonic µs */
    char line[CONSOLE_PROTO_LINE_MAX + 1]; /* VIEWER_HANDSHAKE: the request so far */
    size_t line_len;
    ConsoleRing *out;
} ConsoleViewer;

/* Viewers, unordered: removing one moves the last into its place. */
typedef struct {
    ConsoleViewer **items;
    size_t len;
    size_t alloc;
} ViewerList;

static void
viewer_list_add(ViewerList *l, ConsoleViewer *v)
{
    if (l->len == l->alloc) {
        l->alloc = l->alloc ? l->alloc * 2 : 8;
        l->items = cv_xrealloc(l->items, l->alloc * sizeof(*l->items));
    }
    l->items[l->len++] = v;
}

static void
viewer_list_remove(ViewerList *l, ConsoleViewer *v)
{
    for (size_t i = 0; i < l->len; i++) {
        if (l->items[i] == v) {
            l->items[i] = l->items[--l->len];
            return;
        }
    }
}

/* A copy of l's members now, to walk while viewers come and go. */
static ViewerList
viewer_list_snapshot(const ViewerList *l)
{
    ViewerList copy = {.len = l->len, .alloc = l->len};
    copy.items = cv_xmalloc((l->len ? l->len : 1) * sizeof(*copy.items));
    if (l->len)
        memcpy(copy.items, l->items, l->len * sizeof(*copy.items));
    return copy;
}

static void
viewer_list_release(ViewerList *l)
{
    free(l->items);
    *l = (ViewerList){0};
}

/* A snapshot released when it goes out of scope. */
#define viewer_snapshot __attribute__((cleanup(viewer_list_release))) ViewerList

struct ConsoleRelay {
    int pty_fd;
    int listen_fd;
    int epoll_fd;
    int stop_fd;
    int pid_fd;
    pid_t watch_pid;
    char *socket_path;
    bool own_socket;
    size_t viewer_buffer;
    int log_fd;
    ConsoleRing *scrollback;
    ConsoleRing *input;
    uint32_t pty_events;
    ViewerList viewers;   /* live ones */
    ViewerList graveyard; /* closed during this batch, freed after it */
    ConsoleViewer *interactive;
    unsigned int next_id;
    bool ending;
    int64_t end_deadline;
    uint8_t *chunk;
};

/* The monotonic clock in µs. */
static int64_t
relay_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void CV_PRINTF(2, 3)
relay_log(ConsoleRelay *relay, const char *fmt, ...)
{
    if (relay->log_fd < 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    cv_autofree char *msg = cv_xvasprintf(fmt, ap);
    va_end(ap);
    /* UTC, to the millisecond: "2026-11-26 23:16:55.431" */
    struct timespec ts;
    struct tm tm;
    char stamp[32] = "";
    clock_gettime(CLOCK_REALTIME, &ts);
    if (gmtime_r(&ts.tv_sec, &tm))
        strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
    cv_autofree char *line = cv_xasprintf("%s.%03ld: %s\n", stamp, ts.tv_nsec / 1000000, msg);
    /* Best effort: diagnostics must never disturb the console. */
    if (write(relay->log_fd, line, strlen(line)) < 0)
        return;
}

static int
relay_epoll_set(ConsoleRelay *relay, int fd, uint64_t tag, uint32_t old_events, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.u64 = tag};
    int op = old_events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;

    if (events == 0)
        op = EPOLL_CTL_DEL;
    if (events == old_events)
        return 0;
    return epoll_ctl(relay->epoll_fd, op, fd, &ev);
}

/* ---- viewers ---------------------------------------------------------------------------- */

static void
relay_viewer_free(ConsoleViewer *v)
{
    console_ring_free(v->out);
    free(v);
}

static void
relay_viewer_close(ConsoleRelay *relay, ConsoleViewer *v, const char *why)
{
    if (v->state == VIEWER_DEAD)
        return;
    relay_log(relay, "viewer %u: closed (%s)", v->id, why);
    if (v->registered)
        epoll_ctl(relay->epoll_fd, EPOLL_CTL_DEL, v->fd, NULL);
    close(v->fd);
    v->fd = -1;
    v->state = VIEWER_DEAD;
    if (relay->interactive == v)
        relay->interactive = NULL;
    viewer_list_remove(&relay->viewers, v);
    viewer_list_add(&relay->graveyard, v);
}

static void
relay_viewer_update(ConsoleRelay *relay, ConsoleViewer *v)
{
    uint32_t events = 0;

    switch (v->state) {
    case VIEWER_HANDSHAKE:
        events = EPOLLIN;
        break;
    case VIEWER_ATTACHED:
        /* The interactive viewer is read only while its keystrokes have room to go. */
        if (!v->interactive || console_ring_space(relay->input) > 0)
            events |= EPOLLIN;
        if (!v->out_dead && console_ring_length(v->out) > 0)
            events |= EPOLLOUT;
        break;
    case VIEWER_CLOSING:
        if (console_ring_length(v->out) > 0)
            events = EPOLLOUT;
        break;
    case VIEWER_DEAD:
        return;
    }
    if (relay_epoll_set(relay, v->fd, (uint64_t)(uintptr_t)v, v->registered ? v->events : 0,
                        events) < 0) {
        relay_viewer_close(relay, v, "epoll failed");
        return;
    }
    v->events = events;
    v->registered = events != 0;
}

/* Put the viewer in VIEWER_CLOSING: flush what is queued (plus notice), then close. */
static void
relay_viewer_linger(ConsoleRelay *relay, ConsoleViewer *v, const char *notice, const char *why)
{
    if (v->state == VIEWER_DEAD || v->state == VIEWER_CLOSING)
        return;
    relay_log(relay, "viewer %u: %s", v->id, why);
    if (relay->interactive == v)
        relay->interactive = NULL;
    v->state = VIEWER_CLOSING;
    v->deadline = relay_now_us() + RELAY_LINGER_MS * 1000;
    if (v->out_dead) {
        relay_viewer_close(relay, v, why);
        return;
    }
    if (notice) {
        if (console_ring_space(v->out) < strlen(notice))
            console_ring_clear(v->out);
        console_ring_append(v->out, notice, strlen(notice));
    }
    if (console_ring_length(v->out) == 0) {
        relay_viewer_close(relay, v, why);
        return;
    }
    relay_viewer_update(relay, v);
}

/* Send as much of the queue as the socket takes. Returns false when the viewer was closed. */
static bool
relay_viewer_flush(ConsoleRelay *relay, ConsoleViewer *v)
{
    while (console_ring_length(v->out) > 0 && !v->out_dead) {
        struct iovec iov[2];
        struct msghdr msg = {.msg_iov = iov};
        msg.msg_iovlen = console_ring_peek(v->out, iov);
        ssize_t n = sendmsg(v->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                break;
            if (v->state != VIEWER_ATTACHED || !v->interactive) {
                relay_viewer_close(relay, v, strerror(errno));
                return false;
            }
            /* An interactive viewer that left may still have keystrokes for the guest queued
             * in its socket: keep reading those until EOF. */
            v->out_dead = true;
            console_ring_clear(v->out);
            break;
        }
        console_ring_consume(v->out, n);
    }
    if (v->state == VIEWER_CLOSING && console_ring_length(v->out) == 0) {
        relay_viewer_close(relay, v, "done");
        return false;
    }
    relay_viewer_update(relay, v);
    return v->state != VIEWER_DEAD;
}

/* Queue console bytes for one viewer, dropping it if it is too far behind. */
static void
relay_viewer_push(ConsoleRelay *relay, ConsoleViewer *v, const uint8_t *data, size_t len)
{
    if (v->out_dead)
        return;
    if (console_ring_length(v->out) == 0) {
        /* Fast path: straight to the socket, queue only the rest. */
        ssize_t n;
        do {
            n = send(v->fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
        } while (n < 0 && errno == EINTR);
        if (n > 0) {
            data += n;
            len -= n;
        } else if (n < 0 && errno != EAGAIN) {
            console_ring_append(v->out, data, CV_MIN(len, console_ring_space(v->out)));
            relay_viewer_flush(relay, v); /* reports the error the same way */
            return;
        }
        if (len == 0)
            return;
    }
    if (len > console_ring_space(v->out)) {
        console_ring_clear(v->out);
        relay_viewer_linger(relay, v, NOTICE_TOO_SLOW, "too slow: output buffer full");
        return;
    }
    console_ring_append(v->out, data, len);
    relay_viewer_update(relay, v);
}

/* ---- the PTY ---------------------------------------------------------------------------- */

static void relay_end(ConsoleRelay *relay, const char *why);

static void
relay_pty_update(ConsoleRelay *relay)
{
    uint32_t events = 0;

    if (relay->pty_fd < 0)
        return;
    events = EPOLLIN;
    if (console_ring_length(relay->input) > 0)
        events |= EPOLLOUT;
    if (relay_epoll_set(relay, relay->pty_fd, TAG_PTY, relay->pty_events, events) == 0)
        relay->pty_events = events;
}

static void
relay_pty_write(ConsoleRelay *relay)
{
    while (console_ring_length(relay->input) > 0) {
        struct iovec iov[2];
        int cnt = console_ring_peek(relay->input, iov);
        ssize_t n = writev(relay->pty_fd, iov, cnt);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                break;
            relay_end(relay, errno == EIO ? "console hang-up" : strerror(errno));
            return;
        }
        console_ring_consume(relay->input, n);
    }
    relay_pty_update(relay);
    if (relay->interactive)
        relay_viewer_update(relay, relay->interactive);
}

static void
relay_broadcast(ConsoleRelay *relay, const uint8_t *data, size_t len)
{
    console_ring_append(relay->scrollback, data, len);
    /* Iterate over a copy: pushing may close viewers. */
    viewer_snapshot targets = viewer_list_snapshot(&relay->viewers);
    for (size_t i = 0; i < targets.len; i++) {
        ConsoleViewer *v = targets.items[i];
        if (v->state == VIEWER_ATTACHED)
            relay_viewer_push(relay, v, data, len);
    }
}

/* Read what the guest printed. With drain, read what is left (the VM is ending). */
static void
relay_pty_read(ConsoleRelay *relay, bool drain)
{
    int limit = drain ? 64 * RELAY_READS_PER_WAKEUP : RELAY_READS_PER_WAKEUP;

    for (int i = 0; relay->pty_fd >= 0 && i < limit; i++) {
        ssize_t n = read(relay->pty_fd, relay->chunk, RELAY_READ_CHUNK);
        if (n > 0) {
            relay_broadcast(relay, relay->chunk, n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        /* EOF (a terminal opened by path whose master went away) or EIO (a master whose
         * slave is closed by everyone): the VM is gone. */
        if (!drain)
            relay_end(relay, n == 0 || errno == EIO ? "console hang-up" : strerror(errno));
        return;
    }
}

/* ---- attaching -------------------------------------------------------------------------- */

static unsigned int
relay_count_attached(ConsoleRelay *relay, ConsoleViewer *except)
{
    unsigned int count = 0;
    for (size_t i = 0; i < relay->viewers.len; i++) {
        ConsoleViewer *v = relay->viewers.items[i];
        if (v != except && v->state == VIEWER_ATTACHED)
            count++;
    }
    return count;
}

/* Decide whether v may attach in mode; NULL when it may, else the refusal (static text). */
static const char *
relay_attach_refusal(ConsoleRelay *relay, ConsoleViewer *v, ConsoleMode mode)
{
    ConsoleViewer *holder = relay->interactive;

    if (relay_count_attached(relay, v) >= CONSOLE_RELAY_VIEWERS_MAX)
        return "too many console viewers";
    switch (mode) {
    case CONSOLE_MODE_INTERACTIVE:
        if (holder)
            return "active console session exists for this domain";
        return NULL;
    case CONSOLE_MODE_SAFE:
        if (holder)
            return "active console session exists for this domain";
        if (relay_count_attached(relay, v) > 0)
            return "cannot open a safe console session: other viewers are attached";
        return NULL;
    case CONSOLE_MODE_READONLY:
        if (holder && holder->exclusive)
            return "the console is held by a safe (exclusive) session";
        return NULL;
    case CONSOLE_MODE_FORCE:
    case CONSOLE_MODE_LAST:
        return NULL;
    }
    return NULL;
}

static void
relay_viewer_refuse(ConsoleRelay *relay, ConsoleViewer *v, const char *refusal)
{
    cv_autofree char *reply = console_proto_format_error(refusal);

    relay_log(relay, "viewer %u: refused: %s", v->id, refusal);
    if (send(v->fd, reply, strlen(reply), MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
        relay_log(relay, "viewer %u: cannot send refusal: %s", v->id, strerror(errno));
    relay_viewer_close(relay, v, "refused");
}

static void
relay_viewer_attach(ConsoleRelay *relay, ConsoleViewer *v, const char *line)
{
    CvError *perr = NULL;
    ConsoleMode mode;
    const char *refusal = NULL;

    if (console_proto_parse_request(line, &mode, &perr) < 0)
        refusal = perr->message;
    else
        refusal = relay_attach_refusal(relay, v, mode);
    if (refusal) {
        relay_viewer_refuse(relay, v, refusal);
        cv_error_free(perr);
        return;
    }
    if (mode == CONSOLE_MODE_FORCE && relay->interactive)
        relay_viewer_linger(relay, relay->interactive, NOTICE_TAKEN_OVER, "session taken over");

    v->state = VIEWER_ATTACHED;
    v->interactive = mode != CONSOLE_MODE_READONLY;
    v->exclusive = mode == CONSOLE_MODE_SAFE;
    if (v->interactive)
        relay->interactive = v;
    relay_log(relay, "viewer %u: attached (%s)", v->id, console_mode_to_string(mode));
    /* The socket is fresh: "OK\n" fits; the scrollback follows it in order through the queue. */
    console_ring_append(v->out, "OK\n", 3);
    console_ring_copy_to(relay->scrollback, v->out);
    relay_viewer_flush(relay, v);
}

static void
relay_viewer_read_handshake(ConsoleRelay *relay, ConsoleViewer *v)
{
    char buf[CONSOLE_PROTO_LINE_MAX];
    size_t room = CONSOLE_PROTO_LINE_MAX - v->line_len;
    ssize_t n;

    /* Peek, then take exactly the rest of the request line: bytes after it are console input
     * for after the handshake. A partial line is taken too, so the socket stops being readable
     * until more arrives. */
    do {
        n = recv(v->fd, buf, room, MSG_PEEK | MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && errno == EAGAIN)
        return;
    if (n <= 0) {
        relay_viewer_close(relay, v, n == 0 ? "left before attaching" : strerror(errno));
        return;
    }
    char *nl = memchr(buf, '\n', n);
    size_t want = nl ? (size_t)(nl - buf + 1) : (size_t)n;
    if (recv(v->fd, v->line + v->line_len, want, MSG_DONTWAIT) != (ssize_t)want) {
        relay_viewer_close(relay, v, "short read");
        return;
    }
    v->line_len += want;
    if (nl) {
        v->line[v->line_len - 1] = '\0';
        relay_viewer_attach(relay, v, v->line);
    } else if (v->line_len == CONSOLE_PROTO_LINE_MAX) {
        relay_viewer_refuse(relay, v, "console request line too long");
    }
}

static void
relay_viewer_read(ConsoleRelay *relay, ConsoleViewer *v)
{
    uint8_t buf[4096];

    if (v->state == VIEWER_HANDSHAKE) {
        relay_viewer_read_handshake(relay, v);
        return;
    }
    if (v->state != VIEWER_ATTACHED)
        return;
    for (int i = 0; i < RELAY_READS_PER_WAKEUP; i++) {
        size_t room =
            v->interactive ? CV_MIN(sizeof(buf), console_ring_space(relay->input)) : sizeof(buf);
        if (room == 0)
            break;
        ssize_t n = recv(v->fd, buf, room, MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        if (n <= 0) {
            relay_viewer_close(relay, v, n == 0 ? "viewer left" : strerror(errno));
            break;
        }
        /* Read-only viewers' input is read (to notice them leaving) and ignored. */
        if (v->interactive && relay->pty_fd >= 0)
            console_ring_append(relay->input, buf, n);
    }
    if (relay->pty_fd >= 0 && console_ring_length(relay->input) > 0)
        relay_pty_write(relay);
    else if (v->state != VIEWER_DEAD)
        relay_viewer_update(relay, v);
}

static void
relay_accept(ConsoleRelay *relay)
{
    for (int i = 0; i < RELAY_READS_PER_WAKEUP; i++) {
        int fd = accept4(relay->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EINTR)
                relay_log(relay, "accept failed: %s", strerror(errno));
            return;
        }
        ConsoleViewer *v = cv_xcalloc(1, sizeof(*v));
        v->fd = fd;
        v->id = ++relay->next_id;
        v->state = VIEWER_HANDSHAKE;
        v->out = console_ring_new(relay->viewer_buffer);
        viewer_list_add(&relay->viewers, v);
        relay_log(relay, "viewer %u: connected", v->id);
        relay_viewer_update(relay, v);
    }
}

/* ---- life cycle ------------------------------------------------------------------------- */

static void
relay_unlisten(ConsoleRelay *relay)
{
    if (relay->listen_fd >= 0) {
        close(relay->listen_fd);
        relay->listen_fd = -1;
    }
    if (relay->own_socket) {
        unlink(relay->socket_path);
        relay->own_socket = false;
    }
}

/* The VM's console is over: take the last bytes, stop listening, let viewers drain, close. */
static void
relay_end(ConsoleRelay *relay, const char *why)
{
    if (relay->ending)
        return;
    relay->ending = true;
    relay->end_deadline = relay_now_us() + RELAY_LINGER_MS * 1000;
    relay_log(relay, "ending: %s", why);
    /* Both stay readable for good: out of the loop with them. */
    epoll_ctl(relay->epoll_fd, EPOLL_CTL_DEL, relay->stop_fd, NULL);
    if (relay->pid_fd >= 0) {
        close(relay->pid_fd);
        relay->pid_fd = -1;
    }
    if (relay->pty_fd >= 0) {
        relay_pty_read(relay, true);
        close(relay->pty_fd); /* closing an fd removes it from epoll */
        relay->pty_fd = -1;
    }
    relay_unlisten(relay);
    viewer_snapshot all = viewer_list_snapshot(&relay->viewers);
    for (size_t i = 0; i < all.len; i++) {
        ConsoleViewer *v = all.items[i];
        if (v->state == VIEWER_HANDSHAKE)
            relay_viewer_close(relay, v, "console ended");
        else
            relay_viewer_linger(relay, v, NULL, "console ended");
    }
}

static void
relay_dispatch(ConsoleRelay *relay, const struct epoll_event *ev)
{
    uint64_t tag = ev->data.u64;

    if (tag == TAG_PTY) {
        if (relay->pty_fd < 0)
            return;
        if (ev->events & EPOLLOUT)
            relay_pty_write(relay);
        if (relay->pty_fd >= 0 && (ev->events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
            relay_pty_read(relay, false);
    } else if (tag == TAG_LISTEN) {
        if (relay->listen_fd >= 0)
            relay_accept(relay);
    } else if (tag == TAG_STOP) {
        relay_end(relay, "stop requested");
    } else if (tag == TAG_PID) {
        relay_end(relay, "the watched process exited");
    } else {
        ConsoleViewer *v = (ConsoleViewer *)(uintptr_t)tag;
        if (v->state == VIEWER_DEAD)
            return;
        if (ev->events & EPOLLOUT)
            if (!relay_viewer_flush(relay, v))
                return;
        if (ev->events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
            if (v->state == VIEWER_CLOSING || !(v->events & EPOLLIN)) {
                /* Not reading it: a hang-up shows up when its queue is flushed. */
                if (!(v->events & EPOLLOUT))
                    relay_viewer_close(relay, v, "hang-up");
                else
                    relay_viewer_flush(relay, v);
            } else {
                relay_viewer_read(relay, v);
            }
        }
    }
}

/* Close lingering viewers whose time is up; returns the epoll timeout until the next one. */
static int
relay_expire(ConsoleRelay *relay)
{
    int64_t now = relay_now_us();
    int64_t next = INT64_MAX;
    viewer_snapshot all = viewer_list_snapshot(&relay->viewers);

    for (size_t i = 0; i < all.len; i++) {
        ConsoleViewer *v = all.items[i];
        if (v->state != VIEWER_CLOSING)
            continue;
        int64_t deadline = relay->ending ? CV_MIN(v->deadline, relay->end_deadline) : v->deadline;
        if (deadline <= now)
            relay_viewer_close(relay, v, "linger time over");
        else
            next = CV_MIN(next, deadline);
    }
    if (next == INT64_MAX)
        return -1;
    return (int)((next - now + 999) / 1000);
}

/* Free the viewers closed during the last batch of events. */
static void
relay_bury(ConsoleRelay *relay)
{
    for (size_t i = 0; i < relay->graveyard.len; i++)
        relay_viewer_free(relay->graveyard.items[i]);
    relay->graveyard.len = 0;
}

int
console_relay_run(ConsoleRelay *relay, CvError **err)
{
    struct epoll_event events[32];

    relay_log(relay, "listening on '%s'", relay->socket_path);
    while (!relay->ending || relay->viewers.len > 0) {
        int timeout = relay_expire(relay);
        relay_bury(relay);
        if (relay->ending && relay->viewers.len == 0)
            break;
        int n = epoll_wait(relay->epoll_fd, events, CV_N_ELEMENTS(events), timeout);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            cv_error_set_errno(err, VIR_FROM_THIS, errno, "console relay: epoll_wait failed");
            return -1;
        }
        for (int i = 0; i < n; i++)
            relay_dispatch(relay, &events[i]);
    }
    relay_bury(relay);
    relay_log(relay, "exiting");
    return 0;
}

void
console_relay_stop(ConsoleRelay *relay)
{
    uint64_t one = 1;
    if (write(relay->stop_fd, &one, sizeof(one)) < 0)
        return; /* the counter is already non-zero: a stop is pending */
}

static int
relay_listen(ConsoleRelay *relay, CvError **err)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    const char *path = relay->socket_path;

    if (strlen(path) >= sizeof(addr.sun_path)) {
        cv_error_set(err, VIR_FROM_THIS, VIR_ERR_INVALID_ARG,
                     "console socket path '%s' is too long", path);
        return -1;
    }
    strcpy(addr.sun_path, path);
    relay->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (relay->listen_fd < 0) {
        cv_error_set_errno(err, VIR_FROM_THIS, errno, "cannot create a socket");
        return -1;
    }
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
        /* A socket left by a relay that died: replace it, unless something still answers. */
        int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int busy = probe >= 0 && connect(probe, (struct sockaddr *)&addr, sizeof(addr)) == 0;
        if (probe >= 0)
            close(probe);
        if (busy) {
            cv_error_set(err, VIR_FROM_THIS, VIR_ERR_OPERATION_FAILED,
                         "console socket '%s' is already in use", path);
            return -1;
        }
        unlink(path);
    }
    if (bind(relay->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        cv_error_set_errno(err, VIR_FROM_THIS, errno, "cannot bind console socket '%s'", path);
        return -1;
    }
    relay->own_socket = true;
    if (chmod(path, 0600) < 0 || listen(relay->listen_fd, 16) < 0) {
        cv_error_set_errno(err, VIR_FROM_THIS, errno, "cannot listen on console socket '%s'", path);
        return -1;
    }
    return 0;
}

static void
relay_freep(ConsoleRelay **relay)
{
    console_relay_free(*relay);
}

ConsoleRelay *
console_relay_new(const ConsoleRelayConfig *cfg, int *pty_fd, CvError **err)
{
    __attribute__((cleanup(relay_freep))) ConsoleRelay *relay = cv_xcalloc(1, sizeof(*relay));
    size_t scrollback = cfg->scrollback ? cfg->scrollback : CONSOLE_RELAY_SCROLLBACK_DEFAULT;
    size_t vbuf = cfg->viewer_buffer ? cfg->viewer_buffer : CONSOLE_RELAY_VIEWER_BUFFER_DEFAULT;

    relay->pty_fd = *pty_fd;
    *pty_fd = -1;
    relay->listen_fd = relay->epoll_fd = relay->stop_fd = relay->pid_fd = -1;
    relay->log_fd = cfg->log_fd;
    relay->socket_path = cv_xstrdup(cfg->socket_path);
    relay->scrollback = console_ring_new(scrollback);
    /* The scrollback plus the "OK" line must always fit in a fresh viewer's queue. */
    relay->viewer_buffer = CV_MAX(vbuf, scrollback + CONSOLE_PROTO_LINE_MAX);
    relay->input = console_ring_new(RELAY_INPUT_QUEUE);
    relay->chunk = cv_xmalloc(RELAY_READ_CHUNK);

    if (relay->pty_fd < 0) {
        cv_error_set(err, VIR_FROM_THIS, VIR_ERR_INVALID_ARG, "no console fd given");
        return NULL;
    }
    int flags = fcntl(relay->pty_fd, F_GETFL);
    if (flags < 0 || fcntl(relay->pty_fd, F_SETFL, flags | O_NONBLOCK) < 0 ||
        fcntl(relay->pty_fd, F_SETFD, FD_CLOEXEC) < 0) {
        cv_error_set_errno(err, VIR_FROM_THIS, errno, "invalid console fd %d", relay->pty_fd);
        return NULL;
    }
    relay->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    relay->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (relay->epoll_fd < 0 || relay->stop_fd < 0) {
        cv_error_set_errno(err, VIR_FROM_THIS, errno, "cannot create the relay's event loop");
        return NULL;
    }
    if (cfg->watch_pid > 0) {
        relay->watch_pid = cfg->watch_pid;
        relay->pid_fd = syscall(SYS_pidfd_open, cfg->watch_pid, 0);
        if (relay->pid_fd < 0) {
            cv_error_set_errno(err, VIR_FROM_THIS, errno, "cannot watch process %d",
                               (int)cfg->watch_pid);
            return NULL;
        }
        fcntl(relay->pid_fd, F_SETFD, FD_CLOEXEC);
    }
    if (relay_listen(relay, err) < 0)
        return NULL;

    struct epoll_event ev = {.events = EPOLLIN};
    ev.data.u64 = TAG_LISTEN;
    int rc = epoll_ctl(relay->epoll_fd, EPOLL_CTL_ADD, relay->listen_fd, &ev);
    ev.data.u64 = TAG_STOP;
    rc = rc < 0 ? rc : epoll_ctl(relay->epoll_fd, EPOLL_CTL_ADD, relay->stop_fd, &ev);
    if (relay->pid_fd >= 0) {
        ev.data.u64 = TAG_PID;
        rc = rc < 0 ? rc : epoll_ctl(relay->epoll_fd, EPOLL_CTL_ADD, relay->pid_fd, &ev);
    }
    if (rc < 0) {
        cv_error_set_errno(err, VIR_FROM_THIS, errno, "cannot set up the relay's event loop");
        return NULL;
    }
    relay_pty_update(relay);
    if (relay->pty_events == 0) {
        cv_error_set_errno(err, VIR_FROM_THIS, errno, "cannot poll the console fd");
        return NULL;
    }
    ConsoleRelay *ret = relay;
    relay = NULL;
    return ret;
}

void
console_relay_free(ConsoleRelay *relay)
{
    if (!relay)
        return;
    relay_unlisten(relay);
    for (size_t i = 0; i < relay->viewers.len; i++) {
        ConsoleViewer *v = relay->viewers.items[i];
        close(v->fd);
        relay_viewer_free(v);
    }
    viewer_list_release(&relay->viewers);
    relay_bury(relay);
    viewer_list_release(&relay->graveyard);
    if (relay->pty_fd >= 0)
        close(relay->pty_fd);
    if (relay->epoll_fd >= 0)
        close(relay->epoll_fd);
    if (relay->stop_fd >= 0)
        close(relay->stop_fd);
    if (relay->pid_fd >= 0)
        close(relay->pid_fd);
    console_ring_free(relay->scrollback);
    console_ring_free(relay->input);
    free(relay->socket_path);
    free(relay->chunk);
    free(relay);
}
