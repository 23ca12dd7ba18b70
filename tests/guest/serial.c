/* COM1 (an 8250/16550 at 0x3f8), polled.  Every port access can be a VM exit, so output
 * checks "transmitter empty" once per 16 bytes (the 16550's FIFO depth), not per byte. */
#include "guest.h"
#include "io.h"

#define COM1 0x3f8
#define REG_DATA 0
#define REG_IER 1
#define REG_FCR 2
#define REG_LCR 3
#define REG_MCR 4
#define REG_LSR 5
#define LSR_DATA_READY 0x01
#define LSR_THR_EMPTY 0x20

static unsigned tx_room;

void serial_init(void)
{
    outb(COM1 + REG_LCR, 0x03);     /* 8N1, divisor latch off */
    outb(COM1 + REG_FCR, 0x07);     /* FIFOs on and cleared */
    outb(COM1 + REG_MCR, 0x0b);     /* DTR, RTS, OUT2 (the interrupt line) */
    outb(COM1 + REG_IER, 0x01);     /* interrupt on received data: wakes the idle loop */
    tx_room = 0;
}

void put_char(char c)
{
    if (tx_room == 0) {
        for (unsigned spins = 0; !(inb(COM1 + REG_LSR) & LSR_THR_EMPTY) && spins < 100000; spins++)
            ;
        tx_room = 16;
    }
    outb(COM1 + REG_DATA, (uint8_t)c);
    tx_room--;
}

void put_str(const char *s)
{
    while (*s)
        put_char(*s++);
}

void put_line(const char *s)
{
    put_str(s);
    put_str("\r\n");
}

void put_dec(uint64_t v)
{
    char buf[21];
    put_str(format_dec(buf, v));
}

static const char hexdigits[] = "0123456789abcdef";

void put_hex(uint64_t v)
{
    char buf[19];
    int i = 18;
    buf[i] = 0;
    do {
        buf[--i] = hexdigits[v & 15];
        v >>= 4;
    } while (v);
    buf[--i] = 'x';
    buf[--i] = '0';
    put_str(buf + i);
}

void put_hex2(unsigned v)
{
    put_char(hexdigits[(v >> 4) & 15]);
    put_char(hexdigits[v & 15]);
}

int serial_getc(void)
{
    if (!(inb(COM1 + REG_LSR) & LSR_DATA_READY))
        return -1;
    return inb(COM1 + REG_DATA);
}
