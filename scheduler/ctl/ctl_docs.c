/*  ctl_docs.c - the documents clusterctl's answers are made of: hosts, VMs, operations,
    history (docs/clusterctl-json.md is their contract).

    Shared by every request handler (ctl.c's reading verbs, ctl_ops.c's changing ones), so
    none of them reaches into another's file. Pure builders over the core's state and the
    store's history: they change nothing.
*/
#include "ctl_docs.h"
#include "clock.h"

#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>


static json_t *
s_wall_json (int64_t wall_ms)
{
    if (wall_ms <= 0)
        return json_null ();
    char text [40];
    clock_format_wall (wall_ms, text, sizeof text);
    return json_string (text);
}

//  History rows of one entity, oldest first, for the show verbs.
static void
s_add_transition (void *arg, const transition_t *transition)
{
    json_array_append_new ((json_t *) arg, json_pack ("{s:o, s:s, s:s, s:s}",
        "at", s_wall_json (transition->at), "from", transition->from,
        "to", transition->to, "detail", transition->detail));
}

json_t *
ctl_history_json (const ctl_context_t *context, const char *entity_id)
{
    json_t *history = json_array ();
    store_load_transitions (context->store, entity_id, 20, s_add_transition, history);
    return history;
}

//  The host's failover timeline in memory (ha.h), oldest first; "at" in wall ms.
static json_t *
s_timeline_json (const ha_t *ha, const char *host_id)
{
    json_t *timeline = json_array ();
    const vec_t *events = ha_timeline (ha, host_id);
    for (size_t i = 0; events && i < events->count; i++) {
        const host_event_record_t *event = vec_at (events, i);
        json_array_append_new (timeline, json_pack ("{s:I, s:s, s:s}",
            "at", (json_int_t) event->at, "kind", event->kind, "detail", event->detail));
    }
    return timeline;
}

//  A figure rounded to 0.1 (they are smoothed estimates), or null.
static json_t *
s_figure (bool known, double value)
{
    return known? json_real (round (value * 10) / 10): json_null ();
}

//  The smoothed load of a host or VM (load.h) into object: cpu_pct (a VM: percent of one
//  core, up to 100 per vCPU; a host: percent of all its CPUs, 0..100), cpu_cores_used,
//  contention_pct (vCPU wait per vCPU), mem_in_use_mib and load_age_ms (since the newest
//  report behind them); null where not known.
static void
s_add_load (json_t *object, const ctl_context_t *context, const load_figures_t *load,
            double cpu_pct)
{
    json_object_update_new (object, json_pack ("{s:o, s:o, s:o, s:o, s:o}",
        "cpu_pct", s_figure (load->has_cpu, cpu_pct),
        "cpu_cores_used", load->has_cpu? json_real (round (load->cpu_load * 1000) / 1000)
                                       : json_null (),
        "contention_pct", s_figure (load->has_contention, 100 * load->contention),
        "mem_in_use_mib", s_figure (load->has_mem, load->mem_used_mib),
        "load_age_ms", load->updated_at? json_integer (context->now - load->updated_at)
                                       : json_null ()));
}

json_t *
ctl_host_json (const ctl_context_t *context, host_t *host, bool detailed)
{
    const host_record_t *record = &host->record;
    size_t vms, running;
    uint64_t vcpus, memory_mib;
    model_host_usage (context->model, host, &vms, &running, &vcpus, &memory_mib);
    json_t *last_seen = host->live.heard
                      ? json_integer (context->now - host->live.last_heard): json_null ();
    //  What a down host said last about libvirt is not a fact any more.
    json_t *connected = HOST_STATE_GONE (record->state)
                      ? json_null (): json_boolean (host->live.hypervisor_connected);
    json_t *object = json_pack (
        "{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:b, s:o, s:o}",
        "name", record->name, "id", record->id, "state", host_state_name (record->state),
        "generation", (json_int_t) record->generation,
        "cpus", (json_int_t) record->capacity.cpus,
        "memory_mib", (json_int_t) record->capacity.memory_mib,
        "vm_count", (json_int_t) vms, "vms_running", (json_int_t) running,
        "vcpus_used", (json_int_t) vcpus, "memory_used_mib", (json_int_t) memory_mib,
        "cpu_model", record->capacity.cpu_model, "nested", record->capacity.nested,
        "hypervisor_connected", connected, "last_seen_ms", last_seen);
    json_object_set_new (object, "maintenance", json_boolean (record->maintenance));
    json_object_set_new (object, "protected", json_boolean (ha_host_protected (host)));
    json_object_set_new (object, "leased", json_boolean (host->live.leased));
    load_figures_t load;
    model_host_load (context->model, host, &load);
    s_add_load (object, context, &load, 100 * load.cpu_util);
    if (!detailed)
        return object;

    json_object_update_new (object, json_pack ("{s:s, s:b, s:s}",
        "watchdog", record->watchdog, "fence_device", host->live.fence_device,
        "witness_endpoint", record->witness_endpoint));

    json_object_set_new (object, "migration_uri", json_string (record->migration_uri));
    json_t *numa = json_array ();
    for (uint32_t i = 0; i < record->capacity.numa_count; i++)
        json_array_append_new (numa, json_pack ("{s:I, s:I, s:I}",
            "id", (json_int_t) record->capacity.numa [i].id,
            "cpus", (json_int_t) record->capacity.numa [i].cpus,
            "memory_mib", (json_int_t) record->capacity.numa [i].memory_mib));
    json_t *domains = json_array ();
    for (size_t i = 0; i < model_vm_count (context->model); i++) {
        const vm_t *vm = model_vm_at (context->model, i);
        if (strcmp (vm->record.host_id, record->id) == 0)
            json_array_append_new (domains, json_pack ("{s:s, s:s, s:s}",
                "name", vm->record.name, "uuid", vm->record.uuid,
                "state", domain_state_name (vm->record.state)));
    }
    json_object_update_new (object, json_pack ("{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o}",
        "boot_id", record->boot_id, "hypervisor_uri", record->hypervisor_uri,
        "agent_version", record->agent_version, "cpu_flags", record->capacity.cpu_flags,
        "numa", numa, "registered_at", s_wall_json (record->registered_at),
        "state_since", s_wall_json (record->state_since), "domains", domains,
        "history", ctl_history_json (context, record->id)));
    if (context->ha)
        json_object_set_new (object, "timeline", s_timeline_json (context->ha, record->id));
    return object;
}

//  The operation in flight of a managed VM, or null.
static json_t *
s_op_json (const ctl_context_t *context, const vm_op_t *op)
{
    if (!op->record.id)
        return json_null ();
    host_t *host = model_host_by_id (context->model, op->record.host_id);
    host_t *target = model_host_by_id (context->model, op->record.target_host_id);
    double percent = op->data_total? 100.0 * (double) op->data_processed / op->data_total: 0;
    return json_pack ("{s:I, s:s, s:o, s:o, s:b, s:I, s:I, s:I, s:f, s:I}",
        "id", (json_int_t) op->record.id, "action", command_action_name (op->record.action),
        "host", host? json_string (host->record.name): json_null (),
        "target", target? json_string (target->record.name): json_null (),
        "accepted", op->accepted, "data_total", (json_int_t) op->data_total,
        "data_processed", (json_int_t) op->data_processed,
        "data_remaining", (json_int_t) op->data_remaining, "percent", percent,
        "elapsed_ms", (json_int_t) op->elapsed_ms);
}

static void
s_add_op_row (void *arg, const op_record_t *op)
{
    json_array_append_new ((json_t *) arg, json_pack ("{s:I, s:s, s:s, s:s, s:s, s:o, s:o}",
        "id", (json_int_t) op->id, "action", command_action_name (op->action),
        "state", op->state, "message", op->message, "host_id", op->host_id,
        "started_at", s_wall_json (op->started_at),
        "finished_at", s_wall_json (op->finished_at)));
}

//  One VM: observed (vm, may be NULL), managed (spec, may be NULL), or both.
json_t *
ctl_vm_json_of (const ctl_context_t *context, const vm_t *vm, const spec_t *spec,
                bool detailed)
{
    assert (vm || spec);
    const vm_record_t *record = vm? &vm->record: NULL;
    host_t *host = record? model_host_by_id (context->model, record->host_id): NULL;
    const vm_usage_t *usage = vm? &vm->usage: &(vm_usage_t) { 0 };
    const spec_record_t *managed = spec? &spec->record: NULL;
    json_t *object = json_pack ("{s:s, s:s, s:o, s:s, s:s, s:I, s:I, s:b, s:o, s:o, s:o}",
        "name", managed? managed->name: record->name,
        "uuid", managed? managed->uuid: record->uuid,
        "host", host? json_string (host->record.name): json_null (),
        "host_id", record? record->host_id: "",
        "state", domain_state_name (record? record->state: DOMAIN_SHUTOFF),
        "vcpus", (json_int_t) (managed? managed->vcpus: record->vcpus),
        "memory_mib", (json_int_t) (managed? managed->memory_mib: record->memory_kib / 1024),
        "persistent", record && record->persistent,
        "cpu_time_s", usage->has_cpu_time? json_real (usage->cpu_time_ns / 1e9): json_null (),
        "vcpu_delay_ms", usage->has_vcpu_delay? json_real (usage->vcpu_delay_ns / 1e6)
                                              : json_null (),
        "rss_mib", usage->has_rss? json_integer ((json_int_t) (usage->rss_kib / 1024))
                                 : json_null ());
    load_figures_t load = { 0 };
    if (vm)
        model_vm_load (vm, &load);
    s_add_load (object, context, &load, 100 * load.cpu_load);
    json_object_update_new (object, json_pack ("{s:b, s:o, s:o, s:o}",
        "managed", spec != NULL,
        "want", managed? json_string (vm_want_name (managed->want)): json_null (),
        "reason", managed? json_string (managed->reason): json_null (),
        "operation", spec? s_op_json (context, &spec->op): json_null ()));
    if (!detailed)
        return object;
    const char *uuid = managed? managed->uuid: record->uuid;
    json_object_update_new (object, json_pack ("{s:o, s:o}",
        "updated_at", s_wall_json (record? record->updated_at: managed->updated_at),
        "history", ctl_history_json (context, uuid)));
    if (managed) {
        json_t *operations = json_array ();
        store_load_ops (context->store, uuid, 10, s_add_op_row, operations);
        json_object_update_new (object, json_pack (
            "{s:b, s:i, s:I, s:I, s:b, s:b, s:I, s:o, s:o}",
            "ha", managed->ha, "priority", (int) managed->priority,
            "cpu_reserve", (json_int_t) managed->cpu_reserve,
            "mem_reserve_mib", (json_int_t) managed->mem_reserve_mib,
            "needs_nested", managed->needs_nested,
            "migratable", managed->migratable && !managed->needs_nested,  // as reconcile acts
            "generation", (json_int_t) managed->generation,
            "created_at", s_wall_json (managed->created_at), "operations", operations));
    }
    return object;
}

json_t *
ctl_vm_json (const ctl_context_t *context, const spec_t *spec)
{
    return ctl_vm_json_of (context, model_vm_placed (context->model, spec->record.uuid,
                                                spec->record.host_id), spec, false);
}

host_t *
ctl_find_host (const ctl_context_t *context, const char *name, char *err, size_t err_size)
{
    host_t *host = model_host_by_name (context->model, name);
    if (!host)
        host = model_host_by_id (context->model, name);
    if (!host)
        snprintf (err, err_size, "no host named '%s' (see 'clusterctl host list')", name);
    return host;
}
