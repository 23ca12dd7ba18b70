#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdio.h>

#include "driver/driver.h"

/*
 * cocoonvirsh internals: the command table, the per-invocation state, argument parsing and the
 * printing helpers shared by the cmd_*.c files. Commands call only the driver API (driver.h);
 * everything here is parsing and printing.
 */

typedef enum {
    CLI_OPT_BOOL,   /* --name, no value */
    CLI_OPT_STRING, /* --name VALUE or --name=VALUE */
} CliOptType;

enum {
    CLI_OPT_REQUIRED = 1 << 0,   /* the command fails to parse without it */
    CLI_OPT_POSITIONAL = 1 << 1, /* may be given without --name, in declaration order */
    CLI_OPT_NUMBER = 1 << 2,     /* a number (virsh's errors name it --name, not <name>) */
};

typedef struct {
    const char *name;
    CliOptType type;
    unsigned int flags;
    const char *help;
} CliOpt;

/* The help groups, in the order `help` prints them (virsh's group names and keywords). */
typedef enum {
    CLI_GROUP_DOMAIN,
    CLI_GROUP_MONITOR,
    CLI_GROUP_HOST,
    CLI_GROUP_SNAPSHOT,
    CLI_GROUP_VIRSH,
    CLI_GROUP_LAST
} CliGroup;

typedef struct CliCtl CliCtl;
typedef struct CliArgs CliArgs;

typedef struct {
    const char *name;
    CliGroup group;
    bool (*handler)(CliCtl *ctl, const CliArgs *args);
    const CliOpt *opts; /* terminated by an entry with name NULL */
    const char *summary;
    const char *description; /* NULL: none */
} CliCmd;

#define CLI_MAX_OPTS 32

/* The parsed arguments of one command: values[i] belongs to cmd->opts[i]. */
struct CliArgs {
    const CliCmd *cmd;
    bool present[CLI_MAX_OPTS];
    char *values[CLI_MAX_OPTS]; /* owned; NULL for bool options */
};

struct CliCtl {
    char *uri;          /* -c/--connect; NULL: the default of driver.h */
    CocoonConn *conn;   /* opened by the first command that needs it */
    bool quiet;
    bool readonly;
    bool quit;          /* set by quit/exit */
};

/* The usual domain argument: required, positional, any of id, uuid or name. */
#define CLI_OPT_DOMAIN                                                                         \
    { "domain", CLI_OPT_STRING, CLI_OPT_REQUIRED | CLI_OPT_POSITIONAL, "domain name, id or uuid" }

/* ---- commands.c ---- */

/** cli_command_find: the command named name, or NULL. */
const CliCmd *cli_command_find(const char *name);

/** cli_command_tables: the NULL-terminated list of command tables (one per cmd_*.c file). */
const CliCmd *const *cli_command_tables(void);

/** cli_group_name: the title of a help group ("Domain Management"). */
const char *cli_group_name(CliGroup group);

/** cli_group_keyword: the keyword of a help group ("domain"). */
const char *cli_group_keyword(CliGroup group);

/* The tables, one per command group file; each ends with an entry whose name is NULL. */
extern const CliCmd cli_cmds_domain[];
extern const CliCmd cli_cmds_lifecycle[];
extern const CliCmd cli_cmds_list[];
extern const CliCmd cli_cmds_host[];
extern const CliCmd cli_cmds_console[];
extern const CliCmd cli_cmds_monitor[]; /* cmd_monitor.c */
extern const CliCmd cli_cmds_tune[];    /* cmd_tune.c */
extern const CliCmd cli_cmds_node[];    /* cmd_node.c */
extern const CliCmd cli_cmds_event[];   /* cmd_event.c */
extern const CliCmd cli_cmds_snapshot[];
extern const CliCmd cli_cmds_save[];
extern const CliCmd cli_cmds_doctor[];
extern const CliCmd cli_cmds_snapshot_archive[];
extern const CliCmd cli_cmds_gc[];
extern const CliCmd cli_cmds_clone[];

/* The options of a command that takes only the domain argument. */
extern const CliOpt cli_opts_domain_only[];

/* ---- cmd_console.c ---- */

/**
 * cli_console_run: virsh's console session on dom (dev_name NULL: the first console; flags:
 * VIR_DOMAIN_CONSOLE_*): banner, raw terminal, Ctrl+] leaves. Prints errors; false on failure.
 */
bool cli_console_run(CliCtl *ctl, CocoonDomain *dom, const char *dev_name, unsigned int flags);

/* ---- cli_parse.c ---- */

/**
 * cli_line_split: split a command string into commands (';'-separated) of words, honouring
 * '…' and "…" quoting, backslash escapes and '#' comments. Returns a GPtrArray of GStrv
 * (one per non-empty command), never NULL.
 */
GPtrArray *cli_line_split(const char *line);

/**
 * cli_args_parse: parse words (words[0] is the command name) against the command table.
 * Prints the error (virsh's wording) and returns false on unknown command, unknown option,
 * missing value, unexpected data or missing required option. *ret_args is filled on success
 * and must be released with cli_args_clear.
 */
bool cli_args_parse(char **words, CliArgs *ret_args);

/** cli_args_clear: free the values of args. */
void cli_args_clear(CliArgs *args);

/** cli_args_bool: whether the bool (or string) option name was given. */
bool cli_args_bool(const CliArgs *args, const char *name);

/** cli_args_string: the value of the string option name, or NULL when not given. */
const char *cli_args_string(const CliArgs *args, const char *name);

/* ---- cli_edit.c ---- */

typedef enum { CLI_EDIT_UNCHANGED, CLI_EDIT_APPLIED, CLI_EDIT_FAILED } CliEditResult;

/* Take the edited text: true, or false with *err. */
typedef bool (*CliEditApply)(const char *edited, void *opaque, CvError **err);

/**
 * cli_edit_text: orig in a temporary file for $VISUAL, $EDITOR or vi, until apply takes the
 * edited text (UNCHANGED: the user left it as it was). A refused text is reported; on a
 * terminal the user may edit again or apply again. FAILED: printed.
 */
CliEditResult cli_edit_text(const char *orig, CliEditApply apply, void *opaque);

/* ---- cli_util.c ---- */

/** cli_error: print "error: <message>" to stderr (stdout flushed first, to keep the order). */
void cli_error(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

/** cli_print_extra: print to stdout unless quiet (virsh's confirmations: "Domain 'x' …"). */
void cli_print_extra(const CliCtl *ctl, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/** cli_error_report: print a driver error as virsh prints a libvirt error ("error: <msg>"). */
void cli_error_report(const CvError *err);

/** cli_no_support: the error libvirt gives for a driver member that is not implemented. */
void cli_no_support(CvError **err, const char *api);

/**
 * cli_conn: the connection of ctl, opened on first use. Prints virsh's
 * "failed to connect to the hypervisor" error and returns NULL on failure.
 */
CocoonConn *cli_conn(CliCtl *ctl);

/* Which forms of the domain argument a command accepts (virsh: VIRSH_BYID …). */
enum {
    CLI_BY_ID = 1 << 0,
    CLI_BY_UUID = 1 << 1,
    CLI_BY_NAME = 1 << 2,
    CLI_BY_ANY = CLI_BY_ID | CLI_BY_UUID | CLI_BY_NAME,
};

/**
 * cli_domain_lookup: the domain named by option optname ("domain") as an id, a uuid or a
 * name (the forms allowed by `by`). Prints "failed to get domain 'x'" and returns NULL when
 * nothing matches. The reference is freed with cocoon_domain_free.
 */
CocoonDomain *cli_domain_lookup(CliCtl *ctl, const CliArgs *args, const char *optname,
                                unsigned int by);

/**
 * cli_file_read: the contents of path. Prints virsh's "Failed to open file 'x': …" (or read)
 * error and returns NULL on failure.
 */
char *cli_file_read(const char *path);

/** cli_state_to_string: virsh's word for a virDomainState ("shut off"). */
const char *cli_state_to_string(int state);

/** cli_state_reason_to_string: virsh's word for a state reason ("booted"). */
const char *cli_state_reason_to_string(int state, int reason);

/** cli_uuid_string: the 36-character form of dom's uuid into buf. */
void cli_uuid_string(const CocoonDomain *dom, char buf[DOMAIN_UUID_STRING_LEN]);

/* ---- cli_table.c ---- */

typedef struct CliTable CliTable;

/** cli_table_new: a table with the given NULL-terminated header cells. */
CliTable *cli_table_new(const char *first, ...) G_GNUC_NULL_TERMINATED;

/** cli_table_add_row: append a row of NULL-terminated cells (copied). */
void cli_table_add_row(CliTable *table, const char *first, ...) G_GNUC_NULL_TERMINATED;

/**
 * cli_table_print: print the table to stdout in virsh's layout: a leading space, columns
 * separated by three spaces, a dashes line under the header; with header false (quiet mode)
 * only the rows, sized to the rows alone.
 */
void cli_table_print(const CliTable *table, bool header);

void cli_table_free(CliTable *table);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CliTable, cli_table_free)

/*
 * CLI_CALL: call driver member `member` of conn with the remaining arguments, or, when the
 * driver leaves it NULL, set libvirt's NO_SUPPORT error naming `api` and yield `fail`.
 */
#define CLI_CALL(conn, member, api, fail, err, ...)                                            \
    ((conn)->driver->member ? (conn)->driver->member(__VA_ARGS__)                              \
                            : (cli_no_support((err), (api)), (fail)))
