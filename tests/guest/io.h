/* Port and memory-mapped I/O. */
#ifndef COCOON_GUEST_IO_H
#define COCOON_GUEST_IO_H

#include <stdint.h>

/* outb/inb, outw/inw, outl/inl */
#define PORT_IO(sfx, type)                                                          \
    static inline void out##sfx(uint16_t port, type v)                              \
    {                                                                               \
        __asm__ volatile("out" #sfx " %0, %1" : : "a"(v), "Nd"(port));              \
    }                                                                               \
    static inline type in##sfx(uint16_t port)                                       \
    {                                                                               \
        type v;                                                                     \
        __asm__ volatile("in" #sfx " %1, %0" : "=a"(v) : "Nd"(port));               \
        return v;                                                                   \
    }
PORT_IO(b, uint8_t)
PORT_IO(w, uint16_t)
PORT_IO(l, uint32_t)
#undef PORT_IO

static inline uint8_t mmio_read8(uint64_t a) { return *(volatile uint8_t *)a; }
static inline uint16_t mmio_read16(uint64_t a) { return *(volatile uint16_t *)a; }
static inline uint32_t mmio_read32(uint64_t a) { return *(volatile uint32_t *)a; }
static inline void mmio_write8(uint64_t a, uint8_t v) { *(volatile uint8_t *)a = v; }
static inline void mmio_write16(uint64_t a, uint16_t v) { *(volatile uint16_t *)a = v; }
static inline void mmio_write32(uint64_t a, uint32_t v) { *(volatile uint32_t *)a = v; }

static inline void barrier(void) { __asm__ volatile("" : : : "memory"); }

static inline void cpuid(uint32_t leaf, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
    __asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0));
}

#endif
