/*
 * A minimal `virsh console` built on console_terminal, for the terminal tests:
 *
 *   console_term_client SOCKET NAME [MODE [IDLE_MS]]
 *
 * Prints why the session ended ("[end: escape]" …) after the terminal is restored.
 */
#include "console/console_proto.h"
#include "console/console_terminal.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
    static const char *const ends[] = {"escape", "closed", "input-end", "signal"};
    g_autoptr(CvError) err = NULL;
    ConsoleTerminalEnd end;
    int fd;

    if (argc < 3) {
        fprintf(stderr, "usage: %s SOCKET NAME [MODE [IDLE_MS]]\n", argv[0]);
        return 2;
    }
    int mode = argc > 3 ? console_mode_from_string(argv[3]) : CONSOLE_MODE_INTERACTIVE;
    ConsoleTerminalOptions opts = CONSOLE_TERMINAL_OPTIONS_INIT(argv[2]);
    if (argc > 4)
        opts.idle_timeout_ms = atoi(argv[4]);
    if (mode < 0) {
        fprintf(stderr, "error: unknown mode '%s'\n", argv[3]);
        return 2;
    }
    if (console_client_attach(argv[1], mode, &fd, &err) < 0 ||
        console_terminal_run(fd, &opts, &end, &err) < 0) {
        fprintf(stderr, "error: %s\n", err->message);
        return 1;
    }
    close(fd);
    printf("\n[end: %s]\n", ends[end]);
    return 0;
}
