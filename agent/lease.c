/*  lease.c - the agent's leases and its witness duties (see lease.h).

    Owns the grantors' renewal rings, the watched peers and the list of blocks. Pure: no
    clock, no I/O, no czmq or libvirt.
*/
#include "lease.h"
#include "log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
s_grantor_reset (lease_grantor_t *grantor, const wire_witness_peer_t *peer)
{
    memset (grantor, 0, sizeof *grantor);
    if (peer)
        grantor->peer = *peer;
    grantor->until = INT64_MIN;
}

void
lease_init (lease_t *self, int64_t restored_until)
{
    memset (self, 0, sizeof *self);
    s_grantor_reset (&self->leader, NULL);
    self->leader.until = restored_until;
    self->blocks = VEC_OF (lease_block_t);
}

void
lease_free (lease_t *self)
{
    vec_free (&self->blocks);
}

//  The grantor or watched entry of host_id in the old lists (NULL: none).
static const lease_grantor_t *
s_old_witness (const lease_grantor_t *old, uint32_t count, const char *host_id)
{
    for (uint32_t i = 0; i < count; i++)
        if (strcmp (old [i].peer.host_id, host_id) == 0)
            return &old [i];
    return NULL;
}

static const lease_watched_t *
s_old_watched (const lease_watched_t *old, uint32_t count, const char *host_id)
{
    for (uint32_t i = 0; i < count; i++)
        if (strcmp (old [i].peer.host_id, host_id) == 0)
            return &old [i];
    return NULL;
}

//  Forgets blocks that no longer matter: of peers that registered again since, or that
//  this host no longer watches (the leader counts only a host's current witnesses).
static void
s_prune_blocks (lease_t *self)
{
    for (size_t i = self->blocks.count; i-- > 0; ) {
        const lease_block_t *block = vec_at (&self->blocks, i);
        const lease_watched_t *watched = s_old_watched (self->watched, self->watched_count,
                                                        block->host_id);
        if (!watched || watched->peer.generation > block->generation)
            vec_remove (&self->blocks, i);
    }
}

void
lease_configure (lease_t *self, const wire_lease_config_t *config, int64_t now)
{
    lease_grantor_t old_witnesses [WIRE_MAX_WITNESSES];
    lease_watched_t old_watched [WIRE_MAX_WITNESSES];
    uint32_t old_witness_count = self->witness_count, old_watched_count = self->watched_count;
    memcpy (old_witnesses, self->witnesses, sizeof old_witnesses);
    memcpy (old_watched, self->watched, sizeof old_watched);

    self->config_version = config->version;
    self->renew_ms = config->renew_ms;
    self->lease_ms = config->lease_ms;
    self->dead_after_ms = config->dead_after_ms;
    self->witness_count = config->witness_count;
    for (uint32_t i = 0; i < config->witness_count; i++) {
        const lease_grantor_t *old = s_old_witness (old_witnesses, old_witness_count,
                                                    config->witnesses [i].host_id);
        if (old) {
            self->witnesses [i] = *old;
            self->witnesses [i].peer = config->witnesses [i];   // endpoint or key may change
        }
        else
            s_grantor_reset (&self->witnesses [i], &config->witnesses [i]);
    }
    self->watched_count = config->watched_count;
    for (uint32_t i = 0; i < config->watched_count; i++) {
        const wire_witness_peer_t *peer = &config->watched [i];
        const lease_watched_t *old = s_old_watched (old_watched, old_watched_count,
                                                    peer->host_id);
        self->watched [i].peer = *peer;
        //  A registration we heard already keeps its silence; a new one counts from now.
        self->watched [i].last_heard = old && old->peer.generation >= peer->generation?
                                       old->last_heard: now;
        if (old && old->peer.generation > peer->generation)
            self->watched [i].peer.generation = old->peer.generation;
    }
    s_prune_blocks (self);
}

void
lease_sent (lease_grantor_t *grantor, uint64_t id, int64_t now)
{
    grantor->sent [grantor->next_slot] = (lease_sent_t) { id, now };
    grantor->next_slot = (grantor->next_slot + 1) % LEASE_SENT_MAX;
}

bool
lease_granted (lease_grantor_t *grantor, uint64_t id, uint32_t lease_ms)
{
    for (int i = 0; i < LEASE_SENT_MAX; i++) {
        lease_sent_t *sent = &grantor->sent [i];
        if (sent->id != id || id == 0)
            continue;
        int64_t until = sent->sent + (int64_t) lease_ms;
        if (until > grantor->until)
            grantor->until = until;
        sent->id = 0;                       // a duplicate grant changes nothing
        return true;
    }
    return false;
}

lease_grantor_t *
lease_witness (lease_t *self, const char *host_id)
{
    for (uint32_t i = 0; i < self->witness_count; i++)
        if (strcmp (self->witnesses [i].peer.host_id, host_id) == 0)
            return &self->witnesses [i];
    return NULL;
}

static int
s_descending (const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
    return x < y? 1: x > y? -1: 0;
}

int64_t
lease_connected_until (const lease_t *self)
{
    int64_t until = self->leader.until;
    if (self->witness_count == 0)
        return until;
    //  A majority holds until the majority-th latest of the witness leases.
    int64_t untils [WIRE_MAX_WITNESSES];
    for (uint32_t i = 0; i < self->witness_count; i++)
        untils [i] = self->witnesses [i].until;
    qsort (untils, self->witness_count, sizeof untils [0], s_descending);
    int64_t majority = untils [self->witness_count / 2];
    return majority > until? majority: until;
}

bool
lease_connected (const lease_t *self, int64_t now)
{
    return now < lease_connected_until (self);
}

bool
lease_blocked (const lease_t *self, const char *host_id, uint64_t generation)
{
    for (size_t i = 0; i < self->blocks.count; i++) {
        const lease_block_t *block = vec_at (&self->blocks, i);
        if (strcmp (block->host_id, host_id) == 0 && generation <= block->generation)
            return true;
    }
    return false;
}

bool
lease_may_grant (lease_t *self, const char *host_id, uint64_t generation, int64_t now,
                 char *why, size_t why_size)
{
    lease_watched_t *watched = NULL;
    for (uint32_t i = 0; i < self->watched_count && !watched; i++)
        if (strcmp (self->watched [i].peer.host_id, host_id) == 0)
            watched = &self->watched [i];
    if (!watched) {
        snprintf (why, why_size, "not a witness of that host");
        return false;
    }
    if (lease_blocked (self, host_id, generation)) {
        snprintf (why, why_size, "registration %" PRIu64 " was reported silent: register "
                  "again", generation);
        return false;
    }
    if (generation < watched->peer.generation) {
        snprintf (why, why_size, "registration %" PRIu64 " is older than %" PRIu64,
                  generation, watched->peer.generation);
        return false;
    }
    //  A newer registration than the scheduler told us: the scheduler accepted it, and
    //  its silence counts from now.
    watched->peer.generation = generation;
    watched->last_heard = now;
    if (!lease_connected (self, now)) {
        snprintf (why, why_size, "this witness holds no lease itself");
        return false;
    }
    return true;
}

size_t
lease_check_silence (lease_t *self, int64_t now)
{
    if (!self->dead_after_ms)
        return lease_blocks_unsaved (self);
    for (uint32_t i = 0; i < self->watched_count; i++) {
        const lease_watched_t *watched = &self->watched [i];
        if (now - watched->last_heard < self->dead_after_ms
        ||  lease_blocked (self, watched->peer.host_id, watched->peer.generation))
            continue;
        lease_block_t block = { .generation = watched->peer.generation, .since = now };
        snprintf (block.host_id, sizeof block.host_id, "%s", watched->peer.host_id);
        if (!vec_push (&self->blocks, &block)) {
            log_error ("cannot block silent host '%s': out of memory", watched->peer.name);
            continue;
        }
        log_warn ("witness: host '%s' (registration %" PRIu64 ") silent for %" PRId64
                  " ms: granting it nothing until it registers again", watched->peer.name,
                  watched->peer.generation, now - watched->last_heard);
    }
    return lease_blocks_unsaved (self);
}

size_t
lease_blocks_unsaved (const lease_t *self)
{
    size_t unsaved = 0;
    for (size_t i = 0; i < self->blocks.count; i++)
        unsaved += !((const lease_block_t *) vec_at (&self->blocks, i))->saved;
    return unsaved;
}

void
lease_blocks_saved (lease_t *self)
{
    for (size_t i = 0; i < self->blocks.count; i++)
        ((lease_block_t *) vec_at (&self->blocks, i))->saved = true;
}

int
lease_load_block (lease_t *self, const char *host_id, uint64_t generation)
{
    lease_block_t block = { .generation = generation, .saved = true };
    snprintf (block.host_id, sizeof block.host_id, "%s", host_id);
    return vec_push (&self->blocks, &block)? 0: -1;
}

void
lease_silent_report (const lease_t *self, int64_t now, wire_witness_report_t *out)
{
    memset (out, 0, sizeof *out);
    for (uint32_t i = 0; i < self->watched_count && out->count < WIRE_MAX_WITNESSES; i++) {
        const lease_watched_t *watched = &self->watched [i];
        int64_t ms = now - watched->last_heard;
        bool blocked = false, saved = false;
        for (size_t b = 0; b < self->blocks.count && !blocked; b++) {
            const lease_block_t *block = vec_at (&self->blocks, b);
            blocked = strcmp (block->host_id, watched->peer.host_id) == 0
                   && block->generation == watched->peer.generation;
            saved = blocked && block->saved;
        }
        //  Blocked but not on disk yet: not a word until it is.
        if ((blocked && !saved) || (!blocked && ms < LEASE_SILENT_MS (self)))
            continue;
        wire_silent_t *silent = &out->silent [out->count++];
        snprintf (silent->host_id, sizeof silent->host_id, "%s", watched->peer.host_id);
        silent->generation = watched->peer.generation;
        silent->silent_ms = ms < 0? 0: ms > UINT32_MAX? UINT32_MAX: (uint32_t) ms;
        silent->blocked = saved;
    }
}
