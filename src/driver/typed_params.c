#include "typed_params.h"

#include <stdarg.h>

static CocoonTypedParam *
param_new(CocoonTypedParams *p, char *field, int type)
{
    if (p->n == p->alloc) {
        p->alloc = p->alloc ? p->alloc * 2 : 16;
        p->params = g_renew(CocoonTypedParam, p->params, p->alloc);
    }
    CocoonTypedParam *t = &p->params[p->n++];
    *t = (CocoonTypedParam){.field = field, .type = type};
    return t;
}

void
typed_params_add_ull(CocoonTypedParams *p, const char *field, unsigned long long v)
{
    param_new(p, g_strdup(field), VIR_TYPED_PARAM_ULLONG)->value.ul = v;
}

void
typed_params_add_int(CocoonTypedParams *p, const char *field, int v)
{
    param_new(p, g_strdup(field), VIR_TYPED_PARAM_INT)->value.i = v;
}

void
typed_params_add_uint(CocoonTypedParams *p, const char *field, unsigned int v)
{
    param_new(p, g_strdup(field), VIR_TYPED_PARAM_UINT)->value.ui = v;
}

void
typed_params_add_string(CocoonTypedParams *p, const char *field, const char *v)
{
    param_new(p, g_strdup(field), VIR_TYPED_PARAM_STRING)->value.s = g_strdup(v);
}

#define FIELD_VPRINTF(fmt, field)                                                              \
    va_list ap;                                                                                \
    va_start(ap, fmt);                                                                         \
    char *field = g_strdup_vprintf(fmt, ap);                                                   \
    va_end(ap)

void
typed_params_add_ullf(CocoonTypedParams *p, unsigned long long v, const char *fmt, ...)
{
    FIELD_VPRINTF(fmt, field);
    param_new(p, field, VIR_TYPED_PARAM_ULLONG)->value.ul = v;
}

void
typed_params_add_stringf(CocoonTypedParams *p, const char *v, const char *fmt, ...)
{
    FIELD_VPRINTF(fmt, field);
    param_new(p, field, VIR_TYPED_PARAM_STRING)->value.s = g_strdup(v);
}

void
typed_params_add_uintf(CocoonTypedParams *p, unsigned int v, const char *fmt, ...)
{
    FIELD_VPRINTF(fmt, field);
    param_new(p, field, VIR_TYPED_PARAM_UINT)->value.ui = v;
}

void
typed_params_add_intf(CocoonTypedParams *p, int v, const char *fmt, ...)
{
    FIELD_VPRINTF(fmt, field);
    param_new(p, field, VIR_TYPED_PARAM_INT)->value.i = v;
}

void
typed_params_clear(CocoonTypedParams *p)
{
    for (size_t i = 0; i < p->n; i++) {
        g_free(p->params[i].field);
        if (p->params[i].type == VIR_TYPED_PARAM_STRING)
            g_free(p->params[i].value.s);
    }
    g_free(p->params);
    *p = (CocoonTypedParams){0};
}

const char *
cocoon_memory_stat_name(int tag)
{
    static const char *const names[] = {
        [VIR_DOMAIN_MEMORY_STAT_SWAP_IN] = "swap_in",
        [VIR_DOMAIN_MEMORY_STAT_SWAP_OUT] = "swap_out",
        [VIR_DOMAIN_MEMORY_STAT_MAJOR_FAULT] = "major_fault",
        [VIR_DOMAIN_MEMORY_STAT_MINOR_FAULT] = "minor_fault",
        [VIR_DOMAIN_MEMORY_STAT_UNUSED] = "unused",
        [VIR_DOMAIN_MEMORY_STAT_AVAILABLE] = "available",
        [VIR_DOMAIN_MEMORY_STAT_ACTUAL_BALLOON] = "actual",
        [VIR_DOMAIN_MEMORY_STAT_RSS] = "rss",
        [VIR_DOMAIN_MEMORY_STAT_USABLE] = "usable",
        [VIR_DOMAIN_MEMORY_STAT_LAST_UPDATE] = "last_update",
        [VIR_DOMAIN_MEMORY_STAT_DISK_CACHES] = "disk_caches",
    };
    return tag >= 0 && tag < (int)G_N_ELEMENTS(names) ? names[tag] : NULL;
}

void
cocoon_domain_stats_free(CocoonDomainStatsRecord *records, size_t n)
{
    if (!records)
        return;
    for (size_t i = 0; i < n; i++) {
        cocoon_domain_free(records[i].dom);
        typed_params_clear(&records[i].params);
    }
    g_free(records);
}
