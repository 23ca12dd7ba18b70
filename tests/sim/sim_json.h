/* JSON helpers for the simulators: strict parsing and a small field-table type checker. */
#pragma once

#include <glib.h>
#include <json-c/json.h>

typedef enum {
    SIM_F_BOOL,
    SIM_F_STR,
    SIM_F_U8,
    SIM_F_U16,
    SIM_F_U32,
    SIM_F_U64,
    SIM_F_ENUM,     /* string out of @enums */
    SIM_F_OBJ,      /* object checked against @sub */
    SIM_F_ARR_OBJ,  /* array of objects checked against @sub */
    SIM_F_ARR_STR,
    SIM_F_ARR_U64,
    SIM_F_ANY,
} SimFieldType;

typedef struct SimField {
    const char *name;
    SimFieldType type;
    gboolean required;
    const struct SimField *sub;
    const char *const *enums;
} SimField;

/**
 * sim_json_parse:
 * Parses exactly one JSON value spanning the whole of @text (strict syntax).
 * Returns: the value (caller owns) or NULL with *@ret_err set to a message.
 */
json_object *sim_json_parse(const char *text, char **ret_err);

/**
 * sim_json_check:
 * Checks @obj against @fields (NULL-name terminated): types, ranges, enums, required fields,
 * and, when @deny_unknown, that no other key is present. JSON null counts as absent.
 * Returns: NULL when valid, else a serde-like message (caller frees).
 */
char *sim_json_check(json_object *obj, const SimField *fields, gboolean deny_unknown);

/** sim_json_get_str: the string member @key of @obj or NULL (absent, null or not a string). */
const char *sim_json_get_str(json_object *obj, const char *key);

/** sim_json_get_int: the integer member @key of @obj, @def when absent or null. */
gint64 sim_json_get_int(json_object *obj, const char *key, gint64 def);

/** sim_json_get_bool: the boolean member @key of @obj, @def when absent or null. */
gboolean sim_json_get_bool(json_object *obj, const char *key, gboolean def);

/** sim_json_get: member @key of @obj unless absent or JSON null (borrowed). */
json_object *sim_json_get(json_object *obj, const char *key);

/** sim_json_dump: plain compact serialisation (caller frees). */
char *sim_json_dump(json_object *obj);

/** sim_json_string_array: a JSON array of the NULL-terminated @msgs, serialised (caller frees). */
char *sim_json_string_array(const char *const *msgs);
