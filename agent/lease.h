/*  lease.h - the agent's leases and its witness duties (DESIGN.md §5.1-5.4), pure.

    A host may keep HA VMs running only while it is *connected*: while it holds the leader
    lease or leases from a majority of its witnesses. Every lease is measured on this host's
    boot clock from the moment the renewal that was granted was *sent*, so delay can only
    shorten it. The agent renews from the leader and from each witness every renew_ms; a
    grant extends that grantor's lease to send time + lease_ms. lease_connected_until is the
    one number the fencer thread (fencer.h) acts on.

    The other half: this host watches the peers the scheduler assigned to it. It grants a
    watched peer's renewal only while it is itself connected and has not blocked that peer's
    registration. A watched peer silent for dead_after_ms is blocked (its host id and
    generation): the block must reach this host's disk (the shell saves lease_blocks and calls
    lease_blocks_saved) before the host reports the peer silent to the scheduler, and it is
    never granted again in that generation, also after an agent restart (the shell loads the
    saved blocks). Together with D >= L + F + W + margin, that makes any majority of a host's
    witnesses that report it silent a proof that it has fenced itself (§5.4).

    No clock, no I/O: times are boot ms passed in, as everywhere in the agent core.
*/
#ifndef VMSCHED_LEASE_H
#define VMSCHED_LEASE_H

#include "vec.h"
#include "wire.h"

#include <stdbool.h>
#include <stdint.h>

#define LEASE_SENT_MAX 8                // renewals remembered per grantor (older: no grant)

//  A watched peer silent this long is reported (not blocked yet): the leader may fence it.
#define LEASE_SILENT_MS(lease) (2 * (lease)->renew_ms)

//  One renewal sent, waiting for its grant.
typedef struct {
    uint64_t id;                        // the renewal's id (0: free slot)
    int64_t sent;                       // boot ms it was sent
} lease_sent_t;

//  Someone this host renews a lease from: the leader (host_id "") or a witness.
typedef struct {
    wire_witness_peer_t peer;           // the witness (empty for the leader)
    lease_sent_t sent [LEASE_SENT_MAX]; // recent renewals (ring)
    uint32_t next_slot;                 // where the next one goes
    int64_t until;                      // lease held until (boot ms; INT64_MIN: none)
} lease_grantor_t;

//  A peer this host watches and grants to.
typedef struct {
    wire_witness_peer_t peer;           // its identity and current registration
    int64_t last_heard;                 // boot ms of its last renewal (or of being assigned)
} lease_watched_t;

//  A watched peer's registration found silent for dead_after_ms: never granted again.
typedef struct {
    char host_id [WIRE_ID_SIZE];        // the peer
    uint64_t generation;                // its registration (older ones are blocked too)
    bool saved;                         // on disk: may be reported
    int64_t since;                      // boot ms it was blocked (0 when loaded from disk)
} lease_block_t;

typedef struct {
    uint64_t config_version;            // the scheduler's lease config in force (0: none)
    int64_t renew_ms;                   // h
    int64_t lease_ms;                   // L
    int64_t dead_after_ms;              // D
    lease_grantor_t leader;             // the leader lease
    uint32_t witness_count;
    lease_grantor_t witnesses [WIRE_MAX_WITNESSES];
    uint32_t watched_count;
    lease_watched_t watched [WIRE_MAX_WITNESSES];
    vec_t blocks;                       // lease_block_t
} lease_t;

//  A lease state with no config; restored_until (INT64_MIN: none) is the connected_until
//  an earlier agent process of this boot left behind: its leases may still be running, and
//  the fencer must give them that long (never longer).
void lease_init (lease_t *self, int64_t restored_until);
void lease_free (lease_t *self);

//  The scheduler's timing and witness set (version increases). Grantors and watched peers
//  that stay keep their state; a newly watched peer (or a new registration of one) counts
//  its silence from now.
void lease_configure (lease_t *self, const wire_lease_config_t *config, int64_t now);

//  A renewal with id was sent to grantor at now.
void lease_sent (lease_grantor_t *grantor, uint64_t id, int64_t now);

//  A grant arrived from grantor for renewal id: the lease runs to its send time + lease_ms.
//  Unknown or forgotten ids are ignored (false).
bool lease_granted (lease_grantor_t *grantor, uint64_t id, uint32_t lease_ms);

//  The witness of that host id (NULL: not one of ours).
lease_grantor_t *lease_witness (lease_t *self, const char *host_id);

//  Until when (boot ms) this host is connected: the later of the leader lease and the
//  time until which a majority of its witnesses' leases hold.
int64_t lease_connected_until (const lease_t *self);
bool lease_connected (const lease_t *self, int64_t now);

//  A renewal from host_id in its registration generation, at now: true to grant it; false
//  with the reason otherwise (not watched, blocked, an older registration, or this host is
//  not connected itself). Hearing it counts, granted or not, unless it is blocked.
bool lease_may_grant (lease_t *self, const char *host_id, uint64_t generation, int64_t now,
                      char *why, size_t why_size);

//  Blocks every watched peer silent for dead_after_ms at now; returns how many new blocks
//  are waiting to be saved (lease_blocks_unsaved).
size_t lease_check_silence (lease_t *self, int64_t now);
size_t lease_blocks_unsaved (const lease_t *self);

//  The shell saved every block: they may be reported from now on.
void lease_blocks_saved (lease_t *self);

//  Blocks loaded from disk at start-up (saved already). 0, or -1 out of memory.
int lease_load_block (lease_t *self, const char *host_id, uint64_t generation);

//  The silent watched peers to report at now: blocked ones once saved, others when silent
//  for LEASE_SILENT_MS.
void lease_silent_report (const lease_t *self, int64_t now, wire_witness_report_t *out);

//  True when host_id's registration generation is blocked here.
bool lease_blocked (const lease_t *self, const char *host_id, uint64_t generation);

#endif
