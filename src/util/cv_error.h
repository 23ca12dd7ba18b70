#pragma once

#include <libvirt/virterror.h>

/* Built with and without GLib (the console relay is libc-only): the g_autoptr support only
 * where GLib is there. */
#if __has_include(<glib.h>)
#include <glib.h>
#define CV_ERROR_HAVE_GLIB 1
#endif

#include "util/cv_attr.h"

/*
 * The one error type of Cocoon. `code` and `domain` are libvirt's virErrorNumber and
 * virErrorDomain, so the RPC server can fill remote_error without a mapping table.
 * `message` is the full text as libvirt would print it, prefix included
 * ("unsupported configuration: …").
 */
typedef struct {
    int code;
    int domain;
    int sys_errno;
    char *message;
} CvError;

/**
 * cv_error_set: set *err (when err is not NULL and *err is still unset).
 * The message is prefixed the way libvirt prefixes that code
 * (e.g. VIR_ERR_CONFIG_UNSUPPORTED → "unsupported configuration: ").
 */
void cv_error_set(CvError **err, int domain, int code, const char *fmt, ...)
    CV_PRINTF(4, 5);

/**
 * cv_error_set_errno: a VIR_ERR_SYSTEM_ERROR carrying errnum; ": strerror(errnum)" is appended
 * to the message as libvirt does.
 */
void cv_error_set_errno(CvError **err, int domain, int errnum, const char *fmt, ...)
    CV_PRINTF(4, 5);

/**
 * cv_error_prefix: put context in front of an error already set, keeping its code and its
 * words: "cannot start domain 'web1': " + old message.
 */
void cv_error_prefix(CvError **err, const char *fmt, ...) CV_PRINTF(2, 3);

/** cv_error_prefix_for_code: the text libvirt puts before a message of this code, or "". */
const char *cv_error_prefix_for_code(int code);

void cv_error_free(CvError *err);

/** cv_error_copy: a new error equal to from (NULL: NULL). */
CvError *cv_error_copy(const CvError *from);
#ifdef CV_ERROR_HAVE_GLIB
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CvError, cv_error_free)
#endif
