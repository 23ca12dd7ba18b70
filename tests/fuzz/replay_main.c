/*
 * The main of a fuzz target outside libFuzzer: runs LLVMFuzzerTestOneInput once on every file
 * of the directories (or files) given, so the seeds and the inputs that once crashed a target
 * are a regression test in every build, gcc's included. A missing directory is empty.
 */
#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
compare_paths(gconstpointer a, gconstpointer b)
{
    return g_strcmp0(*(char *const *)a, *(char *const *)b);
}

static int
replay_file(const char *path)
{
    g_autofree char *data = NULL;
    gsize len = 0;
    g_autoptr(GError) gerr = NULL;
    if (!g_file_get_contents(path, &data, &len, &gerr)) {
        fprintf(stderr, "error: %s\n", gerr->message);
        return -1;
    }
    LLVMFuzzerTestOneInput((const uint8_t *)data, len);
    return 0;
}

int
main(int argc, char **argv)
{
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    unsigned int n = 0;
    for (int i = 1; i < argc; i++) {
        if (g_file_test(argv[i], G_FILE_TEST_IS_REGULAR)) {
            if (replay_file(argv[i]) < 0)
                return EXIT_FAILURE;
            n++;
            continue;
        }
        g_autoptr(GDir) dir = g_dir_open(argv[i], 0, NULL);
        if (!dir)
            continue;
        /* in name order, so a failure is reproduced the same way */
        g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
        for (const char *e; (e = g_dir_read_name(dir));)
            g_ptr_array_add(names, g_build_filename(argv[i], e, NULL));
        g_ptr_array_sort(names, compare_paths);
        for (guint j = 0; j < names->len; j++) {
            if (replay_file(names->pdata[j]) < 0)
                return EXIT_FAILURE;
            n++;
        }
    }
    printf("replayed %u inputs\n", n);
    return n ? EXIT_SUCCESS : EXIT_FAILURE;
}
