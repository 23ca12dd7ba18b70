#pragma once

#include "driver/driver.h"

/*
 * Building and freeing CocoonTypedParams (driver.h): the answers of domstats, cpu-stats and
 * the other calls that speak virTypedParameter.
 */

/** typed_params_add_ull: append field (copied) = v as VIR_TYPED_PARAM_ULLONG. */
void typed_params_add_ull(CocoonTypedParams *p, const char *field, unsigned long long v);
/** typed_params_add_int: append field = v as VIR_TYPED_PARAM_INT. */
void typed_params_add_int(CocoonTypedParams *p, const char *field, int v);
/** typed_params_add_uint: append field = v as VIR_TYPED_PARAM_UINT. */
void typed_params_add_uint(CocoonTypedParams *p, const char *field, unsigned int v);
/** typed_params_add_string: append field = v (copied) as VIR_TYPED_PARAM_STRING. */
void typed_params_add_string(CocoonTypedParams *p, const char *field, const char *v);
/** typed_params_add_ullf: as typed_params_add_ull with a printf-style field name. */
void typed_params_add_ullf(CocoonTypedParams *p, unsigned long long v, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);
/** typed_params_add_stringf: as typed_params_add_string with a printf-style field name. */
void typed_params_add_stringf(CocoonTypedParams *p, const char *v, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);
/** typed_params_add_uintf: as typed_params_add_uint with a printf-style field name. */
void typed_params_add_uintf(CocoonTypedParams *p, unsigned int v, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);
/** typed_params_add_intf: as typed_params_add_int with a printf-style field name. */
void typed_params_add_intf(CocoonTypedParams *p, int v, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

/** typed_params_clear: free p's contents and leave it empty. */
void typed_params_clear(CocoonTypedParams *p);
