/*  commands.h - the agent's side of the command protocol: fencing, queueing, progress.

    Part of the pure agent core (agent_core.h owns one): driven by `now`, COMMAND messages
    and job outcomes, it returns effects (agent_fx.h) and never calls the hypervisor, a
    socket or a clock itself.

    Every command from the scheduler passes through here. It is refused as STALE when its
    leader epoch is older than the newest the agent has seen, when it is meant for another
    registration (host generation), or when its VM generation is older than one already
    seen for that VM; this is what makes a deposed or confused scheduler harmless. A command
    already running or queued is acknowledged again, one recently finished gets its result
    again (commands are re-sent until answered, and must be idempotent). Accepted commands
    become COMMAND jobs, one per worker slot at a time and one at a time per VM; ABORT is
    answered at once. While a migration runs, its progress is asked for (PROGRESS jobs) and
    reported, and its timeout enforced (ABORT jobs until the hypervisor took the abort).

    Results leave as WIRE_COMMAND_RESULT messages in fx, not yet stamped (the core stamps
    every message before its entry point returns).
*/
#ifndef VMSCHED_COMMANDS_H
#define VMSCHED_COMMANDS_H

#include "agent_fx.h"

#include <stddef.h>
#include <stdint.h>

typedef struct commands_t commands_t;

//  A dispatcher for `workers` worker slots (at least 1). NULL when out of memory.
commands_t *commands_new (int workers);

//  Free; queued commands are dropped (the scheduler re-sends). NULL-safe.
void commands_destroy (commands_t **self_p);

//  The scheduler's epoch as told by WELCOME (commands from older epochs become stale).
void commands_note_epoch (commands_t *self, uint64_t epoch);

//  Handle one command for the agent's current registration `generation` (0: not
//  registered) at now; leased: the host holds a lease (an HA START is refused without it).
//  Appends the immediate answer (ACCEPTED, STALE, a repeated result, or DONE/FAILED for
//  ABORT) and, when a worker is free, the COMMAND job.
void commands_receive (commands_t *self, const wire_command_t *command, uint64_t generation,
                       bool leased, int64_t now, agent_fx_t *fx);

//  Start queued commands on idle worker slots, ask for migration progress, enforce
//  timeouts (ABORT jobs).
void commands_tick (commands_t *self, int64_t now, agent_fx_t *fx);

//  The outcome of a COMMAND, ABORT or PROGRESS job (other kinds are ignored): the result
//  goes to the scheduler, the slot is free again, the next queued command starts.
void commands_on_done (commands_t *self, const hv_done_t *done, int64_t now, agent_fx_t *fx);

//  When commands_tick next has something to do (a progress report or timeout of a running
//  migration); INT64_MAX when nothing is waiting for time.
int64_t commands_next_deadline (const commands_t *self);

//  The agent's registration changed (generation: the new one, 0 while it registers again):
//  queued commands of another generation are answered STALE and dropped, never begun.
//  Running ones go on (they began under their own registration).
void commands_refuse_stale (commands_t *self, uint64_t generation, agent_fx_t *fx);

//  At shutdown: drop queued commands (running ones go on until their outcome arrives;
//  timeouts are still enforced by commands_tick).
void commands_drop_queued (commands_t *self);

//  Commands queued or running (tests, logs, shutdown).
size_t commands_pending (const commands_t *self);

#endif
