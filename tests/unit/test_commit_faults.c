/*  test_commit_faults.c - a failed commit never leaves memory ahead of the database, and no
    command of a rolled-back operation ever leaves.

    A scenario (three agents register and report, four managed VMs are created and started,
    one is live-migrated, a host falls silent) drives the real scheduler core and a real
    SQLite store the way the daemon does: each entry point's mutations are committed, then
    its messages sent; a failed commit drops the messages and rolls the core back with
    loader_reload. The scenario runs once without faults to count its commits, then once per
    N with the Nth commit failing. After every commit the core's persistent state must equal
    a fresh load of the database, and every COMMAND that left must have its operation stored.
*/
#include "check.h"
#include "core.h"
#include "fixture_files.h"
#include "loader.h"
#include "log.h"
#include "store.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>

#define S_HOSTS 3
#define S_VMS   4

//  The daemon as this test plays it.
typedef struct {
    core_t *core;                   // the decisions
    store_t *store;                 // the database
    fx_t fx;                        // effects of the current entry point
    int64_t now;                    // virtual boot ms
    int commits;                    // non-empty batches committed or failed so far
    uint64_t mutation_seq;          // last committed mutation number
    int fail_at;                    // the batch that fails (0: none)
    int failed;                     // batches that failed
    uint64_t sent [256];            // ids of the COMMANDs that left
    size_t sent_count;              // used entries of sent
    uint64_t seq [S_HOSTS];         // each agent's last sequence number
    int mismatches;                 // commits after which memory differed from the database
} s_daemon_t;

static const char *s_host_ids [S_HOSTS] = {
    "11111111-0000-0000-0000-000000000001", "11111111-0000-0000-0000-000000000002",
    "11111111-0000-0000-0000-000000000003" };
static const char *s_host_names [S_HOSTS] = { "h1", "h2", "h3" };

static core_config_t
s_config (void)
{
    core_config_t config = { .timing = { 1500, 5000 }, .heartbeat_ms = 500,
                             .report_request_ms = 1000 };
    reconcile_config_defaults (&config.reconcile);
    config.reconcile.epoch = 1;
    return config;
}

//  Appends the core's persistent state, as text, to a growing buffer.
static void
s_append (char **text, size_t *size, const char *fmt, ...)
{
    va_list args;
    va_start (args, fmt);
    char line [1024];
    int length = vsnprintf (line, sizeof line, fmt, args);
    va_end (args);
    char *grown = realloc (*text, *size + (size_t) length + 1);
    if (!grown)
        return;
    memcpy (grown + *size, line, (size_t) length + 1);
    *text = grown;
    *size += (size_t) length;
}

static char *
s_dump (core_t *core)
{
    char *text = NULL;
    size_t size = 0;
    s_append (&text, &size, "%s", "");
    model_t *model = core_model (core);
    managed_t *managed = core_managed (core);
    for (size_t i = 0; i < model_host_count (model); i++) {
        const host_record_t *h = &model_host_at (model, i)->record;
        s_append (&text, &size, "host %s %s state=%d gen=%" PRIu64 " maint=%d\n", h->id,
                  h->name, h->state, h->generation, h->maintenance);
    }
    for (size_t i = 0; i < model_vm_count (model); i++) {
        const vm_record_t *v = &model_vm_at (model, i)->record;
        s_append (&text, &size, "vm %s %s on %s state=%d\n", v->uuid, v->name, v->host_id,
                  v->state);
    }
    for (size_t i = 0; i < managed_spec_count (managed); i++) {
        const spec_t *spec = managed_spec_at (managed, i);
        const spec_record_t *r = &spec->record;
        s_append (&text, &size, "spec %s %s want=%d gen=%" PRIu64 " at=%s reason=%s\n",
                  r->uuid, r->name, r->want, r->generation, r->host_id, r->reason);
        for (uint32_t e = 0; e < spec->may_run_count; e++)
            s_append (&text, &size, "  may-run %s op %" PRIu64 "\n",
                      spec->may_run [e].record.host_id, spec->may_run [e].record.op_id);
    }
    return text;
}

//  Memory equals the database: the live dump against a fresh load's dump.
static bool
s_memory_is_database (s_daemon_t *d)
{
    core_config_t config = s_config ();
    core_t *fresh = core_new (&config);
    bool same = false;
    if (fresh && loader_load (fresh, d->store, d->now) == 0) {
        char *live = s_dump (d->core), *stored = s_dump (fresh);
        same = live && stored && strcmp (live, stored) == 0;
        if (!same)
            fprintf (stderr, "  memory:\n%s  database:\n%s", live, stored);
        free (live);
        free (stored);
    }
    core_destroy (&fresh);
    return same;
}

//  What the daemon does after an entry point: commit, then send (or roll back).
static void
s_commit (s_daemon_t *d)
{
    if (d->fx.mutations.count && ++d->commits == d->fail_at)    // a batch to write
        store_fail_at (d->store, 1);
    bool durable = loader_commit (d->core, d->store, &d->fx, &d->mutation_seq, d->now) == 0;
    store_fail_at (d->store, 0);
    for (size_t i = 0; durable && i < d->fx.sends.count; i++) {
        const fx_send_t *send = vec_at (&d->fx.sends, i);
        if (send->msg.kind == WIRE_COMMAND && d->sent_count < 256)
            d->sent [d->sent_count++] = send->msg.body.command.id;
    }
    d->failed += !durable;
    fx_clear (&d->fx);
    if (!s_memory_is_database (d))
        d->mismatches++;
}

static const principal_record_t *
s_principal (int host)
{
    static principal_record_t principals [S_HOSTS];
    principal_record_t *p = &principals [host];
    p->kind = PRINCIPAL_HOST;
    snprintf (p->name, sizeof p->name, "%s", s_host_names [host]);
    return p;
}

//  Agent host sends msg (envelope filled here), then the daemon commits.
static void
s_agent (s_daemon_t *d, int host, wire_msg_t *msg)
{
    snprintf (msg->host_id, sizeof msg->host_id, "%s", s_host_ids [host]);
    host_t *known = model_host_by_id (core_model (d->core), s_host_ids [host]);
    msg->generation = known? known->record.generation: 0;
    msg->session = 100 + (uint64_t) host;
    msg->seq = ++d->seq [host];
    core_on_agent (d->core, (uint64_t) host + 1, s_principal (host), msg, d->now, d->now,
                   &d->fx);
    s_commit (d);
}

static void
s_hello (s_daemon_t *d, int host)
{
    wire_msg_t msg;
    wire_msg_init (&msg, WIRE_HELLO);
    wire_hello_t *hello = &msg.body.hello;
    snprintf (hello->host_id, sizeof hello->host_id, "%s", s_host_ids [host]);
    snprintf (hello->name, sizeof hello->name, "%s", s_host_names [host]);
    snprintf (hello->boot_id, sizeof hello->boot_id, "boot-%d", host);
    snprintf (hello->migration_uri, sizeof hello->migration_uri, "qemu+tcp://%s/system",
              s_host_names [host]);
    hello->capacity.cpus = 8;
    hello->capacity.memory_mib = 8192;
    s_agent (d, host, &msg);
}

//  Host reports every managed VM whose last COMMAND sent it to... the ones in `runs`.
static void
s_report (s_daemon_t *d, int host, const char **uuids, int count)
{
    wire_domain_t domains [S_VMS];
    memset (domains, 0, sizeof domains);
    for (int i = 0; i < count; i++) {
        spec_t *spec = managed_spec_by_uuid (core_managed (d->core), uuids [i]);
        snprintf (domains [i].uuid, sizeof domains [i].uuid, "%s", uuids [i]);
        snprintf (domains [i].name, sizeof domains [i].name, "%s",
                  spec? spec->record.name: "x");
        domains [i].state = DOMAIN_RUNNING;
        domains [i].vcpus = 1;
        domains [i].memory_kib = 512 * 1024;
        domains [i].persistent = true;
    }
    wire_msg_t msg;
    wire_msg_init (&msg, WIRE_REPORT);
    msg.body.report = (wire_report_t) { true, (uint32_t) count, domains, 0 };
    s_agent (d, host, &msg);
}

static void
s_result (s_daemon_t *d, int host, uint64_t id, const char *uuid, command_status_t status)
{
    wire_msg_t msg;
    wire_msg_init (&msg, WIRE_COMMAND_RESULT);
    msg.body.result.id = id;
    msg.body.result.status = status;
    snprintf (msg.body.result.vm_uuid, sizeof msg.body.result.vm_uuid, "%s", uuid);
    s_agent (d, host, &msg);
}

static void
s_tick (s_daemon_t *d, int64_t ms)
{
    d->now += ms;
    core_tick (d->core, d->now, d->now, &d->fx);
    s_commit (d);
}

//  The operator creates a managed VM (as vm create does: add it, record it).
static void
s_create (s_daemon_t *d, int index)
{
    spec_record_t record = { .want = VM_WANT_RUNNING, .vcpus = 1, .memory_mib = 512,
                             .migratable = true, .generation = 1, .created_at = d->now };
    snprintf (record.uuid, sizeof record.uuid, "aaaaaaaa-0000-0000-0000-%012d", index);
    snprintf (record.name, sizeof record.name, "vm-%d", index);
    spec_t *spec = managed_add_spec (core_managed (d->core), &record, "<domain/>");
    if (spec) {
        mutation_t put = { .kind = MUTATION_SPEC_PUT, .at = d->now, .blob = strdup ("<domain/>") };
        put.u.spec = spec->record;
        mutations_push (&d->fx.mutations, &put);
    }
    s_commit (d);
}

//  The host (index) a spec's START went to, from the core's operation in flight; -1 none.
static int
s_op_host (const spec_t *spec)
{
    for (int h = 0; h < S_HOSTS; h++)
        if (spec->op.record.id && strcmp (spec->op.record.host_id, s_host_ids [h]) == 0)
            return h;
    return -1;
}

//  The whole scenario; returns the daemon's counters in *d.
static void
s_scenario (s_daemon_t *d, const char *path)
{
    char err [256];
    d->store = store_open (path, err, sizeof err);
    core_config_t config = s_config ();
    d->core = core_new (&config);
    fx_init (&d->fx);
    d->now = 1000000;
    for (int h = 0; h < S_HOSTS; h++) {
        s_hello (d, h);
        s_report (d, h, NULL, 0);
    }
    for (int i = 1; i <= S_VMS; i++)
        s_create (d, i);
    //  Agents answer what the core asks, as well as memory lets this test tell.
    static char uuids [S_HOSTS][S_VMS][WIRE_ID_SIZE];
    const char *runs [S_HOSTS][S_VMS];
    int run_count [S_HOSTS] = { 0 };
    for (int round = 0; round < 30; round++) {
        s_tick (d, 500);
        //  A commit may roll the core back: look the specs up afresh after each one.
        for (size_t i = 0; i < managed_spec_count (core_managed (d->core)); i++) {
            spec_t *spec = managed_spec_at (core_managed (d->core), i);
            int h = s_op_host (spec);
            if (h < 0 || spec->op.record.action != COMMAND_START)
                continue;
            uint64_t id = spec->op.record.id;
            char uuid [WIRE_ID_SIZE];
            snprintf (uuid, sizeof uuid, "%s", spec->record.uuid);
            s_result (d, h, id, uuid, RESULT_DONE);
            bool listed = false;
            for (int k = 0; k < run_count [h]; k++)
                listed |= strcmp (runs [h][k], uuid) == 0;
            if (!listed && run_count [h] < S_VMS) {
                snprintf (uuids [h][run_count [h]], WIRE_ID_SIZE, "%s", uuid);
                runs [h][run_count [h]] = uuids [h][run_count [h]];
                run_count [h]++;
            }
        }
        for (int h = 0; h < S_HOSTS; h++)
            s_report (d, h, runs [h], run_count [h]);
    }
    //  A migration of the first VM, its result, and both hosts' reports.
    spec_t *first = managed_spec_at (core_managed (d->core), 0);
    host_t *source = first? model_host_by_id (core_model (d->core), first->record.host_id): NULL;
    if (first && source) {
        int from = source->record.name [1] - '1', to = (from + 1) % S_HOSTS;
        host_t *target = model_host_by_id (core_model (d->core), s_host_ids [to]);
        if (reconcile_migrate (core_model (d->core), core_managed (d->core),
                               &core_config (d->core)->reconcile, first, target, 0, d->now,
                               d->now, core_outbox (d->core), &d->fx.mutations, err,
                               sizeof err) == 0) {
            core_flush (d->core, &d->fx);
            s_commit (d);
        }
        else
            s_commit (d);
    }
    //  h3 falls silent; the others keep talking.
    for (int round = 0; round < 20; round++) {
        s_tick (d, 500);
        for (int h = 0; h < S_HOSTS - 1; h++)
            s_report (d, h, runs [h], run_count [h]);
    }
}

static void
s_teardown (s_daemon_t *d)
{
    fx_free (&d->fx);
    core_destroy (&d->core);
    store_destroy (&d->store);
}

//  Every COMMAND that left has its operation in the database.
typedef struct {
    uint64_t ids [1024];            // operation ids stored
    size_t count;                   // used entries
} s_stored_ops_t;

static void
s_collect_op (void *arg, const op_record_t *op)
{
    s_stored_ops_t *stored = arg;
    if (stored->count < 1024)
        stored->ids [stored->count++] = op->id;
}

static int
s_unstored_commands (s_daemon_t *d)
{
    static s_stored_ops_t stored;
    stored.count = 0;
    managed_t *managed = core_managed (d->core);
    for (size_t i = 0; i < managed_spec_count (managed); i++)
        store_load_ops (d->store, managed_spec_at (managed, i)->record.uuid, 1024,
                        s_collect_op, &stored);
    int missing = 0;
    for (size_t i = 0; i < d->sent_count; i++) {
        bool found = false;
        for (size_t k = 0; k < stored.count && !found; k++)
            found = stored.ids [k] == d->sent [i];
        missing += !found;
    }
    return missing;
}

static int
s_case_every_commit_fails_once (void)
{
    int failures = 0;
    char dir [256], path [300];
    CHECK (fixture_files_tempdir (dir, sizeof dir, "commit-faults") == 0);
    snprintf (path, sizeof path, "%s/clean.db", dir);
    s_daemon_t clean = { .fail_at = 0 };
    s_scenario (&clean, path);
    CHECK (clean.mismatches == 0);
    CHECK (clean.failed == 0);
    //  The scenario did what it says: every VM started and placed, the migration sent.
    size_t placed = 0;
    for (size_t i = 0; i < managed_spec_count (core_managed (clean.core)); i++)
        placed += managed_spec_at (core_managed (clean.core), i)->record.host_id [0] != 0;
    CHECK (placed == S_VMS);
    CHECK (clean.sent_count >= S_VMS + 1);
    int total = clean.commits;
    s_teardown (&clean);
    int failed_runs = 0, mismatched = 0, unstored = 0;
    for (int n = 1; n <= total; n++) {
        snprintf (path, sizeof path, "%s/fail-%d.db", dir, n);
        s_daemon_t d = { .fail_at = n };
        s_scenario (&d, path);
        failed_runs += d.failed == 1;
        mismatched += d.mismatches;
        unstored += s_unstored_commands (&d);
        if (d.mismatches)
            fprintf (stderr, "  commit %d of %d failed: memory differed from the database "
                     "after %d commits\n", n, total, d.mismatches);
        s_teardown (&d);
    }
    printf ("  %d commits in the scenario; each failed once in its own run: %d runs with one "
            "rolled-back batch, %d commits after which memory differed, %d commands sent "
            "without a stored operation\n", total, failed_runs, mismatched, unstored);
    CHECK (failed_runs == total);
    CHECK (mismatched == 0);
    CHECK (unstored == 0);
    fixture_files_remove_dir (dir);
    return failures;
}

int
main (int argc, char **argv)
{
    log_init ("test_commit_faults", LOG_LEVEL_NONE);
    static const check_case_t cases [] = {
        { "every_commit_fails_once", s_case_every_commit_fails_once },
    };
    return CHECK_RUN_ALL ("commit_faults", cases, argc, argv)? 1: 0;
}
