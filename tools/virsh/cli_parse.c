/* cocoonvirsh: splitting command strings into words and words into command options. */

#include <string.h>

#include "cli.h"

/* Close the word being built (if any) into the current command. */
static void line_word_end(GString *word, bool *have_word, GPtrArray *cmd)
{
    if (!*have_word)
        return;
    g_ptr_array_add(cmd, g_strdup(word->str));
    g_string_truncate(word, 0);
    *have_word = false;
}

/* Close the current command (if it has words) into cmds and start a new one. */
static void line_cmd_end(GPtrArray **cmd, GPtrArray *cmds)
{
    if ((*cmd)->len == 0)
        return;
    g_ptr_array_add(*cmd, NULL);
    g_ptr_array_add(cmds, g_ptr_array_free(*cmd, FALSE));
    *cmd = g_ptr_array_new();
}

GPtrArray *cli_line_split(const char *line)
{
    GPtrArray *cmds = g_ptr_array_new_with_free_func((GDestroyNotify)g_strfreev);
    GPtrArray *cmd = g_ptr_array_new();
    g_autoptr(GString) word = g_string_new(NULL);
    bool have_word = false;
    char quote = '\0';

    for (const char *p = line; *p; p++) {
        char c = *p;

        if (quote == '\'') {
            if (c == '\'')
                quote = '\0';
            else
                g_string_append_c(word, c);
            continue;
        }
        if (c == '\\' && p[1] != '\0') {
            g_string_append_c(word, *++p);
            have_word = true;
            continue;
        }
        if (quote == '"') {
            if (c == '"')
                quote = '\0';
            else
                g_string_append_c(word, c);
            continue;
        }
        if (c == '#' && !have_word) {
            /* a comment runs to the end of the line; '#' inside a word is ordinary */
            while (p[1] != '\0' && p[1] != '\n')
                p++;
            continue;
        }
        switch (c) {
        case '\'':
        case '"':
            quote = c;
            have_word = true;
            break;
        case ' ':
        case '\t':
        case '\r':
            line_word_end(word, &have_word, cmd);
            break;
        case ';':
        case '\n':
            line_word_end(word, &have_word, cmd);
            line_cmd_end(&cmd, cmds);
            break;
        default:
            g_string_append_c(word, c);
            have_word = true;
            break;
        }
    }
    line_word_end(word, &have_word, cmd);
    line_cmd_end(&cmd, cmds);
    g_ptr_array_free(cmd, TRUE);
    return cmds;
}

static int args_opt_index(const CliCmd *cmd, const char *name)
{
    for (int i = 0; cmd->opts && cmd->opts[i].name; i++) {
        if (strcmp(cmd->opts[i].name, name) == 0)
            return i;
    }
    return -1;
}

/* The next positional option not given yet, or -1. */
static int args_next_positional(const CliArgs *args)
{
    const CliOpt *opts = args->cmd->opts;

    for (int i = 0; opts && opts[i].name; i++) {
        if ((opts[i].flags & CLI_OPT_POSITIONAL) && !args->present[i])
            return i;
    }
    return -1;
}

/* Handle one "--name[=value]" word (words[*i]); may consume the next word as the value. */
static bool args_parse_option(char **words, size_t *i, CliArgs *args)
{
    const CliCmd *cmd = args->cmd;
    const char *name = words[*i] + 2;
    const char *eq = strchr(name, '=');
    g_autofree char *oname = eq ? g_strndup(name, eq - name) : g_strdup(name);
    int idx = args_opt_index(cmd, oname);
    const char *value = NULL;

    if (idx < 0) {
        cli_error("command '%s' doesn't support option --%s", cmd->name, oname);
        return false;
    }
    if (args->present[idx]) {
        cli_error("option --%s already seen", oname);
        return false;
    }
    if (cmd->opts[idx].type == CLI_OPT_BOOL) {
        if (eq) {
            cli_error("invalid '=' after option --%s", oname);
            return false;
        }
        args->present[idx] = true;
        return true;
    }
    if (eq) {
        value = eq + 1;
    } else if (words[*i + 1]) {
        value = words[++*i];
    } else {
        cli_error("expected syntax: --%s <string>", oname);
        return false;
    }
    args->present[idx] = true;
    args->values[idx] = g_strdup(value);
    return true;
}

bool cli_args_parse(char **words, CliArgs *ret_args)
{
    const CliCmd *cmd = cli_command_find(words[0]);
    CliArgs args = { 0 };
    bool data_only = false;

    if (!cmd) {
        cli_error("unknown command: '%s'", words[0]);
        return false;
    }
    args.cmd = cmd;
    for (size_t i = 1; words[i]; i++) {
        const char *w = words[i];

        if (!data_only && g_str_has_prefix(w, "--")) {
            if (w[2] == '\0') {
                data_only = true;
                continue;
            }
            if (!args_parse_option(words, &i, &args))
                goto fail;
            continue;
        }
        int idx = args_next_positional(&args);
        if (idx < 0) {
            cli_error("unexpected data '%s'", w);
            goto fail;
        }
        args.present[idx] = true;
        args.values[idx] = g_strdup(w);
    }
    for (int i = 0; cmd->opts && cmd->opts[i].name; i++) {
        if ((cmd->opts[i].flags & CLI_OPT_REQUIRED) && !args.present[i]) {
            /* virsh names a number "--x", other data "<x>" */
            if (cmd->opts[i].flags & CLI_OPT_NUMBER)
                cli_error("command '%s' requires --%s option", cmd->name, cmd->opts[i].name);
            else
                cli_error("command '%s' requires <%s> option", cmd->name, cmd->opts[i].name);
            goto fail;
        }
    }
    *ret_args = args;
    return true;

fail:
    cli_args_clear(&args);
    return false;
}

void cli_args_clear(CliArgs *args)
{
    for (size_t i = 0; i < CLI_MAX_OPTS; i++)
        g_clear_pointer(&args->values[i], g_free);
}

bool cli_args_bool(const CliArgs *args, const char *name)
{
    int idx = args_opt_index(args->cmd, name);

    g_assert(idx >= 0); /* a command asks only for options it declares */
    return args->present[idx];
}

const char *cli_args_string(const CliArgs *args, const char *name)
{
    int idx = args_opt_index(args->cmd, name);

    g_assert(idx >= 0);
    return args->values[idx];
}
