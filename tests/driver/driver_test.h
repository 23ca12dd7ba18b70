#pragma once

/* Checks shared by the driver tests (local driver, host resources): they count failures and
 * go on. */

#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "util/cv_error.h"

static int failures;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

/* expr must succeed; on failure print err's message and clear it. */
#define CHECK_OK(expr, err)                                                                        \
    do {                                                                                           \
        if (!(expr)) {                                                                             \
            fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #expr,                   \
                    (err) ? (err)->message : "(no error)");                                        \
            failures++;                                                                            \
            g_clear_pointer(&(err), cv_error_free);                                                \
        }                                                                                          \
    } while (0)

/* err must be set with this code and exactly this message; frees and clears it. */
#define CHECK_ERR(err, want_code, want_msg)                                                        \
    do {                                                                                           \
        CHECK((err) != NULL);                                                                      \
        if (err) {                                                                                 \
            if ((err)->code != (want_code) || strcmp((err)->message, (want_msg)) != 0) {           \
                fprintf(stderr, "%s:%d: got error %d '%s', want %d '%s'\n", __FILE__, __LINE__,    \
                        (err)->code, (err)->message, (want_code), (want_msg));                     \
                failures++;                                                                        \
            }                                                                                      \
            g_clear_pointer(&(err), cv_error_free);                                                \
        }                                                                                          \
    } while (0)

/* The number of entries of dir (. and .. aside), or -1. */
static inline int
test_dir_count(const char *dir)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    if (!d)
        return -1;
    int n = 0;
    while (g_dir_read_name(d))
        n++;
    g_dir_close(d);
    return n;
}
