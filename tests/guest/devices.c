/* The virtio devices the VMM gave us: Firecracker's virtio-mmio windows, named on the
 * command line as virtio_mmio.device=<size>@<base>:<irq>, and virtio-pci functions
 * (vendor 0x1af4) on PCI bus 0, as Cloud Hypervisor has them. Scanned once, on first use. */
#include "guest.h"
#include "io.h"

#define MAX_DEVICES 32
#define MMIO_MAGIC 0x74726976u      /* "virt" */

static struct virtio_dev devs[MAX_DEVICES];
static size_t ndevs;
static bool scanned;
static const char *scan_cmdline;

static void add(struct virtio_dev d)
{
    if (ndevs < MAX_DEVICES)
        devs[ndevs++] = d;
}

static void scan_mmio(const char *p)
{
    static const char key[] = "virtio_mmio.device=";
    for (; p && *p; p++) {
        if ((p != scan_cmdline && p[-1] != ' ') || !str_starts(p, key))
            continue;
        const char *q = p + sizeof key - 1;
        while (*q && *q != '@' && *q != ' ')
            q++;
        uint64_t base;
        if (*q != '@')
            continue;
        q++;
        if (!parse_u64(&q, &base) || !map_mmio(base, 0x200))
            continue;
        uint32_t magic = mmio_read32(base), id = mmio_read32(base + 8);
        if (magic == MMIO_MAGIC && id != 0)
            add((struct virtio_dev){ .pci = false, .mmio = base, .type = id });
    }
}

static void scan_function(unsigned dev, unsigned fn)
{
    uint32_t id = pci_read32(0, dev, fn, 0);
    if ((id & 0xffff) != 0x1af4)
        return;
    uint32_t device = id >> 16, type;
    if (device >= 0x1040 && device <= 0x107f)
        type = device - 0x1040;                         /* modern */
    else if (device >= 0x1000 && device <= 0x103f)
        type = pci_read32(0, dev, fn, 0x2c) >> 16;      /* transitional: subsystem id */
    else
        return;
    add((struct virtio_dev){ .pci = true, .bus = 0, .dev = (uint8_t)dev, .fn = (uint8_t)fn,
                             .type = type });
}

static bool pci_disabled(const char *p)
{
    for (; p && *p; p++)
        if ((p == scan_cmdline || p[-1] == ' ') && str_starts(p, "pci=off") &&
            (p[7] == ' ' || p[7] == 0))
            return true;
    return false;
}

static void scan_pci(void)
{
    /* Firecracker without PCI says pci=off and has no 0xCF8 port: do not touch it. */
    if (pci_disabled(scan_cmdline) || !pci_present())
        return;
    for (unsigned dev = 0; dev < 32; dev++) {
        uint32_t id = pci_read32(0, dev, 0, 0);
        if ((id & 0xffff) == 0xffff || (id & 0xffff) == 0)
            continue;
        scan_function(dev, 0);
        if (pci_read32(0, dev, 0, 0x0c) & 0x00800000u)   /* multi-function */
            for (unsigned fn = 1; fn < 8; fn++)
                scan_function(dev, fn);
    }
}

void devices_scan(const char *cmdline)
{
    scan_cmdline = cmdline;
    scanned = false;
    ndevs = 0;
}

static void ensure_scanned(void)
{
    if (scanned)
        return;
    scanned = true;
    scan_mmio(scan_cmdline);
    scan_pci();
}

size_t devices_count(void)
{
    ensure_scanned();
    return ndevs;
}

const struct virtio_dev *devices_get(size_t i)
{
    ensure_scanned();
    return i < ndevs ? &devs[i] : NULL;
}

const char *virtio_type_name(uint32_t type, char buf[24])
{
    switch (type) {
    case 1: return "net";
    case 2: return "block";
    case 3: return "console";
    case 4: return "rng";
    case 5: return "balloon";
    case 19: return "vsock";
    }
    char digits[21];
    const char *d = format_dec(digits, type);
    memcpy(buf, "id-", 3);
    memcpy(buf + 3, d, strlen(d) + 1);
    return buf;
}

void cmd_devices(void)
{
    size_t n = devices_count();
    char name[24];
    for (size_t i = 0; i < n; i++) {
        const struct virtio_dev *d = &devs[i];
        if (d->pci) {
            put_str("virtio-pci ");
            put_hex2(d->bus);
            put_char(':');
            put_hex2(d->dev);
            put_char('.');
            put_char((char)('0' + d->fn));
        } else {
            put_str("virtio-mmio ");
            put_hex(d->mmio);
        }
        put_char(' ');
        put_line(virtio_type_name(d->type, name));
    }
    put_str("devices: ");
    put_dec(n);
    put_str("\r\n");
}
