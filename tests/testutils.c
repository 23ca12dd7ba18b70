#include "testutils.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool
test_regenerate(void)
{
    const char *v = getenv("COCOON_TEST_REGENERATE");
    return v && strcmp(v, "1") == 0;
}

const char *
test_source_dir(void)
{
    const char *dir = getenv("COCOON_TEST_SRCDIR");
    return dir ? dir : "tests";
}

char *
test_read_file(const char *path)
{
    char *contents = NULL;
    g_autoptr(GError) gerr = NULL;
    if (!g_file_get_contents(path, &contents, NULL, &gerr)) {
        fprintf(stderr, "cannot read '%s': %s\n", path, gerr->message);
        return NULL;
    }
    return contents;
}

static void
print_first_difference(const char *path, const char *expected, const char *actual)
{
    g_auto(GStrv) e = g_strsplit(expected, "\n", -1);
    g_auto(GStrv) a = g_strsplit(actual, "\n", -1);
    for (size_t i = 0;; i++) {
        if (!e[i] && !a[i])
            break;
        if (!e[i] || !a[i] || strcmp(e[i], a[i]) != 0) {
            fprintf(stderr, "%s:%zu: differs\n- %s\n+ %s\n", path, i + 1,
                    e[i] ? e[i] : "(end of file)", a[i] ? a[i] : "(end of output)");
            return;
        }
    }
}

int
test_compare_golden(const char *path, const char *actual)
{
    g_autofree char *expected = NULL;
    if (g_file_test(path, G_FILE_TEST_EXISTS))
        expected = test_read_file(path);

    if (expected && strcmp(expected, actual) == 0)
        return 0;

    if (test_regenerate()) {
        g_autoptr(GError) gerr = NULL;
        if (!g_file_set_contents(path, actual, -1, &gerr)) {
            fprintf(stderr, "cannot write '%s': %s\n", path, gerr->message);
            return -1;
        }
        fprintf(stderr, "regenerated %s\n", path);
        return 0;
    }
    if (!expected) {
        fprintf(stderr, "%s: missing expected file (set COCOON_TEST_REGENERATE=1 to create it)\n",
                path);
        return -1;
    }
    print_first_difference(path, expected, actual);
    return -1;
}
