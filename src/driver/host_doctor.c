#include "host_doctor.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <linux/magic.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/cv_paths.h"

/* Below this much free space under the root a snapshot or a transient overlay may not fit. */
#define DOCTOR_ROOT_LOW_BYTES (2ULL << 30)
#define BLOCKS_ALL ((1u << BACKEND_LAST) - 1)

static void doctor_add(DoctorReport *r, const char *name, DoctorLevel level, unsigned int blocks,
                       const char *fix, const char *fmt, ...) G_GNUC_PRINTF(6, 7);

static void
doctor_add(DoctorReport *r, const char *name, DoctorLevel level, unsigned int blocks,
           const char *fix, const char *fmt, ...)
{
    DoctorCheck *c = g_new0(DoctorCheck, 1);
    va_list ap;
    va_start(ap, fmt);
    c->detail = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    c->name = g_strdup(name);
    c->level = level;
    c->fix = g_strdup(fix);
    c->blocks = level == DOCTOR_FAIL ? blocks : 0;
    g_ptr_array_add(r->checks, c);
}

static void
doctor_check_free(gpointer p)
{
    DoctorCheck *c = p;
    g_free(c->name);
    g_free(c->detail);
    g_free(c->fix);
    g_free(c);
}

static bool
module_loaded(const char *name)
{
    g_autofree char *path = g_build_filename("/sys/module", name, NULL);
    return g_file_test(path, G_FILE_TEST_IS_DIR);
}

/* ---- KVM ----------------------------------------------------------------------------------- */

static void
check_kvm(DoctorReport *r)
{
    struct stat st;
    if (stat("/dev/kvm", &st) < 0 || !S_ISCHR(st.st_mode)) {
        doctor_add(r, "/dev/kvm", DOCTOR_FAIL, BLOCKS_ALL,
                   "enable virtualization (VT-x/AMD-V) in the firmware or the VM's host, then "
                   "modprobe kvm_intel or kvm_amd (nested: kvm_pvm)",
                   "missing: no VM can run on this host");
        return;
    }
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        doctor_add(r, "/dev/kvm", DOCTOR_FAIL, BLOCKS_ALL,
                   "run as root, or add the user to the group of /dev/kvm (usually 'kvm')",
                   "present but cannot be opened: %s", g_strerror(e));
    } else {
        close(fd);
        doctor_add(r, "/dev/kvm", DOCTOR_OK, 0, NULL, "present and usable");
    }

    if (module_loaded("kvm_intel"))
        doctor_add(r, "KVM kind", DOCTOR_OK, 0, NULL,
                   "kvm_intel: hardware virtualization (Intel VT-x); every guest runs at full "
                   "speed");
    else if (module_loaded("kvm_amd"))
        doctor_add(r, "KVM kind", DOCTOR_OK, 0, NULL,
                   "kvm_amd: hardware virtualization (AMD-V); every guest runs at full speed");
    else if (module_loaded("kvm_pvm"))
        doctor_add(r, "KVM kind", DOCTOR_WARN, 0,
                   "for full speed, run on a host with VT-x/AMD-V exposed (kvm_intel or "
                   "kvm_amd)",
                   "kvm_pvm: nested, software-assisted virtualization (PVM); small "
                   "freestanding guests start fast, a Linux guest needs a PVM-aware kernel and "
                   "boots slowly (tens of seconds)");
    else
        doctor_add(r, "KVM kind", DOCTOR_WARN, 0,
                   "load kvm_intel, kvm_amd or kvm_pvm to know what guests can expect",
                   "no kvm_intel, kvm_amd or kvm_pvm module in /sys/module: unknown");
}

/* ---- the hypervisor binaries ---------------------------------------------------------------- */

/* The first "vN…" word of `binary --version`'s first line, or NULL. */
static char *
binary_version(const char *binary)
{
    const char *argv[] = {binary, "--version", NULL};
    g_autofree char *out = NULL;
    int status = 0;
    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out,
                      NULL, &status, NULL) ||
        !out)
        return NULL;
    char *nl = strchr(out, '\n');
    if (nl)
        *nl = '\0';
    g_auto(GStrv) words = g_strsplit(out, " ", -1);
    for (size_t i = 0; words[i]; i++) {
        const char *w = words[i];
        if (w[0] == 'v' && g_ascii_isdigit(w[1]))
            return g_strdup(w + 1);
    }
    return NULL;
}

int
host_doctor_version_cmp(const char *a, const char *b)
{
    if (*a == 'v')
        a++;
    if (*b == 'v')
        b++;
    bool a_num = g_ascii_isdigit(*a), b_num = g_ascii_isdigit(*b);
    if (!a_num || !b_num)
        return (int)a_num - (int)b_num;
    while (g_ascii_isdigit(*a) || g_ascii_isdigit(*b)) {
        char *ea, *eb;
        unsigned long long x = g_ascii_isdigit(*a) ? g_ascii_strtoull(a, &ea, 10) : 0;
        unsigned long long y = g_ascii_isdigit(*b) ? g_ascii_strtoull(b, &eb, 10) : 0;
        if (!g_ascii_isdigit(*a))
            ea = (char *)a;
        if (!g_ascii_isdigit(*b))
            eb = (char *)b;
        if (x != y)
            return x < y ? -1 : 1;
        a = *ea == '.' && g_ascii_isdigit(ea[1]) ? ea + 1 : ea + strlen(ea);
        b = *eb == '.' && g_ascii_isdigit(eb[1]) ? eb + 1 : eb + strlen(eb);
    }
    return 0;
}

static void
check_binary(DoctorReport *r, const char *name, const char *path, const char *tested,
             unsigned int blocks, const char *install_fix, bool optional)
{
    if (!path) {
        doctor_add(r, name, optional ? DOCTOR_WARN : DOCTOR_FAIL, blocks, install_fix,
                   "not found%s", optional ? "" : ": this backend cannot run");
        return;
    }
    g_autofree char *version = binary_version(path);
    if (!version) {
        doctor_add(r, name, DOCTOR_FAIL, blocks,
                   "check that it is the real binary for this architecture",
                   "'%s' does not tell its version (--version)", path);
        return;
    }
    if (host_doctor_version_cmp(version, tested) == 0)
        doctor_add(r, name, DOCTOR_OK, 0, NULL, "'%s' v%s, the version Cocoon was tested with",
                   path, version);
    else
        doctor_add(r, name, DOCTOR_WARN, 0,
                   "install the tested version, or expect API differences (see cocoon.conf(5) "
                   "to point Cocoon at another binary)",
                   "'%s' v%s; Cocoon was tested with v%s", path, version, tested);
}

/* The per-VM helpers, found as a start finds them: without the waiter nothing starts. */
static void
check_helpers(DoctorReport *r)
{
    static const struct {
        const char *name, *what, *env, *tree;
    } helpers[] = {
        {"cocoon-vmm-waiter", "VMM waiter", "COCOON_VMM_WAITER", "tools/waiter"},
        {"cocoon-console-relay", "console relay", "COCOON_CONSOLE_RELAY", "tools/relay"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(helpers); i++) {
        g_autoptr(CvError) err = NULL;
        g_autofree char *path = cv_paths_helper_find(helpers[i].name, helpers[i].what,
                                                     helpers[i].env, helpers[i].tree, &err);
        if (path)
            doctor_add(r, helpers[i].name, DOCTOR_OK, 0, NULL, "'%s'", path);
        else
            doctor_add(r, helpers[i].name, DOCTOR_FAIL, BLOCKS_ALL,
                       "reinstall Cocoon (meson install, or the cocoon package)", "%s",
                       err->message);
    }
}

static void
check_binaries(DoctorReport *r, const CocoonConfig *cfg)
{
    static const char *const tested[BACKEND_LAST] = {
        [BACKEND_FIRECRACKER] = HOST_DOCTOR_FIRECRACKER_TESTED,
        [BACKEND_CLOUD_HYPERVISOR] = HOST_DOCTOR_CLOUD_HYPERVISOR_TESTED,
    };
    for (int k = 0; k < BACKEND_LAST; k++) {
        const CocoonBackend *b = backend_by_kind(k);
        g_autofree char *path = cocoon_config_resolve_binary(cfg, b, NULL, NULL);
        g_autofree char *fix = g_strdup_printf(
            "install %s v%s on PATH, or name it in [hypervisors] %s= of cocoon.conf "
            "(or $%s)",
            b->name, tested[k], b->name, b->env_override);
        check_binary(r, b->name, path, tested[k], 1u << k, fix, false);
    }
    g_autofree char *jailer = cocoon_config_resolve_jailer(cfg);
    check_binary(r, "jailer", jailer, HOST_DOCTOR_FIRECRACKER_TESTED, 0,
                 "install Firecracker's jailer v" HOST_DOCTOR_FIRECRACKER_TESTED
                 " (from the same release as firecracker) on PATH, or set [hypervisors] "
                 "jailer= in cocoon.conf",
                 true);
}

/* ---- devices and kernel features ---------------------------------------------------------- */

static void
check_char_device(DoctorReport *r, const char *path, const char *what, const char *fix)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd >= 0) {
        close(fd);
        doctor_add(r, path, DOCTOR_OK, 0, NULL, "usable: %s", what);
        return;
    }
    int e = errno;
    doctor_add(r, path, DOCTOR_WARN, 0, fix, "%s: %s", g_strerror(e), what);
}

static void
check_bridge(DoctorReport *r)
{
    if (module_loaded("bridge"))
        doctor_add(r, "bridge", DOCTOR_OK, 0, NULL,
                   "the kernel's bridge is there: <interface type='bridge'> works");
    else
        doctor_add(r, "bridge", DOCTOR_WARN, 0, "modprobe bridge",
                   "no bridge support loaded: <interface type='bridge'> fails, "
                   "type='ethernet' works");
}

static void
check_io_uring(DoctorReport *r)
{
    struct io_uring_params p = {0};
    long fd = syscall(__NR_io_uring_setup, 1, &p);
    if (fd >= 0) {
        close((int)fd);
        doctor_add(r, "io_uring", DOCTOR_OK, 0, NULL,
                   "io_uring_setup works: disks can use the io_uring engine");
        return;
    }
    int e = errno;
    doctor_add(r, "io_uring", DOCTOR_WARN, 0,
               e == ENOSYS ? "use a kernel built with CONFIG_IO_URING"
                           : "set kernel.io_uring_disabled=0 (sysctl), or allow io_uring_setup "
                             "in the seccomp profile of this container",
               "io_uring_setup: %s: disks fall back to synchronous I/O", g_strerror(e));
}

static void
check_cgroup(DoctorReport *r)
{
    struct statfs sf;
    bool mounted = statfs("/sys/fs/cgroup", &sf) == 0;
    if (mounted && sf.f_type == CGROUP2_SUPER_MAGIC) {
        doctor_add(r, "cgroup v2", DOCTOR_OK, 0, NULL, "/sys/fs/cgroup is cgroup2");
        return;
    }
    /* v1 (or hybrid) hierarchies are a tmpfs of per-controller cgroup mounts */
    const char *what = !mounted                        ? "nothing is mounted on /sys/fs/cgroup"
                       : sf.f_type == TMPFS_MAGIC      ? "/sys/fs/cgroup holds cgroup v1 controllers"
                       : sf.f_type == CGROUP_SUPER_MAGIC ? "/sys/fs/cgroup is cgroup v1"
                                                         : "/sys/fs/cgroup is not cgroup2";
    doctor_add(r, "cgroup v2", DOCTOR_WARN, 0,
               "boot with systemd.unified_cgroup_hierarchy=1, or mount cgroup2 on /sys/fs/cgroup",
               "%s: the jailer's cgroup v2 resource limits are not available", what);
}

/* ---- the root and the daemon --------------------------------------------------------------- */

static void
check_root_space(DoctorReport *r, const char *root)
{
    /* the root may not exist yet: the nearest folder that does holds it */
    g_autofree char *dir = g_strdup(root);
    while (!g_file_test(dir, G_FILE_TEST_IS_DIR)) {
        char *up = g_path_get_dirname(dir);
        g_free(dir);
        dir = up;
    }
    struct statvfs sv;
    if (statvfs(dir, &sv) < 0) {
        int e = errno;
        doctor_add(r, "free space", DOCTOR_WARN, 0, NULL, "cannot examine '%s': %s", dir,
                   g_strerror(e));
        return;
    }
    unsigned long long avail = (unsigned long long)sv.f_bavail * sv.f_frsize;
    g_autofree char *size = g_format_size(avail);
    if (avail < DOCTOR_ROOT_LOW_BYTES)
        doctor_add(r, "free space", DOCTOR_WARN, 0,
                   "free space there, or move the root ([paths] root= in cocoon.conf)",
                   "%s free under '%s' (%s): snapshots and transient disks may not fit", size,
                   root, dir);
    else
        doctor_add(r, "free space", DOCTOR_OK, 0, NULL, "%s free under '%s'", size, root);
}

static void
check_socket(DoctorReport *r, const char *path, mode_t want, const char *what)
{
    struct stat st;
    if (lstat(path, &st) < 0) {
        doctor_add(r, path, DOCTOR_WARN, 0,
                   "systemctl enable --now cocoond.socket (or run cocoond)",
                   "absent: the daemon is not listening (%s); cocoonvirsh works without it, "
                   "virsh and virt-manager need it",
                   what);
        return;
    }
    if (!S_ISSOCK(st.st_mode)) {
        doctor_add(r, path, DOCTOR_WARN, 0, "remove it and restart cocoond",
                   "not a socket (%s)", what);
        return;
    }
    mode_t mode = st.st_mode & 07777;
    bool answers = cv_paths_socket_answers(path);
    if (!answers)
        doctor_add(r, path, DOCTOR_WARN, 0,
                   "restart cocoond (systemctl restart cocoond.socket cocoond.service)",
                   "a socket nobody answers on (mode %04o, %s): left by a daemon that died",
                   (unsigned int)mode, what);
    else if ((mode & ~want & 0777) != 0)
        doctor_add(r, path, DOCTOR_WARN, 0,
                   "check SocketMode= of the socket unit, or --socket-group of cocoond",
                   "answers, mode %04o: more open than the expected %04o (%s)", (unsigned int)mode,
                   (unsigned int)want, what);
    else
        doctor_add(r, path, DOCTOR_OK, 0, NULL, "answers, mode %04o (%s)", (unsigned int)mode,
                   what);
}

DoctorReport *
host_doctor_run(const CocoonConfig *cfg, const DoctorWhere *where)
{
    DoctorReport *r = g_new0(DoctorReport, 1);
    r->checks = g_ptr_array_new_with_free_func(doctor_check_free);

    check_kvm(r);
    check_binaries(r, cfg);
    check_helpers(r);
    check_char_device(r, "/dev/net/tun", "guests can have TAP network interfaces",
                      "modprobe tun; in a container, pass /dev/net/tun in");
    check_char_device(r, "/dev/vhost-net", "the kernel's vhost-net accelerates TAP traffic",
                      "modprobe vhost_net (optional: the VMMs work without it)");
    check_bridge(r);
    check_io_uring(r);
    check_cgroup(r);

    g_autofree char *root = where && where->root ? g_strdup(where->root)
                            : cfg->root          ? g_strdup(cfg->root)
                                                 : cv_paths_default_root();
    check_root_space(r, root);
    g_autofree char *sock =
        where && where->socket ? g_strdup(where->socket) : cv_paths_daemon_socket();
    g_autofree char *ro = g_strconcat(sock, "-ro", NULL);
    check_socket(r, sock, cfg->socket_group ? 0660 : 0600, "read-write");
    check_socket(r, ro, 0666, "read-only");
    return r;
}

bool
host_doctor_backend_runs(const DoctorReport *report, const CocoonBackend *backend)
{
    for (guint i = 0; i < report->checks->len; i++) {
        const DoctorCheck *c = g_ptr_array_index(report->checks, i);
        if (c->blocks & (1u << backend->kind))
            return false;
    }
    return true;
}

void
host_doctor_report_free(DoctorReport *report)
{
    if (!report)
        return;
    g_ptr_array_unref(report->checks);
    g_free(report);
}
