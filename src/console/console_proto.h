#pragma once

#include "util/cv_error.h"

#include <stdbool.h>

/*
 * The console socket protocol, spoken on the UNIX stream socket that a VM's console relay
 * listens on (in the VM's run directory).
 *
 *   client → relay   one line:   "ATTACH <mode>\n"
 *                    <mode> is interactive | force | safe | readonly; the line is at most
 *                    CONSOLE_PROTO_LINE_MAX bytes including the newline.
 *   relay → client   one line:   "OK\n"  or  "ERR <message>\n"  (then the relay closes).
 *
 * After OK, raw bytes flow with no framing: relay → client first the scrollback (the last
 * bytes the guest printed, oldest first), then the live console output; client → relay the
 * keystrokes for the guest. Either side ends the session by closing.
 *
 * Modes (libvirt's virDomainOpenConsole semantics; read-only viewers are Cocoon's addition):
 *   interactive  the one session whose input reaches the guest; refused while another
 *                interactive session exists ("active console session exists for this domain").
 *   force        like interactive, but takes the session over: the previous interactive viewer
 *                receives a one-line notice and is disconnected.
 *   safe         an interactive session with exclusive access: refused while any other viewer
 *                is attached, and while it lasts read-only viewers are refused (force still wins).
 *   readonly     sees the output; anything it sends is read and discarded.
 *
 * A viewer that falls more than its output buffer behind the guest is sent a notice and
 * disconnected; the guest never waits for a viewer.
 */

#define CONSOLE_PROTO_LINE_MAX 128

typedef enum {
    CONSOLE_MODE_INTERACTIVE,
    CONSOLE_MODE_FORCE,
    CONSOLE_MODE_SAFE,
    CONSOLE_MODE_READONLY,
    CONSOLE_MODE_LAST
} ConsoleMode;

/** console_mode_to_string: "interactive", "force", "safe" or "readonly". */
const char *console_mode_to_string(ConsoleMode mode);

/** console_mode_from_string: the mode named str, or -1. */
int console_mode_from_string(const char *str);

/**
 * console_proto_parse_request: parse one request line (with or without its final '\n').
 * Returns 0 and writes *ret_mode, or -1 with *err set (message suitable for an ERR reply).
 */
int console_proto_parse_request(const char *line, ConsoleMode *ret_mode, CvError **err);

/**
 * console_proto_format_error: the reply line "ERR <message>\n" (g_free); newlines in message
 * are replaced by spaces so the reply stays one line.
 */
char *console_proto_format_error(const char *message);

/**
 * console_client_attach_fd: run the handshake on an already connected socket fd (borrowed).
 * Reads the reply byte by byte, so no console byte after it is consumed. Returns 0, or -1 with
 * *err set (VIR_ERR_OPERATION_FAILED carrying the relay's message on an ERR reply).
 */
int console_client_attach_fd(int fd, ConsoleMode mode, CvError **err);

/**
 * console_client_attach: connect to the console socket at socket_path and attach in mode.
 * On success *ret_fd is the connected socket (blocking, O_CLOEXEC, owned by the caller) with
 * the handshake done: the next bytes read are the scrollback. Returns 0, or -1 with *err set.
 */
int console_client_attach(const char *socket_path, ConsoleMode mode, int *ret_fd, CvError **err);
