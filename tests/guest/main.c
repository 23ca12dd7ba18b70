/* The Cocoon test guest: banner, command line, and a line-command prompt on COM1; the
 * console protocol is tests/guest/README.md's and the team's GUEST-PROTOCOL.md. */
#include "guest.h"
#include "io.h"

#define PVH_MAGIC 0x336ec578u
#define LINE_MAX 600

static const char *cmdline = "";
static uint64_t rsdp_hint;
static bool acpi_done;
static char line[LINE_MAX + 1];
static size_t line_len;
static bool last_cr;

static void boot_info(int kind, uint64_t info)
{
    uint64_t p = 0;
    if (kind == BOOT_PVH && info && *(const uint32_t *)info == PVH_MAGIC) {
        p = *(const uint64_t *)(info + 24);                 /* cmdline_paddr */
        if (*(const uint32_t *)(info + 4) >= 1)
            rsdp_hint = *(const uint64_t *)(info + 32);     /* rsdp_paddr */
    } else if (kind == BOOT_LINUX && info) {
        p = *(const uint32_t *)(info + 0x228) |             /* hdr.cmd_line_ptr */
            (uint64_t)*(const uint32_t *)(info + 0x0c8) << 32;  /* ext_cmd_line_ptr */
        rsdp_hint = *(const uint64_t *)(info + 0x070);      /* acpi_rsdp_addr */
    }
    if (p && p < (1ull << 32))
        cmdline = (const char *)p;
}

static const char *skip_spaces(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

static void printable(const uint8_t *buf, size_t n)
{
    for (size_t i = 0; i < n && buf[i]; i++)
        put_char(buf[i] >= 0x20 && buf[i] < 0x7f ? (char)buf[i] : '.');
}

static void blk_error(int r, uint64_t sector)
{
    if (r == -1) {
        put_line("error: no block device");
    } else {
        put_str("error: I/O error on sector ");
        put_dec(sector);
        put_str("\r\n");
    }
}

static void cmd_read(const char *args)
{
    uint64_t sector;
    uint8_t buf[512];
    if (!parse_u64(&args, &sector) || *skip_spaces(args)) {
        put_line("error: usage: read N");
        return;
    }
    int r = blk_read(sector, buf);
    if (r) {
        blk_error(r, sector);
        return;
    }
    put_str("sector ");
    put_dec(sector);
    put_str(": ");
    printable(buf, sizeof buf);
    put_str("\r\n");
}

static void cmd_write(const char *args)
{
    uint64_t sector;
    uint8_t buf[512];
    if (!parse_u64(&args, &sector) || (*args && *args != ' ')) {
        put_line("error: usage: write N TEXT");
        return;
    }
    if (*args == ' ')
        args++;
    memset(buf, 0, sizeof buf);
    size_t n = strlen(args);
    memcpy(buf, args, n < sizeof buf ? n : sizeof buf);
    int r = blk_write(sector, buf);
    if (r) {
        blk_error(r, sector);
        return;
    }
    put_str("wrote sector ");
    put_dec(sector);
    put_str("\r\n");
}

static void ensure_acpi(void)
{
    if (!acpi_done) {
        acpi_done = true;
        acpi_init(rsdp_hint);
    }
}

static void run(char *cmd)
{
    cmd = (char *)skip_spaces(cmd);
    if (!*cmd)
        return;
    char *args = cmd;
    while (*args && *args != ' ')
        args++;
    if (*args)
        *args++ = 0;
    if (str_eq(cmd, "echo")) {
        put_line(args);
    } else if (str_eq(cmd, "ticks")) {
        put_str("ticks ");
        put_dec(ticks);
        put_str("\r\n");
    } else if (str_eq(cmd, "devices")) {
        cmd_devices();
    } else if (str_eq(cmd, "read")) {
        cmd_read(skip_spaces(args));
    } else if (str_eq(cmd, "write")) {
        cmd_write(skip_spaces(args));
    } else if (str_eq(cmd, "reboot")) {
        put_line("rebooting");
        power_reboot();
    } else if (str_eq(cmd, "poweroff")) {
        put_line("powering off");
        ensure_acpi();
        power_off();
    } else if (str_eq(cmd, "crash")) {
        put_line("crashing");
        crash_now();
    } else if (str_eq(cmd, "ignore")) {
        power_ignore = true;
        put_line("ignoring shutdown requests");
    } else {
        put_str("unknown command: ");
        put_line(cmd);
    }
}

static void input(int c)
{
    if (c == '\n' && last_cr) {
        last_cr = false;
        return;
    }
    last_cr = c == '\r';
    if (c == '\r' || c == '\n') {
        put_str("\r\n");
        line[line_len] = 0;
        line_len = 0;
        run(line);
        put_str("guest> ");
    } else if (c == 0x7f || c == 0x08) {
        if (line_len) {
            line_len--;
            put_str("\b \b");
        }
    } else if (c >= 0x20 && c < 0x7f && line_len < LINE_MAX) {
        line[line_len++] = (char)c;
        put_char((char)c);
    }
}

void guest_main(int kind, uint64_t info);
void guest_main(int kind, uint64_t info)
{
    serial_init();
    boot_info(kind, info);
    put_line("cocoon-test-guest: booted");
    put_str("cmdline: ");
    put_line(cmdline);
    devices_scan(cmdline);
    intr_init();
    __asm__ volatile("sti");
    put_str("guest> ");
    for (;;) {
        for (int c, n = 0; n < 256 && (c = serial_getc()) >= 0; n++)
            input(c);
        if (!acpi_done && ticks > 0)
            ensure_acpi();      /* after the prompt, so it does not delay it */
        power_poll();
        __asm__ volatile("hlt");
    }
}
