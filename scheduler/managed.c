/*  managed.c - the desired state (see managed.h).

    Specs live in an array sorted by name with a uuid index; rules in an array sorted by
    name. Small counts (hundreds to thousands), so insertion by memmove is fine.
*/
#include "managed.h"
#include "log.h"

#include <czmq.h>
#include <stdlib.h>
#include <string.h>

struct managed {
    spec_t **specs;             // owned, sorted by name
    size_t spec_count;          // used entries
    size_t spec_capacity;       // allocated entries
    zhashx_t *spec_by_uuid;     // uuid -> spec_t (borrowed)
    rule_record_t *rules;       // owned array, sorted by name
    size_t rule_count;          // used entries
    uint64_t last_op_id;        // highest operation id handed out
};

managed_t *
managed_new (void)
{
    managed_t *self = calloc (1, sizeof *self);
    if (self && !(self->spec_by_uuid = zhashx_new ()))
        managed_destroy (&self);
    return self;
}

void
managed_destroy (managed_t **self_p)
{
    managed_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->spec_count; i++) {
        free (self->specs [i]->xml);
        free (self->specs [i]);
    }
    free (self->specs);
    free (self->rules);
    zhashx_destroy (&self->spec_by_uuid);
    free (self);
    *self_p = NULL;
}

//  First index whose name is not before name.
static size_t
s_spec_slot (const managed_t *self, const char *name)
{
    size_t low = 0, high = self->spec_count;
    while (low < high) {
        size_t mid = (low + high) / 2;
        if (strcmp (self->specs [mid]->record.name, name) < 0)
            low = mid + 1;
        else
            high = mid;
    }
    return low;
}

spec_t *
managed_add_spec (managed_t *self, const spec_record_t *record, const char *xml)
{
    if (managed_spec_by_name (self, record->name) || managed_spec_by_uuid (self, record->uuid))
        return NULL;
    if (self->spec_count == self->spec_capacity) {
        size_t capacity = self->spec_capacity? self->spec_capacity * 2: 16;
        spec_t **grown = realloc (self->specs, capacity * sizeof *grown);
        if (!grown)
            return NULL;
        self->specs = grown;
        self->spec_capacity = capacity;
    }
    spec_t *spec = calloc (1, sizeof *spec);
    if (!spec || !(spec->xml = strdup (xml))) {
        free (spec);
        log_error ("cannot add vm '%s': out of memory", record->name);
        return NULL;
    }
    spec->record = *record;
    size_t slot = s_spec_slot (self, record->name);
    memmove (self->specs + slot + 1, self->specs + slot,
             (self->spec_count - slot) * sizeof *self->specs);
    self->specs [slot] = spec;
    self->spec_count++;
    zhashx_insert (self->spec_by_uuid, spec->record.uuid, spec);
    return spec;
}

void
managed_remove_spec (managed_t *self, spec_t *spec)
{
    size_t slot = s_spec_slot (self, spec->record.name);
    if (slot >= self->spec_count || self->specs [slot] != spec)
        return;
    memmove (self->specs + slot, self->specs + slot + 1,
             (self->spec_count - slot - 1) * sizeof *self->specs);
    self->spec_count--;
    zhashx_delete (self->spec_by_uuid, spec->record.uuid);
    free (spec->xml);
    free (spec);
}

spec_t *
managed_spec_by_name (managed_t *self, const char *name)
{
    size_t slot = s_spec_slot (self, name);
    return slot < self->spec_count && strcmp (self->specs [slot]->record.name, name) == 0
         ? self->specs [slot]: NULL;
}

spec_t *
managed_spec_by_uuid (managed_t *self, const char *uuid)
{
    return zhashx_lookup (self->spec_by_uuid, uuid);
}

spec_t *
managed_spec_by_op (managed_t *self, uint64_t op_id)
{
    for (size_t i = 0; i < self->spec_count && op_id; i++)
        if (self->specs [i]->op.record.id == op_id)
            return self->specs [i];
    return NULL;
}

size_t
managed_spec_count (const managed_t *self)
{
    return self->spec_count;
}

spec_t *
managed_spec_at (managed_t *self, size_t index)
{
    return index < self->spec_count? self->specs [index]: NULL;
}

//  --------------------------------------------------------------------------
//  Rules

rule_record_t *
managed_add_rule (managed_t *self, const rule_record_t *rule)
{
    if (managed_rule_by_name (self, rule->name))
        return NULL;
    rule_record_t *grown = realloc (self->rules, (self->rule_count + 1) * sizeof *grown);
    if (!grown)
        return NULL;
    self->rules = grown;
    size_t slot = 0;
    while (slot < self->rule_count && strcmp (self->rules [slot].name, rule->name) < 0)
        slot++;
    memmove (self->rules + slot + 1, self->rules + slot,
             (self->rule_count - slot) * sizeof *self->rules);
    self->rules [slot] = *rule;
    self->rule_count++;
    return &self->rules [slot];
}

void
managed_remove_rule (managed_t *self, const char *name)
{
    for (size_t i = 0; i < self->rule_count; i++)
        if (strcmp (self->rules [i].name, name) == 0) {
            memmove (self->rules + i, self->rules + i + 1,
                     (self->rule_count - i - 1) * sizeof *self->rules);
            self->rule_count--;
            return;
        }
}

rule_record_t *
managed_rule_by_name (managed_t *self, const char *name)
{
    for (size_t i = 0; i < self->rule_count; i++)
        if (strcmp (self->rules [i].name, name) == 0)
            return &self->rules [i];
    return NULL;
}

size_t
managed_rule_count (const managed_t *self)
{
    return self->rule_count;
}

const rule_record_t *
managed_rule_at (const managed_t *self, size_t index)
{
    return index < self->rule_count? &self->rules [index]: NULL;
}

//  --------------------------------------------------------------------------
//  Operation ids

void
managed_set_op_base (managed_t *self, uint64_t highest_used)
{
    if (highest_used > self->last_op_id)
        self->last_op_id = highest_used;
}

uint64_t
managed_next_op_id (managed_t *self)
{
    return ++self->last_op_id;
}
