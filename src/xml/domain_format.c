#include "domain_def.h"

#include <string.h>

/*
 * DomainDef → canonical XML: libvirt's element order, two-space indentation, single-quoted
 * attributes, defaults printed the way libvirt prints them. Deterministic: the same definition
 * always gives the same bytes.
 */

typedef struct {
    GString *out;
    int depth;
} DomainFormatBuf;

static void
domain_format_escape(GString *out, const char *text, bool attribute)
{
    for (const char *p = text; *p; p++) {
        switch (*p) {
        case '&':
            g_string_append(out, "&amp;");
            break;
        case '<':
            g_string_append(out, "&lt;");
            break;
        case '>':
            g_string_append(out, "&gt;");
            break;
        case '\'':
            g_string_append(out, attribute ? "&apos;" : "'");
            break;
        case '"':
            g_string_append(out, attribute ? "&quot;" : "\"");
            break;
        /* a parser normalises these in attributes (and \r everywhere): keep them as written */
        case '\n':
            g_string_append(out, attribute ? "&#10;" : "\n");
            break;
        case '\t':
            g_string_append(out, attribute ? "&#9;" : "\t");
            break;
        case '\r':
            g_string_append(out, "&#13;");
            break;
        default:
            g_string_append_c(out, *p);
            break;
        }
    }
}

static void
domain_format_indent(DomainFormatBuf *buf)
{
    for (int i = 0; i < buf->depth; i++)
        g_string_append(buf->out, "  ");
}

/* "<name" — attributes follow with domain_format_attr, then open/close/end. */
static void
domain_format_start(DomainFormatBuf *buf, const char *name)
{
    domain_format_indent(buf);
    g_string_append_printf(buf->out, "<%s", name);
}

static void
domain_format_attr(DomainFormatBuf *buf, const char *name, const char *value)
{
    if (!value)
        return;
    g_string_append_printf(buf->out, " %s='", name);
    domain_format_escape(buf->out, value, true);
    g_string_append_c(buf->out, '\'');
}

static void
domain_format_attr_uint(DomainFormatBuf *buf, const char *name, unsigned long long value)
{
    g_string_append_printf(buf->out, " %s='%llu'", name, value);
}

/* ">" and one level deeper */
static void
domain_format_open(DomainFormatBuf *buf)
{
    g_string_append(buf->out, ">\n");
    buf->depth++;
}

/* "/>" */
static void
domain_format_end(DomainFormatBuf *buf)
{
    g_string_append(buf->out, "/>\n");
}

static void
domain_format_close(DomainFormatBuf *buf, const char *name)
{
    buf->depth--;
    domain_format_indent(buf);
    g_string_append_printf(buf->out, "</%s>\n", name);
}

/* ">text</name>" after the start tag and its attributes */
static void
domain_format_text_end(DomainFormatBuf *buf, const char *name, const char *text)
{
    g_string_append_c(buf->out, '>');
    domain_format_escape(buf->out, text, false);
    g_string_append_printf(buf->out, "</%s>\n", name);
}

static void
domain_format_text(DomainFormatBuf *buf, const char *name, const char *text)
{
    if (!text)
        return;
    domain_format_start(buf, name);
    domain_format_text_end(buf, name, text);
}

static void
domain_format_flag(DomainFormatBuf *buf, const char *name, bool on)
{
    if (!on)
        return;
    domain_format_start(buf, name);
    domain_format_end(buf);
}

static const char *
domain_format_lifecycle(DomainLifecycleAction action, DomainLifecycleAction fallback)
{
    const char *name = domain_lifecycle_action_to_string(action);
    if (action == DOMAIN_LIFECYCLE_ACTION_DEFAULT || !name)
        return domain_lifecycle_action_to_string(fallback);
    return name;
}

static void
domain_format_memory(DomainFormatBuf *buf, const DomainDef *def)
{
    domain_format_start(buf, "memory");
    domain_format_attr(buf, "unit", "KiB");
    g_string_append_printf(buf->out, ">%llu</memory>\n", def->memory_kib);
    domain_format_start(buf, "currentMemory");
    domain_format_attr(buf, "unit", "KiB");
    g_string_append_printf(buf->out, ">%llu</currentMemory>\n", def->current_memory_kib);

    if (!def->hugepages && !def->memory_source && !def->memory_shared)
        return;
    domain_format_start(buf, "memoryBacking");
    domain_format_open(buf);
    if (def->hugepages) {
        domain_format_start(buf, "hugepages");
        if (def->hugepage_kib) {
            domain_format_open(buf);
            domain_format_start(buf, "page");
            domain_format_attr_uint(buf, "size", def->hugepage_kib);
            domain_format_attr(buf, "unit", "KiB");
            domain_format_end(buf);
            domain_format_close(buf, "hugepages");
        } else {
            domain_format_end(buf);
        }
    }
    if (def->memory_source) {
        domain_format_start(buf, "source");
        domain_format_attr(buf, "type", def->memory_source);
        domain_format_end(buf);
    }
    if (def->memory_shared) {
        domain_format_start(buf, "access");
        domain_format_attr(buf, "mode", "shared");
        domain_format_end(buf);
    }
    domain_format_close(buf, "memoryBacking");
}

static void
domain_format_vcpu(DomainFormatBuf *buf, const DomainDef *def)
{
    domain_format_start(buf, "vcpu");
    domain_format_attr(buf, "placement", def->vcpu_placement ? def->vcpu_placement : "static");
    if (def->vcpus_current && def->vcpus_current != def->vcpus)
        domain_format_attr_uint(buf, "current", def->vcpus_current);
    g_string_append_printf(buf->out, ">%u</vcpu>\n", def->vcpus);
}

/* <memtune> after the memory, <cputune> after <vcpu>, in libvirt's order */
static void
domain_format_memtune(DomainFormatBuf *buf, const DomainDef *def)
{
    if (!def->mem_hard_limit_kib)
        return;
    domain_format_start(buf, "memtune");
    domain_format_open(buf);
    domain_format_start(buf, "hard_limit");
    domain_format_attr(buf, "unit", "KiB");
    g_string_append_printf(buf->out, ">%llu</hard_limit>\n", def->mem_hard_limit_kib);
    domain_format_close(buf, "memtune");
}

static void
domain_format_cputune(DomainFormatBuf *buf, const DomainDef *def)
{
    if (!def->cpu_shares && !def->cpu_period_us && !def->cpu_quota_us)
        return;
    char num[32];
    domain_format_start(buf, "cputune");
    domain_format_open(buf);
    if (def->cpu_shares) {
        g_snprintf(num, sizeof(num), "%u", def->cpu_shares);
        domain_format_text(buf, "shares", num);
    }
    if (def->cpu_period_us) {
        g_snprintf(num, sizeof(num), "%llu", def->cpu_period_us);
        domain_format_text(buf, "period", num);
    }
    if (def->cpu_quota_us) {
        g_snprintf(num, sizeof(num), "%lld", def->cpu_quota_us);
        domain_format_text(buf, "quota", num);
    }
    domain_format_close(buf, "cputune");
}

static void
domain_format_os(DomainFormatBuf *buf, const DomainOSDef *os)
{
    domain_format_start(buf, "os");
    if (os->firmware_efi)
        domain_format_attr(buf, "firmware", "efi");
    domain_format_open(buf);
    domain_format_start(buf, "type");
    domain_format_attr(buf, "arch", os->arch);
    domain_format_attr(buf, "machine", os->machine);
    domain_format_text_end(buf, "type", os->type ? os->type : "hvm");
    if (os->loader) {
        domain_format_start(buf, "loader");
        if (os->loader_readonly)
            domain_format_attr(buf, "readonly", "yes");
        domain_format_attr(buf, "secure", os->loader_secure);
        domain_format_attr(buf, "type", os->loader_type);
        domain_format_text_end(buf, "loader", os->loader);
    }
    domain_format_text(buf, "kernel", os->kernel);
    domain_format_text(buf, "initrd", os->initrd);
    domain_format_text(buf, "cmdline", os->cmdline);
    domain_format_close(buf, "os");
}

static void
domain_format_features(DomainFormatBuf *buf, const DomainDef *def)
{
    if (!def->feature_acpi && !def->feature_apic && !def->feature_pae)
        return;
    domain_format_start(buf, "features");
    domain_format_open(buf);
    domain_format_flag(buf, "acpi", def->feature_acpi);
    domain_format_flag(buf, "apic", def->feature_apic);
    domain_format_flag(buf, "pae", def->feature_pae);
    domain_format_close(buf, "features");
}

static void
domain_format_clock(DomainFormatBuf *buf, const DomainDef *def)
{
    if (!def->clock_offset)
        return;
    domain_format_start(buf, "clock");
    domain_format_attr(buf, "offset", def->clock_offset);
    if (!def->ntimers) {
        domain_format_end(buf);
        return;
    }
    domain_format_open(buf);
    for (size_t i = 0; i < def->ntimers; i++) {
        const DomainTimerDef *t = &def->timers[i];
        domain_format_start(buf, "timer");
        domain_format_attr(buf, "name", t->name);
        domain_format_attr(buf, "tickpolicy", t->tickpolicy);
        if (t->present >= 0)
            domain_format_attr(buf, "present", t->present ? "yes" : "no");
        domain_format_end(buf);
    }
    domain_format_close(buf, "clock");
}

static void
domain_format_disk(DomainFormatBuf *buf, const DomainDiskDef *disk)
{
    bool file = disk->type == DOMAIN_DISK_TYPE_FILE;
    domain_format_start(buf, "disk");
    domain_format_attr(buf, "type", file ? "file" : "block");
    domain_format_attr(buf, "device", "disk");
    domain_format_open(buf);
    if (disk->driver_name || disk->format || disk->cache || disk->io) {
        domain_format_start(buf, "driver");
        domain_format_attr(buf, "name", disk->driver_name);
        domain_format_attr(buf, "type", disk->format);
        domain_format_attr(buf, "cache", disk->cache);
        domain_format_attr(buf, "io", disk->io);
        domain_format_end(buf);
    }
    domain_format_start(buf, "source");
    domain_format_attr(buf, file ? "file" : "dev", disk->source);
    domain_format_end(buf);
    domain_format_start(buf, "target");
    domain_format_attr(buf, "dev", disk->target_dev);
    domain_format_attr(buf, "bus", "virtio");
    domain_format_end(buf);
    domain_format_flag(buf, "readonly", disk->readonly);
    domain_format_flag(buf, "transient", disk->transient);
    domain_format_flag(buf, "shareable", disk->shareable);
    domain_format_text(buf, "serial", disk->serial);
    domain_format_close(buf, "disk");
}

static void
domain_format_fs(DomainFormatBuf *buf, const DomainFSDef *fs)
{
    domain_format_start(buf, "filesystem");
    domain_format_attr(buf, "type", "mount");
    domain_format_open(buf);
    domain_format_start(buf, "driver");
    domain_format_attr(buf, "type", "virtiofs");
    if (fs->queue_size)
        domain_format_attr_uint(buf, "queue", fs->queue_size);
    domain_format_end(buf);
    domain_format_start(buf, "source");
    domain_format_attr(buf, "socket", fs->socket);
    domain_format_attr(buf, "dir", fs->source_dir);
    domain_format_end(buf);
    domain_format_start(buf, "target");
    domain_format_attr(buf, "dir", fs->target);
    domain_format_end(buf);
    domain_format_flag(buf, "readonly", fs->readonly);
    domain_format_close(buf, "filesystem");
}

static void
domain_format_net(DomainFormatBuf *buf, const DomainNetDef *net)
{
    domain_format_start(buf, "interface");
    domain_format_attr(buf, "type", net->type == DOMAIN_NET_TYPE_BRIDGE ? "bridge" : "ethernet");
    domain_format_open(buf);
    if (net->mac) {
        domain_format_start(buf, "mac");
        domain_format_attr(buf, "address", net->mac);
        domain_format_end(buf);
    }
    if (net->type == DOMAIN_NET_TYPE_BRIDGE) {
        domain_format_start(buf, "source");
        domain_format_attr(buf, "bridge", net->bridge);
        domain_format_end(buf);
    }
    for (size_t i = 0; i < net->nips; i++) {
        const DomainNetIPDef *ip = &net->ips[i];
        domain_format_start(buf, "ip");
        domain_format_attr(buf, "address", ip->address);
        domain_format_attr(buf, "family", ip->is_ipv6 ? "ipv6" : "ipv4");
        if (ip->prefix)
            domain_format_attr_uint(buf, "prefix", ip->prefix);
        domain_format_attr(buf, "peer", ip->peer);
        domain_format_end(buf);
    }
    for (size_t i = 0; i < net->nroutes; i++) {
        const DomainNetRouteDef *route = &net->routes[i];
        domain_format_start(buf, "route");
        domain_format_attr(buf, "family", route->is_ipv6 ? "ipv6" : "ipv4");
        domain_format_attr(buf, "address", route->address);
        if (route->prefix)
            domain_format_attr_uint(buf, "prefix", route->prefix);
        domain_format_attr(buf, "gateway", route->gateway);
        domain_format_end(buf);
    }
    if (net->target_dev) {
        domain_format_start(buf, "target");
        domain_format_attr(buf, "dev", net->target_dev);
        if (net->target_managed_no)
            domain_format_attr(buf, "managed", "no");
        domain_format_end(buf);
    }
    if (net->model) {
        domain_format_start(buf, "model");
        domain_format_attr(buf, "type", net->model);
        domain_format_end(buf);
    }
    if (net->queues) {
        domain_format_start(buf, "driver");
        domain_format_attr_uint(buf, "queues", net->queues);
        domain_format_end(buf);
    }
    if (net->mtu) {
        domain_format_start(buf, "mtu");
        domain_format_attr_uint(buf, "size", net->mtu);
        domain_format_end(buf);
    }
    domain_format_close(buf, "interface");
}

static void
domain_format_chr(DomainFormatBuf *buf, const DomainChrDef *chr, const char *name)
{
    static const char *const types[DOMAIN_CHR_TYPE_LAST] = {
        [DOMAIN_CHR_TYPE_PTY] = "pty",
        [DOMAIN_CHR_TYPE_FILE] = "file",
        [DOMAIN_CHR_TYPE_UNIX] = "unix",
    };
    bool console = strcmp(name, "console") == 0;
    domain_format_start(buf, name);
    domain_format_attr(buf, "type", chr->type < DOMAIN_CHR_TYPE_LAST ? types[chr->type] : "pty");
    domain_format_open(buf);
    if (chr->type != DOMAIN_CHR_TYPE_PTY && chr->path) {
        domain_format_start(buf, "source");
        if (chr->type == DOMAIN_CHR_TYPE_UNIX)
            domain_format_attr(buf, "mode", "bind");
        domain_format_attr(buf, "path", chr->path);
        domain_format_end(buf);
    }
    domain_format_start(buf, "target");
    if (console)
        domain_format_attr(buf, "type",
                           chr->target_type == DOMAIN_CHR_TARGET_VIRTIO ? "virtio" : "serial");
    domain_format_attr_uint(buf, "port", chr->port);
    domain_format_end(buf);
    domain_format_close(buf, name);
}

static void
domain_format_hostdev(DomainFormatBuf *buf, const DomainHostdevDef *hostdev)
{
    domain_format_start(buf, "hostdev");
    domain_format_attr(buf, "mode", "subsystem");
    domain_format_attr(buf, "type", "pci");
    domain_format_attr(buf, "managed", hostdev->managed ? "yes" : "no");
    domain_format_open(buf);
    domain_format_start(buf, "source");
    domain_format_open(buf);
    domain_format_start(buf, "address");
    g_string_append_printf(buf->out, " domain='0x%04x' bus='0x%02x' slot='0x%02x' function='0x%x'",
                           hostdev->domain, hostdev->bus, hostdev->slot, hostdev->function);
    domain_format_end(buf);
    domain_format_close(buf, "source");
    domain_format_close(buf, "hostdev");
}

static void
domain_format_memballoon(DomainFormatBuf *buf, const DomainMemballoonDef *balloon)
{
    domain_format_start(buf, "memballoon");
    domain_format_attr(buf, "model", balloon->none ? "none" : "virtio");
    if (balloon->autodeflate)
        domain_format_attr(buf, "autodeflate", "on");
    if (balloon->free_page_reporting)
        domain_format_attr(buf, "freePageReporting", "on");
    if (!balloon->stats_period) {
        domain_format_end(buf);
        return;
    }
    domain_format_open(buf);
    domain_format_start(buf, "stats");
    domain_format_attr_uint(buf, "period", balloon->stats_period);
    domain_format_end(buf);
    domain_format_close(buf, "memballoon");
}

static void
domain_format_rng(DomainFormatBuf *buf, const DomainRNGDef *rng)
{
    domain_format_start(buf, "rng");
    domain_format_attr(buf, "model", "virtio");
    domain_format_open(buf);
    if (rng->rate_bytes) {
        domain_format_start(buf, "rate");
        domain_format_attr_uint(buf, "bytes", rng->rate_bytes);
        if (rng->rate_period_ms)
            domain_format_attr_uint(buf, "period", rng->rate_period_ms);
        domain_format_end(buf);
    }
    domain_format_start(buf, "backend");
    domain_format_attr(buf, "model", "random");
    domain_format_text_end(buf, "backend", rng->backend ? rng->backend : "/dev/urandom");
    domain_format_close(buf, "rng");
}

static void
domain_format_vsock(DomainFormatBuf *buf, const DomainVsockDef *vsock)
{
    domain_format_start(buf, "vsock");
    domain_format_attr(buf, "model", "virtio");
    if (!vsock->cid_auto && !vsock->cid) {
        domain_format_end(buf);
        return;
    }
    domain_format_open(buf);
    domain_format_start(buf, "cid");
    domain_format_attr(buf, "auto", vsock->cid_auto ? "yes" : "no");
    if (vsock->cid)
        domain_format_attr_uint(buf, "address", vsock->cid);
    domain_format_end(buf);
    domain_format_close(buf, "vsock");
}

static void
domain_format_devices(DomainFormatBuf *buf, const DomainDef *def)
{
    domain_format_start(buf, "devices");
    domain_format_open(buf);
    domain_format_text(buf, "emulator", def->emulator);
    for (size_t i = 0; i < def->ndisks; i++)
        domain_format_disk(buf, def->disks[i]);
    for (size_t i = 0; i < def->nfss; i++)
        domain_format_fs(buf, def->fss[i]);
    for (size_t i = 0; i < def->nnets; i++)
        domain_format_net(buf, def->nets[i]);
    for (size_t i = 0; i < def->nserials; i++)
        domain_format_chr(buf, def->serials[i], "serial");
    for (size_t i = 0; i < def->nconsoles; i++)
        domain_format_chr(buf, def->consoles[i], "console");
    for (size_t i = 0; i < def->nhostdevs; i++)
        domain_format_hostdev(buf, def->hostdevs[i]);
    if (def->memballoon)
        domain_format_memballoon(buf, def->memballoon);
    for (size_t i = 0; i < def->nrngs; i++)
        domain_format_rng(buf, def->rngs[i]);
    if (def->vsock)
        domain_format_vsock(buf, def->vsock);
    domain_format_close(buf, "devices");
}

static bool
domain_format_uuid_is_set(const unsigned char uuid[DOMAIN_UUID_LEN])
{
    for (size_t i = 0; i < DOMAIN_UUID_LEN; i++)
        if (uuid[i])
            return true;
    return false;
}

char *
domain_def_format(const DomainDef *def, int id)
{
    DomainFormatBuf buf = {g_string_new(NULL), 0};
    domain_format_start(&buf, "domain");
    domain_format_attr(&buf, "type", "kvm");
    if (id >= 0)
        domain_format_attr_uint(&buf, "id", (unsigned long long)id);
    domain_format_open(&buf);

    domain_format_text(&buf, "name", def->name ? def->name : "");
    if (domain_format_uuid_is_set(def->uuid)) {
        char uuid[DOMAIN_UUID_STRING_LEN];
        domain_uuid_format(def->uuid, uuid);
        domain_format_text(&buf, "uuid", uuid);
    }
    domain_format_text(&buf, "title", def->title);
    domain_format_text(&buf, "description", def->description);
    if (def->metadata) {
        /* stored already serialised and indented for this level */
        domain_format_indent(&buf);
        g_string_append(buf.out, def->metadata);
        g_string_append_c(buf.out, '\n');
    }
    domain_format_memory(&buf, def);
    domain_format_memtune(&buf, def);
    domain_format_vcpu(&buf, def);
    domain_format_cputune(&buf, def);
    domain_format_os(&buf, &def->os);
    domain_format_features(&buf, def);
    domain_format_clock(&buf, def);
    domain_format_text(&buf, "on_poweroff",
                       domain_format_lifecycle(def->on_poweroff, DOMAIN_LIFECYCLE_ACTION_DESTROY));
    domain_format_text(&buf, "on_reboot",
                       domain_format_lifecycle(def->on_reboot, DOMAIN_LIFECYCLE_ACTION_RESTART));
    domain_format_text(&buf, "on_crash",
                       domain_format_lifecycle(def->on_crash, DOMAIN_LIFECYCLE_ACTION_DESTROY));
    domain_format_devices(&buf, def);
    domain_format_close(&buf, "domain");
    return g_string_free(buf.out, FALSE);
}
