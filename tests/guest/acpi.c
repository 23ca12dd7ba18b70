/* The two ACPI facts the guest needs from Cloud Hypervisor's tables: the FADT's sleep
 * control register (S5 = SLP_TYP 5, SLP_EN: 0x34) and the address of the GED's event
 * register, the byte in the "GDST" operation region of the DSDT that reads (and clears) a
 * bit mask of pending events; bit 3 is the power button. */
#include "guest.h"

struct sdt_header {
    char signature[4];
    uint32_t length;
    uint8_t revision, checksum;
    char oem[6], oem_table[8];
    uint32_t oem_revision, creator, creator_revision;
} __attribute__((packed));

static uint64_t ged_addr;
static uint16_t sleep_port;

static const uint8_t *find_rsdp(uint64_t hint)
{
    if (hint && memcmp((const void *)hint, "RSD PTR ", 8) == 0)
        return (const uint8_t *)hint;
    for (uint64_t a = 0xE0000; a < 0x100000; a += 16)
        if (memcmp((const void *)a, "RSD PTR ", 8) == 0)
            return (const uint8_t *)a;
    return NULL;
}

static const struct sdt_header *find_table(const uint8_t *rsdp, const char sig[4])
{
    uint64_t xsdt = 0, rsdt = 0;
    memcpy(&rsdt, rsdp + 16, 4);
    if (rsdp[15] >= 2)
        memcpy(&xsdt, rsdp + 24, 8);
    const struct sdt_header *root = (const void *)(xsdt ? xsdt : rsdt);
    if (!root || root->length < sizeof *root)
        return NULL;
    unsigned width = xsdt ? 8 : 4;
    size_t n = (root->length - sizeof *root) / width;
    const uint8_t *entries = (const uint8_t *)(root + 1);
    for (size_t i = 0; i < n; i++) {
        uint64_t a = 0;
        memcpy(&a, entries + i * width, width);
        const struct sdt_header *t = (const void *)a;
        if (a && a < (1ull << 32) && memcmp(t->signature, sig, 4) == 0)
            return t;
    }
    return NULL;
}

/* An AML integer (ZeroOp, OneOp, or Byte/Word/DWord/QWord prefix) at p. */
static uint64_t aml_integer(const uint8_t *p)
{
    uint64_t v = 0;
    switch (p[0]) {
    case 0x01: return 1;
    case 0x0a: memcpy(&v, p + 1, 1); return v;
    case 0x0b: memcpy(&v, p + 1, 2); return v;
    case 0x0c: memcpy(&v, p + 1, 4); return v;
    case 0x0e: memcpy(&v, p + 1, 8); return v;
    default: return 0;
    }
}

static uint64_t find_ged(const struct sdt_header *dsdt)
{
    /* OperationRegion (GDST, SystemMemory, address, 1): 5B 80 "GDST" 00 <integer> */
    static const uint8_t pattern[] = { 0x5b, 0x80, 'G', 'D', 'S', 'T', 0x00 };
    const uint8_t *p = (const uint8_t *)dsdt, *end = p + dsdt->length - sizeof pattern - 9;
    for (; p < end; p++)
        if (p[0] == 0x5b && p[1] == 0x80 && memcmp(p, pattern, sizeof pattern) == 0)
            return aml_integer(p + sizeof pattern);
    return 0;
}

void acpi_init(uint64_t rsdp_hint)
{
    const uint8_t *rsdp = find_rsdp(rsdp_hint);
    const struct sdt_header *fadt = rsdp ? find_table(rsdp, "FACP") : NULL;
    if (!fadt)
        return;
    const uint8_t *f = (const uint8_t *)fadt;
    if (fadt->length >= 256 && f[244] == 1) {      /* SLEEP_CONTROL_REG in system I/O */
        uint64_t port;
        memcpy(&port, f + 248, 8);
        sleep_port = (uint16_t)port;
    }
    uint64_t dsdt = 0;
    if (fadt->length >= 148)
        memcpy(&dsdt, f + 140, 8);                  /* X_DSDT */
    if (!dsdt)
        memcpy(&dsdt, f + 40, 4);
    const struct sdt_header *d = (const void *)dsdt;
    if (dsdt && dsdt < (1ull << 32) && memcmp(d->signature, "DSDT", 4) == 0 && d->length > 64) {
        ged_addr = find_ged(d);
        if (ged_addr && !map_mmio(ged_addr, 1))
            ged_addr = 0;
    }
}

uint64_t acpi_ged_address(void) { return ged_addr; }
uint16_t acpi_sleep_port(void) { return sleep_port; }
