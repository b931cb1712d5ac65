/*  test_reconcile.c - the scheduler's decisions: starts, stops, retries, maintenance,
    migrations, autostart order, and their reasons.

    Drives the pure reconciler with a model fed like the agents would (HELLO, REPORT) and
    explicit times; checks the commands it emits, the mutations it records and the reasons
    it gives. Each case prints its own PASS/FAIL line.
*/
#include "check.h"
#include "log.h"
#include "managed.h"
#include "model.h"
#include "reconcile.h"

#include <stdlib.h>
#include <string.h>

#define H1 "11111111-1111-1111-1111-111111111111"
#define H2 "22222222-2222-2222-2222-222222222222"
#define H3 "33333333-3333-3333-3333-333333333333"

//  One test's world.
typedef struct {
    model_t *model;
    managed_t *managed;
    reconcile_config_t config;
    outbox_t outbox;
    mutations_t out;
    int64_t now;
} s_world_t;

static host_t *
s_host (s_world_t *world, const char *id, const char *name, uint32_t cpus, uint64_t memory_mib)
{
    wire_hello_t hello;
    memset (&hello, 0, sizeof hello);
    strcpy (hello.host_id, id);
    strcpy (hello.name, name);
    snprintf (hello.migration_uri, sizeof hello.migration_uri, "qemu+tcp://%s/system", name);
    hello.capacity.cpus = cpus;
    hello.capacity.memory_mib = memory_mib;
    char err [256];
    host_t *host = model_host_register (world->model, &hello, world->now, 1000, &world->out,
                                        err, sizeof err);
    wire_report_t nothing = { true, 0, NULL };
    model_apply_report (world->model, host, &nothing, 1000, &world->out);
    return host;
}

static void
s_world_init (s_world_t *world)
{
    memset (world, 0, sizeof *world);
    world->model = model_new ();
    world->managed = managed_new ();
    reconcile_config_defaults (&world->config);
    world->config.epoch = 7;
    world->now = 100000;
}

static void
s_world_free (s_world_t *world)
{
    model_destroy (&world->model);
    managed_destroy (&world->managed);
    outbox_free (&world->outbox);
    mutations_free (&world->out);
}

static spec_t *
s_spec (s_world_t *world, const char *name, int index, uint64_t memory_mib, vm_want_t want,
        int priority)
{
    spec_record_t record = { .want = want, .priority = priority, .vcpus = 1,
                             .memory_mib = memory_mib, .migratable = true, .generation = 1 };
    snprintf (record.uuid, sizeof record.uuid, "aaaaaaaa-0000-0000-0000-%012d", index);
    snprintf (record.name, sizeof record.name, "%s", name);
    return managed_add_spec (world->managed, &record, "<domain type='qemu'/>");
}

//  The agent of host reports these domains running (names and uuids of specs).
static void
s_report (s_world_t *world, host_t *host, spec_t **specs, int count)
{
    wire_domain_t domains [8];
    memset (domains, 0, sizeof domains);
    for (int i = 0; i < count; i++) {
        strcpy (domains [i].uuid, specs [i]->record.uuid);
        strcpy (domains [i].name, specs [i]->record.name);
        domains [i].state = DOMAIN_RUNNING;
        domains [i].vcpus = specs [i]->record.vcpus;
        domains [i].memory_kib = specs [i]->record.memory_mib * 1024;
    }
    wire_report_t report = { true, (uint32_t) count, domains };
    model_apply_report (world->model, host, &report, 1000, &world->out);
}

static void
s_step (s_world_t *world)
{
    outbox_clear (&world->outbox);
    mutations_clear (&world->out);
    reconcile_step (world->model, world->managed, &world->config, world->now, 1000,
                    &world->outbox, &world->out);
}

static void
s_result (s_world_t *world, host_t *host, uint64_t id, const char *uuid,
          command_status_t status, const char *message)
{
    wire_command_result_t result = { .id = id, .status = status };
    strcpy (result.vm_uuid, uuid);
    snprintf (result.message, sizeof result.message, "%s", message);
    mutations_clear (&world->out);
    reconcile_result (world->model, world->managed, &world->config, host, &result, world->now,
                      1000, &world->outbox, &world->out);
}

static size_t
s_count (const mutations_t *list, mutation_kind_t kind)
{
    size_t count = 0;
    for (size_t i = 0; i < list->count; i++)
        count += list->items [i].kind == kind;
    return count;
}

static int
s_verdict (const char *name, int failures)
{
    printf ("%s unit/reconcile/%s\n", failures? "FAIL": "PASS", name);
    return failures? 1: 0;
}

//  --------------------------------------------------------------------------

static int
s_test_start (void)
{
    int failures = 0;
    s_world_t world;
    s_world_init (&world);
    s_host (&world, H1, "h1", 4, 1024);
    host_t *h2 = s_host (&world, H2, "h2", 4, 4096);
    spec_t *web = s_spec (&world, "web-1", 1, 512, VM_WANT_RUNNING, 0);
    s_step (&world);
    //  Spread: the host with the most free memory after placement.
    CHECK (world.outbox.count == 1);
    const outbound_t *sent = &world.outbox.items [0];
    CHECK (strcmp (sent->host_id, H2) == 0);
    CHECK (sent->command.action == COMMAND_START);
    CHECK (sent->command.leader_epoch == 7);
    CHECK (sent->command.host_generation == h2->record.generation);
    CHECK (sent->command.vm_generation == web->record.generation);
    CHECK (sent->command.domain_xml && strstr (sent->command.domain_xml, "domain"));
    CHECK (s_count (&world.out, MUTATION_OP_PUT) == 1);
    CHECK (s_count (&world.out, MUTATION_DECISION) == 1);
    CHECK (strstr (web->record.reason, "starting"));
    uint64_t id = sent->command.id;

    //  Not acknowledged: re-sent with the same id after resend_ms, nothing new meanwhile.
    world.now += 500;
    s_step (&world);
    CHECK (world.outbox.count == 0);
    world.now += world.config.resend_ms;
    s_step (&world);
    CHECK (world.outbox.count == 1 && world.outbox.items [0].command.id == id);

    //  Accepted: no more re-sends. Done: the operation ends with a reason.
    s_result (&world, h2, id, web->record.uuid, RESULT_ACCEPTED, "accepted");
    world.now += world.config.resend_ms * 2;
    s_step (&world);
    CHECK (world.outbox.count == 0);
    s_result (&world, h2, id, web->record.uuid, RESULT_DONE, "started");
    CHECK (web->op.record.id == 0);
    CHECK (strstr (web->record.reason, "started on host 'h2'"));
    CHECK (s_count (&world.out, MUTATION_OP_PUT) == 1);

    //  Observed running: nothing to do, the reason says where.
    s_report (&world, h2, &web, 1);
    s_step (&world);
    CHECK (world.outbox.count == 0);
    CHECK (strcmp (web->record.reason, "running on host 'h2'") == 0);
    s_world_free (&world);
    return s_verdict ("start", failures);
}

static int
s_test_give_up (void)
{
    int failures = 0;
    s_world_t world;
    s_world_init (&world);
    host_t *h1 = s_host (&world, H1, "h1", 4, 4096);
    spec_t *web = s_spec (&world, "web-1", 1, 512, VM_WANT_RUNNING, 0);
    s_step (&world);
    for (int i = 0; i < world.config.max_sends + 1; i++) {
        world.now += world.config.resend_ms;
        s_step (&world);
    }
    CHECK (web->op.record.id == 0);
    CHECK (strstr (web->record.reason, "no answer from the agent"));
    CHECK (web->retry_after > world.now);
    //  Where it runs is uncertain now: nothing starts before every up host reported again
    //  (nor before retry_after).
    world.now = web->retry_after;
    s_step (&world);
    CHECK (world.outbox.count == 0);
    CHECK (strstr (web->record.reason, "no answer from the agent"));
    s_report (&world, h1, NULL, 0);
    s_step (&world);
    CHECK (world.outbox.count == 1 && !world.outbox.items [0].report_request);

    //  A failure from the agent: reason and retry later.
    uint64_t id = world.outbox.items [0].command.id;
    s_result (&world, h1, id, web->record.uuid, RESULT_FAILED, "cannot start domain: boom");
    CHECK (strstr (web->record.reason, "start on host 'h1' failed: cannot start domain: boom"));
    //  A stale refusal is a failure too.
    world.now = web->retry_after;
    s_report (&world, h1, NULL, 0);
    s_step (&world);
    id = world.outbox.items [0].command.id;
    s_result (&world, h1, id, web->record.uuid, RESULT_STALE, "stale: leader epoch 6 is older");
    CHECK (web->op.record.id == 0);

    //  The agent re-registers while a start is in flight: the command is lost.
    world.now = web->retry_after;
    s_report (&world, h1, NULL, 0);
    s_step (&world);
    CHECK (web->op.record.id != 0);
    s_host (&world, H1, "h1", 4, 4096);
    s_step (&world);
    CHECK (web->op.record.id == 0);
    CHECK (strstr (web->record.reason, "registered again"));
    s_world_free (&world);
    return s_verdict ("give-up-and-retry", failures);
}

static int
s_test_priority (void)
{
    int failures = 0;
    s_world_t world;
    s_world_init (&world);
    world.config.start_concurrency = 1;
    s_host (&world, H1, "h1", 8, 8192);
    spec_t *low = s_spec (&world, "a-low", 1, 256, VM_WANT_RUNNING, 1);
    spec_t *high = s_spec (&world, "b-high", 2, 256, VM_WANT_RUNNING, 100);
    spec_t *mid = s_spec (&world, "c-mid", 3, 256, VM_WANT_RUNNING, 50);
    s_step (&world);
    CHECK (world.outbox.count == 1);
    CHECK (strcmp (world.outbox.items [0].command.vm_name, "b-high") == 0);
    CHECK (strstr (low->record.reason, "waiting to start"));
    CHECK (strstr (mid->record.reason, "start concurrency 1"));
    CHECK (high->op.record.id != 0);
    s_world_free (&world);
    return s_verdict ("priority-and-concurrency", failures);
}

static int
s_test_fits_nowhere (void)
{
    int failures = 0;
    s_world_t world;
    s_world_init (&world);
    s_host (&world, H1, "h1", 4, 1024);
    s_host (&world, H2, "h2", 4, 2048);
    spec_t *big = s_spec (&world, "big", 1, 8192, VM_WANT_RUNNING, 0);
    s_step (&world);
    CHECK (world.outbox.count == 0);
    CHECK (strncmp (big->record.reason, "not started: no host fits", 25) == 0);
    CHECK (strstr (big->record.reason, "not enough memory"));
    CHECK (s_count (&world.out, MUTATION_DECISION) == 1);
    //  The same answer again is not written again.
    s_step (&world);
    CHECK (world.out.count == 0);
    s_world_free (&world);
    return s_verdict ("fits-nowhere", failures);
}

static int
s_test_host_down (void)
{
    int failures = 0;
    s_world_t world;
    s_world_init (&world);
    host_t *h1 = s_host (&world, H1, "h1", 4, 4096);
    s_host (&world, H2, "h2", 4, 4096);
    spec_t *web = s_spec (&world, "web-1", 1, 512, VM_WANT_RUNNING, 0);
    s_report (&world, h1, &web, 1);
    model_host_set_state (world.model, h1, HOST_STATE_DOWN, "test", 1000, &world.out);
    s_step (&world);
    //  Never a second copy: no start elsewhere while h1's fate is unknown.
    CHECK (world.outbox.count == 0);
    CHECK (strstr (web->record.reason, "which is down"));
    s_world_free (&world);
    return s_verdict ("host-down-no-second-copy", failures);
}

static int
s_test_stop_delete (void)
{
    int failures = 0;
    s_world_t world;
    s_world_init (&world);
    host_t *h1 = s_host (&world, H1, "h1", 4, 4096);
    spec_t *web = s_spec (&world, "web-1", 1, 512, VM_WANT_STOPPED, 0);
    s_report (&world, h1, &web, 1);
    s_step (&world);
    CHECK (world.outbox.count == 1 && world.outbox.items [0].command.action == COMMAND_STOP);
    s_result (&world, h1, world.outbox.items [0].command.id, web->record.uuid, RESULT_DONE,
              "stopped");
    s_report (&world, h1, NULL, 0);
    web->record.want = VM_WANT_DELETED;
    s_step (&world);
    CHECK (s_count (&world.out, MUTATION_SPEC_DELETE) == 1);
    CHECK (managed_spec_by_name (world.managed, "web-1") == NULL);
    s_world_free (&world);
    return s_verdict ("stop-and-delete", failures);
}

static int
s_test_maintenance (void)
{
    int failures = 0;
    s_world_t world;
    s_world_init (&world);
    world.config.migrate_concurrency = 1;
    host_t *h1 = s_host (&world, H1, "h1", 8, 8192);
    s_host (&world, H2, "h2", 8, 8192);
    spec_t *vms [3] = {
        s_spec (&world, "a", 1, 512, VM_WANT_RUNNING, 0),
        s_spec (&world, "b", 2, 512, VM_WANT_RUNNING, 0),
        s_spec (&world, "c", 3, 512, VM_WANT_RUNNING, 0) };
    vms [2]->record.migratable = false;
    s_report (&world, h1, vms, 3);
    h1->record.maintenance = true;
    s_step (&world);
    //  One at a time, to h2, with h2's migration URI; c cannot move and says so.
    CHECK (world.outbox.count == 1);
    const wire_command_t *command = &world.outbox.items [0].command;
    CHECK (command->action == COMMAND_MIGRATE);
    CHECK (strcmp (command->target_uri, "qemu+tcp://h2/system") == 0);
    CHECK (strcmp (command->target_host, "h2") == 0);
    CHECK (command->timeout_ms == world.config.migration_timeout_ms);
    CHECK (strstr (vms [2]->record.reason, "blocks maintenance of host 'h1'"));
    CHECK (strstr (vms [2]->record.reason, "non-migratable"));
    //  Progress is kept; done ends the operation and the next one starts.
    wire_command_result_t progress = { .id = command->id, .status = RESULT_PROGRESS,
                                       .data_total = 1000, .data_processed = 400 };
    strcpy (progress.vm_uuid, vms [0]->record.uuid);
    reconcile_result (world.model, world.managed, &world.config, h1, &progress, world.now,
                      1000, &world.outbox, &world.out);
    CHECK (vms [0]->op.data_processed == 400 && vms [0]->op.accepted);
    s_result (&world, h1, command->id, vms [0]->record.uuid, RESULT_DONE, "migrated");
    CHECK (strstr (vms [0]->record.reason, "migrated from host 'h1' to host 'h2'"));
    s_report (&world, h1, vms + 1, 2);
    s_report (&world, model_host_by_id (world.model, H2), vms, 1);
    s_step (&world);
    CHECK (world.outbox.count == 1);
    CHECK (strcmp (world.outbox.items [0].command.vm_name, "b") == 0);
    s_world_free (&world);
    return s_verdict ("maintenance", failures);
}

//  Migrations off a host in maintenance that keep failing: each retry waits twice as long as
//  the one before, and after migrate_attempts failures the scheduler gives up on the VM
//  (one operation per attempt, none after) until the host leaves maintenance.
static int
s_test_maintenance_gives_up (void)
{
    int failures = 0;
    s_world_t world;
    s_world_init (&world);
    host_t *h1 = s_host (&world, H1, "h1", 8, 8192);
    s_host (&world, H2, "h2", 8, 8192);
    spec_t *web = s_spec (&world, "web", 1, 512, VM_WANT_RUNNING, 0);
    s_report (&world, h1, &web, 1);
    h1->record.maintenance = true;
    const int attempts = 3;                     // the default of migrate_attempts
    int64_t delay = world.config.retry_ms;
    for (int attempt = 1; attempt <= attempts; attempt++) {
        s_step (&world);
        CHECK (world.outbox.count == 1
               && world.outbox.items [0].command.action == COMMAND_MIGRATE);
        if (world.outbox.count != 1)
            break;
        s_result (&world, h1, world.outbox.items [0].command.id, web->record.uuid,
                  RESULT_FAILED, "migration to 'qemu+tls://h2/system' failed: unsupported");
        CHECK (s_count (&world.out, MUTATION_OP_PUT) == 1);
        if (attempt == attempts)
            break;
        CHECK (strstr (web->record.reason, "failed: unsupported"));
        CHECK (web->retry_after == world.now + delay);
        //  Not one moment earlier.
        world.now += delay - 1;
        s_step (&world);
        CHECK (world.outbox.count == 0);
        world.now += 1;
        delay *= 2;
    }
    CHECK (strcmp (web->record.reason, "blocks maintenance of host 'h1': gave up after 3 "
                   "failed migrations: migration to 'qemu+tls://h2/system' failed: "
                   "unsupported; migrate or stop it, or exit and enter maintenance to retry")
           == 0);
    //  Given up: no more attempts, no more operation rows, the reason stays.
    for (int i = 0; i < 10; i++) {
        world.now += 60000;
        s_step (&world);
        CHECK (world.outbox.count == 0 && s_count (&world.out, MUTATION_OP_PUT) == 0);
    }
    CHECK (strstr (web->record.reason, "gave up after 3 failed migrations"));
    //  Out of maintenance and in again: a fresh budget.
    h1->record.maintenance = false;
    s_step (&world);
    CHECK (strcmp (web->record.reason, "running on host 'h1'") == 0);
    h1->record.maintenance = true;
    s_step (&world);
    CHECK (world.outbox.count == 1
           && world.outbox.items [0].command.action == COMMAND_MIGRATE);
    s_world_free (&world);
    return s_verdict ("maintenance-gives-up-with-backoff", failures);
}

static int
s_test_migrate_requests (void)
{
    int failures = 0;
    s_world_t world;
    s_world_init (&world);
    host_t *h1 = s_host (&world, H1, "h1", 8, 8192);
    host_t *h2 = s_host (&world, H2, "h2", 8, 1024);
    host_t *h3 = s_host (&world, H3, "h3", 8, 8192);
    spec_t *web = s_spec (&world, "web", 1, 2048, VM_WANT_RUNNING, 0);
    spec_t *idle = s_spec (&world, "idle", 2, 512, VM_WANT_STOPPED, 0);
    spec_t *nested = s_spec (&world, "nested", 3, 512, VM_WANT_RUNNING, 0);
    nested->record.needs_nested = true;
    spec_t *both [] = { web, nested };
    s_report (&world, h1, both, 2);
    char err [512];
    outbox_clear (&world.outbox);
    CHECK (reconcile_migrate (world.model, world.managed, &world.config, idle, NULL, 0,
                              world.now, 1000, &world.outbox, &world.out, err, sizeof err) == -1);
    CHECK (strstr (err, "not running"));
    CHECK (reconcile_migrate (world.model, world.managed, &world.config, nested, NULL, 0,
                              world.now, 1000, &world.outbox, &world.out, err, sizeof err) == -1);
    CHECK (strstr (err, "nested"));
    CHECK (reconcile_migrate (world.model, world.managed, &world.config, web, h1, 0,
                              world.now, 1000, &world.outbox, &world.out, err, sizeof err) == -1);
    CHECK (strstr (err, "already runs"));
    CHECK (reconcile_migrate (world.model, world.managed, &world.config, web, h2, 0,
                              world.now, 1000, &world.outbox, &world.out, err, sizeof err) == -1);
    CHECK (strstr (err, "to host 'h2': not enough memory"));
    CHECK (world.outbox.count == 0);
    CHECK (reconcile_migrate (world.model, world.managed, &world.config, web, NULL, 30000,
                              world.now, 1000, &world.outbox, &world.out, err, sizeof err) == 0);
    CHECK (world.outbox.count == 1);
    CHECK (strcmp (world.outbox.items [0].command.target_host, "h3") == 0);
    CHECK (world.outbox.items [0].command.timeout_ms == 30000);
    CHECK (reconcile_migrate (world.model, world.managed, &world.config, web, NULL, 0,
                              world.now, 1000, &world.outbox, &world.out, err, sizeof err) == -1);
    CHECK (strstr (err, "in flight"));
    CHECK (reconcile_abort (world.model, world.managed, &world.config, web, &world.outbox,
                            err, sizeof err) == 0);
    CHECK (world.outbox.count == 2 && world.outbox.items [1].command.action == COMMAND_ABORT);
    s_result (&world, h1, web->op.record.id, web->record.uuid, RESULT_FAILED,
              "migration aborted");
    CHECK (strstr (web->record.reason, "stays on host 'h1'"));
    (void) h3;
    s_world_free (&world);
    return s_verdict ("migrate-requests", failures);
}

static int
s_test_unreported (void)
{
    int failures = 0;
    s_world_t world;
    s_world_init (&world);
    s_host (&world, H1, "h1", 4, 4096);
    host_t *h2 = s_host (&world, H2, "h2", 4, 4096);
    spec_t *web = s_spec (&world, "web-1", 1, 512, VM_WANT_RUNNING, 0);
    //  As after a scheduler restart: h2 is up but has not reported yet.
    h2->live.reported = false;
    s_step (&world);
    CHECK (world.outbox.count == 0);
    CHECK (strstr (web->record.reason, "waiting for host 'h2' to report"));
    s_report (&world, h2, NULL, 0);
    s_step (&world);
    CHECK (world.outbox.count == 1);
    s_world_free (&world);
    return s_verdict ("no-start-before-every-host-reported", failures);
}

static int
s_test_migration_race (void)
{
    int failures = 0;
    s_world_t world;
    s_world_init (&world);
    host_t *h1 = s_host (&world, H1, "h1", 8, 8192);
    host_t *h2 = s_host (&world, H2, "h2", 8, 8192);
    s_host (&world, H3, "h3", 8, 16384);
    spec_t *web = s_spec (&world, "web", 1, 512, VM_WANT_RUNNING, 0);
    s_report (&world, h1, &web, 1);
    s_step (&world);
    char err [256];
    CHECK (reconcile_migrate (world.model, world.managed, &world.config, web, h2, 0,
                              world.now, 1000, &world.outbox, &world.out, err, sizeof err) == 0);
    uint64_t id = web->op.record.id;
    //  The source says the domain is gone before the target says it runs, and the result
    //  overtakes the target's event: the VM must not be started anywhere meanwhile.
    wire_event_t gone = { .kind = EVENT_UNDEFINED };
    strcpy (gone.domain.uuid, web->record.uuid);
    strcpy (gone.domain.name, "web");
    gone.domain.state = DOMAIN_SHUTOFF;
    model_apply_event (world.model, h1, &gone, 1000, &world.out);
    s_result (&world, h1, id, web->record.uuid, RESULT_DONE, "migrated");
    s_step (&world);
    for (size_t i = 0; i < world.outbox.count; i++)
        CHECK (world.outbox.items [i].report_request);
    CHECK (world.outbox.count == 3);            // every up host is asked
    CHECK (strstr (web->record.reason, "waiting for host"));
    s_report (&world, h2, &web, 1);             // the target's report: found
    s_step (&world);
    CHECK (world.outbox.count == 0);
    CHECK (strcmp (web->record.reason, "running on host 'h2'") == 0);
    s_world_free (&world);
    return s_verdict ("migration-race-no-second-copy", failures);
}

static int
s_test_libvirt_lost (void)
{
    int failures = 0;
    s_world_t world;
    s_world_init (&world);
    s_host (&world, H1, "h1", 4, 1024);
    host_t *h2 = s_host (&world, H2, "h2", 4, 8192);
    h2->live.hypervisor_connected = false;      // its agent says libvirt is gone
    s_spec (&world, "web-1", 1, 512, VM_WANT_RUNNING, 0);
    s_step (&world);
    CHECK (world.outbox.count == 1 && strcmp (world.outbox.items [0].host_id, H1) == 0);
    bool explained = false;
    for (size_t i = 0; i < world.out.count; i++)
        if (world.out.items [i].kind == MUTATION_DECISION && world.out.items [i].blob)
            explained = strstr (world.out.items [i].blob, "not connected to libvirt") != NULL;
    CHECK (explained);
    s_world_free (&world);
    return s_verdict ("no-placement-on-host-without-libvirt", failures);
}

int
main (void)
{
    log_init ("test_reconcile", LOG_LEVEL_NONE);
    int failed = 0;
    failed += s_test_start ();
    failed += s_test_give_up ();
    failed += s_test_priority ();
    failed += s_test_fits_nowhere ();
    failed += s_test_host_down ();
    failed += s_test_stop_delete ();
    failed += s_test_maintenance ();
    failed += s_test_maintenance_gives_up ();
    failed += s_test_migrate_requests ();
    failed += s_test_unreported ();
    failed += s_test_migration_race ();
    failed += s_test_libvirt_lost ();
    return failed? 1: 0;
}
