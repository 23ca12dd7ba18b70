/* JSON helpers for the simulators: strict parsing and a small field-table type checker. */
#include "sim_json.h"

#include <string.h>

json_object *
sim_json_parse(const char *text, char **ret_err)
{
    struct json_tokener *tok = json_tokener_new();
    json_object *obj;
    gsize len = strlen(text);
    enum json_tokener_error jerr;

    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    obj = json_tokener_parse_ex(tok, text, (int)len);
    jerr = json_tokener_get_error(tok);
    if (!obj && jerr == json_tokener_continue) {
        *ret_err = g_strdup("EOF while parsing a value");
        json_tokener_free(tok);
        return NULL;
    }
    if (!obj && jerr != json_tokener_success) {
        *ret_err = g_strdup_printf("%s at offset %zu", json_tokener_error_desc(jerr),
                                   json_tokener_get_parse_end(tok));
        json_tokener_free(tok);
        return NULL;
    }
    for (gsize i = json_tokener_get_parse_end(tok); i < len; i++) {
        if (!g_ascii_isspace(text[i])) {
            *ret_err = g_strdup_printf("trailing characters at offset %zu", i);
            json_object_put(obj);
            json_tokener_free(tok);
            return NULL;
        }
    }
    json_tokener_free(tok);
    if (!obj) {
        *ret_err = g_strdup("invalid type: null, expected a map");
        return NULL;
    }
    return obj;
}

static char *
sim_json_describe(json_object *v)
{
    switch (json_object_get_type(v)) {
    case json_type_null: return g_strdup("null");
    case json_type_boolean: return g_strdup_printf("boolean `%s`", json_object_get_boolean(v) ? "true" : "false");
    case json_type_double: return g_strdup_printf("floating point `%g`", json_object_get_double(v));
    case json_type_int: return g_strdup_printf("integer `%" G_GINT64_FORMAT "`", json_object_get_int64(v));
    case json_type_string: return g_strdup_printf("string \"%s\"", json_object_get_string(v));
    case json_type_array: return g_strdup("sequence");
    case json_type_object: return g_strdup("map");
    }
    return g_strdup("value");
}

static char *
sim_json_expected(json_object *v, const char *what)
{
    g_autofree char *d = sim_json_describe(v);

    return g_strdup_printf("invalid type: %s, expected %s", d, what);
}

static char *
sim_json_check_uint(json_object *v, guint64 max, const char *what)
{
    gint64 n;

    if (!json_object_is_type(v, json_type_int))
        return sim_json_expected(v, what);
    n = json_object_get_int64(v);
    if (n < 0 || (guint64)n > max) {
        g_autofree char *d = sim_json_describe(v);
        return g_strdup_printf("invalid value: %s, expected %s", d, what);
    }
    return NULL;
}

static char *
sim_json_check_value(json_object *v, const SimField *f)
{
    switch (f->type) {
    case SIM_F_BOOL:
        return json_object_is_type(v, json_type_boolean) ? NULL : sim_json_expected(v, "a boolean");
    case SIM_F_STR:
        return json_object_is_type(v, json_type_string) ? NULL : sim_json_expected(v, "a string");
    case SIM_F_U8: return sim_json_check_uint(v, G_MAXUINT8, "u8");
    case SIM_F_U16: return sim_json_check_uint(v, G_MAXUINT16, "u16");
    case SIM_F_U32: return sim_json_check_uint(v, G_MAXUINT32, "u32");
    case SIM_F_U64: return sim_json_check_uint(v, G_MAXINT64, "u64");
    case SIM_F_ENUM: {
        g_autoptr(GString) exp = g_string_new(NULL);
        const char *s;
        for (const char *const *e = f->enums; *e; e++)
            g_string_append_printf(exp, "%s`%s`", exp->len ? ", " : "", *e);
        if (!json_object_is_type(v, json_type_string))
            return sim_json_expected(v, "a variant");
        s = json_object_get_string(v);
        for (const char *const *e = f->enums; *e; e++)
            if (strcmp(*e, s) == 0)
                return NULL;
        return g_strdup_printf("unknown variant `%s`, expected one of %s", s, exp->str);
    }
    case SIM_F_OBJ:
        return sim_json_check(v, f->sub, TRUE);
    case SIM_F_ARR_OBJ:
    case SIM_F_ARR_STR:
    case SIM_F_ARR_U64:
        if (!json_object_is_type(v, json_type_array))
            return sim_json_expected(v, "a sequence");
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            json_object *e = json_object_array_get_idx(v, i);
            char *err = NULL;
            if (f->type == SIM_F_ARR_OBJ)
                err = sim_json_check(e, f->sub, TRUE);
            else if (f->type == SIM_F_ARR_STR && !json_object_is_type(e, json_type_string))
                err = sim_json_expected(e, "a string");
            else if (f->type == SIM_F_ARR_U64)
                err = sim_json_check_uint(e, G_MAXINT64, "u64");
            if (err)
                return err;
        }
        return NULL;
    case SIM_F_ANY:
        return NULL;
    }
    return NULL;
}

/* deny_unknown is passed down to nested objects through the table: nested tables are strict
 * exactly when their parent is, see sim_json_check_nested(). */
static char *
sim_json_check_impl(json_object *obj, const SimField *fields, gboolean deny_unknown)
{
    if (!json_object_is_type(obj, json_type_object))
        return sim_json_expected(obj, "a map");
    if (deny_unknown) {
        json_object_object_foreach(obj, key, val) {
            gboolean known = FALSE;
            (void)val;
            for (const SimField *f = fields; f->name; f++)
                if (strcmp(f->name, key) == 0)
                    known = TRUE;
            if (!known) {
                g_autoptr(GString) exp = g_string_new(NULL);
                for (const SimField *f = fields; f->name; f++)
                    g_string_append_printf(exp, "%s`%s`", exp->len ? ", " : "", f->name);
                return g_strdup_printf("unknown field `%s`, expected one of %s", key, exp->str);
            }
        }
    }
    for (const SimField *f = fields; f->name; f++) {
        json_object *v = NULL;
        char *err;
        if (!json_object_object_get_ex(obj, f->name, &v) || !v) {
            if (f->required)
                return g_strdup_printf("missing field `%s`", f->name);
            continue;
        }
        if ((f->type == SIM_F_OBJ || f->type == SIM_F_ARR_OBJ) && !deny_unknown) {
            if (f->type == SIM_F_OBJ) {
                err = sim_json_check_impl(v, f->sub, FALSE);
            } else if (!json_object_is_type(v, json_type_array)) {
                err = sim_json_expected(v, "a sequence");
            } else {
                err = NULL;
                for (size_t i = 0; !err && i < json_object_array_length(v); i++)
                    err = sim_json_check_impl(json_object_array_get_idx(v, i), f->sub, FALSE);
            }
        } else {
            err = sim_json_check_value(v, f);
        }
        if (err)
            return err;
    }
    return NULL;
}

char *
sim_json_check(json_object *obj, const SimField *fields, gboolean deny_unknown)
{
    return sim_json_check_impl(obj, fields, deny_unknown);
}

json_object *
sim_json_get(json_object *obj, const char *key)
{
    json_object *v = NULL;

    if (!obj || !json_object_is_type(obj, json_type_object))
        return NULL;
    if (!json_object_object_get_ex(obj, key, &v))
        return NULL;
    return v;
}

const char *
sim_json_get_str(json_object *obj, const char *key)
{
    json_object *v = sim_json_get(obj, key);

    return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

gint64
sim_json_get_int(json_object *obj, const char *key, gint64 def)
{
    json_object *v = sim_json_get(obj, key);

    return v && json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : def;
}

gboolean
sim_json_get_bool(json_object *obj, const char *key, gboolean def)
{
    json_object *v = sim_json_get(obj, key);

    return v && json_object_is_type(v, json_type_boolean) ? json_object_get_boolean(v) : def;
}

char *
sim_json_dump(json_object *obj)
{
    return g_strdup(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
                                                            JSON_C_TO_STRING_NOSLASHESCAPE));
}

char *
sim_json_string_array(const char *const *msgs)
{
    json_object *a = json_object_new_array();
    char *s;

    for (; *msgs; msgs++)
        json_object_array_add(a, json_object_new_string(*msgs));
    s = sim_json_dump(a);
    json_object_put(a);
    return s;
}
