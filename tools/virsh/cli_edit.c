/* cocoonvirsh: the edit loop of edit and snapshot-edit, as virsh's (temporary file, $VISUAL,
 * $EDITOR or vi, and on a terminal the offer to edit again when the new text is refused). */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"

/* Run the editor of $VISUAL / $EDITOR (else vi) on path; false (printed) when it fails. */
static bool run_editor(const char *path)
{
    const char *editor = g_getenv("VISUAL");
    if (!editor || !*editor)
        editor = g_getenv("EDITOR");
    if (!editor || !*editor)
        editor = "vi";
    /* the editor's words (as "vim -u NONE"), then the file: no shell in between */
    g_auto(GStrv) words = NULL;
    g_autoptr(GError) gerr = NULL;
    if (!g_shell_parse_argv(editor, NULL, &words, &gerr)) {
        cli_error("cannot run the editor '%s': %s", editor, gerr->message);
        return false;
    }
    g_autoptr(GStrvBuilder) b = g_strv_builder_new();
    g_strv_builder_addv(b, (const char **)words);
    g_strv_builder_add(b, path);
    g_auto(GStrv) argv = g_strv_builder_end(b);
    int status = 0;
    if (!g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_CHILD_INHERITS_STDIN, NULL,
                      NULL, NULL, NULL, &status, &gerr) ||
        !g_spawn_check_wait_status(status, &gerr)) {
        cli_error("%s %s: command failed: %s", editor, path, gerr->message);
        return false;
    }
    return true;
}

/* Print prompt, then one key from the terminal on stdin, not echoed, without waiting for a
 * newline; EOF on error. */
static int read_key(const char *prompt)
{
    struct termios saved, raw;
    if (tcgetattr(STDIN_FILENO, &saved) < 0)
        return EOF;
    raw = saved;
    raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) < 0)
        return EOF;
    /* the terminal is raw before the prompt shows: a key typed at once is not echoed */
    fputs(prompt, stdout);
    fflush(stdout);
    unsigned char c;
    ssize_t n;
    do {
        n = read(STDIN_FILENO, &c, 1);
    } while (n < 0 && errno == EINTR);
    tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    return n == 1 ? c : EOF;
}

/* On a terminal: what to do with a refused text. 'y' edit again, 'f' apply it again, 'n' give
 * up; without a terminal 'n'. */
static int ask_again(void)
{
    if (!isatty(STDIN_FILENO))
        return 'n';
    for (;;) {
        int c = read_key("Failed. Try again? [y,n,f,?]: ");
        if (c == EOF || c == 4 /* ^D */)
            c = 'n';
        c = g_ascii_tolower(c);
        if (c == '?') {
            printf("\ny - yes, start editor again\n"
                   "n - no, throw away my changes\n"
                   "f - force, try to redefine again\n"
                   "? - print this help\n");
            continue;
        }
        if (c == 'y' || c == 'n' || c == 'f') {
            printf("\n");
            return c;
        }
    }
}

CliEditResult cli_edit_text(const char *orig, CliEditApply apply, void *opaque)
{
    g_autofree char *path = NULL;
    g_autoptr(GError) gerr = NULL;
    int fd = g_file_open_tmp("cocoonvirshXXXXXX.xml", &path, &gerr);
    if (fd < 0 || !g_file_set_contents(path, orig, -1, &gerr)) {
        cli_error("cannot create a temporary file: %s", gerr ? gerr->message : "?");
        if (fd >= 0) {
            close(fd);
            unlink(path);
        }
        return CLI_EDIT_FAILED;
    }
    close(fd);
    CliEditResult res = CLI_EDIT_FAILED;
    bool edit = true;
    g_autofree char *edited = NULL;
    for (;;) {
        if (edit) {
            g_clear_pointer(&edited, g_free);
            if (!run_editor(path) || !g_file_get_contents(path, &edited, NULL, &gerr)) {
                if (gerr)
                    cli_error("cannot read '%s': %s", path, gerr->message);
                break;
            }
            if (strcmp(edited, orig) == 0) {
                res = CLI_EDIT_UNCHANGED;
                break;
            }
        }
        g_autoptr(CvError) err = NULL;
        if (apply(edited, opaque, &err)) {
            res = CLI_EDIT_APPLIED;
            break;
        }
        cli_error_report(err);
        /* the old text stays in force; on a terminal the user may try again */
        int c = ask_again();
        if (c == 'n')
            break;
        edit = c == 'y';
    }
    unlink(path);
    return res;
}
