/*  commands.c - the agent's side of the command protocol (see commands.h).

    Owns the queue of accepted commands, the table of running ones (one slot per worker),
    the newest VM generation seen per VM (an open-addressing table keyed by uuid), and a ring
    of recent results for repeats. Pure: it never reads a clock, calls the hypervisor or
    touches a socket; what it wants done is appended to the caller's agent_fx_t.
*/
#include "commands.h"
#include "vec.h"
#include "log.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_RECENT            64      // finished results kept for repeated commands
#define S_PROGRESS_MS       500     // migration progress report interval
#define S_ABORT_RETRY_MS    20      // abort again after a job that had not begun yet
#define S_MAX_QUEUE         1024    // accepted commands waiting for a worker

//  A command running on a worker.
typedef struct {
    bool used;                  // slot holds a running command
    wire_command_t command;     // copy (domain_xml not kept)
    int64_t started;            // when it was handed to its worker
    int64_t next_progress;      // when to ask for progress next
    int64_t next_abort;         // when to try the abort again (abort_wanted, not taken)
    bool progress_pending;      // a PROGRESS job is out
    bool abort_pending;         // an ABORT job is out
    bool timed_out;             // the timeout aborted it
    bool abort_wanted;          // abort (requested or timed out) until the job took it
    bool aborted;               // an abort took: the failure is the abort's doing
} s_running_t;

//  One entry of the VM generation table.
typedef struct {
    char uuid [WIRE_ID_SIZE];   // the VM
    uint64_t generation;        // newest VM generation accepted for it
} s_generation_t;

struct commands_t {
    int workers;                // worker slots
    uint64_t max_epoch;         // newest leader epoch seen
    vec_t generations;          // s_generation_t, sorted by uuid
    wire_command_t *queue;      // owned FIFO of accepted commands (with their xml)
    size_t queued;              // entries of queue
    s_running_t *running;       // one slot per worker
    wire_command_result_t recent [S_RECENT];    // ring of finished results
    size_t recent_next;         // next ring slot
};

commands_t *
commands_new (int workers)
{
    commands_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->workers = workers > 0? workers: 1;
    self->generations = VEC_OF (s_generation_t);
    self->running = calloc ((size_t) self->workers, sizeof *self->running);
    self->queue = calloc (S_MAX_QUEUE, sizeof *self->queue);
    if (!self->running || !self->queue) {
        commands_destroy (&self);
        return NULL;
    }
    return self;
}

void
commands_destroy (commands_t **self_p)
{
    commands_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; self->queue && i < self->queued; i++)
        free (self->queue [i].domain_xml);
    free (self->queue);
    free (self->running);
    vec_free (&self->generations);
    free (self);
    *self_p = NULL;
}

void
commands_note_epoch (commands_t *self, uint64_t epoch)
{
    if (epoch > self->max_epoch)
        self->max_epoch = epoch;
}

size_t
commands_pending (const commands_t *self)
{
    size_t count = self->queued;
    for (int i = 0; i < self->workers; i++)
        count += self->running [i].used;
    return count;
}

void
commands_drop_queued (commands_t *self)
{
    for (size_t i = 0; i < self->queued; i++)
        free (self->queue [i].domain_xml);
    self->queued = 0;
}

//  --------------------------------------------------------------------------
//  VM generations

static int
s_generation_order (const void *key, const void *item)
{
    return strcmp (key, ((const s_generation_t *) item)->uuid);
}

//  The newest generation seen for uuid, or NULL.
static const uint64_t *
s_generation (const commands_t *self, const char *uuid)
{
    const s_generation_t *entry = vec_find (&self->generations, uuid, s_generation_order,
                                            NULL);
    return entry? &entry->generation: NULL;
}

//  Remembers generation for uuid. Out of memory is logged: the VM's older commands are
//  then not refused until a later one fits.
static void
s_set_generation (commands_t *self, const char *uuid, uint64_t generation)
{
    size_t slot;
    s_generation_t *entry = vec_find (&self->generations, uuid, s_generation_order, &slot);
    if (!entry) {
        s_generation_t fresh = { .generation = generation };
        snprintf (fresh.uuid, sizeof fresh.uuid, "%s", uuid);
        entry = vec_insert (&self->generations, slot, &fresh);
        if (!entry)
            log_error ("cannot remember vm generation %" PRIu64 " of '%s': out of memory",
                       generation, uuid);
        return;
    }
    entry->generation = generation;
}

//  --------------------------------------------------------------------------
//  Answers

//  Appends result as a COMMAND_RESULT message.
static void
s_emit (agent_fx_t *fx, const wire_command_result_t *result)
{
    wire_msg_t *msg = agent_fx_msg (fx, WIRE_COMMAND_RESULT);
    if (msg)
        msg->body.result = *result;
}

static void
s_answer (agent_fx_t *fx, const wire_command_t *command, command_status_t status,
          const char *fmt, ...) __attribute__ ((format (printf, 4, 5)));

static void
s_answer (agent_fx_t *fx, const wire_command_t *command, command_status_t status,
          const char *fmt, ...)
{
    wire_command_result_t result = { .id = command->id, .vm_generation = command->vm_generation,
                                     .status = status };
    snprintf (result.vm_uuid, sizeof result.vm_uuid, "%s", command->vm_uuid);
    va_list args;
    va_start (args, fmt);
    vsnprintf (result.message, sizeof result.message, fmt, args);
    va_end (args);
    s_emit (fx, &result);
}

void
commands_refuse_stale (commands_t *self, uint64_t generation, agent_fx_t *fx)
{
    for (size_t i = 0; i < self->queued; ) {
        wire_command_t *command = &self->queue [i];
        if (command->host_generation == generation) {
            i++;
            continue;
        }
        s_answer (fx, command, RESULT_STALE, "stale: the agent registered again (command of "
                  "generation %" PRIu64 ") before it began", command->host_generation);
        free (command->domain_xml);
        memmove (command, command + 1, (self->queued - i - 1) * sizeof *command);
        self->queued--;
    }
}

static void
s_remember (commands_t *self, const wire_command_result_t *result)
{
    self->recent [self->recent_next] = *result;
    self->recent_next = (self->recent_next + 1) % S_RECENT;
}

//  --------------------------------------------------------------------------
//  Receiving

//  The reason a command is stale, or NULL when it is current (and then remembers it).
static const char *
s_stale (commands_t *self, const wire_command_t *command, uint64_t generation, char *why,
         size_t size)
{
    if (!generation)
        return "this agent is not registered";
    if (command->leader_epoch < self->max_epoch) {
        snprintf (why, size, "leader epoch %" PRIu64 " is older than %" PRIu64,
                  command->leader_epoch, self->max_epoch);
        return why;
    }
    if (command->host_generation != generation) {
        snprintf (why, size, "meant for host generation %" PRIu64 ", this agent is "
                  "generation %" PRIu64, command->host_generation, generation);
        return why;
    }
    const uint64_t *seen = s_generation (self, command->vm_uuid);
    if (seen && command->vm_generation < *seen) {
        snprintf (why, size, "vm generation %" PRIu64 " is older than %" PRIu64,
                  command->vm_generation, *seen);
        return why;
    }
    self->max_epoch = command->leader_epoch;
    s_set_generation (self, command->vm_uuid, command->vm_generation);
    return NULL;
}

//  True when the command (same id) is already queued or running, or recently finished
//  (its result is then emitted again).
static bool
s_repeat (commands_t *self, const wire_command_t *command, agent_fx_t *fx)
{
    for (size_t i = 0; i < self->queued; i++)
        if (self->queue [i].id == command->id) {
            s_answer (fx, command, RESULT_ACCEPTED, "queued");
            return true;
        }
    for (int i = 0; i < self->workers; i++)
        if (self->running [i].used && self->running [i].command.id == command->id) {
            s_answer (fx, command, RESULT_ACCEPTED, "running");
            return true;
        }
    for (size_t i = 0; i < S_RECENT; i++)
        if (self->recent [i].id == command->id
        &&  strcmp (self->recent [i].vm_uuid, command->vm_uuid) == 0) {
            s_emit (fx, &self->recent [i]);
            return true;
        }
    return false;
}

static void
s_abort (commands_t *self, const wire_command_t *command, int64_t now, agent_fx_t *fx)
{
    //  A migration still queued never starts: its own answer says so.
    for (size_t i = 0; i < self->queued; i++) {
        wire_command_t *queued = &self->queue [i];
        if (queued->action == COMMAND_MIGRATE
        &&  strcmp (queued->vm_uuid, command->vm_uuid) == 0) {
            s_answer (fx, queued, RESULT_FAILED, "aborted on request before it started");
            free (queued->domain_xml);
            memmove (queued, queued + 1, (self->queued - i - 1) * sizeof *queued);
            self->queued--;
            s_answer (fx, command, RESULT_DONE, "queued migration cancelled");
            return;
        }
    }
    //  A running one is aborted (ABORT jobs) until its job took the abort (a job that has
    //  not begun yet cannot be aborted).
    for (int i = 0; i < self->workers; i++) {
        s_running_t *running = &self->running [i];
        if (running->used && running->command.action == COMMAND_MIGRATE
        &&  strcmp (running->command.vm_uuid, command->vm_uuid) == 0) {
            running->abort_wanted = true;
            running->next_abort = now;
            log_info ("vm '%s': abort of the migration requested", command->vm_name);
            s_answer (fx, command, RESULT_DONE, "abort requested");
            return;
        }
    }
    s_answer (fx, command, RESULT_DONE, "no migration running");
}

static void s_dispatch (commands_t *self, int64_t now, agent_fx_t *fx);

void
commands_receive (commands_t *self, const wire_command_t *command, uint64_t generation,
                  bool leased, int64_t now, agent_fx_t *fx)
{
    char why [WIRE_TEXT_SIZE];
    const char *stale = s_stale (self, command, generation, why, sizeof why);
    if (stale) {
        log_warn ("refused %s of vm '%s' (command %" PRIu64 "): stale: %s",
                  command_action_name (command->action), command->vm_name, command->id, stale);
        s_answer (fx, command, RESULT_STALE, "stale: %s", stale);
        return;
    }
    if (s_repeat (self, command, fx))
        return;
    if (command->action == COMMAND_START && command->ha && !leased) {
        //  Its fencer would kill it, and a copy may run elsewhere (DESIGN.md §5.11).
        log_warn ("refused to start HA vm '%s' (command %" PRIu64 "): this host holds no "
                  "lease", command->vm_name, command->id);
        s_answer (fx, command, RESULT_FAILED, "this host holds no lease (not connected to the "
                  "scheduler or a majority of its witnesses): an HA vm may not start here");
        return;
    }
    if (command->action == COMMAND_ABORT) {
        s_abort (self, command, now, fx);
        return;
    }
    if (self->queued == S_MAX_QUEUE) {
        s_answer (fx, command, RESULT_FAILED, "agent busy: %d commands queued", S_MAX_QUEUE);
        return;
    }
    wire_command_t *slot = &self->queue [self->queued];
    *slot = *command;
    slot->domain_xml = command->domain_xml? strdup (command->domain_xml): NULL;
    if (command->domain_xml && !slot->domain_xml) {
        s_answer (fx, command, RESULT_FAILED, "agent out of memory");
        return;
    }
    self->queued++;
    log_info ("vm '%s': %s accepted (command %" PRIu64 ")", command->vm_name,
              command_action_name (command->action), command->id);
    s_answer (fx, command, RESULT_ACCEPTED, "accepted");
    s_dispatch (self, now, fx);
}

//  --------------------------------------------------------------------------
//  Running

static bool
s_vm_busy (const commands_t *self, const char *uuid)
{
    for (int i = 0; i < self->workers; i++)
        if (self->running [i].used && strcmp (self->running [i].command.vm_uuid, uuid) == 0)
            return true;
    return false;
}

static int
s_idle_worker (const commands_t *self)
{
    for (int i = 0; i < self->workers; i++)
        if (!self->running [i].used)
            return i;
    return -1;
}

//  Starts the oldest queued commands whose VM is not busy, while worker slots are idle.
static void
s_dispatch (commands_t *self, int64_t now, agent_fx_t *fx)
{
    for (size_t i = 0; i < self->queued; ) {
        wire_command_t *command = &self->queue [i];
        if (s_vm_busy (self, command->vm_uuid)) {
            i++;
            continue;
        }
        int worker = s_idle_worker (self);
        if (worker < 0)
            return;                         // all busy
        hv_job_t *job = agent_fx_job (fx, HV_JOB_COMMAND);
        if (!job)
            return;                         // logged; tried again on the next tick
        job->worker = worker;
        job->command = *command;            // the job takes the xml
        s_running_t *running = &self->running [worker];
        *running = (s_running_t) { .used = true, .command = *command, .started = now,
                                   .next_progress = now + S_PROGRESS_MS };
        running->command.domain_xml = NULL;
        memmove (command, command + 1, (self->queued - i - 1) * sizeof *command);
        self->queued--;
    }
}

//  The running slot that job (ABORT, PROGRESS, COMMAND) was about, or NULL when that
//  command is no longer running there.
static s_running_t *
s_running_of (commands_t *self, const hv_job_t *job)
{
    if (job->worker < 0 || job->worker >= self->workers)
        return NULL;
    s_running_t *running = &self->running [job->worker];
    return running->used && running->command.id == job->command.id
        && strcmp (running->command.vm_uuid, job->command.vm_uuid) == 0? running: NULL;
}

//  Timeout, abort and progress of the running migration in slot worker.
static void
s_watch_migration (commands_t *self, int worker, int64_t now, agent_fx_t *fx)
{
    s_running_t *running = &self->running [worker];
    const wire_command_t *command = &running->command;
    if (command->timeout_ms && !running->timed_out
    &&  now - running->started > (int64_t) command->timeout_ms) {
        running->timed_out = true;
        running->abort_wanted = true;
        running->next_abort = now;
        log_warn ("vm '%s': migration to '%s' still running after %" PRIu32 " ms; aborting",
                  command->vm_name, command->target_host, command->timeout_ms);
    }
    if (running->abort_wanted && !running->aborted && !running->abort_pending
    &&  now >= running->next_abort) {
        hv_job_t *job = agent_fx_job (fx, HV_JOB_ABORT);
        if (job) {
            job->worker = worker;
            job->command = *command;
            running->abort_pending = true;
        }
    }
    if (running->progress_pending || now < running->next_progress)
        return;
    hv_job_t *job = agent_fx_job (fx, HV_JOB_PROGRESS);
    if (job) {
        job->worker = worker;
        job->command = *command;
        running->progress_pending = true;
        running->next_progress = now + S_PROGRESS_MS;
    }
}

void
commands_tick (commands_t *self, int64_t now, agent_fx_t *fx)
{
    s_dispatch (self, now, fx);
    for (int i = 0; i < self->workers; i++)
        if (self->running [i].used && self->running [i].command.action == COMMAND_MIGRATE)
            s_watch_migration (self, i, now, fx);
}

int64_t
commands_next_deadline (const commands_t *self)
{
    int64_t next = INT64_MAX;
    for (int i = 0; i < self->workers; i++) {
        const s_running_t *running = &self->running [i];
        if (!running->used || running->command.action != COMMAND_MIGRATE)
            continue;
        if (running->command.timeout_ms && !running->timed_out
        &&  running->started + (int64_t) running->command.timeout_ms + 1 < next)
            next = running->started + (int64_t) running->command.timeout_ms + 1;
        if (running->abort_wanted && !running->aborted && !running->abort_pending
        &&  running->next_abort < next)
            next = running->next_abort;
        if (!running->progress_pending && running->next_progress < next)
            next = running->next_progress;
    }
    return next;
}

//  An ABORT job's outcome: taken, or tried again shortly.
static void
s_on_abort (s_running_t *running, const hv_done_t *done, int64_t now)
{
    running->abort_pending = false;
    if (done->rc < 0)
        log_error ("vm '%s': cannot abort the migration: %s", running->command.vm_name,
                   done->err);
    running->aborted = done->rc == 1;
    running->next_abort = now + S_ABORT_RETRY_MS;
}

//  A PROGRESS job's outcome: a PROGRESS result while the job runs.
static void
s_on_progress (s_running_t *running, const hv_done_t *done, int64_t now, agent_fx_t *fx)
{
    running->progress_pending = false;
    if (done->rc != 1)
        return;
    const wire_command_t *command = &running->command;
    wire_command_result_t result = {
        .id = command->id, .vm_generation = command->vm_generation, .status = RESULT_PROGRESS,
        .data_total = done->progress.data_total,
        .data_processed = done->progress.data_processed,
        .data_remaining = done->progress.data_remaining,
        .elapsed_ms = (uint32_t) (now - running->started) };
    snprintf (result.vm_uuid, sizeof result.vm_uuid, "%s", command->vm_uuid);
    snprintf (result.message, sizeof result.message, "migrating to '%s'", command->target_host);
    s_emit (fx, &result);
}

//  Prefixes result's message with what the agent did to the command (format: "%s" is the
//  hypervisor's message).
static void
s_explain (wire_command_result_t *result, const char *prefix)
{
    char message [sizeof result->message + 64];
    snprintf (message, sizeof message, "%s%s", prefix, result->message);
    snprintf (result->message, sizeof result->message, "%.*s",
              (int) sizeof result->message - 1, message);
}

//  A COMMAND job's outcome: the result goes out, is remembered, the slot is free.
static void
s_on_command (commands_t *self, s_running_t *running, const hv_done_t *done, int64_t now,
              agent_fx_t *fx)
{
    wire_command_result_t result = done->result;
    if (running->aborted && !running->timed_out && result.status == RESULT_FAILED)
        s_explain (&result, "aborted on request: ");
    if (running->timed_out && result.status == RESULT_FAILED) {
        char prefix [64];
        snprintf (prefix, sizeof prefix, "timed out after %" PRIu32 " ms and aborted: ",
                  running->command.timeout_ms);
        s_explain (&result, prefix);
    }
    log_info ("vm '%s': %s %s in %" PRIu32 " ms: %s", running->command.vm_name,
              command_action_name (running->command.action), command_status_name (result.status),
              result.elapsed_ms, result.message);
    running->used = false;
    s_remember (self, &result);
    s_emit (fx, &result);
    s_dispatch (self, now, fx);
}

void
commands_on_done (commands_t *self, const hv_done_t *done, int64_t now, agent_fx_t *fx)
{
    hv_job_kind_t kind = done->job.kind;
    if (kind != HV_JOB_COMMAND && kind != HV_JOB_ABORT && kind != HV_JOB_PROGRESS)
        return;
    s_running_t *running = s_running_of (self, &done->job);
    if (!running) {
        //  A progress or abort answer that crossed the command's own result.
        log_debug ("ignored the outcome of a %s job for command %" PRIu64 " on worker %d: "
                   "not running there", hv_job_kind_name (kind), done->job.command.id,
                   done->job.worker);
        return;
    }
    if (kind == HV_JOB_ABORT)
        s_on_abort (running, done, now);
    else
    if (kind == HV_JOB_PROGRESS)
        s_on_progress (running, done, now, fx);
    else
        s_on_command (self, running, done, now, fx);
}
