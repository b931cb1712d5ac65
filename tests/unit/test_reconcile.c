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
#include "fixture_files.h"
#include "store.h"
#include "core.h"
#include "loader.h"

#include <sqlite3.h>

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
    core_t *core;                   // owns model and managed when loaded from a store
    struct {
        char host_id [WIRE_ID_SIZE];    // a host asked for a report
        uint64_t token;                 // the newest token it was sent (its reports echo it)
    } asked [8];
} s_world_t;

//  The newest REPORT_REQUEST token host_id was sent (0: none): what its next list echoes.
static uint64_t
s_token_of (const s_world_t *world, const char *host_id)
{
    for (int i = 0; i < 8; i++)
        if (strcmp (world->asked [i].host_id, host_id) == 0)
            return world->asked [i].token;
    return 0;
}

//  Commands in the outbox (report requests are not commands).
static size_t
s_commands (const s_world_t *world)
{
    size_t count = 0;
    for (size_t i = 0; i < world->outbox.count; i++)
        count += !((const outbound_t *) vec_at (&world->outbox, i))->report_request;
    return count;
}

//  The agents receive what the step sent: remember the report requests' tokens.
static void
s_note_requests (s_world_t *world)
{
    for (size_t i = 0; i < world->outbox.count; i++) {
        const outbound_t *item = vec_at (&world->outbox, i);
        if (!item->report_request)
            continue;
        for (int k = 0; k < 8; k++)
            if (!world->asked [k].host_id [0]
            ||  strcmp (world->asked [k].host_id, item->host_id) == 0) {
                snprintf (world->asked [k].host_id, WIRE_ID_SIZE, "%s", item->host_id);
                if (item->token > world->asked [k].token)
                    world->asked [k].token = item->token;
                break;
            }
    }
}

//  Registers (or re-registers) a host; it has reported nothing yet.
static host_t *
s_register (s_world_t *world, const char *id, const char *name, uint32_t cpus,
            uint64_t memory_mib);

//  Registers a host that reports no domains.
static host_t *
s_host (s_world_t *world, const char *id, const char *name, uint32_t cpus, uint64_t memory_mib)
{
    host_t *host = s_register (world, id, name, cpus, memory_mib);
    wire_report_t nothing = { true, 0, NULL, s_token_of (world, host->record.id) };
    model_apply_report (world->model, host, &nothing, 1000, &world->out);
    return host;
}

static host_t *
s_register (s_world_t *world, const char *id, const char *name, uint32_t cpus,
            uint64_t memory_mib)
{
    wire_hello_t hello;
    memset (&hello, 0, sizeof hello);
    strcpy (hello.host_id, id);
    strcpy (hello.name, name);
    snprintf (hello.migration_uri, sizeof hello.migration_uri, "qemu+tcp://%s/system", name);
    hello.capacity.cpus = cpus;
    hello.capacity.memory_mib = memory_mib;
    char err [256];
    return model_host_register (world->model, &hello, 0, "", world->now, 1000, &world->out, err,
                                sizeof err);
}

static void
s_world_init (s_world_t *world)
{
    memset (world, 0, sizeof *world);
    world->model = model_new ();
    world->managed = managed_new ();
    world->outbox = VEC_OF (outbound_t);
    world->out = VEC_OF (mutation_t);
    reconcile_config_defaults (&world->config);
    world->config.epoch = 7;
    world->now = 100000;
}

static void
s_world_free (s_world_t *world)
{
    if (world->core)
        core_destroy (&world->core);
    else {
        model_destroy (&world->model);
        managed_destroy (&world->managed);
    }
    vec_free (&world->outbox);
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
    //  Listed now: after every report request the host was sent so far.
    wire_report_t report = { true, (uint32_t) count, domains,
                             s_token_of (world, host->record.id) };
    model_apply_report (world->model, host, &report, 1000, &world->out);
}

static void
s_step (s_world_t *world)
{
    vec_clear (&world->outbox);
    mutations_clear (&world->out);
    reconcile_step (world->model, world->managed, &world->config, world->now, 1000,
                    &world->outbox, &world->out);
    s_note_requests (world);
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
        count += (*(mutation_t *) vec_at (list, i)).kind == kind;
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
    const outbound_t *sent = &(*(outbound_t *) vec_at (&world.outbox, 0));
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
    CHECK (s_commands (&world) == 0);
    world.now += world.config.resend_ms;
    s_step (&world);
    CHECK (world.outbox.count == 1 && (*(outbound_t *) vec_at (&world.outbox, 0)).command.id == id);

    //  Accepted: no more re-sends. Done: the operation ends with a reason.
    s_result (&world, h2, id, web->record.uuid, RESULT_ACCEPTED, "accepted");
    world.now += world.config.resend_ms * 2;
    s_step (&world);
    CHECK (s_commands (&world) == 0);
    s_result (&world, h2, id, web->record.uuid, RESULT_DONE, "started");
    CHECK (web->op.record.id == 0);
    CHECK (strstr (web->record.reason, "started on host 'h2'"));
    CHECK (s_count (&world.out, MUTATION_OP_PUT) == 1);

    //  Observed running: nothing to do, the reason says where.
    s_report (&world, h2, &web, 1);
    s_step (&world);
    CHECK (s_commands (&world) == 0);
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
    //  h1 may run it (the start was never answered): not before retry_after, and then only
    //  on h1 again, never elsewhere.
    s_host (&world, H2, "h2", 8, 8192);
    s_step (&world);
    CHECK (s_commands (&world) == 0);
    CHECK (strstr (web->record.reason, "no answer from the agent"));
    world.now = web->retry_after;
    s_step (&world);
    CHECK (world.outbox.count == 1 && !(*(outbound_t *) vec_at (&world.outbox, 0)).report_request);
    CHECK (strcmp (((outbound_t *) vec_at (&world.outbox, 0))->host_id, H1) == 0);

    //  A failure from the agent: reason and retry later.
    uint64_t id = (*(outbound_t *) vec_at (&world.outbox, 0)).command.id;
    s_result (&world, h1, id, web->record.uuid, RESULT_FAILED, "cannot start domain: boom");
    CHECK (strstr (web->record.reason, "start on host 'h1' failed: cannot start domain: boom"));
    //  A stale refusal is a failure too.
    world.now = web->retry_after;
    s_report (&world, h1, NULL, 0);
    s_step (&world);
    id = (*(outbound_t *) vec_at (&world.outbox, 0)).command.id;
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
    CHECK (strcmp ((*(outbound_t *) vec_at (&world.outbox, 0)).command.vm_name, "b-high") == 0);
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
    CHECK (s_commands (&world) == 0);
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
    CHECK (s_commands (&world) == 0);
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
    CHECK (world.outbox.count == 1 && (*(outbound_t *) vec_at (&world.outbox, 0)).command.action == COMMAND_STOP);
    s_result (&world, h1, (*(outbound_t *) vec_at (&world.outbox, 0)).command.id, web->record.uuid, RESULT_DONE,
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
    const wire_command_t *command = &(*(outbound_t *) vec_at (&world.outbox, 0)).command;
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
    CHECK (s_commands (&world) == 1);
    const outbound_t *next = NULL;
    for (size_t i = 0; i < world.outbox.count && !next; i++)
        if (!((outbound_t *) vec_at (&world.outbox, i))->report_request)
            next = vec_at (&world.outbox, i);
    CHECK (next && strcmp (next->command.vm_name, "b") == 0);
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
    host_t *h2 = s_host (&world, H2, "h2", 8, 8192);
    spec_t *web = s_spec (&world, "web", 1, 512, VM_WANT_RUNNING, 0);
    s_report (&world, h1, &web, 1);
    h1->record.maintenance = true;
    const int attempts = 3;                     // the default of migrate_attempts
    int64_t delay = world.config.retry_ms;
    for (int attempt = 1; attempt <= attempts; attempt++) {
        s_step (&world);
        CHECK (world.outbox.count == 1
               && ((outbound_t *) vec_at (&world.outbox, 0))->command.action == COMMAND_MIGRATE);
        if (world.outbox.count != 1)
            break;
        s_result (&world, h1, ((outbound_t *) vec_at (&world.outbox, 0))->command.id, web->record.uuid,
                  RESULT_FAILED, "migration to 'qemu+tls://h2/system' failed: unsupported");
        CHECK (s_count (&world.out, MUTATION_OP_PUT) == 1);
        s_report (&world, h2, NULL, 0);         // the target has no copy: proven at once
        if (attempt == attempts)
            break;
        CHECK (strstr (web->record.reason, "failed: unsupported"));
        CHECK (web->retry_after == world.now + delay);
        //  Not one moment earlier.
        world.now += delay - 1;
        s_step (&world);
        CHECK (s_commands (&world) == 0);
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
        CHECK (s_commands (&world) == 0 && s_count (&world.out, MUTATION_OP_PUT) == 0);
    }
    CHECK (strstr (web->record.reason, "gave up after 3 failed migrations"));
    //  Out of maintenance and in again: a fresh budget.
    h1->record.maintenance = false;
    s_step (&world);
    CHECK (strcmp (web->record.reason, "running on host 'h1'") == 0);
    h1->record.maintenance = true;
    s_step (&world);
    CHECK (world.outbox.count == 1
           && ((outbound_t *) vec_at (&world.outbox, 0))->command.action == COMMAND_MIGRATE);
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
    vec_clear (&world.outbox);
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
    CHECK (s_commands (&world) == 0);
    CHECK (reconcile_migrate (world.model, world.managed, &world.config, web, NULL, 30000,
                              world.now, 1000, &world.outbox, &world.out, err, sizeof err) == 0);
    CHECK (world.outbox.count == 1);
    CHECK (strcmp ((*(outbound_t *) vec_at (&world.outbox, 0)).command.target_host, "h3") == 0);
    CHECK ((*(outbound_t *) vec_at (&world.outbox, 0)).command.timeout_ms == 30000);
    CHECK (reconcile_migrate (world.model, world.managed, &world.config, web, NULL, 0,
                              world.now, 1000, &world.outbox, &world.out, err, sizeof err) == -1);
    CHECK (strstr (err, "in flight"));
    CHECK (reconcile_abort (world.model, world.managed, &world.config, web, &world.outbox,
                            err, sizeof err) == 0);
    CHECK (world.outbox.count == 2 && (*(outbound_t *) vec_at (&world.outbox, 1)).command.action == COMMAND_ABORT);
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
    CHECK (s_commands (&world) == 0);
    CHECK (strstr (web->record.reason, "waiting for host 'h2' to report"));
    s_report (&world, h2, NULL, 0);
    s_step (&world);
    CHECK (world.outbox.count == 1);
    s_world_free (&world);
    return s_verdict ("no-start-before-every-host-reported", failures);
}

//  Three hosts, web running on h1 and reported there, and its live migration to h2 sent.
static int
s_migrating (s_world_t *world, host_t **h1, host_t **h2, host_t **h3, spec_t **web)
{
    int failures = 0;
    s_world_init (world);
    *h1 = s_host (world, H1, "h1", 8, 8192);
    *h2 = s_host (world, H2, "h2", 8, 8192);
    *h3 = s_host (world, H3, "h3", 8, 16384);
    *web = s_spec (world, "web", 1, 512, VM_WANT_RUNNING, 0);
    s_report (world, *h1, web, 1);
    s_step (world);
    char err [256];
    CHECK (reconcile_migrate (world->model, world->managed, &world->config, *web, *h2, 0,
                              world->now, 1000, &world->outbox, &world->out, err, sizeof err)
           == 0);
    return failures;
}

static int
s_test_migration_race (void)
{
    int failures = 0;
    s_world_t world;
    host_t *h1, *h2, *h3;
    spec_t *web;
    failures += s_migrating (&world, &h1, &h2, &h3, &web);
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
        CHECK ((*(outbound_t *) vec_at (&world.outbox, i)).report_request);
    CHECK (world.outbox.count == 1              // the target is asked, nobody else
           && strcmp (((outbound_t *) vec_at (&world.outbox, 0))->host_id, H2) == 0);
    CHECK (strstr (web->record.reason, "may run on host 'h2'"));
    s_report (&world, h2, &web, 1);             // the target's report: found
    s_step (&world);
    CHECK (s_commands (&world) == 0);
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
    CHECK (world.outbox.count == 1 && strcmp ((*(outbound_t *) vec_at (&world.outbox, 0)).host_id, H1) == 0);
    bool explained = false;
    for (size_t i = 0; i < world.out.count; i++)
        if ((*(mutation_t *) vec_at (&world.out, i)).kind == MUTATION_DECISION && (*(mutation_t *) vec_at (&world.out, i)).blob)
            explained = strstr ((*(mutation_t *) vec_at (&world.out, i)).blob, "not connected to libvirt") != NULL;
    CHECK (explained);
    s_world_free (&world);
    return s_verdict ("no-placement-on-host-without-libvirt", failures);
}

//  --------------------------------------------------------------------------
//  The four ways the reconciler once started a second copy (H1-H4), and forged reports.
//  Each runs the world on a virtual clock in 100 ms steps for `ms`: hosts in `alive` are
//  heard every step and report their domains every second; the others are silent. Returns
//  how many STARTs left for spec in that time (any host) and, in *to, the last target.

typedef struct {
    host_t *host;                   // a live host
    spec_t *runs [4];               // what it reports running
    int run_count;                  // used entries of runs
} s_alive_t;

static int
s_run_for (s_world_t *world, int64_t ms, s_alive_t *alive, int alive_count,
           const spec_t *spec, char *to)
{
    model_timing_t timing = { 1500, 5000 };
    int starts = 0;
    for (int64_t t = 0; t < ms; t += 100) {
        world->now += 100;
        for (int i = 0; i < alive_count; i++) {
            model_host_heard (world->model, alive [i].host, world->now, 1000, &world->out);
            if (t % 1000 == 0)
                s_report (world, alive [i].host, alive [i].runs, alive [i].run_count);
        }
        model_check_liveness (world->model, &timing, world->now, 1000, &world->out);
        s_step (world);
        for (size_t i = 0; i < world->outbox.count; i++) {
            const outbound_t *sent = vec_at (&world->outbox, i);
            if (!sent->report_request && sent->command.action == COMMAND_START
            &&  strcmp (sent->command.vm_uuid, spec->record.uuid) == 0) {
                starts++;
                if (to)
                    strcpy (to, sent->host_id);
            }
        }
    }
    return starts;
}

//  The STOP commands for spec in the outbox, and the host of the last one in *to.
static int
s_stops_of (s_world_t *world, const spec_t *spec, char *to)
{
    int stops = 0;
    for (size_t i = 0; i < world->outbox.count; i++) {
        const outbound_t *sent = vec_at (&world->outbox, i);
        if (!sent->report_request && sent->command.action == COMMAND_STOP
        &&  strcmp (sent->command.vm_uuid, spec->record.uuid) == 0) {
            stops++;
            strcpy (to, sent->host_id);
        }
    }
    return stops;
}

//  H1: a START is in flight to h1 when h1 falls silent. h1 may run the VM: it stays in the
//  VM's may-run set, and nothing starts elsewhere however long h1 is silent.
static int
s_test_h1_start_in_flight (void)
{
    int failures = 0;
    s_world_t world;
    s_world_init (&world);
    host_t *h1 = s_host (&world, H1, "h1", 4, 8192);
    host_t *h2 = s_host (&world, H2, "h2", 4, 4096);
    spec_t *web = s_spec (&world, "web", 1, 512, VM_WANT_RUNNING, 0);
    s_step (&world);
    CHECK (world.outbox.count == 1
           && strcmp (((outbound_t *) vec_at (&world.outbox, 0))->host_id, H1) == 0);
    //  h1 falls silent with the START unanswered; h2 keeps talking.
    s_alive_t alive [] = { { h2, { NULL }, 0 } };
    char to [WIRE_ID_SIZE] = "";
    int starts = s_run_for (&world, 180000, alive, 1, web, to);
    CHECK (h1->record.state == HOST_STATE_DOWN);
    CHECK (starts == 0 || strcmp (to, H1) == 0);
    CHECK (strstr (web->record.reason, "h1"));
    s_world_free (&world);
    return s_verdict ("h1-start-in-flight-to-silent-host", failures);
}

//  H2: a migration ends while its target is only suspect. The source reports the VM gone;
//  the target may run the migrated copy, so nothing starts elsewhere.
static int
s_test_h2_migration_target_suspect (void)
{
    int failures = 0;
    s_world_t world;
    host_t *h1, *h2, *h3;
    spec_t *web;
    failures += s_migrating (&world, &h1, &h2, &h3, &web);
    uint64_t id = web->op.record.id;
    //  h2 falls silent (suspect after 1.5 s); then h1 says the migration is done and its
    //  report no longer lists the VM.
    s_alive_t alive [] = { { h1, { web }, 1 }, { h3, { NULL }, 0 } };
    int starts = s_run_for (&world, 2000, alive, 2, web, NULL);
    CHECK (h2->record.state == HOST_STATE_SUSPECT);
    s_result (&world, h1, id, web->record.uuid, RESULT_DONE, "migrated");
    alive [0].run_count = 0;
    starts += s_run_for (&world, 120000, alive, 2, web, NULL);
    CHECK (starts == 0);
    CHECK (strstr (web->record.reason, "h2"));
    //  The target comes back (registers again: it was declared down) and reports the copy:
    //  found, nothing to do.
    CHECK (h2->record.state == HOST_STATE_DOWN);
    CHECK (s_register (&world, H2, "h2", 8, 8192) == h2);
    s_alive_t all [] = { { h1, { NULL }, 0 }, { h2, { web }, 1 }, { h3, { NULL }, 0 } };
    CHECK (s_run_for (&world, 3000, all, 3, web, NULL) == 0);
    if (strcmp (web->record.reason, "running on host 'h2'"))
        fprintf (stderr, "  reason: %s\n", web->record.reason);
    CHECK (strcmp (web->record.reason, "running on host 'h2'") == 0);
    (void) h3;
    s_world_free (&world);
    return s_verdict ("h2-migration-ended-while-target-suspect", failures);
}

//  H4: two running copies are two: the one the database does not place is stopped, and
//  neither "moves" the VM.
static int
s_test_h4_two_copies (void)
{
    int failures = 0;
    s_world_t world;
    s_world_init (&world);
    host_t *h1 = s_host (&world, H1, "h1", 8, 8192);
    host_t *h2 = s_host (&world, H2, "h2", 8, 8192);
    spec_t *web = s_spec (&world, "web", 1, 512, VM_WANT_RUNNING, 0);
    s_step (&world);
    uint64_t id = ((outbound_t *) vec_at (&world.outbox, 0))->command.id;
    host_t *placed = strcmp (((outbound_t *) vec_at (&world.outbox, 0))->host_id, H1) == 0?
                     h1: h2;
    host_t *other = placed == h1? h2: h1;
    s_result (&world, placed, id, web->record.uuid, RESULT_DONE, "started");
    s_report (&world, placed, &web, 1);
    s_report (&world, other, &web, 1);          // a second copy, started behind our back
    CHECK (model_vm_count (world.model) == 2);
    s_step (&world);
    char to [WIRE_ID_SIZE] = "";
    CHECK (s_stops_of (&world, web, to) == 1 && strcmp (to, other->record.id) == 0);
    CHECK (strstr (web->record.reason, other->record.name));
    s_world_free (&world);
    return s_verdict ("h4-two-copies-are-two", failures);
}

//  A host's key reports a managed VM that runs on another up host: recorded as a second
//  copy on the reporting host (never as a move), and that copy is stopped.
static int
s_test_forged_cross_host_report (void)
{
    int failures = 0;
    s_world_t world;
    s_world_init (&world);
    host_t *h3 = s_host (&world, H3, "h3", 8, 8192);
    spec_t *m1 = s_spec (&world, "m1", 1, 512, VM_WANT_RUNNING, 0);
    s_step (&world);
    uint64_t id = ((outbound_t *) vec_at (&world.outbox, 0))->command.id;
    s_result (&world, h3, id, m1->record.uuid, RESULT_DONE, "started");
    s_report (&world, h3, &m1, 1);
    s_step (&world);
    CHECK (strcmp (m1->record.reason, "running on host 'h3'") == 0);
    host_t *h4 = s_host (&world, "44444444-4444-4444-4444-444444444444", "h4", 8, 8192);
    s_report (&world, h4, &m1, 1);
    vm_t *on_h3 = model_vm_by_uuid (world.model, m1->record.uuid);
    CHECK (on_h3 && strcmp (on_h3->record.host_id, H3) == 0);   // the first copy stays
    CHECK (model_vm_count (world.model) == 2);
    s_step (&world);
    char to [WIRE_ID_SIZE] = "";
    CHECK (s_stops_of (&world, m1, to) == 1 && strcmp (to, h4->record.id) == 0);
    s_world_free (&world);
    return s_verdict ("forged-cross-host-report-is-a-second-copy", failures);
}

//  The scheduler's start-up as the daemon does it (loader_load), into a world; without
//  the may-run entries when asked (as the old code kept none).
static int
s_restart (s_world_t *world, const char *path, bool may_run)
{
    int failures = 0;
    if (!may_run) {
        sqlite3 *db;
        CHECK (sqlite3_open (path, &db) == SQLITE_OK);
        CHECK (sqlite3_exec (db, "DELETE FROM may_run", 0, 0, 0) == SQLITE_OK);
        sqlite3_close (db);
    }
    core_config_t config = { .timing = { 1500, 5000 } };
    core_t *core = core_new (&config);
    char err [256];
    store_t *store = store_open (path, err, sizeof err);
    CHECK (core && store && loader_load (core, store, world->now) == 0);
    store_destroy (&store);
    if (!core)
        return failures;
    //  The world takes the loaded state over (the core owns it).
    model_destroy (&world->model);
    managed_destroy (&world->managed);
    world->core = core;
    world->model = core_model (core);
    world->managed = core_managed (core);
    return failures;
}

//  H3: a START is in flight to h1 when the scheduler restarts; after the restart h1 stays
//  silent (suspect, then down). h1 may run the VM, so it never starts elsewhere. Without
//  the stored may-run entry (as before), the restarted scheduler started it on h2.
static int
s_test_h3_restart_with_start_in_flight (void)
{
    int failures = 0;
    char dir [256], path [300];
    CHECK (fixture_files_tempdir (dir, sizeof dir, "reconcile") == 0);
    snprintf (path, sizeof path, "%s/vmsched.db", dir);
    char err [256];
    store_t *store = store_open (path, err, sizeof err);
    CHECK (store != NULL);

    s_world_t before;
    s_world_init (&before);
    s_host (&before, H1, "h1", 4, 8192);
    s_host (&before, H2, "h2", 4, 4096);
    spec_t *web = s_spec (&before, "web", 1, 512, VM_WANT_RUNNING, 0);
    mutation_t put = { .kind = MUTATION_SPEC_PUT, .at = 1000, .blob = strdup (web->xml) };
    put.u.spec = web->record;
    mutations_push (&before.out, &put);
    reconcile_step (before.model, before.managed, &before.config, before.now, 1000,
                    &before.outbox, &before.out);
    CHECK (before.outbox.count == 1
           && strcmp (((outbound_t *) vec_at (&before.outbox, 0))->host_id, H1) == 0);
    for (size_t i = 0; i < before.out.count; i++)
        CHECK (store_apply (store, vec_at (&before.out, i)) == 0);
    CHECK (store_commit (store) == 0);
    store_destroy (&store);
    char uuid [WIRE_ID_SIZE];
    strcpy (uuid, web->record.uuid);
    s_world_free (&before);

    for (int variant = 0; variant < 2; variant++) {
        bool with_may_run = variant == 0;      // the control last: it deletes the entries
        s_world_t after;
        s_world_init (&after);
        failures += s_restart (&after, path, with_may_run);
        host_t *h2 = model_host_by_id (after.model, H2);
        spec_t *loaded = managed_spec_by_uuid (after.managed, uuid);
        CHECK (h2 && loaded);
        if (!h2 || !loaded)
            break;
        CHECK (loaded->may_run_count == (with_may_run? 1: 0));
        s_alive_t alive [] = { { h2, { NULL }, 0 } };
        char to [WIRE_ID_SIZE] = "";
        int starts = s_run_for (&after, 60000, alive, 1, loaded, to);
        if (with_may_run)
            CHECK (starts == 0);                // h1 may run it: never a second copy
        else
            CHECK (starts >= 1 && strcmp (to, H2) == 0);    // the hole the entry closes
        s_world_free (&after);
    }
    fixture_files_remove_dir (dir);
    return s_verdict ("h3-restart-with-start-in-flight", failures);
}

//  A migration's target reports on a slow link: a list made before the migration landed
//  arrives after the source said it is done. It proves nothing (it echoes no token of a
//  request sent after the answer), so nothing is started; the target's next list does.
static int
s_test_old_report_is_no_proof (void)
{
    int failures = 0;
    s_world_t world;
    host_t *h1, *h2, *h3;
    spec_t *web;
    failures += s_migrating (&world, &h1, &h2, &h3, &web);
    s_result (&world, h1, web->op.record.id, web->record.uuid, RESULT_DONE, "migrated");
    s_report (&world, h1, NULL, 0);             // the source no longer has it
    s_step (&world);                            // asks h2 for a list younger than the answer
    wire_report_t old = { true, 0, NULL, 0 };   // h2's list from before, late
    model_apply_report (world.model, h2, &old, 1000, &world.out);
    for (int i = 0; i < 30; i++) {
        world.now += 100;
        s_step (&world);
        CHECK (s_commands (&world) == 0);
    }
    CHECK (strstr (web->record.reason, "may run on host 'h2'"));
    s_report (&world, h2, &web, 1);             // its answer to the request: the copy is there
    s_step (&world);
    CHECK (s_commands (&world) == 0);
    CHECK (strcmp (web->record.reason, "running on host 'h2'") == 0);
    CHECK (web->may_run_count == 0);
    s_world_free (&world);
    return s_verdict ("old-report-on-a-slow-link-is-no-proof", failures);
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
    failed += s_test_h1_start_in_flight ();
    failed += s_test_h2_migration_target_suspect ();
    failed += s_test_h3_restart_with_start_in_flight ();
    failed += s_test_h4_two_copies ();
    failed += s_test_forged_cross_host_report ();
    failed += s_test_old_report_is_no_proof ();
    return failed? 1: 0;
}
