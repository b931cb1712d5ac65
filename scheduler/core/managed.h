/*  managed.h - the desired state: cluster-managed VMs, their operations, and rules.

    What the operator asked for, as opposed to the model (what agents observe). Owns every
    managed VM (its spec record, its prepared domain XML, the operation in flight and retry
    bookkeeping) and every placement rule. Pure data: no clock, no I/O; changes to persistent
    parts are written by the callers as mutations (reconcile.c, ctl.c).
*/
#ifndef VMSCHED_MANAGED_H
#define VMSCHED_MANAGED_H

#include "records.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

//  The command in flight for a VM (at most one), with what the agent said about it.
typedef struct {
    op_record_t record;             // persistent part (id 0: nothing in flight)
    uint64_t host_generation;       // registration the command was sent to
    uint64_t vm_generation;         // the VM's generation when it began (every send)
    uint32_t timeout_ms;            // MIGRATE: the agent aborts after this long
    int64_t started;                // boot ms
    int64_t last_sent;              // boot ms of the last (re)send
    int sends;                      // how often it was sent
    bool accepted;                  // the agent acknowledged it
    uint64_t data_total;            // MIGRATE progress: bytes in all
    uint64_t data_processed;        // bytes transferred
    uint64_t data_remaining;        // bytes still to go
    uint32_t elapsed_ms;            // as the agent last reported
} vm_op_t;

//  A host where a copy may run because a command went there (DESIGN.md §5.9), and what is
//  known of that command. It leaves the set only by proof: once the command is settled
//  (its host answered it, or it can no longer be executing: op_deadline_ms passed since it
//  last left), a full report of that host listed after a REPORT_REQUEST sent since (it
//  echoes that request's token) clears it; a copy the
//  report lists is then an observed copy instead.
typedef struct {
    may_run_record_t record;        // persistent part
    int64_t last_sent;              // boot ms the command last left (or this scheduler began)
    bool answered;                  // the command's host sent its final result
    uint64_t proof_token;           // 0 until settled; then a full report of the host that
                                    // echoes this REPORT_REQUEST token (or a later one)
                                    // clears it: that list is younger than the settling
    int64_t asked;                  // boot ms the report with proof_token was last asked
} may_run_t;

#define SPEC_MAY_RUN_MAX 8          // commands that may have left copies, per VM
#define SPEC_GIVEN_UP_MAX 8         // hosts a failing HA vm's restarts gave up on, kept

typedef struct {
    spec_record_t record;           // persistent part
    char *xml;                      // owned prepared domain XML; carries the HA marker
                                    // (xmlns.h) exactly when record.ha (managed_add_spec,
                                    // managed_spec_set_ha)
    vm_op_t op;                     // command in flight
    int64_t retry_after;            // boot ms: no new start or migration before (after a
                                    // failure, or a start no report confirmed)
    bool start_unconfirmed;         // a start succeeded and no report has shown the copy
                                    // yet: retry_after holds back another start until one
                                    // does (then a crash of the copy restarts it at once)
    int migrate_failures;           // failed migrations in a row (maintenance gives up at
                                    // migrate_attempts; 0 once it runs on a schedulable host)
    char last_host_id [WIRE_ID_SIZE];   // host it was last observed running on ("" none)
    char stale_copy_on [WIRE_ID_SIZE];  // a host whose observed copy is known gone (stopped
                                    // there, or migrated away) but not yet reported ("")
    uint64_t stale_copy_serial;     // ... that copy counts again only from this report on
    may_run_t may_run [SPEC_MAY_RUN_MAX];   // hosts where a command may have left a copy
    uint32_t may_run_count;         // used entries of may_run
    //  Restart policy (HA VMs): ha.max_restart starts on one host, then ha.max_relocate
    //  other hosts, then the error state.
    char failed_on [WIRE_ID_SIZE];  // host of the last failed start ("" none)
    uint32_t failed_here;           // failed starts in a row there
    uint32_t relocations;           // hosts given up on in a row
    char given_up [SPEC_GIVEN_UP_MAX][WIRE_ID_SIZE];    // ... which (the newest ones)
    bool gave_up;                   // error state: no more starts until `vm start`
    char failover_from [WIRE_ID_SIZE];  // restarted because this host died (timeline; "")
} spec_t;

typedef struct managed managed_t;

managed_t *managed_new (void);
void managed_destroy (managed_t **self_p);

//  Add a managed VM (copies record, and xml with the HA marker as record->ha says:
//  domxml_mark_ha, so every START carries it, also for XML an older scheduler stored without
//  it). Returns it, or NULL (out of memory, the name or uuid is taken, or the XML of an HA
//  VM cannot be read; logged). An unreadable XML of a VM that is not HA is kept as it is.
spec_t *managed_add_spec (managed_t *self, const spec_record_t *record, const char *xml);

//  The only way to change a spec's ha flag: sets record.ha and its XML's marker to match.
//  0, or -1 (logged) leaving the spec as it was. The caller stores the spec (with its XML).
int managed_spec_set_ha (spec_t *spec, bool ha);

//  Remove and free a managed VM.
void managed_remove_spec (managed_t *self, spec_t *spec);

//  Lookup (borrowed, valid until the next add/remove) and iteration in name order.
spec_t *managed_spec_by_name (managed_t *self, const char *name);
spec_t *managed_spec_by_uuid (managed_t *self, const char *uuid);
spec_t *managed_spec_by_op (managed_t *self, uint64_t op_id);
//  The spec one of whose may-run entries was made by command op_id, or NULL.
spec_t *managed_spec_by_may_run_op (managed_t *self, uint64_t op_id);
size_t managed_spec_count (const managed_t *self);
spec_t *managed_spec_at (managed_t *self, size_t index);

//  Rules, in name order. managed_add_rule copies; NULL when the name is taken.
rule_record_t *managed_add_rule (managed_t *self, const rule_record_t *rule);
void managed_remove_rule (managed_t *self, const char *name);
rule_record_t *managed_rule_by_name (managed_t *self, const char *name);
size_t managed_rule_count (const managed_t *self);
const rule_record_t *managed_rule_at (const managed_t *self, size_t index);

//  Operation ids: continue after the highest stored one; each call returns a new id.
void managed_set_op_base (managed_t *self, uint64_t highest_used);
uint64_t managed_next_op_id (managed_t *self);
//  REPORT_REQUEST tokens: increasing within a leader epoch and across epochs.
uint64_t managed_next_token (managed_t *self, uint64_t epoch);

#endif
