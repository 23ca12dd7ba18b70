/*
 * Definition + lowering context → ChPlan: the values Cloud Hypervisor gets, shared by the
 * command line and the VmConfig renderers. Pure: no I/O.
 */
#include "ch_plan.h"

#include <string.h>

#include "ch_lower.h"
#include "ch_validate.h"
#include "driver/backend_common.h"

/* CH's virtio-fs default queue size (FsConfig.queue_size). */
#define CH_FS_QUEUE_SIZE_DEFAULT 1024

void
ch_plan_free(ChPlan *plan)
{
    if (!plan)
        return;
    g_free(plan->api_socket);
    g_free(plan->cmdline);
    g_free(plan->disks);
    for (size_t i = 0; i < plan->nnets; i++) {
        g_free(plan->nets[i].tap);
        g_free(plan->nets[i].ip);
        g_free(plan->nets[i].mask);
        g_free(plan->nets[i].id);
    }
    g_free(plan->nets);
    g_free(plan->vsock_socket);
    g_free(plan->fss);
    g_strfreev(plan->devices);
    g_free(plan);
}

static const char *
ch_plan_serial_name(const DomainDef *def)
{
    /* The legacy UART is a PL011 on aarch64, an 8250 elsewhere. */
    return (def->os.arch && strcmp(def->os.arch, "aarch64") == 0) ? "ttyAMA0" : "ttyS0";
}

static bool
cmdline_has_console(const char *cmdline)
{
    g_auto(GStrv) words = g_strsplit_set(cmdline, " \t\n", -1);
    for (char **w = words; *w; w++) {
        if (g_str_has_prefix(*w, "console="))
            return true;
    }
    return false;
}

/* The user's command line, plus console= for the device `virsh console` shows (the first
 * <console>, else the <serial>) unless the user already chose one. */
static char *
ch_plan_cmdline_console(const DomainDef *def)
{
    const char *user = def->os.cmdline;
    if (!def->os.kernel)
        return g_strdup(user);
    if (user && cmdline_has_console(user))
        return g_strdup(user);

    const char *tty = NULL;
    if (def->nconsoles > 0)
        tty = def->consoles[0]->target_type == DOMAIN_CHR_TARGET_VIRTIO
                  ? "hvc0" : ch_plan_serial_name(def);
    else if (ch_validate_serial_device(def))
        tty = ch_plan_serial_name(def);
    if (!tty)
        return g_strdup(user);
    if (!user || !*user)
        return g_strdup_printf("console=%s", tty);
    return g_strdup_printf("%s console=%s", user, tty);
}

/* … and the guest's address as ip=, from its <interface> (backend_common_kernel_ip). */
static char *
ch_plan_cmdline(const DomainDef *def)
{
    g_autofree char *cmdline = ch_plan_cmdline_console(def);
    g_autofree char *ip = backend_common_kernel_ip(def);
    if (!ip)
        return g_steal_pointer(&cmdline);
    if (!cmdline || !*cmdline)
        return g_steal_pointer(&ip);
    return g_strdup_printf("%s %s", cmdline, ip);
}

static ChChrPlan
ch_plan_chr(const DomainChrDef *chr)
{
    ChChrPlan plan = { CH_CHR_OFF, NULL };
    if (!chr)
        return plan;
    switch (chr->type) {
    case DOMAIN_CHR_TYPE_PTY: plan.mode = CH_CHR_PTY; break;
    case DOMAIN_CHR_TYPE_FILE: plan.mode = CH_CHR_FILE; break;
    case DOMAIN_CHR_TYPE_UNIX: plan.mode = CH_CHR_SOCKET; break;
    case DOMAIN_CHR_TYPE_LAST: break;
    }
    plan.path = chr->path;
    return plan;
}

/* The PTY device `virsh console` attaches to (the virtio-console when the first <console> is
 * one, else the serial port; the other one when the preferred one is no PTY) goes on the
 * VMM's stdin/stdout instead. */
static void
ch_plan_console_stdio(const DomainDef *def, ChPlan *plan)
{
    bool virtio = def->nconsoles > 0 && def->consoles[0]->target_type == DOMAIN_CHR_TARGET_VIRTIO;
    ChChrPlan *first = virtio ? &plan->console : &plan->serial;
    ChChrPlan *second = virtio ? &plan->serial : &plan->console;
    if (first->mode == CH_CHR_PTY)
        first->mode = CH_CHR_TTY;
    else if (second->mode == CH_CHR_PTY)
        second->mode = CH_CHR_TTY;
}

static const char *
ch_plan_image_type(const char *format)
{
    if (!format || strcmp(format, "raw") == 0)
        return "raw";
    if (strcmp(format, "vpc") == 0)
        return "vhd";
    return format; /* qcow2, vhd, vhdx: ch_validate allowed nothing else */
}

/* The host end of a TAP: CH's ip/mask net options (CH sets them on the TAP, as the driver does). */
static int
ch_plan_net_ip(const DomainNetIPDef *ip, ChNetPlan *net, CvError **err)
{
    unsigned int prefix = backend_common_ip_prefix(ip);
    if (prefix == 0) {
        cv_error_set(err, VIR_FROM_DOMAIN, VIR_ERR_CONFIG_UNSUPPORTED,
                     "<interface> <ip> address '%s' needs a prefix", ip->address);
        return -1;
    }
    net->ip = g_strdup(ip->address);
    net->mask = backend_common_netmask(ip->is_ipv6, prefix);
    return 0;
}

static int
ch_plan_nets(const DomainDef *def, const BackendLowerCtx *ctx, ChPlan *plan, CvError **err)
{
    plan->nets = g_new0(ChNetPlan, def->nnets);
    plan->nnets = def->nnets;
    for (size_t i = 0; i < def->nnets; i++) {
        const DomainNetDef *src = def->nets[i];
        ChNetPlan *net = &plan->nets[i];
        net->tap = backend_common_tap_name(def, ctx, i);
        net->mac = src->mac;
        net->mtu = src->mtu;
        net->num_queues = src->queues * 2;
        net->id = g_strdup_printf("net%zu", i);
        if (src->type == DOMAIN_NET_TYPE_ETHERNET && src->nips == 1 &&
            ch_plan_net_ip(&src->ips[0], net, err) < 0)
            return -1;
    }
    return 0;
}

ChPlan *
ch_plan_new(const DomainDef *def, const BackendLowerCtx *ctx, CvError **err)
{
    if (ch_validate(def, err) < 0)
        return NULL;
    if (!ctx || !ctx->run_dir) {
        cv_error_set(err, VIR_FROM_DOMAIN, VIR_ERR_INTERNAL_ERROR,
                     "no live directory to lower domain '%s' into", def->name ? def->name : "");
        return NULL;
    }

    g_autoptr(ChPlan) plan = g_new0(ChPlan, 1);
    plan->api_socket = ch_api_socket_path(ctx->run_dir);

    plan->kernel = def->os.kernel;
    plan->firmware = def->os.kernel ? NULL : def->os.loader;
    plan->initramfs = def->os.initrd;
    plan->cmdline = ch_plan_cmdline(def);

    plan->boot_vcpus = def->vcpus_current;
    plan->max_vcpus = def->vcpus;
    plan->memory_kib = def->memory_kib;
    plan->shared = def->memory_shared;
    plan->hugepages = def->hugepages;
    plan->hugepage_kib = def->hugepages ? def->hugepage_kib : 0;

    plan->disks = g_new0(ChDiskPlan, def->ndisks);
    plan->ndisks = def->ndisks;
    for (size_t i = 0; i < def->ndisks; i++) {
        const DomainDiskDef *src = def->disks[i];
        /* A transient disk's overlay keeps the format of its source. */
        plan->disks[i] = (ChDiskPlan){
            .path = backend_common_disk_path(def, ctx, i),
            .readonly = src->readonly,
            .direct = g_strcmp0(src->cache, "none") == 0,
            .serial = src->serial,
            .id = src->target_dev,
            .image_type = ch_plan_image_type(src->format),
        };
    }
    if (ch_plan_nets(def, ctx, plan, err) < 0)
        return NULL;

    if (def->nrngs == 1)
        plan->rng_src = def->rngs[0]->backend ? def->rngs[0]->backend : "/dev/urandom";

    plan->serial = ch_plan_chr(ch_validate_serial_device(def));
    plan->console = ch_plan_chr(ch_validate_virtio_console(def));
    if (ctx->console_stdio)
        ch_plan_console_stdio(def, plan);

    if (def->memballoon && !def->memballoon->none) {
        plan->balloon = true;
        plan->balloon_kib = def->memory_kib - def->current_memory_kib;
        plan->deflate_on_oom = def->memballoon->autodeflate;
        plan->free_page_reporting = def->memballoon->free_page_reporting;
    }

    if (def->vsock) {
        plan->vsock = true;
        /* Hybrid vsock has no host-wide CID namespace: "auto" can always take the first. */
        plan->vsock_cid = def->vsock->cid >= 3 ? def->vsock->cid : 3;
        plan->vsock_socket = g_build_filename(ctx->run_dir, "vsock.sock", NULL);
    }

    plan->fss = g_new0(ChFsPlan, def->nfss);
    plan->nfss = def->nfss;
    for (size_t i = 0; i < def->nfss; i++) {
        const DomainFSDef *fs = def->fss[i];
        plan->fss[i] = (ChFsPlan){
            .tag = fs->target,
            .socket = fs->socket,
            .queue_size = fs->queue_size ? fs->queue_size : CH_FS_QUEUE_SIZE_DEFAULT,
        };
    }

    plan->devices = g_new0(char *, def->nhostdevs + 1);
    for (size_t i = 0; i < def->nhostdevs; i++) {
        const DomainHostdevDef *h = def->hostdevs[i];
        plan->devices[i] = g_strdup_printf("/sys/bus/pci/devices/%04x:%02x:%02x.%x/", h->domain,
                                           h->bus, h->slot, h->function);
    }
    return g_steal_pointer(&plan);
}
