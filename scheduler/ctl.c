/*  ctl.c - the scheduler's answers to clusterctl: one table of request verbs.

    Owns nothing between requests. Every document is built with jansson and serialised once
    into the reply; field names and types are the stable contract in docs/clusterctl-json.md.
*/
#include "ctl.h"
#include "clock.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef int (s_handler_fn) (const ctl_context_t *context, char **args, json_t **result,
                            char *err, size_t err_size);

typedef struct {
    const char *verb;           // request verb
    uint32_t min_args;          // fewest arguments accepted
    uint32_t max_args;          // most arguments accepted
    const char *usage;          // shown on bad usage
    s_handler_fn *handler;      // builds the result; 0, or 1 refused with err
} s_verb_t;

//  --------------------------------------------------------------------------
//  Document pieces

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

static json_t *
s_history_json (const ctl_context_t *context, const char *entity_id)
{
    json_t *history = json_array ();
    store_load_transitions (context->store, entity_id, 20, s_add_transition, history);
    return history;
}

static json_t *
s_host_json (const ctl_context_t *context, host_t *host, bool detailed)
{
    const host_record_t *record = &host->record;
    size_t vms, running;
    uint64_t vcpus, memory_mib;
    model_host_usage (context->model, host, &vms, &running, &vcpus, &memory_mib);
    json_t *last_seen = host->live.heard
                      ? json_integer (context->now - host->live.last_heard): json_null ();
    //  What a down host said last about libvirt is not a fact any more.
    json_t *connected = record->state == HOST_STATE_DOWN
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
    if (!detailed)
        return object;

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
        "history", s_history_json (context, record->id)));
    return object;
}

static json_t *
s_vm_json (const ctl_context_t *context, const vm_t *vm, bool detailed)
{
    const vm_record_t *record = &vm->record;
    host_t *host = model_host_by_id (context->model, record->host_id);
    const vm_usage_t *usage = &vm->usage;
    json_t *object = json_pack ("{s:s, s:s, s:o, s:s, s:s, s:I, s:I, s:b, s:o, s:o, s:o}",
        "name", record->name, "uuid", record->uuid,
        "host", host? json_string (host->record.name): json_null (),
        "host_id", record->host_id, "state", domain_state_name (record->state),
        "vcpus", (json_int_t) record->vcpus, "memory_mib", (json_int_t) (record->memory_kib / 1024),
        "persistent", record->persistent,
        "cpu_time_s", usage->has_cpu_time? json_real (usage->cpu_time_ns / 1e9): json_null (),
        "vcpu_delay_ms", usage->has_vcpu_delay? json_real (usage->vcpu_delay_ns / 1e6)
                                              : json_null (),
        "rss_mib", usage->has_rss? json_integer ((json_int_t) (usage->rss_kib / 1024))
                                 : json_null ());
    if (detailed)
        json_object_update_new (object, json_pack ("{s:o, s:o}",
            "updated_at", s_wall_json (record->updated_at),
            "history", s_history_json (context, record->uuid)));
    return object;
}

//  --------------------------------------------------------------------------
//  Verbs

static int
s_status (const ctl_context_t *context, char **args, json_t **result, char *err,
          size_t err_size)
{
    (void) args, (void) err, (void) err_size;
    model_totals_t totals;
    model_totals (context->model, &totals);
    *result = json_pack (
        "{s:{s:s, s:I, s:I, s:s, s:s, s:s}, s:{s:I, s:I, s:I, s:I}, s:{s:I, s:I},"
        " s:{s:I, s:I, s:I, s:I}, s:{s:I, s:I}}",
        "scheduler", "version", context->version, "epoch", (json_int_t) context->epoch,
            "uptime_s", (json_int_t) (context->uptime_ms / 1000),
            "database", context->database, "agent_endpoint", context->agent_endpoint,
            "ctl_endpoint", context->ctl_endpoint,
        "hosts", "total", (json_int_t) totals.hosts, "up", (json_int_t) totals.hosts_up,
            "suspect", (json_int_t) totals.hosts_suspect, "down", (json_int_t) totals.hosts_down,
        "vms", "total", (json_int_t) totals.vms, "running", (json_int_t) totals.vms_running,
        "capacity", "cpus", (json_int_t) totals.cpus, "memory_mib", (json_int_t) totals.memory_mib,
            "vcpus_used", (json_int_t) totals.vcpus_used,
            "memory_used_mib", (json_int_t) totals.memory_used_mib,
        "messages", "received", (json_int_t) context->received,
            "rejected", (json_int_t) context->rejected);
    return 0;
}

static int
s_host_list (const ctl_context_t *context, char **args, json_t **result, char *err,
             size_t err_size)
{
    (void) args, (void) err, (void) err_size;
    json_t *hosts = json_array ();
    for (size_t i = 0; i < model_host_count (context->model); i++)
        json_array_append_new (hosts, s_host_json (context, model_host_at (context->model, i),
                                                   false));
    *result = json_pack ("{s:o}", "hosts", hosts);
    return 0;
}

static int
s_host_show (const ctl_context_t *context, char **args, json_t **result, char *err,
             size_t err_size)
{
    host_t *host = model_host_by_name (context->model, args [0]);
    if (!host)
        host = model_host_by_id (context->model, args [0]);
    if (!host) {
        snprintf (err, err_size, "no host named '%s' (see 'clusterctl host list')", args [0]);
        return 1;
    }
    *result = s_host_json (context, host, true);
    return 0;
}

static int
s_vm_list (const ctl_context_t *context, char **args, json_t **result, char *err,
           size_t err_size)
{
    (void) args, (void) err, (void) err_size;
    json_t *vms = json_array ();
    for (size_t i = 0; i < model_vm_count (context->model); i++)
        json_array_append_new (vms, s_vm_json (context, model_vm_at (context->model, i), false));
    *result = json_pack ("{s:o}", "vms", vms);
    return 0;
}

static int
s_vm_show (const ctl_context_t *context, char **args, json_t **result, char *err,
           size_t err_size)
{
    vm_t *vm = model_vm_by_name (context->model, args [0]);
    if (!vm)
        vm = model_vm_by_uuid (context->model, args [0]);
    if (!vm) {
        snprintf (err, err_size, "no vm named '%s' (see 'clusterctl vm list')", args [0]);
        return 1;
    }
    *result = s_vm_json (context, vm, true);
    return 0;
}

static const s_verb_t s_verbs [] = {
    { "status",    0, 0, "status",         s_status },
    { "host.list", 0, 0, "host list",      s_host_list },
    { "host.show", 1, 1, "host show NAME", s_host_show },
    { "vm.list",   0, 0, "vm list",        s_vm_list },
    { "vm.show",   1, 1, "vm show NAME",   s_vm_show },
};

void
ctl_handle (const ctl_context_t *context, const wire_ctl_request_t *request,
            wire_ctl_reply_t *reply)
{
    const s_verb_t *verb = NULL;
    for (size_t i = 0; i < sizeof s_verbs / sizeof s_verbs [0]; i++)
        if (strcmp (s_verbs [i].verb, request->verb) == 0)
            verb = &s_verbs [i];
    if (!verb) {
        reply->status = 2;
        snprintf (reply->error, sizeof reply->error,
                  "unknown request '%s' (this scheduler is vmsched %s; is clusterctl newer?)",
                  request->verb, context->version);
        return;
    }
    if (request->arg_count < verb->min_args || request->arg_count > verb->max_args) {
        reply->status = 2;
        snprintf (reply->error, sizeof reply->error, "usage: clusterctl %s", verb->usage);
        return;
    }
    json_t *result = NULL;
    reply->status = verb->handler (context, request->args, &result, reply->error,
                                   sizeof reply->error);
    if (result) {
        reply->json = json_dumps (result, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref (result);
    }
    if (reply->status == 0 && !reply->json) {
        reply->status = 1;
        snprintf (reply->error, sizeof reply->error, "cannot build the answer (out of memory)");
    }
}
