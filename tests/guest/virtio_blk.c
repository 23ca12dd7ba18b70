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

static bool mmio_setup(uint64_t base)
{
    if (mmio_read32(base + 4) != 2)
        return false;
    mmio_write32(base + M_STATUS, 0);     /* one status bit at a time, as FC insists */
    mmio_write32(base + M_STATUS, STATUS_ACK);
    mmio_write32(base + M_STATUS, STATUS_ACK | STATUS_DRIVER);
    mmio_write32(base + M_DEV_FEATURES_SEL, 1);
    if (!(mmio_read32(base + M_DEV_FEATURES) & 1))     /* VIRTIO_F_VERSION_1 */
        return false;
    mmio_write32(base + M_DEV_FEATURES_SEL, 0);
    can_flush = mmio_read32(base + M_DEV_FEATURES) & BLK_F_FLUSH;
    mmio_write32(base + M_DRV_FEATURES_SEL, 0);
    mmio_write32(base + M_DRV_FEATURES, can_flush ? BLK_F_FLUSH : 0);
    mmio_write32(base + M_DRV_FEATURES_SEL, 1);
    mmio_write32(base + M_DRV_FEATURES, 1);
    mmio_write32(base + M_STATUS, STATUS_ACK | STATUS_DRIVER | STATUS_FEATURES_OK);
    if (!(mmio_read32(base + M_STATUS) & STATUS_FEATURES_OK))
        return false;
    mmio_write32(base + M_QUEUE_SEL, 0);
    if (mmio_read32(base + M_QUEUE_NUM_MAX) < QSZ)
        return false;
    mmio_write32(base + M_QUEUE_NUM, QSZ);
    uint64_t rings[3] = { (uint64_t)descs, (uint64_t)&avail, (uint64_t)&used };
    for (unsigned i = 0; i < 3; i++) {
        mmio_write32(base + M_QUEUE_DESC + 0x10 * i, (uint32_t)rings[i]);
        mmio_write32(base + M_QUEUE_DESC + 0x10 * i + 4, (uint32_t)(rings[i] >> 32));
    }
    mmio_write32(base + M_QUEUE_READY, 1);
    mmio_write32(base + M_STATUS, STATUS_ACK | STATUS_DRIVER | STATUS_FEATURES_OK |
                                      STATUS_DRIVER_OK);
    notify_addr = base + M_QUEUE_NOTIFY;
    return true;
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
    mmio_write8(common + C_STATUS, 0);
    mmio_write8(common + C_STATUS, STATUS_ACK);
    mmio_write8(common + C_STATUS, STATUS_ACK | STATUS_DRIVER);
    mmio_write32(common + C_DEV_FEATURE_SEL, 1);
    if (!(mmio_read32(common + C_DEV_FEATURE) & 1))
        return false;
    mmio_write32(common + C_DEV_FEATURE_SEL, 0);
    can_flush = mmio_read32(common + C_DEV_FEATURE) & BLK_F_FLUSH;
    mmio_write32(common + C_DRV_FEATURE_SEL, 0);
    mmio_write32(common + C_DRV_FEATURE, can_flush ? BLK_F_FLUSH : 0);
    mmio_write32(common + C_DRV_FEATURE_SEL, 1);
    mmio_write32(common + C_DRV_FEATURE, 1);
    mmio_write8(common + C_STATUS, STATUS_ACK | STATUS_DRIVER | STATUS_FEATURES_OK);
    if (!(mmio_read8(common + C_STATUS) & STATUS_FEATURES_OK))
        return false;
    mmio_write16(common + C_QUEUE_SEL, 0);
    if (mmio_read16(common + C_QUEUE_SIZE) < QSZ)
        return false;
    mmio_write16(common + C_QUEUE_SIZE, QSZ);
    uint64_t rings[3] = { (uint64_t)descs, (uint64_t)&avail, (uint64_t)&used };
    for (unsigned i = 0; i < 3; i++) {
        mmio_write32(common + C_QUEUE_DESC + 8 * i, (uint32_t)rings[i]);
        mmio_write32(common + C_QUEUE_DESC + 8 * i + 4, (uint32_t)(rings[i] >> 32));
    }
    notify_addr += (uint64_t)mmio_read16(common + C_QUEUE_NOTIFY_OFF) * mult;
    mmio_write16(common + C_QUEUE_ENABLE, 1);
    mmio_write8(common + C_STATUS, STATUS_ACK | STATUS_DRIVER | STATUS_FEATURES_OK |
                                       STATUS_DRIVER_OK);
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
