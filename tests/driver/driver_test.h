#pragma once

/* Checks shared by the driver tests (local driver, host resources): they count failures and
 * go on. Also the set-up of the local-driver tests: a temporary root and connections to it. */

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver/driver.h"
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

/* A new empty directory in the temporary directory, named from tmpl (ending in XXXXXX); the
 * caller frees the path. Aborts when it cannot be made. */
static inline char *
test_root_new(const char *tmpl)
{
    g_autoptr(GError) gerr = NULL;
    char *dir = g_dir_make_tmp(tmpl, &gerr);
    g_assert(dir);
    return dir;
}

/* Remove path and everything below it. */
static inline void
test_root_remove(const char *path)
{
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", path);
    g_assert(system(cmd) == 0);
}

/* An embedded connection to the local driver on root; exits the test when it cannot open. */
static inline CocoonConn *
test_root_open(const char *root)
{
    CvError *err = NULL;
    g_autofree char *uri = g_strdup_printf("cocoon:///embed?root=%s", root);
    CocoonConn *conn = cocoon_conn_open(uri, 0, &err);
    if (!conn) {
        fprintf(stderr, "cannot open %s: %s\n", uri, err->message);
        exit(1);
    }
    return conn;
}

/* The XML of domain name with flags (caller frees), NULL when the lookup or dump fails. */
static inline char *
test_dumpxml(CocoonConn *conn, const char *name, unsigned int flags)
{
    CvError *err = NULL;
    g_autoptr(CocoonDomain) dom = conn->driver->domainLookupByName(conn, name, &err);
    if (!dom) {
        cv_error_free(err);
        return NULL;
    }
    char *xml = conn->driver->domainGetXMLDesc(dom, flags, &err);
    cv_error_free(err);
    return xml;
}
