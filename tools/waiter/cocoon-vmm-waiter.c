/*
 * cocoon-vmm-waiter EXIT_FILE PID [--notes FILE] [--stop-request FILE]
 *                   [--ch-events FIFO --on-reboot restart|destroy
 *                    [--log FILE --crash-marker TEXT --on-crash restart|destroy]]
 *                   [--pid-file FILE]
 *
 * The parent of a VMM, for as long as it runs, so that the driver can tell afterwards how the
 * VMM ended (exit code or signal): a pidfd or /proc cannot say that of a process that is not
 * one's child, and the process that started the VM (cocoonvirsh, cocoond) may be long gone.
 * cv_process_spawn_waited starts the VMM as a child of the process that then execs this
 * program, in a session of its own and with no fd of the caller's: exec keeps the pid and the
 * children. It waits for PID and writes the wait status in decimal to EXIT_FILE (atomically:
 * EXIT_FILE.tmp, then rename).
 *
 * Outliving the command that started the VM, it is also what acts on the VMM while no Cocoon
 * process may be running:
 *  * SIGUSR1: a shutdown was asked of the guest. It reads "SHUTDOWN_MS TERM_MS" from the
 *    --stop-request file and, when the VMM is still there SHUTDOWN_MS later, notes
 *    "shutdown-timeout", sends SIGTERM, and SIGKILL TERM_MS after that.
 *  * --ch-events: Cloud Hypervisor's --event-monitor, a FIFO this program reads. A guest reset
 *    ("rebooting") is noted as "reboot"; with --on-reboot destroy it is noted as
 *    "reboot-destroy" instead and the VMM is stopped (SIGTERM, SIGKILL later), as CH itself
 *    only ever resets in place. A reset the VMM's log (--log) explains with --crash-marker
 *    since the previous one (CH: "Guest likely triple-faulted") is a crash instead: noted
 *    "crash-reset", or "crash-destroy" with the VMM stopped when --on-crash is destroy.
 *  * --pid-file: PID is a launcher that starts the VMM as a child of its own and exits 0
 *    (FC's jailer with --new-pid-ns), having written the VMM's pid to FILE: this program is
 *    a child subreaper (set before PID started), so the VMM becomes its child, and it then
 *    waits for (and acts on) that pid instead.
 * Each note is one line appended to the --notes file before the act it explains, so the
 * driver reads why the VMM went (and how many times the guest reset) once it is gone.
 *
 * Small and libc-only on purpose: it is exec'ed at every start of a VM.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* How long a VMM stopped for its guest's reset gets to go on SIGTERM before SIGKILL. */
#define REBOOT_TERM_MS 2000
/* What of the event stream is kept between reads, for a word split across two. */
#define EVENT_TAIL 64

typedef struct {
    const char *exit_path;
    const char *notes;
    const char *stop_request;
    const char *ch_events;
    const char *pid_file;
    int reboot_destroy;
    const char *log, *crash_marker;
    int crash_destroy;
    off_t log_seen; /* how far the log was searched for crash_marker */
    pid_t pid;
    long long term_at, kill_at; /* monotonic ms; 0: not armed */
    unsigned int kill_grace_ms;
} Waiter;

static void
write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        buf += n;
        len -= (size_t)n;
    }
}

static long long
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
note(const Waiter *w, const char *word)
{
    if (!w->notes)
        return;
    int fd = open(w->notes, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    char line[64];
    int len = snprintf(line, sizeof(line), "%s\n", word);
    write_all(fd, line, (size_t)len);
    close(fd);
}

/* Stop the VMM: SIGTERM now, SIGKILL grace_ms later (unless an earlier kill is armed). */
static void
stop_vmm(Waiter *w, unsigned int grace_ms)
{
    kill(w->pid, SIGTERM);
    long long at = now_ms() + grace_ms;
    if (!w->kill_at || at < w->kill_at)
        w->kill_at = at;
    w->term_at = 0;
}

/* SIGUSR1: arm the escalation of a shutdown the driver asked of the guest. */
static void
arm_shutdown(Waiter *w)
{
    char buf[64] = "";
    unsigned long shutdown_ms = 0, term_ms = 0;
    int fd = w->stop_request ? open(w->stop_request, O_RDONLY | O_CLOEXEC) : -1;
    if (fd < 0)
        return;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0 || sscanf(buf, "%lu %lu", &shutdown_ms, &term_ms) != 2)
        return;
    long long at = now_ms() + (long long)shutdown_ms;
    if (!w->term_at || at < w->term_at)
        w->term_at = at;
    w->kill_grace_ms = (unsigned int)term_ms;
}

/* Whether the log holds crash_marker past what was searched before. */
static int
log_says_crash(Waiter *w)
{
    if (!w->log || !w->crash_marker)
        return 0;
    int fd = open(w->log, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    size_t want = strlen(w->crash_marker);
    char buf[8192];
    size_t keep = 0;
    int found = 0;
    for (;;) {
        ssize_t n = pread(fd, buf + keep, sizeof(buf) - 1 - keep, w->log_seen);
        if (n <= 0)
            break;
        w->log_seen += n;
        size_t len = keep + (size_t)n;
        buf[len] = '\0';
        if (strstr(buf, w->crash_marker))
            found = 1;
        keep = len < want ? len : want - 1;
        memmove(buf, buf + len - keep, keep);
    }
    close(fd);
    return found;
}

/* A reset CH reported: a crash (per on_crash) or the guest's own reboot (per on_reboot). */
static void
guest_reset(Waiter *w)
{
    int crash = log_says_crash(w);
    int destroy = crash ? w->crash_destroy : w->reboot_destroy;
    if (crash)
        note(w, destroy ? "crash-destroy" : "crash-reset");
    else
        note(w, destroy ? "reboot-destroy" : "reboot");
    if (destroy)
        stop_vmm(w, REBOOT_TERM_MS);
}

/* New bytes of CH's event stream; tail keeps the end of the previous ones. */
static void
read_events(Waiter *w, int *fd, char *tail, size_t *tail_len)
{
    char buf[4096 + EVENT_TAIL];
    memcpy(buf, tail, *tail_len);
    ssize_t n = read(*fd, buf + *tail_len, sizeof(buf) - *tail_len - 1);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0) {
        /* the VMM closed it: it is on its way out */
        close(*fd);
        *fd = -1;
        return;
    }
    size_t len = *tail_len + (size_t)n;
    buf[len] = '\0';
    /* each event is a JSON object with "event": "<name>"; the name is what matters */
    const char *p = buf;
    while ((p = strstr(p, "\"rebooting\""))) {
        guest_reset(w);
        p += strlen("\"rebooting\"");
    }
    size_t keep = len < EVENT_TAIL ? len : EVENT_TAIL;
    /* never keep a whole match: it would be counted twice */
    const char *start = buf + len - keep;
    const char *q = strstr(start, "\"rebooting\"");
    if (q)
        start = q + strlen("\"rebooting\"");
    *tail_len = (size_t)(buf + len - start);
    memmove(tail, start, *tail_len);
}

/* The pid the launcher wrote to --pid-file, when it is another process of ours; else 0. */
static pid_t
launched_pid(const Waiter *w)
{
    char buf[32] = "";
    int fd = w->pid_file ? open(w->pid_file, O_RDONLY | O_CLOEXEC) : -1;
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    char *end = NULL;
    long pid = n > 0 ? strtol(buf, &end, 10) : 0;
    if (pid <= 0 || pid == w->pid || !end || (*end && *end != '\n'))
        return 0;
    /* ours: a child (adopted as the subreaper) that has not been waited for */
    siginfo_t si = {0};
    if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
        return 0;
    return (pid_t)pid;
}

static int
parse_args(int argc, char **argv, Waiter *w)
{
    char *end = NULL;
    long pid = argc >= 3 ? strtol(argv[2], &end, 10) : 0;
    if (argc < 3 || !end || *end || pid <= 0)
        return -1;
    w->exit_path = argv[1];
    w->pid = (pid_t)pid;
    for (int i = 3; i < argc; i += 2) {
        if (i + 1 >= argc)
            return -1;
        const char *v = argv[i + 1];
        if (strcmp(argv[i], "--notes") == 0)
            w->notes = v;
        else if (strcmp(argv[i], "--stop-request") == 0)
            w->stop_request = v;
        else if (strcmp(argv[i], "--pid-file") == 0)
            w->pid_file = v;
        else if (strcmp(argv[i], "--ch-events") == 0)
            w->ch_events = v;
        else if (strcmp(argv[i], "--on-reboot") == 0 &&
                 (strcmp(v, "destroy") == 0 || strcmp(v, "restart") == 0))
            w->reboot_destroy = strcmp(v, "destroy") == 0;
        else if (strcmp(argv[i], "--log") == 0)
            w->log = v;
        else if (strcmp(argv[i], "--crash-marker") == 0 && *v)
            w->crash_marker = v;
        else if (strcmp(argv[i], "--on-crash") == 0 &&
                 (strcmp(v, "destroy") == 0 || strcmp(v, "restart") == 0))
            w->crash_destroy = strcmp(v, "destroy") == 0;
        else
            return -1;
    }
    return 0;
}

static void
write_exit(const Waiter *w, int status)
{
    char *exit_tmp = malloc(strlen(w->exit_path) + sizeof(".tmp"));
    if (!exit_tmp)
        return;
    strcpy(exit_tmp, w->exit_path);
    strcat(exit_tmp, ".tmp");
    char buf[16];
    int len = snprintf(buf, sizeof(buf), "%d\n", status);
    /* a fresh file, never one planted there (a symlink or a hard link to something else) */
    unlink(exit_tmp);
    int fd = open(exit_tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd >= 0) {
        write_all(fd, buf, (size_t)len);
        close(fd);
        rename(exit_tmp, w->exit_path);
    }
    free(exit_tmp);
}

int
main(int argc, char **argv)
{
    Waiter w = {0};
    if (parse_args(argc, argv, &w) < 0) {
        fprintf(stderr, "usage: cocoon-vmm-waiter EXIT_FILE PID [--notes FILE] "
                        "[--stop-request FILE] [--ch-events FIFO --on-reboot restart|destroy "
                        "[--log FILE --crash-marker TEXT --on-crash restart|destroy]] "
                        "[--pid-file FILE] (PID: a child of this process)\n");
        return 2;
    }

    struct sigaction ign = {.sa_handler = SIG_IGN};
    int quiet[] = {SIGINT, SIGHUP, SIGTERM, SIGQUIT, SIGPIPE, SIGTSTP, SIGTTIN, SIGTTOU};
    for (size_t i = 0; i < sizeof(quiet) / sizeof(quiet[0]); i++)
        sigaction(quiet[i], &ign, NULL);
    if (chdir("/") < 0) {
        /* nothing depends on it */
    }
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    sigaddset(&mask, SIGUSR1);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    /* O_NONBLOCK: the open does not wait for CH to open its end */
    int efd = w.ch_events ? open(w.ch_events, O_RDONLY | O_NONBLOCK | O_CLOEXEC) : -1;
    char tail[EVENT_TAIL];
    size_t tail_len = 0;

    prctl(PR_SET_CHILD_SUBREAPER, 1);
    int status = 0;
    for (;;) {
        pid_t got = waitpid(w.pid, &status, sfd >= 0 ? WNOHANG : 0);
        if (got == w.pid) {
            pid_t next = WIFEXITED(status) && WEXITSTATUS(status) == 0 ? launched_pid(&w) : 0;
            w.pid_file = NULL; /* followed once */
            if (next <= 0)
                break;
            w.pid = next;
            continue;
        }
        if (got < 0 && errno != EINTR) {
            fprintf(stderr, "cocoon-vmm-waiter: cannot wait for %ld: %s\n", (long)w.pid,
                    strerror(errno));
            return 1;
        }
        if (got < 0)
            continue;
        long long now = now_ms();
        if (w.term_at && now >= w.term_at) {
            note(&w, "shutdown-timeout");
            stop_vmm(&w, w.kill_grace_ms);
        }
        if (w.kill_at && now >= w.kill_at) {
            kill(w.pid, SIGKILL);
            w.kill_at = 0;
        }
        long long next = w.term_at ? w.term_at : 0;
        if (w.kill_at && (!next || w.kill_at < next))
            next = w.kill_at;
        int timeout = next ? (int)(next > now ? next - now : 0) : -1;
        struct pollfd fds[2] = {{.fd = sfd, .events = POLLIN}, {.fd = efd, .events = POLLIN}};
        if (poll(fds, efd >= 0 ? 2 : 1, timeout) < 0 && errno != EINTR)
            continue;
        if (fds[0].revents & POLLIN) {
            struct signalfd_siginfo si;
            while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
                if (si.ssi_signo == SIGUSR1)
                    arm_shutdown(&w);
            }
        }
        if (efd >= 0 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)))
            read_events(&w, &efd, tail, &tail_len);
    }
    write_exit(&w, status);
    return 0;
}
