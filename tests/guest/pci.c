/* PCI configuration space through the 0xCF8/0xCFC ports (Cloud Hypervisor has them as well
 * as ECAM), bus 0 only: that is where CH puts every device of its default segment. */
#include "guest.h"
#include "io.h"

static uint32_t address(unsigned bus, unsigned dev, unsigned fn, unsigned off)
{
    return 0x80000000u | bus << 16 | dev << 11 | fn << 8 | (off & 0xfc);
}

uint32_t pci_read32(unsigned bus, unsigned dev, unsigned fn, unsigned off)
{
    outl(0xcf8, address(bus, dev, fn, off));
    return inl(0xcfc);
}

void pci_write16(unsigned bus, unsigned dev, unsigned fn, unsigned off, uint16_t v)
{
    outl(0xcf8, address(bus, dev, fn, off));
    outw((uint16_t)(0xcfc + (off & 2)), v);
}

bool pci_present(void)
{
    uint32_t id = pci_read32(0, 0, 0, 0);
    return id != 0xffffffffu && id != 0;
}

uint64_t pci_bar_address(unsigned bus, unsigned dev, unsigned fn, unsigned bar)
{
    uint32_t lo = pci_read32(bus, dev, fn, 0x10 + 4 * bar);
    if (lo & 1)
        return 0;                           /* an I/O BAR: not what virtio-pci uses here */
    uint64_t a = lo & ~0xfull;
    if (((lo >> 1) & 3) == 2 && bar < 5)
        a |= (uint64_t)pci_read32(bus, dev, fn, 0x14 + 4 * bar) << 32;
    return a;
}
