/* ch-sim: the VM object: consoles, boot/shutdown/reboot, TAPs, snapshot and restore. */
#include "ch_sim.h"

#include "sim_http.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#define CH_SNAPSHOT_MAGIC "cocoon-sim-cloud-hypervisor-snapshot"

static char *
ch_os_error(int e)
{
    return g_strdup_printf("%s (os error %d)", g_strerror(e), e);
}

static int
ch_vm_open_pty(char **ret_path, int *ret_master, int *ret_sub)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
    int sub;
    struct termios t;

    if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0) {
        if (m >= 0)
            close(m);
        return -1;
    }
    sub = open(ptsname(m), O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (sub < 0) {
        close(m);
        return -1;
    }
    /* The guest echoes; the host side of the PTY must not. */
    if (tcgetattr(sub, &t) == 0) {
        cfmakeraw(&t);
        tcsetattr(sub, TCSANOW, &t);
    }
    *ret_path = g_strdup(ptsname(m));
    *ret_master = m;
    *ret_sub = sub;
    return 0;
}

static int
ch_vm_prepare_one(ChSim *s, const char *key, const char *port, gboolean *stdin_used, ChError *err)
{
    json_object *c = sim_json_get(s->config, key);
    const char *mode = sim_json_get_str(c, "mode");

    if (g_strcmp0(mode, "Pty") == 0) {
        g_autofree char *path = NULL;
        int m, sub;
        if (ch_vm_open_pty(&path, &m, &sub) < 0) {
            g_autofree char *e = ch_os_error(errno);
            ch_error_set(err, "Error creating console devices", "Error creating PTY", e, NULL);
            return -1;
        }
        /* as CH, the sim holds only the master: a reader that opens the PTY late gets the
         * output up to a second later */
        close(sub);
        sim_guest_port_add_pty(s->guest, port, m);
        json_object_object_add(c, "file", json_object_new_string(path));
    } else if (g_strcmp0(mode, "Tty") == 0) {
        sim_guest_port_add_fds(s->guest, port, *stdin_used ? -1 : 0, 1, -1, FALSE);
        *stdin_used = TRUE;
        s->any_tty = TRUE;
    } else if (g_strcmp0(mode, "File") == 0) {
        const char *file = sim_json_get_str(c, "file");
        int fd = file ? open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : -1;
        if (fd < 0) {
            g_autofree char *e = ch_os_error(file ? errno : EINVAL);
            ch_error_set(err, "Error creating console devices", "Error opening the console output "
                         "file", e, NULL);
            return -1;
        }
        sim_guest_port_add_fds(s->guest, port, -1, fd, -1, TRUE);
    } else if (g_strcmp0(mode, "Socket") == 0) {
        const char *path = sim_json_get_str(c, "socket");
        int fd = path ? sim_http_listen_unix(path) : -1;
        if (fd < 0) {
            g_autofree char *e = ch_os_error(path ? errno : EINVAL);
            ch_error_set(err, "Error creating console devices", "Error binding the serial "
                         "socket", e, NULL);
            return -1;
        }
        sim_guest_port_add_listener(s->guest, port, fd);
        g_free(s->serial_socket);
        s->serial_socket = g_strdup(path);
    }
    return 0;
}

int
ch_vm_prepare_consoles(ChSim *s, ChError *err)
{
    gboolean stdin_used = FALSE;

    ch_vm_release_consoles(s);
    /* virtio-console first so it gets stdin when both are Tty. */
    if (ch_vm_prepare_one(s, "console", "hvc0", &stdin_used, err) < 0 ||
        ch_vm_prepare_one(s, "serial", "ttyS0", &stdin_used, err) < 0) {
        ch_vm_release_consoles(s);
        return -1;
    }
    if (s->any_tty)
        sim_console_tty_raw(0);
    s->consoles_ready = TRUE;
    return 0;
}

void
ch_vm_release_consoles(ChSim *s)
{
    sim_guest_stop(s->guest);
    sim_guest_ports_clear(s->guest);
    if (s->serial_socket) {
        unlink(s->serial_socket);
        g_clear_pointer(&s->serial_socket, g_free);
    }
    s->consoles_ready = FALSE;
}

static void
ch_vm_close_resources(ChSim *s)
{
    for (guint i = 0; i < s->tap_fds->len; i++)
        close(g_array_index(s->tap_fds, int, i));
    g_array_set_size(s->tap_fds, 0);
    if (s->vsock_fd >= 0) {
        close(s->vsock_fd);
        unlink(s->vsock_path);
        s->vsock_fd = -1;
    }
    g_clear_pointer(&s->vsock_path, g_free);
}

int
ch_vm_open_disk(json_object *disk, ChError *err)
{
    const char *path = sim_json_get_str(disk, "path");
    int fd;

    if (sim_json_get_bool(disk, "vhost_user", FALSE))
        return 0;
    fd = open(path, (sim_json_get_bool(disk, "readonly", FALSE) ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (fd < 0) {
        g_autofree char *e = ch_os_error(errno);
        g_autofree char *m = g_strdup_printf("Failed to open disk image '%s'", path);
        ch_error_set(err, "Cannot create virtio-blk device", m, e, NULL);
        return -1;
    }
    close(fd);
    return 0;
}

/* Like Cloud Hypervisor: attach to the named TAP, creating it when it does not exist (the
 * created TAP is not persistent and disappears with the VM), one fd per queue pair. */
int
ch_vm_open_net(ChSim *s, json_object *net, ChError *err)
{
    const char *tap = sim_json_get_str(net, "tap");
    gint64 pairs = sim_json_get_int(net, "num_queues", 2) / 2;
    g_autoptr(GArray) fds = g_array_new(FALSE, FALSE, sizeof(int));

    if (sim_json_get_bool(net, "vhost_user", FALSE) || sim_json_get(net, "fds"))
        return 0;
    for (gint64 q = 0; q < pairs; q++) {
        struct ifreq ifr = { 0 };
        int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
        if (fd >= 0) {
            g_strlcpy(ifr.ifr_name, tap ? tap : "vmtap%d", IFNAMSIZ);
            ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | (pairs > 1 ? IFF_MULTI_QUEUE : 0);
            if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
                int e = errno;
                close(fd);
                fd = -1;
                errno = e;
            }
        }
        if (fd < 0) {
            g_autofree char *e = ch_os_error(errno);
            g_autofree char *m = g_strdup_printf("Open tap device failed for '%s'", tap ? tap : "vmtap%d");
            for (guint i = 0; i < fds->len; i++)
                close(g_array_index(fds, int, i));
            ch_error_set(err, "Cannot create virtio-net device", m, e, NULL);
            return -1;
        }
        if (q == 0) {
            int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
            if (sock >= 0 && ioctl(sock, SIOCGIFFLAGS, &ifr) == 0) {
                ifr.ifr_flags |= IFF_UP;
                if (ioctl(sock, SIOCSIFFLAGS, &ifr) < 0)
                    ch_sim_log(s, "WARN", "cannot bring TAP %s up", ifr.ifr_name);
            }
            if (sock >= 0)
                close(sock);
        }
        g_array_append_val(fds, fd);
    }
    g_array_append_vals(s->tap_fds, fds->data, fds->len);
    return 0;
}

static int
ch_vm_open_resources(ChSim *s, ChError *err)
{
    json_object *cfg = s->config;
    json_object *payload = sim_json_get(cfg, "payload");
    json_object *disks = sim_json_get(cfg, "disks");
    json_object *nets = sim_json_get(cfg, "net");
    json_object *fs = sim_json_get(cfg, "fs");
    json_object *vsock = sim_json_get(cfg, "vsock");
    static const char *const files[][2] = {
        { "kernel", "Cannot open the kernel image" }, { "firmware", "Cannot open the firmware" },
        { "initramfs", "Cannot open the initramfs image" },
    };

    for (gsize i = 0; i < G_N_ELEMENTS(files); i++) {
        const char *p = sim_json_get_str(payload, files[i][0]);
        if (p && access(p, R_OK) < 0) {
            g_autofree char *e = ch_os_error(errno);
            ch_error_set(err, files[i][1], e, NULL);
            return -1;
        }
    }
    if (access(sim_json_get_str(sim_json_get(cfg, "rng"), "src") ?: "", R_OK) < 0) {
        g_autofree char *e = ch_os_error(errno);
        ch_error_set(err, "Cannot create virtio-rng device", "Cannot open the entropy source", e, NULL);
        return -1;
    }
    for (size_t i = 0; disks && i < json_object_array_length(disks); i++)
        if (ch_vm_open_disk(json_object_array_get_idx(disks, i), err) < 0)
            return -1;
    for (size_t i = 0; fs && i < json_object_array_length(fs); i++) {
        const char *sock = sim_json_get_str(json_object_array_get_idx(fs, i), "socket");
        if (access(sock, F_OK) < 0) {
            g_autofree char *e = ch_os_error(errno);
            ch_error_set(err, "Cannot create virtio-fs device", "Failed to connect to the "
                         "vhost-user backend", e, NULL);
            return -1;
        }
    }
    for (size_t i = 0; nets && i < json_object_array_length(nets); i++)
        if (ch_vm_open_net(s, json_object_array_get_idx(nets, i), err) < 0)
            return -1;
    if (vsock) {
        const char *path = sim_json_get_str(vsock, "socket");
        int fd = sim_http_listen_unix(path);
        if (fd < 0) {
            g_autofree char *e = ch_os_error(errno);
            ch_error_set(err, "Cannot create virtio-vsock device", "Error binding the vsock "
                         "socket", e, NULL);
            return -1;
        }
        s->vsock_fd = fd;
        s->vsock_path = g_strdup(path);
    }
    return 0;
}

static GStrv
ch_vm_boot_info(ChSim *s)
{
    GPtrArray *l = g_ptr_array_new();
    json_object *disks = sim_json_get(s->config, "disks");
    json_object *nets = sim_json_get(s->config, "net");

    g_ptr_array_add(l, g_strdup_printf("Memory: %" G_GINT64_FORMAT "K available",
                                       sim_json_get_int(sim_json_get(s->config, "memory"), "size", 0) / 1024));
    g_ptr_array_add(l, g_strdup_printf("smp: Brought up 1 node, %" G_GINT64_FORMAT " CPUs",
                                       sim_json_get_int(sim_json_get(s->config, "cpus"), "boot_vcpus", 1)));
    for (size_t i = 0; disks && i < json_object_array_length(disks); i++)
        g_ptr_array_add(l, g_strdup_printf("virtio_blk virtio%zu: [vd%c] %s", i, (char)('a' + i),
                                           sim_json_get_str(json_object_array_get_idx(disks, i), "id")));
    for (size_t i = 0; nets && i < json_object_array_length(nets); i++)
        g_ptr_array_add(l, g_strdup_printf("virtio_net virtio%zu: eth%zu: %s", i, i,
                                           sim_json_get_str(json_object_array_get_idx(nets, i), "mac")));
    g_ptr_array_add(l, NULL);
    return (GStrv)g_ptr_array_free(l, FALSE);
}

static void
ch_vm_guest_boot(ChSim *s)
{
    g_auto(GStrv) info = ch_vm_boot_info(s);
    const char *cl = sim_json_get_str(sim_json_get(s->config, "payload"), "cmdline");

    sim_guest_boot(s->guest, cl ? cl : "", (const char *const *)info);
}

int
ch_vm_boot(ChSim *s, ChError *err)
{
    g_autofree char *verr = ch_config_validate(s->config);

    if (verr) {
        ch_error_set(err, "Error validating VM configuration", verr, NULL);
        return -1;
    }
    if (!s->consoles_ready && ch_vm_prepare_consoles(s, err) < 0)
        return -1;
    if (ch_vm_open_resources(s, err) < 0) {
        ch_vm_close_resources(s);
        return -1;
    }
    ch_config_assign_ids(s, s->config);
    ch_sim_event(s, "vm", "booting");
    s->state = CH_STATE_RUNNING;
    ch_vm_guest_boot(s);
    ch_sim_event(s, "vm", "booted");
    ch_sim_log(s, "INFO", "VM booted");
    return 0;
}

void
ch_vm_shutdown(ChSim *s)
{
    if (s->state != CH_STATE_RUNNING && s->state != CH_STATE_PAUSED)
        return;
    sim_guest_stop(s->guest);
    ch_vm_close_resources(s);
    s->state = CH_STATE_CREATED;
    ch_sim_event(s, "vm", "shutdown");
}

void
ch_vm_delete(ChSim *s)
{
    ch_vm_shutdown(s);
    ch_vm_release_consoles(s);
    g_clear_pointer(&s->config, json_object_put);
    s->state = CH_STATE_NO_VM;
    ch_sim_event(s, "vm", "deleted");
}

void
ch_vm_reboot(ChSim *s)
{
    ch_sim_event(s, "vm", "rebooting");
    s->state = CH_STATE_RUNNING;
    sim_guest_set_paused(s->guest, FALSE);
    ch_vm_guest_boot(s);
    ch_sim_event(s, "vm", "rebooted");
}

void
ch_vm_guest_event(SimGuestEvent ev, gpointer user_data)
{
    ChSim *s = user_data;

    if (ev == SIM_GUEST_REBOOT) {
        ch_vm_reboot(s);
        return;
    }
    if (ev == SIM_GUEST_TRIPLE_FAULT) {
        /* as real CH v53: logged, then the guest is reset in place, as for a reboot */
        ch_sim_log(s, "ERROR", "Guest likely triple-faulted");
        ch_vm_reboot(s);
        return;
    }
    if (ev == SIM_GUEST_CRASH) {
        /* as real CH v53: the VMM goes, with exit status 0, even with --no-shutdown */
        ch_sim_log(s, "ERROR", "VCPU generated error: VcpuRun(Failed to run vcpu\n\nCaused by:\n"
                   "    Unexpected exit reason on vcpu run: InternalError)");
        ch_vm_shutdown(s);
        ch_sim_quit(s, 0);
        return;
    }
    ch_sim_log(s, "INFO", "guest powered off");
    if (s->no_shutdown) {
        ch_vm_shutdown(s);
        return;
    }
    ch_vm_shutdown(s);
    ch_sim_quit(s, 0);
}

static char *
ch_vm_url_path(const char *url, ChError *err)
{
    struct stat sb;

    if (!url || !g_str_has_prefix(url, "file://")) {
        ch_error_set(err, "Could not extract path from URL", NULL);
        return NULL;
    }
    if (stat(url + 7, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
        ch_error_set(err, "Destination is not a directory", NULL);
        return NULL;
    }
    return g_strdup(url + 7);
}

static int
ch_vm_write_new(const char *dir, const char *name, const char *text, ChError *err)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    gsize len = text ? strlen(text) : 0;

    if (fd < 0 || (len > 0 && write(fd, text, len) != (ssize_t)len)) {
        g_autofree char *e = ch_os_error(errno);
        g_autofree char *m = g_strdup_printf("Error creating snapshot file '%s'", path);
        if (fd >= 0)
            close(fd);
        ch_error_set(err, m, e, NULL);
        return -1;
    }
    close(fd);
    return 0;
}

int
ch_vm_snapshot(ChSim *s, const char *url, ChError *err)
{
    g_autofree char *dir = ch_vm_url_path(url, err);
    gint64 size = sim_json_get_int(sim_json_get(s->config, "memory"), "size", 0);
    g_autofree char *mem = NULL;
    json_object *st;
    char page[4096];
    int fd;

    if (!dir)
        return -1;
    for (const char *const *n = (const char *const[]){ "config.json", "state.json", "memory-ranges", NULL };
         *n; n++) {
        g_autofree char *p = g_build_filename(dir, *n, NULL);
        if (access(p, F_OK) == 0) {
            g_autofree char *m = g_strdup_printf("Error creating snapshot file '%s'", p);
            g_autofree char *e = ch_os_error(EEXIST);
            ch_error_set(err, m, e, NULL);
            return -1;
        }
    }
    /* test hook: a full disk while the files are written */
    if (g_getenv("COCOON_SIM_SNAPSHOT_ENOSPC") &&
        access(g_getenv("COCOON_SIM_SNAPSHOT_ENOSPC"), F_OK) == 0) {
        g_autofree char *p = g_build_filename(dir, "config.json", NULL);
        g_autofree char *m = g_strdup_printf("Error creating snapshot file '%s'", p);
        g_autofree char *e = ch_os_error(ENOSPC);
        g_file_set_contents(p, "", 0, NULL);
        ch_error_set(err, m, e, NULL);
        return -1;
    }
    ch_sim_event(s, "vm", "snapshotting");
    st = json_object_new_object();
    json_object_object_add(st, "magic", json_object_new_string(CH_SNAPSHOT_MAGIC));
    json_object_object_add(st, "version", json_object_new_string(CH_SIM_VERSION));
    json_object_object_add(st, "memory_size", json_object_new_int64(size));
    json_object_object_add(st, "device_counter", json_object_new_int64(s->device_counter));
    if (ch_vm_write_new(dir, "config.json", json_object_to_json_string_ext(
                            s->config, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE), err) < 0 ||
        ch_vm_write_new(dir, "state.json", json_object_to_json_string_ext(
                            st, JSON_C_TO_STRING_PRETTY), err) < 0) {
        json_object_put(st);
        return -1;
    }
    json_object_put(st);
    mem = g_build_filename(dir, "memory-ranges", NULL);
    fd = open(mem, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || ftruncate(fd, size) < 0) {
        g_autofree char *e = ch_os_error(errno);
        if (fd >= 0)
            close(fd);
        ch_error_set(err, "Error saving guest memory", e, NULL);
        return -1;
    }
    for (gint64 off = 0; off + (gint64)sizeof(page) <= size; off += size / 4) {
        memset(page, 0, sizeof(page));
        g_snprintf(page, sizeof(page), "cocoon-sim guest page at %" G_GINT64_FORMAT, off);
        if (pwrite(fd, page, sizeof(page), off) < 0)
            break;
        if (size / 4 == 0)
            break;
    }
    close(fd);
    ch_sim_event(s, "vm", "snapshotted");
    return 0;
}

int
ch_vm_restore(ChSim *s, json_object *body, ChError *err)
{
    g_autofree char *dir = ch_vm_url_path(sim_json_get_str(body, "source_url"), err);
    g_autofree char *cfg_path = NULL, *st_path = NULL, *mem_path = NULL;
    g_autofree char *cfg_text = NULL, *st_text = NULL, *perr = NULL;
    json_object *cfg, *st;
    struct stat sb;

    if (!dir)
        return -1;
    cfg_path = g_build_filename(dir, "config.json", NULL);
    st_path = g_build_filename(dir, "state.json", NULL);
    mem_path = g_build_filename(dir, "memory-ranges", NULL);
    if (!g_file_get_contents(cfg_path, &cfg_text, NULL, NULL) ||
        !g_file_get_contents(st_path, &st_text, NULL, NULL)) {
        g_autofree char *e = ch_os_error(errno ? errno : ENOENT);
        ch_error_set(err, "Cannot read the snapshot files", e, NULL);
        return -1;
    }
    if (!(cfg = sim_json_parse(cfg_text, &perr))) {
        ch_error_set(err, "Cannot parse config.json", perr, NULL);
        return -1;
    }
    st = sim_json_parse(st_text, &perr);
    if (!st || g_strcmp0(sim_json_get_str(st, "magic"), CH_SNAPSHOT_MAGIC) != 0) {
        json_object_put(cfg);
        json_object_put(st);
        ch_error_set(err, "Cannot parse state.json", "not a snapshot state file", NULL);
        return -1;
    }
    if (stat(mem_path, &sb) < 0 ||
        sb.st_size != sim_json_get_int(sim_json_get(cfg, "memory"), "size", -1)) {
        json_object_put(cfg);
        json_object_put(st);
        ch_error_set(err, "Error restoring guest memory", "memory-ranges is missing or does not "
                     "match the memory size", NULL);
        return -1;
    }
    s->device_counter = (guint)sim_json_get_int(st, "device_counter", 0);
    json_object_put(st);
    /* The console devices are new: a PTY gets a new path. */
    for (const char *const *k = (const char *const[]){ "serial", "console", NULL }; *k; k++) {
        json_object *c = sim_json_get(cfg, *k);
        if (g_strcmp0(sim_json_get_str(c, "mode"), "Pty") == 0)
            json_object_object_add(c, "file", NULL);
    }
    s->config = cfg;
    if (ch_vm_prepare_consoles(s, err) < 0 || ch_vm_open_resources(s, err) < 0) {
        ch_vm_close_resources(s);
        ch_vm_release_consoles(s);
        g_clear_pointer(&s->config, json_object_put);
        return -1;
    }
    ch_sim_event(s, "vm", "restored");
    s->state = sim_json_get_bool(body, "resume", FALSE) ? CH_STATE_RUNNING : CH_STATE_PAUSED;
    sim_guest_resume_booted(s->guest, sim_json_get_str(sim_json_get(cfg, "payload"), "cmdline") ?: "");
    sim_guest_set_paused(s->guest, s->state == CH_STATE_PAUSED);
    return 0;
}
