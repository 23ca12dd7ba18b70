/* Interrupts: an IDT for the exceptions and three device vectors, the LAPIC timer at
 * 100 Hz (the `ticks` counter), and the IOAPIC routing COM1 and the i8042 to a vector that
 * only wakes the idle loop.  The legacy PICs are masked. */
#include "guest.h"
#include "io.h"

#define LAPIC 0xFEE00000ull
#define LAPIC_SVR 0x0F0
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_DIV 0x3E0
#define IOAPIC 0xFEC00000ull

#define VEC_TIMER 0x20
#define VEC_WAKE 0x21
#define VEC_SPURIOUS 0xFF
#define HZ 100

struct idt_gate {
    uint16_t off_lo, selector;
    uint8_t ist, type;
    uint16_t off_mid;
    uint32_t off_hi, zero;
} __attribute__((packed));

struct idt_ptr {
    uint16_t limit;
    uint64_t base;
} __attribute__((packed));

static struct idt_gate idt[256] __attribute__((aligned(16)));
extern void (*const exc_table[20])(void);
extern void isr_timer(void), isr_ack(void), isr_spurious(void);

static void set_gate(unsigned vec, void (*fn)(void))
{
    uint64_t a = (uint64_t)fn;
    idt[vec] = (struct idt_gate){ .off_lo = (uint16_t)a, .selector = 0x08, .type = 0x8e,
                                  .off_mid = (uint16_t)(a >> 16), .off_hi = (uint32_t)(a >> 32) };
}

static void lapic_write(unsigned reg, uint32_t v) { mmio_write32(LAPIC + reg, v); }

static void ioapic_route(unsigned irq, unsigned vector)
{
    mmio_write32(IOAPIC, 0x10 + 2 * irq + 1);
    mmio_write32(IOAPIC + 0x10, 0);             /* destination: APIC 0 */
    mmio_write32(IOAPIC, 0x10 + 2 * irq);
    mmio_write32(IOAPIC + 0x10, vector);        /* fixed, physical, edge, active high */
}

/* The LAPIC timer's input clock: KVM reports it in CPUID 0x40000010 (kHz) when the VMM
 * passes that leaf on; otherwise KVM's fixed 1 GHz. */
static uint32_t lapic_hz(void)
{
    uint32_t a, b, c, d;
    cpuid(0x40000000, &a, &b, &c, &d);
    if (b == 0x4b4d564b && a >= 0x40000010) {  /* "KVMK" */
        cpuid(0x40000010, &a, &b, &c, &d);
        if (b)
            return b * 1000u;
    }
    return 1000000000u;
}

void intr_init(void)
{
    for (unsigned v = 0; v < 20; v++)
        set_gate(v, exc_table[v]);
    set_gate(VEC_TIMER, isr_timer);
    set_gate(VEC_WAKE, isr_ack);
    set_gate(VEC_SPURIOUS, isr_spurious);
    struct idt_ptr p = { sizeof idt - 1, (uint64_t)idt };
    __asm__ volatile("lidt %0" : : "m"(p));

    outb(0x21, 0xff);                           /* both 8259s masked */
    outb(0xa1, 0xff);
    lapic_write(LAPIC_SVR, 0x100 | VEC_SPURIOUS);
    lapic_write(LAPIC_LVT_LINT0, 0x10000);      /* no ExtINT from the 8259 */
    lapic_write(LAPIC_TIMER_DIV, 0x0b);         /* divide by 1 */
    lapic_write(LAPIC_LVT_TIMER, (1u << 17) | VEC_TIMER);   /* periodic */
    lapic_write(LAPIC_TIMER_INIT, lapic_hz() / HZ);
    ioapic_route(1, VEC_WAKE);                  /* i8042 keyboard */
    ioapic_route(4, VEC_WAKE);                  /* COM1 */
}

void crash_now(void)
{
    /* An empty IDT: the fault cannot be delivered, nor the double fault: a triple fault. */
    struct idt_ptr p = { 0, 0 };
    __asm__ volatile("cli; lidt %0; ud2" : : "m"(p));
    for (;;)
        __asm__ volatile("sti; hlt");
}

void guest_exception(uint64_t vector, uint64_t error, const uint64_t *frame);
void guest_exception(uint64_t vector, uint64_t error, const uint64_t *frame)
{
    put_str("\r\nexception ");
    put_dec(vector);
    put_str(" error ");
    put_hex(error);
    put_str(" at ");
    put_hex(frame[0]);
    put_str("\r\n");
}
