/*  reconcile.c - converging observed state on desired state (see reconcile.h).

    Owns nothing between calls: the desired state (managed.h) holds operations in flight,
    the model holds what agents observe. Placement goes through a view (view.h) built at most
    once per call, and only when something needs placing.
*/
#include "reconcile.h"
#include "ha.h"
#include "log.h"
#include "view.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_RESULT_ASK_FACTOR 5   // an accepted command without a result is sent again after
                                // this many resend intervals

void
reconcile_config_defaults (reconcile_config_t *config)
{
    *config = (reconcile_config_t) {
        .policy = place_policy_default (), .start_concurrency = 4, .migrate_concurrency = 2,
        .resend_ms = 2000, .max_sends = 5, .retry_ms = 10000, .retry_max_ms = 300000,
        .migrate_attempts = 3,
        .migration_timeout_ms = 120000, .stop_graceful_ms = 0, .op_deadline_ms = 120000,
        .max_restart = 1, .max_relocate = 2,
    };
}

static outbound_t *
s_outbox_add (outbox_t *outbox)
{
    outbound_t blank;
    memset (&blank, 0, sizeof blank);
    outbound_t *item = vec_push (outbox, &blank);
    if (!item)
        log_error ("cannot queue a command: out of memory");
    return item;
}

//  --------------------------------------------------------------------------
//  Records

//  Stores the spec as it is (reason or policy changed; no new generation).
static void
s_store_spec (spec_t *spec, bool with_xml, int64_t wall, mutations_t *out)
{
    spec->record.updated_at = wall;
    mutation_t put = { .kind = MUTATION_SPEC_PUT, .at = wall };
    put.u.spec = spec->record;
    put.blob = with_xml? strdup (spec->xml): NULL;
    mutations_push (out, &put);
}

void
reconcile_put_spec (spec_t *spec, bool with_xml, int64_t wall, mutations_t *out)
{
    spec->record.generation++;
    s_store_spec (spec, with_xml, wall, out);
}

//  Sets the VM's reason (stored only when it changed).
static void
s_reason (spec_t *spec, int64_t wall, mutations_t *out, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));

static void
s_reason (spec_t *spec, int64_t wall, mutations_t *out, const char *fmt, ...)
{
    char reason [sizeof spec->record.reason];
    va_list args;
    va_start (args, fmt);
    vsnprintf (reason, sizeof reason, fmt, args);
    va_end (args);
    if (strcmp (reason, spec->record.reason) == 0)
        return;
    memcpy (spec->record.reason, reason, sizeof reason);
    s_store_spec (spec, false, wall, out);
}

static void
s_push_decision (const spec_t *spec, const char *host, const char *summary, char *verdicts,
                 int64_t wall, mutations_t *out)
{
    mutation_t decision = { .kind = MUTATION_DECISION, .at = wall, .blob = verdicts };
    snprintf (decision.u.decision.vm_uuid, sizeof decision.u.decision.vm_uuid, "%s",
              spec->record.uuid);
    snprintf (decision.u.decision.host, sizeof decision.u.decision.host, "%s", host);
    snprintf (decision.u.decision.summary, sizeof decision.u.decision.summary, "%s", summary);
    mutations_push (out, &decision);
}

static void
s_push_op (const spec_t *spec, int64_t wall, mutations_t *out)
{
    mutation_t put = { .kind = MUTATION_OP_PUT, .at = wall };
    put.u.op = spec->op.record;
    mutations_push (out, &put);
}

//  --------------------------------------------------------------------------
//  Operations

static const char *
s_host_name (model_t *model, const char *host_id)
{
    host_t *host = model_host_by_id (model, host_id);
    return host? host->record.name: host_id;
}

//  (Re)sends the spec's operation to its host.
static void
s_send (model_t *model, spec_t *spec, const reconcile_config_t *config, int64_t now,
        outbox_t *outbox)
{
    vm_op_t *op = &spec->op;
    outbound_t *item = s_outbox_add (outbox);
    if (!item)
        return;
    snprintf (item->host_id, sizeof item->host_id, "%s", op->record.host_id);
    wire_command_t *command = &item->command;
    command->id = op->record.id;
    command->leader_epoch = config->epoch;
    command->host_generation = op->host_generation;
    command->vm_generation = op->vm_generation;
    snprintf (command->vm_uuid, sizeof command->vm_uuid, "%s", spec->record.uuid);
    snprintf (command->vm_name, sizeof command->vm_name, "%s", spec->record.name);
    command->action = op->record.action;
    command->ha = spec->record.ha;
    if (command->action == COMMAND_START)
        command->domain_xml = spec->xml;
    if (command->action == COMMAND_MIGRATE) {
        host_t *target = model_host_by_id (model, op->record.target_host_id);
        snprintf (command->target_uri, sizeof command->target_uri, "%s",
                  target? target->record.migration_uri: "");
        snprintf (command->target_host, sizeof command->target_host, "%s",
                  s_host_name (model, op->record.target_host_id));
        command->timeout_ms = op->timeout_ms;
    }
    if (command->action == COMMAND_STOP)
        command->graceful_ms = config->stop_graceful_ms;
    op->last_sent = now;
    op->sends++;
    for (uint32_t i = 0; i < spec->may_run_count; i++)
        if (spec->may_run [i].record.op_id == op->record.id)
            spec->may_run [i].last_sent = now;
}

//  --------------------------------------------------------------------------
//  Where a VM may run (DESIGN.md §5.9)

//  Records that a copy may run on host because command op_id goes there. -1 (nothing
//  recorded, logged) when the VM already has SPEC_MAY_RUN_MAX unproven commands.
static int
s_may_run_add (spec_t *spec, const host_t *host, uint64_t op_id, int64_t now, int64_t wall,
               mutations_t *out)
{
    if (spec->may_run_count == SPEC_MAY_RUN_MAX) {
        log_warn ("vm '%s': not sending another command: %d earlier ones are not proven "
                  "finished yet", spec->record.name, SPEC_MAY_RUN_MAX);
        return -1;
    }
    may_run_t *entry = &spec->may_run [spec->may_run_count++];
    memset (entry, 0, sizeof *entry);
    memcpy (entry->record.vm_uuid, spec->record.uuid, sizeof entry->record.vm_uuid);
    snprintf (entry->record.host_id, sizeof entry->record.host_id, "%s", host->record.id);
    entry->record.op_id = op_id;
    entry->record.host_generation = host->record.generation;
    entry->last_sent = now;
    mutation_t put = { .kind = MUTATION_MAY_RUN_PUT, .at = wall };
    put.u.may_run = entry->record;
    mutations_push (out, &put);
    return 0;
}

//  A report proved entry index absent: forget it.
static void
s_may_run_remove (model_t *model, spec_t *spec, uint32_t index, const char *why, int64_t wall,
                  mutations_t *out)
{
    may_run_t *entry = &spec->may_run [index];
    log_info ("vm '%s': where command %" PRIu64 " to host '%s' left it is known: %s",
              spec->record.name, entry->record.op_id,
              s_host_name (model, entry->record.host_id), why);
    mutation_t gone = { .kind = MUTATION_MAY_RUN_DELETE, .at = wall };
    gone.u.may_run = entry->record;
    mutations_push (out, &gone);
    //  Kept in command order, as the store loads them.
    memmove (&spec->may_run [index], &spec->may_run [index + 1],
             (spec->may_run_count - index - 1) * sizeof spec->may_run [0]);
    spec->may_run_count--;
}

//  The outbox's report request to host (several VMs may wait on one), or NULL.
static outbound_t *
s_report_request_to (outbox_t *outbox, const host_t *host)
{
    for (size_t i = 0; i < outbox->count; i++) {
        outbound_t *item = vec_at (outbox, i);
        if (item->report_request && strcmp (item->host_id, host->record.id) == 0)
            return item;
    }
    return NULL;
}

//  Asks host for a full report, once per step; its reports will echo token (or a later
//  one: one request carries the highest token asked for in the step).
static void
s_request_report (const host_t *host, uint64_t token, outbox_t *outbox)
{
    if (!outbox || host->record.state != HOST_STATE_UP)
        return;
    outbound_t *item = s_report_request_to (outbox, host);
    if (!item && (item = s_outbox_add (outbox))) {
        snprintf (item->host_id, sizeof item->host_id, "%s", host->record.id);
        item->report_request = true;
    }
    if (item && token > item->token)
        item->token = token;
}

#define S_PROOF_ASK_MS 1000     // a proof report is asked for again this often

//  Settles and clears the spec's may-run entries that reports have proved absent. A
//  report proves only what it lists after the command settled: it must echo the token of
//  a REPORT_REQUEST sent after that (an older report may still be on its way, from a host
//  whose link is slower than the one that brought the answer).
static void
s_may_run_update (model_t *model, managed_t *managed, spec_t *spec,
                  const reconcile_config_t *config, int64_t now, int64_t wall,
                  outbox_t *outbox, mutations_t *out)
{
    for (uint32_t i = spec->may_run_count; i-- > 0; ) {
        may_run_t *entry = &spec->may_run [i];
        host_t *host = model_host_by_id (model, entry->record.host_id);
        if (!host) {
            s_may_run_remove (model, spec, i, "the host was removed from the cluster", wall,
                              out);
            continue;
        }
        bool in_flight = spec->op.record.id == entry->record.op_id;
        int64_t deadline = config->op_deadline_ms + config->migration_timeout_ms;
        if (!entry->proof_token
        &&  (entry->answered || (!in_flight && now - entry->last_sent >= deadline))) {
            //  From here on, a list the host makes tells the truth about this command.
            entry->proof_token = managed_next_token (managed, config->epoch);
            entry->asked = 0;
        }
        if (entry->proof_token && host->live.reported
        &&  host->live.report_token >= entry->proof_token) {
            vm_t *copy = model_vm_copy (model, spec->record.uuid, host->record.id);
            s_may_run_remove (model, spec, i, copy && model_vm_active (copy)?
                              "its report lists the copy": "its report does not list it",
                              wall, out);
            continue;
        }
        if (entry->proof_token && now - entry->asked >= S_PROOF_ASK_MS) {
            entry->asked = now;
            s_request_report (host, entry->proof_token, outbox);
        }
    }
}

//  The command op_id has its final answer: the entries it made settle (s_may_run_update
//  then asks their host for the report that proves whether a copy is there).
static void
s_may_run_answered (spec_t *spec, uint64_t op_id)
{
    for (uint32_t i = 0; i < spec->may_run_count; i++)
        if (spec->may_run [i].record.op_id == op_id)
            spec->may_run [i].answered = true;
}

//  The host of spec's may-run entries when they all name one host that is up and has
//  reported, and none of their commands was answered (an answered one waits for the report
//  that proves where the copy is): a start may be repeated there, which cannot make a
//  second copy. Else NULL.
static host_t *
s_may_run_single_host (model_t *model, const spec_t *spec)
{
    host_t *host = NULL;
    for (uint32_t i = 0; i < spec->may_run_count; i++) {
        host_t *entry_host = model_host_by_id (model, spec->may_run [i].record.host_id);
        if (!entry_host || (host && entry_host != host) || spec->may_run [i].answered)
            return NULL;
        host = entry_host;
    }
    return host && host->record.state == HOST_STATE_UP && host->live.reported? host: NULL;
}

//  Starts an operation (new id, new VM generation) and sends its command. A START's host
//  and a migration's target join the VM's may-run set first; false (nothing sent) when
//  that set is full.
static bool
s_begin (model_t *model, managed_t *managed, spec_t *spec, command_action_t action,
         const host_t *host, const host_t *target, uint32_t timeout_ms,
         const reconcile_config_t *config, int64_t now, int64_t wall, outbox_t *outbox,
         mutations_t *out)
{
    const host_t *lands = action == COMMAND_START? host
                        : action == COMMAND_MIGRATE? target: NULL;
    uint64_t id = managed_next_op_id (managed);
    if (lands && s_may_run_add (spec, lands, id, now, wall, out))
        return false;
    vm_op_t *op = &spec->op;
    memset (op, 0, sizeof *op);
    op_record_t *record = &op->record;
    record->id = id;
    snprintf (record->vm_uuid, sizeof record->vm_uuid, "%s", spec->record.uuid);
    snprintf (record->vm_name, sizeof record->vm_name, "%s", spec->record.name);
    record->action = action;
    snprintf (record->host_id, sizeof record->host_id, "%s", host->record.id);
    if (target)
        snprintf (record->target_host_id, sizeof record->target_host_id, "%s",
                  target->record.id);
    snprintf (record->state, sizeof record->state, "running");
    record->started_at = wall;
    record->host_generation = host->record.generation;
    op->host_generation = host->record.generation;
    op->timeout_ms = timeout_ms;
    op->started = now;
    log_info ("vm '%s': %s on host '%s'%s%s%s (command %" PRIu64 ")", spec->record.name,
              command_action_name (action), host->record.name, target? " to host '": "",
              target? target->record.name: "", target? "'": "", record->id);
    reconcile_put_spec (spec, false, wall, out);
    op->vm_generation = spec->record.generation;    // re-sends carry the same one
    s_push_op (spec, wall, out);
    s_send (model, spec, config, now, outbox);
    return true;
}

//  Ends the spec's operation with state ("done", "failed") and message.
static void
s_finish (spec_t *spec, const char *state, const char *message, int64_t wall, mutations_t *out)
{
    op_record_t *record = &spec->op.record;
    snprintf (record->state, sizeof record->state, "%s", state);
    snprintf (record->message, sizeof record->message, "%s", message);
    record->finished_at = wall;
    s_push_op (spec, wall, out);
    memset (&spec->op, 0, sizeof spec->op);
}

//  True when the restart policy of spec gave up on host_id (since it last ran).
static bool
s_given_up (const spec_t *spec, const char *host_id)
{
    uint32_t count = spec->relocations < SPEC_GIVEN_UP_MAX? spec->relocations
                                                          : SPEC_GIVEN_UP_MAX;
    for (uint32_t i = 0; i < count; i++)
        if (strcmp (spec->given_up [i], host_id) == 0)
            return true;
    return false;
}

//  The restart policy of an HA VM whose start on host_id failed: again there up to
//  max_restart times, then on other hosts (the failed one excluded) up to max_relocate
//  times, then the error state with the reason (`vm why`).
static void
s_start_failed (model_t *model, spec_t *spec, const char *host_id, const char *why,
                const reconcile_config_t *config, int64_t now, int64_t wall, mutations_t *out)
{
    const char *name = s_host_name (model, host_id);
    if (strcmp (spec->failed_on, host_id) != 0) {
        if (spec->failed_on [0]) {
            snprintf (spec->given_up [spec->relocations % SPEC_GIVEN_UP_MAX], WIRE_ID_SIZE,
                      "%s", spec->failed_on);
            spec->relocations++;
        }
        snprintf (spec->failed_on, sizeof spec->failed_on, "%s", host_id);
        spec->failed_here = 0;
    }
    spec->failed_here++;
    if (spec->failover_from [0])
        ha_event (spec->failover_from, "start-failed", wall, out, "vm '%s' failed to start "
                  "on host '%s': %s", spec->record.name, name, why);
    spec->retry_after = now + config->retry_ms;
    if (spec->relocations >= config->max_relocate && spec->failed_here > config->max_restart) {
        spec->gave_up = true;
        log_error ("vm '%s': gave up starting it: %s", spec->record.name, why);
        s_reason (spec, wall, out, "error: gave up after failed starts on %" PRIu32 " hosts "
                  "(ha.max_restart %" PRIu32 ", ha.max_relocate %" PRIu32 "); last on host "
                  "'%s': %s; fix it and run 'clusterctl vm start %s'", spec->relocations + 1,
                  config->max_restart, config->max_relocate, name, why, spec->record.name);
        return;
    }
    bool relocate = spec->failed_here > config->max_restart;
    s_reason (spec, wall, out, "start on host '%s' failed: %s; trying again %s in %" PRId64
              " s (restart %" PRIu32 " of %" PRIu32 ", relocation %" PRIu32 " of %" PRIu32 ")",
              name, why, relocate? "on another host": "there", config->retry_ms / 1000,
              spec->failed_here, config->max_restart, spec->relocations,
              config->max_relocate);
}

//  Failure of the operation in flight: finish it, explain, maybe retry later.
static void
s_fail_op (model_t *model, spec_t *spec, const char *why, const reconcile_config_t *config,
           int64_t now, int64_t wall, outbox_t *outbox, mutations_t *out)
{
    const op_record_t *op = &spec->op.record;
    char host [WIRE_NAME_SIZE], target [WIRE_NAME_SIZE];
    snprintf (host, sizeof host, "%s", s_host_name (model, op->host_id));
    snprintf (target, sizeof target, "%s", s_host_name (model, op->target_host_id));
    const host_t *source = model_host_by_id (model, op->host_id);
    bool maintenance = source && source->record.maintenance;
    command_action_t action = op->action;
    char op_host_id [WIRE_ID_SIZE];
    snprintf (op_host_id, sizeof op_host_id, "%s", op->host_id);
    log_warn ("vm '%s': %s on host '%s' failed: %s", spec->record.name,
              command_action_name (action), host, why);
    s_finish (spec, "failed", why, wall, out);
    (void) outbox;                                  // the may-run set keeps its target
    spec->retry_after = now + config->retry_ms;     // no immediate new attempt of anything
    if (action == COMMAND_MIGRATE) {
        //  Each failure in a row doubles the wait before the next attempt.
        int failures = ++spec->migrate_failures;
        int64_t delay = config->retry_ms;
        for (int i = 1; i < failures && delay < config->retry_max_ms; i++)
            delay *= 2;
        if (delay > config->retry_max_ms)
            delay = config->retry_max_ms;
        spec->retry_after = now + delay;
        if (maintenance && failures >= config->migrate_attempts) {
            log_warn ("vm '%s': maintenance of host '%s' gives up on it after %d failed "
                      "migrations", spec->record.name, host, failures);
            s_reason (spec, wall, out, "blocks maintenance of host '%s': gave up after %d failed "
                      "migrations: %s; migrate or stop it, or exit and enter maintenance to "
                      "retry", host, failures, why);
        }
        else
        if (maintenance)
            s_reason (spec, wall, out, "migration from host '%s' to host '%s' failed: %s; the vm "
                      "stays on host '%s' (attempt %d of %d, next in %" PRId64 " s)", host,
                      target, why, host, failures, config->migrate_attempts, delay / 1000);
        else
            s_reason (spec, wall, out, "migration from host '%s' to host '%s' failed: %s; the vm "
                      "stays on host '%s'", host, target, why, host);
    }
    else
    if (action == COMMAND_START && spec->record.ha)
        s_start_failed (model, spec, op_host_id, why, config, now, wall, out);
    else
    if (action == COMMAND_START) {
        spec->retry_after = now + config->retry_ms;
        s_reason (spec, wall, out, "start on host '%s' failed: %s; trying again in %" PRId64
                  " s", host, why, config->retry_ms / 1000);
    }
    else
        s_reason (spec, wall, out, "%s on host '%s' failed: %s", command_action_name (action),
                  host, why);
}

//  Re-sends, times out or fails the operation in flight.
static void
s_watch (model_t *model, spec_t *spec, const reconcile_config_t *config, int64_t now,
         int64_t wall, outbox_t *outbox, mutations_t *out)
{
    vm_op_t *op = &spec->op;
    host_t *host = model_host_by_id (model, op->record.host_id);
    char why [WIRE_TEXT_SIZE];
    int64_t deadline = config->op_deadline_ms
                     + (op->record.action == COMMAND_MIGRATE? op->timeout_ms: 0)
                     + (op->record.action == COMMAND_STOP? config->stop_graceful_ms: 0);
    if (!host || HOST_STATE_GONE (host->record.state))
        snprintf (why, sizeof why, "host went down");
    else
    if (host->record.generation != op->host_generation)
        snprintf (why, sizeof why, "the agent registered again (generation %" PRIu64
                  "); the command was lost", host->record.generation);
    else
    if (!op->accepted && now - op->last_sent >= config->resend_ms
    &&  op->sends >= config->max_sends)
        snprintf (why, sizeof why, "no answer from the agent after %d sends", op->sends);
    else
    if (now - op->started > deadline)
        snprintf (why, sizeof why, "no result within %" PRId64 " s", deadline / 1000);
    else {
        if (!op->accepted && now - op->last_sent >= config->resend_ms) {
            log_info ("vm '%s': no answer to command %" PRIu64 " yet; sending it again",
                      spec->record.name, op->record.id);
            s_send (model, spec, config, now, outbox);
        }
        else
        if (op->accepted && now - op->last_sent >= S_RESULT_ASK_FACTOR * config->resend_ms) {
            //  A result can be lost (a reconnect drops it, a late older message overtakes
            //  it): the agent answers a repeat with where the command stands.
            log_info ("vm '%s': no result of command %" PRIu64 " yet; asking again",
                      spec->record.name, op->record.id);
            s_send (model, spec, config, now, outbox);
        }
        return;
    }
    s_fail_op (model, spec, why, config, now, wall, outbox, out);
}

//  --------------------------------------------------------------------------
//  The step

//  What the step shares between its phases: a view and a verdict buffer, built on demand.
typedef struct {
    model_t *model;                 // borrowed
    managed_t *managed;             // borrowed
    const reconcile_config_t *config;   // borrowed
    view_t *view;                   // NULL until needed
    place_verdict_t *verdicts;      // one per host
    uint32_t *starting;             // starts in flight per host (view index), kept current
} s_step_t;

#define S_COPIES_MAX 16     // copies of one VM looked at per step

//  The host of the copy the database places (active, any host state), or NULL.
static host_t *
s_observed_on (model_t *model, const spec_t *spec)
{
    vm_t *vm = model_vm_placed (model, spec->record.uuid, spec->record.host_id);
    return vm && model_vm_active (vm)? model_host_by_id (model, vm->record.host_id): NULL;
}

//  Changes where the database places spec (a new generation).
static void
s_place_at (spec_t *spec, const char *host_id, int64_t wall, mutations_t *out)
{
    if (strcmp (spec->record.host_id, host_id) == 0)
        return;
    snprintf (spec->record.host_id, sizeof spec->record.host_id, "%s", host_id);
    reconcile_put_spec (spec, false, wall, out);
}

//  Stops one active copy that the database does not place, where its host can be reached.
//  True when a copy was found besides the placed one (stopped now or waiting).
static bool
s_stop_extra_copy (s_step_t *step, spec_t *spec, const host_t *placed, int64_t now,
                   int64_t wall, outbox_t *outbox, mutations_t *out)
{
    vm_t *copies [S_COPIES_MAX];
    size_t count = model_vm_copies (step->model, spec->record.uuid, copies, S_COPIES_MAX);
    count = count < S_COPIES_MAX? count: S_COPIES_MAX;
    for (size_t i = 0; i < count; i++) {
        host_t *host = model_host_by_id (step->model, copies [i]->record.host_id);
        if (!host || host == placed || !model_vm_active (copies [i]))
            continue;
        if (strcmp (spec->stale_copy_on, host->record.id) == 0
        &&  (!host->live.reported || host->live.report_serial < spec->stale_copy_serial)) {
            s_request_report (host, 0, outbox); // stopped: what it has now is its next report
            return true;
        }
        if (host->record.state != HOST_STATE_UP || !host->live.reported) {
            s_reason (spec, wall, out, "a second copy runs on host '%s' (%s), besides host "
                      "'%s' where it is placed: waiting to stop it there", host->record.name,
                      host_state_name (host->record.state), placed->record.name);
            return true;
        }
        log_warn ("vm '%s': stopping the second copy on host '%s' (it is placed on host '%s')",
                  spec->record.name, host->record.name, placed->record.name);
        s_reason (spec, wall, out, "stopping a second copy on host '%s' (it is placed on "
                  "host '%s')", host->record.name, placed->record.name);
        (void) s_begin (step->model, step->managed, spec, COMMAND_STOP, host, NULL, 0,
                        step->config, now, wall, outbox, out);
        return true;
    }
    return false;
}

//  Migrations in flight from host.
static uint32_t
s_migrating_from (managed_t *managed, const host_t *host)
{
    uint32_t count = 0;
    for (size_t i = 0; i < managed_spec_count (managed); i++) {
        const op_record_t *op = &managed_spec_at (managed, i)->op.record;
        count += op->id && op->action == COMMAND_MIGRATE
              && strcmp (op->host_id, host->record.id) == 0;
    }
    return count;
}

static int
s_by_priority (const void *a, const void *b)
{
    const spec_t *x = *(spec_t * const *) a, *y = *(spec_t * const *) b;
    if (x->record.priority != y->record.priority)
        return x->record.priority > y->record.priority? -1: 1;
    return strcmp (x->record.name, y->record.name);
}


static bool
s_ensure_view (s_step_t *step)
{
    if (step->view)
        return true;
    size_t hosts = model_host_count (step->model) + 1;
    step->view = view_new (step->model, step->managed, &step->config->policy, NULL);
    step->verdicts = calloc (hosts, sizeof *step->verdicts);
    step->starting = calloc (hosts, sizeof *step->starting);
    if (!step->view || !step->verdicts || !step->starting)
        return false;
    //  Counted once per step, not once per VM to start.
    for (size_t i = 0; i < managed_spec_count (step->managed); i++) {
        const op_record_t *op = &managed_spec_at (step->managed, i)->op.record;
        int index = op->id && op->action == COMMAND_START
                  ? view_host_index (step->view, model_host_by_id (step->model, op->host_id))
                  : -1;
        if (index >= 0)
            step->starting [index]++;
    }
    return true;
}

//  Places and starts one VM, or records why not.
static void
s_start (s_step_t *step, spec_t *spec, int64_t now, int64_t wall, outbox_t *outbox,
         mutations_t *out)
{
    if (now < spec->retry_after || !s_ensure_view (step))
        return;
    place_decision_t decision;
    host_t *again = spec->may_run_count? s_may_run_single_host (step->model, spec): NULL;
    if (spec->may_run_count && !again)
        return;
    host_t *host = again;
    if (again)
        snprintf (decision.summary, sizeof decision.summary, "host '%s' again: the earlier "
                  "start there is not proven finished, so it may start only there",
                  again->record.name);
    else {
        //  Restart policy: a host it failed on max_restart times is not tried again.
        const host_t *failed = spec->failed_here > step->config->max_restart?
                               model_host_by_id (step->model, spec->failed_on): NULL;
        host = view_place (step->view, spec, failed, step->verdicts, &decision);
        //  A relocation goes to a host not given up on yet, where one fits.
        if (host && failed && s_given_up (spec, host->record.id)) {
            int best = -1;
            for (size_t h = 0; h < model_host_count (step->model); h++) {
                host_t *other = model_host_at (step->model, h);
                int at = view_host_index (step->view, other);
                if (at >= 0 && step->verdicts [at].fits && other != failed
                &&  !s_given_up (spec, other->record.id)
                &&  (best < 0 || step->verdicts [at].score > step->verdicts [best].score))
                    best = at;
            }
            if (best >= 0) {
                host = view_host (step->view, best);
                snprintf (decision.summary, sizeof decision.summary, "host '%s': relocation "
                          "%" PRIu32 " of %" PRIu32 " after failed starts (ha.max_relocate)",
                          host->record.name, spec->relocations + 1,
                          step->config->max_relocate);
            }
        }
        //  ... and until then it is tried again there, where it still fits.
        host_t *retry = spec->failed_on [0] && !failed?
                        model_host_by_id (step->model, spec->failed_on): NULL;
        int index = retry? view_host_index (step->view, retry): -1;
        if (host && index >= 0 && retry != host && step->verdicts [index].fits) {
            host = retry;
            snprintf (decision.summary, sizeof decision.summary, "host '%s' again: restart %"
                      PRIu32 " of %" PRIu32 " there after a failed start (ha.max_restart)",
                      retry->record.name, spec->failed_here, step->config->max_restart);
        }
    }
    if (!host) {
        if (strstr (spec->record.reason, decision.summary) == NULL)
            s_push_decision (spec, "", decision.summary,
                             view_verdicts_json (step->view, step->verdicts), wall, out);
        s_reason (spec, wall, out, "not started: %s", decision.summary);
        return;
    }
    uint32_t *starting = &step->starting [view_host_index (step->view, host)];
    if (*starting >= step->config->start_concurrency) {
        s_reason (spec, wall, out, "waiting to start: host '%s' is already starting %" PRIu32
                  " vms (start concurrency %" PRIu32 ")", host->record.name, *starting,
                  step->config->start_concurrency);
        return;
    }
    s_push_decision (spec, host->record.name, decision.summary,
                     again? NULL: view_verdicts_json (step->view, step->verdicts), wall, out);
    snprintf (spec->record.reason, sizeof spec->record.reason, "starting: %s",
              decision.summary);
    if (!s_begin (step->model, step->managed, spec, COMMAND_START, host, NULL, 0,
                  step->config, now, wall, outbox, out))
        return;
    if (spec->failover_from [0])
        ha_event (spec->failover_from, "placed", wall, out, "vm '%s' placed on host '%s': %s",
                  spec->record.name, host->record.name, decision.summary);
    view_assign (step->view, spec, host);
    (*starting)++;
}

//  Why a VM cannot live-migrate, or NULL when it can.
static const char *
s_unmigratable (const spec_t *spec)
{
    if (spec->record.needs_nested)
        return "it runs nested virtualization (vmx/svm), which cannot be live-migrated";
    if (!spec->record.migratable)
        return "it is declared non-migratable (created with --no-migrate, or it has host "
               "devices)";
    return NULL;
}

//  Moves VMs off one host in maintenance, a few at a time.
static void
s_evacuate (s_step_t *step, host_t *host, int64_t now, int64_t wall, outbox_t *outbox,
            mutations_t *out)
{
    uint32_t moving = s_migrating_from (step->managed, host);
    for (size_t i = 0; i < managed_spec_count (step->managed); i++) {
        spec_t *spec = managed_spec_at (step->managed, i);
        if (spec->op.record.id || spec->record.want != VM_WANT_RUNNING
        ||  s_observed_on (step->model, spec) != host || now < spec->retry_after
        ||  spec->migrate_failures >= step->config->migrate_attempts)
            continue;                       // (given up on: its reason says so)
        const char *unmigratable = s_unmigratable (spec);
        if (unmigratable) {
            s_reason (spec, wall, out, "blocks maintenance of host '%s': %s; stop it to "
                      "finish", host->record.name, unmigratable);
            continue;
        }
        if (moving >= step->config->migrate_concurrency)
            continue;                       // its turn comes when a migration ends
        if (!s_ensure_view (step))
            return;
        place_decision_t decision;
        host_t *target = view_place (step->view, spec, host, step->verdicts, &decision);
        if (!target) {
            s_reason (spec, wall, out, "blocks maintenance of host '%s': %s",
                      host->record.name, decision.summary);
            continue;
        }
        s_push_decision (spec, target->record.name, decision.summary,
                         view_verdicts_json (step->view, step->verdicts), wall, out);
        snprintf (spec->record.reason, sizeof spec->record.reason,
                  "leaving host '%.64s' (maintenance): %.380s", host->record.name,
                  decision.summary);
        if (!s_begin (step->model, step->managed, spec, COMMAND_MIGRATE, host, target,
                      step->config->migration_timeout_ms, step->config, now, wall, outbox,
                      out))
            continue;
        view_assign (step->view, spec, target);
        moving++;
    }
}

//  Decides for one VM without an operation; returns true when it should be started.
static bool
s_decide (s_step_t *step, spec_t *spec, int64_t now, int64_t wall, outbox_t *outbox,
          mutations_t *out)
{
    s_may_run_update (step->model, step->managed, spec, step->config, now, wall, outbox,
                      out);
    host_t *host = s_observed_on (step->model, spec);
    bool reachable = host && host->record.state == HOST_STATE_UP && host->live.reported;
    if (host) {
        snprintf (spec->last_host_id, sizeof spec->last_host_id, "%s", host->record.id);
        if (spec->start_unconfirmed) {
            spec->start_unconfirmed = false;    // seen running: that start is confirmed
            spec->retry_after = 0;
        }
        if (!spec->record.host_id [0])
            s_place_at (spec, host->record.id, wall, out);   // found running: it is here
        if (s_stop_extra_copy (step, spec, host, now, wall, outbox, out))
            return false;
    }
    else
    if (spec->last_host_id [0]) {
        log_info ("vm '%s': no longer seen on host '%s'", spec->record.name,
                  s_host_name (step->model, spec->last_host_id));
        spec->last_host_id [0] = 0;
    }
    if (!host && spec->may_run_count) {
        //  A command may have left a copy somewhere: never a second one (DESIGN.md §5.9).
        const may_run_t *entry = &spec->may_run [0];
        host_t *where = model_host_by_id (step->model, entry->record.host_id);
        if (spec->record.want == VM_WANT_RUNNING && s_may_run_single_host (step->model, spec))
            return true;                    // it may start again there, and only there
        //  A failure's reason stays until its retry time: the more useful answer meanwhile.
        if (spec->record.want == VM_WANT_RUNNING
        &&  (now >= spec->retry_after || !strstr (spec->record.reason, "failed")))
            s_reason (spec, wall, out, "may run on host '%s' (%s, command %" PRIu64 " not "
                      "proven finished): waiting for a report from it (a vm is never started "
                      "twice)", where? where->record.name: entry->record.host_id,
                      where? host_state_name (where->record.state): "unknown",
                      entry->record.op_id);
        return false;
    }
    if (host && !host->record.maintenance)
        spec->migrate_failures = 0;         // maintenance gives it a fresh budget next time
    if (spec->record.want != VM_WANT_RUNNING && spec->gave_up) {
        //  Stopped (or deleted): the next start begins a new series of attempts.
        spec->gave_up = false;
        spec->failed_on [0] = 0;
        spec->failed_here = spec->relocations = 0;
    }
    if (spec->record.want == VM_WANT_RUNNING && !host && spec->gave_up)
        return false;                       // the error state keeps its reason
    if (spec->record.want == VM_WANT_RUNNING) {
        if (reachable && !host->record.maintenance)
            s_reason (spec, wall, out, "running on host '%s'", host->record.name);
        else
        if (host && host->record.state == HOST_STATE_UP && !host->live.reported)
            s_reason (spec, wall, out, "waiting for host '%s' to report its domains",
                      host->record.name);
        else
        if (host && !reachable)
            s_reason (spec, wall, out, "last seen running on host '%s', which is %s: waiting "
                      "for it (a vm is never started twice; HA restarts need fencing)",
                      host->record.name, host_state_name (host->record.state));
        return host == NULL;
    }
    if (reachable) {
        (void) s_begin (step->model, step->managed, spec, COMMAND_STOP, host, NULL, 0,
                        step->config, now, wall, outbox, out);
        return false;
    }
    if (host) {
        s_reason (spec, wall, out, "to be stopped: waiting for host '%s' (%s)",
                  host->record.name, host_state_name (host->record.state));
        return false;
    }
    if (spec->record.want == VM_WANT_STOPPED)
        s_reason (spec, wall, out, "stopped");
    return false;
}

//  Forgets deleted VMs that are off.
static void
s_forget_deleted (model_t *model, managed_t *managed, int64_t wall, mutations_t *out)
{
    for (size_t i = managed_spec_count (managed); i-- > 0; ) {
        spec_t *spec = managed_spec_at (managed, i);
        if (spec->record.want != VM_WANT_DELETED || spec->op.record.id
        ||  s_observed_on (model, spec) || spec->may_run_count)
            continue;
        log_info ("vm '%s': deleted", spec->record.name);
        mutation_t gone = { .kind = MUTATION_SPEC_DELETE, .at = wall };
        snprintf (gone.u.spec_uuid, sizeof gone.u.spec_uuid, "%s", spec->record.uuid);
        mutations_push (out, &gone);
        managed_remove_spec (managed, spec);
    }
}

void
reconcile_step (model_t *model, managed_t *managed, const reconcile_config_t *config,
                int64_t now, int64_t wall, outbox_t *outbox, mutations_t *out)
{
    s_step_t step = { model, managed, config, NULL, NULL, NULL };
    size_t count = managed_spec_count (managed);
    spec_t **starts = calloc (count + 1, sizeof *starts);
    size_t start_count = 0;
    for (size_t i = 0; i < count; i++) {
        spec_t *spec = managed_spec_at (managed, i);
        if (spec->op.record.id)
            s_watch (model, spec, config, now, wall, outbox, out);
        else
        if (s_decide (&step, spec, now, wall, outbox, out) && starts)
            starts [start_count++] = spec;
    }
    //  Start nothing while a host that is not down has not reported in its registration:
    //  what runs there is not known yet (a start may have succeeded while no scheduler
    //  listened). A silent host counts too: silence proves nothing.
    const host_t *unreported = NULL;
    for (size_t i = 0; i < model_host_count (model) && !unreported; i++) {
        const host_t *host = model_host_at (model, i);
        if (!HOST_STATE_GONE (host->record.state) && !host->live.reported)
            unreported = host;
    }
    qsort (starts, start_count, sizeof *starts, s_by_priority);
    for (size_t i = 0; i < start_count; i++)
        if (unreported)
            s_reason (starts [i], wall, out, "waiting for host '%s' to report its domains "
                      "before starting anything", unreported->record.name);
        else
            s_start (&step, starts [i], now, wall, outbox, out);
    free (starts);
    for (size_t i = 0; i < model_host_count (model); i++) {
        host_t *host = model_host_at (model, i);
        if (host->record.maintenance && host->record.state == HOST_STATE_UP)
            s_evacuate (&step, host, now, wall, outbox, out);
    }
    s_forget_deleted (model, managed, wall, out);
    view_destroy (&step.view);
    free (step.verdicts);
    free (step.starting);
}

//  --------------------------------------------------------------------------
//  Results

void
reconcile_result (model_t *model, managed_t *managed, const reconcile_config_t *config,
                  const host_t *host, const wire_command_result_t *result, int64_t now,
                  int64_t wall, outbox_t *outbox, mutations_t *out)
{
    bool final = result->status == RESULT_DONE || result->status == RESULT_FAILED
              || result->status == RESULT_STALE;
    spec_t *spec = managed_spec_by_op (managed, result->id);
    if (!spec || strcmp (spec->op.record.host_id, host->record.id)) {
        //  A late answer to a command that ended unanswered still settles where it went.
        spec_t *waiting = final? managed_spec_by_may_run_op (managed, result->id): NULL;
        if (waiting && !waiting->op.record.id)
            s_may_run_answered (waiting, result->id);
        log_debug ("result %s of command %" PRIu64 " from host '%s' matches no operation",
                   command_status_name (result->status), result->id, host->record.name);
        return;
    }
    if (final)
        s_may_run_answered (spec, result->id);
    vm_op_t *op = &spec->op;
    switch (result->status) {
        case RESULT_ACCEPTED:
            op->accepted = true;
            return;
        case RESULT_PROGRESS:
            op->accepted = true;
            op->data_total = result->data_total;
            op->data_processed = result->data_processed;
            op->data_remaining = result->data_remaining;
            op->elapsed_ms = result->elapsed_ms;
            return;
        case RESULT_DONE: {
            command_action_t action = op->record.action;
            char target [WIRE_NAME_SIZE];
            snprintf (target, sizeof target, "%s",
                      s_host_name (model, op->record.target_host_id));
            log_info ("vm '%s': %s on host '%s' done in %" PRIu32 " ms: %s",
                      spec->record.name, command_action_name (action), host->record.name,
                      result->elapsed_ms, result->message);
            char target_id [WIRE_ID_SIZE];
            snprintf (target_id, sizeof target_id, "%s", op->record.target_host_id);
            s_finish (spec, "done", result->message, wall, out);
            if (action == COMMAND_MIGRATE
            ||  (action == COMMAND_STOP && strcmp (host->record.id, spec->record.host_id))) {
                //  The copy on this host is gone (migrated away, or a second copy stopped);
                //  its observation stays until the host reports, and is no copy meanwhile.
                snprintf (spec->stale_copy_on, sizeof spec->stale_copy_on, "%s",
                          host->record.id);
                spec->stale_copy_serial = model_report_serial (model) + 1;
            }
            if (action == COMMAND_START)
                s_place_at (spec, host->record.id, wall, out);
            if (action == COMMAND_MIGRATE)
                s_place_at (spec, target_id, wall, out);
            if (action == COMMAND_MIGRATE)
                spec->migrate_failures = 0;
            if (action == COMMAND_MIGRATE)
                s_reason (spec, wall, out, "migrated from host '%s' to host '%s' in %" PRIu32
                          " ms", host->record.name, target, result->elapsed_ms);
            else
            if (action == COMMAND_START) {
                //  If no report shows it running after all, do not start it again at once.
                spec->retry_after = now + config->retry_ms;
                spec->start_unconfirmed = true;
                s_reason (spec, wall, out, "started on host '%s'", host->record.name);
                if (spec->failover_from [0])
                    ha_event (spec->failover_from, "started", wall, out, "vm '%s' running on "
                              "host '%s' (start took %" PRIu32 " ms)", spec->record.name,
                              host->record.name, result->elapsed_ms);
                spec->failover_from [0] = 0;
                spec->failed_on [0] = 0;
                spec->failed_here = spec->relocations = 0;
            }
            return;
        }
        case RESULT_FAILED:
        case RESULT_STALE:
            s_fail_op (model, spec, result->message, config, now, wall, outbox, out);
            return;
        case RESULT_NONE:
        case RESULT_STATUS_COUNT:
            break;
    }
}

void
reconcile_host_dead (model_t *model, managed_t *managed, const host_t *host, int64_t wall,
                     mutations_t *out)
{
    char why [WIRE_TEXT_SIZE];
    snprintf (why, sizeof why, "host '%s' was declared dead", host->record.name);
    for (size_t i = 0; i < managed_spec_count (managed); i++) {
        spec_t *spec = managed_spec_at (managed, i);
        if (!spec->record.ha)
            continue;
        bool affected = false;
        for (uint32_t e = spec->may_run_count; e-- > 0; )
            if (strcmp (spec->may_run [e].record.host_id, host->record.id) == 0) {
                s_may_run_remove (model, spec, e, why, wall, out);
                affected = true;
            }
        vm_t *copy = model_vm_copy (model, spec->record.uuid, host->record.id);
        if (copy) {
            affected = affected || model_vm_active (copy);
            model_forget_copy (model, copy, why, wall, out);
        }
        if (!affected || spec->record.want != VM_WANT_RUNNING)
            continue;
        snprintf (spec->failover_from, sizeof spec->failover_from, "%s", host->record.id);
        spec->retry_after = 0;
        spec->gave_up = false;
        spec->failed_on [0] = 0;
        spec->failed_here = spec->relocations = 0;
        s_reason (spec, wall, out, "restarting: %s", why);
    }
}

int
reconcile_load_may_run (managed_t *managed, const may_run_record_t *record, int64_t now)
{
    spec_t *spec = managed_spec_by_uuid (managed, record->vm_uuid);
    if (!spec || spec->may_run_count == SPEC_MAY_RUN_MAX)
        return -1;
    may_run_t *entry = &spec->may_run [spec->may_run_count++];
    memset (entry, 0, sizeof *entry);
    entry->record = *record;
    entry->last_sent = now;
    return 0;
}

//  --------------------------------------------------------------------------
//  Operator requests

int
reconcile_migrate (model_t *model, managed_t *managed, const reconcile_config_t *config,
                   spec_t *spec, host_t *target, uint32_t timeout_ms, int64_t now,
                   int64_t wall, outbox_t *outbox, mutations_t *out, char *err,
                   size_t err_size)
{
    const char *name = spec->record.name;
    host_t *source = s_observed_on (model, spec);
    const char *unmigratable = s_unmigratable (spec);
    if (spec->op.record.id) {
        snprintf (err, err_size, "vm '%s' has a %s in flight (command %" PRIu64 "); wait for "
                  "it or abort it", name, command_action_name (spec->op.record.action),
                  spec->op.record.id);
        return -1;
    }
    if (unmigratable) {
        snprintf (err, err_size, "cannot migrate vm '%s': %s", name, unmigratable);
        return -1;
    }
    if (!source || source->record.state != HOST_STATE_UP) {
        snprintf (err, err_size, "vm '%s' is not running on a host that is up", name);
        return -1;
    }
    if (target == source) {
        snprintf (err, err_size, "vm '%s' already runs on host '%s'", name, source->record.name);
        return -1;
    }
    view_t *view = view_new (model, managed, &config->policy, NULL);
    place_verdict_t *verdicts = calloc (model_host_count (model) + 1, sizeof *verdicts);
    int rc = -1;
    place_decision_t decision;
    host_t *chosen = view && verdicts
                   ? view_place (view, spec, source, verdicts, &decision): NULL;
    if (!view || !verdicts)
        snprintf (err, err_size, "out of memory");
    else
    if (target && !verdicts [view_host_index (view, target)].fits)
        snprintf (err, err_size, "cannot migrate vm '%s' to host '%s': %s", name,
                  target->record.name, verdicts [view_host_index (view, target)].reason);
    else
    if (!target && !chosen)
        snprintf (err, err_size, "cannot migrate vm '%s': %s", name, decision.summary);
    else {
        host_t *destination = target? target: chosen;
        char summary [sizeof decision.summary + 64];
        if (target)
            snprintf (summary, sizeof summary, "migration to host '%s' requested by the "
                      "operator", target->record.name);
        else
            snprintf (summary, sizeof summary, "%s", decision.summary);
        s_push_decision (spec, destination->record.name, summary,
                         view_verdicts_json (view, verdicts), wall, out);
        snprintf (spec->record.reason, sizeof spec->record.reason, "migrating from host '%s' "
                  "to host '%s'", source->record.name, destination->record.name);
        if (s_begin (model, managed, spec, COMMAND_MIGRATE, source, destination,
                     timeout_ms? timeout_ms: config->migration_timeout_ms, config, now, wall,
                     outbox, out))
            rc = 0;
        else
            snprintf (err, err_size, "cannot migrate vm '%s': %d earlier commands are not "
                      "proven finished yet", name, SPEC_MAY_RUN_MAX);
    }
    free (verdicts);
    view_destroy (&view);
    return rc;
}

int
reconcile_abort (model_t *model, managed_t *managed, const reconcile_config_t *config,
                 spec_t *spec, outbox_t *outbox, char *err, size_t err_size)
{
    (void) model;
    const vm_op_t *op = &spec->op;
    if (!op->record.id || op->record.action != COMMAND_MIGRATE) {
        snprintf (err, err_size, "vm '%s' has no migration in flight", spec->record.name);
        return -1;
    }
    outbound_t *item = s_outbox_add (outbox);
    if (!item) {
        snprintf (err, err_size, "out of memory");
        return -1;
    }
    snprintf (item->host_id, sizeof item->host_id, "%s", op->record.host_id);
    wire_command_t *command = &item->command;
    command->id = managed_next_op_id (managed);
    command->leader_epoch = config->epoch;
    command->host_generation = op->host_generation;
    command->vm_generation = spec->record.generation;
    snprintf (command->vm_uuid, sizeof command->vm_uuid, "%s", spec->record.uuid);
    snprintf (command->vm_name, sizeof command->vm_name, "%s", spec->record.name);
    command->action = COMMAND_ABORT;
    log_info ("vm '%s': abort of migration %" PRIu64 " requested", spec->record.name,
              op->record.id);
    return 0;
}
