#pragma once

#include "console/console_proto.h"
#include "util/cv_error.h"

#include <stdbool.h>
#include <sys/types.h>

/*
 * The console relay: the single reader of a VM's console PTY, serving any number of viewers on
 * a UNIX socket (protocol in console_proto.h). One epoll loop, no threads:
 *
 *  - every byte read from the PTY goes into the scrollback ring and into each attached viewer's
 *    bounded output queue; the PTY is read as fast as the guest writes, so a slow viewer never
 *    slows the guest. A viewer whose queue would overflow is sent a notice and dropped.
 *  - keystrokes of the interactive viewer go to the PTY through a bounded input queue; while it
 *    is full the relay stops reading that viewer (back-pressure, nothing dropped).
 *  - the relay ends when the PTY hangs up (the VMM closed it or exited), when the watched
 *    process dies (pidfd), or on console_relay_stop(). It then stops listening, removes its
 *    socket, gives viewers a short while to receive what is queued, and closes them (EOF).
 */

#define CONSOLE_RELAY_SCROLLBACK_DEFAULT (64 * 1024)
#define CONSOLE_RELAY_VIEWER_BUFFER_DEFAULT (16 * 1024 * 1024)
#define CONSOLE_RELAY_VIEWERS_MAX 64

typedef struct ConsoleRelay ConsoleRelay;

typedef struct {
    const char *socket_path; /* where to listen; a stale socket there is replaced */
    pid_t watch_pid;         /* end when this process exits; 0: no process watched */
    size_t scrollback;       /* scrollback bytes; 0: CONSOLE_RELAY_SCROLLBACK_DEFAULT */
    size_t viewer_buffer;    /* per-viewer output queue; 0: default; never below scrollback */
    int log_fd;              /* diagnostics, one line per event (borrowed); -1: none */
} ConsoleRelayConfig;

/**
 * console_relay_new: set up a relay: take the console fd (a PTY master, or a terminal opened by
 * path), bind and listen on cfg->socket_path, open a pidfd for cfg->watch_pid.
 * @pty_fd: in: the console fd; ownership passes to the relay and *pty_fd becomes -1 (also on
 *   failure, where it is closed).
 * Returns the relay (listening: viewers may connect from now on), or NULL with *err set.
 */
ConsoleRelay *console_relay_new(const ConsoleRelayConfig *cfg, int *pty_fd, CvError **err);

/**
 * console_relay_run: serve until the VM's console ends or console_relay_stop() is called.
 * Returns 0, or -1 with *err set on an unexpected system error.
 */
int console_relay_run(ConsoleRelay *relay, CvError **err);

/**
 * console_relay_stop: ask a running relay to finish (viewers get EOF). Async-signal-safe and
 * callable from another thread.
 */
void console_relay_stop(ConsoleRelay *relay);

/** console_relay_free: close everything and remove the socket; NULL is accepted. */
void console_relay_free(ConsoleRelay *relay);
#ifdef CV_ERROR_HAVE_GLIB
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ConsoleRelay, console_relay_free)
#endif
