#pragma once

#include "util/cv_error.h"

#include <stdbool.h>

/*
 * The terminal end of a console session, as `virsh console` behaves: print the banner, put the
 * local terminal in raw mode (when the input is a terminal), copy bytes both ways between it
 * and a connected console fd, leave on Ctrl+] (0x1d), and restore the terminal on every way
 * out (escape, the relay closing, errors, SIGINT/SIGTERM/SIGHUP).
 *
 * With a non-terminal input (a pipe or file), the input is copied until its end; output is then
 * still shown until the relay closes or nothing arrives for idle_timeout_ms.
 *
 * Signal handlers for SIGINT, SIGTERM and SIGHUP are installed for the duration of the call
 * (SIGPIPE is ignored) and the previous dispositions restored afterwards. One session per
 * process at a time.
 */

typedef enum {
    CONSOLE_TERMINAL_ESCAPE,    /* the user typed the escape character */
    CONSOLE_TERMINAL_CLOSED,    /* the relay closed the session (VM gone, taken over, dropped) */
    CONSOLE_TERMINAL_INPUT_END, /* input ended, then output stayed idle for idle_timeout_ms */
    CONSOLE_TERMINAL_SIGNAL,    /* SIGINT, SIGTERM or SIGHUP arrived */
} ConsoleTerminalEnd;

#define CONSOLE_TERMINAL_ESCAPE_CHAR 0x1d

typedef struct {
    const char *domain_name; /* for the banner; NULL: no banner */
    int in_fd;               /* usually STDIN_FILENO (borrowed) */
    int out_fd;              /* usually STDOUT_FILENO (borrowed) */
    int idle_timeout_ms;     /* after input ended; < 0: wait for the relay to close */
} ConsoleTerminalOptions;

/** Options for stdin/stdout, with a 500 ms idle timeout once a piped input has ended. */
#define CONSOLE_TERMINAL_OPTIONS_INIT(name)                                                        \
    ((ConsoleTerminalOptions){                                                                     \
        .domain_name = (name), .in_fd = 0, .out_fd = 1, .idle_timeout_ms = 500})

/**
 * console_terminal_run: run an interactive session over conn_fd (a console socket after the
 * handshake, borrowed; its flags are restored on return).
 * On success returns 0 and writes why the session ended to *ret_end (may be NULL).
 * Returns -1 with *err set on an I/O error. The terminal is restored in both cases.
 */
int console_terminal_run(int conn_fd, const ConsoleTerminalOptions *opts,
                         ConsoleTerminalEnd *ret_end, CvError **err);
