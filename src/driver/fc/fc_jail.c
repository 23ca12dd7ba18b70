#include "fc_jail.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "driver/backend_common.h"
#include "driver/host_net.h"
#include "fc_api.h"
#include "fc_paths.h"
#include "util/cv_file.h"
#include "util/cv_process.h"

/* The jailer names the chroot's parent and the cgroups' parent after the exec file. */
#define FC_JAIL_EXEC_NAME "firecracker"
#define FC_JAIL_PID_FILE FC_JAIL_EXEC_NAME ".pid"
/* The API and vsock sockets inside (fc_paths from "/"). */
#define FC_JAIL_INSIDE "/"
#define FC_JAIL_POLL_US 10000
#define FC_JAIL_CGROUP_TRIES 100
/* cgroup v1's default CFS period, in microseconds */
#define FC_JAIL_CFS_PERIOD_US 100000ULL

char *
fc_jail_dir(const BackendJail *jail, const char *id)
{
    return g_build_filename(jail->chroot_base, FC_JAIL_EXEC_NAME, id, NULL);
}

/* ---- the command line ------------------------------------------------------------------- */

static void
argv_cgroup(GPtrArray *argv, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void
argv_cgroup(GPtrArray *argv, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_ptr_array_add(argv, g_strdup("--cgroup"));
    g_ptr_array_add(argv, g_strdup_vprintf(fmt, ap));
    va_end(ap);
}

/* <cputune>/<memtune> as the jailer's KEY=VALUE cgroup files. */
static void
argv_cgroups(GPtrArray *argv, int version, const DomainDef *def)
{
    unsigned long long period = def->cpu_period_us ? def->cpu_period_us : FC_JAIL_CFS_PERIOD_US;
    if (version == 2) {
        /* libvirt's (and systemd's) shares -> weight: 2..262144 onto 1..10000 */
        if (def->cpu_shares)
            argv_cgroup(argv, "cpu.weight=%llu",
                        1 + ((unsigned long long)def->cpu_shares - 2) * 9999 / 262142);
        if (def->cpu_quota_us > 0)
            argv_cgroup(argv, "cpu.max=%lld %llu", def->cpu_quota_us, period);
        else if (def->cpu_quota_us < 0 || def->cpu_period_us)
            argv_cgroup(argv, "cpu.max=max %llu", period);
        if (def->mem_hard_limit_kib)
            argv_cgroup(argv, "memory.max=%llu", def->mem_hard_limit_kib * 1024);
        return;
    }
    if (def->cpu_shares)
        argv_cgroup(argv, "cpu.shares=%u", def->cpu_shares);
    if (def->cpu_period_us)
        argv_cgroup(argv, "cpu.cfs_period_us=%llu", def->cpu_period_us);
    if (def->cpu_quota_us)
        argv_cgroup(argv, "cpu.cfs_quota_us=%lld", def->cpu_quota_us > 0 ? def->cpu_quota_us : -1);
    if (def->mem_hard_limit_kib)
        argv_cgroup(argv, "memory.limit_in_bytes=%llu", def->mem_hard_limit_kib * 1024);
}

char **
fc_jail_argv(const BackendJail *jail, const char *firecracker, const char *id,
             const DomainDef *def)
{
    GPtrArray *argv = g_ptr_array_new();
    const char *head[] = {jail->jailer, "--id", id, "--exec-file", firecracker, NULL};
    for (size_t i = 0; head[i]; i++)
        g_ptr_array_add(argv, g_strdup(head[i]));
    g_ptr_array_add(argv, g_strdup("--uid"));
    g_ptr_array_add(argv, g_strdup_printf("%u", jail->uid));
    g_ptr_array_add(argv, g_strdup("--gid"));
    g_ptr_array_add(argv, g_strdup_printf("%u", jail->gid));
    g_ptr_array_add(argv, g_strdup("--chroot-base-dir"));
    g_ptr_array_add(argv, g_strdup(jail->chroot_base));
    g_ptr_array_add(argv, g_strdup("--cgroup-version"));
    g_ptr_array_add(argv, g_strdup_printf("%d", jail->cgroup_version));
    argv_cgroups(argv, jail->cgroup_version, def);
    if (jail->netns) {
        g_ptr_array_add(argv, g_strdup("--netns"));
        g_ptr_array_add(argv, g_strdup(jail->netns));
    }
    if (jail->new_pid_ns)
        g_ptr_array_add(argv, g_strdup("--new-pid-ns"));
    /* Firecracker's own; the jailer gives it --id itself */
    g_autofree char *sock = fc_api_socket_path(FC_JAIL_INSIDE);
    const char *fc[] = {"--", "--api-sock", sock, "--log-path", FC_JAIL_LOG, "--level", "Info",
                        NULL};
    for (size_t i = 0; fc[i]; i++)
        g_ptr_array_add(argv, g_strdup(fc[i]));
    if (jail->seccomp_filter) {
        g_ptr_array_add(argv, g_strdup("--seccomp-filter"));
        g_ptr_array_add(argv, g_strdup(FC_JAIL_SECCOMP));
    }
    g_ptr_array_add(argv, NULL);
    return (char **)g_ptr_array_free(argv, FALSE);
}

/* ---- the state file: what release undoes ------------------------------------------------- */

static void jail_note(FcJailPrep *prep, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* Record one line and rewrite the state file at once: a crash leaves a file that says all. */
static void
jail_note(FcJailPrep *prep, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_string_append_vprintf(prep->state, fmt, ap);
    va_end(ap);
    g_string_append_c(prep->state, '\n');
    g_autoptr(CvError) err = NULL;
    if (cv_file_write_atomic(prep->state_path, prep->state->str, prep->state->len, 0600, &err) <
        0)
        g_warning("%s", err->message);
}

/* ---- making the chroot ------------------------------------------------------------------- */

/* Let uid:gid reach path (read, or read and write): give it to them when it is not theirs
 * and "other" may not, noting the owner to restore. */
static int
jail_grant(FcJailPrep *prep, const BackendJail *jail, const char *path, bool write,
           CvError **err)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        cv_error_set_errno(err, VIR_FROM_NONE, errno, "cannot stat '%s'", path);
        return -1;
    }
    if (st.st_uid == jail->uid)
        return 0;
    mode_t other = write ? (S_IROTH | S_IWOTH) : S_IROTH;
    if ((st.st_mode & other) == other)
        return 0;
    if (chown(path, jail->uid, jail->gid) < 0) {
        cv_error_set_errno(err, VIR_FROM_NONE, errno, "cannot give '%s' to %u:%u", path,
                           jail->uid, jail->gid);
        return -1;
    }
    jail_note(prep, "owner %u %u %s", (unsigned int)st.st_uid, (unsigned int)st.st_gid, path);
    return 0;
}

/* Make host_path appear as name inside the chroot: a hard link, else a bind mount. */
static int
jail_link(FcJailPrep *prep, const BackendJail *jail, const char *host_path, const char *name,
          bool write, CvError **err)
{
    g_autofree char *inside = g_build_filename(prep->root, name, NULL);
    if (jail_grant(prep, jail, host_path, write, err) < 0)
        return -1;
    if (link(host_path, inside) == 0)
        return 0;
    if (errno != EXDEV && errno != EPERM) {
        cv_error_set_errno(err, VIR_FROM_NONE, errno, "cannot link '%s' into the jail '%s'",
                           host_path, prep->root);
        return -1;
    }
    int fd = open(inside, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        cv_error_set_errno(err, VIR_FROM_NONE, errno, "cannot create '%s'", inside);
        return -1;
    }
    close(fd);
    if (mount(host_path, inside, NULL, MS_BIND, NULL) < 0) {
        cv_error_set_errno(err, VIR_FROM_NONE, errno, "cannot bind '%s' into the jail '%s'",
                           host_path, prep->root);
        return -1;
    }
    jail_note(prep, "mount %s", inside);
    return 0;
}

/* The folder the cgroup v1 controller or the v2 hierarchy is mounted on, or NULL. */
static char *
jail_cgroup_mount(int version, const char *controller)
{
    g_autofree char *mounts = NULL;
    if (!g_file_get_contents("/proc/self/mounts", &mounts, NULL, NULL))
        return NULL;
    g_auto(GStrv) lines = g_strsplit(mounts, "\n", -1);
    for (size_t i = 0; lines[i]; i++) {
        g_auto(GStrv) f = g_strsplit(lines[i], " ", 5);
        if (g_strv_length(f) < 4)
            continue;
        if (version == 2 && strcmp(f[2], "cgroup2") == 0)
            return g_strdup(f[1]);
        if (version == 1 && strcmp(f[2], "cgroup") == 0) {
            g_auto(GStrv) opts = g_strsplit(f[3], ",", -1);
            if (g_strv_contains((const char *const *)opts, controller))
                return g_strdup(f[1]);
        }
    }
    return NULL;
}

/* The cgroups the jailer will make for the --cgroup arguments, noted for release. */
static void
jail_note_cgroups(FcJailPrep *prep, const BackendJail *jail, const char *id,
                  const char *const *argv)
{
    g_autoptr(GHashTable) done = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (size_t i = 0; argv[i] && strcmp(argv[i], "--") != 0; i++) {
        if (strcmp(argv[i], "--cgroup") != 0 || !argv[i + 1])
            continue;
        g_autofree char *controller = g_strndup(argv[i + 1], strcspn(argv[i + 1], "."));
        g_autofree char *base = jail_cgroup_mount(jail->cgroup_version, controller);
        if (!base)
            continue;
        char *dir = g_build_filename(base, FC_JAIL_EXEC_NAME, id, NULL);
        if (g_hash_table_add(done, dir))
            jail_note(prep, "cgroup %s", dir);
    }
}

static int
jail_files(FcJailPrep *prep, const DomainDef *def, const BackendLaunchCtx *ctx, CvError **err)
{
    const BackendJail *jail = ctx->jail;
    const char *kernel = ctx->lower.kernel_path ? ctx->lower.kernel_path : def->os.kernel;
    if ((kernel && jail_link(prep, jail, kernel, FC_JAIL_KERNEL, false, err) < 0) ||
        (def->os.initrd && jail_link(prep, jail, def->os.initrd, FC_JAIL_INITRD, false, err) < 0) ||
        jail_link(prep, jail, ctx->log_path, FC_JAIL_LOG, true, err) < 0 ||
        (jail->seccomp_filter &&
         jail_link(prep, jail, jail->seccomp_filter, FC_JAIL_SECCOMP, false, err) < 0))
        return -1;
    for (size_t i = 0; i < def->ndisks; i++) {
        const char *path = backend_common_disk_path(def, &ctx->lower, i);
        char *name = g_strdup_printf("/disk-%s", def->disks[i]->target_dev);
        g_ptr_array_add(prep->disk_paths, name);
        if (path && jail_link(prep, jail, path, name, !def->disks[i]->readonly, err) < 0)
            return -1;
    }
    g_ptr_array_add(prep->disk_paths, NULL);
    if (ctx->restore && ctx->restore->vmstate && ctx->restore->memory) {
        if (jail_link(prep, jail, ctx->restore->vmstate, FC_JAIL_VMSTATE, false, err) < 0 ||
            jail_link(prep, jail, ctx->restore->memory, FC_JAIL_MEMORY, false, err) < 0)
            return -1;
        prep->restore.vmstate = FC_JAIL_VMSTATE;
        prep->restore.memory = FC_JAIL_MEMORY;
    }
    return 0;
}

static int
jail_taps(FcJailPrep *prep, const DomainDef *def, const BackendLaunchCtx *ctx, CvError **err)
{
    const BackendJail *jail = ctx->jail;
    if (jail->netns && def->nnets > 0)
        jail_note(prep, "netns %s", jail->netns);
    for (size_t i = 0; i < def->nnets; i++) {
        g_autofree char *tap = backend_common_tap_name(def, &ctx->lower, i);
        if (host_tap_set_owner(tap, jail->uid, jail->gid, jail->netns, err) < 0)
            return -1;
        jail_note(prep, "tap %s", tap);
    }
    return 0;
}

/* The sockets FC makes inside, where the driver looks for them. */
static int
jail_sockets(FcJailPrep *prep, const char *run_dir, CvError **err)
{
    char *(*const paths[])(const char *) = {fc_api_socket_path, fc_vsock_socket_path};
    for (size_t i = 0; i < G_N_ELEMENTS(paths); i++) {
        g_autofree char *outside = paths[i](run_dir);
        g_autofree char *inside = paths[i](prep->root);
        unlink(outside);
        if (symlink(inside, outside) < 0) {
            cv_error_set_errno(err, VIR_FROM_NONE, errno, "cannot link '%s' to '%s'", outside,
                               inside);
            return -1;
        }
    }
    return 0;
}

static const DomainChrDef *
jail_file_serial(const DomainDef *def)
{
    for (size_t i = 0; i < def->nserials; i++)
        if (def->serials[i]->type == DOMAIN_CHR_TYPE_FILE)
            return def->serials[i];
    return NULL;
}

int
fc_jail_prepare(const DomainDef *def, const BackendLaunchCtx *ctx, const char *id,
                FcJailPrep *ret, CvError **err)
{
    const char *run_dir = ctx->lower.run_dir;
    if (jail_file_serial(def)) {
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_CONFIG_UNSUPPORTED,
                     "a <serial type='file'> cannot reach into the jail of domain '%s'",
                     def->name);
        return -1;
    }
    /* what an earlier boot could not release */
    fc_jail_release(run_dir, NULL);

    memset(ret, 0, sizeof(*ret));
    ret->dir = fc_jail_dir(ctx->jail, id);
    ret->root = g_build_filename(ret->dir, "root", NULL);
    ret->state_path = g_build_filename(run_dir, FC_JAIL_STATE, NULL);
    ret->state = g_string_new(NULL);
    ret->disk_paths = g_ptr_array_new_with_free_func(g_free);
    ret->def = *def;
    if (def->os.initrd)
        ret->def.os.initrd = (char *)FC_JAIL_INITRD;

    /* a folder of the same id that no state file claims: a leftover, not anyone's */
    cv_dir_remove_tree_at(AT_FDCWD, ret->dir, NULL);
    jail_note(ret, "dir %s", ret->dir);
    g_auto(GStrv) argv = fc_jail_argv(ctx->jail, ctx->binary, id, def);
    jail_note_cgroups(ret, ctx->jail, id, (const char *const *)argv);
    if (cv_dir_ensure(ret->root, 0700, err) < 0 || jail_files(ret, def, ctx, err) < 0 ||
        jail_taps(ret, def, ctx, err) < 0 || jail_sockets(ret, run_dir, err) < 0) {
        /* the jail file says what was made: the driver's teardown releases it */
        fc_jail_prep_clear(ret);
        return -1;
    }
    ret->lower = ctx->lower;
    ret->lower.run_dir = FC_JAIL_INSIDE;
    ret->lower.kernel_path = FC_JAIL_KERNEL;
    ret->lower.disk_paths = (const char *const *)ret->disk_paths->pdata;
    return 0;
}

void
fc_jail_prep_clear(FcJailPrep *prep)
{
    g_free(prep->dir);
    g_free(prep->root);
    g_free(prep->state_path);
    if (prep->state)
        g_string_free(prep->state, TRUE);
    if (prep->disk_paths)
        g_ptr_array_unref(prep->disk_paths);
    memset(prep, 0, sizeof(*prep));
}

pid_t
fc_jail_find_pid(const BackendJail *jail, const FcJailPrep *prep, pid_t spawned,
                 unsigned int timeout_ms, CvError **err)
{
    if (!jail->new_pid_ns)
        return spawned;
    g_autofree char *path = g_build_filename(prep->root, FC_JAIL_PID_FILE, NULL);
    gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    bool gone = false;
    for (;;) {
        g_autofree char *text = NULL;
        guint64 pid = 0;
        /* the jailer writes it once, right after the clone, then exits; a partial read just
         * retries */
        if (g_file_get_contents(path, &text, NULL, NULL) &&
            g_ascii_string_to_unsigned(g_strstrip(text), 10, 1, G_MAXINT, &pid, NULL) &&
            (pid_t)pid != spawned)
            return (pid_t)pid;
        /* gone since the last look: that look may have come just before the write */
        if (gone || g_get_monotonic_time() > deadline) {
            cv_error_set(err, VIR_FROM_NONE, VIR_ERR_OPERATION_FAILED,
                         "the jailer %s without writing the pid of firecracker to '%s'",
                         gone ? "exited" : "timed out", path);
            return -1;
        }
        cv_process_reap(spawned);
        if (!cv_process_alive(spawned, 0))
            gone = true;
        else
            g_usleep(FC_JAIL_POLL_US);
    }
}

/* ---- undoing it --------------------------------------------------------------------------- */

/* SIGKILL what is still in the jail's cgroup: release runs once FC should be gone, and
 * whatever lingers there (an FC whose pid was never learnt) is the jail's and nobody else's. */
static void
jail_kill_cgroup(const char *dir)
{
    g_autofree char *procs = g_build_filename(dir, "cgroup.procs", NULL);
    g_autofree char *text = NULL;
    if (!g_file_get_contents(procs, &text, NULL, NULL))
        return;
    g_auto(GStrv) pids = g_strsplit(text, "\n", -1);
    for (size_t i = 0; pids[i]; i++) {
        guint64 pid = 0;
        if (g_ascii_string_to_unsigned(pids[i], 10, 2, G_MAXINT, &pid, NULL))
            kill((pid_t)pid, SIGKILL);
    }
}

static void
jail_rmdir_cgroup(const char *dir)
{
    /* empty once FC is gone; its last threads may take a moment to leave */
    for (int i = 0; i < FC_JAIL_CGROUP_TRIES; i++) {
        if (rmdir(dir) == 0 || errno == ENOENT)
            break;
        if (errno != EBUSY)
            break;
        if (i == FC_JAIL_CGROUP_TRIES / 10)
            jail_kill_cgroup(dir);
        g_usleep(FC_JAIL_POLL_US);
    }
    /* the shared parent goes with its last jail */
    g_autofree char *parent = g_path_get_dirname(dir);
    rmdir(parent);
}

void
fc_jail_release(const char *run_dir, const char *const *created_taps)
{
    g_autofree char *path = g_build_filename(run_dir, FC_JAIL_STATE, NULL);
    g_autofree char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL))
        return;
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    const char *netns = NULL;
    /* mounts first, so that the folder's removal never meets one; owners after */
    for (size_t i = 0; lines[i]; i++)
        if (g_str_has_prefix(lines[i], "mount "))
            umount2(lines[i] + strlen("mount "), MNT_DETACH);
    for (size_t i = 0; lines[i]; i++) {
        char *line = lines[i];
        unsigned int uid = 0, gid = 0;
        int off = 0;
        if (g_str_has_prefix(line, "owner ") &&
            sscanf(line, "owner %u %u %n", &uid, &gid, &off) == 2 && off > 0) {
            if (chown(line + off, uid, gid) < 0)
                g_warning("cannot give '%s' back to %u:%u: %s", line + off, uid, gid,
                          g_strerror(errno));
        } else if (g_str_has_prefix(line, "netns ")) {
            netns = line + strlen("netns ");
        } else if (g_str_has_prefix(line, "tap ")) {
            const char *tap = line + strlen("tap ");
            host_tap_set_owner(tap, -1, -1, netns, NULL);
            int self = -1;
            if (netns && created_taps && g_strv_contains(created_taps, tap) &&
                host_netns_enter(netns, &self, NULL) == 0) {
                host_tap_remove(tap, NULL);
                host_netns_leave(self);
            }
        } else if (g_str_has_prefix(line, "dir ")) {
            cv_dir_remove_tree_at(AT_FDCWD, line + strlen("dir "), NULL);
        } else if (g_str_has_prefix(line, "cgroup ")) {
            jail_rmdir_cgroup(line + strlen("cgroup "));
        }
    }
    unlink(path);
}

/* ---- snapshots ---------------------------------------------------------------------------- */

/* Copy src to a new dest (0600), for a move across file systems. 0 or -1 with errno. */
static int
jail_copy(const char *src, const char *dest)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    int out = in < 0 ? -1 : open(dest, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int ret = in < 0 || out < 0 ? -1 : 0;
    char buf[1 << 16];
    while (ret == 0) {
        ssize_t n = read(in, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            ret = n < 0 ? -1 : 0;
            break;
        }
        for (ssize_t done = 0; done < n && ret == 0;) {
            ssize_t w = write(out, buf + done, (size_t)(n - done));
            if (w < 0 && errno != EINTR)
                ret = -1;
            else if (w > 0)
                done += w;
        }
    }
    int errnum = errno;
    if (out >= 0 && close(out) < 0 && ret == 0) {
        errnum = errno;
        ret = -1;
    }
    if (in >= 0)
        close(in);
    if (ret < 0 && out >= 0)
        unlink(dest);
    errno = errnum;
    return ret;
}

/* Move the file FC wrote inside to dest (renamed, else copied across file systems), root's
 * again. */
static int
jail_take_out(const char *root, const char *name, const char *dest, CvError **err)
{
    g_autofree char *inside = g_build_filename(root, name, NULL);
    int rc = rename(inside, dest);
    if (rc < 0 && errno == EXDEV)
        rc = jail_copy(inside, dest);
    int errnum = errno;
    unlink(inside);
    if (rc < 0) {
        cv_error_set_errno(err, VIR_FROM_DOMAIN_SNAPSHOT, errnum,
                           "cannot move '%s' out of the jail to '%s'", inside, dest);
        return -1;
    }
    if (chown(dest, 0, 0) < 0 || chmod(dest, 0600) < 0) {
        cv_error_set_errno(err, VIR_FROM_DOMAIN_SNAPSHOT, errno, "cannot take '%s' back", dest);
        return -1;
    }
    return 0;
}

int
fc_jail_snapshot_save(const BackendVm *vm, const BackendSnapshotFiles *files, CvError **err)
{
    /* a jailed VM's API socket is a link into its chroot */
    char target[4096];
    ssize_t n = readlink(vm->api_socket, target, sizeof(target) - 1);
    if (n <= 0)
        return 0;
    target[n] = '\0';
    g_autofree char *root = g_path_get_dirname(target);
    int rc = fc_api_snapshot_create(vm->api_socket, FC_JAIL_SAVE_VMSTATE, FC_JAIL_SAVE_MEMORY, err);
    if (rc == 0 && (jail_take_out(root, FC_JAIL_SAVE_VMSTATE, files->vmstate, err) < 0 ||
                    jail_take_out(root, FC_JAIL_SAVE_MEMORY, files->memory, err) < 0))
        rc = -1;
    if (rc < 0) {
        g_autofree char *v = g_build_filename(root, FC_JAIL_SAVE_VMSTATE, NULL);
        g_autofree char *m = g_build_filename(root, FC_JAIL_SAVE_MEMORY, NULL);
        unlink(v);
        unlink(m);
        return -1;
    }
    return 1;
}
