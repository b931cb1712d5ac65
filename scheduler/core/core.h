/*  core.h - the scheduler's decision core: the entry points the daemon and the simulator
    drive.

    Owns the observed cluster (model), the desired state (managed), the leader's reconcile
    settings and the counters of refused agent messages. Three calls move it: core_on_agent
    (one validated agent message, with the key that sent it), ctl_on_request (ctl/, the same
    shape, over this core) and core_tick (time passes). Each takes `now` (boot ms) and `wall`
    (wall ms) and fills an fx_t with what must happen next: mutations to commit, then
    messages to send to peers. The core never reads a clock, a socket or the database, and
    knows an agent's connection only as an opaque peer id (DESIGN.md §2).
*/
#ifndef VMSCHED_CORE_H
#define VMSCHED_CORE_H

#include "ha.h"
#include "managed.h"
#include "model.h"
#include "reconcile.h"
#include "vec.h"

//  One message to send, after the commit.
typedef struct {
    uint64_t peer;                  // destination connection (opaque, from core_on_agent)
    wire_msg_t msg;                 // the message; a COMMAND's domain_xml is borrowed from
                                    // the core until its next entry point returns
} fx_send_t;

//  The effects of one entry point: commit mutations, then send messages and ask for fencing
//  (never otherwise).
typedef struct {
    mutations_t mutations;          // mutation_t, in order
    vec_t sends;                    // fx_send_t, in order
    vec_t fences;                   // char [WIRE_NAME_SIZE]: hosts whose fence agent must
                                    // power them off (answer with core_on_fence_result)
} fx_t;

typedef struct {
    model_timing_t timing;          // silence thresholds (suspect, down)
    uint32_t heartbeat_ms;          // heartbeat interval told to agents in WELCOME
    int64_t report_request_ms;      // ask a host that has not reported at most this often
    reconcile_config_t reconcile;   // placement policy, operation settings, leader epoch
    ha_config_t ha;                 // leases, witnesses, the dead verdict
    int64_t leading_since;          // boot ms this scheduler began leading
    const char *const *fence_hosts; // names of the hosts with a fence agent (borrowed by
    size_t fence_host_count;        // core_new only)
} core_config_t;

//  Counters for `status`.
typedef struct {
    uint64_t refused;               // agent messages refused (stale, unknown, impersonating)
} core_stats_t;

typedef struct core core_t;

//  An empty effects list / forget its entries (keeps the storage) / free it.
void fx_init (fx_t *fx);
void fx_clear (fx_t *fx);
void fx_free (fx_t *fx);

//  A core with an empty cluster (load it with core_model / core_managed before the first
//  entry point). NULL when out of memory.
core_t *core_new (const core_config_t *config);

//  Free the core and its model and desired state. NULL-safe; sets *self_p = NULL.
void core_destroy (core_t **self_p);

//  Forget the cluster and desired state (an empty model and managed, outbox cleared, the
//  timelines in memory), for a reload from the store after a failed commit. The
//  configuration, counters and lease state stay. 0, or
//  -1 when out of memory (the old state is kept).
int core_reset (core_t *self);

//  The state, borrowed: for loading at start-up, for the ctl handlers and for tests.
model_t *core_model (core_t *self);
managed_t *core_managed (core_t *self);
const core_config_t *core_config (const core_t *self);
const core_stats_t *core_stats (const core_t *self);

//  Commands the ctl handlers decided (reconcile_migrate, ...) wait here until core_flush.
outbox_t *core_outbox (core_t *self);

//  One message from an agent connection. principal is the key's entry in the allow list
//  (NULL when the key is no longer allowed). Admission: a host's key speaks only for its
//  host; HELLO registers (a retry of one session keeps its generation), other kinds must
//  carry the current generation and a new sequence number, or are refused (REJECT asks the
//  newest process to register again). Accepted messages change the model; a heartbeat from
//  a host that has not reported yet is answered with REPORT_REQUEST.
void core_on_agent (core_t *self, uint64_t peer, const principal_record_t *principal,
                    const wire_msg_t *msg, int64_t now, int64_t wall, fx_t *fx);

//  Time passes: ages hosts' silence, sends lease configs, asks for fencing, declares hosts
//  dead (ha.h), reconciles, routes the decided commands.
void core_tick (core_t *self, int64_t now, int64_t wall, fx_t *fx);

//  What a fence agent did for host name (fx_t.fences): confirmed power-off or not (reason).
void core_on_fence_result (core_t *self, const char *name, bool confirmed, const char *reason,
                           int64_t now, int64_t wall, fx_t *fx);

//  The mutations in fx were committed: the timeline entries among them are kept in memory.
void core_committed (core_t *self, const fx_t *fx);

//  The HA state (timelines, fence devices), borrowed.
ha_t *core_ha (core_t *self);

//  Routes the commands waiting in the core's outbox to their hosts' peers (a host not heard
//  from since the scheduler started gets nothing: the reconciler sends again).
void core_flush (core_t *self, fx_t *fx);

#endif
