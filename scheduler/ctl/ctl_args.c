/*  ctl_args.c - a clusterctl request's arguments, read strictly (see ctl_args.h).

    Owns nothing between calls. jansson does all the parsing; this file only compares what
    it produced with the verb's schema and words the refusals. It never trusts the text: the
    size is checked before parsing, duplicates and NUL characters are refused by jansson,
    and nothing but the schema's fields reaches a handler.
*/
#include "ctl_args.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

//  --------------------------------------------------------------------------
//  Words for messages

static const char *
s_type_name (const json_t *value)
{
    switch (json_typeof (value)) {
        case JSON_OBJECT:  return "object";
        case JSON_ARRAY:   return "array";
        case JSON_STRING:  return "string";
        case JSON_INTEGER: return "integer";
        case JSON_REAL:    return "number";
        case JSON_TRUE:
        case JSON_FALSE:   return "boolean";
        case JSON_NULL:    return "null";
    }
    return "?";
}

static const char *
s_expected (ctl_arg_type_t type)
{
    return type == CTL_ARG_STRING? "a string": type == CTL_ARG_INTEGER? "an integer"
         : type == CTL_ARG_BOOLEAN? "a boolean": "an array of strings";
}

//  The key a jansson "duplicate object key near '\"KEY\"'" error names, decoded by jansson
//  into key; false when the text is not of that form (then the caller quotes jansson).
static bool
s_duplicate_key (const json_error_t *error, char *key, size_t size)
{
    const char *near = strstr (error->text, " near '");
    size_t length = near? strlen (near + 7): 0;
    if (json_error_code (error) != json_error_duplicate_key || length < 3
    ||  near [7 + length - 1] != '\'')
        return false;
    char token [JSON_ERROR_TEXT_LENGTH];
    snprintf (token, sizeof token, "%.*s", (int) length - 1, near + 7);
    json_t *decoded = json_loads (token, JSON_DECODE_ANY, NULL);
    bool named = json_is_string (decoded);
    if (named)
        snprintf (key, size, "%s", json_string_value (decoded));
    json_decref (decoded);
    return named;
}

//  --------------------------------------------------------------------------
//  Checks

//  Checks one field's value; 0, or -1 with err.
static int
s_check_field (const ctl_field_t *field, const json_t *value, char *err, size_t err_size)
{
    bool typed = field->type == CTL_ARG_STRING? json_is_string (value)
               : field->type == CTL_ARG_INTEGER? json_is_integer (value)
               : field->type == CTL_ARG_BOOLEAN? json_is_boolean (value)
               : json_is_array (value);
    if (!typed) {
        snprintf (err, err_size, "bad request: field '%s': expected %s, got %s", field->name,
                  s_expected (field->type), s_type_name (value));
        return -1;
    }
    if (field->type == CTL_ARG_INTEGER) {
        json_int_t number = json_integer_value (value);
        if (number < field->min || number > field->max) {
            snprintf (err, err_size, "bad request: field '%s': expected an integer from %"
                      PRId64 " to %" PRId64 ", got %" JSON_INTEGER_FORMAT, field->name,
                      field->min, field->max, number);
            return -1;
        }
    }
    if (field->type == CTL_ARG_STRING) {
        size_t length = json_string_length (value);
        size_t max = field->max? (size_t) field->max: WIRE_MAX_ARG;
        if (length > max) {
            snprintf (err, err_size, "bad request: field '%s': expected a string of at most "
                      "%zu bytes, got %zu bytes", field->name, max, length);
            return -1;
        }
    }
    if (field->type == CTL_ARG_STRINGS) {
        size_t max = field->max? (size_t) field->max: CTL_ARGS_ITEMS;
        if (json_array_size (value) > max) {
            snprintf (err, err_size, "bad request: field '%s': expected at most %zu strings, "
                      "got %zu", field->name, max, json_array_size (value));
            return -1;
        }
        size_t index;
        const json_t *item;
        json_array_foreach (value, index, item)
            if (!json_is_string (item) || json_string_length (item) >= WIRE_NAME_SIZE) {
                if (json_is_string (item))
                    snprintf (err, err_size, "bad request: field '%s[%zu]': expected a string "
                              "of at most %d bytes, got %zu bytes", field->name, index,
                              WIRE_NAME_SIZE - 1, json_string_length (item));
                else
                    snprintf (err, err_size, "bad request: field '%s[%zu]': expected a string, "
                              "got %s", field->name, index, s_type_name (item));
                return -1;
            }
    }
    return 0;
}

//  The names of fields, comma separated, into text.
static void
s_field_names (const ctl_field_t *fields, char *text, size_t size)
{
    size_t used = 0;
    text [0] = 0;
    for (const ctl_field_t *field = fields; field->name && used < size; field++)
        used += (size_t) snprintf (text + used, size - used, "%s%s", used? ", ": "",
                                   field->name);
}

json_t *
ctl_args_read (const char *text, const ctl_field_t *fields, const char *verb,
               const char *usage, char *err, size_t err_size)
{
    size_t length = text? strlen (text): 0;
    if (length > CTL_ARGS_MAX) {
        snprintf (err, err_size, "bad request: arguments too large (%zu bytes of JSON, at most "
                  "%d)", length, CTL_ARGS_MAX);
        return NULL;
    }
    json_error_t error;
    json_t *args = length? json_loadb (text, length, JSON_REJECT_DUPLICATES, &error)
                         : json_object ();
    if (!args) {
        char key [WIRE_NAME_SIZE];
        if (s_duplicate_key (&error, key, sizeof key))
            snprintf (err, err_size, "bad request: field '%s' given twice: expected each field "
                      "once", key);
        else
            snprintf (err, err_size, "bad request: arguments are not valid JSON: %s (at byte %d)",
                      error.text, error.position);
        return NULL;
    }
    if (!json_is_object (args)) {
        snprintf (err, err_size, "bad request: arguments: expected a JSON object, got %s",
                  s_type_name (args));
        json_decref (args);
        return NULL;
    }
    const char *key;
    json_t *value;
    json_object_foreach (args, key, value) {
        const ctl_field_t *field = fields;
        while (field->name && strcmp (field->name, key))
            field++;
        if (!field->name) {
            char known [512];
            s_field_names (fields, known, sizeof known);
            if (known [0])
                snprintf (err, err_size, "bad request: unknown field '%.64s' for verb '%s' "
                          "(expected one of: %s)", key, verb, known);
            else
                snprintf (err, err_size, "bad request: unknown field '%.64s' for verb '%s' "
                          "(it takes no arguments)", key, verb);
            json_decref (args);
            return NULL;
        }
        if (s_check_field (field, value, err, err_size)) {
            json_decref (args);
            return NULL;
        }
    }
    for (const ctl_field_t *field = fields; field->name; field++)
        if (field->required && !json_object_get (args, field->name)) {
            snprintf (err, err_size, "bad request: field '%s' is missing: expected %s "
                      "(usage: clusterctl %s)", field->name, s_expected (field->type), usage);
            json_decref (args);
            return NULL;
        }
    return args;
}

//  --------------------------------------------------------------------------
//  Audit summary and accessors

//  A string as the audit log keeps it.
static json_t *
s_summary_string (const json_t *value)
{
    size_t length = json_string_length (value);
    if (length <= CTL_ARGS_SUMMARY)
        return json_deep_copy (value);
    char text [32];
    snprintf (text, sizeof text, "<%zu bytes>", length);
    return json_string (text);
}

json_t *
ctl_args_summary (const json_t *args)
{
    json_t *summary = json_object ();
    const char *key;
    json_t *value;
    json_object_foreach ((json_t *) args, key, value) {
        json_t *kept;
        if (json_is_string (value))
            kept = s_summary_string (value);
        else
        if (json_is_array (value)) {
            kept = json_array ();
            size_t index;
            json_t *item;
            json_array_foreach (value, index, item)
                json_array_append_new (kept, json_is_string (item)? s_summary_string (item)
                                                                  : json_deep_copy (item));
        }
        else
            kept = json_deep_copy (value);
        json_object_set_new (summary, key, kept);
    }
    return summary;
}

const char *
ctl_args_string (const json_t *args, const char *name)
{
    return json_string_value (json_object_get (args, name));
}

int64_t
ctl_args_integer (const json_t *args, const char *name, int64_t absent)
{
    const json_t *value = json_object_get (args, name);
    return json_is_integer (value)? (int64_t) json_integer_value (value): absent;
}

bool
ctl_args_boolean (const json_t *args, const char *name, bool absent)
{
    const json_t *value = json_object_get (args, name);
    return json_is_boolean (value)? json_is_true (value): absent;
}

size_t
ctl_args_count (const json_t *args, const char *name)
{
    return json_array_size (json_object_get (args, name));
}

const char *
ctl_args_item (const json_t *args, const char *name, size_t index)
{
    return json_string_value (json_array_get (json_object_get (args, name), index));
}
