/*  loader.c - the cluster state between the store and a scheduler core (see loader.h).
*/
#include "loader.h"
#include "log.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    core_t *core;               // being filled
    int64_t now;                // boot ms of the load
    int errors;                 // records that could not be taken
} s_load_t;

static void
s_host (void *arg, const host_record_t *record)
{
    s_load_t *load = arg;
    if (model_load_host (core_model (load->core), record, load->now))
        load->errors++;
}

static void
s_vm (void *arg, const vm_record_t *record)
{
    s_load_t *load = arg;
    if (model_load_vm (core_model (load->core), record))
        load->errors++;
}

static void
s_spec (void *arg, const spec_record_t *record, const char *xml)
{
    s_load_t *load = arg;
    if (!managed_add_spec (core_managed (load->core), record, xml)) {
        log_error ("cannot load vm '%s' from the database", record->name);
        load->errors++;
    }
}

static void
s_rule (void *arg, const rule_record_t *record)
{
    s_load_t *load = arg;
    if (!managed_add_rule (core_managed (load->core), record)) {
        log_error ("cannot load rule '%s' from the database", record->name);
        load->errors++;
    }
}

//  A host where a managed VM may run because of a command sent earlier: it stays in the VM's
//  may-run set until a report proves otherwise (DESIGN.md §5.9).
static void
s_may_run (void *arg, const may_run_record_t *record)
{
    s_load_t *load = arg;
    if (reconcile_load_may_run (core_managed (load->core), record, load->now)) {
        log_error ("cannot load where vm %s may run (host %s, command %" PRIu64 ") from the "
                   "database", record->vm_uuid, record->host_id, record->op_id);
        load->errors++;
    }
}

//  An entry of a host's failover timeline.
static void
s_host_event (void *arg, const host_event_record_t *event)
{
    s_load_t *load = arg;
    if (ha_note (core_ha (load->core), event))
        load->errors++;
}

int
loader_load (core_t *core, store_t *store, int64_t now)
{
    s_load_t load = { core, now, 0 };
    if (store_load_hosts (store, s_host, &load)
    ||  store_load_vms (store, s_vm, &load)
    ||  store_load_specs (store, s_spec, &load)
    ||  store_load_rules (store, s_rule, &load)
    ||  store_load_may_run (store, s_may_run, &load)
    ||  store_load_host_events (store, HA_TIMELINE_MAX, s_host_event, &load))
        return -1;
    managed_set_op_base (core_managed (core), store_max_op_id (store));
    return load.errors? -1: 0;
}

//  The newest stored operation of a VM (store_load_ops callback).
static void
s_newest_op (void *arg, const op_record_t *op)
{
    *(op_record_t *) arg = *op;
}

//  Gives spec back what memory knew beyond its record, where the database agrees: the
//  operation in flight (if its record is stored as running), retry bookkeeping, and the
//  live part of may-run entries that were read back.
static void
s_restore_spec (store_t *store, spec_t *spec, const spec_t *old)
{
    spec->retry_after = old->retry_after;
    memcpy (spec->last_host_id, old->last_host_id, sizeof spec->last_host_id);
    if (old->op.record.id) {
        op_record_t stored = { .id = 0 };
        if (store_load_ops (store, spec->record.uuid, 1, s_newest_op, &stored) == 0
        &&  stored.id == old->op.record.id && strcmp (stored.state, "running") == 0)
            spec->op = old->op;
    }
    for (uint32_t i = 0; i < spec->may_run_count; i++)
        for (uint32_t j = 0; j < old->may_run_count; j++) {
            const may_run_t *was = &old->may_run [j];
            may_run_t *entry = &spec->may_run [i];
            if (was->record.op_id == entry->record.op_id
            &&  strcmp (was->record.host_id, entry->record.host_id) == 0) {
                entry->last_sent = was->last_sent;
                entry->answered = was->answered;
                entry->proof_token = was->proof_token;  // tokens are not in the store
                entry->asked = 0;
            }
        }
}

int
loader_reload (core_t *core, store_t *store, int64_t now)
{
    //  What the database never held: each host's connection and liveness, each observed
    //  copy's usage and smoothed load, each managed VM's operation in flight and retry
    //  bookkeeping.
    model_t *model = core_model (core);
    managed_t *managed = core_managed (core);
    size_t host_count = model_host_count (model);
    size_t vm_count = model_vm_count (model);
    size_t spec_count = managed_spec_count (managed);
    host_t *hosts = calloc (host_count + 1, sizeof *hosts);
    vm_t *vms = calloc (vm_count + 1, sizeof *vms);
    spec_t *specs = calloc (spec_count + 1, sizeof *specs);
    if (!hosts || !vms || !specs) {
        free (hosts);
        free (vms);
        free (specs);
        log_error ("cannot roll the scheduler back to its database: out of memory");
        return -1;
    }
    for (size_t i = 0; i < host_count; i++)
        hosts [i] = *model_host_at (model, i);
    for (size_t i = 0; i < vm_count; i++)
        vms [i] = *model_vm_at (model, i);
    for (size_t i = 0; i < spec_count; i++) {
        specs [i] = *managed_spec_at (managed, i);
        specs [i].xml = NULL;                   // borrowed no more after the reset
    }
    //  Ids handed out in the lost batch are never reused: an agent may have seen none of
    //  them, but the next id must not collide with one it did.
    uint64_t op_base = managed_next_op_id (managed);
    int rc = core_reset (core);
    if (rc == 0)
        rc = loader_load (core, store, now);
    model = core_model (core);
    managed = core_managed (core);
    for (size_t i = 0; rc == 0 && i < host_count; i++) {
        host_t *host = model_host_by_id (model, hosts [i].record.id);
        if (!host)
            continue;
        host->live = hosts [i].live;
        host->live.reported = false;            // its reports of the lost batch are gone
        host->live.report_serial = 0;
        host->live.report_requested = 0;
    }
    for (size_t i = 0; rc == 0 && i < vm_count; i++) {
        vm_t *vm = model_vm_copy (model, vms [i].record.uuid, vms [i].record.host_id);
        if (vm) {
            vm->usage = vms [i].usage;
            vm->load = vms [i].load;
        }
    }
    for (size_t i = 0; rc == 0 && i < spec_count; i++) {
        spec_t *spec = managed_spec_by_uuid (managed, specs [i].record.uuid);
        if (spec)
            s_restore_spec (store, spec, &specs [i]);
    }
    managed_set_op_base (managed, op_base);
    free (hosts);
    free (vms);
    free (specs);
    if (rc == 0)
        log_warn ("scheduler state rolled back to the database after a failed write: %zu "
                  "hosts, %zu vms seen, %zu managed vms", model_host_count (model),
                  model_vm_count (model), managed_spec_count (managed));
    return rc;
}

int
loader_commit (core_t *core, store_t *store, fx_t *fx, uint64_t *seq, int64_t now)
{
    bool durable = true;
    uint64_t next = *seq;
    for (size_t i = 0; i < fx->mutations.count; i++) {
        mutation_t *mutation = vec_at (&fx->mutations, i);
        mutation->seq = ++next;
        if (store_apply (store, mutation))
            durable = false;
    }
    if (store_commit (store))
        durable = false;
    if (durable) {
        *seq = next;
        core_committed (core, fx);
        return 0;
    }
    if (loader_reload (core, store, now))
        log_error ("cannot roll back to the database; memory may be ahead of it until a "
                   "restart");
    return -1;
}
