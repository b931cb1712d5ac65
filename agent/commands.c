/*  commands.c - the agent's side of the command protocol (see commands.h).

    Owns the queue of accepted commands, the table of running ones (one slot per worker),
    the newest VM generation seen per VM, and a ring of recent results for repeats.
*/
#include "commands.h"
#include "clock.h"
#include "log.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define S_RECENT            64      // finished results kept for repeated commands
#define S_PROGRESS_MS       500     // migration progress report interval
#define S_MAX_QUEUE         1024    // accepted commands waiting for a worker

//  A command running on a worker.
typedef struct {
    bool used;                  // slot holds a running command
    wire_command_t command;     // copy (domain_xml not kept)
    int64_t started;            // boot ms
    int64_t next_progress;      // boot ms of the next progress report
    bool timed_out;             // the timeout aborted it
    bool abort_wanted;          // abort (requested or timed out) until the job took it
    bool aborted;               // an abort took: the failure is the abort's doing
} s_running_t;

struct commands_t {
    executor_t *executor;       // borrowed
    hv_t *hv;                   // borrowed: the agent's handle
    commands_emit_fn *emit;     // where results go
    void *emit_arg;             // its argument
    uint64_t max_epoch;         // newest leader epoch seen
    zhashx_t *vm_generations;   // uuid -> newest VM generation seen (uint64_t *, owned)
    wire_command_t *queue;      // owned FIFO of accepted commands (with their xml)
    size_t queued;              // entries of queue
    s_running_t *running;       // one slot per worker
    wire_command_result_t recent [S_RECENT];    // ring of finished results
    size_t recent_next;         // next ring slot
};

static void
s_free_generation (void **item)
{
    free (*item);
    *item = NULL;
}

commands_t *
commands_new (executor_t *executor, hv_t *hv, commands_emit_fn *emit, void *arg)
{
    commands_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->executor = executor;
    self->hv = hv;
    self->emit = emit;
    self->emit_arg = arg;
    self->vm_generations = zhashx_new ();
    self->running = calloc ((size_t) executor_size (executor), sizeof *self->running);
    self->queue = calloc (S_MAX_QUEUE, sizeof *self->queue);
    if (!self->vm_generations || !self->running || !self->queue) {
        commands_destroy (&self);
        return NULL;
    }
    zhashx_set_destructor (self->vm_generations, s_free_generation);
    return self;
}

void
commands_destroy (commands_t **self_p)
{
    commands_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->queued; i++)
        free (self->queue [i].domain_xml);
    free (self->queue);
    free (self->running);
    zhashx_destroy (&self->vm_generations);
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
    for (int i = 0; i < executor_size (self->executor); i++)
        count += self->running [i].used;
    return count;
}

//  --------------------------------------------------------------------------
//  Answers

static void
s_answer (commands_t *self, const wire_command_t *command, command_status_t status,
          const char *fmt, ...) __attribute__ ((format (printf, 4, 5)));

static void
s_answer (commands_t *self, const wire_command_t *command, command_status_t status,
          const char *fmt, ...)
{
    wire_command_result_t result = { .id = command->id, .vm_generation = command->vm_generation,
                                     .status = status };
    snprintf (result.vm_uuid, sizeof result.vm_uuid, "%s", command->vm_uuid);
    va_list args;
    va_start (args, fmt);
    vsnprintf (result.message, sizeof result.message, fmt, args);
    va_end (args);
    self->emit (self->emit_arg, &result);
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
    uint64_t *seen = zhashx_lookup (self->vm_generations, command->vm_uuid);
    if (seen && command->vm_generation < *seen) {
        snprintf (why, size, "vm generation %" PRIu64 " is older than %" PRIu64,
                  command->vm_generation, *seen);
        return why;
    }
    self->max_epoch = command->leader_epoch;
    if (!seen) {
        seen = calloc (1, sizeof *seen);
        if (seen)
            zhashx_insert (self->vm_generations, command->vm_uuid, seen);
    }
    if (seen)
        *seen = command->vm_generation;
    return NULL;
}

//  True when the command (same id) is already queued or running, or recently finished
//  (its result is then emitted again).
static bool
s_repeat (commands_t *self, const wire_command_t *command)
{
    for (size_t i = 0; i < self->queued; i++)
        if (self->queue [i].id == command->id) {
            s_answer (self, command, RESULT_ACCEPTED, "queued");
            return true;
        }
    for (int i = 0; i < executor_size (self->executor); i++)
        if (self->running [i].used && self->running [i].command.id == command->id) {
            s_answer (self, command, RESULT_ACCEPTED, "running");
            return true;
        }
    for (size_t i = 0; i < S_RECENT; i++)
        if (self->recent [i].id == command->id
        &&  strcmp (self->recent [i].vm_uuid, command->vm_uuid) == 0) {
            self->emit (self->emit_arg, &self->recent [i]);
            return true;
        }
    return false;
}

static void
s_abort (commands_t *self, const wire_command_t *command)
{
    //  A migration still queued never starts: its own answer says so.
    for (size_t i = 0; i < self->queued; i++) {
        wire_command_t *queued = &self->queue [i];
        if (queued->action == COMMAND_MIGRATE
        &&  strcmp (queued->vm_uuid, command->vm_uuid) == 0) {
            s_answer (self, queued, RESULT_FAILED, "aborted on request before it started");
            free (queued->domain_xml);
            memmove (queued, queued + 1, (self->queued - i - 1) * sizeof *queued);
            self->queued--;
            s_answer (self, command, RESULT_DONE, "queued migration cancelled");
            return;
        }
    }
    //  A running one is aborted on every tick until its job took the abort (a job that has
    //  not begun yet cannot be aborted).
    for (int i = 0; i < executor_size (self->executor); i++) {
        s_running_t *running = &self->running [i];
        if (running->used && running->command.action == COMMAND_MIGRATE
        &&  strcmp (running->command.vm_uuid, command->vm_uuid) == 0) {
            running->abort_wanted = true;
            log_info ("vm '%s': abort of the migration requested", command->vm_name);
            s_answer (self, command, RESULT_DONE, "abort requested");
            return;
        }
    }
    s_answer (self, command, RESULT_DONE, "no migration running");
}

void
commands_receive (commands_t *self, const wire_command_t *command, uint64_t generation,
                  int64_t now)
{
    (void) now;
    char why [WIRE_TEXT_SIZE];
    const char *stale = s_stale (self, command, generation, why, sizeof why);
    if (stale) {
        log_warn ("refused %s of vm '%s' (command %" PRIu64 "): stale: %s",
                  command_action_name (command->action), command->vm_name, command->id, stale);
        s_answer (self, command, RESULT_STALE, "stale: %s", stale);
        return;
    }
    if (s_repeat (self, command))
        return;
    if (command->action == COMMAND_ABORT) {
        s_abort (self, command);
        return;
    }
    if (self->queued == S_MAX_QUEUE) {
        s_answer (self, command, RESULT_FAILED, "agent busy: %d commands queued", S_MAX_QUEUE);
        return;
    }
    wire_command_t *slot = &self->queue [self->queued];
    *slot = *command;
    slot->domain_xml = command->domain_xml? strdup (command->domain_xml): NULL;
    if (command->domain_xml && !slot->domain_xml) {
        s_answer (self, command, RESULT_FAILED, "agent out of memory");
        return;
    }
    self->queued++;
    log_info ("vm '%s': %s accepted (command %" PRIu64 ")", command->vm_name,
              command_action_name (command->action), command->id);
    s_answer (self, command, RESULT_ACCEPTED, "accepted");
}

//  --------------------------------------------------------------------------
//  Running

static bool
s_vm_busy (const commands_t *self, const char *uuid)
{
    for (int i = 0; i < executor_size (self->executor); i++)
        if (self->running [i].used && strcmp (self->running [i].command.vm_uuid, uuid) == 0)
            return true;
    return false;
}

//  Starts the oldest queued commands whose VM is not busy, while workers are idle.
static void
s_dispatch (commands_t *self, int64_t now)
{
    for (size_t i = 0; i < self->queued; ) {
        wire_command_t *command = &self->queue [i];
        if (s_vm_busy (self, command->vm_uuid)) {
            i++;
            continue;
        }
        int worker = executor_submit (self->executor, command);
        if (worker < 0)
            return;                         // all busy
        s_running_t *running = &self->running [worker];
        running->used = true;
        running->command = *command;
        running->command.domain_xml = NULL;
        running->started = now;
        running->next_progress = now + S_PROGRESS_MS;
        running->timed_out = false;
        running->abort_wanted = false;
        running->aborted = false;
        free (command->domain_xml);
        memmove (command, command + 1, (self->queued - i - 1) * sizeof *command);
        self->queued--;
    }
}

//  Progress and timeout of one running migration.
static void
s_watch_migration (commands_t *self, s_running_t *running, int64_t now)
{
    const wire_command_t *command = &running->command;
    if (command->timeout_ms && !running->timed_out
    &&  now - running->started > (int64_t) command->timeout_ms) {
        running->timed_out = true;
        running->abort_wanted = true;
        log_warn ("vm '%s': migration to '%s' still running after %" PRIu32 " ms; aborting",
                  command->vm_name, command->target_host, command->timeout_ms);
    }
    if (running->abort_wanted && !running->aborted) {
        //  The job may not have begun yet: try again on the next tick until it took.
        char err [WIRE_TEXT_SIZE];
        int aborted = hv_abort_job (self->hv, command->vm_uuid, err, sizeof err);
        if (aborted < 0)
            log_error ("vm '%s': cannot abort the migration: %s", command->vm_name, err);
        running->aborted = aborted == 1;
    }
    if (now < running->next_progress)
        return;
    running->next_progress = now + S_PROGRESS_MS;
    hv_progress_t progress;
    char err [WIRE_TEXT_SIZE];
    if (hv_progress (self->hv, command->vm_uuid, &progress, err, sizeof err) != 1)
        return;
    wire_command_result_t result = {
        .id = command->id, .vm_generation = command->vm_generation, .status = RESULT_PROGRESS,
        .data_total = progress.data_total, .data_processed = progress.data_processed,
        .data_remaining = progress.data_remaining,
        .elapsed_ms = (uint32_t) (now - running->started) };
    snprintf (result.vm_uuid, sizeof result.vm_uuid, "%s", command->vm_uuid);
    snprintf (result.message, sizeof result.message, "migrating to '%s'", command->target_host);
    self->emit (self->emit_arg, &result);
}

void
commands_tick (commands_t *self, int64_t now)
{
    s_dispatch (self, now);
    for (int i = 0; i < executor_size (self->executor); i++)
        if (self->running [i].used && self->running [i].command.action == COMMAND_MIGRATE)
            s_watch_migration (self, &self->running [i], now);
}

void
commands_finished (commands_t *self, int worker, int64_t now)
{
    executor_done_t done;
    if (executor_collect (self->executor, worker, &done))
        return;
    s_running_t *running = &self->running [worker];
    wire_command_result_t *result = &done.result;
    if (running->used && running->aborted && !running->timed_out
    &&  result->status == RESULT_FAILED) {
        char message [sizeof result->message + 64];
        snprintf (message, sizeof message, "aborted on request: %s", result->message);
        snprintf (result->message, sizeof result->message, "%.*s",
                  (int) sizeof result->message - 1, message);
    }
    if (running->used && running->timed_out && result->status == RESULT_FAILED) {
        char message [sizeof result->message + 64];
        snprintf (message, sizeof message, "timed out after %" PRIu32 " ms and aborted: %s",
                  running->command.timeout_ms, result->message);
        snprintf (result->message, sizeof result->message, "%.*s",
                  (int) sizeof result->message - 1, message);
    }
    log_info ("vm '%s': %s %s in %" PRIu32 " ms: %s", running->command.vm_name,
              command_action_name (running->command.action), command_status_name (result->status),
              result->elapsed_ms, result->message);
    running->used = false;
    s_remember (self, result);
    self->emit (self->emit_arg, result);
    s_dispatch (self, now);
}

void
commands_drain (commands_t *self)
{
    //  Queued commands are dropped (the scheduler re-sends them to the next agent process);
    //  running ones finish, migrations within their timeout (enforced here as in the loop).
    for (size_t i = 0; i < self->queued; i++)
        free (self->queue [i].domain_xml);
    self->queued = 0;
    int count = executor_size (self->executor);
    zmq_pollitem_t items [count];
    while (commands_pending (self)) {
        int64_t now = clock_boottime_ms ();
        for (int i = 0; i < count; i++) {
            if (self->running [i].used && self->running [i].command.action == COMMAND_MIGRATE)
                s_watch_migration (self, &self->running [i], now);
            items [i] = (zmq_pollitem_t) { zsock_resolve (executor_socket (self->executor, i)),
                                           0, ZMQ_POLLIN, 0 };
        }
        if (zmq_poll (items, count, 50) < 0) {
            log_error ("cannot wait for the running commands: %s", zmq_strerror (zmq_errno ()));
            break;
        }
        for (int i = 0; i < count; i++)
            if (items [i].revents & ZMQ_POLLIN)
                commands_finished (self, i, clock_boottime_ms ());
    }
}
