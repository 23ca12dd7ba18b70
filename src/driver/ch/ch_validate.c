/*
 * Can Cloud Hypervisor honour a definition? Every field of DomainDef is either mapped by
 * ch_plan.c or refused here, so a domain never starts with part of its XML silently ignored.
 * Limits follow CH v53 (see ../shared/specs/NOTES.md §2).
 */
#include "ch_validate.h"

#include <string.h>

#include "driver/backend.h"
#include "driver/backend_common.h"

#define BACKEND "the cloud-hypervisor backend"

/* virtio-blk serial (VIRTIO_BLK_ID_BYTES) and virtio-fs tag limits. */
#define CH_DISK_SERIAL_MAX 20
#define CH_FS_TAG_MAX 36

#define HUGEPAGE_2M_KIB 2048ULL
#define HUGEPAGE_1G_KIB (1024ULL * 1024ULL)

G_GNUC_PRINTF(2, 3) static int
ch_refuse(CvError **err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *text = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    cv_error_set(err, VIR_FROM_DOMAIN, VIR_ERR_CONFIG_UNSUPPORTED, "%s", text);
    return -1;
}

const DomainChrDef *
ch_validate_serial_device(const DomainDef *def)
{
    if (def->nserials > 0)
        return def->serials[0];
    for (size_t i = 0; i < def->nconsoles; i++) {
        if (def->consoles[i]->target_type != DOMAIN_CHR_TARGET_VIRTIO)
            return def->consoles[i];
    }
    return NULL;
}

const DomainChrDef *
ch_validate_virtio_console(const DomainDef *def)
{
    for (size_t i = 0; i < def->nconsoles; i++) {
        if (def->consoles[i]->target_type == DOMAIN_CHR_TARGET_VIRTIO)
            return def->consoles[i];
    }
    return NULL;
}

static const char *
chr_type_name(DomainChrType type)
{
    switch (type) {
    case DOMAIN_CHR_TYPE_PTY: return "pty";
    case DOMAIN_CHR_TYPE_FILE: return "file";
    case DOMAIN_CHR_TYPE_UNIX: return "unix";
    case DOMAIN_CHR_TYPE_LAST: break;
    }
    return "?";
}

static int
ch_validate_os(const DomainDef *def, CvError **err)
{
    const DomainOSDef *os = &def->os;

    if (os->type && strcmp(os->type, "hvm") != 0)
        return ch_refuse(err, "<type> '%s' is not supported by %s", os->type, BACKEND);
    if (os->arch && strcmp(os->arch, "x86_64") != 0 && strcmp(os->arch, "aarch64") != 0)
        return ch_refuse(err, "<type> arch '%s' is not supported by %s", os->arch, BACKEND);
    /* CH has a single machine model per architecture: a name would be ignored. */
    if (os->machine)
        return ch_refuse(err, "<type> machine '%s' is not supported by %s", os->machine,
                         BACKEND);

    if (os->kernel && os->loader)
        return ch_refuse(err, "<os> has both a <kernel> and a firmware <loader>: %s boots only "
                         "one of them", BACKEND);
    if (os->firmware_efi && !os->loader)
        return ch_refuse(err, "<os firmware='efi'> needs a <loader> path for %s: it has no "
                         "default firmware", BACKEND);
    if (!os->kernel && !os->loader)
        return ch_refuse(err, "<os> needs a <kernel> or a firmware <loader> for %s", BACKEND);
    /* edk2's CLOUDHV.fd is loaded into guest memory; CH emulates no flash device. */
    /* CH loads its firmware (CLOUDHV.fd) read-only; libvirt spells that a read-only pflash,
     * as libvirt's own CH driver takes it. A writable pflash would be an NVRAM CH has not. */
    if (os->loader_type && strcmp(os->loader_type, "pflash") == 0 && !os->loader_readonly)
        return ch_refuse(err, "<loader type='pflash'> without readonly='yes' is not supported "
                              "by %s: its firmware has no writable flash",
                         BACKEND);
    if (os->loader_secure && strcmp(os->loader_secure, "yes") == 0)
        return ch_refuse(err, "<loader secure='yes'> is not supported by %s: its firmware "
                              "(CLOUDHV.fd) has no Secure Boot",
                         BACKEND);
    if (os->initrd && !os->kernel)
        return ch_refuse(err, "<initrd> needs a <kernel> for %s", BACKEND);
    if (os->cmdline && !os->kernel)
        return ch_refuse(err, "<cmdline> needs a <kernel> for %s", BACKEND);
    return 0;
}

static int
ch_validate_cpu_memory(const DomainDef *def, CvError **err)
{
    unsigned int max = (def->os.arch && strcmp(def->os.arch, "aarch64") == 0)
                           ? CH_MAX_VCPUS_OTHER : CH_MAX_VCPUS_X86_64;

    if (def->vcpus > max)
        return ch_refuse(err, "<vcpu> count %u is more than the %u vCPUs %s supports",
                         def->vcpus, max, BACKEND);
    if (def->vcpus_current == 0 || def->vcpus_current > def->vcpus)
        return ch_refuse(err, "<vcpu> current %u must be between 1 and %u for %s",
                         def->vcpus_current, def->vcpus, BACKEND);
    if (def->vcpu_placement && strcmp(def->vcpu_placement, "static") != 0)
        return ch_refuse(err, "<vcpu> placement '%s' is not supported by %s",
                         def->vcpu_placement, BACKEND);

    if (def->memory_kib == 0)
        return ch_refuse(err, "<memory> of 0 KiB is not supported by %s", BACKEND);
    if (def->hugepages) {
        unsigned long long page = def->hugepage_kib;
        if (page != 0 && page != HUGEPAGE_2M_KIB && page != HUGEPAGE_1G_KIB)
            return ch_refuse(err, "<hugepages> page size '%llu' KiB is not supported by %s "
                             "(only 2048 KiB and 1048576 KiB)", page, BACKEND);
        if (def->memory_kib % (page ? page : HUGEPAGE_2M_KIB) != 0)
            return ch_refuse(err, "<memory> of %llu KiB is not a multiple of the %llu KiB "
                             "hugepage size, which %s requires", def->memory_kib,
                             page ? page : HUGEPAGE_2M_KIB, BACKEND);
    }
    if (def->memory_source) {
        /* CH backs guest RAM with a memfd when it is shared or on hugepages, with anonymous
         * memory otherwise; it cannot back it with a file of our choosing. */
        bool memfd = def->memory_shared || def->hugepages;
        if (strcmp(def->memory_source, "memfd") == 0 && !memfd)
            return ch_refuse(err, "<memoryBacking> source type 'memfd' is not supported by %s "
                             "without shared access or hugepages", BACKEND);
        if (strcmp(def->memory_source, "memfd") != 0 &&
            strcmp(def->memory_source, "anonymous") != 0)
            return ch_refuse(err, "<memoryBacking> source type '%s' is not supported by %s",
                             def->memory_source, BACKEND);
    }

    if (def->current_memory_kib > def->memory_kib)
        return ch_refuse(err, "<currentMemory> is larger than <memory>");
    if (def->current_memory_kib < def->memory_kib &&
        (!def->memballoon || def->memballoon->none))
        return ch_refuse(err, "<currentMemory> below <memory> needs a <memballoon> for %s",
                         BACKEND);
    if (def->memballoon && !def->memballoon->none && def->memballoon->stats_period)
        return ch_refuse(err, "<memballoon> <stats> period is not supported by %s", BACKEND);
    return 0;
}

static int
ch_validate_disk(const DomainDiskDef *disk, CvError **err)
{
    static const char *const formats[] = { "raw", "qcow2", "vhd", "vpc", "vhdx", NULL };

    if (disk->driver_name && strcmp(disk->driver_name, "qemu") != 0)
        return ch_refuse(err, "<disk> driver name '%s' is not supported by %s",
                         disk->driver_name, BACKEND);
    if (disk->format && !g_strv_contains(formats, disk->format))
        return ch_refuse(err, "<disk> driver type '%s' is not supported by %s", disk->format,
                         BACKEND);
    if (!disk->source)
        return ch_refuse(err, "<disk> without a <source> is not supported by %s", BACKEND);
    if (!disk->target_dev)
        return ch_refuse(err, "<disk> without a <target dev> is not supported by %s", BACKEND);
    /* cache='none' is O_DIRECT (direct=on); CH always honours the guest's flushes, which is
     * all 'writeback' and 'unsafe' ask for */
    if (disk->cache && strcmp(disk->cache, "none") != 0 && strcmp(disk->cache, "writeback") != 0 &&
        strcmp(disk->cache, "unsafe") != 0 && strcmp(disk->cache, "default") != 0)
        return ch_refuse(err, "<disk> driver cache '%s' is not supported by %s", disk->cache,
                         BACKEND);
    if (disk->io && strcmp(disk->io, "io_uring") != 0)
        return ch_refuse(err, "<disk> driver io '%s' is not supported by %s: it uses io_uring",
                         disk->io, BACKEND);
    if (disk->shareable && !disk->readonly)
        return ch_refuse(err, "<disk> <shareable/> is not supported by %s: only a <readonly/> "
                              "disk can be shared",
                         BACKEND);
    if (disk->serial && strlen(disk->serial) > CH_DISK_SERIAL_MAX)
        return ch_refuse(err, "<disk> serial '%s' is longer than the %d characters %s can pass",
                         disk->serial, CH_DISK_SERIAL_MAX, BACKEND);
    return 0;
}

static int
ch_validate_net(const DomainDef *def, const DomainNetDef *net, CvError **err)
{
    if (net->model && strcmp(net->model, "virtio") != 0)
        return ch_refuse(err, "<interface> model type '%s' is not supported by %s", net->model,
                         BACKEND);
    if (net->queues > def->vcpus_current)
        return ch_refuse(err, "<interface> driver queues '%u' is more than the %u boot vCPUs: "
                         "%s allows at most one queue pair per boot vCPU", net->queues,
                         def->vcpus_current, BACKEND);
    /* On a bridge <ip>/<route> are the guest's (the kernel's ip=); on type='ethernet' <ip> is
     * the host end of the TAP (CH's ip/mask) and its peer the guest's end (ip= again). */
    if (net->type == DOMAIN_NET_TYPE_BRIDGE)
        return backend_common_validate_guest_ip(def, net, "cloud-hypervisor", err);
    if (net->nroutes > 0)
        return ch_refuse(err, "<interface> <route> is not supported by %s", BACKEND);
    if (net->nips > 1)
        return ch_refuse(err, "<interface> with more than one <ip> is not supported by %s",
                         BACKEND);
    if (net->nips == 1) {
        const DomainNetIPDef *ip = &net->ips[0];
        if (ip->prefix > (ip->is_ipv6 ? 128u : 32u))
            return ch_refuse(err, "<interface> <ip> prefix '%u' is not valid", ip->prefix);
    }
    return 0;
}

static int
ch_validate_chr(const DomainDef *def, CvError **err)
{
    if (def->nserials > 1)
        return ch_refuse(err, "more than one <serial> is not supported by %s", BACKEND);

    size_t nvirtio = 0, nserial_consoles = 0;
    for (size_t i = 0; i < def->nconsoles; i++) {
        const DomainChrDef *con = def->consoles[i];
        if (con->target_type == DOMAIN_CHR_TARGET_VIRTIO) {
            if (++nvirtio > 1)
                return ch_refuse(err, "more than one virtio <console> is not supported by %s",
                                 BACKEND);
            if (con->type == DOMAIN_CHR_TYPE_UNIX)
                return ch_refuse(err, "<console> type 'unix' is not supported by %s: "
                                 "virtio-console has no socket mode", BACKEND);
            continue;
        }
        /* A serial-target console is the first <serial> seen from the other side, or stands
         * for it when there is no <serial>. */
        nserial_consoles++;
        const DomainChrDef *ser = def->nserials ? def->serials[0] : NULL;
        if (!ser && nserial_consoles > 1)
            return ch_refuse(err, "more than one <serial> is not supported by %s", BACKEND);
        if (ser && (ser->type != con->type || g_strcmp0(ser->path, con->path) != 0))
            return ch_refuse(err, "<console> type '%s' with target type 'serial' differs from "
                             "the <serial> it stands for, and %s has one serial port",
                             chr_type_name(con->type), BACKEND);
    }

    const DomainChrDef *ser = ch_validate_serial_device(def);
    if (ser) {
        if (ser->port != 0)
            return ch_refuse(err, "<serial> target port '%u' is not supported by %s: it has "
                             "only port 0", ser->port, BACKEND);
        if (ser->type != DOMAIN_CHR_TYPE_PTY && !ser->path)
            return ch_refuse(err, "<serial> type '%s' needs a <source path>",
                             chr_type_name(ser->type));
    }
    const DomainChrDef *con = ch_validate_virtio_console(def);
    if (con) {
        if (con->type != DOMAIN_CHR_TYPE_PTY && !con->path)
            return ch_refuse(err, "<console> type '%s' needs a <source path>",
                             chr_type_name(con->type));
    }
    return 0;
}

static int
ch_validate_fs(const DomainDef *def, const DomainFSDef *fs, CvError **err)
{
    if (!fs->socket)
        return ch_refuse(err, "<filesystem> needs a <source socket> of a running virtiofsd "
                         "for %s: <source dir> alone is not supported yet", BACKEND);
    if (fs->source_dir)
        return ch_refuse(err, "<filesystem> with both <source socket> and <source dir> is not "
                         "supported by %s: the virtiofsd behind the socket chooses the "
                         "directory", BACKEND);
    if (!def->memory_shared)
        return ch_refuse(err, "<filesystem> needs <memoryBacking><access mode='shared'/> for "
                         "%s", BACKEND);
    if (fs->readonly)
        return ch_refuse(err, "<filesystem> <readonly/> is not supported by %s: start "
                         "virtiofsd read-only instead", BACKEND);
    if (!fs->target || !*fs->target)
        return ch_refuse(err, "<filesystem> needs a <target dir> mount tag");
    if (strlen(fs->target) > CH_FS_TAG_MAX)
        return ch_refuse(err, "<filesystem> target dir '%s' is longer than the %d characters "
                         "of a virtio-fs tag", fs->target, CH_FS_TAG_MAX);
    return 0;
}

static int
ch_validate_other_devices(const DomainDef *def, CvError **err)
{
    if (def->nrngs > 1)
        return ch_refuse(err, "more than one <rng> is not supported by %s", BACKEND);
    if (def->nrngs == 1) {
        const DomainRNGDef *rng = def->rngs[0];
        if (rng->rate_bytes || rng->rate_period_ms)
            return ch_refuse(err, "<rng> <rate> is not supported by %s", BACKEND);
    }
    /* CH's vsock is hybrid (a UNIX socket on the host), so any CID of 3 or more is free. */
    if (def->vsock && !def->vsock->cid_auto && def->vsock->cid != 0 && def->vsock->cid < 3)
        return ch_refuse(err, "<vsock> cid address '%u' is not supported by %s: it must be 3 or "
                         "more", def->vsock->cid, BACKEND);
    for (size_t i = 0; i < def->nhostdevs; i++) {
        const DomainHostdevDef *h = def->hostdevs[i];
        if (h->domain > 0xffff || h->bus > 0xff || h->slot > 0x1f || h->function > 7)
            return ch_refuse(err, "<hostdev> PCI address %x:%x:%x.%x is not valid", h->domain,
                             h->bus, h->slot, h->function);
    }
    return 0;
}

int
ch_validate(const DomainDef *def, CvError **err)
{
    const CocoonBackend *named = backend_for_emulator(def->emulator);
    if (named && named->kind != BACKEND_CLOUD_HYPERVISOR)
        return ch_refuse(err, "<emulator> '%s' is a %s binary, not one for %s", def->emulator,
                         named->name, BACKEND);
    /* CH gives x86 guests ACPI (power button, hotplug), an APIC, long mode; Arm ones ACPI */
    if (backend_common_validate_machine(def, "cloud-hypervisor", true, err) < 0)
        return -1;
    if (ch_validate_os(def, err) < 0 || ch_validate_cpu_memory(def, err) < 0 ||
        backend_common_validate_lifecycle(def, "cloud-hypervisor", err) < 0)
        return -1;

    for (size_t i = 0; i < def->ndisks; i++) {
        if (ch_validate_disk(def->disks[i], err) < 0)
            return -1;
    }
    for (size_t i = 0; i < def->nnets; i++) {
        if (ch_validate_net(def, def->nets[i], err) < 0)
            return -1;
    }
    if (ch_validate_chr(def, err) < 0)
        return -1;
    for (size_t i = 0; i < def->nfss; i++) {
        if (ch_validate_fs(def, def->fss[i], err) < 0)
            return -1;
    }
    return ch_validate_other_devices(def, err);
}
