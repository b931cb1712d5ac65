/*  peers.c - the daemon's table of agent connections (see peers.h).

    Two vecs of the same entries: by id (ids only grow, so appending keeps it sorted) and
    by routing id bytes (found by binary search on every received message).
*/
#include "peers.h"
#include "vec.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    uint64_t id;                // opaque id handed to the core
    transport_route_t route;    // routing id and User-Id of the connection
} s_peer_t;

struct peers {
    vec_t by_id;                // s_peer_t *, owned, sorted by id
    vec_t by_route;             // s_peer_t *, borrowed, sorted by routing id bytes
    uint64_t last_id;           // the last id assigned
};

static int
s_id_order (const void *key, const void *item)
{
    uint64_t id = *(const uint64_t *) key, other = (*(s_peer_t * const *) item)->id;
    return id < other? -1: id > other;
}

static int
s_route_order (const void *key, const void *item)
{
    const transport_route_t *a = key, *b = &(*(s_peer_t * const *) item)->route;
    if (a->size != b->size)
        return a->size < b->size? -1: 1;
    return memcmp (a->bytes, b->bytes, a->size);
}

peers_t *
peers_new (void)
{
    peers_t *self = calloc (1, sizeof *self);
    if (self) {
        self->by_id = VEC_OF (s_peer_t *);
        self->by_route = VEC_OF (s_peer_t *);
    }
    return self;
}

void
peers_destroy (peers_t **self_p)
{
    peers_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->by_id.count; i++)
        free (*(s_peer_t **) vec_at (&self->by_id, i));
    vec_free (&self->by_id);
    vec_free (&self->by_route);
    free (self);
    *self_p = NULL;
}

uint64_t
peers_id (peers_t *self, const transport_route_t *route)
{
    s_peer_t *known = vec_find_ptr (&self->by_route, route, s_route_order);
    if (known) {
        known->route = *route;              // the User-Id may be newer (a re-grant)
        return known->id;
    }
    s_peer_t *peer = malloc (sizeof *peer);
    if (!peer)
        return 0;
    *peer = (s_peer_t) { self->last_id + 1, *route };
    if (!vec_push (&self->by_id, &peer)) {
        free (peer);
        return 0;
    }
    if (vec_insert_ptr (&self->by_route, route, s_route_order, peer)) {
        vec_remove (&self->by_id, self->by_id.count - 1);
        free (peer);
        return 0;
    }
    return ++self->last_id;
}

const transport_route_t *
peers_route (const peers_t *self, uint64_t peer)
{
    s_peer_t *found = vec_find_ptr (&self->by_id, &peer, s_id_order);
    return found? &found->route: NULL;
}

void
peers_prune (peers_t *self, peers_in_use_fn *in_use, void *arg)
{
    for (size_t i = self->by_id.count; i-- > 0; ) {
        s_peer_t *peer = *(s_peer_t **) vec_at (&self->by_id, i);
        if (in_use (arg, peer->id))
            continue;
        vec_remove_ptr (&self->by_route, &peer->route, s_route_order, peer);
        vec_remove (&self->by_id, i);
        free (peer);
    }
}

size_t
peers_count (const peers_t *self)
{
    return self->by_id.count;
}
