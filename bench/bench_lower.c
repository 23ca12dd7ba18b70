/*
 * Parse + validate + lower throughput over example domains: how many domain definitions per
 * second Cocoon turns from XML into an FC call plan / CH command line.
 *
 *   bench_lower [-n ROUNDS] FILE.xml…
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "driver/backend.h"

static double
now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One full pass over one document; returns 0 or -1 with a message on stderr. */
static int
lower_once(const char *path, const char *xml)
{
    g_autoptr(CvError) err = NULL;
    g_autoptr(DomainDef) def = domain_def_parse_string(xml, 0, &err);
    if (!def) {
        fprintf(stderr, "%s: %s\n", path, err->message);
        return -1;
    }
    const CocoonBackend *backend = backend_for_emulator(def->emulator);
    if (!backend) {
        fprintf(stderr, "%s: no backend for emulator '%s'\n", path,
                def->emulator ? def->emulator : "");
        return -1;
    }
    g_autofree char *run_dir = g_strdup_printf("/run/cocoon/domains/%s", def->name);
    BackendLowerCtx ctx = {.run_dir = run_dir};
    g_autofree char *native = backend->to_native(def, backend->native_formats[0], &ctx, &err);
    if (!native) {
        fprintf(stderr, "%s: %s\n", path, err->message);
        return -1;
    }
    return 0;
}

int
main(int argc, char **argv)
{
    long rounds = 2000;
    int first = 1;
    if (argc > 2 && strcmp(argv[1], "-n") == 0) {
        rounds = strtol(argv[2], NULL, 10);
        first = 3;
    }
    if (first >= argc || rounds <= 0) {
        fprintf(stderr, "usage: bench_lower [-n ROUNDS] FILE.xml...\n");
        return 2;
    }
    int nfiles = argc - first;
    g_autoptr(GPtrArray) docs = g_ptr_array_new_with_free_func(g_free);
    for (int i = first; i < argc; i++) {
        char *xml = NULL;
        if (!g_file_get_contents(argv[i], &xml, NULL, NULL)) {
            fprintf(stderr, "cannot read '%s'\n", argv[i]);
            return 1;
        }
        g_ptr_array_add(docs, xml);
    }
    for (int i = 0; i < nfiles; i++) { /* warm-up, and fail early on a bad file */
        if (lower_once(argv[first + i], docs->pdata[i]) < 0)
            return 1;
    }
    double start = now_seconds();
    for (long r = 0; r < rounds; r++) {
        for (int i = 0; i < nfiles; i++)
            lower_once(argv[first + i], docs->pdata[i]);
    }
    double elapsed = now_seconds() - start;
    long total = rounds * nfiles;
    printf("parse+validate+lower: %ld domains in %.3f s = %.0f domains/s (%.1f us each)\n", total,
           elapsed, total / elapsed, elapsed * 1e6 / total);
    return 0;
}
