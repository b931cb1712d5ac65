/*  managed.c - the desired state (see managed.h).

    Specs live in an array sorted by name with a uuid index; rules in an array sorted by
    name. A spec's XML carries the HA marker exactly when the spec is HA (domxml_mark_ha on
    every add and ha change), whoever adds it: `vm create`, the loader (also for specs an
    older scheduler stored unmarked), the simulator. Small counts (hundreds to thousands), so insertion by memmove is fine.
*/
#include "managed.h"
#include "domxml.h"
#include "log.h"
#include "vec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct managed {
    vec_t specs;                // spec_t *, owned, sorted by name
    vec_t spec_by_uuid;         // spec_t *, borrowed from specs, sorted by uuid
    vec_t rules;                // rule_record_t, sorted by name
    uint64_t last_op_id;        // highest operation id handed out
    uint64_t last_token;        // REPORT_REQUEST tokens handed out in this process
};

static int
s_spec_name_order (const void *key, const void *item)
{
    return strcmp (key, (*(spec_t * const *) item)->record.name);
}

static int
s_spec_uuid_order (const void *key, const void *item)
{
    return strcmp (key, (*(spec_t * const *) item)->record.uuid);
}

static int
s_rule_order (const void *key, const void *item)
{
    return strcmp (key, ((const rule_record_t *) item)->name);
}

managed_t *
managed_new (void)
{
    managed_t *self = calloc (1, sizeof *self);
    if (self) {
        self->specs = VEC_OF (spec_t *);
        self->spec_by_uuid = VEC_OF (spec_t *);
        self->rules = VEC_OF (rule_record_t);
    }
    return self;
}

void
managed_destroy (managed_t **self_p)
{
    managed_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->specs.count; i++) {
        spec_t *spec = managed_spec_at (self, i);
        free (spec->xml);
        free (spec);
    }
    vec_free (&self->specs);
    vec_free (&self->spec_by_uuid);
    vec_free (&self->rules);
    free (self);
    *self_p = NULL;
}

//  A copy of xml with the HA marker as ha says (domxml_mark_ha), or NULL: out of memory,
//  or the XML of an HA VM cannot be read (it must never start unmarked: its host's fencer
//  would not kill it). Logged.
static char *
s_marked_xml (const char *name, bool ha, const char *xml)
{
    char *marked = NULL, err [256] = "";
    int rc = domxml_mark_ha (xml, ha, &marked, err, sizeof err);
    if (rc == 1)
        return marked;
    if (rc == 0 || !ha) {
        if (rc)
            log_warn ("vm '%s': its domain XML is kept as it is: %s", name, err);
        char *copy = strdup (xml);
        if (!copy)
            log_error ("cannot add vm '%s': out of memory", name);
        return copy;
    }
    log_error ("vm '%s': cannot mark its domain XML as HA: %s", name, err);
    return NULL;
}

spec_t *
managed_add_spec (managed_t *self, const spec_record_t *record, const char *xml)
{
    if (managed_spec_by_name (self, record->name) || managed_spec_by_uuid (self, record->uuid))
        return NULL;
    char *marked = s_marked_xml (record->name, record->ha, xml);
    if (!marked)
        return NULL;
    spec_t *spec = calloc (1, sizeof *spec);
    if (spec) {
        spec->record = *record;
        spec->xml = marked;
    }
    else
        free (marked);
    if (!spec || vec_insert_ptr (&self->specs, record->name, s_spec_name_order, spec)) {
        if (spec)
            free (spec->xml);
        free (spec);
        log_error ("cannot add vm '%s': out of memory", record->name);
        return NULL;
    }
    if (vec_insert_ptr (&self->spec_by_uuid, record->uuid, s_spec_uuid_order, spec)) {
        vec_remove_ptr (&self->specs, record->name, s_spec_name_order, spec);
        free (spec->xml);
        free (spec);
        log_error ("cannot add vm '%s': out of memory", record->name);
        return NULL;
    }
    return spec;
}

int
managed_spec_set_ha (spec_t *spec, bool ha)
{
    char *marked = s_marked_xml (spec->record.name, ha, spec->xml);
    if (!marked)
        return -1;
    free (spec->xml);
    spec->xml = marked;
    spec->record.ha = ha;
    return 0;
}

void
managed_remove_spec (managed_t *self, spec_t *spec)
{
    if (!vec_remove_ptr (&self->specs, spec->record.name, s_spec_name_order, spec))
        return;
    vec_remove_ptr (&self->spec_by_uuid, spec->record.uuid, s_spec_uuid_order, spec);
    free (spec->xml);
    free (spec);
}

spec_t *
managed_spec_by_name (managed_t *self, const char *name)
{
    return vec_find_ptr (&self->specs, name, s_spec_name_order);
}

spec_t *
managed_spec_by_uuid (managed_t *self, const char *uuid)
{
    return vec_find_ptr (&self->spec_by_uuid, uuid, s_spec_uuid_order);
}

spec_t *
managed_spec_by_op (managed_t *self, uint64_t op_id)
{
    for (size_t i = 0; i < self->specs.count && op_id; i++) {
        spec_t *spec = managed_spec_at (self, i);
        if (spec->op.record.id == op_id)
            return spec;
    }
    return NULL;
}

spec_t *
managed_spec_by_may_run_op (managed_t *self, uint64_t op_id)
{
    for (size_t i = 0; i < self->specs.count && op_id; i++) {
        spec_t *spec = managed_spec_at (self, i);
        for (uint32_t e = 0; e < spec->may_run_count; e++)
            if (spec->may_run [e].record.op_id == op_id)
                return spec;
    }
    return NULL;
}

size_t
managed_spec_count (const managed_t *self)
{
    return self->specs.count;
}

spec_t *
managed_spec_at (managed_t *self, size_t index)
{
    return index < self->specs.count? *(spec_t **) vec_at (&self->specs, index): NULL;
}

//  --------------------------------------------------------------------------
//  Rules

rule_record_t *
managed_add_rule (managed_t *self, const rule_record_t *rule)
{
    size_t slot;
    if (vec_find (&self->rules, rule->name, s_rule_order, &slot))
        return NULL;
    return vec_insert (&self->rules, slot, rule);
}

void
managed_remove_rule (managed_t *self, const char *name)
{
    size_t slot;
    if (vec_find (&self->rules, name, s_rule_order, &slot))
        vec_remove (&self->rules, slot);
}

rule_record_t *
managed_rule_by_name (managed_t *self, const char *name)
{
    return vec_find (&self->rules, name, s_rule_order, NULL);
}

size_t
managed_rule_count (const managed_t *self)
{
    return self->rules.count;
}

const rule_record_t *
managed_rule_at (const managed_t *self, size_t index)
{
    return index < self->rules.count? vec_at (&self->rules, index): NULL;
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

uint64_t
managed_next_token (managed_t *self, uint64_t epoch)
{
    return (epoch << 32) | (++self->last_token & 0xffffffffu);
}
