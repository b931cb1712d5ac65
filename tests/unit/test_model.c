/*  test_model.c - the in-memory cluster: registration, liveness, reports, events.

    Drives the pure model with explicit times and checks both its state and the mutations
    it hands to the store.
*/
#include "check.h"
#include "log.h"
#include "model.h"

#include <string.h>

static const char *s_id1 = "11111111-1111-1111-1111-111111111111";
static const char *s_id2 = "22222222-2222-2222-2222-222222222222";
static const char *s_vm1 = "aaaaaaaa-0000-0000-0000-000000000001";
static const char *s_vm2 = "aaaaaaaa-0000-0000-0000-000000000002";

static wire_hello_t
s_hello (const char *id, const char *name)
{
    wire_hello_t hello;
    memset (&hello, 0, sizeof hello);
    strcpy (hello.host_id, id);
    strcpy (hello.name, name);
    hello.capacity.cpus = 4;
    hello.capacity.memory_mib = 4096;
    return hello;
}

static wire_domain_t
s_domain (const char *uuid, const char *name, domain_state_t state)
{
    wire_domain_t domain;
    memset (&domain, 0, sizeof domain);
    strcpy (domain.uuid, uuid);
    strcpy (domain.name, name);
    domain.state = state;
    domain.vcpus = 1;
    domain.memory_kib = 512 * 1024;
    domain.persistent = true;
    return domain;
}

static size_t
s_count (const mutations_t *list, mutation_kind_t kind)
{
    size_t count = 0;
    for (size_t i = 0; i < list->count; i++)
        count += (*(mutation_t *) vec_at (list, i)).kind == kind;
    return count;
}

//  One full report of h with one running domain and its counters, received at now.
static void
s_report_usage (model_t *model, host_t *host, const wire_domain_t *domain, int64_t now,
                mutations_t *out)
{
    wire_report_t report = { .hypervisor_connected = true, .domain_count = 1,
                             .domains = (wire_domain_t *) domain };
    model_apply_report (model, host, &report, now, out);
    model_apply_load (model, host, &report, now);
}

//  Smoothed load through the model: reports feed it, hosts sum their active copies, a
//  migration's target copy takes over the figures, a restart event re-bases the counters.
static int
s_load (void)
{
    int failures = 0;
    model_t *model = model_new ();
    mutations_t out = VEC_OF (mutation_t);
    char err [256];
    wire_hello_t hello = s_hello (s_id1, "h1");
    host_t *h1 = model_host_register (model, &hello, 0, "", 0, 1, &out, err, sizeof err);
    hello = s_hello (s_id2, "h2");
    host_t *h2 = model_host_register (model, &hello, 0, "", 0, 1, &out, err, sizeof err);
    load_figures_t figures;
    model_host_load (model, h1, &figures);
    CHECK (figures.has_cpu && figures.cpu_load == 0 && figures.vms == 0);

    wire_domain_t web = s_domain (s_vm1, "web-1", DOMAIN_RUNNING);
    web.vcpus = 2;
    web.has_cpu_time = web.has_vcpu_delay = web.has_balloon = true;
    web.cpu_time_ns = UINT64_C (100000000000);
    web.balloon_kib = 1048576;
    s_report_usage (model, h1, &web, 1000, &out);
    vm_t *vm = model_vm_copy (model, s_vm1, s_id1);
    CHECK (vm && vm->usage.has_balloon && vm->usage.balloon_kib == 1048576);
    model_vm_load (vm, &figures);
    CHECK (!figures.has_cpu && figures.has_mem && figures.mem_used_mib == 1024);
    model_host_load (model, h1, &figures);
    CHECK (!figures.has_cpu && figures.vms == 1 && figures.vms_measured == 0);

    //  1.5 cores for 5 s; RSS, when there is one, is what counts as memory in use.
    web.cpu_time_ns += UINT64_C (7500000000);
    web.vcpu_delay_ns += UINT64_C (500000000);
    web.has_rss = true;
    web.rss_kib = 1048576;
    s_report_usage (model, h1, &web, 6000, &out);
    vm = model_vm_copy (model, s_vm1, s_id1);
    model_vm_load (vm, &figures);
    CHECK (figures.has_cpu && figures.cpu_load == 1.5 && figures.cpu_util == 0.75);
    CHECK (figures.has_contention && figures.contention == 0.05);
    model_host_load (model, h1, &figures);
    CHECK (figures.has_cpu && figures.cpu_load == 1.5 && figures.cpu_util == 1.5 / 4);

    //  Migrated to h2: the target copy starts with the figures, its counters from 0.
    wire_domain_t moved = web;
    moved.cpu_time_ns = 1000;
    moved.vcpu_delay_ns = 0;
    s_report_usage (model, h2, &moved, 7000, &out);
    vm = model_vm_copy (model, s_vm1, s_id2);
    model_vm_load (vm, &figures);
    CHECK (vm && figures.has_cpu && figures.cpu_load == 1.5 && vm->load.has_base_cpu
           && vm->load.base_cpu_ns == 1000);
    moved.cpu_time_ns += UINT64_C (5000000000);     // 1 core
    s_report_usage (model, h2, &moved, 12000, &out);
    vm = model_vm_copy (model, s_vm1, s_id2);
    CHECK (vm->load.cpu_cores < 1.5 && vm->load.cpu_cores > 1.4);

    //  A stop and start in between: the next counters are a baseline, not a rate.
    wire_event_t event = { .kind = EVENT_STOPPED, .domain = moved };
    event.domain.state = DOMAIN_SHUTOFF;
    model_apply_event (model, h2, &event, 13, &out);
    vm = model_vm_copy (model, s_vm1, s_id2);
    model_vm_load (vm, &figures);
    CHECK (!vm->load.has_base_cpu && !figures.has_cpu);     // inactive: no load
    model_host_load (model, h2, &figures);
    CHECK (figures.vms == 0 && figures.cpu_load == 0);
    event.kind = EVENT_STARTED;
    event.domain.state = DOMAIN_RUNNING;
    model_apply_event (model, h2, &event, 14, &out);
    moved.cpu_time_ns = UINT64_C (900000000000);
    s_report_usage (model, h2, &moved, 20000, &out);
    vm = model_vm_copy (model, s_vm1, s_id2);
    CHECK (vm->load.has_base_cpu && vm->load.cpu_cores < 1.5 && vm->load.discarded == 0);

    //  The source's copy forgotten before the target reports (a fast migration): the new
    //  copy takes over the figures all the same, within LOAD_TAU_MS of the forgetting.
    wire_report_t none = { .hypervisor_connected = true };
    model_apply_report (model, h1, &none, 29, &out);
    model_apply_report (model, h2, &none, 30, &out);
    CHECK (model_vm_by_uuid (model, s_vm1) == NULL);
    s_report_usage (model, h1, &moved, 40, &out);
    vm = model_vm_copy (model, s_vm1, s_id1);
    CHECK (vm && vm->load.has_cpu && vm->load.cpu_cores > 1.4 && vm->load.has_base_cpu);
    model_apply_report (model, h1, &none, 50, &out);
    s_report_usage (model, h2, &moved, 50 + LOAD_TAU_MS + 1, &out);
    vm = model_vm_copy (model, s_vm1, s_id2);
    CHECK (vm && !vm->load.has_cpu);                        // too long ago: a fresh start

    mutations_free (&out);
    model_destroy (&model);
    return failures;
}

int
main (void)
{
    log_init ("test_model", LOG_LEVEL_WARN);
    int failures = s_load ();
    model_t *model = model_new ();
    mutations_t out = VEC_OF (mutation_t);
    char err [256];

    //  Registration: generation 1, up, recorded.
    wire_hello_t hello = s_hello (s_id1, "h1");
    host_t *h1 = model_host_register (model, &hello, 0, "", 1000, 1, &out, err, sizeof err);
    CHECK (h1 && h1->record.generation == 1 && h1->record.state == HOST_STATE_UP);
    CHECK (s_count (&out, MUTATION_HOST_PUT) == 1 && s_count (&out, MUTATION_HOST_STATE) == 1);
    mutations_clear (&out);

    //  Another id may not take the same name; a second host sorts after.
    hello = s_hello (s_id2, "h1");
    CHECK (model_host_register (model, &hello, 0, "", 1000, 1, &out, err, sizeof err) == NULL);
    CHECK (strstr (err, "already registered"));
    hello = s_hello (s_id2, "h0");
    host_t *h0 = model_host_register (model, &hello, 0, "", 1000, 1, &out, err, sizeof err);
    CHECK (h0 && model_host_at (model, 0) == h0 && model_host_count (model) == 2);
    mutations_clear (&out);

    //  Liveness: up -> suspect -> down by silence, suspect -> up when heard.
    model_timing_t timing = { 1500, 5000 };
    model_host_heard (model, h0, 2400, 2, &out);
    model_check_liveness (model, &timing, 2500, 3, &out);
    CHECK (h1->record.state == HOST_STATE_SUSPECT && h0->record.state == HOST_STATE_UP);
    CHECK (s_count (&out, MUTATION_HOST_STATE) == 1);
    model_host_heard (model, h1, 2600, 4, &out);
    CHECK (h1->record.state == HOST_STATE_UP);
    model_check_liveness (model, &timing, 8000, 5, &out);
    CHECK (h1->record.state == HOST_STATE_DOWN && h0->record.state == HOST_STATE_DOWN);
    mutations_clear (&out);

    //  Re-registration bumps the generation and brings the host up.
    hello = s_hello (s_id1, "h1");
    h1 = model_host_register (model, &hello, 77, "", 9000, 6, &out, err, sizeof err);
    CHECK (h1->record.generation == 2 && h1->record.state == HOST_STATE_UP);
    CHECK (!h1->live.reported && h1->live.report_serial == 0);
    mutations_clear (&out);
    //  A retry of that agent session's HELLO is the same registration: same generation, no
    //  mutation. Another session (a restarted agent) is a new registration.
    h1 = model_host_register (model, &hello, 77, "", 9100, 6, &out, err, sizeof err);
    CHECK (h1->record.generation == 2 && out.count == 0);
    h1 = model_host_register (model, &hello, 78, "", 9200, 6, &out, err, sizeof err);
    CHECK (h1->record.generation == 3 && s_count (&out, MUTATION_HOST_PUT) == 1);
    mutations_clear (&out);

    //  Reports add, change and remove VMs.
    wire_domain_t domains [2] = { s_domain (s_vm1, "web", DOMAIN_RUNNING),
                                  s_domain (s_vm2, "db", DOMAIN_SHUTOFF) };
    wire_report_t report = { true, 2, domains, 0 };
    model_apply_report (model, h1, &report, 7, &out);
    CHECK (model_vm_count (model) == 2 && s_count (&out, MUTATION_VM_PUT) == 2);
    CHECK (strcmp (model_vm_at (model, 0)->record.name, "db") == 0);
    mutations_clear (&out);
    model_apply_report (model, h1, &report, 8, &out);
    CHECK (out.count == 0);     // nothing changed, nothing written
    domains [1].state = DOMAIN_RUNNING;
    report.domain_count = 2;
    model_apply_report (model, h1, &report, 9, &out);
    CHECK (out.count == 1 && (*(mutation_t *) vec_at (&out, 0)).u.vm_put.existed
           && (*(mutation_t *) vec_at (&out, 0)).u.vm_put.prev_state == DOMAIN_SHUTOFF);
    mutations_clear (&out);
    report.domain_count = 1;
    model_apply_report (model, h1, &report, 10, &out);
    CHECK (model_vm_count (model) == 1 && s_count (&out, MUTATION_VM_DELETE) == 1);
    CHECK (model_vm_by_name (model, "db") == NULL && model_vm_by_uuid (model, s_vm1));
    mutations_clear (&out);

    //  A report without a hypervisor connection removes nothing.
    wire_report_t blind = { false, 0, NULL, 0 };
    model_apply_report (model, h1, &blind, 11, &out);
    CHECK (model_vm_count (model) == 1 && out.count == 0);

    //  Usage: the running VM counts on h1.
    size_t vms, running;
    uint64_t vcpus, memory_mib;
    model_host_usage (model, h1, &vms, &running, &vcpus, &memory_mib);
    CHECK (vms == 1 && running == 1 && vcpus == 1 && memory_mib == 512);

    //  Events: started, moved to another host, transient stop and undefine remove.
    wire_event_t event = { EVENT_STARTED, s_domain (s_vm2, "db", DOMAIN_RUNNING) };
    model_apply_event (model, h1, &event, 12, &out);
    CHECK (model_vm_by_uuid (model, s_vm2) != NULL);
    event.domain.persistent = false;
    event.kind = EVENT_STOPPED;
    event.domain.state = DOMAIN_SHUTOFF;
    model_apply_event (model, h0, &event, 13, &out);   // not its host: ignored
    CHECK (model_vm_by_uuid (model, s_vm2) != NULL);
    model_apply_event (model, h1, &event, 14, &out);
    CHECK (model_vm_by_uuid (model, s_vm2) == NULL);
    //  Another host reporting the same uuid is a second copy, never a move.
    event = (wire_event_t) { EVENT_RESUMED, s_domain (s_vm1, "web", DOMAIN_RUNNING) };
    mutations_clear (&out);
    model_apply_event (model, h0, &event, 15, &out);
    vm_t *copies [4];
    CHECK (model_vm_copies (model, s_vm1, copies, 4) == 2);
    CHECK (model_vm_copy (model, s_vm1, s_id1) && model_vm_copy (model, s_vm1, s_id2));
    CHECK (out.count == 1 && !(*(mutation_t *) vec_at (&out, 0)).u.vm_put.existed);
    //  Each host removes only its own copy.
    event.kind = EVENT_UNDEFINED;
    model_apply_event (model, h0, &event, 16, &out);
    CHECK (model_vm_count (model) == 1 && model_vm_copy (model, s_vm1, s_id1));
    model_apply_event (model, h1, &event, 17, &out);
    CHECK (model_vm_count (model) == 0);

    model_totals_t totals;
    model_totals (model, &totals);
    CHECK (totals.hosts == 2 && totals.hosts_up == 1 && totals.hosts_down == 1);
    CHECK (totals.cpus == 4 && totals.vms == 0);

    mutations_free (&out);
    model_destroy (&model);
    CHECK (model == NULL);
    return check_report ("model", failures);
}
