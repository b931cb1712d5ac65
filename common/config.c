/*  config.c - typed `key = value` configuration files with [sections], read with inih.

    Owns nothing beyond the duration of a call: values are written into the caller's struct.
    inih does the lexing (comments, sections, continuation); this file only maps keys to
    typed fields and explains every refusal. config_each is the same reading for modules
    whose sections are a list (fence.c's [fence NAME]): it also sees section headers, which
    inih (as Debian builds it) does not report, to catch empty sections and names inih
    would cut short.
*/
#include "config.h"

#include <ctype.h>
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
        if (k->type != CONFIG_SECTIONS
        &&  strcmp (k->section, section) == 0 && strcmp (k->key, key) == 0)
            return k;
    return NULL;
}

static bool
s_section_known (const config_key_t *keys, const char *section)
{
    for (const config_key_t *k = keys; k->key; k++)
        if (k->type != CONFIG_SECTIONS && strcmp (k->section, section) == 0)
            return true;
    return false;
}

//  True when section belongs to another reader (a CONFIG_OTHER prefix).
static bool
s_section_other (const config_key_t *keys, const char *section)
{
    for (const config_key_t *k = keys; k->key; k++)
        if (k->type == CONFIG_SECTIONS && strncmp (section, k->section, strlen (k->section)) == 0)
            return true;
    return false;
}

//  Writes the list of keys of a section into buf ("a, b, c").
static void
s_known_keys (const config_key_t *keys, const char *section, char *buf, size_t size)
{
    buf [0] = 0;
    for (const config_key_t *k = keys; k->key; k++)
        if (k->type != CONFIG_SECTIONS && strcmp (k->section, section) == 0) {
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
        case CONFIG_SECTIONS:
            break;          // s_find never returns one
    }
    return -1;
}

static int
s_on_entry (void *user, const char *section, const char *key, const char *value)
{
    s_parse_t *parse = user;
    if (parse->failed)
        return 1;       // keep only the first error
    if (s_section_other (parse->keys, section))
        return 1;       // another reader's section (config_each)
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

//  --------------------------------------------------------------------------
//  config_each: every entry, section headers included

#define S_INI_MAX_SECTION   50      // inih's MAX_SECTION: it keeps 49 characters of a name

typedef struct {
    FILE *file;                 // the file being read
    config_entry_fn *fn;        // the caller's function
    void *arg;                  // its argument
    int line;                   // lines handed to inih so far (inih's line number)
    bool key_seen;              // a key since the last section (inih continues values then)
    bool failed;                // an error was recorded (in detail)
    int failed_line;            // its line
    char detail [768];          // what is wrong, without the location
} s_each_t;

//  inih's reader: fgets, watching each line before inih lexes it. A section header calls fn
//  with key NULL here, at its place in the order of entries.
static char *
s_each_read (char *line, int size, void *arg)
{
    s_each_t *each = arg;
    if (each->failed || !fgets (line, size, each->file))
        return NULL;        // NULL ends inih's loop
    each->line++;
    size_t length = strlen (line);
    if (length + 1 == (size_t) size && line [length - 1] != '\n' && !feof (each->file)) {
        snprintf (each->detail, sizeof each->detail,
                  "line too long (at most %d characters)", size - 2);
        each->failed = true;
        each->failed_line = each->line;
        return NULL;
    }
    char *start = line;
    if (each->line == 1 && strncmp (start, "\xEF\xBB\xBF", 3) == 0)
        start += 3;         // a UTF-8 byte order mark, as inih skips it
    bool indented = isspace ((unsigned char) *start);
    while (isspace ((unsigned char) *start))
        start++;
    if (*start != '[' || (indented && each->key_seen))
        return line;        // not a header (an indented line after a key continues it)
    //  The header's name ends where inih's does: at ']' or at an inline comment.
    char *end = start + 1;
    bool was_space = false;
    while (*end && *end != ']' && !(was_space && *end == ';')) {
        was_space = isspace ((unsigned char) *end);
        end++;
    }
    if (*end != ']')
        return line;        // inih reports the syntax error
    each->key_seen = false;
    char section [256];
    size_t name_length = (size_t) (end - start - 1);
    if (name_length >= S_INI_MAX_SECTION || name_length >= sizeof section) {
        snprintf (each->detail, sizeof each->detail,
                  "section name '[%.*s]' is too long (at most %d characters)",
                  (int) (name_length < sizeof section? name_length: sizeof section - 1),
                  start + 1, S_INI_MAX_SECTION - 1);
        each->failed = true;
        each->failed_line = each->line;
        return NULL;
    }
    memcpy (section, start + 1, name_length);
    section [name_length] = 0;
    if (each->fn (each->arg, section, NULL, NULL, each->detail, sizeof each->detail)) {
        each->failed = true;
        each->failed_line = each->line;
        return NULL;
    }
    return line;
}

static int
s_each_entry (void *arg, const char *section, const char *key, const char *value)
{
    s_each_t *each = arg;
    each->key_seen = true;
    if (each->failed)
        return 1;
    if (each->fn (each->arg, section, key, value, each->detail, sizeof each->detail)) {
        each->failed = true;
        each->failed_line = each->line;
        return 0;
    }
    return 1;
}

int
config_each (const char *path, config_entry_fn *fn, void *arg, char *err, size_t err_size)
{
    s_each_t each = { .fn = fn, .arg = arg };
    each.file = fopen (path, "r");
    if (!each.file) {
        snprintf (err, err_size, "cannot read config '%s': %s", path, strerror (errno));
        return -1;
    }
    int rc = ini_parse_stream (s_each_read, &each, s_each_entry, &each);
    bool unreadable = ferror (each.file);
    fclose (each.file);
    if (unreadable) {
        snprintf (err, err_size, "cannot read config '%s': read error", path);
        return -1;
    }
    if (rc == -2) {
        snprintf (err, err_size, "cannot read config '%s': out of memory", path);
        return -1;
    }
    if (rc > 0 && (!each.failed || rc < each.failed_line)) {
        snprintf (err, err_size, "config '%s' line %d: syntax error "
                  "(expected '[section]' or 'key = value')", path, rc);
        return -1;
    }
    if (each.failed) {
        snprintf (err, err_size, "config '%s' line %d: %s", path, each.failed_line,
                  each.detail);
        return -1;
    }
    return 0;
}
