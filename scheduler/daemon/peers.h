/*  peers.h - the daemon's table of agent connections: opaque peer ids <-> ZeroMQ routes.

    The core knows an agent's connection only as a number (host_live_t.peer); this table,
    owned by the daemon, turns the routing id of a received message into that number and
    back when a message leaves. Ids start at 1 and are never reused; entries no host holds
    any more are pruned by peers_prune.
*/
#ifndef VMSCHED_PEERS_H
#define VMSCHED_PEERS_H

#include "transport.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct peers peers_t;

//  True when the peer id is still referenced (peers_prune keeps it).
typedef bool (peers_in_use_fn) (void *arg, uint64_t peer);

//  New empty table; NULL when out of memory.
peers_t *peers_new (void);

//  Free the table. NULL-safe; sets *self_p = NULL.
void peers_destroy (peers_t **self_p);

//  The id of the connection route came from, assigned at its first message. 0 when out of
//  memory (the message is then handled without a reply path).
uint64_t peers_id (peers_t *self, const transport_route_t *route);

//  The route of peer, or NULL when it is unknown (pruned, or 0). Borrowed until the next
//  peers_id or peers_prune.
const transport_route_t *peers_route (const peers_t *self, uint64_t peer);

//  Forget every peer for which in_use says false.
void peers_prune (peers_t *self, peers_in_use_fn *in_use, void *arg);

//  Number of peers known.
size_t peers_count (const peers_t *self);

#endif
