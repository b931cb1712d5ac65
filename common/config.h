/*  config.h - typed `key = value` configuration files with [sections], read with inih.

    A program describes its settings as a table of config_key_t (section, key, type, where the
    value goes in the program's own config struct, allowed range) and calls config_load. Unknown
    sections or keys, unparsable values and values out of range are errors naming the file, the
    line and what is expected; nothing is partially accepted silently. Defaults are whatever the
    caller put in its struct before loading.

    Sections that hold a list of things rather than fixed keys ([fence h1], [fence h2]: one
    per host) are read by their owner in a second pass over the same file with config_each;
    the table names them with one CONFIG_OTHER entry, so that its pass skips them.
*/
#ifndef VMSCHED_CONFIG_H
#define VMSCHED_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    CONFIG_STRING,      // char[size] in the target struct
    CONFIG_UINT,        // uint64_t, decimal, within [min, max]
    CONFIG_BOOL,        // bool: true/false/yes/no/1/0
    CONFIG_SECTIONS     // not a key: sections named `section` + anything are read elsewhere
} config_type_t;

typedef struct {
    const char *section;    // "[section]" name without brackets
    const char *key;        // key within the section
    config_type_t type;     // how to parse the value
    size_t offset;          // offsetof (program struct, field)
    size_t size;            // CONFIG_STRING: size of the char array
    uint64_t min, max;      // CONFIG_UINT: allowed range
    const char *help;       // one line for documentation and errors
} config_key_t;

//  Describe a table entry (use inside a config_key_t [] terminated by CONFIG_END).
#define CONFIG_STR(sec, k, type_, field, help_) \
    { sec, k, CONFIG_STRING, offsetof (type_, field), sizeof (((type_ *) 0)->field), 0, 0, help_ }
#define CONFIG_NUM(sec, k, type_, field, lo, hi, help_) \
    { sec, k, CONFIG_UINT, offsetof (type_, field), 0, lo, hi, help_ }
#define CONFIG_FLAG(sec, k, type_, field, help_) \
    { sec, k, CONFIG_BOOL, offsetof (type_, field), 0, 0, 0, help_ }
//  Sections whose name starts with prefix ("fence " for [fence NAME]) belong to another
//  reader (config_each): config_load skips their keys, whatever they are.
#define CONFIG_OTHER(prefix, help_) { prefix, "*", CONFIG_SECTIONS, 0, 0, 0, 0, help_ }
#define CONFIG_END { NULL, NULL, CONFIG_STRING, 0, 0, 0, 0, NULL }

//  Read PATH into TARGET following KEYS. Returns 0, or -1 with a complete message in err
//  ("config '/etc/vmsched/agent.conf' line 4: unknown key 'foo' in [agent]; known keys: ...").
int config_load (const char *path, const config_key_t *keys, void *target,
                 char *err, size_t err_size);

//  The same for text in memory (NUL-terminated); name stands for the file in messages.
int config_parse (const char *name, const char *text, const config_key_t *keys, void *target,
                  char *err, size_t err_size);

//  Set one value as if it came from a file (command-line overrides, tests). Same errors.
int config_set (const config_key_t *keys, void *target, const char *section,
                const char *key, const char *value, char *err, size_t err_size);

//  What config_each calls for each entry of a file, in file order: once for each section
//  header with key and value NULL (so that an empty section is seen too), then once for each
//  `key = value` of it (a value continued on indented lines comes as a second call with the
//  same key). Returns 0, or -1 with what is wrong in err, without the location (config_each
//  prefixes the file and line).
typedef int (config_entry_fn) (void *arg, const char *section, const char *key,
                               const char *value, char *err, size_t err_size);

//  Read PATH with the same syntax as config_load and hand every entry to fn. Stops at the
//  first error: fn's, a syntax error, a line longer than the parser's buffer, or a section
//  name longer than the parser keeps (it would cut it short silently). 0, or -1 with a
//  complete message in err ("config 'FILE' line 7: ...").
int config_each (const char *path, config_entry_fn *fn, void *arg, char *err, size_t err_size);

#endif
