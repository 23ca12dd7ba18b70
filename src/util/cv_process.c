#include "cv_process.h"
#include "util/cv_sync.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <pthread.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/cv_paths.h"

/* The program that waits for a VMM (tools/waiter). */
#define CV_PROCESS_WAITER "cocoon-vmm-waiter"

/* Where no event can be had (no pidfd, no inotify; a socket bound but not yet listening),
 * waits poll from 0.1 ms up, growing by half each time: a VMM that comes up in a few ms is seen
 * within a fraction of that, and a slow one costs few wake-ups. */
#define CV_PROCESS_POLL_MIN_US 100
#define CV_PROCESS_POLL_MAX_US 20000
/* Even with events to wait for, look again this often: a safety net, never the mechanism. */
#define CV_PROCESS_EVENT_MAX_MS 250
/* A socket still missing after this long is waited for on inotify, not by polling. Not from
 * the start: closing an inotify fd that held a watch waits for an SRCU grace period, 10-20 ms
 * on a loaded host, which is longer than a VMM takes to bind its socket. */
#define CV_PROCESS_WATCH_AFTER_US 50000
#define CV_PROCESS_EARLY_POLL_MAX_US 1000
#define CV_PROCESS_TAIL_BYTES 4096

/*
 * What runs between the spawn and exec (the intermediate child, the waiter-to-be, the child
 * that execs the program) runs on a stack that is not a thread's own and never returns:
 * AddressSanitizer would poison redzones there that nothing unpoisons, and misread the
 * stack's bounds. Left uninstrumented, like libc's own posix_spawn.
 */
#define CV_PROCESS_CHILD_CODE __attribute__((no_sanitize_address))

/* Close *fd when open and mark it closed. */
static void
cv_process_close(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

/* Write all of buf, retrying on EINTR; async-signal-safe. */
CV_PROCESS_CHILD_CODE static void
cv_process_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        p += n;
        len -= (size_t)n;
    }
}

/* Read exactly len bytes unless EOF comes first; returns the count read, -1 on error. */
static ssize_t
cv_process_read_all(int fd, void *buf, size_t len)
{
    char *p = buf;
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, p + got, len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

/* The stack of a child that shares its parent's memory until it execs or exits. Mapped
 * lazily: only the pages touched cost anything. */
#define CV_PROCESS_CHILD_STACK (256 * 1024)

/*
 * Run fn(arg) in a child that shares the caller's memory, on a stack of its own, while the
 * calling thread waits until the child execs or exits: posix_spawn's way. No copy of the page
 * tables, which costs more than an exec on some hosts, and no vfork(), whose child runs on the
 * caller's stack (where sanitizers lose track of it). Returns the child's pid or -errno.
 */
CV_PROCESS_CHILD_CODE static pid_t
cv_process_clone_vfork(int (*fn)(void *), void *arg)
{
#ifdef CV_SYNC_TSAN
    /* ThreadSanitizer keeps its state of a thread in the thread's TLS, which a CLONE_VM child
     * shares: its intercepted calls (close, dup2, sigaction, fork) would rewrite the state of
     * the thread waiting for it. A fork, which TSan follows, instead; the children read the
     * arguments only and report through the pipes, so a copy of the memory serves as well. */
    pid_t child = fork();
    if (child == 0)
        _exit(fn(arg));
    return child < 0 ? -errno : child;
#endif
    void *stack = mmap(NULL, CV_PROCESS_CHILD_STACK, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED)
        return -errno;
    pid_t pid = clone(fn, (char *)stack + CV_PROCESS_CHILD_STACK, CLONE_VM | CLONE_VFORK | SIGCHLD,
                      arg);
    int ret = pid < 0 ? -errno : pid;
    munmap(stack, CV_PROCESS_CHILD_STACK);
    return ret;
}

/* Room for a pid in decimal, with its NUL. */
#define CV_PROCESS_PID_ARG_MAX 16

/* What a spawn's children need to know: all in the caller's memory, read-only to them but for
 * the waiter's pid argument, which the child that becomes the waiter fills in. */
typedef struct {
    const char *const *argv; /* the program */
    int fds[3];              /* its fds 0..2 */
    int pid_fd, errno_fd;    /* write ends: the report, exec's errors */
    int pid_rd, errno_rd;    /* the read ends, the caller's */
    char *const *waiter_argv; /* NULL, or {waiter, EXIT_FILE, PID, options…, NULL} */
    char *waiter_pid_arg;     /* the PID slot of waiter_argv, CV_PROCESS_PID_ARG_MAX bytes */
} CvSpawnArgs;

/* What the report pipe carries back: the program's pid (or -errno) and its waiter's (0:
 * none). */
typedef struct {
    pid_t pid;
    pid_t waiter;
} CvSpawnReport;

/* What the errno pipe carries when an exec failed: its errno, and whether it was the waiter's
 * (the program is then killed) rather than the program's. Nothing when both execs worked. */
typedef struct {
    int errnum;
    int waiter;
} CvSpawnExecError;

/* Report that an exec failed, and exit. */
CV_PROCESS_CHILD_CODE static void
cv_process_exec_failed(const CvSpawnArgs *a, int errnum, bool waiter)
{
    CvSpawnExecError e = {.errnum = errnum, .waiter = waiter};
    cv_process_write_all(a->errno_fd, &e, sizeof(e));
    _exit(127);
}

/*
 * The child that execs the program: only async-signal-safe calls (the caller may be
 * threaded). exec closes the report and errno pipes, both close-on-exec.
 */
CV_PROCESS_CHILD_CODE static int
cv_process_exec_main(void *opaque)
{
    const CvSpawnArgs *a = opaque;
    int moved[G_N_ELEMENTS(a->fds)];

    if (setsid() < 0)
        goto fail;
    /* Lift the wanted fds above 0..2 first so that dup2 onto them cannot clobber one of
     * them; dup2 then clears close-on-exec on the copies. */
    for (int i = 0; i < 3; i++) {
        moved[i] = fcntl(a->fds[i], F_DUPFD_CLOEXEC, 3);
        if (moved[i] < 0)
            goto fail;
    }
    for (int i = 0; i < 3; i++) {
        if (dup2(moved[i], i) < 0)
            goto fail;
    }
    /* What the program creates (a VMM's API and vsock sockets, snapshot files) is for us
     * alone, whatever umask the caller runs with. */
    umask(077);
    /* Whatever the caller leaked without O_CLOEXEC must not reach the program. */
    if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
        for (int fd = 3; fd < 4096; fd++)
            fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    execv(a->argv[0], (char *const *)a->argv);
fail:
    cv_process_exec_failed(a, errno, false);
    return 127;
}

/* pid in decimal into buf (CV_PROCESS_PID_ARG_MAX bytes); async-signal-safe. */
CV_PROCESS_CHILD_CODE static void
cv_process_format_pid(char *buf, pid_t pid)
{
    char digits[CV_PROCESS_PID_ARG_MAX];
    size_t n = 0;
    unsigned long v = (unsigned long)pid;

    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0 && n < sizeof(digits) - 1);
    for (size_t i = 0; i < n; i++)
        buf[i] = digits[n - 1 - i];
    buf[n] = '\0';
}

/*
 * The child that becomes the program's waiter: it starts the program as its own child, so the
 * program runs before anything else happens, has both pids reported, and then execs the
 * waiter program, which stays the program's parent: exec keeps pid and children. It holds no
 * fd of the caller's by then, but the errno pipe (close-on-exec) for a failed exec.
 */
CV_PROCESS_CHILD_CODE static int
cv_process_waiter_main(void *opaque)
{
    CvSpawnArgs *a = opaque;
    CvSpawnReport report = {.waiter = getpid()};

    /* its own session: a Ctrl-C on the caller's terminal must not reach it */
    setsid();
    /* what the program leaves orphaned comes to the waiter (FC's jailer, --new-pid-ns, exits
     * once FC runs); set before the program starts, kept across the exec */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    report.pid = cv_process_clone_vfork(cv_process_exec_main, a);
    cv_process_write_all(a->pid_fd, &report, sizeof(report));
    if (report.pid < 0)
        _exit(0);
    cv_process_format_pid(a->waiter_pid_arg, report.pid);
    if (a->errno_fd > 0)
        close_range(0, (unsigned int)a->errno_fd - 1, 0);
    close_range((unsigned int)a->errno_fd + 1, ~0U, 0);
    execv(a->waiter_argv[0], a->waiter_argv);
    int errnum = errno;
    kill(report.pid, SIGKILL);
    cv_process_exec_failed(a, errnum, true);
    return 127;
}

/*
 * The intermediate child: it shares the caller's memory while the calling thread is
 * suspended, so it touches nothing but its own stack and the kernel. It resets signals, starts
 * the program (or the waiter-to-be that starts it), and exits, so that neither is the
 * caller's child.
 */
CV_PROCESS_CHILD_CODE static int
cv_process_mid_main(void *opaque)
{
    CvSpawnArgs *a = opaque;
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    sigset_t none;

    close(a->pid_rd);
    close(a->errno_rd);
    /* A daemon's ignored SIGPIPE or its handlers would otherwise survive exec. The handler
     * table is this child's own copy; the caller's mask blocks every signal until here. */
    for (int sig = 1; sig < NSIG; sig++)
        sigaction(sig, &dfl, NULL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);

    CvSpawnReport report = {.pid = cv_process_clone_vfork(
                                a->waiter_argv ? cv_process_waiter_main : cv_process_exec_main, a)};
    /* a waiter-to-be that runs reports itself, with the program's pid */
    if (!a->waiter_argv || report.pid < 0)
        cv_process_write_all(a->pid_fd, &report, sizeof(report));
    _exit(0);
}

int
cv_process_exit_status_read(const char *path, int *ret_wstatus)
{
    g_autofree char *text = NULL;
    guint64 v = 0;

    if (!g_file_get_contents(path, &text, NULL, NULL))
        return -1;
    g_strstrip(text);
    if (!g_ascii_string_to_unsigned(text, 10, 0, G_MAXINT, &v, NULL))
        return -1;
    *ret_wstatus = (int)v;
    return 0;
}

/*
 * Start the intermediate child; returns its pid (it has exited already) or -errno. Every
 * signal stays blocked until the child has reset its handlers: none of the caller's may run in
 * it on shared memory.
 */
static pid_t
cv_process_spawn_mid(CvSpawnArgs *args)
{
    sigset_t all, saved;

    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &saved);
    pid_t mid = cv_process_clone_vfork(cv_process_mid_main, args);
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    return mid;
}

int
cv_process_spawn_waited(const char *const *argv, int stdin_fd, int stdout_fd, int stderr_fd,
                        const char *exit_file, pid_t *ret_pid, pid_t *ret_waiter, CvError **err)
{
    return cv_process_spawn_kept(argv, stdin_fd, stdout_fd, stderr_fd, exit_file, NULL, ret_pid,
                                 ret_waiter, err);
}

int
cv_process_spawn_kept(const char *const *argv, int stdin_fd, int stdout_fd, int stderr_fd,
                      const char *exit_file, const char *const *waiter_opts, pid_t *ret_pid,
                      pid_t *ret_waiter, CvError **err)
{
    int devnull = -1;
    int pid_pipe[2] = {-1, -1};
    int errno_pipe[2] = {-1, -1};
    CvSpawnReport report = {0};
    CvSpawnExecError exec_error = {0};
    g_autofree char *waiter = NULL;
    char waiter_pid_arg[CV_PROCESS_PID_ARG_MAX] = "";
    int ret = -1;

    g_return_val_if_fail(argv && argv[0], -1);

    if (exit_file && !(waiter = cv_paths_helper_find(CV_PROCESS_WAITER, "VMM waiter",
                                                     "COCOON_VMM_WAITER", "tools/waiter", err)))
        return -1;
    g_autoptr(GPtrArray) waiter_argv = g_ptr_array_new();
    g_ptr_array_add(waiter_argv, waiter);
    g_ptr_array_add(waiter_argv, (char *)exit_file);
    g_ptr_array_add(waiter_argv, waiter_pid_arg);
    for (size_t i = 0; waiter_opts && waiter_opts[i]; i++)
        g_ptr_array_add(waiter_argv, (char *)waiter_opts[i]);
    g_ptr_array_add(waiter_argv, NULL);

    if (stdin_fd < 0 || stdout_fd < 0 || stderr_fd < 0) {
        devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (devnull < 0) {
            cv_error_set_errno(err, VIR_FROM_NONE, errno, "cannot open '/dev/null'");
            return -1;
        }
    }
    if (pipe2(pid_pipe, O_CLOEXEC) < 0 || pipe2(errno_pipe, O_CLOEXEC) < 0) {
        cv_error_set_errno(err, VIR_FROM_NONE, errno, "cannot create pipe");
        goto cleanup;
    }

    CvSpawnArgs args = {
        .argv = argv,
        .fds = {stdin_fd < 0 ? devnull : stdin_fd, stdout_fd < 0 ? devnull : stdout_fd,
                stderr_fd < 0 ? devnull : stderr_fd},
        .pid_fd = pid_pipe[1],
        .errno_fd = errno_pipe[1],
        .pid_rd = pid_pipe[0],
        .errno_rd = errno_pipe[0],
        .waiter_argv = waiter ? (char *const *)waiter_argv->pdata : NULL,
        .waiter_pid_arg = waiter_pid_arg,
    };
    pid_t mid = cv_process_spawn_mid(&args);
    if (mid < 0) {
        cv_error_set_errno(err, VIR_FROM_NONE, -mid, "cannot fork child process for '%s'",
                           argv[0]);
        goto cleanup;
    }
    cv_process_close(&pid_pipe[1]);
    cv_process_close(&errno_pipe[1]);

    ssize_t n = cv_process_read_all(pid_pipe[0], &report, sizeof(report));
    while (waitpid(mid, NULL, 0) < 0 && errno == EINTR)
        ;
    if (n != (ssize_t)sizeof(report) || report.pid <= 0) {
        cv_error_set_errno(err, VIR_FROM_NONE, n == (ssize_t)sizeof(report) ? -report.pid : EIO,
                           "cannot fork child process for '%s'", argv[0]);
        goto cleanup;
    }
    /* even when the program then turns out not to run: the waiter records that, and whoever
     * cleans up after the failure must let it finish */
    if (ret_waiter)
        *ret_waiter = report.waiter;
    /* EOF without data: every exec succeeded and closed its copy of the pipe. A program that
     * could not be executed has exited (its waiter, if any, records that and exits too). */
    n = cv_process_read_all(errno_pipe[0], &exec_error, sizeof(exec_error));
    if (n == (ssize_t)sizeof(exec_error)) {
        cv_error_set_errno(err, VIR_FROM_NONE, exec_error.errnum, "cannot execute binary '%s'",
                           exec_error.waiter ? waiter : argv[0]);
        goto cleanup;
    }
    *ret_pid = report.pid;
    ret = 0;

cleanup:
    for (int i = 0; i < 2; i++) {
        cv_process_close(&pid_pipe[i]);
        cv_process_close(&errno_pipe[i]);
    }
    cv_process_close(&devnull);
    return ret;
}

int
cv_process_spawn(const char *const *argv, int stdin_fd, int stdout_fd, int stderr_fd,
                 pid_t *ret_pid, CvError **err)
{
    return cv_process_spawn_waited(argv, stdin_fd, stdout_fd, stderr_fd, NULL, ret_pid, NULL,
                                   err);
}

/* What /proc/PID/stat says of a process that matters here. */
typedef struct {
    char state;                    /* field 3: R, S, D, Z, … */
    unsigned long long ppid;       /* field 4 */
    unsigned long long utime;      /* field 14: user CPU time of all its threads, in ticks */
    unsigned long long stime;      /* field 15: system CPU time, in ticks */
    unsigned long long start_time; /* field 22: clock ticks after boot */
} CvProcessStat;

/* Read /proc/PID/stat into *ret; -1 when there is no such process. */
static int
cv_process_stat(pid_t pid, CvProcessStat *ret)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/stat", (int)pid);
    g_autofree char *text = NULL;

    if (pid <= 0 || !g_file_get_contents(path, &text, NULL, NULL))
        return -1;
    /* The command name (field 2) may hold spaces and parentheses: parse after the last ')'. */
    const char *p = strrchr(text, ')');
    if (!p || p[1] != ' ' || !p[2])
        return -1;
    p += 2;
    ret->state = *p;
    /* p is at field 3; the numbers wanted are further on, in this order */
    struct {
        int field;
        unsigned long long *value;
    } wanted[] = {{4, &ret->ppid}, {14, &ret->utime}, {15, &ret->stime},
                  {22, &ret->start_time}};
    int field = 3;
    for (size_t i = 0; i < G_N_ELEMENTS(wanted); i++) {
        for (; field < wanted[i].field; field++) {
            p = strchr(p, ' ');
            if (!p)
                return -1;
            p++;
        }
        char *end = NULL;
        errno = 0;
        *wanted[i].value = strtoull(p, &end, 10);
        if (errno || end == p)
            return -1;
    }
    return 0;
}

int
cv_process_start_time(pid_t pid, unsigned long long *ret_start_time, CvError **err)
{
    CvProcessStat st;

    if (cv_process_stat(pid, &st) < 0) {
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_OPERATION_FAILED,
                     "cannot read the start time of process %d: no such process", (int)pid);
        return -1;
    }
    *ret_start_time = st.start_time;
    return 0;
}

bool
cv_process_alive(pid_t pid, unsigned long long start_time)
{
    CvProcessStat st;

    if (cv_process_stat(pid, &st) < 0)
        return false;
    if (st.state == 'Z' || st.state == 'X' || st.state == 'x')
        return false;
    return start_time == 0 || st.start_time == start_time;
}

pid_t
cv_process_parent(pid_t pid)
{
    CvProcessStat st;

    return cv_process_stat(pid, &st) < 0 ? 0 : (pid_t)st.ppid;
}

int
cv_process_cpu_time(pid_t pid, unsigned long long start_time, unsigned long long *ret_ns)
{
    CvProcessStat st;
    long ticks_per_s = sysconf(_SC_CLK_TCK);

    if (ticks_per_s <= 0 || cv_process_stat(pid, &st) < 0 ||
        (start_time != 0 && st.start_time != start_time))
        return -1;
    *ret_ns = (st.utime + st.stime) * (1000000000ULL / (unsigned long long)ticks_per_s);
    return 0;
}

void
cv_process_reap(pid_t pid)
{
    if (pid <= 0)
        return;
    while (waitpid(pid, NULL, WNOHANG) < 0 && errno == EINTR)
        ;
}

/* A pidfd for pid (close-on-exec, as pidfd_open makes them), or -1 where there is none (the
 * process is gone, or the kernel predates pidfds). Open it before checking the identity of
 * pid: a check after the open proves the pidfd refers to the recorded process. */
static int
cv_process_pidfd_open(pid_t pid)
{
#ifdef SYS_pidfd_open
    if (pid > 0)
        return (int)syscall(SYS_pidfd_open, pid, 0);
#endif
    return -1;
}

/* The next sleep of a poll that has no event to wait for. */
static gulong
cv_process_backoff(gulong *delay)
{
    gulong d = *delay;
    *delay = MIN(d + d / 2, CV_PROCESS_POLL_MAX_US);
    return d;
}

/* Milliseconds left until deadline (monotonic µs), rounded up; 0 when past. */
static int
cv_process_ms_left(gint64 deadline)
{
    gint64 left = deadline - g_get_monotonic_time();
    return left <= 0 ? 0 : (int)MIN((left + 999) / 1000, G_MAXINT);
}

/* Connect to the UNIX socket at path: 0 when it accepts, else the errno (ENOENT: no such
 * socket yet; ECONNREFUSED: bound but not listening yet). */
static int
cv_process_socket_try(const char *path)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    int rc = 0;

    memcpy(addr.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return errno;
    while (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        if (errno != EINTR) {
            rc = errno;
            break;
        }
    }
    close(fd);
    return rc;
}

/* An inotify instance watching the directory of path for new entries, or -1. */
static int
cv_process_dir_watch(const char *path)
{
    g_autofree char *dir = g_path_get_dirname(path);
    int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);

    if (fd < 0)
        return -1;
    if (inotify_add_watch(fd, dir, IN_CREATE | IN_MOVED_TO | IN_ATTRIB) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Discard what an inotify fd has to say: it only ever means "look again". */
static void
cv_process_drain(int fd)
{
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

    while (read(fd, buf, sizeof(buf)) > 0)
        ;
}

int
cv_process_wait_socket(const char *path, pid_t pid, unsigned long long start_time,
                       unsigned int timeout_ms, CvError **err)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    gulong delay = CV_PROCESS_POLL_MIN_US;
    int ret = -1;

    if (strlen(path) >= sizeof(((struct sockaddr_un *)NULL)->sun_path)) {
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_INTERNAL_ERROR, "socket path '%s' is too long",
                     path);
        return -1;
    }
    gint64 watch_from = g_get_monotonic_time() + CV_PROCESS_WATCH_AFTER_US;
    bool watched = false;
    int watch = -1;
    int pidfd = -1;
    for (;;) {
        int rc = cv_process_socket_try(path);
        if (rc == 0) {
            ret = 0;
            break;
        }
        cv_process_reap(pid);
        if (!cv_process_alive(pid, start_time)) {
            cv_error_set(err, VIR_FROM_NONE, VIR_ERR_OPERATION_FAILED,
                         "process %d exited before its socket '%s' accepted connections", (int)pid,
                         path);
            break;
        }
        int left = cv_process_ms_left(deadline);
        if (left == 0) {
            cv_error_set(err, VIR_FROM_NONE, VIR_ERR_OPERATION_TIMEOUT,
                         "socket '%s' of process %d did not accept connections within %u ms", path,
                         (int)pid, timeout_ms);
            break;
        }
        if (rc == ENOENT && !watched && g_get_monotonic_time() >= watch_from) {
            /* late: watch from now on, then look again, so nothing goes unseen in between */
            watched = true;
            watch = cv_process_dir_watch(path);
            pidfd = cv_process_pidfd_open(pid);
            if (watch >= 0)
                continue;
        }
        if (rc == ENOENT && watch >= 0) {
            /* nothing there yet: sleep until an entry appears or the process goes */
            struct pollfd pfd[2] = {{.fd = watch, .events = POLLIN},
                                    {.fd = pidfd, .events = POLLIN}};
            if (poll(pfd, pidfd >= 0 ? 2 : 1, MIN(left, CV_PROCESS_EVENT_MAX_MS)) > 0 &&
                (pfd[0].revents & POLLIN))
                cv_process_drain(watch);
            if (pfd[1].revents) {
                /* gone: the next round says so, with no more pidfd to wake it at once */
                cv_process_close(&pidfd);
            }
        } else {
            /* not there yet early on, bound but not listening, or no inotify: a moment only
             * (at most 1 ms while a VMM is still expected to come up that soon) */
            gulong us = cv_process_backoff(&delay);
            if (!watched)
                us = MIN(us, CV_PROCESS_EARLY_POLL_MAX_US);
            g_usleep(MIN(us, (gulong)left * 1000));
        }
    }
    cv_process_close(&watch);
    cv_process_close(&pidfd);
    return ret;
}

bool
cv_process_wait_exit(pid_t pid, unsigned long long start_time, unsigned int timeout_ms)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    gulong delay = CV_PROCESS_POLL_MIN_US;
    int pidfd = cv_process_pidfd_open(pid);
    bool gone = false;

    for (;;) {
        cv_process_reap(pid);
        if (!cv_process_alive(pid, start_time)) {
            gone = true;
            break;
        }
        int left = cv_process_ms_left(deadline);
        if (left == 0)
            break;
        if (pidfd >= 0) {
            struct pollfd pfd = {.fd = pidfd, .events = POLLIN};
            /* readable once it exited; should /proc lag behind, fall back to polling */
            if (poll(&pfd, 1, MIN(left, CV_PROCESS_EVENT_MAX_MS)) > 0)
                cv_process_close(&pidfd);
        } else {
            g_usleep(MIN(cv_process_backoff(&delay), (gulong)left * 1000));
        }
    }
    cv_process_close(&pidfd);
    return gone;
}

int
cv_process_stop(pid_t pid, unsigned long long start_time, unsigned int term_timeout_ms,
                unsigned int kill_timeout_ms, CvError **err)
{
    cv_process_reap(pid);
    if (!cv_process_alive(pid, start_time))
        return 0;
    if (kill(pid, SIGTERM) < 0 && errno == ESRCH)
        return 0;
    if (cv_process_wait_exit(pid, start_time, term_timeout_ms))
        return 0;
    if (kill(pid, SIGKILL) < 0 && errno == ESRCH)
        return 0;
    if (cv_process_wait_exit(pid, start_time, kill_timeout_ms))
        return 0;
    cv_error_set(err, VIR_FROM_NONE, VIR_ERR_OPERATION_TIMEOUT,
                 "process %d did not exit after SIGKILL", (int)pid);
    return -1;
}

static guint cv_process_start_default_ms = CV_PROCESS_START_TIMEOUT_MS;

void
cv_process_set_start_timeout_default(unsigned int ms)
{
    g_atomic_int_set(&cv_process_start_default_ms, ms ? ms : CV_PROCESS_START_TIMEOUT_MS);
}

unsigned int
cv_process_start_timeout_ms(void)
{
    const char *value = g_getenv("COCOON_START_TIMEOUT_MS");
    guint64 ms = 0;

    if (value && g_ascii_string_to_unsigned(value, 10, 1, G_MAXUINT, &ms, NULL))
        return (unsigned int)ms;
    return g_atomic_int_get(&cv_process_start_default_ms);
}

char *
cv_process_log_tail(const char *path, unsigned int max_lines)
{
    char buf[CV_PROCESS_TAIL_BYTES + 1];
    struct stat st;
    ssize_t n;

    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    off_t from = 0;
    if (fstat(fd, &st) == 0 && st.st_size > CV_PROCESS_TAIL_BYTES)
        from = st.st_size - CV_PROCESS_TAIL_BYTES;
    n = pread(fd, buf, CV_PROCESS_TAIL_BYTES, from);
    close(fd);
    if (n <= 0)
        return NULL;
    buf[n] = '\0';

    g_auto(GStrv) lines = g_strsplit(buf, "\n", -1);
    guint nlines = g_strv_length(lines);
    /* A read that starts mid-file starts mid-line: drop that fragment. */
    guint first = (from > 0 && nlines > 1) ? 1 : 0;
    g_autoptr(GPtrArray) kept = g_ptr_array_new();
    for (guint i = nlines; i > first && kept->len < max_lines; i--) {
        char *line = g_strstrip(lines[i - 1]);
        if (*line)
            g_ptr_array_insert(kept, 0, line);
    }
    if (kept->len == 0)
        return NULL;
    g_ptr_array_add(kept, NULL);
    return g_strjoinv("\n", (char **)kept->pdata);
}

int
cv_process_open_log(const char *path, CvError **err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0600);
    if (fd < 0)
        cv_error_set_errno(err, VIR_FROM_NONE, errno, "cannot open log file '%s'", path);
    return fd;
}

void
cv_process_set_exit_error(CvError **err, const char *what, const char *log_path)
{
    g_autofree char *tail = log_path ? cv_process_log_tail(log_path, 5) : NULL;

    if (tail)
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_OPERATION_FAILED, "'%s' exited while starting: %s",
                     what, tail);
    else
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_OPERATION_FAILED,
                     "'%s' exited while starting, its log '%s' is empty", what,
                     log_path ? log_path : "");
}
