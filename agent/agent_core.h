/*  agent_core.h - the pure agent: registration, deadlines, reports, events and commands.

    Everything the agent decides lives here, as a function of (its state, the input, now):
    the registration state machine (HELLO until the WELCOME that answers the newest HELLO,
    or a later registration of an earlier one; REJECT handling; and registering again, with
    a session derived anew, when the lease lapsed in a registration, since only a new
    registration releases a latched fencer), heartbeat and report deadlines, the hypervisor connection with its
    reconnect backoff, turning lifecycle notes into EVENTs, and the command protocol with its
    (leader epoch, host generation, VM generation) fencing (commands.h). Its inputs are
    scheduler messages, hypervisor facts (notes from the notification pipe, outcomes of jobs
    it asked for) and the passing of time; its outputs are effects (agent_fx.h): stamped
    messages for the scheduler and hypervisor jobs.

    It never includes czmq, zmq or libvirt, never reads a clock and has no random source:
    time comes in as `now` (milliseconds of one monotonic clock, any origin), the session id
    in the config. So the daemon's shell (agent.c) and a simulator on a virtual clock drive
    the same code. Nothing here blocks: every hypervisor call is a job somebody else runs,
    which is why a hung hypervisor cannot delay a heartbeat. The core keeps at most one
    CONNECT and one LIST job, one ABORT and one PROGRESS job per running migration and
    S_MAX_LOOKUPS (agent_core.c) LOOKUP jobs outstanding, so the queue of jobs on the agent's
    connection stays bounded however long the hypervisor hangs.

    Driving it: call agent_core_tick at or after agent_core_next_deadline (calling it more
    often is harmless), agent_core_on_message for every decoded scheduler message,
    agent_core_on_note for every notification-pipe note, agent_core_on_done for every job
    outcome; after each call execute fx's messages and jobs in order and clear it.
*/
#ifndef VMSCHED_AGENT_CORE_H
#define VMSCHED_AGENT_CORE_H

#include "agent_fx.h"
#include "hv.h"
#include "lease.h"
#include "wire.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

//  What the core is told at birth; the shell gathers it (files, random numbers, config).
typedef struct {
    char name [WIRE_NAME_SIZE];             // host name in the cluster
    char host_id [WIRE_ID_SIZE];            // persistent host identity (a uuid)
    char boot_id [WIRE_ID_SIZE];            // kernel boot id ("" when unknown)
    uint64_t session;                       // random per process start (never 0)
    char hypervisor_uri [WIRE_TEXT_SIZE];   // the hypervisor's URI (HELLO, logs)
    char migration_uri [WIRE_TEXT_SIZE];    // where peers migrate to ("" = qemu+tls://NAME/system)
    char agent_version [WIRE_NAME_SIZE];    // announced in HELLO
    int64_t heartbeat_ms;                   // heartbeat interval until WELCOME sets one
    int64_t report_ms;                      // full report interval
    int64_t hello_retry_ms;                 // HELLO retry interval while unanswered
    int workers;                            // command worker slots (at least 1)
    uint32_t cpus;                          // capacity override: CPUs (0 = hypervisor's)
    uint64_t memory_mib;                    // capacity override: memory (0 = hypervisor's)
    char witness_endpoint [WIRE_TEXT_SIZE]; // where peers reach this host's witness ("")
    char watchdog [WIRE_TEXT_SIZE];         // "none", "device PATH", "file PATH" (HELLO)
    int64_t restored_lease_until;           // connected_until an earlier process of this
                                            // boot left (0: none)
} agent_core_config_t;

//  Counters for tests and logs.
typedef struct {
    uint64_t messages;                      // messages emitted for the scheduler
    uint64_t received;                      // scheduler messages handled
    uint64_t unexpected;                    // scheduler messages of a kind an agent refuses
    uint64_t rejects;                       // REJECTs received
    uint64_t registrations;                 // WELCOMEs accepted
    uint64_t events;                        // EVENTs emitted
    uint64_t reports;                       // REPORTs emitted
    uint64_t hv_connects;                   // successful hypervisor connections
    uint64_t lookups_dropped;               // lifecycle notes not looked up (too many out)
    uint64_t renewals;                      // RENEWs sent (scheduler and witnesses)
    uint64_t grants;                        // grants received that extended a lease
    uint64_t witness_grants;                // witness renewals of peers granted
    uint64_t witness_refusals;              // ... refused
} agent_core_stats_t;

typedef struct agent_core_t agent_core_t;

//  A core that is not registered and not connected; its first tick asks for a CONNECT job.
//  cfg is copied. NULL when out of memory.
agent_core_t *agent_core_new (const agent_core_config_t *cfg);

//  Free; queued commands are dropped. NULL-safe; sets *self_p = NULL.
void agent_core_destroy (agent_core_t **self_p);

//  A decoded message from the scheduler (borrowed) at now: WELCOME, REJECT, COMMAND and
//  REPORT_REQUEST are handled, any other kind is counted as unexpected and logged.
void agent_core_on_message (agent_core_t *self, const wire_msg_t *msg, int64_t now,
                            agent_fx_t *fx);

//  A decoded message from a peer agent (witness leases), whose CURVE key authenticated it as
//  host from_host_id: a RENEW of a watched peer is answered (an agent_fx_peer_msg reply),
//  a GRANT of one of this host's witnesses extends that lease; anything else is refused.
void agent_core_on_peer_message (agent_core_t *self, const char *from_host_id,
                                 const wire_msg_t *msg, int64_t now, agent_fx_t *fx);

//  The witness blocks (lease.h) waiting to be saved: the shell writes the whole list
//  (agent_core_lease (self)->blocks) to disk, then calls agent_core_blocks_saved; only
//  saved blocks are reported to the scheduler.
size_t agent_core_blocks_unsaved (const agent_core_t *self);
void agent_core_blocks_saved (agent_core_t *self);

//  A block saved by an earlier process (at start-up). 0, or -1 when out of memory.
int agent_core_load_block (agent_core_t *self, const char *host_id, uint64_t generation);

//  Until when (boot ms) the host is connected (holds the leader lease or a majority of its
//  witness leases): what the fencer acts on. The lease state, borrowed, for the shell.
int64_t agent_core_connected_until (const agent_core_t *self);
const lease_t *agent_core_lease (const agent_core_t *self);

//  A note from the hypervisor's notification pipe (a lifecycle event or connection loss).
void agent_core_on_note (agent_core_t *self, const hv_note_t *note, int64_t now,
                         agent_fx_t *fx);

//  The outcome of a job the core asked for. May take done->domains (setting it NULL); the
//  caller frees what remains (hv_done_reset). Outcomes of jobs from before a reconnection
//  or a re-registration are ignored.
void agent_core_on_done (agent_core_t *self, hv_done_t *done, int64_t now, agent_fx_t *fx);

//  Whatever is due at now: hypervisor reconnect, HELLO, HEARTBEAT, REPORT, command
//  dispatch, migration progress and timeouts. (Every other entry point also does what is
//  due before it returns.)
void agent_core_tick (agent_core_t *self, int64_t now, agent_fx_t *fx);

//  The earliest time at which agent_core_tick has something to do; INT64_MAX when nothing
//  waits for time (only for inputs).
int64_t agent_core_next_deadline (const agent_core_t *self);

//  Start stopping: queued commands are dropped; from now on only running commands are
//  looked after (timeouts, aborts, results), nothing else is sent or asked for.
void agent_core_stop (agent_core_t *self, int64_t now, agent_fx_t *fx);

//  Commands queued or running (the shell waits for them when stopping).
size_t agent_core_pending (const agent_core_t *self);

//  State, for the shell, tests and logs.
uint64_t agent_core_generation (const agent_core_t *self);     // 0 while not registered
uint64_t agent_core_leader_epoch (const agent_core_t *self);   // from the last WELCOME
int64_t  agent_core_heartbeat_ms (const agent_core_t *self);   // current interval
bool     agent_core_hv_connected (const agent_core_t *self);   // as the core believes
const agent_core_stats_t *agent_core_stats (const agent_core_t *self);

#endif
