#include "domain_launch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "driver/disk_overlay.h"
#include "driver/launch_strays.h"
#include "driver/host_net.h"
#include "driver/kernel_image.h"
#include "driver/local_console.h"
#include "util/cv_file.h"
#include "util/cv_process.h"

/* How a VMM still there at teardown is stopped; how long helpers get to go by themselves. */
#define LAUNCH_STOP_TERM_MS 2000
#define LAUNCH_STOP_KILL_MS 5000
#define LAUNCH_HELPER_EXIT_MS 2000

/* Everything one boot prepares before the backend's launch, owned here. */
typedef struct {
    char *live;
    GPtrArray *tap_names;  /* per <interface> */
    GPtrArray *disk_paths; /* per <disk>: the overlay, or NULL */
    char *kernel;
    char *binary;
    CocoonJail jail; /* FC under the jailer: jail.jailer set */
    int pty_master, pty_slave;
} LaunchPrep;

static void
launch_prep_clear(LaunchPrep *p)
{
    g_free(p->live);
    if (p->tap_names)
        g_ptr_array_unref(p->tap_names);
    if (p->disk_paths)
        g_ptr_array_unref(p->disk_paths);
    g_free(p->kernel);
    g_free(p->binary);
    cocoon_config_jail_clear(&p->jail);
    if (p->pty_master >= 0)
        close(p->pty_master);
    if (p->pty_slave >= 0)
        close(p->pty_slave);
}

/*
 * A file the definition names must be there before anything is spawned, and be what its
 * element says: a regular file, a block device for <disk type='block'>; readable, and
 * writable for a disk the guest writes to. The VMMs' own words ("Cannot open the kernel
 * image") name no path.
 */
static int
launch_check_file(const char *what, const char *path, bool block, bool writable, CvError **err)
{
    struct stat sb;
    if (stat(path, &sb) < 0) {
        cv_error_set_errno(err, VIR_FROM_NONE, errno, "cannot open %s '%s'", what, path);
        return -1;
    }
    if (block ? !S_ISBLK(sb.st_mode) : !S_ISREG(sb.st_mode)) {
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_CONFIG_UNSUPPORTED, "%s '%s' is not a %s", what,
                     path, block ? "block device" : "regular file");
        return -1;
    }
    int fd = open(path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        cv_error_set_errno(err, VIR_FROM_NONE, errno, "cannot open %s '%s'%s", what, path,
                           writable ? " for writing" : "");
        return -1;
    }
    close(fd);
    return 0;
}

static int
launch_check_files(const DomainDef *def, CvError **err)
{
    const DomainOSDef *os = &def->os;
    if ((os->kernel && launch_check_file("kernel", os->kernel, false, false, err) < 0) ||
        (os->initrd && launch_check_file("initrd", os->initrd, false, false, err) < 0) ||
        (os->loader && launch_check_file("loader", os->loader, false, false, err) < 0))
        return -1;
    for (size_t i = 0; i < def->ndisks; i++) {
        const DomainDiskDef *disk = def->disks[i];
        if (!disk->source)
            continue;
        g_autofree char *what = g_strdup_printf("disk '%s' source", disk->target_dev);
        /* a transient disk's guest writes to its overlay */
        bool writable = !disk->readonly && !disk->transient;
        if (launch_check_file(what, disk->source, disk->type == DOMAIN_DISK_TYPE_BLOCK, writable,
                              err) < 0)
            return -1;
    }
    return 0;
}

/* Append s to the NULL-terminated *v. */
static void
strv_push(char ***v, const char *s)
{
    guint n = *v ? g_strv_length(*v) : 0;
    *v = g_renew(char *, *v, n + 2);
    (*v)[n] = g_strdup(s);
    (*v)[n + 1] = NULL;
}

static int
launch_taps(const CocoonBackend *backend, const DomainDef *def, LaunchPrep *p, DomainStatus *st,
            CvError **err)
{
    p->tap_names = g_ptr_array_new_with_free_func(g_free);
    for (size_t i = 0; i < def->nnets; i++) {
        const DomainNetDef *net = def->nets[i];
        char *name = net->target_dev ? g_strdup(net->target_dev) : host_tap_name(def->name, i);
        g_ptr_array_add(p->tap_names, name);
        bool multi_queue = backend->kind == BACKEND_CLOUD_HYPERVISOR && net->queues > 1;
        bool created = false;
        if (host_tap_prepare(net, name, multi_queue, &created, err) < 0)
            return -1;
        if (created)
            strv_push(&st->taps, name);
    }
    g_ptr_array_add(p->tap_names, NULL);
    return 0;
}

static int
launch_overlays(const DomainDef *def, LaunchPrep *p, DomainStatus *st, CvError **err)
{
    p->disk_paths = g_ptr_array_new_with_free_func(g_free);
    for (size_t i = 0; i < def->ndisks; i++) {
        const DomainDiskDef *disk = def->disks[i];
        char *path = NULL;
        if (disk->transient && disk->source) {
            g_autofree char *file = g_strdup_printf("%s.overlay", disk->target_dev);
            path = g_build_filename(p->live, file, NULL);
            /* a leftover of a boot that could not clean up: this boot starts afresh */
            unlink(path);
            if (disk_overlay_create(disk->source, path, err) < 0) {
                g_free(path);
                return -1;
            }
            strv_push(&st->overlays, path);
        }
        g_ptr_array_add(p->disk_paths, path);
    }
    g_ptr_array_add(p->disk_paths, NULL);
    return 0;
}

/* Whether def has a console the relay serves. */
static bool
launch_has_console(const DomainDef *def)
{
    return def->nserials > 0 || def->nconsoles > 0;
}

/* Whether the relay reads a PTY of the driver's that the VMM gets as its stdin/stdout: FC's
 * only console; CH's when it has a pty console (ch/ch_process.h says why not CH's own PTY). */
static bool
launch_console_stdio(const CocoonBackend *backend, const DomainDef *def)
{
    if (backend->kind == BACKEND_FIRECRACKER)
        return launch_has_console(def);
    for (size_t i = 0; i < def->nserials; i++)
        if (def->serials[i]->type == DOMAIN_CHR_TYPE_PTY)
            return true;
    for (size_t i = 0; i < def->nconsoles; i++)
        if (def->consoles[i]->type == DOMAIN_CHR_TYPE_PTY)
            return true;
    return false;
}

/* The relay of a boot: spawned as soon as what it needs exists, waited for last, so that its
 * start-up overlaps the VMM's. */
typedef struct {
    const char *live;
    int pty_master;
    LocalConsoleRelay relay;
    bool spawned;
} LaunchRelay;

static int
launch_relay_spawn(LaunchRelay *r, const char *pty_path, pid_t vm_pid, CvError **err)
{
    if (local_console_relay_spawn(r->live, pty_path ? -1 : r->pty_master, pty_path, vm_pid,
                                  &r->relay, err) < 0)
        return -1;
    r->spawned = true;
    return 0;
}

/* Record the relay in st (so that a teardown stops it) and wait for it to listen. */
static int
launch_relay_finish(LaunchRelay *r, DomainStatus *st, CvError **err)
{
    if (!r->spawned)
        return 0;
    st->relay_pid = r->relay.pid;
    st->relay_start_time = r->relay.start_time;
    return local_console_relay_wait(&r->relay, err);
}

static int
launch_run(DomainStore *store, CocoonConfig *config, const CocoonBackend *backend,
           const DomainDef *def, const BackendSnapshotFiles *restore, bool paused, LaunchPrep *p,
           LaunchRelay *r, DomainStatus *st, CvError **err)
{
    int jailed = backend->kind == BACKEND_FIRECRACKER
                     ? cocoon_config_jail(config, def->emulator, domain_store_run(store), &p->jail,
                                          err)
                     : 0;
    if (jailed < 0)
        return -1;
    if (jailed)
        p->binary = g_strdup(p->jail.firecracker);
    else if (!(p->binary = cocoon_config_resolve_binary(config, backend, def->emulator, err)))
        return -1;
    /* a jailed FC that joins a network namespace finds its TAPs there */
    int self_ns = -1;
    const char *netns = jailed ? p->jail.jail.netns : NULL;
    if (netns && host_netns_enter(netns, &self_ns, err) < 0)
        return -1;
    int taps_rc = launch_taps(backend, def, p, st, err);
    host_netns_leave(self_ns);
    if (taps_rc < 0 || launch_overlays(def, p, st, err) < 0)
        return -1;
    if (backend->kind == BACKEND_FIRECRACKER && def->os.kernel) {
        g_autofree char *cache =
            g_build_filename(domain_store_root(store), "cache", "kernels", NULL);
        if (!(p->kernel = kernel_image_resolve(def->os.kernel, cache, err)))
            return -1;
    }
    /* The console on the VMM's stdin/stdout: a PTY whose master the relay gets. The relay
     * starts first, so that its start-up overlaps the VMM's; it needs no pid to watch, as it
     * ends on the PTY's hang-up once the VMM, the slave's last holder, is gone. */
    if (launch_console_stdio(backend, def)) {
        if (local_console_pty_open(&p->pty_master, &p->pty_slave, err) < 0)
            return -1;
        r->pty_master = p->pty_master;
        if (launch_relay_spawn(r, NULL, 0, err) < 0)
            return -1;
    }

    g_autofree char *log = g_build_filename(p->live, DOMAIN_LAUNCH_LOG, NULL);
    g_autofree char *exit_file = g_build_filename(p->live, DOMAIN_LAUNCH_EXIT, NULL);
    g_autofree char *notes = g_build_filename(p->live, DOMAIN_LAUNCH_NOTES, NULL);
    g_autofree char *stop = g_build_filename(p->live, DOMAIN_LAUNCH_STOP, NULL);
    const char *waiter_opts[] = {"--notes", notes, "--stop-request", stop, NULL};
    unlink(exit_file);
    unlink(notes);
    unlink(stop);
    /* one log per boot, and the one before: Firecracker writes its log from the start of the
     * file, over what was there, and a crash is told by what this boot's VMM logged */
    g_autofree char *previous = g_build_filename(p->live, DOMAIN_LAUNCH_LOG_PREVIOUS, NULL);
    if (rename(log, previous) < 0 && errno != ENOENT) {
        cv_error_set_errno(err, VIR_FROM_NONE, errno, "cannot rename '%s' to '%s'", log, previous);
        return -1;
    }
    BackendLaunchCtx ctx = {
        .binary = p->binary,
        .log_path = log,
        .console_fd = p->pty_slave,
        .exit_path = exit_file,
        .waiter_opts = waiter_opts,
        .lower =
            {
                .run_dir = p->live,
                .tap_names = (const char *const *)p->tap_names->pdata,
                .disk_paths = (const char *const *)p->disk_paths->pdata,
                .kernel_path = p->kernel,
                .console_stdio = p->pty_slave >= 0,
            },
        .restore = restore,
        .jail = jailed ? &p->jail.jail : NULL,
    };
    BackendVm vm = {0};
    int rc = backend->launch(def, &ctx, paused, &vm, err);
    st->waiter_pid = vm.waiter_pid;
    if (p->pty_slave >= 0) {
        close(p->pty_slave);
        p->pty_slave = -1;
    }
    if (rc < 0) {
        /* the VMM is gone already: so goes its relay, at once */
        if (r->spawned)
            local_console_relay_abort(&r->relay);
        return -1;
    }
    st->pid = vm.pid;
    st->start_time = vm.start_time;
    st->api_socket = g_steal_pointer(&vm.api_socket);
    st->console_path = g_strdup(vm.console_path);
    backend_vm_clear(&vm);
    /* CH: the PTY is the VMM's, its path known only now */
    if (!r->spawned && launch_has_console(def) && st->console_path &&
        launch_relay_spawn(r, st->console_path, st->pid, err) < 0)
        return -1;
    return launch_relay_finish(r, st, err);
}

static int
launch_start(DomainStore *store, CocoonConfig *config, const CocoonBackend *backend,
             const DomainDef *def, const BackendSnapshotFiles *restore, bool paused,
             DomainStatus *ret_st, CvError **err)
{
    LaunchPrep p = {
        .live = domain_store_live_dir(store, def->name), .pty_master = -1, .pty_slave = -1};
    DomainStatus st;
    domain_status_init(&st);
    st.backend = g_strdup(backend->name);

    LaunchRelay r = {
        .live = p.live, .pty_master = -1, .relay = {.ready_fd = -1, .stderr_fd = -1}};
    /* before anything is made; and nothing of a boot cut short may hold what this one needs */
    int rc = launch_check_files(def, err);
    if (rc == 0 && launch_marker_present(p.live))
        launch_strays_stop(p.live, false);
    if (rc == 0)
        rc = cv_dir_ensure(p.live, 0700, err);
    if (rc == 0)
        rc = launch_marker_set(p.live, err);
    if (rc == 0)
        rc = launch_run(store, config, backend, def, restore, paused, &p, &r, &st, err);
    local_console_relay_clear(&r.relay);
    if (rc < 0) {
        domain_launch_teardown(store, def->name, &st);
        launch_marker_clear(p.live);
        domain_status_clear(&st);
    }
    launch_prep_clear(&p);
    if (rc < 0)
        return -1;
    *ret_st = st;
    return 0;
}

int
domain_launch_start(DomainStore *store, CocoonConfig *config, const CocoonBackend *backend,
                    const DomainDef *def, bool paused, DomainStatus *ret_st, CvError **err)
{
    return launch_start(store, config, backend, def, NULL, paused, ret_st, err);
}

int
domain_launch_restore(DomainStore *store, CocoonConfig *config, const CocoonBackend *backend,
                      const DomainDef *def, const BackendSnapshotFiles *files, bool paused,
                      DomainStatus *ret_st, CvError **err)
{
    return launch_start(store, config, backend, def, files, paused, ret_st, err);
}

/* Wait (bounded) for a helper process to be gone; TERM it when it lingers. */
static void
launch_helper_finish(pid_t pid, unsigned long long start_time)
{
    if (pid <= 0)
        return;
    if (!cv_process_wait_exit(pid, start_time, LAUNCH_HELPER_EXIT_MS))
        cv_process_stop(pid, start_time, LAUNCH_STOP_TERM_MS, LAUNCH_STOP_KILL_MS, NULL);
}

void
domain_launch_settled(DomainStore *store, const char *name)
{
    g_autofree char *live = domain_store_live_dir(store, name);
    launch_marker_clear(live);
}

void
domain_launch_teardown(DomainStore *store, const char *name, const DomainStatus *st)
{
    if (st->pid > 0)
        cv_process_stop(st->pid, st->start_time, LAUNCH_STOP_TERM_MS, LAUNCH_STOP_KILL_MS, NULL);
    /* the waiter writes the exit file right after the VMM is gone: let it, then remove it */
    launch_helper_finish(st->waiter_pid, 0);
    launch_helper_finish(st->relay_pid, st->relay_start_time);
    g_autofree char *live = domain_store_live_dir(store, name);
    const CocoonBackend *backend = st->backend ? backend_for_emulator(st->backend) : NULL;
    if (backend && backend->release)
        backend->release(live, (const char *const *)st->taps);
    for (size_t i = 0; st->taps && st->taps[i]; i++)
        host_tap_remove(st->taps[i], NULL);
    for (size_t i = 0; st->overlays && st->overlays[i]; i++)
        unlink(st->overlays[i]);
    /* everything in the live directory but the logs (the VMM's, the relay's) */
    cv_dir_empty_at(AT_FDCWD, live, ".log", NULL);
}

int
domain_launch_exit_status(DomainStore *store, const char *name, const DomainStatus *st)
{
    g_autofree char *live = domain_store_live_dir(store, name);
    g_autofree char *path = g_build_filename(live, DOMAIN_LAUNCH_EXIT, NULL);
    int status = -1;
    if (st->waiter_pid > 0)
        cv_process_wait_exit(st->waiter_pid, 0, 1000);
    if (cv_process_exit_status_read(path, &status) < 0)
        return -1;
    return status;
}

char *
domain_launch_last_note(DomainStore *store, const char *name)
{
    g_autofree char *live = domain_store_live_dir(store, name);
    g_autofree char *path = g_build_filename(live, DOMAIN_LAUNCH_NOTES, NULL);
    g_autofree char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL))
        return NULL;
    g_strchomp(text);
    const char *nl = strrchr(text, '\n');
    return *text ? g_strdup(nl ? nl + 1 : text) : NULL;
}

bool
domain_launch_exit_crashed(DomainStore *store, const char *name, const DomainStatus *st,
                           const CocoonBackend *backend, int status)
{
    if (!backend || !backend->exit_crashed)
        return false;
    g_autofree char *live = domain_store_live_dir(store, name);
    g_autofree char *log = g_build_filename(live, DOMAIN_LAUNCH_LOG, NULL);
    return backend->exit_crashed(log, status);
}

int
domain_launch_request_stop(DomainStore *store, const char *name, const DomainStatus *st,
                           unsigned int shutdown_ms, unsigned int term_ms, CvError **err)
{
    /* the waiter is the VMM's parent for as long as the VMM runs: that tells it from a pid
     * that was reused */
    if (st->waiter_pid <= 0 || cv_process_parent(st->pid) != st->waiter_pid) {
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_OPERATION_FAILED,
                     "the VMM of domain '%s' has no waiter to stop it", name);
        return -1;
    }
    g_autofree char *live = domain_store_live_dir(store, name);
    g_autofree char *path = g_build_filename(live, DOMAIN_LAUNCH_STOP, NULL);
    g_autofree char *text = g_strdup_printf("%u %u\n", shutdown_ms, term_ms);
    if (cv_file_write_atomic(path, text, strlen(text), 0600, err) < 0)
        return -1;
    if (kill(st->waiter_pid, SIGUSR1) < 0) {
        cv_error_set_errno(err, VIR_FROM_NONE, errno, "cannot signal the waiter of domain '%s'",
                           name);
        return -1;
    }
    return 0;
}
