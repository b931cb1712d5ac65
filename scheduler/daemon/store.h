/*  store.h - the scheduler's SQLite database: the only writer of persistent cluster state.

    Owns the sqlite3 connection (the only file including sqlite3.h is store.c). WAL mode,
    synchronous=FULL, schema migrations by PRAGMA user_version (a database written by a newer
    vmsched is refused, never downgraded). Every change arrives as a mutation_t through
    store_apply, which writes it inside the current batch (a transaction begun by the first
    apply); store_commit ends the batch. The scheduler commits once per loop iteration and
    sends acknowledgements only after a successful commit, so a SIGKILL at any moment loses no
    acknowledged write. Host state changes and VM state/placement changes are also appended to
    a transitions table (the history `clusterctl host show` prints).
*/
#ifndef VMSCHED_STORE_H
#define VMSCHED_STORE_H

#include "records.h"

#include <stddef.h>

typedef struct store store_t;

//  One row of the transitions table.
typedef struct {
    int64_t id;                         // row id, increasing
    int64_t at;                         // wall ms
    char entity [16];                   // "host" or "vm"
    char entity_id [WIRE_ID_SIZE];      // host id or vm uuid
    char from [32];                     // previous state ("" when new)
    char to [32];                       // new state ("deleted" for deletions)
    char detail [WIRE_TEXT_SIZE];       // reason or "host-a -> host-b"
} transition_t;

//  The stored placement decision of one VM (`vm why`).
typedef struct {
    int64_t at;                         // wall ms
    char host [WIRE_NAME_SIZE];         // chosen host, "" when none fit
    char summary [WIRE_TEXT_SIZE * 2];  // the decision in one line
    char *verdicts;                     // owned JSON array of {host, fits, score, reason}
} store_decision_t;

//  One row of the audit log.
typedef struct {
    int64_t id;                         // row id, increasing
    int64_t at;                         // wall ms
    audit_record_t record;              // who, verb, status, message
    char args [1024];                   // the request's arguments, abridged
} store_audit_t;

typedef void (store_host_fn) (void *arg, const host_record_t *host);
typedef void (store_principal_fn) (void *arg, const principal_record_t *principal);
typedef void (store_audit_fn) (void *arg, const store_audit_t *row);
typedef void (store_spec_fn) (void *arg, const spec_record_t *spec, const char *xml);
typedef void (store_rule_fn) (void *arg, const rule_record_t *rule);
typedef void (store_op_fn) (void *arg, const op_record_t *op);
typedef void (store_vm_fn) (void *arg, const vm_record_t *vm);
typedef void (store_transition_fn) (void *arg, const transition_t *transition);
typedef void (store_may_run_fn) (void *arg, const may_run_record_t *entry);

//  Open (creating if needed) and migrate the database at path. NULL with a reason in err
//  (cannot open, not a vmsched database, newer schema version, ...).
store_t *store_open (const char *path, char *err, size_t err_size);

//  Commit nothing further, close. NULL-safe; sets *self_p = NULL. An open batch is rolled back.
void store_destroy (store_t **self_p);

//  Write one mutation into the current batch (beginning it if needed). 0, or -1 after
//  logging the error; the batch then fails as a whole at store_commit.
int store_apply (store_t *self, const mutation_t *mutation);

//  Commit the current batch (no-op without one). 0, or -1 after logging: the whole batch is
//  rolled back and nothing of it is durable.
int store_commit (store_t *self);

//  Number of mutations in the current, uncommitted batch.
size_t store_pending (const store_t *self);

//  The sequence number of the last committed mutation (0 for a new database). Each batch
//  records its highest mutation_t.seq with its commit.
uint64_t store_mutation_seq (store_t *self);

//  The highest epoch recorded (0 for a new database).
uint64_t store_epoch (store_t *self);

//  Call fn for every host / every VM record, in name order. 0 or -1.
int store_load_hosts (store_t *self, store_host_fn *fn, void *arg);
int store_load_vms (store_t *self, store_vm_fn *fn, void *arg);

//  Call fn for the newest `limit` transitions of one entity (entity_id NULL: of all), oldest
//  first. 0 or -1.
int store_load_transitions (store_t *self, const char *entity_id, int limit,
                            store_transition_fn *fn, void *arg);

//  Call fn for every managed VM (with its XML) / every rule, in name order. 0 or -1.
int store_load_specs (store_t *self, store_spec_fn *fn, void *arg);
int store_load_rules (store_t *self, store_rule_fn *fn, void *arg);

//  Call fn for the newest `limit` operations of one VM, oldest first. 0 or -1.
int store_load_ops (store_t *self, const char *vm_uuid, int limit, store_op_fn *fn, void *arg);

//  Call fn for every host where a managed VM may run because of a command (DESIGN.md §5.9),
//  by VM and command. 0 or -1.
int store_load_may_run (store_t *self, store_may_run_fn *fn, void *arg);

//  Call fn for the newest `limit` timeline entries of every host, oldest first. 0 or -1.
typedef void (store_host_event_fn) (void *arg, const host_event_record_t *event);
int store_load_host_events (store_t *self, int limit, store_host_event_fn *fn, void *arg);

//  The highest operation id ever used (0 for none): command ids continue after it.
uint64_t store_max_op_id (store_t *self);

//  At start-up: operations still "running" belonged to the previous scheduler process;
//  mark them abandoned (outside any batch). 0 or -1.
int store_abandon_ops (store_t *self, int64_t wall);

//  The VM's stored decision: 1 (out filled; caller frees out->verdicts), 0 none, -1 error.
int store_load_decision (store_t *self, const char *vm_uuid, store_decision_t *out);

//  Call fn for every allowed key (hosts, then users, by name). 0 or -1.
int store_load_principals (store_t *self, store_principal_fn *fn, void *arg);

//  Call fn for the newest `limit` audit rows at or after wall ms since, oldest first. 0 or -1.
int store_load_audit (store_t *self, int64_t since, int limit, store_audit_fn *fn, void *arg);

//  Fault injection for tests: the nth store_apply or store_commit from now on fails
//  (1 = the next one); 0 disables.
void store_fail_at (store_t *self, int nth);

#endif
