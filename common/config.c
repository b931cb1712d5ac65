/*  config.c - typed `key = value` configuration files with [sections], read with inih.

    Owns nothing beyond the duration of a call: values are written into the caller's struct.
    inih does the lexing (comments, sections, continuation); this file only maps keys to
    typed fields and explains every refusal.
*/
#include "config.h"

#include <errno.h>
#include <ini.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

typedef struct {
    const config_key_t *keys;   // the program's table
    void *target;               // the program's config struct
    char *err;                  // first error message (caller's buffer)
    size_t err_size;            // size of err
    bool failed;                // an error was recorded
} s_parse_t;

static const config_key_t *
s_find (const config_key_t *keys, const char *section, const char *key)
{
    for (const config_key_t *k = keys; k->key; k++)
        if (strcmp (k->section, section) == 0 && strcmp (k->key, key) == 0)
            return k;
    return NULL;
}

static bool
s_section_known (const config_key_t *keys, const char *section)
{
    for (const config_key_t *k = keys; k->key; k++)
        if (strcmp (k->section, section) == 0)
            return true;
    return false;
}

//  Writes the list of keys of a section into buf ("a, b, c").
static void
s_known_keys (const config_key_t *keys, const char *section, char *buf, size_t size)
{
    buf [0] = 0;
    for (const config_key_t *k = keys; k->key; k++)
        if (strcmp (k->section, section) == 0) {
            size_t used = strlen (buf);
            snprintf (buf + used, size - used, "%s%s", used? ", ": "", k->key);
        }
}

static int
s_parse_uint (const char *value, uint64_t *out)
{
    if (!*value || *value == '-' || *value == '+')
        return -1;
    errno = 0;
    char *end;
    unsigned long long parsed = strtoull (value, &end, 10);
    if (errno || *end)
        return -1;
    *out = parsed;
    return 0;
}

static int
s_parse_bool (const char *value, bool *out)
{
    static const char *yes [] = { "true", "yes", "on", "1" };
    static const char *no [] = { "false", "no", "off", "0" };
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp (value, yes [i]) == 0) { *out = true; return 0; }
        if (strcasecmp (value, no [i]) == 0) { *out = false; return 0; }
    }
    return -1;
}

//  Stores one value; on error writes "what is wrong" (without location) to err.
static int
s_assign (const config_key_t *keys, void *target, const char *section, const char *key,
          const char *value, char *err, size_t err_size)
{
    const config_key_t *k = s_find (keys, section, key);
    if (!k) {
        char known [512];
        if (!s_section_known (keys, section)) {
            snprintf (err, err_size, "unknown section [%s]", section);
            return -1;
        }
        s_known_keys (keys, section, known, sizeof known);
        snprintf (err, err_size, "unknown key '%s' in [%s]; known keys: %s", key, section, known);
        return -1;
    }
    char *field = (char *) target + k->offset;
    switch (k->type) {
        case CONFIG_STRING:
            if (strlen (value) >= k->size) {
                snprintf (err, err_size, "value of '%s' is too long (at most %zu characters)",
                          key, k->size - 1);
                return -1;
            }
            memcpy (field, value, strlen (value) + 1);
            return 0;
        case CONFIG_UINT: {
            uint64_t number;
            if (s_parse_uint (value, &number) || number < k->min || number > k->max) {
                snprintf (err, err_size,
                          "invalid value '%s' for '%s': expected a whole number from %" PRIu64
                          " to %" PRIu64 " (%s)", value, key, k->min, k->max, k->help);
                return -1;
            }
            memcpy (field, &number, sizeof number);
            return 0;
        }
        case CONFIG_BOOL: {
            bool flag;
            if (s_parse_bool (value, &flag)) {
                snprintf (err, err_size,
                          "invalid value '%s' for '%s': expected true or false", value, key);
                return -1;
            }
            memcpy (field, &flag, sizeof flag);
            return 0;
        }
    }
    return -1;
}

static int
s_on_entry (void *user, const char *section, const char *key, const char *value)
{
    s_parse_t *parse = user;
    if (parse->failed)
        return 1;       // keep only the first error
    if (s_assign (parse->keys, parse->target, section, key, value,
                  parse->err, parse->err_size)) {
        parse->failed = true;
        return 0;       // inih reports this line number
    }
    return 1;
}

//  The message for inih's result rc (not 0) of parsing `path`.
static int
s_report (const char *path, int rc, const s_parse_t *parse, const char *detail, char *err,
          size_t err_size)
{
    if (rc == -1)
        snprintf (err, err_size, "cannot read config '%s': %s", path,
                  access (path, F_OK)? "no such file": "permission denied");
    else
    if (rc == -2)
        snprintf (err, err_size, "cannot read config '%s': out of memory", path);
    else
    if (parse->failed)
        snprintf (err, err_size, "config '%s' line %d: %s", path, rc, detail);
    else
        snprintf (err, err_size, "config '%s' line %d: syntax error "
                  "(expected '[section]' or 'key = value')", path, rc);
    return -1;
}

int
config_load (const char *path, const config_key_t *keys, void *target,
             char *err, size_t err_size)
{
    char detail [768] = "";
    s_parse_t parse = { keys, target, detail, sizeof detail, false };
    int rc = ini_parse (path, s_on_entry, &parse);
    return rc == 0? 0: s_report (path, rc, &parse, detail, err, err_size);
}

int
config_parse (const char *name, const char *text, const config_key_t *keys, void *target,
              char *err, size_t err_size)
{
    char detail [768] = "";
    s_parse_t parse = { keys, target, detail, sizeof detail, false };
    int rc = ini_parse_string (text, s_on_entry, &parse);
    return rc == 0? 0: s_report (name, rc, &parse, detail, err, err_size);
}

int
config_set (const config_key_t *keys, void *target, const char *section,
            const char *key, const char *value, char *err, size_t err_size)
{
    return s_assign (keys, target, section, key, value, err, err_size);
}
