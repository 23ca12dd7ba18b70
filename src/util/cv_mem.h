#pragma once

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cv_attr.h"

/*
 * Allocation for the code that must build without GLib: the console relay and what it links
 * (src/console, cv_error), which are compiled for musl as well as with the rest. Like
 * g_malloc, these abort when memory runs out rather than return NULL; what they return is
 * freed with free() (or g_free: GLib allocates with malloc too).
 */

static inline void *
cv_xalloc_check(void *p)
{
    if (!p) {
        fputs("out of memory\n", stderr);
        abort();
    }
    return p;
}

static inline void *
cv_xmalloc(size_t n)
{
    return cv_xalloc_check(malloc(n ? n : 1));
}

static inline void *
cv_xcalloc(size_t count, size_t size)
{
    return cv_xalloc_check(calloc(count ? count : 1, size ? size : 1));
}

static inline void *
cv_xrealloc(void *p, size_t n)
{
    return cv_xalloc_check(realloc(p, n ? n : 1));
}

static inline char *
cv_xstrdup(const char *s)
{
    return s ? (char *)cv_xalloc_check(strdup(s)) : NULL;
}

static inline char *
cv_xstrndup(const char *s, size_t n)
{
    return (char *)cv_xalloc_check(strndup(s, n));
}

static inline char *CV_PRINTF(1, 0)
cv_xvasprintf(const char *fmt, va_list ap)
{
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    return (char *)cv_xalloc_check(s);
}

static inline char *CV_PRINTF(1, 2) cv_xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = cv_xvasprintf(fmt, ap);
    va_end(ap);
    return s;
}

/* Free *p and set it to NULL. */
static inline void
cv_clear_free(void *p)
{
    void **pp = (void **)p;
    free(*pp);
    *pp = NULL;
}

/* A char * freed when it goes out of scope. */
#define cv_autofree __attribute__((cleanup(cv_clear_free)))

#define CV_MIN(a, b) ((a) < (b) ? (a) : (b))
#define CV_MAX(a, b) ((a) > (b) ? (a) : (b))
#define CV_N_ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))
