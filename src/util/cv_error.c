#include "cv_error.h"

#include <errno.h>
#include <string.h>

#include "util/cv_mem.h"

const char *
cv_error_prefix_for_code(int code)
{
    switch (code) {
    case VIR_ERR_INTERNAL_ERROR: return "internal error: ";
    case VIR_ERR_NO_SUPPORT: return "this function is not supported by the connection driver: ";
    case VIR_ERR_INVALID_ARG: return "invalid argument: ";
    case VIR_ERR_OPERATION_FAILED: return "operation failed: ";
    case VIR_ERR_XML_ERROR: return "XML error: ";
    case VIR_ERR_NO_DOMAIN: return "Domain not found: ";
    case VIR_ERR_OPERATION_INVALID: return "Requested operation is not valid: ";
    case VIR_ERR_CONFIG_UNSUPPORTED: return "unsupported configuration: ";
    case VIR_ERR_OPERATION_TIMEOUT: return "Timed out during operation: ";
    case VIR_ERR_NO_DOMAIN_SNAPSHOT: return "Domain snapshot not found: ";
    case VIR_ERR_OPERATION_UNSUPPORTED: return "Operation not supported: ";
    case VIR_ERR_ARGUMENT_UNSUPPORTED: return "argument unsupported: ";
    case VIR_ERR_AUTH_FAILED: return "authentication failed: ";
    case VIR_ERR_RPC: return "RPC error: ";
    case VIR_ERR_OPERATION_DENIED: return "operation forbidden: ";
    case VIR_ERR_NO_CONNECT: return "no connection driver available for ";
    case VIR_ERR_INVALID_DOMAIN: return "invalid domain pointer in ";
    default: return "";
    }
}

static void CV_PRINTF(5, 0)
cv_error_setv(CvError **err, int domain, int code, int errnum, const char *fmt, va_list ap)
{
    if (!err || *err)
        return;
    cv_autofree char *text = cv_xvasprintf(fmt, ap);
    CvError *e = cv_xcalloc(1, sizeof(*e));
    e->domain = domain;
    e->code = code;
    e->sys_errno = errnum;
    if (errnum)
        e->message = cv_xasprintf("%s: %s", text, strerror(errnum));
    else
        e->message = cv_xasprintf("%s%s", cv_error_prefix_for_code(code), text);
    *err = e;
}

void
cv_error_set(CvError **err, int domain, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cv_error_setv(err, domain, code, 0, fmt, ap);
    va_end(ap);
}

void
cv_error_set_errno(CvError **err, int domain, int errnum, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cv_error_setv(err, domain, VIR_ERR_SYSTEM_ERROR, errnum ? errnum : EIO, fmt, ap);
    va_end(ap);
}

void
cv_error_prefix(CvError **err, const char *fmt, ...)
{
    if (!err || !*err)
        return;
    va_list ap;
    va_start(ap, fmt);
    cv_autofree char *prefix = cv_xvasprintf(fmt, ap);
    va_end(ap);
    char *joined = cv_xasprintf("%s%s", prefix, (*err)->message);
    free((*err)->message);
    (*err)->message = joined;
}

CvError *
cv_error_copy(const CvError *from)
{
    if (!from)
        return NULL;
    CvError *e = calloc(1, sizeof(*e));
    if (!e)
        abort();
    *e = *from;
    e->message = cv_xasprintf("%s", from->message ? from->message : "");
    return e;
}

void
cv_error_free(CvError *err)
{
    if (!err)
        return;
    free(err->message);
    free(err);
}
