/*
 * cocoonvirsh: the virsh-compatible command line of Cocoon. Global options, then either one
 * command string (commands separated by ';'), one command given as separate words, or an
 * interactive shell reading commands from the terminal or from stdin.
 */

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "driver/driver_remote.h"
#include "rpc/client/remote_client.h"

#define PROMPT "cocoonvirsh # "

static void main_usage(void)
{
    printf("\n"
           "cocoonvirsh [options]... [<command_string>]\n"
           "cocoonvirsh [options]... <command> [args...]\n"
           "\n"
           "  options:\n"
           "    -c | --connect=URI      hypervisor connection URI\n"
           "    -h | --help             this help\n"
           "    -q | --quiet            quiet mode\n"
           "    -r | --readonly         connect readonly\n"
           "    -v                      short version\n"
           "    -V                      long version\n"
           "         --version[=TYPE]   version, TYPE is short or long (default short)\n"
           "\n"
           "  URIs: cocoon:///embed?root=DIR (no daemon), cocoon:///system, cocoon:///session\n"
           "\n"
           "  (specify help for the list of commands, help <group> for the commands in the\n"
           "   group and help <command> for details about the command)\n"
           "\n");
}

static void main_version(bool long_form)
{
    if (!long_form) {
        printf("%s\n", COCOON_VERSION);
        return;
    }
    printf("Cocoonvirsh command line tool of cocoon %s\n"
           "\n"
           "Compiled with support for:\n"
           " Hypervisors: Firecracker Cloud-Hypervisor\n"
           " Connections: Embedded Daemon\n",
           COCOON_VERSION);
}

/*
 * Parse every command of words_list first (a syntax error anywhere runs nothing), then run
 * them in turn. The result is the last command's, as virsh's exit status is.
 */
static bool main_run(CliCtl *ctl, GPtrArray *words_list)
{
    g_autofree CliArgs *all = g_new0(CliArgs, MAX(words_list->len, 1));
    bool ok = true;
    guint i;

    for (i = 0; i < words_list->len; i++) {
        if (!cli_args_parse(g_ptr_array_index(words_list, i), &all[i]))
            break;
    }
    if (i < words_list->len) {
        for (guint j = 0; j < i; j++)
            cli_args_clear(&all[j]);
        return false;
    }
    for (i = 0; i < words_list->len; i++) {
        if (!ctl->quit) {
            ok = all[i].cmd->handler(ctl, &all[i]);
            /* every command but quit/exit ends with an empty line unless quiet */
            if (!ctl->quit && !ctl->quiet)
                printf("\n");
            fflush(stdout);
        }
        cli_args_clear(&all[i]);
    }
    return ok;
}

static int main_shell(CliCtl *ctl)
{
    bool tty = isatty(STDIN_FILENO);
    g_autofree char *line = NULL;
    size_t cap = 0;

    if (tty && !ctl->quiet)
        printf("Welcome to cocoonvirsh, the virtualization interactive terminal.\n"
               "\n"
               "Type:  'help' for help with commands\n"
               "       'quit' to quit\n"
               "\n");
    while (!ctl->quit) {
        g_autoptr(GPtrArray) cmds = NULL;

        if (tty) {
            printf(PROMPT);
            fflush(stdout);
        }
        if (getline(&line, &cap, stdin) < 0) {
            if (tty)
                printf("\n");
            break;
        }
        cmds = cli_line_split(line);
        main_run(ctl, cmds);
    }
    /* like virsh, the shell itself succeeds; each failure was reported as it happened */
    return EXIT_SUCCESS;
}

int main(int argc, char **argv)
{
    static const struct option long_opts[] = {
        { "connect", required_argument, NULL, 'c' },
        { "help", no_argument, NULL, 'h' },
        { "quiet", no_argument, NULL, 'q' },
        { "readonly", no_argument, NULL, 'r' },
        { "version", optional_argument, NULL, 'R' },
        { NULL, 0, NULL, 0 },
    };
    CliCtl ctl = { 0 };
    int ret;
    int c;

    cocoon_conn_set_remote_opener(remote_driver_open); /* cocoon:///system, cocoon+unix:// */
    opterr = 0;
    /* '+': options end at the first command word; the command's own options are its own */
    while ((c = getopt_long(argc, argv, "+:c:hqrvV", long_opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            g_free(ctl.uri);
            ctl.uri = g_strdup(optarg);
            break;
        case 'h':
            main_usage();
            return EXIT_SUCCESS;
        case 'q':
            ctl.quiet = true;
            break;
        case 'r':
            ctl.readonly = true;
            break;
        case 'v':
            main_version(false);
            return EXIT_SUCCESS;
        case 'V':
            main_version(true);
            return EXIT_SUCCESS;
        case 'R':
            if (!optarg || strcmp(optarg, "short") == 0) {
                main_version(false);
            } else if (strcmp(optarg, "long") == 0) {
                main_version(true);
            } else {
                cli_error("unsupported option '--version=%s'. See --help.", optarg);
                return EXIT_FAILURE;
            }
            return EXIT_SUCCESS;
        case ':':
            if (optopt == 'c')
                cli_error("option '-c'/'--connect' requires an argument");
            else
                cli_error("option '%s' requires an argument", argv[optind - 1]);
            return EXIT_FAILURE;
        default:
            if (optopt)
                cli_error("unsupported option '-%c'. See --help.", optopt);
            else
                cli_error("unsupported option '%s'. See --help.", argv[optind - 1]);
            return EXIT_FAILURE;
        }
    }

    if (optind >= argc) {
        ret = main_shell(&ctl);
    } else {
        g_autoptr(GPtrArray) cmds = NULL;

        if (argc - optind == 1) {
            /* one word: a command string, split on ';' with quoting */
            cmds = cli_line_split(argv[optind]);
        } else {
            /* several words: exactly one command, taken word for word */
            cmds = g_ptr_array_new_with_free_func((GDestroyNotify)g_strfreev);
            g_ptr_array_add(cmds, g_strdupv(argv + optind));
        }
        ret = main_run(&ctl, cmds) ? EXIT_SUCCESS : EXIT_FAILURE;
    }

    if (ctl.conn)
        cocoon_conn_close(ctl.conn);
    g_free(ctl.uri);
    return ret;
}
