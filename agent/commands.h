/*  commands.h - the agent's side of the command protocol: fencing, queueing, progress.

    Every command from the scheduler passes through here. It is refused as STALE when its
    leader epoch is older than the newest the agent has seen, when it is meant for another
    registration (host generation), or when its VM generation is older than one already
    seen for that VM; this is what makes a deposed or confused scheduler harmless. A command
    already running or queued is acknowledged again, one recently finished gets its result
    again (commands are re-sent until answered, and must be idempotent). Accepted commands
    run on the executor's workers, one at a time per VM; ABORT is handled at once. While a
    migration runs, its progress is reported and its timeout enforced (by aborting the job).
*/
#ifndef VMSCHED_COMMANDS_H
#define VMSCHED_COMMANDS_H

#include "executor.h"
#include "hv.h"

typedef struct commands_t commands_t;

//  Where results go (the agent sends them to the scheduler).
typedef void (commands_emit_fn) (void *arg, const wire_command_result_t *result);

//  Dispatcher over executor and hv (both borrowed; hv is the agent's own handle, used only
//  for short calls: job progress and abort). NULL when out of memory.
commands_t *commands_new (executor_t *executor, hv_t *hv, commands_emit_fn *emit, void *arg);

//  Free; queued commands are dropped (the scheduler re-sends). NULL-safe.
void commands_destroy (commands_t **self_p);

//  The scheduler's epoch as told by WELCOME (commands from older epochs become stale).
void commands_note_epoch (commands_t *self, uint64_t epoch);

//  Handle one command for the agent's current registration `generation` (0: not
//  registered) at boot ms now. Emits the immediate answer (ACCEPTED, STALE, a repeated
//  result, or DONE/FAILED for ABORT).
void commands_receive (commands_t *self, const wire_command_t *command, uint64_t generation,
                       int64_t now);

//  Start queued commands on idle workers, report migration progress, enforce timeouts.
void commands_tick (commands_t *self, int64_t now);

//  Worker `worker` has finished (its socket is readable): emit the result.
void commands_finished (commands_t *self, int worker, int64_t now);

//  At shutdown: drop queued commands and wait for the running ones, still aborting
//  migrations that pass their timeout; results are emitted as usual.
void commands_drain (commands_t *self);

//  Commands queued or running (tests, logs).
size_t commands_pending (const commands_t *self);

#endif
