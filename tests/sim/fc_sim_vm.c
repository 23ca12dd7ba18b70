/* fc-sim: InstanceStart, snapshots, and what happens when the guest goes down. */
#include "fc_sim.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define FC_SNAPSHOT_MAGIC "cocoon-sim-firecracker-snapshot"
#define FC_PAGE 4096

static int
fc_vm_fail(char **ret_msg, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static int
fc_vm_fail(char **ret_msg, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    *ret_msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    return -1;
}

/* What the kernel command line looks like inside the guest: FC appends the root device. */
static char *
fc_vm_cmdline(FcSim *s)
{
    const char *args = s->boot_source ? sim_json_get_str(s->boot_source, "boot_args") : NULL;
    GString *cl = g_string_new(args ? args : FC_DEFAULT_BOOT_ARGS);

    for (size_t i = 0; i < json_object_array_length(s->drives); i++) {
        json_object *d = json_object_array_get_idx(s->drives, i);
        const char *uuid = sim_json_get_str(d, "partuuid");
        if (!sim_json_get_bool(d, "is_root_device", FALSE))
            continue;
        if (uuid)
            g_string_append_printf(cl, " root=PARTUUID=%s", uuid);
        else
            g_string_append(cl, " root=/dev/vda");
        g_string_append(cl, sim_json_get_bool(d, "is_read_only", FALSE) ? " ro" : " rw");
    }
    return g_string_free(cl, FALSE);
}

static GStrv
fc_vm_boot_info(FcSim *s)
{
    GPtrArray *l = g_ptr_array_new();

    g_ptr_array_add(l, g_strdup_printf("Memory: %" G_GINT64_FORMAT "K available", s->mem_mib * 1024));
    g_ptr_array_add(l, g_strdup_printf("smp: Brought up 1 node, %" G_GINT64_FORMAT " CPUs", s->vcpus));
    for (size_t i = 0; i < json_object_array_length(s->drives); i++)
        g_ptr_array_add(l, g_strdup_printf("virtio_blk virtio%zu: [vd%c] %s", i, (char)('a' + i),
                                           sim_json_get_str(json_object_array_get_idx(s->drives, i),
                                                            "drive_id")));
    for (size_t i = 0; i < json_object_array_length(s->nets); i++)
        g_ptr_array_add(l, g_strdup_printf("virtio_net: eth%zu: %s", i,
                                           sim_json_get_str(json_object_array_get_idx(s->nets, i),
                                                            "guest_mac") ?: "06:00:00:00:00:00"));
    g_ptr_array_add(l, NULL);
    return (GStrv)g_ptr_array_free(l, FALSE);
}

static void
fc_vm_console_setup(FcSim *s)
{
    sim_guest_ports_clear(s->guest);
    if (s->serial_fd >= 0)
        sim_guest_port_add_fds(s->guest, "ttyS0", 0, s->serial_fd, -1, FALSE);
    else
        sim_guest_port_add_fds(s->guest, "ttyS0", 0, 1, -1, FALSE);
}

int
fc_vm_instance_start(FcSim *s, char **ret_msg)
{
    g_autofree char *cmdline = NULL;
    g_auto(GStrv) info = NULL;

    if (!s->boot_source)
        return fc_vm_fail(ret_msg, "Start microvm error: Cannot start microvm without kernel "
                          "configuration.");
    cmdline = fc_vm_cmdline(s);
    info = fc_vm_boot_info(s);
    s->state = FC_STATE_RUNNING;
    fc_vm_console_setup(s);
    sim_guest_boot(s->guest, cmdline, (const char *const *)info);
    fc_sim_log(s, "Info", "Successfully started microvm that was configured from %s",
               "the API");
    return 0;
}

void
fc_vm_guest_event(SimGuestEvent ev, gpointer user_data)
{
    FcSim *s = user_data;

    if (ev == SIM_GUEST_REBOOT) {
        /* reboot=k: the i8042 reset line ends the process, exit code 0. */
        fc_sim_log(s, "Info", "Vmm is stopping.");
        fc_sim_quit(s, 0);
        return;
    }
    if (ev == SIM_GUEST_TRIPLE_FAULT) {
        /* as real FC v1.16.1: the vCPU reports the exit, then the process ends with exit
         * code 1 (the real one now and then exits 0: the driver goes by this log line) */
        fc_sim_log(s, "Error", "[fc_vcpu 0] Unexpected exit reason on vcpu run: Shutdown");
        fc_sim_log(s, "Error", "RunWithApiError error: MicroVM stopped with an error: "
                   "GenericError");
        fc_sim_quit(s, 1);
        return;
    }
    if (ev == SIM_GUEST_CRASH) {
        /* as real FC v1.16.1: a vCPU's internal error ends the process with exit code 0 too */
        fc_sim_log(s, "Error", "[fc_vcpu 0] Received KVM_EXIT_INTERNAL_ERROR signal");
        fc_sim_log(s, "Info", "Vmm is stopping.");
        fc_sim_quit(s, 0);
        return;
    }
    /* x86_64 has no ACPI power-off: the guest halts, the process and its state stay. */
    fc_sim_log(s, "Info", "Guest halted; the microVM process keeps running");
}

static char *
fc_vm_abs(const char *path)
{
    return g_canonicalize_filename(path, NULL);
}

static int
fc_vm_write_mem(const char *path, gint64 mem_mib, gboolean diff, char **ret_msg)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    off_t size = (off_t)mem_mib << 20;
    char page[FC_PAGE];
    off_t offs[] = { 0, size / 2, size - FC_PAGE };

    if (fd < 0)
        return fc_vm_fail(ret_msg, "Create snapshot error: Cannot save the memory: %s (os error %d)",
                          g_strerror(errno), errno);
    if (ftruncate(fd, size) < 0) {
        int e = errno;
        close(fd);
        return fc_vm_fail(ret_msg, "Create snapshot error: Cannot save the memory: %s (os error %d)",
                          g_strerror(e), e);
    }
    for (gsize i = 0; i < (diff ? 1 : G_N_ELEMENTS(offs)); i++) {
        memset(page, 0, sizeof(page));
        g_snprintf(page, sizeof(page), "cocoon-sim guest page at %lld", (long long)offs[i]);
        if (pwrite(fd, page, sizeof(page), offs[i]) != (ssize_t)sizeof(page)) {
            int e = errno;
            close(fd);
            return fc_vm_fail(ret_msg, "Create snapshot error: Cannot save the memory: %s",
                              g_strerror(e));
        }
    }
    close(fd);
    return 0;
}

int
fc_vm_snapshot_create(FcSim *s, json_object *body, char **ret_msg)
{
    const char *snap = sim_json_get_str(body, "snapshot_path");
    const char *mem = sim_json_get_str(body, "mem_file_path");
    gboolean diff = g_strcmp0(sim_json_get_str(body, "snapshot_type"), "Diff") == 0;
    json_object *st, *drives, *nets;
    g_autoptr(GError) gerr = NULL;
    g_autofree char *text = NULL;

    if (s->state != FC_STATE_PAUSED)
        return fc_vm_fail(ret_msg, "Create snapshot error: Cannot save the microVM state: "
                          "Operation not allowed: save/restore unavailable while running");
    for (size_t i = 0; i < json_object_array_length(s->drives); i++)
        if (sim_json_get_str(json_object_array_get_idx(s->drives, i), "socket"))
            return fc_vm_fail(ret_msg, "Create snapshot error: Cannot save the microVM state: "
                              "vhost-user block devices do not support snapshotting");
    /* test hook: a full disk, as FC reports it (the memory file is written first) */
    if (g_getenv("COCOON_SIM_SNAPSHOT_ENOSPC") &&
        access(g_getenv("COCOON_SIM_SNAPSHOT_ENOSPC"), F_OK) == 0) {
        int fd = open(mem, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd >= 0)
            close(fd);
        return fc_vm_fail(ret_msg, "Create snapshot error: Cannot save the memory: %s (os error %d)",
                          g_strerror(ENOSPC), ENOSPC);
    }
    st = json_object_new_object();
    json_object_object_add(st, "magic", json_object_new_string(FC_SNAPSHOT_MAGIC));
    json_object_object_add(st, "vmm_version", json_object_new_string(FC_SIM_VERSION));
    json_object_object_add(st, "snapshot_type", json_object_new_string(diff ? "Diff" : "Full"));
    json_object_object_add(st, "machine-config", fc_res_machine_config(s));
    drives = json_object_new_array();
    for (size_t i = 0; i < json_object_array_length(s->drives); i++) {
        json_object *d = NULL;
        json_object_deep_copy(json_object_array_get_idx(s->drives, i), &d, NULL);
        if (sim_json_get_str(d, "path_on_host")) {
            g_autofree char *abs = fc_vm_abs(sim_json_get_str(d, "path_on_host"));
            json_object_object_add(d, "path_on_host", json_object_new_string(abs));
        }
        json_object_array_add(drives, d);
    }
    json_object_object_add(st, "drives", drives);
    nets = NULL;
    json_object_deep_copy(s->nets, &nets, NULL);
    json_object_object_add(st, "network-interfaces", nets);
    if (s->vsock) {
        json_object *v = NULL;
        json_object_deep_copy(s->vsock, &v, NULL);
        json_object_object_add(st, "vsock", v);
    }
    if (s->balloon) {
        json_object *b = NULL;
        json_object_deep_copy(s->balloon, &b, NULL);
        json_object_object_add(st, "balloon", b);
    }
    {
        g_autofree char *cl = fc_vm_cmdline(s);
        json_object_object_add(st, "guest_cmdline", json_object_new_string(cl));
    }
    text = g_strdup(json_object_to_json_string_ext(st, JSON_C_TO_STRING_PRETTY |
                                                       JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(st);
    if (!g_file_set_contents(snap, text, -1, &gerr))
        return fc_vm_fail(ret_msg, "Create snapshot error: Cannot save the microVM state: %s",
                          gerr->message);
    if (fc_vm_write_mem(mem, s->mem_mib, diff, ret_msg) < 0)
        return -1;
    fc_sim_log(s, "Info", "Snapshot created: %s", snap);
    return 0;
}

static json_object *
fc_vm_override_for(json_object *overrides, const char *iface)
{
    for (size_t i = 0; overrides && i < json_object_array_length(overrides); i++) {
        json_object *o = json_object_array_get_idx(overrides, i);
        if (g_strcmp0(sim_json_get_str(o, "iface_id"), iface) == 0)
            return o;
    }
    return NULL;
}

#define FC_LOAD_ERR "Load snapshot error: Failed to restore from snapshot: "

static int
fc_vm_load_check(FcSim *s, json_object *body, json_object *st, const char *mem_path,
                 char **ret_msg)
{
    json_object *overrides = sim_json_get(body, "network_overrides");
    json_object *nets = sim_json_get(st, "network-interfaces");
    json_object *drives = sim_json_get(st, "drives");
    json_object *mc = sim_json_get(st, "machine-config");
    const char *btype = sim_json_get_str(sim_json_get(body, "mem_backend"), "backend_type");
    struct stat sb;

    if (!mc || !drives || !nets)
        return fc_vm_fail(ret_msg, FC_LOAD_ERR "the microVM state file is corrupted");
    if (g_strcmp0(btype, "Uffd") == 0) {
        struct sockaddr_un addr = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        g_strlcpy(addr.sun_path, mem_path, sizeof(addr.sun_path));
        if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
            int e = errno;
            if (fd >= 0)
                close(fd);
            return fc_vm_fail(ret_msg, FC_LOAD_ERR "cannot connect to the UFFD handler socket "
                              "'%s': %s (os error %d)", mem_path, g_strerror(e), e);
        }
        close(fd);
    } else {
        if (stat(mem_path, &sb) < 0)
            return fc_vm_fail(ret_msg, FC_LOAD_ERR "cannot open the memory file '%s': %s "
                              "(os error %d)", mem_path, g_strerror(errno), errno);
        if (sb.st_size != (off_t)sim_json_get_int(mc, "mem_size_mib", 0) << 20)
            return fc_vm_fail(ret_msg, FC_LOAD_ERR "the memory file size does not match the "
                              "snapshot's guest memory size");
    }
    for (size_t i = 0; i < json_object_array_length(drives); i++) {
        const char *p = sim_json_get_str(json_object_array_get_idx(drives, i), "path_on_host");
        if (p && access(p, F_OK) < 0)
            return fc_vm_fail(ret_msg, FC_LOAD_ERR "Block(BackingFile(Os { code: %d, message: "
                              "\"%s\" }, \"%s\"))", errno, g_strerror(errno), p);
    }
    for (size_t i = 0; overrides && i < json_object_array_length(overrides); i++) {
        const char *id = sim_json_get_str(json_object_array_get_idx(overrides, i), "iface_id");
        gboolean found = FALSE;
        for (size_t j = 0; j < json_object_array_length(nets); j++)
            if (g_strcmp0(sim_json_get_str(json_object_array_get_idx(nets, j), "iface_id"), id) == 0)
                found = TRUE;
        if (!found)
            return fc_vm_fail(ret_msg, "Load snapshot error: Invalid network override: no "
                              "network interface '%s' in the snapshot", id);
    }
    for (size_t i = 0; i < json_object_array_length(nets); i++) {
        json_object *n = json_object_array_get_idx(nets, i);
        json_object *ov = fc_vm_override_for(overrides, sim_json_get_str(n, "iface_id"));
        const char *tap = sim_json_get_str(ov ? ov : n, "host_dev_name");
        g_autofree char *terr = NULL;
        if (fc_res_check_tap(tap, &terr) < 0)
            return fc_vm_fail(ret_msg, FC_LOAD_ERR "%s", terr);
    }
    return 0;
}

int
fc_vm_snapshot_load(FcSim *s, json_object *body, gboolean *ret_fatal, char **ret_msg)
{
    const char *snap = sim_json_get_str(body, "snapshot_path");
    json_object *backend = sim_json_get(body, "mem_backend");
    const char *mem = backend ? sim_json_get_str(backend, "backend_path")
                              : sim_json_get_str(body, "mem_file_path");
    json_object *overrides = sim_json_get(body, "network_overrides");
    json_object *vs_override = sim_json_get(body, "vsock_override");
    g_autofree char *text = NULL;
    g_autoptr(GError) gerr = NULL;
    g_autofree char *cmdline = NULL;
    json_object *st, *mc, *nets;
    char *perr = NULL;

    *ret_fatal = FALSE;
    if (s->boot_touched)
        return fc_vm_fail(ret_msg, "Load snapshot error: Loading a microVM snapshot not allowed "
                          "after configuring boot-specific resources.");
    /* From here on a failure is fatal: Firecracker answers, then exits. */
    *ret_fatal = TRUE;
    if (!g_file_get_contents(snap, &text, NULL, &gerr))
        return fc_vm_fail(ret_msg, FC_LOAD_ERR "cannot open the microVM state file: %s",
                          gerr->message);
    st = sim_json_parse(text, &perr);
    if (!st || g_strcmp0(sim_json_get_str(st, "magic"), FC_SNAPSHOT_MAGIC) != 0) {
        g_free(perr);
        json_object_put(st);
        return fc_vm_fail(ret_msg, FC_LOAD_ERR "the microVM state file is not a snapshot "
                          "(bad magic or version)");
    }
    if (fc_vm_load_check(s, body, st, mem, ret_msg) < 0) {
        json_object_put(st);
        return -1;
    }
    mc = sim_json_get(st, "machine-config");
    s->vcpus = sim_json_get_int(mc, "vcpu_count", 1);
    s->mem_mib = sim_json_get_int(mc, "mem_size_mib", 128);
    s->track_dirty = sim_json_get_bool(body, "track_dirty_pages",
                                       sim_json_get_bool(body, "enable_diff_snapshots", FALSE));
    g_free(s->huge_pages);
    s->huge_pages = g_strdup(sim_json_get_str(mc, "huge_pages") ?: "None");
    json_object_put(s->drives);
    s->drives = json_object_get(sim_json_get(st, "drives"));
    nets = sim_json_get(st, "network-interfaces");
    for (size_t i = 0; i < json_object_array_length(nets); i++) {
        json_object *n = json_object_array_get_idx(nets, i);
        json_object *ov = fc_vm_override_for(overrides, sim_json_get_str(n, "iface_id"));
        if (ov)
            json_object_object_add(n, "host_dev_name",
                                   json_object_new_string(sim_json_get_str(ov, "host_dev_name")));
    }
    json_object_put(s->nets);
    s->nets = json_object_get(nets);
    if (sim_json_get(st, "vsock")) {
        json_object *v = json_object_get(sim_json_get(st, "vsock"));
        if (vs_override)
            json_object_object_add(v, "uds_path", json_object_new_string(
                sim_json_get_str(vs_override, "uds_path")));
        json_object_put(s->vsock);
        s->vsock = v;
    }
    if (sim_json_get(st, "balloon")) {
        json_object_put(s->balloon);
        s->balloon = json_object_get(sim_json_get(st, "balloon"));
    }
    cmdline = g_strdup(sim_json_get_str(st, "guest_cmdline"));
    json_object_put(st);
    s->restored = TRUE;
    s->state = sim_json_get_bool(body, "resume_vm", FALSE) ? FC_STATE_RUNNING : FC_STATE_PAUSED;
    fc_vm_console_setup(s);
    sim_guest_resume_booted(s->guest, cmdline);
    sim_guest_set_paused(s->guest, s->state == FC_STATE_PAUSED);
    fc_sim_log(s, "Info", "Loaded snapshot %s", snap);
    *ret_fatal = FALSE;
    return 0;
}
