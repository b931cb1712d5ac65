/*  model.c - the scheduler's in-memory cluster: hosts, their domains and live usage.

    Hosts and VMs live in arrays kept sorted by name (listing order) with hash indexes by
    id/uuid (message lookups). The model never reads a clock or does I/O: callers pass `now`
    and collect the mutations every persistent change produces (see model.h).
*/
#include "model.h"
#include "log.h"
#include "vec.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct model {
    vec_t hosts;            // host_t *, owned, sorted by name
    vec_t host_by_id;       // host_t *, borrowed from hosts, sorted by id
    vec_t vms;              // vm_t *, owned, sorted by (name, uuid, host id): every copy
    vec_t vm_by_uuid;       // vm_t *, borrowed from vms, sorted by (uuid, host id)
    uint64_t reports;       // full reports applied so far (numbers them)
    vec_t gone_loads;       // s_gone_load_t: smoothed load of copies forgotten lately (a
                            // migration's source), oldest first, at most S_GONE_LOADS
};

#define S_GONE_LOADS 256    // forgotten copies whose load a new copy may take over

//  The smoothed load of a forgotten copy, for a new copy of the same uuid (a migration's
//  target reported only after the source's copy was gone).
typedef struct {
    char uuid [WIRE_ID_SIZE];   // the VM
    load_t load;                // its figures when the copy was forgotten
    int64_t wall;               // wall ms of that; taken over within LOAD_TAU_MS only
} s_gone_load_t;

//  --------------------------------------------------------------------------
//  Mutation lists

int
mutations_push (mutations_t *list, const mutation_t *mutation)
{
    if (!vec_push (list, mutation)) {
        log_error ("cannot record a %s mutation: out of memory",
                   mutation_kind_name (mutation->kind));
        free (mutation->blob);          // ownership passed to us either way
        return -1;
    }
    return 0;
}

void
mutations_clear (mutations_t *list)
{
    for (size_t i = 0; i < list->count; i++)
        free (((mutation_t *) vec_at (list, i))->blob);
    vec_clear (list);
}

void
mutations_free (mutations_t *list)
{
    mutations_clear (list);
    vec_free (list);
}

//  --------------------------------------------------------------------------
//  Orders of the sorted vecs (key against a stored pointer)

static int
s_host_name_order (const void *key, const void *item)
{
    return strcmp (key, (*(host_t * const *) item)->record.name);
}

static int
s_host_id_order (const void *key, const void *item)
{
    return strcmp (key, (*(host_t * const *) item)->record.id);
}

static int
s_vm_order (const void *key, const void *item)
{
    const vm_t *a = key, *b = *(vm_t * const *) item;
    int by_name = strcmp (a->record.name, b->record.name);
    int by_uuid = by_name? by_name: strcmp (a->record.uuid, b->record.uuid);
    return by_uuid? by_uuid: strcmp (a->record.host_id, b->record.host_id);
}

//  Key of the copy index: a uuid and a host id ("" sorts before every host: the first copy).
typedef struct {
    const char *uuid;       // domain uuid
    const char *host_id;    // host of the copy, "" for the lowest
} s_copy_key_t;

static int
s_copy_order (const void *key, const void *item)
{
    const s_copy_key_t *a = key;
    const vm_t *b = *(vm_t * const *) item;
    int by_uuid = strcmp (a->uuid, b->record.uuid);
    return by_uuid? by_uuid: strcmp (a->host_id, b->record.host_id);
}

//  --------------------------------------------------------------------------
//  Life cycle

model_t *
model_new (void)
{
    model_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->hosts = VEC_OF (host_t *);
    self->host_by_id = VEC_OF (host_t *);
    self->vms = VEC_OF (vm_t *);
    self->vm_by_uuid = VEC_OF (vm_t *);
    self->gone_loads = VEC_OF (s_gone_load_t);
    return self;
}

void
model_destroy (model_t **self_p)
{
    model_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->hosts.count; i++)
        free (model_host_at (self, i));
    for (size_t i = 0; i < self->vms.count; i++)
        free (model_vm_at (self, i));
    vec_free (&self->hosts);
    vec_free (&self->host_by_id);
    vec_free (&self->vms);
    vec_free (&self->vm_by_uuid);
    vec_free (&self->gone_loads);
    free (self);
    *self_p = NULL;
}

static host_t *
s_host_insert (model_t *self, const host_record_t *record)
{
    host_t *host = calloc (1, sizeof *host);
    if (host)
        host->record = *record;
    if (!host || vec_insert_ptr (&self->hosts, record->name, s_host_name_order, host)) {
        free (host);
        log_error ("cannot add host '%s': out of memory", record->name);
        return NULL;
    }
    if (vec_insert_ptr (&self->host_by_id, record->id, s_host_id_order, host)) {
        vec_remove_ptr (&self->hosts, record->name, s_host_name_order, host);
        free (host);
        log_error ("cannot add host '%s': out of memory", record->name);
        return NULL;
    }
    return host;
}

static vm_t *
s_vm_insert (model_t *self, const vm_record_t *record)
{
    vm_t *vm = calloc (1, sizeof *vm);
    if (vm)
        vm->record = *record;
    if (!vm || vec_insert_ptr (&self->vms, vm, s_vm_order, vm)) {
        free (vm);
        log_error ("cannot add vm '%s': out of memory", record->name);
        return NULL;
    }
    s_copy_key_t key = { record->uuid, record->host_id };
    if (vec_insert_ptr (&self->vm_by_uuid, &key, s_copy_order, vm)) {
        vec_remove_ptr (&self->vms, vm, s_vm_order, vm);
        free (vm);
        log_error ("cannot add vm '%s': out of memory", record->name);
        return NULL;
    }
    return vm;
}

static void
s_vm_remove (model_t *self, vm_t *vm)
{
    bool listed = vec_remove_ptr (&self->vms, vm, s_vm_order, vm);
    s_copy_key_t key = { vm->record.uuid, vm->record.host_id };
    bool indexed = vec_remove_ptr (&self->vm_by_uuid, &key, s_copy_order, vm);
    assert (listed && indexed);
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

host_t *
model_host_by_id (model_t *self, const char *id)
{
    return vec_find_ptr (&self->host_by_id, id, s_host_id_order);
}

host_t *
model_host_by_name (model_t *self, const char *name)
{
    return vec_find_ptr (&self->hosts, name, s_host_name_order);
}

vm_t *
model_vm_by_uuid (model_t *self, const char *uuid)
{
    vm_t *copy;
    return model_vm_copies (self, uuid, &copy, 1)? copy: NULL;
}

vm_t *
model_vm_copy (model_t *self, const char *uuid, const char *host_id)
{
    s_copy_key_t key = { uuid, host_id };
    return vec_find_ptr (&self->vm_by_uuid, &key, s_copy_order);
}

vm_t *
model_vm_placed (model_t *self, const char *uuid, const char *placed_host_id)
{
    vm_t *placed = NULL, *active = NULL, *first = NULL;
    s_copy_key_t key = { uuid, "" };
    for (size_t slot = vec_lower_bound (&self->vm_by_uuid, &key, s_copy_order);
         slot < self->vm_by_uuid.count; slot++) {
        vm_t *copy = *(vm_t **) vec_at (&self->vm_by_uuid, slot);
        if (strcmp (copy->record.uuid, uuid))
            break;
        first = first? first: copy;
        if (strcmp (copy->record.host_id, placed_host_id) == 0)
            placed = copy;
        if (!active && model_vm_active (copy))
            active = copy;
    }
    if (placed && (model_vm_active (placed) || !active))
        return placed;
    return active? active: first;
}

size_t
model_vm_copies (model_t *self, const char *uuid, vm_t **copies, size_t max)
{
    s_copy_key_t key = { uuid, "" };
    size_t count = 0;
    for (size_t slot = vec_lower_bound (&self->vm_by_uuid, &key, s_copy_order);
         slot < self->vm_by_uuid.count; slot++) {
        vm_t *copy = *(vm_t **) vec_at (&self->vm_by_uuid, slot);
        if (strcmp (copy->record.uuid, uuid))
            break;
        if (count < max)
            copies [count] = copy;
        count++;
    }
    return count;
}

vm_t *
model_vm_by_name (model_t *self, const char *name)
{
    vm_t probe;
    memset (&probe, 0, sizeof probe);
    snprintf (probe.record.name, sizeof probe.record.name, "%s", name);
    size_t slot = vec_lower_bound (&self->vms, &probe, s_vm_order);  // first of this name
    vm_t *vm = slot < self->vms.count? model_vm_at (self, slot): NULL;
    return vm && strcmp (vm->record.name, name) == 0? vm: NULL;
}

size_t
model_host_count (const model_t *self)
{
    return self->hosts.count;
}

host_t *
model_host_at (model_t *self, size_t index)
{
    return index < self->hosts.count? *(host_t **) vec_at (&self->hosts, index): NULL;
}

size_t
model_vm_count (const model_t *self)
{
    return self->vms.count;
}

vm_t *
model_vm_at (model_t *self, size_t index)
{
    return index < self->vms.count? *(vm_t **) vec_at (&self->vms, index): NULL;
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
model_host_register (model_t *self, const wire_hello_t *hello, uint64_t session,
                     const char *public_key, int64_t now, int64_t wall, mutations_t *out,
                     char *err, size_t err_size)
{
    host_t *known = model_host_by_id (self, hello->host_id);
    if (known && session && known->live.heard && known->live.session == session
    &&  !HOST_STATE_GONE (known->record.state) && strcmp (known->record.name, hello->name) == 0
    &&  strcmp (known->record.boot_id, hello->boot_id) == 0) {
        //  A retry of a HELLO this agent session already registered with (its WELCOME was
        //  lost or is on its way): the same registration, the same generation.
        model_host_heard (self, known, now, wall, out);
        return known;
    }
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
        vec_remove_ptr (&self->hosts, record.name, s_host_name_order, host);
        vec_remove_ptr (&self->host_by_id, record.id, s_host_id_order, host);
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
    snprintf (record->witness_endpoint, sizeof record->witness_endpoint, "%s",
              hello->witness_endpoint);
    snprintf (record->watchdog, sizeof record->watchdog, "%s",
              hello->watchdog [0]? hello->watchdog: "none");
    snprintf (record->public_key, sizeof record->public_key, "%s", public_key? public_key: "");
    record->generation++;
    record->registered_at = wall;
    //  What this host reported before belongs to its previous registration.
    host->live.reported = false;
    host->live.report_serial = 0;
    host->live.report_token = 0;
    host->live.session = session;
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
    for (size_t i = 0; i < self->hosts.count; i++) {
        host_t *host = model_host_at (self, i);
        int64_t silence = now - host->live.last_heard;
        char reason [WIRE_TEXT_SIZE];
        snprintf (reason, sizeof reason, "no message for %" PRId64 " ms", silence);
        if (HOST_STATE_GONE (host->record.state))
            continue;                       // only a registration changes it
        if (silence >= timing->down_after_ms)
            model_host_set_state (self, host, HOST_STATE_DOWN, reason, wall, out);
        else
        if (host->record.state == HOST_STATE_UP && silence >= timing->suspect_after_ms)
            model_host_set_state (self, host, HOST_STATE_SUSPECT, reason, wall, out);
    }
}

//  --------------------------------------------------------------------------
//  VMs

//  A new copy vm of a uuid takes over the smoothed load of the copy it came from: another
//  copy still known (a migration's source, as libvirt shows an incoming domain first), or
//  one forgotten within LOAD_TAU_MS.
static void
s_take_over_load (model_t *self, vm_t *vm, const vm_t *other, int64_t wall)
{
    if (other) {
        load_inherit (&vm->load, &other->load);
        return;
    }
    for (size_t i = self->gone_loads.count; i-- > 0; ) {
        const s_gone_load_t *gone = vec_at (&self->gone_loads, i);
        if (strcmp (gone->uuid, vm->record.uuid) == 0) {
            if (wall - gone->wall <= LOAD_TAU_MS)
                load_inherit (&vm->load, &gone->load);
            vec_remove (&self->gone_loads, i);
            return;
        }
    }
}

//  Keeps the smoothed load of a copy about to be forgotten (see s_take_over_load).
static void
s_keep_gone_load (model_t *self, const vm_t *vm, int64_t wall)
{
    if (!vm->load.has_cpu && !vm->load.has_mem)
        return;
    if (self->gone_loads.count >= S_GONE_LOADS)
        vec_remove (&self->gone_loads, 0);
    s_gone_load_t gone = { .load = vm->load, .wall = wall };
    snprintf (gone.uuid, sizeof gone.uuid, "%s", vm->record.uuid);
    if (!vec_push (&self->gone_loads, &gone))
        log_debug ("vm '%s': its load is not kept: out of memory", vm->record.name);
}

//  Makes the VM entry match what host reports for one domain; records changes.
static void
s_observe_domain (model_t *self, host_t *host, const wire_domain_t *domain, int64_t wall,
                  mutations_t *out)
{
    vm_t *vm = model_vm_copy (self, domain->uuid, host->record.id);
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
        bool changed = strcmp (old->name, fresh.name) || old->state != fresh.state || old->vcpus != fresh.vcpus
                    || old->memory_kib != fresh.memory_kib
                    || old->persistent != fresh.persistent;
        if (changed) {
            put.u.vm_put.existed = true;
            put.u.vm_put.prev_state = old->state;
            snprintf (put.u.vm_put.prev_host_id, sizeof put.u.vm_put.prev_host_id, "%s",
                      old->host_id);
            if (old->state != fresh.state)
                log_info ("vm '%s': %s -> %s", fresh.name, domain_state_name (old->state),
                          domain_state_name (fresh.state));
            if (strcmp (old->name, fresh.name)) {
                //  The sort key changed: re-insert (the smoothed load stays with it).
                load_t load = vm->load;
                s_vm_remove (self, vm);
                vm = s_vm_insert (self, &fresh);
                if (vm)
                    vm->load = load;
            }
            else
                vm->record = fresh;
            put.u.vm_put.vm = fresh;
            mutations_push (out, &put);
        }
    }
    else {
        vm_t *other = model_vm_by_uuid (self, fresh.uuid);
        vm = s_vm_insert (self, &fresh);
        if (vm)
            s_take_over_load (self, vm, other, wall);
        if (vm && other) {
            host_t *elsewhere = model_host_by_id (self, other->record.host_id);
            log_warn ("vm '%s': another copy on host '%s' (%s), besides the one host '%s' "
                      "reports", fresh.name, host->record.name, domain_state_name (fresh.state),
                      elsewhere? elsewhere->record.name: other->record.host_id);
            put.u.vm_put.vm = fresh;
            mutations_push (out, &put);
        }
        else
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
            domain->vcpu_delay_ns, domain->has_rss, domain->rss_kib, domain->has_balloon,
            domain->balloon_kib };
}

static void
s_forget_vm (model_t *self, vm_t *vm, const char *reason, int64_t wall, mutations_t *out)
{
    s_keep_gone_load (self, vm, wall);
    log_info ("vm '%s': removed (%s)", vm->record.name, reason);
    mutation_t gone = { .kind = MUTATION_VM_DELETE, .at = wall };
    snprintf (gone.u.vm_delete.uuid, sizeof gone.u.vm_delete.uuid, "%s", vm->record.uuid);
    snprintf (gone.u.vm_delete.host_id, sizeof gone.u.vm_delete.host_id, "%s",
              vm->record.host_id);
    snprintf (gone.u.vm_delete.reason, sizeof gone.u.vm_delete.reason, "%s", reason);
    mutations_push (out, &gone);
    s_vm_remove (self, vm);
}

void
model_forget_copy (model_t *self, vm_t *vm, const char *reason, int64_t wall,
                   mutations_t *out)
{
    s_forget_vm (self, vm, reason, wall, out);
}

//  True when the report lists the domain uuid.
static bool
s_report_lists (const wire_report_t *report, const char *uuid)
{
    for (uint32_t i = 0; i < report->domain_count; i++)
        if (strcmp (report->domains [i].uuid, uuid) == 0)
            return true;
    return false;
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
    host->live.report_token = report->request_token;
    for (uint32_t i = 0; i < report->domain_count; i++)
        s_observe_domain (self, host, &report->domains [i], wall, out);

    //  VMs recorded on this host that the report no longer lists are gone.
    char reason [WIRE_TEXT_SIZE];
    snprintf (reason, sizeof reason, "no longer reported by host '%s'", host->record.name);
    for (size_t i = self->vms.count; i-- > 0; ) {
        vm_t *vm = model_vm_at (self, i);
        if (strcmp (vm->record.host_id, host->record.id) == 0
        &&  !s_report_lists (report, vm->record.uuid))
            s_forget_vm (self, vm, reason, wall, out);
    }
}

void
model_apply_load (model_t *self, host_t *host, const wire_report_t *report, int64_t now)
{
    if (!report->hypervisor_connected)
        return;
    for (uint32_t i = 0; i < report->domain_count; i++) {
        const wire_domain_t *domain = &report->domains [i];
        vm_t *vm = model_vm_copy (self, domain->uuid, host->record.id);
        if (!vm)
            continue;
        load_sample_t sample = {
            .vcpus = domain->vcpus,
            .has_cpu_time = domain->has_cpu_time, .cpu_time_ns = domain->cpu_time_ns,
            .has_vcpu_delay = domain->has_vcpu_delay, .vcpu_delay_ns = domain->vcpu_delay_ns,
            .has_mem = domain->has_rss || domain->has_balloon,
            .mem_kib = domain->has_rss? domain->rss_kib: domain->balloon_kib };
        if (!model_vm_active (vm))
            sample.has_cpu_time = sample.has_vcpu_delay = sample.has_mem = false;
        load_outcome_t outcome = load_update (&vm->load, &sample, now, LOAD_TAU_MS);
        if (outcome == LOAD_IMPOSSIBLE)
            log_debug ("vm '%s' on host '%s': usage counters jumped beyond %u vCPUs can do; "
                       "sample ignored", vm->record.name, host->record.name, domain->vcpus);
    }
}

void
model_apply_event (model_t *self, host_t *host, const wire_event_t *event, int64_t wall,
                   mutations_t *out)
{
    const wire_domain_t *domain = &event->domain;
    vm_t *vm = model_vm_copy (self, domain->uuid, host->record.id);
    bool gone = event->kind == EVENT_UNDEFINED
             || (event->kind == EVENT_STOPPED && !domain->persistent);
    if (gone) {
        //  A host removes only its own copy.
        if (vm) {
            char reason [WIRE_TEXT_SIZE];
            snprintf (reason, sizeof reason, "%s on host '%s'",
                      event->kind == EVENT_UNDEFINED? "undefined": "transient domain stopped",
                      host->record.name);
            s_forget_vm (self, vm, reason, wall, out);
        }
        return;
    }
    s_observe_domain (self, host, domain, wall, out);
    //  A new or ended process: its counters start again from 0.
    vm = model_vm_copy (self, domain->uuid, host->record.id);
    if (vm && (event->kind == EVENT_STARTED || event->kind == EVENT_STOPPED
               || event->kind == EVENT_CRASHED))
        load_restart (&vm->load);
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
model_vm_load (const vm_t *vm, load_figures_t *out)
{
    if (!model_vm_active (vm)) {
        memset (out, 0, sizeof *out);
        return;
    }
    load_vm_figures (&vm->load, vm->record.vcpus, out);
}

void
model_host_load (model_t *self, const host_t *host, load_figures_t *out)
{
    load_sum_t sum;
    load_sum_init (&sum);
    for (size_t i = 0; i < self->vms.count; i++) {
        const vm_t *vm = model_vm_at (self, i);
        if (strcmp (vm->record.host_id, host->record.id) == 0 && model_vm_active (vm))
            load_sum_add (&sum, &vm->load, vm->record.vcpus);
    }
    load_sum_figures (&sum, host->record.capacity.cpus, out);
}

void
model_host_usage (model_t *self, const host_t *host, size_t *vms, size_t *running,
                  uint64_t *vcpus, uint64_t *memory_mib)
{
    *vms = *running = 0;
    *vcpus = *memory_mib = 0;
    for (size_t i = 0; i < self->vms.count; i++) {
        const vm_t *vm = model_vm_at (self, i);
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
    totals->hosts = self->hosts.count;
    for (size_t i = 0; i < self->hosts.count; i++) {
        host_t *host = model_host_at (self, i);
        switch (host->record.state) {
            case HOST_STATE_UP:      totals->hosts_up++; break;
            case HOST_STATE_SUSPECT: totals->hosts_suspect++; break;
            case HOST_STATE_DOWN:    totals->hosts_down++; break;
            case HOST_STATE_DEAD:    totals->hosts_dead++; break;
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
    totals->vms = self->vms.count;
    for (size_t i = 0; i < self->vms.count; i++)
        if (model_vm_active (model_vm_at (self, i)))
            totals->vms_running++;
}
