/*  ha.c - the leader's half of HA (see ha.h).

    Owns, per host: the lease configs it may hold (sent, not yet acknowledged, and the
    current one), the witness reports about its current registration, whether its fence
    agent was asked, and its recent timeline. Pure: no clock, socket or database.
*/
#include "ha.h"
#include "log.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_HELD_MAX          4       // lease configs a host may hold at once (unacknowledged)
#define S_CONFIG_RESEND_MS  1000    // an unacknowledged lease config is sent again this often
#define S_REPORTS_MAX       (2 * WIRE_MAX_WITNESSES)
#define S_FENCE_RETRY_MS    10000   // a failed fence agent is asked again after this long

typedef struct {
    char witness [WIRE_ID_SIZE];    // who reported
    bool blocked;                   // silent for dead_after_ms and blocked on its disk
} s_report_t;

typedef struct {
    char host_id [WIRE_ID_SIZE];
    uint64_t generation;            // the registration the state below is about
    wire_lease_config_t held [S_HELD_MAX];  // configs it may hold, oldest first; the last
    uint32_t held_count;                    // one is the current one
    bool acked;                     // the current config was acknowledged
    int64_t last_sent;              // boot ms the current config was last sent
    s_report_t reports [S_REPORTS_MAX];
    uint32_t report_count;
    bool fence_asked;               // the fence agent was asked in this registration
    int64_t granted_at;             // boot ms of this leader's last GRANT to this
                                    // registration (0: none yet)
    int64_t up_since;               // boot ms since it is up with a connection here (0: not)
    int64_t fence_failed_at;        // wall ms its last attempt failed (0: none): again later
    int64_t dead_wall;              // wall ms this leader declared it dead (0: not, or before)
    bool incident;                  // its silence is on the timeline (until heard again)
    bool assumed;                   // held [0] is a guess (s_assume_config), not one sent
    vec_t timeline;                 // host_event_record_t, oldest first
} s_host_t;

struct ha {
    ha_config_t config;             // as given
    uint64_t epoch;                 // this leader's epoch
    int64_t leading_since;          // boot ms this leader began leading
    int64_t leading_wall;           // wall ms of its first tick (0: none yet): a host
                                    // registered at or after it was registered by it
    uint64_t version;               // last lease config version handed out
    int64_t next_configs;           // when to compute the witness sets again
    vec_t hosts;                    // s_host_t *, by host id
    vec_t fenced;                   // char [WIRE_NAME_SIZE]: hosts with a fence agent
};

//  --------------------------------------------------------------------------
//  Configuration

int
ha_config_profile (ha_config_t *config, const char *profile)
{
    ha_config_t base = { .witnesses = 5, .allow_unfenced_hosts = config->allow_unfenced_hosts,
                         .suspect_after_ms = config->suspect_after_ms };
    if (strcmp (profile, "default") == 0) {
        base.renew_ms = 500, base.lease_ms = 2000, base.fence_ms = 1000;
        base.watchdog_ms = 3000, base.margin_ms = 500, base.dead_after_ms = 7000;
    }
    else
    if (strcmp (profile, "conservative") == 0) {
        base.renew_ms = 1000, base.lease_ms = 5000, base.fence_ms = 2000;
        base.watchdog_ms = 10000, base.margin_ms = 2000, base.dead_after_ms = 20000;
    }
    else
        return -1;
    snprintf (base.profile, sizeof base.profile, "%s", profile);
    *config = base;
    return 0;
}

int
ha_config_check (const ha_config_t *c, int64_t down_after_ms, char *err, size_t err_size)
{
    int64_t need = c->lease_ms + c->fence_ms + c->watchdog_ms + c->margin_ms;
    if (c->renew_ms <= 0 || c->lease_ms <= c->renew_ms)
        snprintf (err, err_size, "[ha] needs renew_ms < lease_ms: renew_ms = %" PRId64
                  ", lease_ms = %" PRId64, c->renew_ms, c->lease_ms);
    else
    if (c->dead_after_ms < need)
        snprintf (err, err_size, "[ha] needs dead_after_ms >= lease_ms + fence_ms + "
                  "watchdog_ms + margin_ms, but %" PRId64 " < %" PRId64 " + %" PRId64 " + %"
                  PRId64 " + %" PRId64 " = %" PRId64 " (a host could still run its VMs when "
                  "they are restarted elsewhere)", c->dead_after_ms, c->lease_ms, c->fence_ms,
                  c->watchdog_ms, c->margin_ms, need);
    else
    if (c->dead_after_ms <= down_after_ms)
        snprintf (err, err_size, "[ha] needs dead_after_ms > down_after_ms, but %" PRId64
                  " <= %" PRId64 " (dead is the verdict after down)", c->dead_after_ms,
                  down_after_ms);
    else
    if (c->witnesses == 0 || c->witnesses % 2 == 0 || c->witnesses >= WIRE_MAX_WITNESSES)
        snprintf (err, err_size, "[ha] witnesses must be odd and below %d, not %" PRIu32,
                  WIRE_MAX_WITNESSES, c->witnesses);
    else
        return 0;
    return -1;
}

//  --------------------------------------------------------------------------
//  Life cycle and lookups

static int
s_by_id (const void *key, const void *item)
{
    return strcmp ((const char *) key, (*(s_host_t *const *) item)->host_id);
}

ha_t *
ha_new (const ha_config_t *config, uint64_t epoch, int64_t now,
        const char *const *fenced_names, size_t fenced_count)
{
    ha_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->config = *config;
    self->epoch = epoch;
    self->leading_since = now;
    self->version = epoch << 32;
    self->next_configs = INT64_MIN;
    self->hosts = VEC_OF (s_host_t *);
    vec_init (&self->fenced, WIRE_NAME_SIZE);
    for (size_t i = 0; i < fenced_count; i++) {
        char name [WIRE_NAME_SIZE] = "";
        snprintf (name, sizeof name, "%s", fenced_names [i]);
        if (!vec_push (&self->fenced, name)) {
            ha_destroy (&self);
            return NULL;
        }
    }
    return self;
}

void
ha_destroy (ha_t **self_p)
{
    ha_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->hosts.count; i++) {
        s_host_t *host = *(s_host_t **) vec_at (&self->hosts, i);
        vec_free (&host->timeline);
        free (host);
    }
    vec_free (&self->hosts);
    vec_free (&self->fenced);
    free (self);
    *self_p = NULL;
}

const ha_config_t *
ha_config (const ha_t *self)
{
    return &self->config;
}

//  The state of host_id, made when missing (NULL: out of memory).
static s_host_t *
s_host (ha_t *self, const char *host_id)
{
    s_host_t *host = vec_find_ptr (&self->hosts, host_id, s_by_id);
    if (host)
        return host;
    host = calloc (1, sizeof *host);
    if (!host)
        return NULL;
    snprintf (host->host_id, sizeof host->host_id, "%s", host_id);
    host->timeline = VEC_OF (host_event_record_t);
    if (vec_insert_ptr (&self->hosts, host_id, s_by_id, host)) {
        free (host);
        return NULL;
    }
    return host;
}

//  The state of host for its current registration (reports of older ones are forgotten).
static s_host_t *
s_current (ha_t *self, const host_t *host)
{
    s_host_t *state = s_host (self, host->record.id);
    if (state && state->generation != host->record.generation) {
        //  A new registration: maybe a new agent process, which holds no config yet (the
        //  configs it may hold stay: an old process may still hold one).
        state->generation = host->record.generation;
        state->report_count = 0;
        state->fence_asked = false;
        state->granted_at = 0;
        state->up_since = 0;
        state->fence_failed_at = 0;
        //  A new registration may be a new agent process, which holds no config yet: send
        //  the current one again (the configs an older process held stay in held).
        state->acked = false;
        state->last_sent = INT64_MIN / 2;
    }
    return state;
}

bool
ha_host_fence_device (const ha_t *self, const host_t *host)
{
    for (size_t i = 0; i < self->fenced.count; i++)
        if (strcmp (vec_at (&self->fenced, i), host->record.name) == 0)
            return true;
    return false;
}

static bool
s_has_watchdog (const host_t *host)
{
    return host->record.watchdog [0] && strcmp (host->record.watchdog, "none") != 0;
}

size_t
ha_unprotected_hosts (model_t *model, const char **names, size_t max)
{
    size_t count = 0;
    for (size_t i = 0; i < model_host_count (model); i++) {
        const host_t *host = model_host_at (model, i);
        if (ha_host_protected (host))
            continue;
        if (count < max)
            names [count] = host->record.name;
        count++;
    }
    return count;
}

bool
ha_host_protected (const host_t *host)
{
    return s_has_watchdog (host) || host->live.fence_device;
}

//  --------------------------------------------------------------------------
//  Timeline

void
ha_event (const char *host_id, const char *kind, int64_t wall, mutations_t *out,
          const char *fmt, ...)
{
    mutation_t mutation = { .kind = MUTATION_HOST_EVENT, .at = wall };
    host_event_record_t *event = &mutation.u.host_event;
    snprintf (event->host_id, sizeof event->host_id, "%s", host_id);
    snprintf (event->kind, sizeof event->kind, "%s", kind);
    event->at = wall;
    va_list args;
    va_start (args, fmt);
    vsnprintf (event->detail, sizeof event->detail, fmt, args);
    va_end (args);
    mutations_push (out, &mutation);
}

int
ha_note (ha_t *self, const host_event_record_t *event)
{
    s_host_t *host = s_host (self, event->host_id);
    if (!host)
        return -1;
    if (host->timeline.count == HA_TIMELINE_MAX)
        vec_remove (&host->timeline, 0);
    return vec_push (&host->timeline, event)? 0: -1;
}

void
ha_forget_timelines (ha_t *self)
{
    for (size_t i = 0; i < self->hosts.count; i++)
        vec_clear (&(*(s_host_t **) vec_at (&self->hosts, i))->timeline);
}

const vec_t *
ha_timeline (const ha_t *self, const char *host_id)
{
    const s_host_t *host = vec_find_ptr (&self->hosts, host_id, s_by_id);
    return host && host->timeline.count? &host->timeline: NULL;
}

//  --------------------------------------------------------------------------
//  Leases and witness sets

void
ha_on_renew (ha_t *self, const host_t *host, const wire_renew_t *renew, int64_t now,
             wire_msg_t *grant)
{
    wire_msg_init (grant, WIRE_GRANT);
    grant->body.grant.id = renew->id;
    grant->body.grant.lease_ms = (uint32_t) self->config.lease_ms;
    s_host_t *state = s_current (self, host);
    if (!state)
        return;
    state->granted_at = now;
    //  The host holds renew->config_version: older configs are no longer held.
    uint32_t first = 0;
    while (first < state->held_count && state->held [first].version < renew->config_version)
        first++;
    if (first == state->held_count || state->held [first].version != renew->config_version)
        return;                             // not one of ours (an older leader's): keep all
    memmove (&state->held [0], &state->held [first],
             (state->held_count - first) * sizeof state->held [0]);
    state->held_count -= first;
    state->acked = state->held_count == 1;
}

//  Fills peer from host.
static void
s_peer (const host_t *host, wire_witness_peer_t *peer)
{
    memset (peer, 0, sizeof *peer);
    snprintf (peer->host_id, sizeof peer->host_id, "%s", host->record.id);
    snprintf (peer->name, sizeof peer->name, "%s", host->record.name);
    snprintf (peer->endpoint, sizeof peer->endpoint, "%s", host->record.witness_endpoint);
    snprintf (peer->public_key, sizeof peer->public_key, "%s", host->record.public_key);
    peer->generation = host->record.generation;
}

//  True when host takes part in the witness ring: it said where its witness listens, its
//  key is known, and it is not dead.
static bool
s_in_ring (const host_t *host)
{
    return host->record.witness_endpoint [0] && host->record.public_key [0]
        && host->record.state != HOST_STATE_DEAD && host->record.generation;
}

//  The lease config of ring member index among count (ring holds the members in order).
static void
s_config_of (const ha_t *self, host_t *const *ring, size_t count, size_t index,
             wire_lease_config_t *config)
{
    memset (config, 0, sizeof *config);
    config->renew_ms = (uint32_t) self->config.renew_ms;
    config->lease_ms = (uint32_t) self->config.lease_ms;
    config->dead_after_ms = (uint32_t) self->config.dead_after_ms;
    size_t k = count - 1 <= self->config.witnesses? count - 1: self->config.witnesses;
    for (size_t step = 1; step <= k; step++) {
        s_peer (ring [(index + step) % count], &config->witnesses [config->witness_count++]);
        s_peer (ring [(index + count - step) % count],
                &config->watched [config->watched_count++]);
    }
}

//  True when host may be sent a lease config now. A host that holds an earlier leader's
//  set keeps it until this leader has granted it a lease: a new set takes effect at once,
//  and its majority may need witnesses the host holds no grant from yet, so without a
//  leader lease it would be not connected at once and fence itself (tests/lab/README.md,
//  a scheduler restart after a return). A host this leader registered (a new agent
//  process: it renews nothing until it has a config), or one up here for two renewals
//  without renewing (it holds none either), gets it at once.
static bool
s_may_configure (const ha_t *self, const s_host_t *state, const host_t *host, int64_t now)
{
    bool leased = state->granted_at && now - state->granted_at < self->config.lease_ms;
    bool registered_here = self->leading_wall && host->record.registered_at >= self->leading_wall;
    bool no_config = state->up_since && now - state->up_since >= 2 * self->config.renew_ms;
    return leased || registered_here || no_config;
}

//  Makes config the host's current one (a new version when it differs) and sends it when
//  it is new or unacknowledged for a while, and the host may take it (s_may_configure).
static void
s_offer_config (ha_t *self, const host_t *host, wire_lease_config_t *config, int64_t now,
                vec_t *sends)
{
    s_host_t *state = s_current (self, host);
    if (!state)
        return;
    if (!state->up_since)
        state->up_since = now;
    if (!s_may_configure (self, state, host, now))
        return;
    const wire_lease_config_t *current = state->held_count?
                                         &state->held [state->held_count - 1]: NULL;
    if (current)
        config->version = current->version;
    bool changed = !current || memcmp (config, current, sizeof *config) != 0;
    //  With S_HELD_MAX unacknowledged ones the host may hold any of them: a change waits.
    if (changed && state->held_count < S_HELD_MAX) {
        config->version = ++self->version;
        state->held [state->held_count++] = *config;
        state->assumed = false;
        state->acked = false;
        log_debug ("host '%s': witness set version %" PRIu64 ": %" PRIu32 " witnesses",
                   host->record.name, config->version, config->witness_count);
    }
    else
    if (state->acked || now - state->last_sent < S_CONFIG_RESEND_MS)
        return;
    ha_send_t send;
    memset (&send, 0, sizeof send);
    snprintf (send.host_id, sizeof send.host_id, "%s", host->record.id);
    wire_msg_init (&send.msg, WIRE_LEASE_CONFIG);
    send.msg.body.lease_config = state->held [state->held_count - 1];
    if (vec_push (sends, &send))
        state->last_sent = now;
}

//  A registered host this leader cannot reach and has never configured (it fell silent
//  before this leader heard it: a scheduler restart) holds the config of an earlier
//  leader. Witness sets are a function of the ring, which is in the store, so that config
//  is taken to be the one the ring gives it now: without one, the host could never be
//  judged (§5.4). (A guess: sound while the ring is what it was when the earlier leader
//  last configured the host, or differs by witnesses declared dead since.)
static void
s_assume_config (ha_t *self, const host_t *host, wire_lease_config_t *config)
{
    if (!host->record.generation || host->record.state == HOST_STATE_DEAD)
        return;
    s_host_t *state = s_current (self, host);
    if (!state || (state->held_count && !state->assumed))
        return;
    //  While it is a guess, the newest ring is the best one: a witness declared dead since
    //  came back, a dead one left (it counts as silent anyway).
    if (state->held_count) {
        config->version = state->held [0].version;
        if (memcmp (config, &state->held [0], sizeof *config) == 0)
            return;
    }
    config->version = ++self->version;
    state->held [0] = *config;
    state->held_count = 1;
    state->assumed = true;
    state->acked = false;
}

//  True when host is dead but could take its place in the ring again (it has an endpoint,
//  a key and a registration).
static bool
s_dead_in_ring (const host_t *host)
{
    return host->record.witness_endpoint [0] && host->record.public_key [0]
        && host->record.state == HOST_STATE_DEAD && host->record.generation;
}

//  Adds to the config of ring member index (of members) the dead hosts it would witness if
//  they registered again now: a dead host at ring position p (before ring [p]) would get the
//  k members from ring [p] on. Watching them already, those witnesses grant a returning
//  host's renewals before the leader reaches them with new sets: a witness cut off from the
//  leader at that moment, or a leader that dies then, would otherwise refuse it, and in a
//  small ring every host's majority needs every other host (a fencing storm with no leader).
//  Watching a dead host grants it nothing it could not get after registering again: its
//  block stays until a newer registration. Beyond WIRE_MAX_WITNESSES the rest wait.
static void
s_watch_dead (const ha_t *self, host_t *const *dead, const size_t *dead_position,
              size_t dead_count, size_t members, size_t index, wire_lease_config_t *config)
{
    size_t k = members <= self->config.witnesses? members: self->config.witnesses;
    for (size_t i = 0; i < dead_count && config->watched_count < WIRE_MAX_WITNESSES; i++)
        if ((index + members - dead_position [i] % members) % members < k)
            s_peer (dead [i], &config->watched [config->watched_count++]);
}

//  Computes every host's lease config (ring members get their witness sets and watch the
//  dead hosts they would witness; a host outside the ring holds only the leader lease) and
//  offers it.
static void
s_offer_configs (ha_t *self, model_t *model, int64_t now, vec_t *sends)
{
    size_t count = model_host_count (model), members = 0, dead_count = 0;
    host_t **ring = calloc (count + 1, sizeof *ring);
    host_t **dead = calloc (count + 1, sizeof *dead);
    size_t *position = calloc (count + 1, sizeof *position);
    size_t *dead_position = calloc (count + 1, sizeof *dead_position);
    if (!ring || !dead || !position || !dead_position)
        goto done;
    for (size_t i = 0; i < count; i++) {
        host_t *host = model_host_at (model, i);
        position [i] = members;
        if (s_in_ring (host))
            ring [members++] = host;
        else
        if (s_dead_in_ring (host)) {
            dead_position [dead_count] = members;
            dead [dead_count++] = host;
        }
    }
    for (size_t i = 0; i < count; i++) {
        host_t *host = model_host_at (model, i);
        wire_lease_config_t config;
        if (s_in_ring (host)) {
            s_config_of (self, ring, members, position [i], &config);
            s_watch_dead (self, dead, dead_position, dead_count, members, position [i],
                          &config);
        }
        else
            s_config_of (self, &host, 1, 0, &config);
        if (host->record.state == HOST_STATE_UP && host->live.peer)
            s_offer_config (self, host, &config, now, sends);
        else {
            s_host_t *state = host->record.generation? s_current (self, host): NULL;
            if (state)
                state->up_since = 0;
            s_assume_config (self, host, &config);  // it cannot take it now; sent when it can
        }
    }
done:
    free (ring);
    free (dead);
    free (position);
    free (dead_position);
}

//  --------------------------------------------------------------------------
//  Witness reports and the verdict

void
ha_on_witness_report (ha_t *self, model_t *model, const host_t *witness,
                      const wire_witness_report_t *report, int64_t now, int64_t wall,
                      mutations_t *out)
{
    (void) now;
    for (uint32_t i = 0; i < report->count; i++) {
        const wire_silent_t *silent = &report->silent [i];
        host_t *host = model_host_by_id (model, silent->host_id);
        if (!host || host->record.generation != silent->generation || host == witness)
            continue;                       // about another registration: says nothing
        s_host_t *state = s_current (self, host);
        if (!state)
            continue;
        s_report_t *entry = NULL;
        for (uint32_t r = 0; r < state->report_count && !entry; r++)
            if (strcmp (state->reports [r].witness, witness->record.id) == 0)
                entry = &state->reports [r];
        if (entry && (entry->blocked || !silent->blocked))
            continue;                       // nothing new
        if (!entry) {
            if (state->report_count == S_REPORTS_MAX)
                continue;
            entry = &state->reports [state->report_count++];
            snprintf (entry->witness, sizeof entry->witness, "%s", witness->record.id);
        }
        entry->blocked = silent->blocked;
        ha_event (host->record.id, "witness", wall, out, "witness '%s' has not heard it for "
                  "%" PRIu32 " ms%s", witness->record.name, silent->silent_ms,
                  silent->blocked? " and blocked it on disk": "");
    }
}

//  True when witness (a host id) reported host's registration silent (and blocked, when
//  blocked is asked for), or is dead itself: a dead witness grants nothing, but what it
//  granted before its verdict lasts up to L (a host fenced at once may have been connected
//  until it was powered off), so it counts from lease_ms + margin_ms after the verdict.
static bool
s_silent_at (const ha_t *self, const s_host_t *state, model_t *model, const char *witness,
             bool blocked, int64_t wall)
{
    const host_t *peer = model_host_by_id (model, witness);
    if (peer && peer->record.state == HOST_STATE_DEAD) {
        const s_host_t *dead = vec_find_ptr (&self->hosts, witness, s_by_id);
        if (!dead || !dead->dead_wall
        ||  wall - dead->dead_wall >= self->config.lease_ms + self->config.margin_ms)
            return true;
    }
    for (uint32_t r = 0; r < state->report_count; r++)
        if (strcmp (state->reports [r].witness, witness) == 0)
            return state->reports [r].blocked || !blocked;
    return false;
}

//  True when more than half of the witnesses of config report silence.
static bool
s_majority_silent (const ha_t *self, const s_host_t *state, model_t *model,
                   const wire_lease_config_t *config, bool blocked, int64_t wall,
                   uint32_t *silent_count)
{
    uint32_t silent = 0;
    for (uint32_t i = 0; i < config->witness_count; i++)
        silent += s_silent_at (self, state, model, config->witnesses [i].host_id, blocked,
                               wall);
    if (silent_count)
        *silent_count = silent;
    return config->witness_count && 2 * silent > config->witness_count;
}

//  True when at least half of the witnesses of config (a config the host was sent) report
//  its registration silent (and blocked, when blocked is asked for), or are dead: with an
//  even number of witnesses the host is connected only with leases from more than half of
//  them, so it holds no majority when half have blocked it (their last grants expired D
//  ago, and they grant it nothing more). Any majority it could hold meets the blocked half.
//  (A guessed config keeps the strict majority: s_assume_config.)
static bool
s_half_silent (const ha_t *self, const s_host_t *state, model_t *model,
               const wire_lease_config_t *config, bool blocked, int64_t wall)
{
    uint32_t silent = 0;
    for (uint32_t i = 0; i < config->witness_count; i++)
        silent += s_silent_at (self, state, model, config->witnesses [i].host_id, blocked,
                               wall);
    return config->witness_count && 2 * silent >= config->witness_count;
}

//  Declares host dead for reason.
static void
s_declare_dead (ha_t *self, host_t *host, model_t *model, const char *reason, int64_t wall,
                vec_t *dead, mutations_t *out)
{
    s_host_t *state = s_host (self, host->record.id);
    if (state)
        state->dead_wall = wall? wall: 1;
    model_host_set_state (model, host, HOST_STATE_DEAD, reason, wall, out);
    ha_event (host->record.id, "dead", wall, out, "%s", reason);
    char id [WIRE_ID_SIZE];
    snprintf (id, sizeof id, "%s", host->record.id);
    if (!vec_push (dead, id))
        log_error ("host '%s': out of memory noting its death", host->record.name);
}

//  The lease rule (§5.4, §5.6) for one silent host.
static void
s_judge (ha_t *self, model_t *model, host_t *host, s_host_t *state, int64_t now,
         int64_t wall, vec_t *dead, mutations_t *out)
{
    int64_t silence = now - host->live.last_heard;
    if (silence < self->config.dead_after_ms
    ||  now - self->leading_since < self->config.dead_after_ms || !state->held_count)
        return;
    //  The lease rule proves that the host fenced itself: its fencer (alive only with its
    //  agent) or its watchdog did. A host without a watchdog whose agent died still runs
    //  its VMs; it has a fence device for that (DESIGN.md §5.11), and only that may end it.
    if (!s_has_watchdog (host) && ha_host_fence_device (self, host))
        return;
    uint32_t silent = 0;
    for (uint32_t i = 0; i < state->held_count; i++) {
        //  A ring member given no witnesses (it was the ring's last member) holds only the
        //  leader lease under that config: the leader's silence for D is the whole proof.
        if (state->held [i].witness_count == 0 && s_in_ring (host))
            continue;
        if (!s_majority_silent (self, state, model, &state->held [i], true, wall, &silent)
        &&  !(state->assumed? false: s_half_silent (self, state, model, &state->held [i],
                                                    true, wall)))
            return;
    }
    char reason [WIRE_TEXT_SIZE];
    uint32_t witnesses = state->held [state->held_count - 1].witness_count;
    if (witnesses)
        snprintf (reason, sizeof reason, "not heard for %" PRId64 " ms, and %" PRIu32 " of %"
                  PRIu32 " witnesses report it silent and blocked", silence, silent, witnesses);
    else
        snprintf (reason, sizeof reason, "not heard for %" PRId64 " ms, and it had no "
                  "witnesses (the last member of the ring)", silence);
    s_declare_dead (self, host, model, reason, wall, dead, out);
}

//  Asks the fence agent of a silent host that may run an HA VM, once per registration.
static void
s_maybe_fence (ha_t *self, model_t *model, host_t *host, s_host_t *state, int64_t now,
               int64_t wall, vec_t *fences, mutations_t *out)
{
    if (state->fence_asked || !ha_host_fence_device (self, host)
    ||  now - host->live.last_heard < self->config.suspect_after_ms
    ||  (state->fence_failed_at && wall - state->fence_failed_at < S_FENCE_RETRY_MS))
        return;
    //  A host the leader cannot hear but its witnesses can is cut off from the leader only:
    //  it keeps its VMs (it holds witness leases), so it is not powered off either. Once at
    //  least half of them have not heard it either, it holds no majority of their leases.
    if (state->held_count
    &&  state->held [state->held_count - 1].witness_count
    &&  !s_half_silent (self, state, model, &state->held [state->held_count - 1], false,
                        wall))
        return;
    state->fence_asked = true;
    char name [WIRE_NAME_SIZE];
    snprintf (name, sizeof name, "%s", host->record.name);
    if (!vec_push (fences, name))
        return;
    log_warn ("host '%s': silent for %" PRId64 " ms: asking its fence agent to power it off",
              host->record.name, now - host->live.last_heard);
    ha_event (host->record.id, "fence", wall, out, "asked the fence agent to power it off");
}

void
ha_tick (ha_t *self, model_t *model, ha_may_run_fn *may_run_ha, void *arg, int64_t now,
         int64_t wall, vec_t *sends, vec_t *fences, vec_t *dead, mutations_t *out)
{
    if (!self->leading_wall)
        self->leading_wall = wall;
    if (now >= self->next_configs) {
        self->next_configs = now + self->config.renew_ms;
        s_offer_configs (self, model, now, sends);
    }
    for (size_t i = 0; i < model_host_count (model); i++) {
        host_t *host = model_host_at (model, i);
        host->live.fence_device = ha_host_fence_device (self, host);
        const s_host_t *granted = host->record.generation? s_current (self, host): NULL;
        host->live.leased = granted && granted->granted_at
                         && now - granted->granted_at < self->config.lease_ms;
        if (!host->record.generation || host->record.state == HOST_STATE_DEAD)
            continue;
        s_host_t *state = s_current (self, host);
        if (!state)
            continue;
        if (host->record.state == HOST_STATE_UP) {
            if (state->incident)
                ha_event (host->record.id, "heard", wall, out, "heard again");
            state->incident = false;
            continue;
        }
        if (!state->incident) {
            state->incident = true;
            int64_t ago = now - host->live.last_heard;
            ha_event (host->record.id, "silent", wall - ago, out, "last message (%s since)",
                      host->live.heard? "silent": "not heard since the scheduler started");
            ha_event (host->record.id, "suspect", wall, out, "not heard for %" PRId64 " ms",
                      ago);
        }
        if (!may_run_ha || may_run_ha (arg, host))
            s_maybe_fence (self, model, host, state, now, wall, fences, out);
        s_judge (self, model, host, state, now, wall, dead, out);
    }
}

void
ha_on_fence_result (ha_t *self, model_t *model, const char *name, bool confirmed,
                    const char *reason, int64_t wall, vec_t *dead, mutations_t *out)
{
    host_t *host = model_host_by_name (model, name);
    if (!host)
        return;
    if (!confirmed) {
        //  Asked again later; meanwhile the lease rule decides, for a host with a watchdog.
        s_host_t *state = s_current (self, host);
        if (state) {
            state->fence_asked = false;
            state->fence_failed_at = wall? wall: 1;
        }
        bool lease_rule = s_has_watchdog (host);
        log_warn ("host '%s': fencing failed (%s): %s", name, reason, lease_rule?
                  "waiting for the lease rule": "asking again later (without a watchdog "
                  "only its fence agent can end it)");
        ha_event (host->record.id, "fence-failed", wall, out, "%s; %s", reason, lease_rule?
                  "falling back to the lease rule": "asking again later");
        return;
    }
    ha_event (host->record.id, "fenced", wall, out, "%s", reason);
    if (host->record.state == HOST_STATE_DEAD)
        return;
    char why [WIRE_TEXT_SIZE];
    snprintf (why, sizeof why, "its fence agent confirmed power-off");
    s_declare_dead (self, host, model, why, wall, dead, out);
}
