/* Sector I/O on the first virtio-blk device through one split virtqueue, polled: on
 * virtio-mmio (version 2, Firecracker) and on modern virtio-pci (Cloud Hypervisor).  The
 * device is set up on first use; a write is followed by a flush when the device offers one. */
#include "guest.h"
#include "io.h"

#define QSZ 8
#define DESC_NEXT 1
#define DESC_WRITE 2
#define STATUS_ACK 1
#define STATUS_DRIVER 2
#define STATUS_DRIVER_OK 4
#define STATUS_FEATURES_OK 8
#define BLK_F_FLUSH (1u << 9)
#define T_IN 0
#define T_OUT 1
#define T_FLUSH 4

/* virtio-mmio registers */
#define M_DEV_FEATURES 0x010
#define M_DEV_FEATURES_SEL 0x014
#define M_DRV_FEATURES 0x020
#define M_DRV_FEATURES_SEL 0x024
#define M_QUEUE_SEL 0x030
#define M_QUEUE_NUM_MAX 0x034
#define M_QUEUE_NUM 0x038
#define M_QUEUE_READY 0x044
#define M_QUEUE_NOTIFY 0x050
#define M_STATUS 0x070
#define M_QUEUE_DESC 0x080
#define M_QUEUE_AVAIL 0x090
#define M_QUEUE_USED 0x0a0

/* virtio-pci common configuration */
#define C_DEV_FEATURE_SEL 0x00
#define C_DEV_FEATURE 0x04
#define C_DRV_FEATURE_SEL 0x08
#define C_DRV_FEATURE 0x0c
#define C_STATUS 0x14
#define C_QUEUE_SEL 0x16
#define C_QUEUE_SIZE 0x18
#define C_QUEUE_ENABLE 0x1c
#define C_QUEUE_NOTIFY_OFF 0x1e
#define C_QUEUE_DESC 0x20
#define C_QUEUE_DRIVER 0x28
#define C_QUEUE_DEVICE 0x30

struct desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags, next;
};

struct avail {
    uint16_t flags, idx, ring[QSZ], used_event;
};

struct used {
    uint16_t flags, idx;
    struct { uint32_t id, len; } ring[QSZ];
    uint16_t avail_event;
};

struct req_header {
    uint32_t type, reserved;
    uint64_t sector;
};

/* The queue lives in .noinit (not cleared at boot, which costs time under an emulator):
 * cleared when the device is set up. */
#define NOINIT(align) __attribute__((aligned(align), section(".noinit")))
static struct desc descs[QSZ] NOINIT(4096);
static struct avail avail NOINIT(4096);
static struct used used NOINIT(4096);
static struct req_header header NOINIT(16);
static uint8_t data[512] NOINIT(512);
static volatile uint8_t req_status;

static enum { BLK_UNKNOWN, BLK_NONE, BLK_READY, BLK_BROKEN } state;
static const struct virtio_dev *blk;
static uint64_t common, notify_addr;    /* pci */
static bool can_flush;
static uint16_t last_used;

/* Where a transport keeps the registers the set-up touches, and how wide they are:
 * virtio-mmio's are all 32-bit; virtio-pci's common configuration mixes 8, 16 and 32. */
struct transport {
    uint64_t status, dev_feature_sel, dev_feature, drv_feature_sel, drv_feature;
    uint64_t queue_sel, queue_max, queue_size, queue_enable, ring[3];
    unsigned status_width, queue_width;
};

static void reg_write(uint64_t a, unsigned width, uint32_t v)
{
    if (width == 8)
        mmio_write8(a, (uint8_t)v);
    else if (width == 16)
        mmio_write16(a, (uint16_t)v);
    else
        mmio_write32(a, v);
}

static uint32_t reg_read(uint64_t a, unsigned width)
{
    return width == 8 ? mmio_read8(a) : width == 16 ? mmio_read16(a) : mmio_read32(a);
}

/* The driver side of device initialisation (virtio 1.x, 3.1.1), queue 0 only. */
static bool transport_init(const struct transport *t)
{
    const uint32_t steps[] = { 0, STATUS_ACK, STATUS_ACK | STATUS_DRIVER };
    for (unsigned i = 0; i < 3; i++)        /* one status bit at a time, as FC insists */
        reg_write(t->status, t->status_width, steps[i]);
    reg_write(t->dev_feature_sel, 32, 1);
    if (!(reg_read(t->dev_feature, 32) & 1))        /* VIRTIO_F_VERSION_1 */
        return false;
    reg_write(t->dev_feature_sel, 32, 0);
    can_flush = reg_read(t->dev_feature, 32) & BLK_F_FLUSH;
    reg_write(t->drv_feature_sel, 32, 0);
    reg_write(t->drv_feature, 32, can_flush ? BLK_F_FLUSH : 0);
    reg_write(t->drv_feature_sel, 32, 1);
    reg_write(t->drv_feature, 32, 1);
    uint32_t status = STATUS_ACK | STATUS_DRIVER | STATUS_FEATURES_OK;
    reg_write(t->status, t->status_width, status);
    if (!(reg_read(t->status, t->status_width) & STATUS_FEATURES_OK))
        return false;
    reg_write(t->queue_sel, t->queue_width, 0);
    if (reg_read(t->queue_max, t->queue_width) < QSZ)
        return false;
    reg_write(t->queue_size, t->queue_width, QSZ);
    uint64_t rings[3] = { (uint64_t)descs, (uint64_t)&avail, (uint64_t)&used };
    for (unsigned i = 0; i < 3; i++) {
        mmio_write32(t->ring[i], (uint32_t)rings[i]);
        mmio_write32(t->ring[i] + 4, (uint32_t)(rings[i] >> 32));
    }
    reg_write(t->queue_enable, t->queue_width, 1);
    reg_write(t->status, t->status_width, status | STATUS_DRIVER_OK);
    return true;
}

static bool mmio_setup(uint64_t b)
{
    if (mmio_read32(b + 4) != 2)
        return false;
    const struct transport t = {
        b + M_STATUS, b + M_DEV_FEATURES_SEL, b + M_DEV_FEATURES, b + M_DRV_FEATURES_SEL,
        b + M_DRV_FEATURES, b + M_QUEUE_SEL, b + M_QUEUE_NUM_MAX, b + M_QUEUE_NUM,
        b + M_QUEUE_READY, { b + M_QUEUE_DESC, b + M_QUEUE_AVAIL, b + M_QUEUE_USED }, 32, 32,
    };
    notify_addr = b + M_QUEUE_NOTIFY;
    return transport_init(&t);
}

/* The virtio-pci capabilities: where the common configuration and the notify area are. */
static bool pci_find_caps(const struct virtio_dev *d, uint32_t *notify_mult)
{
    unsigned b = d->bus, dv = d->dev, f = d->fn;
    if (!(pci_read32(b, dv, f, 0x04) & (1u << 20)))     /* status: capability list */
        return false;
    uint64_t notify_base = 0;
    unsigned ptr = pci_read32(b, dv, f, 0x34) & 0xfc;
    for (unsigned n = 0; ptr && n < 48; n++) {
        uint32_t w0 = pci_read32(b, dv, f, ptr);
        if ((w0 & 0xff) == 0x09) {                      /* vendor specific: virtio */
            unsigned cfg_type = (w0 >> 24) & 0xff;
            unsigned bar = pci_read32(b, dv, f, ptr + 4) & 0xff;
            uint32_t offset = pci_read32(b, dv, f, ptr + 8);
            uint32_t length = pci_read32(b, dv, f, ptr + 12);
            uint64_t base = bar < 6 ? pci_bar_address(b, dv, f, bar) : 0;
            if (base && map_mmio(base + offset, length)) {
                if (cfg_type == 1) {
                    common = base + offset;
                } else if (cfg_type == 2) {
                    notify_base = base + offset;
                    *notify_mult = pci_read32(b, dv, f, ptr + 16);
                }
            }
        }
        ptr = (w0 >> 8) & 0xfc;
    }
    notify_addr = notify_base;
    return common && notify_base;
}

static bool pci_setup(const struct virtio_dev *d)
{
    uint32_t mult = 0;
    uint16_t command = (uint16_t)pci_read32(d->bus, d->dev, d->fn, 0x04);
    pci_write16(d->bus, d->dev, d->fn, 0x04, command | 0x6);   /* memory space, bus master */
    if (!pci_find_caps(d, &mult))
        return false;
    uint64_t c = common;
    const struct transport t = {
        c + C_STATUS, c + C_DEV_FEATURE_SEL, c + C_DEV_FEATURE, c + C_DRV_FEATURE_SEL,
        c + C_DRV_FEATURE, c + C_QUEUE_SEL, c + C_QUEUE_SIZE, c + C_QUEUE_SIZE,
        c + C_QUEUE_ENABLE, { c + C_QUEUE_DESC, c + C_QUEUE_DRIVER, c + C_QUEUE_DEVICE }, 8, 16,
    };
    if (!transport_init(&t))
        return false;
    /* queue 0 is still selected */
    notify_addr += (uint64_t)mmio_read16(c + C_QUEUE_NOTIFY_OFF) * mult;
    return true;
}

static bool ensure_device(void)
{
    if (state == BLK_UNKNOWN) {
        state = BLK_NONE;
        memset(descs, 0, sizeof descs);
        memset(&avail, 0, sizeof avail);
        memset(&used, 0, sizeof used);
        for (size_t i = 0; i < devices_count(); i++) {
            const struct virtio_dev *d = devices_get(i);
            if (d->type == 2) {
                blk = d;
                state = (d->pci ? pci_setup(d) : mmio_setup(d->mmio)) ? BLK_READY : BLK_BROKEN;
                break;
            }
        }
    }
    return state != BLK_NONE;
}

/* One request: header, optional 512-byte data buffer, status byte.  Polls the used ring:
 * briefly spinning, then sleeping between timer ticks; gives up after 5 s. */
static int request(uint32_t type, uint64_t sector, bool with_data)
{
    if (state != BLK_READY)
        return -2;
    header = (struct req_header){ .type = type, .sector = sector };
    req_status = 0xff;
    descs[0] = (struct desc){ (uint64_t)&header, sizeof header, DESC_NEXT, 1 };
    descs[1] = (struct desc){ (uint64_t)data, sizeof data,
                              (uint16_t)(DESC_NEXT | (type == T_IN ? DESC_WRITE : 0)), 2 };
    descs[2] = (struct desc){ (uint64_t)&req_status, 1, DESC_WRITE, 0 };
    if (!with_data)
        descs[0].next = 2;
    avail.ring[avail.idx % QSZ] = 0;
    barrier();
    *(volatile uint16_t *)&avail.idx = (uint16_t)(avail.idx + 1);
    barrier();
    if (blk->pci)
        mmio_write16(notify_addr, 0);
    else
        mmio_write32(notify_addr, 0);   /* virtio-mmio registers are 32-bit only */
    uint64_t deadline = ticks + 500;
    for (unsigned spins = 0; *(volatile uint16_t *)&used.idx == last_used; spins++) {
        if (ticks > deadline)
            return -2;
        if (spins > 200)
            __asm__ volatile("hlt");
    }
    last_used++;
    return req_status == 0 ? 0 : -2;
}

int blk_read(uint64_t sector, uint8_t buf[512])
{
    if (!ensure_device())
        return -1;
    int r = request(T_IN, sector, true);
    if (r == 0)
        memcpy(buf, data, sizeof data);
    return r;
}

int blk_write(uint64_t sector, const uint8_t buf[512])
{
    if (!ensure_device())
        return -1;
    memcpy(data, buf, sizeof data);
    int r = request(T_OUT, sector, true);
    if (r == 0 && can_flush)
        r = request(T_FLUSH, 0, false);
    return r;
}
