/* Mapping device memory above 4 GiB (the low 4 GiB are identity-mapped by boot.S): 2 MiB
 * pages, identity, uncached, with page tables taken from a small pool. */
#include "guest.h"

#define PAGE_PRESENT 0x1ull
#define PAGE_RW 0x2ull
#define PAGE_PWT 0x8ull
#define PAGE_PCD 0x10ull
#define PAGE_HUGE 0x80ull
#define ADDR_MASK 0x000ffffffffff000ull
#define POOL_PAGES 6

extern uint64_t pml4[512];
/* not cleared at boot (that costs time under an emulator): cleared when taken */
static uint64_t pool[POOL_PAGES][512] __attribute__((aligned(4096), section(".noinit")));
static unsigned pool_used;

static uint64_t *next_level(uint64_t *table, unsigned index)
{
    if (!(table[index] & PAGE_PRESENT)) {
        if (pool_used == POOL_PAGES)
            return NULL;
        uint64_t *t = pool[pool_used++];
        memset(t, 0, 4096);
        table[index] = (uint64_t)t | PAGE_PRESENT | PAGE_RW;
    }
    return (uint64_t *)(table[index] & ADDR_MASK);
}

bool map_mmio(uint64_t addr, uint64_t len)
{
    if (len == 0)
        return true;
    if (addr + len < addr || addr + len > (1ull << 47))
        return false;
    bool changed = false;
    for (uint64_t a = addr & ~0x1fffffull; a < addr + len; a += 0x200000) {
        if (a < (1ull << 32))
            continue;
        uint64_t *pdpt = next_level(pml4, (unsigned)(a >> 39) & 511);
        uint64_t *pd = pdpt ? next_level(pdpt, (unsigned)(a >> 30) & 511) : NULL;
        if (!pd)
            return false;
        uint64_t *e = &pd[(a >> 21) & 511];
        if (!(*e & PAGE_PRESENT)) {
            *e = a | PAGE_PRESENT | PAGE_RW | PAGE_PWT | PAGE_PCD | PAGE_HUGE;
            changed = true;
        }
    }
    if (changed) {
        uint64_t cr3;
        __asm__ volatile("mov %%cr3, %0; mov %0, %%cr3" : "=r"(cr3) : : "memory");
    }
    return true;
}
