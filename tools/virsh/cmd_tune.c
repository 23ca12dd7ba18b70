/* cocoonvirsh: changing a domain (edit, setmem, setmaxmem, setvcpus, send-key) and what a
 * microVM has not (domdisplay, screenshot), in virsh's words. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* --config / --live / --current as VIR_DOMAIN_AFFECT_*; false (printed) on a bad mix. */
static bool affect_flags(const CliArgs *args, unsigned int *ret_flags)
{
    bool config = cli_args_bool(args, "config"), live = cli_args_bool(args, "live");
    if (cli_args_bool(args, "current") && (config || live)) {
        cli_error("Options --current and --%s are mutually exclusive", config ? "config" : "live");
        return false;
    }
    *ret_flags = (config ? VIR_DOMAIN_AFFECT_CONFIG : 0) | (live ? VIR_DOMAIN_AFFECT_LIVE : 0);
    return true;
}

/* A size with virsh's suffixes (default KiB) in KiB; false when not one. */
static bool size_kib(const char *text, unsigned long long *ret_kib)
{
    static const struct {
        const char *suffix;
        unsigned long long bytes;
    } units[] = {
        {"", 1024ULL},         {"b", 1},          {"B", 1},
        {"k", 1024ULL},        {"K", 1024ULL},    {"KiB", 1024ULL},
        {"KB", 1000ULL},       {"m", 1ULL << 20}, {"M", 1ULL << 20},
        {"MiB", 1ULL << 20},   {"MB", 1000000ULL}, {"g", 1ULL << 30},
        {"G", 1ULL << 30},     {"GiB", 1ULL << 30}, {"GB", 1000000000ULL},
        {"t", 1ULL << 40},     {"T", 1ULL << 40}, {"TiB", 1ULL << 40},
    };
    char *end = NULL;
    errno = 0;
    if (!text || !g_ascii_isdigit(*text))
        return false;
    unsigned long long v = g_ascii_strtoull(text, &end, 10);
    if (errno)
        return false;
    for (size_t i = 0; i < G_N_ELEMENTS(units); i++) {
        if (strcmp(end, units[i].suffix) == 0) {
            if (v > G_MAXUINT64 / units[i].bytes)
                return false;
            *ret_kib = (v * units[i].bytes + 1023) / 1024;
            return true;
        }
    }
    return false;
}

static bool set_memory(CliCtl *ctl, const CliArgs *args, bool maximum)
{
    g_autoptr(CocoonDomain) dom = cli_domain_lookup(ctl, args, "domain", CLI_BY_ANY);
    g_autoptr(CvError) err = NULL;
    const char *size = cli_args_string(args, "size");
    unsigned long long kib;
    unsigned int flags;

    if (!dom || !affect_flags(args, &flags))
        return false;
    if (!size_kib(size, &kib) || kib == 0) {
        cli_error("Numeric value '%s' for <size> option is malformed or out of range", size);
        return false;
    }
    if (maximum)
        flags |= VIR_DOMAIN_MEM_MAXIMUM;
    if (CLI_CALL(dom->conn, domainSetMemoryFlags, "virDomainSetMemoryFlags", -1, &err, dom, kib,
                 flags, &err) < 0) {
        cli_error_report(err);
        return false;
    }
    return true;
}

static bool cmd_setmem(CliCtl *ctl, const CliArgs *args)
{
    return set_memory(ctl, args, false);
}

static bool cmd_setmaxmem(CliCtl *ctl, const CliArgs *args)
{
    return set_memory(ctl, args, true);
}

static bool cmd_setvcpus(CliCtl *ctl, const CliArgs *args)
{
    g_autoptr(CocoonDomain) dom = cli_domain_lookup(ctl, args, "domain", CLI_BY_ANY);
    g_autoptr(CvError) err = NULL;
    const char *count = cli_args_string(args, "count");
    guint64 n = 0;
    unsigned int flags;

    if (!dom || !affect_flags(args, &flags))
        return false;
    if (!g_ascii_string_to_unsigned(count, 10, 1, G_MAXINT, &n, NULL)) {
        cli_error("Numeric value '%s' for <count> option is malformed or out of range", count);
        return false;
    }
    if (cli_args_bool(args, "maximum"))
        flags |= VIR_DOMAIN_VCPU_MAXIMUM;
    if (cli_args_bool(args, "guest")) {
        cli_no_support(&err, "virDomainSetVcpusFlags with --guest (no guest agent)");
        cli_error_report(err);
        return false;
    }
    if (CLI_CALL(dom->conn, domainSetVcpusFlags, "virDomainSetVcpusFlags", -1, &err, dom,
                 (unsigned int)n, flags, &err) < 0) {
        cli_error_report(err);
        return false;
    }
    return true;
}

/* Linux key names send-key takes (a Ctrl+Alt+Del is all a microVM takes) */
static const struct {
    const char *name;
    unsigned int code;
} key_names[] = {
    {"KEY_LEFTCTRL", 29}, {"KEY_LEFTALT", 56}, {"KEY_RIGHTCTRL", 97},
    {"KEY_RIGHTALT", 100}, {"KEY_DELETE", 111},
};

static bool cmd_send_key(CliCtl *ctl, const CliArgs *args)
{
    static const char *const key_opts[] = {"keycode", "keycode2", "keycode3", "keycode4"};
    g_autoptr(CocoonDomain) dom = cli_domain_lookup(ctl, args, "domain", CLI_BY_ANY);
    g_autoptr(CvError) err = NULL;
    const char *codeset = cli_args_string(args, "codeset");
    const char *hold = cli_args_string(args, "holdtime");
    unsigned int keys[G_N_ELEMENTS(key_opts)];
    guint64 holdtime = 0;
    int n = 0;

    if (!dom)
        return false;
    if (codeset && strcmp(codeset, "linux") != 0) {
        cli_error("unknown codeset: '%s' (Cocoon's microVMs take linux key codes)", codeset);
        return false;
    }
    if (hold && !g_ascii_string_to_unsigned(hold, 10, 0, G_MAXUINT, &holdtime, NULL)) {
        cli_error("Numeric value '%s' for <holdtime> option is malformed or out of range", hold);
        return false;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(key_opts); i++) {
        const char *k = cli_args_string(args, key_opts[i]);
        guint64 code;
        if (!k)
            continue;
        bool found = false;
        for (size_t j = 0; j < G_N_ELEMENTS(key_names) && !found; j++)
            if (g_ascii_strcasecmp(k, key_names[j].name) == 0) {
                keys[n++] = key_names[j].code;
                found = true;
            }
        bool hex = g_str_has_prefix(k, "0x") || g_str_has_prefix(k, "0X");
        if (!found && g_ascii_string_to_unsigned(hex ? k + 2 : k, hex ? 16 : 10, 0, 0xffff,
                                                 &code, NULL)) {
            keys[n++] = (unsigned int)code;
            found = true;
        }
        if (!found) {
            cli_error("invalid keycode: '%s' (a microVM takes only KEY_LEFTCTRL KEY_LEFTALT "
                      "KEY_DELETE, on Firecracker)",
                      k);
            return false;
        }
    }
    if (CLI_CALL(dom->conn, domainSendKey, "virDomainSendKey", -1, &err, dom,
                 VIR_KEYCODE_SET_LINUX, (unsigned int)holdtime, keys, n, 0, &err) < 0) {
        cli_error_report(err);
        return false;
    }
    return true;
}

static bool cmd_domdisplay(CliCtl *ctl, const CliArgs *args)
{
    g_autoptr(CocoonDomain) dom = cli_domain_lookup(ctl, args, "domain", CLI_BY_ANY);
    if (!dom)
        return false;
    cli_error("No graphical display found: a microVM has no display; use 'console'");
    return false;
}

static bool cmd_screenshot(CliCtl *ctl, const CliArgs *args)
{
    g_autoptr(CocoonDomain) dom = cli_domain_lookup(ctl, args, "domain", CLI_BY_ANY);
    if (!dom)
        return false;
    cli_error("could not take a screenshot of %s", dom->name);
    cli_error("Operation not supported: a microVM has no display; use 'console'");
    return false;
}

typedef struct {
    CocoonConn *conn;
    char *name; /* the domain's name as redefined */
} EditDomain;

static bool edit_domain_apply(const char *edited, void *opaque, CvError **err)
{
    EditDomain *e = opaque;
    g_autoptr(CocoonDomain) redefined =
        CLI_CALL(e->conn, domainDefineXMLFlags, "virDomainDefineXMLFlags", NULL, err, e->conn,
                 edited, VIR_DOMAIN_DEFINE_VALIDATE, err);
    if (!redefined)
        return false;
    e->name = g_strdup(redefined->name);
    return true;
}

static bool cmd_edit(CliCtl *ctl, const CliArgs *args)
{
    g_autoptr(CocoonDomain) dom = cli_domain_lookup(ctl, args, "domain", CLI_BY_ANY);
    g_autoptr(CvError) err = NULL;
    g_autofree char *orig = NULL;

    if (!dom)
        return false;
    orig = CLI_CALL(dom->conn, domainGetXMLDesc, "virDomainGetXMLDesc", NULL, &err, dom,
                    VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE, &err);
    if (!orig) {
        cli_error_report(err);
        return false;
    }
    EditDomain e = { .conn = dom->conn };
    CliEditResult res = cli_edit_text(orig, edit_domain_apply, &e);
    if (res == CLI_EDIT_UNCHANGED)
        printf("Domain '%s' XML configuration not changed.\n", dom->name);
    else if (res == CLI_EDIT_APPLIED)
        printf("Domain '%s' XML configuration edited.\n", e.name);
    g_free(e.name);
    return res != CLI_EDIT_FAILED;
}

#define OPTS_AFFECT                                                                            \
    { "config", CLI_OPT_BOOL, 0, "affect next boot" },                                         \
        { "live", CLI_OPT_BOOL, 0, "affect running domain" },                                  \
        { "current", CLI_OPT_BOOL, 0, "affect current domain" }

static const CliOpt opts_setmem[] = {
    CLI_OPT_DOMAIN,
    { "size", CLI_OPT_STRING, CLI_OPT_REQUIRED | CLI_OPT_POSITIONAL | CLI_OPT_NUMBER,
      "new memory size, as scaled integer (default KiB)" },
    OPTS_AFFECT,
    { NULL },
};

static const CliOpt opts_setvcpus[] = {
    CLI_OPT_DOMAIN,
    { "count", CLI_OPT_STRING, CLI_OPT_REQUIRED | CLI_OPT_POSITIONAL | CLI_OPT_NUMBER,
      "number of virtual CPUs" },
    { "maximum", CLI_OPT_BOOL, 0, "set maximum limit on next boot" },
    OPTS_AFFECT,
    { "guest", CLI_OPT_BOOL, 0, "modify cpu state in the guest" },
    { NULL },
};

static const CliOpt opts_send_key[] = {
    CLI_OPT_DOMAIN,
    { "codeset", CLI_OPT_STRING, 0, "the codeset of keycodes, default:linux" },
    { "holdtime", CLI_OPT_STRING, 0, "the time (in milliseconds) how long the keys will be held" },
    { "keycode", CLI_OPT_STRING, CLI_OPT_REQUIRED | CLI_OPT_POSITIONAL, "the key code" },
    { "keycode2", CLI_OPT_STRING, CLI_OPT_POSITIONAL, "the second key code" },
    { "keycode3", CLI_OPT_STRING, CLI_OPT_POSITIONAL, "the third key code" },
    { "keycode4", CLI_OPT_STRING, CLI_OPT_POSITIONAL, "the fourth key code" },
    { NULL },
};

static const CliOpt opts_screenshot[] = {
    CLI_OPT_DOMAIN,
    { "file", CLI_OPT_STRING, CLI_OPT_POSITIONAL, "where to store the screenshot" },
    { "screen", CLI_OPT_STRING, 0, "ID of a screen to take screenshot of" },
    { NULL },
};

const CliCmd cli_cmds_tune[] = {
    { "edit", CLI_GROUP_DOMAIN, cmd_edit, cli_opts_domain_only, "edit XML configuration for a domain",
      "Edit the XML configuration for a domain ($VISUAL, $EDITOR or vi); the new one is "
      "validated, the old one kept when it is refused." },
    { "setmem", CLI_GROUP_DOMAIN, cmd_setmem, opts_setmem, "change memory allocation",
      "Change the current memory allocation in the guest domain (its balloon)." },
    { "setmaxmem", CLI_GROUP_DOMAIN, cmd_setmaxmem, opts_setmem, "change maximum memory limit",
      "Change the maximum memory allocation limit in the guest domain." },
    { "setvcpus", CLI_GROUP_DOMAIN, cmd_setvcpus, opts_setvcpus, "change number of virtual CPUs",
      "Change the number of virtual CPUs in the guest domain (live: Cloud Hypervisor only)." },
    { "send-key", CLI_GROUP_DOMAIN, cmd_send_key, opts_send_key, "Send keycodes to the guest",
      "Send keycodes to the guest: Firecracker takes only Ctrl+Alt+Del "
      "(KEY_LEFTCTRL KEY_LEFTALT KEY_DELETE); Cloud Hypervisor has no keyboard." },
    { "domdisplay", CLI_GROUP_DOMAIN, cmd_domdisplay, cli_opts_domain_only, "domain display connection URI",
      "A microVM has no graphical display: refused; use 'console'." },
    { "screenshot", CLI_GROUP_DOMAIN, cmd_screenshot, opts_screenshot,
      "take a screenshot of a current domain console and store it into a file",
      "A microVM has no display to take a screenshot of: refused." },
    { NULL },
};
