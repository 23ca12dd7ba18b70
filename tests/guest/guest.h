/* The Cocoon test guest: shared declarations.  Freestanding: no libc, identity-mapped
 * memory, one CPU, interrupts only to wake the idle loop. */
#ifndef COCOON_GUEST_H
#define COCOON_GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BOOT_PVH   1
#define BOOT_LINUX 2

/* lib.c */
void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
bool str_eq(const char *a, const char *b);
bool str_starts(const char *s, const char *prefix);
/* Parses an unsigned number (decimal, or hex after 0x) at *s, advancing *s past it. */
bool parse_u64(const char **s, uint64_t *out);
/* Writes v in decimal into buf; returns where the digits start. */
char *format_dec(char buf[21], uint64_t v);

/* serial.c: COM1, polled */
void serial_init(void);
void put_char(char c);
void put_str(const char *s);
void put_line(const char *s);   /* s then "\r\n" */
void put_dec(uint64_t v);
void put_hex(uint64_t v);       /* 0x..., lower case, no padding */
void put_hex2(unsigned v);      /* two digits, no prefix */
int serial_getc(void);          /* -1 when nothing is waiting */

/* intr.c */
extern volatile uint64_t ticks;
void intr_init(void);
void crash_now(void) __attribute__((noreturn));

/* paging.c: make [addr, addr+len) accessible (identity, uncached) */
bool map_mmio(uint64_t addr, uint64_t len);

/* acpi.c */
void acpi_init(uint64_t rsdp_hint);
uint64_t acpi_ged_address(void);        /* 0: none found */
uint16_t acpi_sleep_port(void);         /* 0: none found */

/* pci.c */
uint32_t pci_read32(unsigned bus, unsigned dev, unsigned fn, unsigned off);
void pci_write16(unsigned bus, unsigned dev, unsigned fn, unsigned off, uint16_t v);
bool pci_present(void);
uint64_t pci_bar_address(unsigned bus, unsigned dev, unsigned fn, unsigned bar);

/* devices.c */
struct virtio_dev {
    bool pci;
    uint64_t mmio;          /* virtio-mmio window */
    uint8_t bus, dev, fn;   /* virtio-pci function */
    uint32_t type;          /* virtio device id */
};
void devices_scan(const char *cmdline);
size_t devices_count(void);
const struct virtio_dev *devices_get(size_t i);
const char *virtio_type_name(uint32_t type, char buf[24]);
void cmd_devices(void);

/* virtio_blk.c */
/* 0 ok, -1 no block device, -2 device error */
int blk_read(uint64_t sector, uint8_t buf[512]);
int blk_write(uint64_t sector, const uint8_t buf[512]);

/* power.c */
void power_reboot(void) __attribute__((noreturn));
void power_off(void) __attribute__((noreturn));
void power_poll(void);          /* i8042 keys (Ctrl+Alt+Del), ACPI power button */
extern bool power_ignore;

#endif
