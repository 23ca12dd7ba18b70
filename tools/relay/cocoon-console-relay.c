/*
 * cocoon-console-relay: one per running VM. Owns the single reader of the VM's console PTY and
 * serves viewers on a UNIX socket (src/console/console_relay.h). Outlives its spawner; exits when
 * the VM does.
 */
#include "console/console_relay.h"
#include "console/cv_pty.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static ConsoleRelay *relay_running;

static void
relay_main_on_signal(int signo)
{
    if (relay_running)
        console_relay_stop(relay_running);
}

static void
relay_main_usage(FILE *out)
{
    fprintf(out,
            "usage: cocoon-console-relay (--pty-fd N | --pty PATH) --socket PATH [options]\n"
            "  --pty-fd N           the console PTY master, inherited as fd N\n"
            "  --pty PATH           open the console terminal at PATH (e.g. /dev/pts/7)\n"
            "  --socket PATH        UNIX socket to serve viewers on (removed on exit)\n"
            "  --pid PID            also exit when process PID exits\n"
            "  --scrollback BYTES   scrollback kept for late viewers (default %d)\n"
            "  --viewer-buffer BYTES  output a viewer may lag behind before it is dropped "
            "(default %d)\n"
            "  --log FILE           append diagnostics to FILE\n"
            "  --daemon             detach (double fork, setsid, stdio to /dev/null)\n"
            "  --detached           the spawner has detached us (own session, not its child):\n"
            "                       stdin/stdout go to /dev/null at once (a --pty-fd or\n"
            "                       --ready-fd among them is moved first), stderr once ready\n"
            "  --ready-fd N         write one byte to fd N once listening, then close it\n",
            CONSOLE_RELAY_SCROLLBACK_DEFAULT, CONSOLE_RELAY_VIEWER_BUFFER_DEFAULT);
}

static bool
relay_main_parse_size(const char *arg, size_t *ret)
{
    unsigned long long v;
    char *end;

    if (!isdigit((unsigned char)*arg)) /* strtoull would take blanks and a sign */
        return false;
    errno = 0;
    v = strtoull(arg, &end, 10);
    if (errno)
        return false;
    if (*end == 'K' || *end == 'k')
        v *= 1024, end++;
    else if (*end == 'M' || *end == 'm')
        v *= 1024 * 1024, end++;
    if (*end || v == 0 || v > UINT32_MAX)
        return false;
    *ret = v;
    return true;
}

/* A decimal from 0 to INT_MAX, nothing else around it. */
static bool
relay_main_parse_int(const char *arg, int *ret)
{
    char *end;
    if (!isdigit((unsigned char)*arg)) /* strtoll would take blanks and a sign */
        return false;
    errno = 0;
    long long v = strtoll(arg, &end, 10);
    if (errno || *end || v > INT_MAX)
        return false;
    *ret = (int)v;
    return true;
}

/* Point fd (0, 1 or 2) at /dev/null; false when it cannot be opened. */
static bool
relay_main_null(int fd)
{
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0)
        return false;
    bool ok = dup2(null, fd) == fd;
    close(null);
    return ok;
}

/* *fd, when one of the standard streams, moved above them (close-on-exec). */
static bool
relay_main_lift(int *fd)
{
    if (*fd < 0 || *fd > 2)
        return true;
    int moved = fcntl(*fd, F_DUPFD_CLOEXEC, 3);
    if (moved < 0)
        return false;
    *fd = moved;
    return true;
}

/* --detached: the spawner already gave us a session of our own and is not our parent (no
 * fork needed to be adopted by init); what is left is letting go of its stdin and stdout. */
static bool
relay_main_detached_setup(int *pty_fd, int *ready_fd)
{
    if (!relay_main_lift(pty_fd) || !relay_main_lift(ready_fd))
        return false;
    if (chdir("/") < 0)
        return false;
    return relay_main_null(0) && relay_main_null(1);
}

/* Detach: fork, setsid, fork again so the relay is no session leader and is adopted by init.
 * Returns only in the grandchild; the original process exits once the middle one has. */
static void
relay_main_daemonize(void)
{
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "error: cannot fork: %s\n", strerror(errno));
        exit(EXIT_FAILURE);
    }
    if (pid > 0) {
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        _exit(WIFEXITED(status) ? WEXITSTATUS(status) : EXIT_FAILURE);
    }
    if (setsid() < 0)
        _exit(EXIT_FAILURE);
    pid = fork();
    if (pid < 0)
        _exit(EXIT_FAILURE);
    if (pid > 0)
        _exit(EXIT_SUCCESS);
    if (chdir("/") < 0)
        _exit(EXIT_FAILURE);
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0)
        _exit(EXIT_FAILURE);
    for (int fd = 0; fd < 3; fd++)
        dup2(null, fd);
    close(null);
}

int
main(int argc, char **argv)
{
    enum {
        OPT_PTY_FD = 256,
        OPT_PTY,
        OPT_SOCKET,
        OPT_PID,
        OPT_SCROLLBACK,
        OPT_VIEWER_BUFFER,
        OPT_LOG,
        OPT_DAEMON,
        OPT_DETACHED,
        OPT_READY_FD,
        OPT_HELP
    };
    static const struct option longopts[] = {
        {"pty-fd", required_argument, NULL, OPT_PTY_FD},
        {"pty", required_argument, NULL, OPT_PTY},
        {"socket", required_argument, NULL, OPT_SOCKET},
        {"pid", required_argument, NULL, OPT_PID},
        {"scrollback", required_argument, NULL, OPT_SCROLLBACK},
        {"viewer-buffer", required_argument, NULL, OPT_VIEWER_BUFFER},
        {"log", required_argument, NULL, OPT_LOG},
        {"daemon", no_argument, NULL, OPT_DAEMON},
        {"detached", no_argument, NULL, OPT_DETACHED},
        {"ready-fd", required_argument, NULL, OPT_READY_FD},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    ConsoleRelayConfig cfg = {.log_fd = -1};
    const char *pty_path = NULL, *log_path = NULL;
    int pty_fd = -1, ready_fd = -1, pid = 0;
    bool daemon = false, detached = false;
    CvError *err = NULL;
    ConsoleRelay *relay = NULL;
    int c;

    int opt_index = 0;
    while ((c = getopt_long(argc, argv, "", longopts, &opt_index)) != -1) {
        bool ok = true;
        switch (c) {
        case OPT_PTY_FD:
            ok = relay_main_parse_int(optarg, &pty_fd);
            break;
        case OPT_PTY:
            pty_path = optarg;
            break;
        case OPT_SOCKET:
            cfg.socket_path = optarg;
            break;
        case OPT_PID:
            ok = relay_main_parse_int(optarg, &pid) && pid > 0;
            break;
        case OPT_SCROLLBACK:
            ok = relay_main_parse_size(optarg, &cfg.scrollback);
            break;
        case OPT_VIEWER_BUFFER:
            ok = relay_main_parse_size(optarg, &cfg.viewer_buffer);
            break;
        case OPT_LOG:
            log_path = optarg;
            break;
        case OPT_DAEMON:
            daemon = true;
            break;
        case OPT_DETACHED:
            detached = true;
            break;
        case OPT_READY_FD:
            ok = relay_main_parse_int(optarg, &ready_fd);
            break;
        case OPT_HELP:
            relay_main_usage(stdout);
            return EXIT_SUCCESS;
        default:
            relay_main_usage(stderr);
            return EXIT_FAILURE;
        }
        if (!ok) {
            fprintf(stderr, "error: invalid value '%s' for option '--%s'\n", optarg,
                    longopts[opt_index].name);
            return EXIT_FAILURE;
        }
    }
    if (optind < argc || !cfg.socket_path || (pty_fd < 0) == !pty_path) {
        relay_main_usage(stderr);
        return EXIT_FAILURE;
    }
    cfg.watch_pid = pid;
    if (detached && !relay_main_detached_setup(&pty_fd, &ready_fd)) {
        fprintf(stderr, "error: cannot detach: %s\n", strerror(errno));
        return EXIT_FAILURE;
    }
    if (ready_fd >= 0)
        fcntl(ready_fd, F_SETFD, FD_CLOEXEC);
    if (pty_path && (pty_fd = cv_pty_open_path(pty_path, &err)) < 0)
        goto error;
    if (log_path) {
        cfg.log_fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        if (cfg.log_fd < 0) {
            fprintf(stderr, "error: cannot open log file '%s': %s\n", log_path, strerror(errno));
            return EXIT_FAILURE;
        }
    }

    /* Listen before detaching, so a spawner sees a failure in our exit status and stderr. */
    relay = console_relay_new(&cfg, &pty_fd, &err);
    if (!relay)
        goto error;
    if (daemon)
        relay_main_daemonize();

    relay_running = relay;
    struct sigaction sa = {.sa_handler = relay_main_on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (ready_fd >= 0) {
        if (write(ready_fd, "R", 1) < 0) {
            /* the spawner went away: serve anyway */
        }
        close(ready_fd);
    }
    /* from here on the log file is where diagnostics go; the spawner stops listening */
    if (detached)
        relay_main_null(2);
    int rc = console_relay_run(relay, &err);
    relay_running = NULL;
    if (rc < 0)
        goto error;
    console_relay_free(relay);
    if (cfg.log_fd >= 0)
        close(cfg.log_fd);
    return EXIT_SUCCESS;

error:
    if (cfg.log_fd >= 0) {
        dprintf(cfg.log_fd, "error: %s\n", err->message);
        close(cfg.log_fd);
    }
    fprintf(stderr, "error: %s\n", err->message);
    cv_error_free(err);
    console_relay_free(relay);
    return EXIT_FAILURE;
}
