/* cocoonvirsh: list. */

#include "cli.h"

#define LIST_FILTERS_STATE                                                                     \
    (VIR_CONNECT_LIST_DOMAINS_RUNNING | VIR_CONNECT_LIST_DOMAINS_PAUSED |                      \
     VIR_CONNECT_LIST_DOMAINS_SHUTOFF | VIR_CONNECT_LIST_DOMAINS_OTHER)

/* Filter options and the VIR_CONNECT_LIST_DOMAINS_* flag each adds. */
static const struct {
    const char *opt;
    unsigned int flag;
} list_filters[] = {
    { "persistent", VIR_CONNECT_LIST_DOMAINS_PERSISTENT },
    { "transient", VIR_CONNECT_LIST_DOMAINS_TRANSIENT },
    { "with-snapshot", VIR_CONNECT_LIST_DOMAINS_HAS_SNAPSHOT },
    { "without-snapshot", VIR_CONNECT_LIST_DOMAINS_NO_SNAPSHOT },
    { "state-running", VIR_CONNECT_LIST_DOMAINS_RUNNING },
    { "state-paused", VIR_CONNECT_LIST_DOMAINS_PAUSED },
    { "state-shutoff", VIR_CONNECT_LIST_DOMAINS_SHUTOFF },
    { "state-other", VIR_CONNECT_LIST_DOMAINS_OTHER },
    { "autostart", VIR_CONNECT_LIST_DOMAINS_AUTOSTART },
    { "no-autostart", VIR_CONNECT_LIST_DOMAINS_NO_AUTOSTART },
    { "with-managed-save", VIR_CONNECT_LIST_DOMAINS_MANAGEDSAVE },
    { "without-managed-save", VIR_CONNECT_LIST_DOMAINS_NO_MANAGEDSAVE },
};

static unsigned int list_flags(const CliArgs *args)
{
    unsigned int flags = VIR_CONNECT_LIST_DOMAINS_ACTIVE;

    if (cli_args_bool(args, "inactive"))
        flags = VIR_CONNECT_LIST_DOMAINS_INACTIVE;
    if (cli_args_bool(args, "all"))
        flags = VIR_CONNECT_LIST_DOMAINS_ACTIVE | VIR_CONNECT_LIST_DOMAINS_INACTIVE;
    for (size_t i = 0; i < G_N_ELEMENTS(list_filters); i++) {
        if (cli_args_bool(args, list_filters[i].opt))
            flags |= list_filters[i].flag;
    }
    /* a state filter chooses the domains by state, shut off ones included, unless
     * --all or --inactive say otherwise */
    if ((flags & LIST_FILTERS_STATE) && !cli_args_bool(args, "all") &&
        !cli_args_bool(args, "inactive"))
        flags &= ~VIR_CONNECT_LIST_DOMAINS_ACTIVE;
    return flags;
}

static const char *list_state(CocoonDomain *dom)
{
    g_autoptr(CvError) err = NULL;
    int state, reason;

    if (CLI_CALL(dom->conn, domainGetState, "virDomainGetState", -1, &err, dom, &state, &reason,
                 0, &err) < 0)
        return "unknown";
    return cli_state_to_string(state);
}

/* --uuid / --id / --name: one line per domain, the asked-for fields in that order. */
static void list_print_plain(CocoonDomain **doms, size_t n, bool uuid, bool id, bool name)
{
    for (size_t i = 0; i < n; i++) {
        g_autoptr(GString) line = g_string_new(NULL);
        char u[DOMAIN_UUID_STRING_LEN];

        /* --id alone names only running domains: the others have no id to print */
        if (id && !uuid && !name && doms[i]->id < 0)
            continue;
        if (uuid) {
            cli_uuid_string(doms[i], u);
            g_string_append(line, u);
        }
        if (id) {
            if (line->len)
                g_string_append_c(line, ' ');
            if (doms[i]->id < 0)
                g_string_append_c(line, '-');
            else
                g_string_append_printf(line, "%d", doms[i]->id);
        }
        if (name) {
            if (line->len)
                g_string_append_c(line, ' ');
            g_string_append(line, doms[i]->name);
        }
        printf("%s\n", line->str);
    }
}

static bool cmd_list(CliCtl *ctl, const CliArgs *args)
{
    bool uuid = cli_args_bool(args, "uuid");
    bool name = cli_args_bool(args, "name");
    bool id = cli_args_bool(args, "id");
    CocoonDomain **doms = NULL;
    g_autoptr(CvError) err = NULL;
    CocoonConn *conn;
    size_t n = 0;

    if (cli_args_bool(args, "table")) {
        const char *other = name ? "name" : uuid ? "uuid" : id ? "id" : NULL;

        if (other) {
            cli_error("Options --table and --%s are mutually exclusive", other);
            return false;
        }
    }
    if (!(conn = cli_conn(ctl)))
        return false;
    if (CLI_CALL(conn, connectListAllDomains, "virConnectListAllDomains", -1, &err, conn, &doms,
                 &n, list_flags(args), &err) < 0) {
        cli_error("Failed to list domains");
        cli_error_report(err);
        return false;
    }
    if (uuid || name || id) {
        list_print_plain(doms, n, uuid, id, name);
    } else {
        g_autoptr(CliTable) table = cli_table_new("Id", "Name", "State", NULL);

        for (size_t i = 0; i < n; i++) {
            g_autofree char *idstr =
                doms[i]->id < 0 ? g_strdup("-") : g_strdup_printf("%d", doms[i]->id);

            cli_table_add_row(table, idstr, doms[i]->name, list_state(doms[i]), NULL);
        }
        cli_table_print(table, !ctl->quiet);
    }
    cocoon_domain_list_free(doms);
    return true;
}

static const CliOpt opts_list[] = {
    { "inactive", CLI_OPT_BOOL, 0, "list inactive domains" },
    { "all", CLI_OPT_BOOL, 0, "list inactive & active domains" },
    { "transient", CLI_OPT_BOOL, 0, "list transient domains" },
    { "persistent", CLI_OPT_BOOL, 0, "list persistent domains" },
    { "with-snapshot", CLI_OPT_BOOL, 0, "list domains with existing snapshot" },
    { "without-snapshot", CLI_OPT_BOOL, 0, "list domains without a snapshot" },
    { "state-running", CLI_OPT_BOOL, 0, "list domains in running state" },
    { "state-paused", CLI_OPT_BOOL, 0, "list domains in paused state" },
    { "state-shutoff", CLI_OPT_BOOL, 0, "list domains in shutoff state" },
    { "state-other", CLI_OPT_BOOL, 0, "list domains in other states" },
    { "autostart", CLI_OPT_BOOL, 0, "list domains with autostart enabled" },
    { "no-autostart", CLI_OPT_BOOL, 0, "list domains with autostart disabled" },
    { "with-managed-save", CLI_OPT_BOOL, 0, "list domains with managed save state" },
    { "without-managed-save", CLI_OPT_BOOL, 0, "list domains without managed save" },
    { "uuid", CLI_OPT_BOOL, 0, "list uuid's only" },
    { "name", CLI_OPT_BOOL, 0, "list domain names only" },
    { "id", CLI_OPT_BOOL, 0, "list domain IDs only" },
    { "table", CLI_OPT_BOOL, 0, "list table (default)" },
    { NULL },
};

const CliCmd cli_cmds_list[] = {
    { "list", CLI_GROUP_MONITOR, cmd_list, opts_list, "list domains", "Returns list of domains." },
    { NULL },
};
