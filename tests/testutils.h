#pragma once

#include <glib.h>
#include <stdbool.h>

/*
 * Golden-file comparison shared by the unit tests. With COCOON_TEST_REGENERATE=1 in the
 * environment, a mismatching or missing expected file is (re)written instead of failing.
 */

/** test_regenerate: whether COCOON_TEST_REGENERATE=1 is set. */
bool test_regenerate(void);

/**
 * test_compare_golden: compare actual with the contents of path. Prints a unified-style
 * first difference on mismatch. Returns 0 on match (or after regenerating), -1 otherwise.
 */
int test_compare_golden(const char *path, const char *actual);

/** test_read_file: the whole file, or NULL (with a message on stderr). */
char *test_read_file(const char *path);

/** test_source_dir: the absolute tests/ folder of the source tree (from COCOON_TEST_SRCDIR). */
const char *test_source_dir(void);
