/*  ha.h - the leader's half of HA (DESIGN.md §5): leases, witness sets, the dead verdict.

    Pure, like place.c: functions of (model, inputs, now) that append messages to send,
    fence requests and mutations; no clock, socket or database.

    - Leader lease (§5.1): every RENEW of an admitted host is answered with a GRANT of
      lease_ms; the agent measures it from its send time.
    - Witness sets (§5.2): the hosts that have a witness endpoint and a key, in name order,
      form a ring; a host's witnesses are every other host when there are at most k + 1, else
      the k hosts after it. A dead host leaves the ring, but the members that would be its
      witnesses if it registered again already watch it (so a returning host is granted
      before the leader reaches everyone with new sets: a witness the leader cannot reach,
      or a leader that dies then, would otherwise refuse it, and in a small ring every
      host's majority needs every other host). Each host is sent its set (whom it renews
      from, whom it watches) in a LEASE_CONFIG until a RENEW echoes the version. Until then
      the host may still hold an older set: the verdict below must hold for every set it may
      hold. A host that holds an earlier leader's set is sent this leader's only once it
      holds this leader's lease (a new set takes effect at once, and its majority may need
      grants the host has none of yet).
    - Dead (§5.4, §5.6): a host that is not up is declared dead when (a) the leader has not
      heard it for dead_after_ms, (b) this leader has led for dead_after_ms, and (c) for every
      witness set the host may hold, enough of its witnesses have reported its current
      registration silent and blocked that it cannot hold leases from more than half of
      them: more than half, or for a set it was sent with an even number of witnesses,
      half (a witness this leader declared dead counts as silent from lease_ms +
      margin_ms after its verdict; a ring member's set without witnesses needs nothing
      but (a)). A host outside the ring, and a host with a fence device but no watchdog
      (nothing ends its VMs if its agent dies), can only be declared dead by its fence
      agent. A host this leader has never configured is taken to hold the set the ring
      gives it now (a guess, kept current while it is one).
    - Fence agents (§5.5): a host with a fence device that falls silent (suspect: the leader
      and at least half of its witnesses have not heard it for suspect_after_ms) and may run
      an HA VM is fenced; a confirmed power-off declares it dead at once, a failure is asked
      again S_FENCE_RETRY_MS later and meanwhile leaves the lease rule to decide (for a
      host with a watchdog).
    - Timeline: every step of a failover becomes a MUTATION_HOST_EVENT (ha_note_event keeps
      the latest ones of each host in memory for `host show`).

    The dead verdict itself only changes the host's state; what it means for the VMs (their
    may-run entries on the host are cleared, they are restarted elsewhere) is reconcile's job
    (reconcile_host_dead), which the core calls for each host this module declares dead.
*/
#ifndef VMSCHED_HA_H
#define VMSCHED_HA_H

#include "model.h"
#include "vec.h"

#include <stdbool.h>
#include <stdint.h>

#define HA_TIMELINE_MAX 64              // timeline entries kept per host in memory

typedef struct {
    char profile [16];                  // the profile the timings began from (`status`)
    int64_t renew_ms;                   // h: agents renew this often
    int64_t lease_ms;                   // L: a grant's length
    int64_t fence_ms;                   // F: an isolated host kills its HA VMs within this
    int64_t watchdog_ms;                // W: a host that stops petting resets within this
    int64_t margin_ms;                  // clock drift and scheduling slack
    int64_t dead_after_ms;              // D: silence before a host may be declared dead
    int64_t suspect_after_ms;           // silence after which a fence agent may be used
    uint32_t witnesses;                 // k: witnesses per host in a large cluster (odd)
    bool allow_unfenced_hosts;          // HA VMs may run on hosts without watchdog or fence
} ha_config_t;

//  The documented timing profiles: "default" (h 500, L 2000, F 1000, W 3000, margin 500,
//  D 7000 ms) and "conservative" (h 1000, L 5000, F 2000, W 10000, margin 2000, D 20000),
//  with config->profile set to the name. -1 for an unknown name.
int ha_config_profile (ha_config_t *config, const char *profile);

//  D >= L + F + W + margin and D > down_after_ms, h < L, k odd: 0, or -1 with the broken
//  inequality and the numbers in err.
int ha_config_check (const ha_config_t *config, int64_t down_after_ms, char *err,
                     size_t err_size);

//  One message for a host (routed by the core).
typedef struct {
    char host_id [WIRE_ID_SIZE];
    wire_msg_t msg;
} ha_send_t;

typedef struct ha ha_t;

//  A leader that began leading at now, in epoch (config versions start at epoch << 32).
//  fenced_names: hosts with a fence agent (borrowed list of count names, copied).
ha_t *ha_new (const ha_config_t *config, uint64_t epoch, int64_t now,
              const char *const *fenced_names, size_t fenced_count);
void ha_destroy (ha_t **self_p);

const ha_config_t *ha_config (const ha_t *self);

//  True when host has a fence agent configured.
bool ha_host_fence_device (const ha_t *self, const host_t *host);

//  True when host has a watchdog or a fence device (host->live.fence_device, which ha_tick
//  keeps current): an HA VM may be placed there without ha.allow_unfenced_hosts.
bool ha_host_protected (const host_t *host);

//  An admitted host's RENEW at now: fills grant (a GRANT for the peer) and takes the config
//  version it echoes as acknowledged. From then on, for lease_ms, ha_tick marks the host
//  leased (host->live.leased): HA VMs are placed only on leased hosts (its agent refuses
//  to start one without a lease).
void ha_on_renew (ha_t *self, const host_t *host, const wire_renew_t *renew, int64_t now,
                  wire_msg_t *grant);

//  An admitted host's WITNESS_REPORT: records which watched peers it reports silent.
void ha_on_witness_report (ha_t *self, model_t *model, const host_t *witness,
                           const wire_witness_report_t *report, int64_t now, int64_t wall,
                           mutations_t *out);

//  Time passes: lease configs to (re)send go to sends (ha_send_t), fence requests to
//  fences (host names, char [WIRE_NAME_SIZE]), hosts declared dead to dead (host ids,
//  char [WIRE_ID_SIZE]); mutations (state changes, timeline) to out. may_run_ha(host) tells
//  whether an HA VM may run on a host (fencing is only worth it then).
typedef bool (ha_may_run_fn) (void *arg, const host_t *host);
void ha_tick (ha_t *self, model_t *model, ha_may_run_fn *may_run_ha, void *arg, int64_t now,
              int64_t wall, vec_t *sends, vec_t *fences, vec_t *dead, mutations_t *out);

//  The outcome of a fence request for host name: confirmed off declares it dead (its id
//  goes to dead), a failure is recorded and leaves the lease rule.
void ha_on_fence_result (ha_t *self, model_t *model, const char *name, bool confirmed,
                         const char *reason, int64_t wall, vec_t *dead, mutations_t *out);

//  Records a timeline entry (pushes the mutation; the in-memory copy follows ha_note).
void ha_event (const char *host_id, const char *kind, int64_t wall, mutations_t *out,
               const char *fmt, ...) __attribute__ ((format (printf, 5, 6)));

//  Keeps a committed (or loaded) timeline entry in memory. 0, or -1 out of memory.
int ha_note (ha_t *self, const host_event_record_t *event);

//  Forget the timelines in memory (they are read back from the store); the lease state
//  stays.
void ha_forget_timelines (ha_t *self);

//  The host's timeline entries in memory, oldest first (borrowed, NULL when none).
const vec_t *ha_timeline (const ha_t *self, const char *host_id);

//  Hosts without a watchdog and without a fence device (for `status`): fills up to max
//  names and returns how many there are.
size_t ha_unprotected_hosts (model_t *model, const char **names, size_t max);

#endif
