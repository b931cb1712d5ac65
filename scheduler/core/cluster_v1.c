/*  cluster_v1.c - reads a `vm-cluster-v1` snapshot into the placement engine's structs.

    Owns the parsed cluster: names (copied out of the JSON, which is freed once loaded), the
    host, VM and rule arrays the engine borrows, and the per-VM fields the engine has no
    place for. Parsing is jansson's; this file only walks the document, checks every field
    it uses (type, range, references, duplicates) and reports the first problem once, as
    "FILE: hosts[3].cpus is a string, expected an integer". It never guesses: a missing
    required field, a VM on an unknown host or a rule naming an unknown VM is an error.
    Unknown fields are ignored, as the format says.

    Host state: "up" (or absent) and "maintenance" hosts are up (they are heard from);
    "down" hosts are not. Maintenance hosts are also flagged maintenance.

    Load, for the balancer (balance_vm_t per VM): cpu_load (or vcpus x cpu_util when only
    that is given; 0 when neither), cpu_ready, mem_used_mib, dirty_mib_s, last_migrated (the
    clock of the top-level "time", the snapshot's time in seconds). A VM is migratable unless
    it says "migratable": false, "nested": true (it runs hypervisors: it also needs a host
    with "nested": true) or "host_devices": true.
*/
#include "cluster_v1.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  One entry of a name index.
typedef struct {
    const char *name;           // borrowed from the owner's names; NULL: empty slot
    int index;                  // index of the named host / VM / rule
} s_slot_t;

//  Name -> index, open addressing (names are borrowed).
typedef struct {
    s_slot_t *slots;            // capacity entries
    size_t mask;                // capacity - 1 (capacity is a power of two)
} s_names_t;

struct _cluster_v1_t {
    char *path;                 // the file it was read from
    place_cluster_t place;      // what cluster_v1_place hands out; points into the below
    place_host_t *hosts;        // host_count entries
    char **host_names;          // owned copies, by host index
    place_vm_t *vms;            // vm_count entries
    char **vm_names;            // owned copies, by VM index
    int *priorities;            // per VM: vms[].priority (0 when absent)
    bool *ha;                   // per VM: vms[].ha (false when absent)
    bool *migratable;           // per VM: vms[].migratable (true when absent)
    balance_vm_t *load;         // per VM: measured load and migratability, for the balancer
    double time;                // top-level "time": when the snapshot was taken, in s (or 0)
    place_rule_t *rules;        // rule_count entries
    char **rule_names;          // owned, by rule index
    int **rule_vms;             // owned, per rule: its VM indices
    int **rule_hosts;           // owned, per rule: its host indices (VM-host rules)
    s_names_t host_index;       // host name -> index
    s_names_t vm_index;         // VM name -> index
};

//  State of one load: where errors go.
typedef struct {
    const char *path;           // file name, first word of every error
    char *err;                  // caller's buffer (may be NULL)
    size_t err_size;            // its size
} s_loader_t;


//  --------------------------------------------------------------------------------------
//  Name index

static uint64_t
s_hash (const char *name)
{
    uint64_t hash = 1469598103934665603ULL;     // FNV-1a
    for (const unsigned char *c = (const unsigned char *) name; *c; c++)
        hash = (hash ^ *c) * 1099511628211ULL;
    return hash;
}

static int
s_names_init (s_names_t *self, size_t count)
{
    size_t capacity = 16;
    while (capacity < 2 * count)
        capacity *= 2;
    self->slots = calloc (capacity, sizeof (s_slot_t));
    self->mask = capacity - 1;
    return self->slots? 0: -1;
}

//  Index of name, or -1.
static int
s_names_find (const s_names_t *self, const char *name)
{
    if (!self->slots)
        return -1;
    for (size_t i = s_hash (name) & self->mask; self->slots [i].name; i = (i + 1) & self->mask)
        if (strcmp (self->slots [i].name, name) == 0)
            return self->slots [i].index;
    return -1;
}

//  Add name (borrowed) at index; returns -1, or the index already holding the name.
static int
s_names_add (s_names_t *self, const char *name, int index)
{
    size_t i = s_hash (name) & self->mask;
    for (; self->slots [i].name; i = (i + 1) & self->mask)
        if (strcmp (self->slots [i].name, name) == 0)
            return self->slots [i].index;
    self->slots [i].name = name;
    self->slots [i].index = index;
    return -1;
}


//  --------------------------------------------------------------------------------------
//  Field readers: each reports its own error

static int
s_fail (s_loader_t *self, const char *fmt, ...)
{
    if (self->err && self->err_size) {
        int n = snprintf (self->err, self->err_size, "%s: ", self->path);
        if (n >= 0 && (size_t) n < self->err_size) {
            va_list args;
            va_start (args, fmt);
            vsnprintf (self->err + n, self->err_size - (size_t) n, fmt, args);
            va_end (args);
        }
    }
    return -1;
}

static const char *
s_type_name (const json_t *value)
{
    switch (json_typeof (value)) {
        case JSON_OBJECT:  return "an object";
        case JSON_ARRAY:   return "an array";
        case JSON_STRING:  return "a string";
        case JSON_INTEGER: return "an integer";
        case JSON_REAL:    return "a number with a fraction";
        case JSON_TRUE:
        case JSON_FALSE:   return "a boolean";
        default:           return "null";
    }
}

//  Member key of obj (at where, e.g. "hosts[3]") or NULL; a missing required one fails.
static int
s_member (s_loader_t *self, json_t *obj, const char *where, const char *key, bool required,
          json_t **value)
{
    *value = json_object_get (obj, key);
    if (*value && json_is_null (*value))
        *value = NULL;
    if (!*value && required)
        return s_fail (self, "%s%smissing required field '%s'", where, *where? ": ": "", key);
    return 0;
}

//  Integer member in [min, max]; *out untouched when absent and optional.
static int
s_integer (s_loader_t *self, json_t *obj, const char *where, const char *key, bool required,
           long long min, long long max, long long *out)
{
    json_t *value;
    if (s_member (self, obj, where, key, required, &value))
        return -1;
    if (!value)
        return 0;
    if (!json_is_integer (value))
        return s_fail (self, "%s.%s is %s, expected an integer", where, key, s_type_name (value));
    long long n = json_integer_value (value);
    if (n < min)
        return s_fail (self, "%s.%s is %lld, expected %lld or more", where, key, n, min);
    if (n > max)
        return s_fail (self, "%s.%s is %lld, expected at most %lld", where, key, n, max);
    *out = n;
    return 0;
}

//  Boolean member; *out untouched when absent.
static int
s_boolean (s_loader_t *self, json_t *obj, const char *where, const char *key, bool *out)
{
    json_t *value;
    s_member (self, obj, where, key, false, &value);
    if (!value)
        return 0;
    if (!json_is_boolean (value))
        return s_fail (self, "%s.%s is %s, expected true or false", where, key,
                       s_type_name (value));
    *out = json_is_true (value);
    return 0;
}

//  Number member (integer or fraction) in [min, max]; *out untouched when absent.
static int
s_number (s_loader_t *self, json_t *obj, const char *where, const char *key, double min,
          double max, double *out)
{
    json_t *value;
    s_member (self, obj, where, key, false, &value);
    if (!value)
        return 0;
    if (!json_is_number (value))
        return s_fail (self, "%s%s%s is %s, expected a number", where, *where? ".": "", key,
                       s_type_name (value));
    double n = json_number_value (value);
    if (!(n >= min))
        return s_fail (self, "%s%s%s is %g, expected %g or more", where, *where? ".": "", key,
                       n, min);
    if (!(n <= max))
        return s_fail (self, "%s%s%s is %g, expected at most %g", where, *where? ".": "", key,
                       n, max);
    *out = n;
    return 0;
}

//  String member (borrowed from the document); *out untouched when absent and optional.
static int
s_string (s_loader_t *self, json_t *obj, const char *where, const char *key, bool required,
          const char **out)
{
    json_t *value;
    if (s_member (self, obj, where, key, required, &value))
        return -1;
    if (!value)
        return 0;
    if (!json_is_string (value))
        return s_fail (self, "%s.%s is %s, expected a string", where, key, s_type_name (value));
    if (json_string_length (value) == 0)
        return s_fail (self, "%s.%s is empty", where, key);
    *out = json_string_value (value);
    return 0;
}

//  Array member; *out NULL when absent and optional.
static int
s_array (s_loader_t *self, json_t *obj, const char *where, const char *key, bool required,
         json_t **out)
{
    if (s_member (self, obj, where, key, required, out))
        return -1;
    if (*out && !json_is_array (*out))
        return s_fail (self, "%s%s%s is %s, expected an array", where, *where? ".": "", key,
                       s_type_name (*out));
    return 0;
}

static char *
s_strdup (const char *text)
{
    size_t size = strlen (text) + 1;
    char *copy = malloc (size);
    if (copy)
        memcpy (copy, text, size);
    return copy;
}


//  --------------------------------------------------------------------------------------
//  Sections

static int
s_load_hosts (cluster_v1_t *self, s_loader_t *ld, json_t *array)
{
    size_t count = json_array_size (array);
    self->hosts = calloc (count? count: 1, sizeof (place_host_t));
    self->host_names = calloc (count? count: 1, sizeof (char *));
    if (!self->hosts || !self->host_names || s_names_init (&self->host_index, count))
        return s_fail (ld, "out of memory reading %zu hosts", count);
    self->place.hosts = self->hosts;
    self->place.host_count = count;         // so that destroy frees the names read so far
    for (size_t i = 0; i < count; i++) {
        char where [48];
        snprintf (where, sizeof where, "hosts[%zu]", i);
        json_t *obj = json_array_get (array, i);
        if (!json_is_object (obj))
            return s_fail (ld, "%s is %s, expected an object", where, s_type_name (obj));
        const char *name = NULL, *state = "up";
        long long cpus = 0, mem = 0, reserved = 0;
        bool nested = false;
        if (s_string (ld, obj, where, "name", true, &name)
        ||  s_boolean (ld, obj, where, "nested", &nested)
        ||  s_integer (ld, obj, where, "cpus", true, 0, UINT32_MAX, &cpus)
        ||  s_integer (ld, obj, where, "mem_mib", true, 0, INT64_MAX, &mem)
        ||  s_integer (ld, obj, where, "mem_reserved_mib", false, 0, INT64_MAX, &reserved)
        ||  s_string (ld, obj, where, "state", false, &state))
            return -1;
        if (reserved > mem)
            return s_fail (ld, "%s.mem_reserved_mib is %lld, more than mem_mib (%lld)",
                           where, reserved, mem);
        if (strcmp (state, "up") && strcmp (state, "maintenance") && strcmp (state, "down"))
            return s_fail (ld, "%s.state '%s' is not one of up, maintenance, down", where, state);
        if (!(self->host_names [i] = s_strdup (name)))
            return s_fail (ld, "out of memory");
        int other = s_names_add (&self->host_index, self->host_names [i], (int) i);
        if (other >= 0)
            return s_fail (ld, "%s.name '%s' is also the name of hosts[%d]", where, name, other);
        place_host_t *host = &self->hosts [i];
        host->name = self->host_names [i];
        host->up = strcmp (state, "down") != 0;
        host->maintenance = strcmp (state, "maintenance") == 0;
        host->nested = nested;
        host->cpus = (uint32_t) cpus;
        host->memory_mib = (uint64_t) (mem - reserved);
    }
    return 0;
}

static int
s_load_vms (cluster_v1_t *self, s_loader_t *ld, json_t *array)
{
    size_t count = json_array_size (array);
    size_t alloc = count? count: 1;
    self->vms = calloc (alloc, sizeof (place_vm_t));
    self->vm_names = calloc (alloc, sizeof (char *));
    self->priorities = calloc (alloc, sizeof (int));
    self->ha = calloc (alloc, sizeof (bool));
    self->migratable = calloc (alloc, sizeof (bool));
    self->load = calloc (alloc, sizeof (balance_vm_t));
    if (!self->vms || !self->vm_names || !self->priorities || !self->ha || !self->migratable
    ||  !self->load || s_names_init (&self->vm_index, count))
        return s_fail (ld, "out of memory reading %zu vms", count);
    self->place.vms = self->vms;
    self->place.vm_count = count;           // so that destroy frees the names read so far
    for (size_t i = 0; i < count; i++) {
        char where [48];
        snprintf (where, sizeof where, "vms[%zu]", i);
        json_t *obj = json_array_get (array, i);
        if (!json_is_object (obj))
            return s_fail (ld, "%s is %s, expected an object", where, s_type_name (obj));
        const char *name = NULL, *host_name = NULL;
        long long vcpus = 0, mem = 0, priority = 0;
        bool ha = false, migratable = true, nested = false, devices = false;
        double util = 0, load = -1, ready = 0, used = 0, dirty = -1, moved = -1;
        if (s_string (ld, obj, where, "name", true, &name)
        ||  s_integer (ld, obj, where, "vcpus", true, 1, UINT32_MAX, &vcpus)
        ||  s_integer (ld, obj, where, "mem_mib", true, 1, INT64_MAX, &mem)
        ||  s_string (ld, obj, where, "host", false, &host_name)
        ||  s_integer (ld, obj, where, "priority", false, INT32_MIN, INT32_MAX, &priority)
        ||  s_boolean (ld, obj, where, "ha", &ha)
        ||  s_boolean (ld, obj, where, "migratable", &migratable)
        ||  s_boolean (ld, obj, where, "nested", &nested)
        ||  s_boolean (ld, obj, where, "host_devices", &devices)
        ||  s_number (ld, obj, where, "cpu_util", 0, 1, &util)
        ||  s_number (ld, obj, where, "cpu_load", 0, (double) vcpus, &load)
        ||  s_number (ld, obj, where, "cpu_ready", 0, (double) vcpus, &ready)
        ||  s_number (ld, obj, where, "mem_used_mib", 0, (double) mem, &used)
        ||  s_number (ld, obj, where, "dirty_mib_s", 0, 1e9, &dirty)
        ||  s_number (ld, obj, where, "last_migrated", 0, 1e12, &moved))
            return -1;
        int host = -1;
        if (host_name && (host = s_names_find (&self->host_index, host_name)) < 0)
            return s_fail (ld, "%s.host '%s' is not a host", where, host_name);
        if (!(self->vm_names [i] = s_strdup (name)))
            return s_fail (ld, "out of memory");
        int other = s_names_add (&self->vm_index, self->vm_names [i], (int) i);
        if (other >= 0)
            return s_fail (ld, "%s.name '%s' is also the name of vms[%d]", where, name, other);
        place_vm_t *vm = &self->vms [i];
        vm->name = self->vm_names [i];
        vm->vcpus = (uint32_t) vcpus;
        vm->memory_mib = (uint64_t) mem;
        vm->host = host;
        vm->needs_nested = nested;
        self->load [i] = (balance_vm_t) {
            load >= 0? load: util * (double) vcpus, ready, used, dirty,
            migratable && !nested && !devices, moved
        };
        if (host >= 0)
            place_host_add (&self->hosts [host], vm);
        self->priorities [i] = (int) priority;
        self->ha [i] = ha;
        self->migratable [i] = migratable;
    }
    return 0;
}

//  Names in array (at where.key) looked up in index, into a new array of indices.
static int
s_load_refs (s_loader_t *ld, json_t *array, const char *where, const char *key,
             const s_names_t *index, const char *what, int **out, size_t *count)
{
    *count = json_array_size (array);
    if (*count == 0)
        return s_fail (ld, "%s.%s is empty", where, key);
    *out = calloc (*count, sizeof (int));
    if (!*out)
        return s_fail (ld, "out of memory");
    for (size_t i = 0; i < *count; i++) {
        json_t *item = json_array_get (array, i);
        if (!json_is_string (item))
            return s_fail (ld, "%s.%s[%zu] is %s, expected a string", where, key, i,
                           s_type_name (item));
        int found = s_names_find (index, json_string_value (item));
        if (found < 0)
            return s_fail (ld, "%s.%s[%zu] '%s' is not %s", where, key, i,
                           json_string_value (item), what);
        for (size_t j = 0; j < i; j++)
            if ((*out) [j] == found)
                return s_fail (ld, "%s.%s[%zu] '%s' is listed twice", where, key, i,
                               json_string_value (item));
        (*out) [i] = found;
    }
    return 0;
}

static int
s_load_rules (cluster_v1_t *self, s_loader_t *ld, json_t *array)
{
    size_t count = json_array_size (array);
    size_t alloc = count? count: 1;
    self->rules = calloc (alloc, sizeof (place_rule_t));
    self->rule_names = calloc (alloc, sizeof (char *));
    self->rule_vms = calloc (alloc, sizeof (int *));
    self->rule_hosts = calloc (alloc, sizeof (int *));
    if (!self->rules || !self->rule_names || !self->rule_vms || !self->rule_hosts)
        return s_fail (ld, "out of memory reading %zu rules", count);
    self->place.rules = self->rules;
    self->place.rule_count = count;         // so that destroy frees what was read so far
    for (size_t i = 0; i < count; i++) {
        char where [48];
        snprintf (where, sizeof where, "rules[%zu]", i);
        json_t *obj = json_array_get (array, i);
        if (!json_is_object (obj))
            return s_fail (ld, "%s is %s, expected an object", where, s_type_name (obj));
        const char *kind = NULL, *name = NULL;
        bool hard = true, must = true;
        json_t *vms, *hosts = NULL, *weight_value;
        if (s_string (ld, obj, where, "kind", true, &kind)
        ||  s_string (ld, obj, where, "name", false, &name)
        ||  s_boolean (ld, obj, where, "hard", &hard)
        ||  s_boolean (ld, obj, where, "must", &must)
        ||  s_array (ld, obj, where, "vms", true, &vms)
        ||  s_member (ld, obj, where, "weight", false, &weight_value))
            return -1;
        place_rule_t *rule = &self->rules [i];
        if (strcmp (kind, "affinity") == 0)
            rule->kind = PLACE_RULE_AFFINITY;
        else
        if (strcmp (kind, "anti-affinity") == 0)
            rule->kind = PLACE_RULE_ANTI_AFFINITY;
        else
        if (strcmp (kind, "vm-host") == 0)
            rule->kind = PLACE_RULE_VM_HOST;
        else
            return s_fail (ld, "%s.kind '%s' is not one of affinity, anti-affinity, vm-host",
                           where, kind);
        double weight = 1.0;
        if (weight_value) {
            if (!json_is_number (weight_value))
                return s_fail (ld, "%s.weight is %s, expected a number", where,
                               s_type_name (weight_value));
            weight = json_number_value (weight_value);
            if (!(weight > 0))
                return s_fail (ld, "%s.weight is %g, expected more than 0", where, weight);
        }
        char default_name [32];
        snprintf (default_name, sizeof default_name, "rule-%zu", i);
        if (!(self->rule_names [i] = s_strdup (name? name: default_name)))
            return s_fail (ld, "out of memory");
        for (size_t j = 0; j < i; j++)
            if (strcmp (self->rule_names [j], self->rule_names [i]) == 0)
                return s_fail (ld, "%s.name '%s' is also the name of rules[%zu]", where,
                               self->rule_names [i], j);
        rule->name = self->rule_names [i];
        rule->hard = hard;
        rule->positive = must;
        rule->weight = weight;
        if (s_load_refs (ld, vms, where, "vms", &self->vm_index, "a vm", &self->rule_vms [i],
                         &rule->vm_count))
            return -1;
        rule->vms = self->rule_vms [i];
        if (rule->kind == PLACE_RULE_VM_HOST) {
            if (s_array (ld, obj, where, "hosts", true, &hosts)
            ||  s_load_refs (ld, hosts, where, "hosts", &self->host_index, "a host",
                             &self->rule_hosts [i], &rule->host_count))
                return -1;
            rule->hosts = self->rule_hosts [i];
        }
    }
    return 0;
}


//  --------------------------------------------------------------------------------------
//  Public API

//  Builds the cluster from a parsed document (takes root); path names it in messages.
static cluster_v1_t *
s_from_root (const char *path, json_t *root, char *err, size_t err_size);

cluster_v1_t *
cluster_v1_load (const char *path, char *err, size_t err_size)
{
    s_loader_t ld = { path, err, err_size };
    json_error_t error;
    json_t *root = json_load_file (path, JSON_REJECT_DUPLICATES, &error);
    if (!root) {
        if (error.line > 0)
            s_fail (&ld, "line %d column %d: %s", error.line, error.column, error.text);
        else
            s_fail (&ld, "cannot read: %s", error.text);
        return NULL;
    }
    return s_from_root (path, root, err, err_size);
}

cluster_v1_t *
cluster_v1_parse (const char *name, const char *text, size_t size, char *err, size_t err_size)
{
    s_loader_t ld = { name, err, err_size };
    json_error_t error;
    json_t *root = json_loadb (text, size, JSON_REJECT_DUPLICATES, &error);
    if (!root) {
        s_fail (&ld, "line %d column %d: %s", error.line, error.column, error.text);
        return NULL;
    }
    return s_from_root (name, root, err, err_size);
}

static cluster_v1_t *
s_from_root (const char *path, json_t *root, char *err, size_t err_size)
{
    s_loader_t ld = { path, err, err_size };
    cluster_v1_t *self = calloc (1, sizeof (cluster_v1_t));
    if (!self) {
        s_fail (&ld, "out of memory");
        json_decref (root);
        return NULL;
    }
    self->place.policy = place_policy_default ();
    const char *format = NULL;
    json_t *hosts, *vms, *rules;
    int rc = -1;
    if (!json_is_object (root))
        s_fail (&ld, "the document is %s, expected an object", s_type_name (root));
    else
    if (s_string (&ld, root, "", "format", true, &format))
        ;
    else
    if (strcmp (format, "vm-cluster-v1") != 0)
        s_fail (&ld, "format is '%s', expected 'vm-cluster-v1'", format);
    else
    if (!(self->path = s_strdup (path)))
        s_fail (&ld, "out of memory");
    else
    if (s_number (&ld, root, "", "time", 0, 1e12, &self->time) == 0
    &&  s_array (&ld, root, "", "hosts", true, &hosts) == 0
    &&  s_array (&ld, root, "", "vms", true, &vms) == 0
    &&  s_array (&ld, root, "", "rules", false, &rules) == 0
    &&  s_load_hosts (self, &ld, hosts) == 0
    &&  s_load_vms (self, &ld, vms) == 0
    &&  s_load_rules (self, &ld, rules) == 0)
        rc = 0;
    json_decref (root);
    if (rc)
        cluster_v1_destroy (&self);
    return self;
}

void
cluster_v1_destroy (cluster_v1_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    cluster_v1_t *self = *self_p;
    for (size_t i = 0; self->host_names && i < self->place.host_count; i++)
        free (self->host_names [i]);
    free (self->host_names);
    free (self->hosts);
    for (size_t i = 0; self->vm_names && i < self->place.vm_count; i++)
        free (self->vm_names [i]);
    free (self->vm_names);
    free (self->vms);
    free (self->priorities);
    free (self->ha);
    free (self->migratable);
    free (self->load);
    for (size_t i = 0; self->rule_names && i < self->place.rule_count; i++) {
        free (self->rule_names [i]);
        free (self->rule_vms [i]);
        free (self->rule_hosts [i]);
    }
    free (self->rule_names);
    free (self->rule_vms);
    free (self->rule_hosts);
    free (self->rules);
    free (self->host_index.slots);
    free (self->vm_index.slots);
    free (self->path);
    free (self);
    *self_p = NULL;
}

place_cluster_t *
cluster_v1_place (cluster_v1_t *self)
{
    return self? &self->place: NULL;
}

const int *
cluster_v1_priorities (const cluster_v1_t *self)
{
    return self? self->priorities: NULL;
}

bool
cluster_v1_vm_ha (const cluster_v1_t *self, size_t vm)
{
    return self && vm < self->place.vm_count && self->ha [vm];
}

bool
cluster_v1_vm_migratable (const cluster_v1_t *self, size_t vm)
{
    return self && vm < self->place.vm_count && self->migratable [vm];
}

const balance_vm_t *
cluster_v1_load_figures (const cluster_v1_t *self)
{
    return self? self->load: NULL;
}

double
cluster_v1_time (const cluster_v1_t *self)
{
    return self? self->time: 0;
}

int
cluster_v1_host_index (const cluster_v1_t *self, const char *name)
{
    return self && name? s_names_find (&self->host_index, name): -1;
}

int
cluster_v1_vm_index (const cluster_v1_t *self, const char *name)
{
    return self && name? s_names_find (&self->vm_index, name): -1;
}
