/* Reset, power-off, and the two host requests: Firecracker's Ctrl+Alt+Del (key events on
 * the i8042) and Cloud Hypervisor's ACPI power button (a bit in the GED event register). */
#include "guest.h"
#include "io.h"

#define I8042_DATA 0x60
#define I8042_STATUS 0x64
#define I8042_CMD_RESET 0xfe
#define S5_VALUE 0x34           /* SLP_TYP 5 << 2 | SLP_EN << 5, CH's sleep control */
#define GED_POWER_BUTTON 0x08

bool power_ignore;
static bool key_ctrl, key_alt, key_ext, key_break;

static void __attribute__((noreturn)) stop(void)
{
    for (;;)
        __asm__ volatile("sti; hlt");
}

void power_reboot(void)
{
    outb(I8042_STATUS, I8042_CMD_RESET);
    stop();
}

void power_off(void)
{
    uint16_t port = acpi_sleep_port();
    if (port)
        outb(port, S5_VALUE);
    /* No ACPI S5 (Firecracker): reset, as Linux with reboot=k does. */
    power_reboot();
}

/* Scan codes: Firecracker sends set 2 (Ctrl 0x14, Alt 0x11, Del E0 71, breaks after F0);
 * set 1 (0x1d, 0x38, E0 53, breaks with bit 7) is understood too. */
static bool key_event(uint8_t b)
{
    if (b == 0xe0) {
        key_ext = true;
        return false;
    }
    if (b == 0xf0) {
        key_break = true;
        return false;
    }
    bool down = !key_break, ext = key_ext;
    key_break = key_ext = false;
    if (b >= 0x80 && b != 0xfa) {
        down = false;
        b &= 0x7f;
    }
    if (b == 0x14 || b == 0x1d)
        key_ctrl = down;
    else if (b == 0x11 || b == 0x38)
        key_alt = down;
    else if (ext && (b == 0x71 || b == 0x53) && down && key_ctrl && key_alt)
        return true;
    return false;
}

/* A request from the host: reported on a line of its own, then acted on unless ignored. */
static void host_request(const char *what, const char *action, void (*act)(void))
{
    put_str("\r\n");
    put_str(what);
    if (power_ignore) {
        put_str(": ignored\r\nguest> ");
        return;
    }
    put_str(": ");
    put_line(action);
    act();
}

void power_poll(void)
{
    for (unsigned n = 0; n < 16 && (inb(I8042_STATUS) & 1); n++) {
        if (key_event(inb(I8042_DATA))) {
            key_ctrl = key_alt = false;
            host_request("ctrl-alt-del", "rebooting", power_reboot);
        }
    }
    uint64_t ged = acpi_ged_address();
    if (ged && (mmio_read8(ged) & GED_POWER_BUTTON))
        host_request("power button", "powering off", power_off);
}
