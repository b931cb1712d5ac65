/*  test_store.c - the SQLite store: schema, round trips, batches, faults, refusals.

    Every case works on a real database file in a fresh temporary directory.
*/
#include "check.h"
#include "log.h"
#include "store.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *s_host_a = "11111111-1111-1111-1111-111111111111";
static const char *s_vm_a = "aaaaaaaa-0000-0000-0000-000000000001";

static bool
s_streq (const char *a, const char *b)
{
    return strcmp (a, b) == 0;
}

typedef struct {
    int count;                      // records seen
    host_record_t host;             // the last host
    vm_record_t vm;                 // the last vm
    transition_t transitions [8];   // the first transitions
} s_seen_t;

static void
s_on_host (void *arg, const host_record_t *host)
{
    s_seen_t *seen = arg;
    seen->host = *host;
    seen->count++;
}

static void
s_on_vm (void *arg, const vm_record_t *vm)
{
    s_seen_t *seen = arg;
    seen->vm = *vm;
    seen->count++;
}

static void
s_on_transition (void *arg, const transition_t *transition)
{
    s_seen_t *seen = arg;
    if (seen->count < 8)
        seen->transitions [seen->count] = *transition;
    seen->count++;
}

static mutation_t
s_host_put (const char *id, const char *name, uint64_t generation)
{
    mutation_t mutation = { .kind = MUTATION_HOST_PUT, .at = 1000 };
    host_record_t *host = &mutation.u.host;
    strcpy (host->id, id);
    strcpy (host->name, name);
    strcpy (host->boot_id, "b0000000-0000-0000-0000-000000000000");
    strcpy (host->hypervisor_uri, "qemu:///system");
    strcpy (host->agent_version, "0.1.0");
    host->state = HOST_STATE_UP;
    host->generation = generation;
    host->capacity.cpus = 16;
    host->capacity.memory_mib = 65536;
    strcpy (host->capacity.cpu_model, "Skylake-Server");
    strcpy (host->capacity.cpu_flags, "sse2 vmx avx2");
    host->capacity.nested = true;
    host->capacity.numa_count = 2;
    host->capacity.numa [0] = (wire_numa_t) { 0, 8, 32768 };
    host->capacity.numa [1] = (wire_numa_t) { 1, 8, 32768 };
    host->registered_at = 1000;
    host->state_since = 1000;
    return mutation;
}

static mutation_t
s_vm_put (const char *uuid, const char *name, domain_state_t state, bool existed,
          domain_state_t prev_state)
{
    mutation_t mutation = { .kind = MUTATION_VM_PUT, .at = 2000 };
    vm_record_t *vm = &mutation.u.vm_put.vm;
    strcpy (vm->uuid, uuid);
    strcpy (vm->name, name);
    strcpy (vm->host_id, s_host_a);
    vm->state = state;
    vm->vcpus = 2;
    vm->memory_kib = 2 * 1024 * 1024;
    vm->persistent = true;
    vm->updated_at = 2000;
    mutation.u.vm_put.existed = existed;
    mutation.u.vm_put.prev_state = prev_state;
    strcpy (mutation.u.vm_put.prev_host_id, s_host_a);
    return mutation;
}

static int
s_round_trip (const char *path)
{
    int failures = 0;
    char err [512];
    store_t *store = store_open (path, err, sizeof err);
    CHECK (store);
    if (!store)
        return failures;
    CHECK (store_epoch (store) == 0);

    mutation_t epoch = { .kind = MUTATION_EPOCH, .at = 1 };
    epoch.u.epoch = 7;
    mutation_t host = s_host_put (s_host_a, "h1", 3);
    mutation_t vm = s_vm_put (s_vm_a, "web-1", DOMAIN_RUNNING, false, DOMAIN_UNKNOWN);
    CHECK (store_apply (store, &epoch) == 0);
    CHECK (store_apply (store, &host) == 0);
    CHECK (store_apply (store, &vm) == 0);
    CHECK (store_pending (store) == 3);
    CHECK (store_commit (store) == 0);
    CHECK (store_pending (store) == 0);
    CHECK (store_commit (store) == 0);          // no batch: no-op
    store_destroy (&store);
    CHECK (store == NULL);

    //  Reopen: everything is there, field by field.
    store = store_open (path, err, sizeof err);
    CHECK (store);
    if (!store)
        return failures;
    CHECK (store_epoch (store) == 7);
    s_seen_t seen = { 0 };
    CHECK (store_load_hosts (store, s_on_host, &seen) == 0);
    CHECK (seen.count == 1);
    CHECK (memcmp (&seen.host, &host.u.host, sizeof seen.host) == 0);
    memset (&seen, 0, sizeof seen);
    CHECK (store_load_vms (store, s_on_vm, &seen) == 0);
    CHECK (seen.count == 1);
    CHECK (memcmp (&seen.vm, &vm.u.vm_put.vm, sizeof seen.vm) == 0);

    //  Each batch records the sequence number of its last mutation; a failed one does not.
    CHECK (store_mutation_seq (store) == 0);
    epoch.seq = 41;
    CHECK (store_apply (store, &epoch) == 0 && store_commit (store) == 0);
    CHECK (store_mutation_seq (store) == 41);
    epoch.seq = 42;
    store_fail_at (store, 2);
    CHECK (store_apply (store, &epoch) == 0 && store_commit (store) == -1);
    CHECK (store_mutation_seq (store) == 41);
    epoch.seq = 0;

    //  An older epoch never lowers the recorded one.
    epoch.u.epoch = 5;
    CHECK (store_apply (store, &epoch) == 0 && store_commit (store) == 0);
    CHECK (store_epoch (store) == 7);

    //  History: host state changes, vm state changes (repeats are not history), deletion.
    mutation_t down = { .kind = MUTATION_HOST_STATE, .at = 3000 };
    strcpy (down.u.host_state.host_id, s_host_a);
    down.u.host_state.from = HOST_STATE_UP;
    down.u.host_state.to = HOST_STATE_DOWN;
    strcpy (down.u.host_state.reason, "no heartbeat for 5012 ms");
    mutation_t same = s_vm_put (s_vm_a, "web-1", DOMAIN_RUNNING, true, DOMAIN_RUNNING);
    mutation_t paused = s_vm_put (s_vm_a, "web-1", DOMAIN_PAUSED, true, DOMAIN_RUNNING);
    mutation_t gone = { .kind = MUTATION_VM_DELETE, .at = 4000 };
    strcpy (gone.u.vm_delete.uuid, s_vm_a);
    strcpy (gone.u.vm_delete.host_id, s_host_a);        // the copy on host a
    strcpy (gone.u.vm_delete.reason, "undefined on h1");
    CHECK (store_apply (store, &down) == 0);
    CHECK (store_apply (store, &same) == 0);
    CHECK (store_apply (store, &paused) == 0);
    CHECK (store_apply (store, &gone) == 0);
    CHECK (store_commit (store) == 0);

    memset (&seen, 0, sizeof seen);
    CHECK (store_load_hosts (store, s_on_host, &seen) == 0);
    CHECK (seen.host.state == HOST_STATE_DOWN && seen.host.state_since == 3000);
    memset (&seen, 0, sizeof seen);
    CHECK (store_load_vms (store, s_on_vm, &seen) == 0);
    CHECK (seen.count == 0);

    memset (&seen, 0, sizeof seen);
    CHECK (store_load_transitions (store, s_host_a, 20, s_on_transition, &seen) == 0);
    CHECK (seen.count == 1);
    CHECK (s_streq (seen.transitions [0].from, "up"));
    CHECK (s_streq (seen.transitions [0].to, "down"));
    CHECK (s_streq (seen.transitions [0].detail, "no heartbeat for 5012 ms"));

    memset (&seen, 0, sizeof seen);
    CHECK (store_load_transitions (store, s_vm_a, 20, s_on_transition, &seen) == 0);
    CHECK (seen.count == 3);                    // new -> running, running -> paused, deleted
    CHECK (s_streq (seen.transitions [0].from, ""));
    CHECK (s_streq (seen.transitions [0].to, "running"));
    CHECK (s_streq (seen.transitions [1].to, "paused"));
    CHECK (s_streq (seen.transitions [2].to, "deleted"));
    CHECK (seen.transitions [0].id < seen.transitions [1].id);

    //  A limit keeps the newest rows, still oldest first.
    memset (&seen, 0, sizeof seen);
    CHECK (store_load_transitions (store, s_vm_a, 2, s_on_transition, &seen) == 0);
    CHECK (seen.count == 2);
    CHECK (s_streq (seen.transitions [0].to, "paused"));
    memset (&seen, 0, sizeof seen);
    CHECK (store_load_transitions (store, NULL, 100, s_on_transition, &seen) == 0);
    CHECK (seen.count == 4);
    store_destroy (&store);
    return failures;
}

//  A failing apply or commit rolls the whole batch back; the next batch works.
static int
s_faults (const char *path)
{
    int failures = 0;
    char err [512];
    store_t *store = store_open (path, err, sizeof err);
    CHECK (store);
    if (!store)
        return failures;
    mutation_t h1 = s_host_put (s_host_a, "h1", 1);
    mutation_t h2 = s_host_put ("22222222-2222-2222-2222-222222222222", "h2", 1);

    store_fail_at (store, 2);                   // the second apply fails
    CHECK (store_apply (store, &h1) == 0);
    CHECK (store_apply (store, &h2) == -1);
    CHECK (store_commit (store) == -1);
    s_seen_t seen = { 0 };
    CHECK (store_load_hosts (store, s_on_host, &seen) == 0);
    CHECK (seen.count == 0);

    store_fail_at (store, 3);                   // two applies pass, the commit fails
    CHECK (store_apply (store, &h1) == 0);
    CHECK (store_apply (store, &h2) == 0);
    CHECK (store_commit (store) == -1);
    memset (&seen, 0, sizeof seen);
    CHECK (store_load_hosts (store, s_on_host, &seen) == 0);
    CHECK (seen.count == 0);

    //  A constraint violation (same name, other id) fails the batch without the fault switch.
    mutation_t clash = s_host_put ("44444444-4444-4444-4444-444444444444", "h1", 1);
    CHECK (store_apply (store, &h1) == 0);
    CHECK (store_apply (store, &clash) == -1);
    CHECK (store_commit (store) == -1);

    CHECK (store_apply (store, &h1) == 0);
    CHECK (store_apply (store, &h2) == 0);
    CHECK (store_commit (store) == 0);
    memset (&seen, 0, sizeof seen);
    CHECK (store_load_hosts (store, s_on_host, &seen) == 0);
    CHECK (seen.count == 2);
    CHECK (s_streq (seen.host.name, "h2"));  // name order: h2 last
    store_destroy (&store);
    return failures;
}

//  Files that are not ours, or newer than we know, are refused and left untouched.
static int
s_refusals (const char *dir)
{
    int failures = 0;
    char path [512], err [512];
    sqlite3 *db;

    snprintf (path, sizeof path, "%s/other.db", dir);
    CHECK (sqlite3_open (path, &db) == SQLITE_OK);
    CHECK (sqlite3_exec (db, "CREATE TABLE t (x); INSERT INTO t VALUES (42);", 0, 0, 0)
           == SQLITE_OK);
    sqlite3_close (db);
    store_t *store = store_open (path, err, sizeof err);
    CHECK (store == NULL);
    CHECK (strstr (err, "another program") != NULL);

    snprintf (path, sizeof path, "%s/newer.db", dir);
    store = store_open (path, err, sizeof err);
    CHECK (store);
    store_destroy (&store);
    CHECK (sqlite3_open (path, &db) == SQLITE_OK);
    CHECK (sqlite3_exec (db, "PRAGMA user_version = 99", 0, 0, 0) == SQLITE_OK);
    sqlite3_close (db);
    store = store_open (path, err, sizeof err);
    CHECK (store == NULL);
    CHECK (strstr (err, "schema version 99") != NULL);

    snprintf (path, sizeof path, "%s/garbage.db", dir);
    FILE *file = fopen (path, "w");
    CHECK (file);
    if (file) {
        fputs ("this is not a database, just some text that is long enough to be read\n", file);
        fclose (file);
    }
    store = store_open (path, err, sizeof err);
    CHECK (store == NULL);
    CHECK (strlen (err) > 0);

    snprintf (path, sizeof path, "%s/missing-dir/x.db", dir);
    store = store_open (path, err, sizeof err);
    CHECK (store == NULL);
    CHECK (strstr (err, "missing-dir") != NULL);
    return failures;
}

static void
s_on_spec (void *arg, const spec_record_t *spec, const char *xml)
{
    (void) xml;
    spec_record_t *last = arg;
    *last = *spec;
}

static void
s_on_may_run (void *arg, const may_run_record_t *entry)
{
    may_run_record_t *last = arg;
    *last = *entry;
}

//  A database of schema 3 (one vm row per uuid, no placement, no may-run table) migrates to
//  4: its copy keeps its host, the managed VM is placed there, and a START that was running
//  becomes a host where the VM may run.
static int
s_migrates_from_v3 (const char *path)
{
    int failures = 0;
    char err [256];
    store_t *store = store_open (path, err, sizeof err);
    CHECK (store);
    store_destroy (&store);
    sqlite3 *db;
    CHECK (sqlite3_open (path, &db) == SQLITE_OK);
    const char *to_v3 =
        "DROP TABLE host_events; ALTER TABLE hosts DROP COLUMN witness_endpoint;"
        "ALTER TABLE hosts DROP COLUMN watchdog; ALTER TABLE hosts DROP COLUMN public_key;"
        "DROP TABLE may_run; ALTER TABLE specs DROP COLUMN host_id;"
        "ALTER TABLE operations DROP COLUMN host_generation;"
        "DROP TABLE vms; CREATE TABLE vms (uuid TEXT PRIMARY KEY, name TEXT NOT NULL,"
        " host_id TEXT NOT NULL, state INTEGER NOT NULL, vcpus INTEGER NOT NULL,"
        " memory_kib INTEGER NOT NULL, persistent INTEGER NOT NULL, updated_at INTEGER NOT NULL);"
        "INSERT INTO vms VALUES ('aaaaaaaa-0000-0000-0000-000000000001', 'web-1', 'host-a', 1,"
        " 2, 2097152, 1, 5);"
        "INSERT INTO specs (uuid, name, xml, want, ha, priority, vcpus, memory_mib, cpu_reserve,"
        " mem_reserve_mib, needs_nested, migratable, generation, reason, created_at, updated_at)"
        " VALUES ('aaaaaaaa-0000-0000-0000-000000000001', 'web-1', '<domain/>', 2, 0, 0, 2,"
        " 2048, 0, 0, 0, 1, 3, 'running', 1, 2),"
        " ('aaaaaaaa-0000-0000-0000-000000000002', 'db-1', '<domain/>', 2, 0, 0, 1, 512, 0, 0,"
        " 0, 1, 1, 'starting', 1, 2);"
        "INSERT INTO operations VALUES (9, 'aaaaaaaa-0000-0000-0000-000000000002', 'db-1',"
        " 'start', 'host-b', '', 'running', '', 1, 0);"
        "PRAGMA user_version = 3;";
    char *message = NULL;
    CHECK (sqlite3_exec (db, to_v3, 0, 0, &message) == SQLITE_OK);
    if (message)
        fprintf (stderr, "  %s\n", message);
    sqlite3_free (message);
    sqlite3_close (db);

    store = store_open (path, err, sizeof err);
    CHECK (store);
    if (!store)
        return failures + 1;
    s_seen_t seen = { 0 };
    CHECK (store_load_vms (store, s_on_vm, &seen) == 0);
    CHECK (seen.count == 1 && s_streq (seen.vm.host_id, "host-a") && seen.vm.vcpus == 2);
    spec_record_t spec = { .name = "" };
    CHECK (store_load_specs (store, s_on_spec, &spec) == 0);
    CHECK (s_streq (spec.name, "web-1") && s_streq (spec.host_id, "host-a"));
    may_run_record_t entry = { .op_id = 0 };
    CHECK (store_load_may_run (store, s_on_may_run, &entry) == 0);
    CHECK (entry.op_id == 9 && s_streq (entry.host_id, "host-b")
           && s_streq (entry.vm_uuid, "aaaaaaaa-0000-0000-0000-000000000002"));
    //  Two copies of one uuid are two rows now.
    mutation_t copy = s_vm_put (s_vm_a, "web-1", DOMAIN_RUNNING, false, DOMAIN_RUNNING);
    strcpy (copy.u.vm_put.vm.host_id, "host-b");
    CHECK (store_apply (store, &copy) == 0 && store_commit (store) == 0);
    memset (&seen, 0, sizeof seen);
    CHECK (store_load_vms (store, s_on_vm, &seen) == 0 && seen.count == 2);
    store_destroy (&store);
    return failures;
}

int
main (void)
{
    int failures = 0;
    log_init ("test_store", LOG_LEVEL_NONE);
    char dir [] = "/tmp/vmsched-test-store-XXXXXX";
    CHECK (mkdtemp (dir) != NULL);
    char path [512];
    snprintf (path, sizeof path, "%s/round-trip.db", dir);
    failures += s_round_trip (path);
    snprintf (path, sizeof path, "%s/faults.db", dir);
    failures += s_faults (path);
    failures += s_refusals (dir);
    snprintf (path, sizeof path, "%s/v3.db", dir);
    failures += s_migrates_from_v3 (path);
    char command [600];
    snprintf (command, sizeof command, "rm -rf '%s'", dir);
    CHECK (system (command) == 0);
    return check_report ("store", failures);
}
