#include "fc_validate.h"

#include <stdarg.h>
#include <string.h>

#include "driver/backend.h"
#include "driver/backend_common.h"

/*
 * One check per thing Firecracker cannot do. The rule of the backend: every field of DomainDef is
 * either mapped by fc_lower.c or refused here (or is host-side bookkeeping that never reaches the
 * VMM: name, uuid, title, description, metadata, interface <ip>/<route>/managed; the guest's
 * address goes into boot_args as ip=), so nothing is
 * silently dropped. Keep this file and fc_lower.c in step.
 */

#define FC_NAME "firecracker"
#define FC_MTU_MIN 68
#define FC_MTU_MAX 65535
#define FC_HUGEPAGE_KIB 2048ULL
#define FC_TAP_NAME_MAX 15 /* IFNAMSIZ - 1 */

/* Sets "unsupported configuration: WHAT is not supported by the firecracker backend[BECAUSE]". */
static int G_GNUC_PRINTF(3, 4) fc_refuse(CvError **err, const char *because, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *what = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    cv_error_set(err, VIR_FROM_DOMAIN, VIR_ERR_CONFIG_UNSUPPORTED,
                 "%s is not supported by the " FC_NAME " backend%s", what, because ? because : "");
    return -1;
}

static int
fc_validate_os(const DomainDef *def, CvError **err)
{
    const DomainOSDef *os = &def->os;

    if (os->type && strcmp(os->type, "hvm") != 0)
        return fc_refuse(err, NULL, "<os> type '%s'", os->type);
    if (os->arch && strcmp(os->arch, "x86_64") != 0 && strcmp(os->arch, "aarch64") != 0)
        return fc_refuse(err, NULL, "<type> arch '%s'", os->arch);
    /* FC has exactly one machine model (a virtio-mmio microVM); a named one cannot be honoured. */
    if (os->machine)
        return fc_refuse(err, NULL, "<type> machine '%s'", os->machine);
    if (os->firmware_efi)
        return fc_refuse(err, NULL, "<os> firmware 'efi'");
    if (os->loader || os->loader_type || os->loader_readonly)
        return fc_refuse(err, NULL, "<loader>");
    if (!os->kernel)
        return fc_refuse(err, ": it boots a kernel directly", "<os> without <kernel>");
    return 0;
}

static int
fc_validate_cpu_memory(const DomainDef *def, CvError **err)
{
    if (def->vcpus == 0 || def->vcpus > FC_MAX_VCPUS)
        return fc_refuse(err, ": at most 32 vCPUs", "<vcpu> '%u'", def->vcpus);
    if (def->vcpus_current != def->vcpus)
        return fc_refuse(err, ": no vCPU hotplug", "<vcpu> current '%u'", def->vcpus_current);
    if (def->vcpu_placement && strcmp(def->vcpu_placement, "static") != 0)
        return fc_refuse(err, NULL, "<vcpu> placement '%s'", def->vcpu_placement);

    if (def->memory_kib == 0 || def->memory_kib % 1024 != 0)
        return fc_refuse(err, ": memory is set in whole MiB", "<memory> of %llu KiB",
                         def->memory_kib);
    if (def->current_memory_kib == 0 || def->current_memory_kib > def->memory_kib)
        return fc_refuse(err, NULL, "<currentMemory> of %llu KiB", def->current_memory_kib);
    if (def->current_memory_kib % 1024 != 0)
        return fc_refuse(err, ": memory is set in whole MiB", "<currentMemory> of %llu KiB",
                         def->current_memory_kib);
    /* A guest smaller than its maximum is a maximum-size guest with an inflated balloon. */
    if (def->current_memory_kib < def->memory_kib && (!def->memballoon || def->memballoon->none))
        return fc_refuse(err, NULL,
                         "<currentMemory> below <memory> without "
                         "<memballoon model='virtio'>");

    if (def->hugepages) {
        if (def->hugepage_kib != 0 && def->hugepage_kib != FC_HUGEPAGE_KIB)
            return fc_refuse(err, ": only 2048 KiB pages", "<hugepages> page size '%llu' KiB",
                             def->hugepage_kib);
        if (def->memory_kib % (2 * 1024) != 0)
            return fc_refuse(err, ": not a whole number of 2 MiB pages",
                             "<hugepages> with <memory> of %llu KiB", def->memory_kib);
    } else if (def->hugepage_kib != 0) {
        return fc_refuse(err, NULL, "<page> without <hugepages>");
    }
    if (def->memory_shared)
        return fc_refuse(err, NULL, "<memoryBacking> access mode 'shared'");
    if (def->memory_source && strcmp(def->memory_source, "anonymous") != 0)
        return fc_refuse(err, NULL, "<memoryBacking> source type '%s'", def->memory_source);
    return 0;
}

/* The index of a "vdX" target (vda → 0, vdz → 25, vdaa → 26), or -1. */
static long
fc_disk_target_index(const char *dev)
{
    if (!dev || strncmp(dev, "vd", 2) != 0 || dev[2] == '\0')
        return -1;
    long idx = 0;
    for (const char *p = dev + 2; *p; p++) {
        if (*p < 'a' || *p > 'z' || idx > 100000)
            return -1;
        idx = idx * 26 + (*p - 'a' + 1);
    }
    return idx - 1;
}

int
fc_validate_disk_order(const DomainDef *def, size_t **ret_order, CvError **err)
{
    if (def->ndisks == 0) {
        *ret_order = NULL;
        return 0;
    }
    g_autofree size_t *order = g_new(size_t, def->ndisks);
    g_autofree bool *seen = g_new0(bool, def->ndisks);
    static const char because[] = ": disks must be vda, vdb, vdc... without gaps, as the "
                                  "guest names them in the order they are added";

    for (size_t i = 0; i < def->ndisks; i++) {
        const char *dev = def->disks[i]->target_dev;
        long idx = fc_disk_target_index(dev);
        if (idx < 0 || (size_t)idx >= def->ndisks || seen[idx])
            return fc_refuse(err, because, "<disk> target dev '%s'", dev ? dev : "");
        seen[idx] = true;
        order[idx] = i;
    }
    *ret_order = g_steal_pointer(&order);
    return 0;
}

static int
fc_validate_disks(const DomainDef *def, CvError **err)
{
    for (size_t i = 0; i < def->ndisks; i++) {
        const DomainDiskDef *disk = def->disks[i];
        if (disk->type != DOMAIN_DISK_TYPE_FILE && disk->type != DOMAIN_DISK_TYPE_BLOCK)
            return fc_refuse(err, NULL, "<disk> type");
        if (disk->bus != DOMAIN_DISK_BUS_DEFAULT && disk->bus != DOMAIN_DISK_BUS_VIRTIO)
            return fc_refuse(err, NULL, "<disk> target bus");
        /* name='qemu' is what most libvirt XML carries; it has no meaning beyond "the VMM". */
        if (disk->driver_name && strcmp(disk->driver_name, "qemu") != 0)
            return fc_refuse(err, NULL, "<disk> driver name '%s'", disk->driver_name);
        if (disk->format && strcmp(disk->format, "raw") != 0)
            return fc_refuse(err, NULL, "<disk> driver type '%s'", disk->format);
        if (disk->serial)
            return fc_refuse(err, NULL, "<disk> <serial>");
        /* FC opens images through the host page cache: 'none' is honoured for the part that
         * keeps data safe (the guest's flushes reach the disk: cache_type Writeback) */
        if (disk->cache && strcmp(disk->cache, "none") != 0 &&
            strcmp(disk->cache, "writeback") != 0 && strcmp(disk->cache, "unsafe") != 0 &&
            strcmp(disk->cache, "default") != 0)
            return fc_refuse(err, NULL, "<disk> driver cache '%s'", disk->cache);
        if (disk->io && strcmp(disk->io, "io_uring") != 0 && strcmp(disk->io, "threads") != 0)
            return fc_refuse(err, ": its engines are io_uring (Async) and threads (Sync)",
                             "<disk> driver io '%s'", disk->io);
        if (disk->shareable && !disk->readonly)
            return fc_refuse(err, ": only a <readonly/> disk can be shared",
                             "<disk> <shareable/>");
        if (!disk->source || !*disk->source)
            return fc_refuse(err, NULL, "<disk> without <source>");
    }
    g_autofree size_t *order = NULL;
    return fc_validate_disk_order(def, &order, err);
}

static int
fc_validate_nets(const DomainDef *def, CvError **err)
{
    for (size_t i = 0; i < def->nnets; i++) {
        const DomainNetDef *net = def->nets[i];
        if (net->type != DOMAIN_NET_TYPE_ETHERNET && net->type != DOMAIN_NET_TYPE_BRIDGE)
            return fc_refuse(err, NULL, "<interface> type");
        if (net->model && strcmp(net->model, "virtio") != 0)
            return fc_refuse(err, NULL, "<interface> model type '%s'", net->model);
        if (net->queues > 1)
            return fc_refuse(err, ": one queue pair per interface",
                             "<interface> driver queues '%u'", net->queues);
        if (net->mtu != 0 && (net->mtu < FC_MTU_MIN || net->mtu > FC_MTU_MAX))
            return fc_refuse(err, ": 68 to 65535", "<interface> mtu size '%u'", net->mtu);
        if (net->target_dev && strlen(net->target_dev) > FC_TAP_NAME_MAX)
            return fc_refuse(err, ": at most 15 characters", "<interface> target dev '%s'",
                             net->target_dev);
        /* <ip>/<route> on type='ethernet' describe the host side of the TAP, which the driver
         * configures when it creates the TAP at start, and an <ip peer> the guest's (ip=). On a
         * bridge the host side is the bridge, so <ip> is the guest's: the kernel's ip=. */
        if (backend_common_validate_guest_ip(def, net, FC_NAME, err) < 0)
            return -1;
        if (net->type == DOMAIN_NET_TYPE_BRIDGE && (!net->bridge || !*net->bridge))
            return fc_refuse(err, NULL, "<interface type='bridge'> without <source bridge>");
        for (size_t j = i + 1; j < def->nnets; j++) {
            if (net->mac && def->nets[j]->mac &&
                g_ascii_strcasecmp(net->mac, def->nets[j]->mac) == 0)
                return fc_refuse(err, ": every interface needs its own", "<mac> address '%s' twice",
                                 net->mac);
        }
    }
    return 0;
}

static int
fc_validate_chr(const char *element, const DomainChrDef *chr, CvError **err)
{
    static const char *const types[] = {"pty", "file", "unix"};
    const char *type = chr->type < DOMAIN_CHR_TYPE_LAST ? types[chr->type] : "?";

    if (chr->type != DOMAIN_CHR_TYPE_PTY && chr->type != DOMAIN_CHR_TYPE_FILE)
        return fc_refuse(err, NULL, "<%s> type '%s'", element, type);
    if (chr->type == DOMAIN_CHR_TYPE_FILE && (!chr->path || !*chr->path))
        return fc_refuse(err, NULL, "<%s type='file'> without <source path>", element);
    if (chr->target_type == DOMAIN_CHR_TARGET_VIRTIO)
        return fc_refuse(err, ": its only console is the serial port ttyS0",
                         "<%s> target type 'virtio'", element);
    if (chr->port != 0)
        return fc_refuse(err, ": it has one serial port", "<%s> target port '%u'", element,
                         chr->port);
    return 0;
}

static int
fc_validate_chrs(const DomainDef *def, CvError **err)
{
    if (def->nserials > 1)
        return fc_refuse(err, ": it has one serial port", "more than one <serial>");
    if (def->nconsoles > 1)
        return fc_refuse(err, ": it has one serial port", "more than one <console>");
    for (size_t i = 0; i < def->nserials; i++) {
        if (fc_validate_chr("serial", def->serials[i], err) < 0)
            return -1;
    }
    for (size_t i = 0; i < def->nconsoles; i++) {
        if (fc_validate_chr("console", def->consoles[i], err) < 0)
            return -1;
    }
    /* <console target type='serial'> is the same ttyS0 as <serial>: they must agree. */
    if (def->nserials == 1 && def->nconsoles == 1) {
        const DomainChrDef *s = def->serials[0];
        const DomainChrDef *c = def->consoles[0];
        if (s->type != c->type || g_strcmp0(s->path, c->path) != 0)
            return fc_refuse(err, ": both are the one serial port ttyS0",
                             "<console> that differs from <serial>");
    }
    return 0;
}

static int
fc_validate_devices(const DomainDef *def, CvError **err)
{
    if (def->nhostdevs > 0)
        return fc_refuse(err, NULL, "<hostdev>");
    if (def->nfss > 0)
        return fc_refuse(err, NULL, "<filesystem>");

    if (def->nrngs > 1)
        return fc_refuse(err, ": it has one entropy device", "more than one <rng>");
    for (size_t i = 0; i < def->nrngs; i++) {
        const DomainRNGDef *rng = def->rngs[i];
        /* FC draws its entropy from the host kernel itself; these two are the same source. */
        if (!rng->backend ||
            (strcmp(rng->backend, "/dev/urandom") != 0 && strcmp(rng->backend, "/dev/random") != 0))
            return fc_refuse(err, NULL, "<rng> backend '%s'", rng->backend ? rng->backend : "");
        if (rng->rate_period_ms != 0 && rng->rate_bytes == 0)
            return fc_refuse(err, NULL, "<rng> rate period without bytes");
    }

    if (def->vsock && !def->vsock->cid_auto && def->vsock->cid != 0 && def->vsock->cid < 3)
        return fc_refuse(err, ": guest CIDs start at 3", "<vsock> cid address '%u'",
                         def->vsock->cid);

    /* The domain's <emulator> picks the backend; one naming another hypervisor is a mix-up. */
    const CocoonBackend *owner = backend_for_emulator(def->emulator);
    if (owner && owner->kind != BACKEND_FIRECRACKER)
        return fc_refuse(err, NULL, "<emulator> '%s'", def->emulator);
    return 0;
}

int
fc_validate(const DomainDef *def, CvError **err)
{
    bool arm = def->os.arch && strcmp(def->os.arch, "aarch64") == 0;
    /* FC's x86 microVM describes its vCPUs and devices in ACPI tables; on Arm it uses FDT */
    if (backend_common_validate_machine(def, FC_NAME, !arm, err) < 0)
        return -1;
    if (fc_validate_os(def, err) < 0 || fc_validate_cpu_memory(def, err) < 0 ||
        backend_common_validate_lifecycle(def, FC_NAME, err) < 0 ||
        fc_validate_disks(def, err) < 0 || fc_validate_nets(def, err) < 0 ||
        fc_validate_chrs(def, err) < 0 || fc_validate_devices(def, err) < 0)
        return -1;
    return 0;
}
