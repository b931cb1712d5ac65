/*  reconcile.h - converging observed state on desired state: the scheduler's decisions.

    Pure: functions of (model, managed, config, now) that return commands for agents and
    mutations for the store; they never read a clock, a socket or the database. Each step:
    - watches the operation in flight of every managed VM (re-sends unanswered commands with
      the same id, gives up on dead hosts, restarted agents and overdue results);
    - stops VMs that should be stopped (and forgets deleted ones once they are off);
    - never starts a VM whose whereabouts became uncertain (it vanished from its host, or a
      start or migration just ended) before every up host has sent a full report since
      (and asks them for one at once): a migration's source may report the VM gone before
      its target reports it, and a start's result may overtake its lifecycle event;
    - starts VMs that should run and run nowhere, highest priority first, each on the host
      the placement engine picks, at most start_concurrency starts in flight per host; a VM
      whose host is suspect or down is left alone (never start a second copy: HA restarts
      come with fencing), a VM that fits nowhere keeps the engine's reason;
    - empties hosts in maintenance by live migration, migrate_concurrency at a time; a VM
      whose migration fails is tried again after retry_ms, twice as long after each further
      failure (at most retry_max_ms), and after migrate_attempts failures in a row it is given
      up on ("blocks maintenance of host 'h': gave up after N failed migrations: WHY; ...")
      until it leaves the host or the host leaves maintenance (or the scheduler restarts).
    Every command carries (leader epoch, host generation, VM generation), so agents can
    refuse stale ones.
*/
#ifndef VMSCHED_RECONCILE_H
#define VMSCHED_RECONCILE_H

#include "managed.h"
#include "model.h"
#include "place.h"

typedef struct {
    place_policy_t policy;          // placement strategy and overcommit
    uint64_t epoch;                 // leader epoch stamped on commands
    uint32_t start_concurrency;     // starts in flight per host
    uint32_t migrate_concurrency;   // maintenance migrations in flight per source host
    int64_t resend_ms;              // re-send an unacknowledged command after this long
    int max_sends;                  // ... this many times, then the operation fails
    int64_t retry_ms;               // wait after a failed start or migration before trying
                                    // again (doubled after each further failed migration)
    int64_t retry_max_ms;           // ... but never longer than this
    int migrate_attempts;           // maintenance gives up on a VM after this many failed
                                    // migrations in a row
    uint32_t migration_timeout_ms;  // default migration timeout (agents abort after it)
    uint32_t stop_graceful_ms;      // ACPI shutdown grace before a stop destroys
    int64_t op_deadline_ms;         // a start or stop without a result this long fails
    uint32_t max_restart;           // HA vms: failed starts on one host before relocating
    uint32_t max_relocate;          // HA vms: hosts tried after the first, then error
} reconcile_config_t;

//  One command to send: to the agent of host_id (routing is the scheduler's business).
typedef struct {
    char host_id [WIRE_ID_SIZE];    // destination host
    bool report_request;            // ask for a full report instead of sending a command
    uint64_t token;                 // report_request: the token its reports will echo
    wire_command_t command;         // domain_xml borrowed from the spec (valid until the
                                    // next change of the managed state)
} outbound_t;

//  Commands decided in one step: a vec_t of outbound_t (VEC_OF (outbound_t)).
typedef vec_t outbox_t;

//  Defaults for the configuration (epoch 0: set it).
void reconcile_config_defaults (reconcile_config_t *config);


//  One reconciliation pass at boot ms now and wall ms wall.
void reconcile_step (model_t *model, managed_t *managed, const reconcile_config_t *config,
                     int64_t now, int64_t wall, outbox_t *outbox, mutations_t *out);

//  A command result from the agent of host.
void reconcile_result (model_t *model, managed_t *managed, const reconcile_config_t *config,
                       const host_t *host, const wire_command_result_t *result, int64_t now,
                       int64_t wall, outbox_t *outbox, mutations_t *out);

//  Operator: live-migrate spec to target (NULL: the engine picks). Refuses (returns -1 with
//  the reason in err) a VM that is not running on an up host, cannot migrate (declared so,
//  nested virtualization, host devices), has an operation in flight, or fits on no other host
//  (or not on target, with that host's verdict). timeout_ms 0: the configured default.
int reconcile_migrate (model_t *model, managed_t *managed, const reconcile_config_t *config,
                       spec_t *spec, host_t *target, uint32_t timeout_ms, int64_t now,
                       int64_t wall, outbox_t *outbox, mutations_t *out, char *err,
                       size_t err_size);

//  Operator: abort spec's running migration (sends ABORT to the source). 0 or -1 with err.
int reconcile_abort (model_t *model, managed_t *managed, const reconcile_config_t *config,
                     spec_t *spec, outbox_t *outbox, char *err, size_t err_size);

//  At start-up: a may-run entry loaded from the store (DESIGN.md §5.9). Its command is taken
//  as sent at now, unanswered. 0, or -1 when the VM is unknown or has too many.
int reconcile_load_may_run (managed_t *managed, const may_run_record_t *record, int64_t now);

//  host was declared dead (ha.h): no copy of an HA VM runs there any more. Its HA VMs'
//  may-run entries on it and their observed copies there are forgotten (the only way a
//  silent host leaves a may-run set besides a report, DESIGN.md §5.9), so the VMs start
//  elsewhere; each records the failover on host's timeline. Other VMs wait for the host.
void reconcile_host_dead (model_t *model, managed_t *managed, const host_t *host,
                          int64_t wall, mutations_t *out);

//  Change a spec's persistent record (generation + 1, updated_at) and record the mutation;
//  with_xml also stores the XML. Used by every writer of specs.
void reconcile_put_spec (spec_t *spec, bool with_xml, int64_t wall, mutations_t *out);

#endif
