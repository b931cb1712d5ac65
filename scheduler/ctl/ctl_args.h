/*  ctl_args.h - a clusterctl request's arguments: one JSON object, read strictly.

    clusterctl sends the arguments of a request as one JSON object (CtlRequest.args_json;
    the fields of each verb are in docs/clusterctl-json.md, "Request arguments"). This is the
    only code in the scheduler that reads that text. It is untrusted: at most CTL_ARGS_MAX
    bytes, parsed by jansson with duplicate keys refused, then checked against the verb's
    field schema (every field known, of its JSON type, in its range; every required one
    present). Handlers read the checked object with the accessors below, which cannot fail.
    Every refusal names the field and says what was expected.
*/
#ifndef VMSCHED_CTL_ARGS_H
#define VMSCHED_CTL_ARGS_H

#include "wire.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CTL_ARGS_MAX     WIRE_MAX_ARGS_JSON     // bytes of JSON text
#define CTL_ARGS_SUMMARY 200                    // audit: longer strings become "<N bytes>"
#define CTL_ARGS_ITEMS   64                     // items of an array field, by default

typedef enum {
    CTL_ARG_STRING = 1,         // a JSON string of at most max bytes (0: WIRE_MAX_ARG)
    CTL_ARG_INTEGER,            // a JSON integer from min to max
    CTL_ARG_BOOLEAN,            // true or false
    CTL_ARG_STRINGS             // an array of at most max strings (0: CTL_ARGS_ITEMS)
} ctl_arg_type_t;

//  One field of a verb's argument object. A schema is an array ended by a NULL name.
typedef struct {
    const char *name;           // JSON key; NULL ends the schema
    ctl_arg_type_t type;        // JSON type expected
    bool required;              // refused when absent
    int64_t min;                // CTL_ARG_INTEGER: smallest value
    int64_t max;                // INTEGER: largest value; STRING: bytes; STRINGS: items
} ctl_field_t;

//  Parses text (NULL or empty: no arguments, an empty object) and checks it against
//  fields. verb names the request in messages ("vm list"); usage is appended to the
//  message of a missing field. Returns the object (caller json_decref's it), or NULL with
//  the reason in err ("bad request: field 'priority': expected an integer, got string").
json_t *ctl_args_read (const char *text, const ctl_field_t *fields, const char *verb,
                       const char *usage, char *err, size_t err_size);

//  A copy of args for the audit log: strings (also in arrays) over CTL_ARGS_SUMMARY bytes
//  replaced by "<N bytes>". Caller json_decref's it; an empty object when args is NULL.
json_t *ctl_args_summary (const json_t *args);

//  Accessors of a checked object (fields the schema declares with that type).
const char *ctl_args_string (const json_t *args, const char *name);     // NULL: absent
int64_t     ctl_args_integer (const json_t *args, const char *name, int64_t absent);
bool        ctl_args_boolean (const json_t *args, const char *name, bool absent);
//  The array's size (0 when absent) and its items.
size_t      ctl_args_count (const json_t *args, const char *name);
const char *ctl_args_item (const json_t *args, const char *name, size_t index);

#endif
