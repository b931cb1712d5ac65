/*  model.c - the scheduler's in-memory cluster: hosts, their domains and live usage.

    Hosts and VMs live in arrays kept sorted by name (listing order) with hash indexes by
    id/uuid (message lookups). The model never reads a clock or does I/O: callers pass `now`
    and collect the mutations every persistent change produces (see model.h).
*/
#include "model.h"
#include "log.h"

#include <czmq.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct model {
    host_t **hosts;         // owned, sorted by name
    size_t host_count;      // used entries of hosts
    size_t host_capacity;   // allocated entries of hosts
    vm_t **vms;             // owned, sorted by (name, uuid)
    size_t vm_count;        // used entries of vms
    size_t vm_capacity;     // allocated entries of vms
    zhashx_t *host_by_id;   // host id -> host_t (borrowed from hosts)
    zhashx_t *vm_by_uuid;   // vm uuid -> vm_t (borrowed from vms)
    uint64_t reports;       // full reports applied so far (numbers them)
};

//  --------------------------------------------------------------------------
//  Mutation lists

int
mutations_push (mutations_t *list, const mutation_t *mutation)
{
    if (list->count == list->capacity) {
        size_t capacity = list->capacity? list->capacity * 2: 16;
        mutation_t *items = realloc (list->items, capacity * sizeof *items);
        if (!items) {
            log_error ("cannot record a %s mutation: out of memory",
                       mutation_kind_name (mutation->kind));
            free (mutation->blob);          // ownership passed to us either way
            return -1;
        }
        list->items = items;
        list->capacity = capacity;
    }
    list->items [list->count++] = *mutation;
    return 0;
}

void
mutations_clear (mutations_t *list)
{
    for (size_t i = 0; i < list->count; i++)
        free (list->items [i].blob);
    list->count = 0;
}

void
mutations_free (mutations_t *list)
{
    mutations_clear (list);
    free (list->items);
    memset (list, 0, sizeof *list);
}

//  --------------------------------------------------------------------------
//  Sorted arrays

//  Grows *array to hold one more pointer. 0 or -1.
static int
s_reserve (void ***array, size_t count, size_t *capacity)
{
    if (count < *capacity)
        return 0;
    size_t grown = *capacity? *capacity * 2: 16;
    void **items = realloc (*array, grown * sizeof (void *));
    if (!items)
        return -1;
    *array = items;
    *capacity = grown;
    return 0;
}

static int
s_vm_order (const vm_t *a, const vm_t *b)
{
    int by_name = strcmp (a->record.name, b->record.name);
    return by_name? by_name: strcmp (a->record.uuid, b->record.uuid);
}

//  Index at which a VM sorts (first entry not before it).
static size_t
s_vm_slot (const model_t *self, const vm_t *vm)
{
    size_t low = 0, high = self->vm_count;
    while (low < high) {
        size_t mid = (low + high) / 2;
        if (s_vm_order (self->vms [mid], vm) < 0)
            low = mid + 1;
        else
            high = mid;
    }
    return low;
}

static size_t
s_host_slot (const model_t *self, const char *name)
{
    size_t low = 0, high = self->host_count;
    while (low < high) {
        size_t mid = (low + high) / 2;
        if (strcmp (self->hosts [mid]->record.name, name) < 0)
            low = mid + 1;
        else
            high = mid;
    }
    return low;
}

static void
s_insert_at (void **array, size_t *count, size_t slot, void *item)
{
    memmove (array + slot + 1, array + slot, (*count - slot) * sizeof (void *));
    array [slot] = item;
    (*count)++;
}

static void
s_remove_at (void **array, size_t *count, size_t slot)
{
    memmove (array + slot, array + slot + 1, (*count - slot - 1) * sizeof (void *));
    (*count)--;
}

//  Position of vm in the sorted array (it must be there).
static size_t
s_vm_index (const model_t *self, const vm_t *vm)
{
    size_t slot = s_vm_slot (self, vm);
    assert (slot < self->vm_count && self->vms [slot] == vm);
    return slot;
}

//  --------------------------------------------------------------------------
//  Life cycle

model_t *
model_new (void)
{
    model_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->host_by_id = zhashx_new ();
    self->vm_by_uuid = zhashx_new ();
    if (!self->host_by_id || !self->vm_by_uuid)
        model_destroy (&self);
    return self;
}

void
model_destroy (model_t **self_p)
{
    model_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->host_count; i++)
        free (self->hosts [i]);
    for (size_t i = 0; i < self->vm_count; i++)
        free (self->vms [i]);
    free (self->hosts);
    free (self->vms);
    zhashx_destroy (&self->host_by_id);
    zhashx_destroy (&self->vm_by_uuid);
    free (self);
    *self_p = NULL;
}

static host_t *
s_host_insert (model_t *self, const host_record_t *record)
{
    host_t *host = calloc (1, sizeof *host);
    if (!host || s_reserve ((void ***) &self->hosts, self->host_count, &self->host_capacity)) {
        free (host);
        log_error ("cannot add host '%s': out of memory", record->name);
        return NULL;
    }
    host->record = *record;
    s_insert_at ((void **) self->hosts, &self->host_count,
                 s_host_slot (self, record->name), host);
    zhashx_insert (self->host_by_id, host->record.id, host);
    return host;
}

static vm_t *
s_vm_insert (model_t *self, const vm_record_t *record)
{
    vm_t *vm = calloc (1, sizeof *vm);
    if (!vm || s_reserve ((void ***) &self->vms, self->vm_count, &self->vm_capacity)) {
        free (vm);
        log_error ("cannot add vm '%s': out of memory", record->name);
        return NULL;
    }
    vm->record = *record;
    s_insert_at ((void **) self->vms, &self->vm_count, s_vm_slot (self, vm), vm);
    zhashx_insert (self->vm_by_uuid, vm->record.uuid, vm);
    return vm;
}

static void
s_vm_remove (model_t *self, vm_t *vm)
{
    s_remove_at ((void **) self->vms, &self->vm_count, s_vm_index (self, vm));
    zhashx_delete (self->vm_by_uuid, vm->record.uuid);
    free (vm);
}

int
model_load_host (model_t *self, const host_record_t *record, int64_t now)
{
    host_t *host = s_host_insert (self, record);
    if (!host)
        return -1;
    host->live.last_heard = now;
    return 0;
}

int
model_load_vm (model_t *self, const vm_record_t *record)
{
    return s_vm_insert (self, record)? 0: -1;
}

//  --------------------------------------------------------------------------
//  Lookup and iteration

uint64_t
model_report_serial (const model_t *self)
{
    return self->reports;
}

bool
model_reported_since (model_t *self, uint64_t serial, const host_t **missing)
{
    for (size_t i = 0; i < self->host_count; i++) {
        const host_t *host = self->hosts [i];
        if (host->record.state == HOST_STATE_UP && host->live.report_serial <= serial) {
            if (missing)
                *missing = host;
            return false;
        }
    }
    return true;
}

host_t *
model_host_by_id (model_t *self, const char *id)
{
    return zhashx_lookup (self->host_by_id, id);
}

host_t *
model_host_by_name (model_t *self, const char *name)
{
    size_t slot = s_host_slot (self, name);
    if (slot < self->host_count && strcmp (self->hosts [slot]->record.name, name) == 0)
        return self->hosts [slot];
    return NULL;
}

vm_t *
model_vm_by_uuid (model_t *self, const char *uuid)
{
    return zhashx_lookup (self->vm_by_uuid, uuid);
}

vm_t *
model_vm_by_name (model_t *self, const char *name)
{
    vm_t probe;
    memset (&probe, 0, sizeof probe);
    snprintf (probe.record.name, sizeof probe.record.name, "%s", name);
    size_t slot = s_vm_slot (self, &probe);     // first entry with this name, if any
    if (slot < self->vm_count && strcmp (self->vms [slot]->record.name, name) == 0)
        return self->vms [slot];
    return NULL;
}

size_t
model_host_count (const model_t *self)
{
    return self->host_count;
}

host_t *
model_host_at (model_t *self, size_t index)
{
    return index < self->host_count? self->hosts [index]: NULL;
}

size_t
model_vm_count (const model_t *self)
{
    return self->vm_count;
}

vm_t *
model_vm_at (model_t *self, size_t index)
{
    return index < self->vm_count? self->vms [index]: NULL;
}

//  --------------------------------------------------------------------------
//  Hosts

static void
s_push_host_put (const host_t *host, int64_t wall, mutations_t *out)
{
    mutation_t mutation = { .kind = MUTATION_HOST_PUT, .at = wall };
    mutation.u.host = host->record;
    mutations_push (out, &mutation);
}

host_t *
model_host_register (model_t *self, const wire_hello_t *hello, int64_t now, int64_t wall,
                     mutations_t *out, char *err, size_t err_size)
{
    host_t *named = model_host_by_name (self, hello->name);
    if (named && strcmp (named->record.id, hello->host_id) != 0) {
        snprintf (err, err_size, "host name '%s' is already registered by host id %s",
                  hello->name, named->record.id);
        return NULL;
    }
    host_t *host = model_host_by_id (self, hello->host_id);
    if (host && strcmp (host->record.name, hello->name) != 0) {
        //  Renamed host: re-insert so the name order stays right.
        log_info ("host '%s': renamed to '%s'", host->record.name, hello->name);
        host_record_t record = host->record;
        host_live_t live = host->live;
        for (size_t i = 0; i < self->host_count; i++)
            if (self->hosts [i] == host) {
                s_remove_at ((void **) self->hosts, &self->host_count, i);
                break;
            }
        zhashx_delete (self->host_by_id, record.id);
        free (host);
        snprintf (record.name, sizeof record.name, "%s", hello->name);
        host = s_host_insert (self, &record);
        if (!host) {
            snprintf (err, err_size, "out of memory");
            return NULL;
        }
        host->live = live;
    }
    if (!host) {
        host_record_t record;
        memset (&record, 0, sizeof record);
        snprintf (record.id, sizeof record.id, "%s", hello->host_id);
        snprintf (record.name, sizeof record.name, "%s", hello->name);
        record.state = HOST_STATE_DOWN;
        record.state_since = wall;
        host = s_host_insert (self, &record);
        if (!host) {
            snprintf (err, err_size, "out of memory");
            return NULL;
        }
    }
    host_record_t *record = &host->record;
    snprintf (record->boot_id, sizeof record->boot_id, "%s", hello->boot_id);
    snprintf (record->hypervisor_uri, sizeof record->hypervisor_uri, "%s",
              hello->hypervisor_uri);
    snprintf (record->agent_version, sizeof record->agent_version, "%s",
              hello->agent_version);
    record->capacity = hello->capacity;
    snprintf (record->migration_uri, sizeof record->migration_uri, "%s", hello->migration_uri);
    record->generation++;
    record->registered_at = wall;
    host->live.heard = true;
    host->live.last_heard = now;
    log_info ("host '%s': registered with generation %" PRIu64 " (%" PRIu32 " cpus, %"
              PRIu64 " MiB)", record->name, record->generation, record->capacity.cpus,
              record->capacity.memory_mib);
    if (record->state != HOST_STATE_UP) {
        //  The state change is recorded by the HOST_PUT below, its history row here.
        host_state_t from = record->state;
        record->state = HOST_STATE_UP;
        record->state_since = wall;
        log_info ("host '%s': %s -> up (registered)", record->name, host_state_name (from));
        mutation_t change = { .kind = MUTATION_HOST_STATE, .at = wall };
        snprintf (change.u.host_state.host_id, sizeof change.u.host_state.host_id, "%s",
                  record->id);
        change.u.host_state.from = from;
        change.u.host_state.to = HOST_STATE_UP;
        snprintf (change.u.host_state.reason, sizeof change.u.host_state.reason,
                  "registered with generation %" PRIu64, record->generation);
        s_push_host_put (host, wall, out);
        mutations_push (out, &change);
    }
    else
        s_push_host_put (host, wall, out);
    return host;
}

void
model_host_set_state (model_t *self, host_t *host, host_state_t state, const char *reason,
                      int64_t wall, mutations_t *out)
{
    (void) self;
    host_state_t from = host->record.state;
    if (from == state)
        return;
    host->record.state = state;
    host->record.state_since = wall;
    log_info ("host '%s': %s -> %s (%s)", host->record.name, host_state_name (from),
              host_state_name (state), reason);
    mutation_t change = { .kind = MUTATION_HOST_STATE, .at = wall };
    snprintf (change.u.host_state.host_id, sizeof change.u.host_state.host_id, "%s",
              host->record.id);
    change.u.host_state.from = from;
    change.u.host_state.to = state;
    snprintf (change.u.host_state.reason, sizeof change.u.host_state.reason, "%s", reason);
    mutations_push (out, &change);
}

void
model_host_heard (model_t *self, host_t *host, int64_t now, int64_t wall, mutations_t *out)
{
    host->live.heard = true;
    host->live.last_heard = now;
    if (host->record.state == HOST_STATE_SUSPECT)
        model_host_set_state (self, host, HOST_STATE_UP, "heartbeats resumed", wall, out);
}

void
model_check_liveness (model_t *self, const model_timing_t *timing, int64_t now,
                      int64_t wall, mutations_t *out)
{
    for (size_t i = 0; i < self->host_count; i++) {
        host_t *host = self->hosts [i];
        int64_t silence = now - host->live.last_heard;
        char reason [WIRE_TEXT_SIZE];
        snprintf (reason, sizeof reason, "no message for %" PRId64 " ms", silence);
        if (host->record.state != HOST_STATE_DOWN && silence >= timing->down_after_ms)
            model_host_set_state (self, host, HOST_STATE_DOWN, reason, wall, out);
        else
        if (host->record.state == HOST_STATE_UP && silence >= timing->suspect_after_ms)
            model_host_set_state (self, host, HOST_STATE_SUSPECT, reason, wall, out);
    }
}

//  --------------------------------------------------------------------------
//  VMs

//  Makes the VM entry match what host reports for one domain; records changes.
static void
s_observe_domain (model_t *self, host_t *host, const wire_domain_t *domain, int64_t wall,
                  mutations_t *out)
{
    vm_t *vm = model_vm_by_uuid (self, domain->uuid);
    vm_record_t fresh;
    memset (&fresh, 0, sizeof fresh);
    snprintf (fresh.uuid, sizeof fresh.uuid, "%s", domain->uuid);
    snprintf (fresh.name, sizeof fresh.name, "%s", domain->name);
    snprintf (fresh.host_id, sizeof fresh.host_id, "%s", host->record.id);
    fresh.state = domain->state;
    fresh.vcpus = domain->vcpus;
    fresh.memory_kib = domain->memory_kib;
    fresh.persistent = domain->persistent;
    fresh.updated_at = wall;

    mutation_t put = { .kind = MUTATION_VM_PUT, .at = wall };
    if (vm) {
        const vm_record_t *old = &vm->record;
        bool changed = strcmp (old->name, fresh.name) || strcmp (old->host_id, fresh.host_id)
                    || old->state != fresh.state || old->vcpus != fresh.vcpus
                    || old->memory_kib != fresh.memory_kib
                    || old->persistent != fresh.persistent;
        if (changed) {
            put.u.vm_put.existed = true;
            put.u.vm_put.prev_state = old->state;
            snprintf (put.u.vm_put.prev_host_id, sizeof put.u.vm_put.prev_host_id, "%s",
                      old->host_id);
            if (strcmp (old->host_id, fresh.host_id))
                log_info ("vm '%s': moved to host '%s'", fresh.name, host->record.name);
            if (old->state != fresh.state)
                log_info ("vm '%s': %s -> %s", fresh.name, domain_state_name (old->state),
                          domain_state_name (fresh.state));
            if (strcmp (old->name, fresh.name)) {
                //  The sort key changed: re-insert.
                s_vm_remove (self, vm);
                vm = s_vm_insert (self, &fresh);
            }
            else
                vm->record = fresh;
            put.u.vm_put.vm = fresh;
            mutations_push (out, &put);
        }
    }
    else {
        vm = s_vm_insert (self, &fresh);
        if (vm) {
            log_info ("vm '%s': discovered on host '%s' (%s)", fresh.name, host->record.name,
                      domain_state_name (fresh.state));
            put.u.vm_put.vm = fresh;
            mutations_push (out, &put);
        }
    }
    if (vm)
        vm->usage = (vm_usage_t) {
            domain->has_cpu_time, domain->cpu_time_ns, domain->has_vcpu_delay,
            domain->vcpu_delay_ns, domain->has_rss, domain->rss_kib };
}

static void
s_forget_vm (model_t *self, vm_t *vm, const char *reason, int64_t wall, mutations_t *out)
{
    log_info ("vm '%s': removed (%s)", vm->record.name, reason);
    mutation_t gone = { .kind = MUTATION_VM_DELETE, .at = wall };
    snprintf (gone.u.vm_delete.uuid, sizeof gone.u.vm_delete.uuid, "%s", vm->record.uuid);
    snprintf (gone.u.vm_delete.reason, sizeof gone.u.vm_delete.reason, "%s", reason);
    mutations_push (out, &gone);
    s_vm_remove (self, vm);
}

void
model_apply_report (model_t *self, host_t *host, const wire_report_t *report, int64_t wall,
                    mutations_t *out)
{
    host->live.hypervisor_connected = report->hypervisor_connected;
    if (!report->hypervisor_connected)
        return;     // an empty list then means "unknown", not "no domains"
    host->live.reported = true;
    host->live.report_serial = ++self->reports;
    for (uint32_t i = 0; i < report->domain_count; i++)
        s_observe_domain (self, host, &report->domains [i], wall, out);

    //  VMs recorded on this host that the report no longer lists are gone.
    zhashx_t *reported = zhashx_new ();
    for (uint32_t i = 0; i < report->domain_count; i++)
        zhashx_insert (reported, report->domains [i].uuid, (void *) "");
    char reason [WIRE_TEXT_SIZE];
    snprintf (reason, sizeof reason, "no longer reported by host '%s'", host->record.name);
    for (size_t i = self->vm_count; i-- > 0; ) {
        vm_t *vm = self->vms [i];
        if (strcmp (vm->record.host_id, host->record.id) == 0
        &&  !zhashx_lookup (reported, vm->record.uuid))
            s_forget_vm (self, vm, reason, wall, out);
    }
    zhashx_destroy (&reported);
}

void
model_apply_event (model_t *self, host_t *host, const wire_event_t *event, int64_t wall,
                   mutations_t *out)
{
    const wire_domain_t *domain = &event->domain;
    vm_t *vm = model_vm_by_uuid (self, domain->uuid);
    bool gone = event->kind == EVENT_UNDEFINED
             || (event->kind == EVENT_STOPPED && !domain->persistent);
    if (gone) {
        //  Only the host the VM is recorded on may remove it.
        if (vm && strcmp (vm->record.host_id, host->record.id) == 0) {
            char reason [WIRE_TEXT_SIZE];
            snprintf (reason, sizeof reason, "%s on host '%s'",
                      event->kind == EVENT_UNDEFINED? "undefined": "transient domain stopped",
                      host->record.name);
            s_forget_vm (self, vm, reason, wall, out);
        }
        return;
    }
    s_observe_domain (self, host, domain, wall, out);
}

//  --------------------------------------------------------------------------
//  Totals

bool
model_vm_active (const vm_t *vm)
{
    domain_state_t state = vm->record.state;
    return state != DOMAIN_SHUTOFF && state != DOMAIN_CRASHED && state != DOMAIN_UNKNOWN;
}

void
model_host_usage (model_t *self, const host_t *host, size_t *vms, size_t *running,
                  uint64_t *vcpus, uint64_t *memory_mib)
{
    *vms = *running = 0;
    *vcpus = *memory_mib = 0;
    for (size_t i = 0; i < self->vm_count; i++) {
        const vm_t *vm = self->vms [i];
        if (strcmp (vm->record.host_id, host->record.id))
            continue;
        (*vms)++;
        if (model_vm_active (vm)) {
            (*running)++;
            *vcpus += vm->record.vcpus;
            *memory_mib += vm->record.memory_kib / 1024;
        }
    }
}

void
model_totals (model_t *self, model_totals_t *totals)
{
    memset (totals, 0, sizeof *totals);
    totals->hosts = self->host_count;
    for (size_t i = 0; i < self->host_count; i++) {
        host_t *host = self->hosts [i];
        switch (host->record.state) {
            case HOST_STATE_UP:      totals->hosts_up++; break;
            case HOST_STATE_SUSPECT: totals->hosts_suspect++; break;
            case HOST_STATE_DOWN:    totals->hosts_down++; break;
        }
        if (host->record.state != HOST_STATE_UP)
            continue;
        totals->cpus += host->record.capacity.cpus;
        totals->memory_mib += host->record.capacity.memory_mib;
        size_t vms, running;
        uint64_t vcpus, memory_mib;
        model_host_usage (self, host, &vms, &running, &vcpus, &memory_mib);
        totals->vcpus_used += vcpus;
        totals->memory_used_mib += memory_mib;
    }
    totals->vms = self->vm_count;
    for (size_t i = 0; i < self->vm_count; i++)
        if (model_vm_active (self->vms [i]))
            totals->vms_running++;
}
