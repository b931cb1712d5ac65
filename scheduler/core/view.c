/*  view.c - the cluster as the placement engine sees it (see view.h).

    VM indices: managed specs first (in managed order), then observed domains that are not
    managed. Names of both index one table, so rules can name either.
*/
#include "view.h"
#include "ha.h"
#include "log.h"
#include "vec.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct view {
    model_t *model;             // borrowed
    managed_t *managed;         // borrowed
    place_cluster_t cluster;    // the engine's input, pointing into the arrays below
    place_host_t *hosts;        // owned, model order
    place_vm_t *vms;            // owned
    const vm_t **copies;        // owned: the observed copy behind each vms[] entry (NULL:
                                // none, e.g. a stopped managed VM); for view_load
    place_rule_t *rules;        // owned
    int *members;               // owned storage of every rule's index lists
    vec_t vm_index;             // s_named_t sorted by name: VM name -> index in vms
};

//  One entry of the name index.
typedef struct {
    const char *name;           // borrowed from the model or the managed state
    int index;                  // into vms
} s_named_t;

static int
s_named_order (const void *key, const void *item)
{
    return strcmp (key, ((const s_named_t *) item)->name);
}

//  Index of the VM named name, -1 when none.
static int
s_vm_by_name (const view_t *self, const char *name)
{
    const s_named_t *named = vec_find (&self->vm_index, name, s_named_order, NULL);
    return named? named->index: -1;
}

//  Indexes name (the first VM of a name wins).
static void
s_index_vm (view_t *self, const char *name, int index)
{
    size_t slot;
    if (vec_find (&self->vm_index, name, s_named_order, &slot))
        return;
    s_named_t named = { name, index };
    if (!vec_insert (&self->vm_index, slot, &named))
        log_error ("cannot index vm '%s' for placement: out of memory", name);
}

//  Host index by name, -1 when there is no such host.
static int
s_host_by_name (view_t *self, const char *name)
{
    host_t *host = model_host_by_name (self->model, name);
    return host? view_host_index (self, host): -1;
}

static void
s_add_hosts (view_t *self)
{
    size_t count = model_host_count (self->model);
    for (size_t i = 0; i < count; i++) {
        const host_t *host = model_host_at (self->model, i);
        self->hosts [i] = (place_host_t) {
            .name = host->record.name, .up = host->record.state == HOST_STATE_UP,
            .unavailable = host->live.hypervisor_connected
                         ? NULL: "its agent is not connected to libvirt",
            .maintenance = host->record.maintenance, .nested = host->record.capacity.nested,
            .protected_ = ha_host_protected (host), .leased = host->live.leased,
            .cpus = host->record.capacity.cpus, .memory_mib = host->record.capacity.memory_mib };
    }
}

//  Index of the host a VM's observed state puts it on, or -1 (not running, host down).
static int
s_observed_host (view_t *self, const vm_t *vm)
{
    if (!vm || !model_vm_active (vm))
        return -1;
    host_t *host = model_host_by_id (self->model, vm->record.host_id);
    if (!host || HOST_STATE_GONE (host->record.state))
        return -1;
    return view_host_index (self, host);
}

static void
s_add_vms (view_t *self)
{
    size_t count = 0;
    for (size_t i = 0; i < managed_spec_count (self->managed); i++) {
        const spec_t *spec = managed_spec_at (self->managed, i);
        const spec_record_t *r = &spec->record;
        place_vm_t *vm = &self->vms [count];
        const vm_t *copy = model_vm_placed (self->model, r->uuid, r->host_id);
        self->copies [count] = copy;
        *vm = (place_vm_t) { .name = r->name, .vcpus = r->vcpus, .memory_mib = r->memory_mib,
                             .cpu_reserve = r->cpu_reserve, .mem_reserve_mib = r->mem_reserve_mib,
                             .needs_nested = r->needs_nested, .ha = r->ha,
                             .host = s_observed_host (self, copy) };
        if (vm->host >= 0)
            place_host_add (&self->hosts [vm->host], vm);
        //  Starts and migrations in flight already hold their target's capacity.
        const op_record_t *op = &spec->op.record;
        if (op->id && (op->action == COMMAND_START || op->action == COMMAND_MIGRATE)) {
            const char *target = op->action == COMMAND_START? op->host_id: op->target_host_id;
            int index = view_host_index (self, model_host_by_id (self->model, target));
            if (index >= 0 && index != vm->host) {
                place_host_add (&self->hosts [index], vm);
                if (vm->host < 0)
                    vm->host = index;
            }
        }
        //  So do the hosts where a copy may run (a start done there, not reported yet):
        //  without them a second VM fits into the room the first one already takes.
        for (uint32_t e = 0; e < spec->may_run_count && vm->host < 0; e++) {
            int index = view_host_index (self, model_host_by_id (self->model,
                                                    spec->may_run [e].record.host_id));
            if (index >= 0 && self->hosts [index].up) {
                place_host_add (&self->hosts [index], vm);
                vm->host = index;
            }
        }
        s_index_vm (self, r->name, (int) count);
        count++;
    }
    for (size_t i = 0; i < model_vm_count (self->model); i++) {
        const vm_t *observed = model_vm_at (self->model, i);
        if (managed_spec_by_uuid (self->managed, observed->record.uuid))
            continue;
        place_vm_t *vm = &self->vms [count];
        self->copies [count] = observed;
        *vm = (place_vm_t) { .name = observed->record.name, .vcpus = observed->record.vcpus,
                             .memory_mib = observed->record.memory_kib / 1024,
                             .host = s_observed_host (self, observed) };
        if (vm->host >= 0)
            place_host_add (&self->hosts [vm->host], vm);
        s_index_vm (self, observed->record.name, (int) count);
        count++;
    }
    self->cluster.vm_count = count;
}

//  Translates one rule record; members that do not exist are left out.
static void
s_add_rule (view_t *self, const rule_record_t *record, int **cursor)
{
    place_rule_t *rule = &self->rules [self->cluster.rule_count];
    *rule = (place_rule_t) { .name = record->name, .hard = record->hard,
                             .positive = record->positive, .weight = record->weight };
    rule->kind = record->kind == RULE_AFFINITY? PLACE_RULE_AFFINITY
               : record->kind == RULE_ANTI_AFFINITY? PLACE_RULE_ANTI_AFFINITY
               : PLACE_RULE_VM_HOST;
    rule->vms = *cursor;
    for (uint32_t i = 0; i < record->vm_count; i++) {
        int index = s_vm_by_name (self, record->vms [i]);
        if (index >= 0)
            (*cursor) [rule->vm_count++] = index;
    }
    *cursor += rule->vm_count;
    rule->hosts = *cursor;
    for (uint32_t i = 0; i < record->host_count; i++) {
        int index = s_host_by_name (self, record->hosts [i]);
        if (index >= 0)
            (*cursor) [rule->host_count++] = index;
    }
    *cursor += rule->host_count;
    if (rule->weight == 0)
        rule->weight = 1;
    self->cluster.rule_count++;
}

view_t *
view_new (model_t *model, managed_t *managed, const place_policy_t *policy,
          const rule_record_t *extra)
{
    view_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->model = model;
    self->managed = managed;
    size_t hosts = model_host_count (model);
    size_t vms = managed_spec_count (managed) + model_vm_count (model);
    size_t rules = managed_rule_count (managed) + (extra? 1: 0);
    self->hosts = calloc (hosts + 1, sizeof *self->hosts);
    self->vms = calloc (vms + 1, sizeof *self->vms);
    self->copies = calloc (vms + 1, sizeof *self->copies);
    self->rules = calloc (rules + 1, sizeof *self->rules);
    self->members = calloc (rules * RULE_MAX_MEMBERS * 2 + 1, sizeof *self->members);
    self->vm_index = VEC_OF (s_named_t);
    if (!self->hosts || !self->vms || !self->copies || !self->rules || !self->members
    ||  vec_reserve (&self->vm_index, vms)) {
        log_error ("cannot build the placement view: out of memory");
        view_destroy (&self);
        return NULL;
    }
    self->cluster = (place_cluster_t) { .hosts = self->hosts, .host_count = hosts,
                                        .vms = self->vms, .rules = self->rules,
                                        .policy = *policy };
    s_add_hosts (self);
    s_add_vms (self);
    int *cursor = self->members;
    for (size_t i = 0; i < managed_rule_count (managed); i++)
        s_add_rule (self, managed_rule_at (managed, i), &cursor);
    if (extra)
        s_add_rule (self, extra, &cursor);
    return self;
}

void
view_destroy (view_t **self_p)
{
    view_t *self = *self_p;
    if (!self)
        return;
    free (self->hosts);
    free (self->vms);
    free (self->copies);
    free (self->rules);
    free (self->members);
    vec_free (&self->vm_index);
    free (self);
    *self_p = NULL;
}

place_cluster_t *
view_cluster (view_t *self)
{
    return &self->cluster;
}

void
view_load (view_t *self, load_figures_t *hosts, load_figures_t *vms)
{
    for (size_t i = 0; hosts && i < self->cluster.host_count; i++)
        model_host_load (self->model, model_host_at (self->model, i), &hosts [i]);
    for (size_t i = 0; vms && i < self->cluster.vm_count; i++) {
        if (self->copies [i])
            model_vm_load (self->copies [i], &vms [i]);
        else
            memset (&vms [i], 0, sizeof vms [i]);
    }
}

int
view_host_index (view_t *self, const host_t *host)
{
    //  The model keeps hosts sorted by name; the view uses the same order.
    for (size_t low = 0, high = self->cluster.host_count; host && low < high; ) {
        size_t mid = (low + high) / 2;
        int order = strcmp (self->hosts [mid].name, host->record.name);
        if (order == 0)
            return (int) mid;
        if (order < 0)
            low = mid + 1;
        else
            high = mid;
    }
    return -1;
}

host_t *
view_host (view_t *self, int index)
{
    return index >= 0? model_host_at (self->model, (size_t) index): NULL;
}

//  Index of a managed VM (specs come first, in managed order).
static int
s_spec_index (view_t *self, const spec_t *spec)
{
    return s_vm_by_name (self, spec->record.name);
}

host_t *
view_place (view_t *self, const spec_t *spec, const host_t *exclude,
            place_verdict_t *verdicts, place_decision_t *decision)
{
    int vm = s_spec_index (self, spec);
    if (vm < 0) {
        snprintf (decision->summary, sizeof decision->summary, "vm '%s' is not in the view",
                  spec->record.name);
        decision->host = -1;
        return NULL;
    }
    //  The engine wants usage without the VM itself: take it off its current host.
    place_vm_t *entry = &self->vms [vm];
    int current = entry->host;
    if (current >= 0)
        place_host_remove (&self->hosts [current], entry);
    entry->host = -1;
    int rc = place_vm (&self->cluster, vm, exclude? view_host_index (self, exclude): -1,
                       verdicts, decision);
    entry->host = current;
    if (current >= 0)
        place_host_add (&self->hosts [current], entry);
    return rc == 0? view_host (self, decision->host): NULL;
}

void
view_assign (view_t *self, const spec_t *spec, const host_t *host)
{
    int vm = s_spec_index (self, spec);
    int index = view_host_index (self, host);
    if (vm < 0 || index < 0)
        return;
    place_host_add (&self->hosts [index], &self->vms [vm]);
    if (self->vms [vm].host < 0)
        self->vms [vm].host = index;
}

char *
view_verdicts_json (view_t *self, const place_verdict_t *verdicts)
{
    json_t *array = json_array ();
    for (size_t i = 0; i < self->cluster.host_count; i++)
        json_array_append_new (array, json_pack ("{s:s, s:b, s:o, s:s}",
            "host", self->hosts [i].name, "fits", verdicts [i].fits,
            "score", verdicts [i].fits? json_real (verdicts [i].score): json_null (),
            "reason", verdicts [i].reason));
    char *text = json_dumps (array, JSON_COMPACT);
    json_decref (array);
    return text;
}
