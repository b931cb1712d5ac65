/*  agent_core.c - the pure agent (see agent_core.h).

    Owns the registration (seq, generation, the outstanding HELLO), the deadlines, what the
    core believes about the hypervisor connection (up or not, its number, the backoff) and
    which jobs are out, and the command dispatcher (commands.c). Every entry point does its
    work, then whatever is due (s_due), then stamps the new messages in order (s_finish), so
    seq numbers rise in the order the messages are to be sent. Never reads a clock, never
    blocks, includes no czmq, zmq or libvirt.
*/
#include "agent_core.h"
#include "commands.h"
#include "log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_CONNECT_BACKOFF_MIN   250     // first hypervisor reconnect delay
#define S_CONNECT_BACKOFF_MAX   5000    // longest hypervisor reconnect delay
#define S_REFUSED_RETRY_MS      5000    // HELLO retry after a refusal (e.g. name taken)
#define S_MAX_LOOKUPS           256     // LOOKUP jobs outstanding at most

struct agent_core_t {
    agent_core_config_t config;     // as given
    commands_t *commands;           // command fencing, queue, progress (owned)
    uint64_t seq;                   // last seq stamped
    uint64_t generation;            // host generation from WELCOME, 0 = not registered
    uint64_t leader_epoch;          // scheduler epoch from WELCOME
    uint64_t hello_seq;             // seq of the last HELLO sent, 0 = none outstanding
    uint64_t first_hello_seq;       // seq of the first HELLO of this process (0: none yet)
    wire_capacity_t capacity;       // as announced in HELLO (overrides applied)
    bool have_capacity;             // capacity read at least once (kept while hv is away)
    int64_t heartbeat_ms;           // current heartbeat interval
    bool hv_up;                     // the last CONNECT worked and nothing said it broke
    uint64_t link;                  // successful connects so far: LIST/LOOKUP jobs carry it
    bool connect_pending;           // a CONNECT job is out
    int64_t connect_backoff;        // next hypervisor reconnect delay
    int64_t next_connect;           // when to connect again (while not up)
    bool list_pending;              // a LIST job is out
    uint64_t token_seen;            // newest REPORT_REQUEST token received
    uint64_t list_token;            // token_seen when the LIST job out was asked (echoed)
    bool report_wanted;             // a REPORT is due: LIST once the hv is up and none out
    size_t lookups;                 // LOOKUP jobs out
    int64_t next_hello;             // when to send HELLO (while not registered)
    int64_t next_heartbeat;         // when to send HEARTBEAT (while registered)
    int64_t next_report;            // when the next periodic REPORT is due (registered, up)
    bool stopping;                  // agent_core_stop was called
    lease_t lease;                  // leader and witness leases, watched peers, blocks
    uint64_t renew_id;              // last RENEW id sent
    int64_t next_renew;             // when to renew the leases (while registered)
    int64_t registered_at;          // when the current registration's WELCOME came
    bool had_lease;                 // connected at some moment in this process
    bool leased_here;               // ... in this registration
    bool lapsed;                    // ... and then not: the fencer may have latched in it
    uint64_t session;               // the session messages carry: config.session, changed
                                    // when the core registers again after losing its lease
    agent_core_stats_t stats;       // counters
};

agent_core_t *
agent_core_new (const agent_core_config_t *cfg)
{
    agent_core_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->config = *cfg;
    self->commands = commands_new (cfg->workers);
    if (!self->commands) {
        free (self);
        return NULL;
    }
    self->heartbeat_ms = cfg->heartbeat_ms;
    self->session = cfg->session;
    self->connect_backoff = S_CONNECT_BACKOFF_MIN;
    self->next_connect = INT64_MIN;         // at the first tick
    self->next_hello = INT64_MIN;
    lease_init (&self->lease, cfg->restored_lease_until);
    return self;
}

void
agent_core_destroy (agent_core_t **self_p)
{
    agent_core_t *self = *self_p;
    if (!self)
        return;
    commands_destroy (&self->commands);
    lease_free (&self->lease);
    free (self);
    *self_p = NULL;
}

//  --------------------------------------------------------------------------
//  Messages

static void
s_hello (agent_core_t *self, int64_t now, agent_fx_t *fx)
{
    self->next_hello = now + self->config.hello_retry_ms;
    wire_msg_t *msg = agent_fx_msg (fx, WIRE_HELLO);
    if (!msg)
        return;
    wire_hello_t *hello = &msg->body.hello;
    snprintf (hello->host_id, sizeof hello->host_id, "%s", self->config.host_id);
    snprintf (hello->name, sizeof hello->name, "%s", self->config.name);
    snprintf (hello->boot_id, sizeof hello->boot_id, "%s", self->config.boot_id);
    snprintf (hello->hypervisor_uri, sizeof hello->hypervisor_uri, "%s",
              self->config.hypervisor_uri);
    snprintf (hello->agent_version, sizeof hello->agent_version, "%s",
              self->config.agent_version);
    if (self->config.migration_uri [0])
        snprintf (hello->migration_uri, sizeof hello->migration_uri, "%s",
                  self->config.migration_uri);
    else
        snprintf (hello->migration_uri, sizeof hello->migration_uri, "qemu+tls://%s/system",
                  self->config.name);
    hello->capacity = self->capacity;
    snprintf (hello->witness_endpoint, sizeof hello->witness_endpoint, "%s",
              self->config.witness_endpoint);
    snprintf (hello->watchdog, sizeof hello->watchdog, "%s",
              self->config.watchdog [0]? self->config.watchdog: "none");
}

static void
s_heartbeat (agent_core_t *self, int64_t now, agent_fx_t *fx)
{
    self->next_heartbeat = now + self->heartbeat_ms;
    wire_msg_t *msg = agent_fx_msg (fx, WIRE_HEARTBEAT);
    if (msg)
        msg->body.report.hypervisor_connected = self->hv_up;
}

//  A REPORT is wanted: the LIST job goes out once the hypervisor is up and no LIST is out
//  (one already out may have listed before the reason for this one: it is listed again).
static void
s_want_report (agent_core_t *self, int64_t now)
{
    self->report_wanted = true;
    self->next_report = now + self->config.report_ms;
}

//  The connection is gone (a note, or a call that failed): reconnect after the backoff.
static void
s_hv_lost (agent_core_t *self, int64_t now)
{
    self->hv_up = false;
    self->report_wanted = false;
    self->next_connect = now + self->connect_backoff;
}

static void s_due (agent_core_t *self, int64_t now, agent_fx_t *fx);
static void s_finish (agent_core_t *self, agent_fx_t *fx);

//  --------------------------------------------------------------------------
//  Leases (DESIGN.md §5.1-5.4)

//  Renews the leader lease and every witness lease; reports the silent peers it watches.
static void
s_renew (agent_core_t *self, int64_t now, agent_fx_t *fx)
{
    self->next_renew = now + self->lease.renew_ms;
    wire_msg_t *msg = agent_fx_msg (fx, WIRE_RENEW);
    if (msg) {
        msg->body.renew.id = ++self->renew_id;
        msg->body.renew.config_version = self->lease.config_version;
        lease_sent (&self->lease.leader, self->renew_id, now);
        self->stats.renewals++;
    }
    for (uint32_t i = 0; i < self->lease.witness_count; i++) {
        lease_grantor_t *witness = &self->lease.witnesses [i];
        msg = agent_fx_peer_msg (fx, WIRE_RENEW, witness->peer.host_id);
        if (!msg)
            continue;
        msg->body.renew.id = ++self->renew_id;
        lease_sent (witness, self->renew_id, now);
        self->stats.renewals++;
    }
    wire_witness_report_t report;
    lease_silent_report (&self->lease, now, &report);
    if (report.count && (msg = agent_fx_msg (fx, WIRE_WITNESS_REPORT)))
        msg->body.witness_report = report;
}

//  Notes a lapse of the lease in this registration: the fencer may have latched.
static void
s_watch_lapse (agent_core_t *self, int64_t now)
{
    if (!self->generation || !self->lease.config_version)
        return;
    if (self->leased_here && !lease_connected (&self->lease, now))
        self->lapsed = true;
}

static void
s_on_grant (agent_core_t *self, lease_grantor_t *grantor, const wire_grant_t *grant,
            const char *from, int64_t now)
{
    s_watch_lapse (self, now);              // a grant ends a lapse: note it before
    if (grant->refused) {
        if (log_sampled (++self->stats.rejects))
            log_warn ("lease refused by %s: %s", from, grant->reason);
        return;
    }
    if (lease_granted (grantor, grant->id, grant->lease_ms))
        self->stats.grants++;
}

static void
s_on_lease_config (agent_core_t *self, const wire_lease_config_t *config, int64_t now)
{
    if (config->version <= self->lease.config_version)
        return;                             // a resend, or overtaken by a newer one
    bool first = self->lease.config_version == 0;
    bool changed = config->witness_count != self->lease.witness_count
                || config->watched_count != self->lease.watched_count;
    lease_configure (&self->lease, config, now);
    if (first || changed)
        log_info ("leases: renew every %" PRId64 " ms, lease %" PRId64 " ms, %" PRIu32
                  " witnesses, watching %" PRIu32 " hosts (config %" PRIu64 ")",
                  self->lease.renew_ms, self->lease.lease_ms, config->witness_count,
                  config->watched_count, config->version);
    if (self->next_renew > now + self->lease.renew_ms)
        self->next_renew = now;
}

void
agent_core_on_peer_message (agent_core_t *self, const char *from_host_id,
                            const wire_msg_t *msg, int64_t now, agent_fx_t *fx)
{
    if (msg->kind == WIRE_RENEW && strcmp (msg->host_id, from_host_id) == 0) {
        char why [WIRE_TEXT_SIZE];
        bool grant = !self->stopping && lease_may_grant (&self->lease, from_host_id,
                                                         msg->generation, now, why,
                                                         sizeof why);
        wire_msg_t *reply = agent_fx_peer_msg (fx, WIRE_GRANT, NULL);
        if (reply) {
            reply->body.grant.id = msg->body.renew.id;
            reply->body.grant.lease_ms = grant? (uint32_t) self->lease.lease_ms: 0;
            reply->body.grant.refused = !grant || !self->lease.lease_ms;
            snprintf (reply->body.grant.reason, sizeof reply->body.grant.reason, "%s",
                      grant? (self->lease.lease_ms? "": "no lease config yet"):
                      self->stopping? "agent stopping": why);
        }
        if (grant)
            self->stats.witness_grants++;
        else
            self->stats.witness_refusals++;
    }
    else
    if (msg->kind == WIRE_GRANT && lease_witness (&self->lease, from_host_id))
        s_on_grant (self, lease_witness (&self->lease, from_host_id), &msg->body.grant,
                    "a witness", now);
    else {
        self->stats.unexpected++;
        if (log_sampled (self->stats.unexpected))
            log_warn ("refused a %s message from peer %s", wire_kind_name (msg->kind),
                      from_host_id);
    }
    s_due (self, now, fx);
    s_finish (self, fx);
}

size_t
agent_core_blocks_unsaved (const agent_core_t *self)
{
    return lease_blocks_unsaved (&self->lease);
}

void
agent_core_blocks_saved (agent_core_t *self)
{
    lease_blocks_saved (&self->lease);
}

int
agent_core_load_block (agent_core_t *self, const char *host_id, uint64_t generation)
{
    return lease_load_block (&self->lease, host_id, generation);
}

int64_t
agent_core_connected_until (const agent_core_t *self)
{
    return lease_connected_until (&self->lease);
}

const lease_t *
agent_core_lease (const agent_core_t *self)
{
    return &self->lease;
}

//  --------------------------------------------------------------------------
//  Deadlines

//  True when this registration lost its lease at some moment, after the process had held
//  one (its fencer may have latched, and only a new registration releases it), and it has
//  had L to get one: once the lease is back, or a renewal interval into the lapse (the
//  fencer polls more often, so it has latched before the new WELCOME can come).
static bool
s_lease_lost (agent_core_t *self, int64_t now)
{
    s_watch_lapse (self, now);
    bool connected = lease_connected (&self->lease, now);
    if (connected)
        self->had_lease = self->leased_here = true;
    if (!self->lapsed || now - self->registered_at < self->lease.lease_ms)
        return false;
    return connected || now - lease_connected_until (&self->lease) >= self->lease.renew_ms;
}

//  When the lease lapsed in this registration: the fencer has latched and killed the HA
//  domains, and only a new registration releases it (DESIGN.md §5.11); the scheduler
//  cannot know, so the core asks for one. Called first in an entry point, before any
//  command can begin, so a command never begins in a registration that has just ended.
static void
s_reregister_if_lapsed (agent_core_t *self, int64_t now, agent_fx_t *fx)
{
    if (!self->generation || self->stopping || !s_lease_lost (self, now))
        return;
    log_warn ("the lease lapsed in registration %" PRIu64 ": registering again (a "
              "latched fencer waits for a new registration)", self->generation);
    self->lapsed = false;
    self->generation = 0;
    commands_refuse_stale (self->commands, 0, fx);
    self->hello_seq = 0;
    self->first_hello_seq = 0;
    self->next_hello = now;
    //  A HELLO of the same session to a scheduler that still has this host up would be
    //  taken for a retry of the registration it has (the same generation): a new session
    //  makes it a new registration.
    self->session = self->session * 6364136223846793005ULL + 1442695040888963407ULL;
    if (!self->session)
        self->session = 1;
}

//  Does whatever is due at now.
static void
s_due (agent_core_t *self, int64_t now, agent_fx_t *fx)
{
    s_reregister_if_lapsed (self, now, fx);
    commands_tick (self->commands, now, fx);
    if (self->stopping)
        return;
    if (!self->hv_up && !self->connect_pending && now >= self->next_connect) {
        hv_job_t *job = agent_fx_job (fx, HV_JOB_CONNECT);
        if (job) {
            job->link = self->link;
            self->connect_pending = true;
        }
    }
    if (!self->generation) {
        if (self->have_capacity && now >= self->next_hello)
            s_hello (self, now, fx);
        return;
    }
    if (now >= self->next_heartbeat)
        s_heartbeat (self, now, fx);
    if (self->lease.config_version && now >= self->next_renew)
        s_renew (self, now, fx);
    lease_check_silence (&self->lease, now);
    if (self->hv_up && now >= self->next_report)
        s_want_report (self, now);
    if (self->report_wanted && self->hv_up && !self->list_pending) {
        hv_job_t *job = agent_fx_job (fx, HV_JOB_LIST);
        if (job) {
            job->link = self->link;
            self->list_pending = true;
            self->list_token = self->token_seen;    // the list is younger than this request
            self->report_wanted = false;
        }
    }
}

//  Stamps the messages not stamped yet, in order; remembers the seq of a HELLO.
static void
s_finish (agent_core_t *self, agent_fx_t *fx)
{
    for (size_t i = 0; i < fx->msg_count; i++) {
        wire_msg_t *msg = &fx->msgs [i];
        if (msg->seq)
            continue;                       // from an earlier call, not executed yet
        msg->seq = ++self->seq;
        msg->session = self->session;
        msg->generation = self->generation;
        snprintf (msg->host_id, sizeof msg->host_id, "%s", self->config.host_id);
        if (msg->kind == WIRE_HELLO) {
            self->hello_seq = msg->seq;
            if (!self->first_hello_seq)
                self->first_hello_seq = msg->seq;
        }
        self->stats.messages++;
    }
    for (size_t i = 0; i < fx->peer_msg_count; i++) {
        wire_msg_t *msg = &fx->peer_msgs [i].msg;
        if (msg->seq)
            continue;
        msg->seq = ++self->seq;
        msg->session = self->session;
        msg->generation = self->generation;
        snprintf (msg->host_id, sizeof msg->host_id, "%s", self->config.host_id);
    }
}

void
agent_core_tick (agent_core_t *self, int64_t now, agent_fx_t *fx)
{
    s_due (self, now, fx);
    s_finish (self, fx);
}

//  The earlier of a and b.
static int64_t
s_min (int64_t a, int64_t b)
{
    return a < b? a: b;
}

int64_t
agent_core_next_deadline (const agent_core_t *self)
{
    int64_t next = commands_next_deadline (self->commands);
    if (self->stopping)
        return next;
    if (!self->hv_up && !self->connect_pending)
        next = s_min (next, self->next_connect);
    if (!self->generation)
        return self->have_capacity? s_min (next, self->next_hello): next;
    next = s_min (next, self->next_heartbeat);
    if (self->lease.config_version)
        next = s_min (next, self->next_renew);
    //  A watched peer's silence becomes a block at last_heard + D.
    for (uint32_t i = 0; i < self->lease.watched_count && self->lease.dead_after_ms; i++)
        next = s_min (next, self->lease.watched [i].last_heard + self->lease.dead_after_ms);
    if (self->hv_up)
        next = s_min (next, self->next_report);
    return next;
}

//  --------------------------------------------------------------------------
//  Scheduler messages

static void
s_on_welcome (agent_core_t *self, const wire_welcome_t *welcome, int64_t now,
              agent_fx_t *fx)
{
    //  The answer to the newest HELLO registers. So does, once registered, a later
    //  registration of one of this process's HELLOs (a late or duplicated copy the
    //  scheduler took as a new registration after another process's HELLO came between):
    //  the scheduler now holds that generation for this session, and refuses every
    //  message of the older one without a word.
    bool later = self->generation && !self->hello_seq && self->first_hello_seq
              && welcome->hello_seq >= self->first_hello_seq && welcome->hello_seq <= self->seq
              && welcome->generation > self->generation;
    if (!later && (!self->hello_seq || welcome->hello_seq != self->hello_seq)) {
        log_debug ("ignored a welcome for hello %" PRIu64 " (waiting for %" PRIu64 ")",
                   welcome->hello_seq, self->hello_seq);
        return;
    }
    self->hello_seq = 0;
    self->generation = welcome->generation;
    self->leader_epoch = welcome->leader_epoch;
    commands_refuse_stale (self->commands, self->generation, fx);
    commands_note_epoch (self->commands, welcome->leader_epoch);
    if (welcome->heartbeat_ms >= 10)
        self->heartbeat_ms = welcome->heartbeat_ms;
    self->stats.registrations++;
    log_info ("registered as host '%s' (id %s), generation %" PRIu64 ", scheduler epoch %"
              PRIu64 ", heartbeat %" PRId64 " ms", self->config.name, self->config.host_id,
              self->generation, self->leader_epoch, self->heartbeat_ms);
    s_want_report (self, now);
    self->next_heartbeat = now + self->heartbeat_ms;
    self->next_renew = now;                 // a lease in this registration at once
    self->registered_at = now;
    //  A lapse that began before this WELCOME has latched the fencer before it, so this
    //  registration releases it; unless it began so recently that the fencer may poll
    //  only after the WELCOME.
    int64_t until = lease_connected_until (&self->lease);
    self->leased_here = false;
    self->lapsed = self->had_lease && now >= until && now - until < self->lease.renew_ms;
}

static void
s_on_reject (agent_core_t *self, const wire_reject_t *reject, int64_t now,
             agent_fx_t *fx)
{
    self->stats.rejects++;
    if (reject->reregister) {
        log_warn ("scheduler asks to register again: %s", reject->reason);
        self->generation = 0;
        commands_refuse_stale (self->commands, 0, fx);  // none may begin unregistered
        self->hello_seq = 0;
        self->next_hello = now;
        return;
    }
    if (!self->generation && self->hello_seq) {
        log_error ("scheduler refused registration as '%s': %s; retrying in %d s",
                   self->config.name, reject->reason, S_REFUSED_RETRY_MS / 1000);
        self->hello_seq = 0;
        self->next_hello = now + S_REFUSED_RETRY_MS;
        return;
    }
    //  Rate-limited: a revoked key is refused at every heartbeat.
    if (log_sampled (self->stats.rejects))
        log_warn ("scheduler refused a message: %s (%" PRIu64 " refusals so far)",
                  reject->reason, self->stats.rejects);
}

void
agent_core_on_message (agent_core_t *self, const wire_msg_t *msg, int64_t now,
                       agent_fx_t *fx)
{
    self->stats.received++;
    s_reregister_if_lapsed (self, now, fx);
    if (msg->kind == WIRE_WELCOME)
        s_on_welcome (self, &msg->body.welcome, now, fx);
    else
    if (msg->kind == WIRE_REJECT)
        s_on_reject (self, &msg->body.reject, now, fx);
    else
    if (msg->kind == WIRE_COMMAND)
        commands_receive (self->commands, &msg->body.command, self->generation,
                          lease_connected (&self->lease, now), now, fx);
    else
    if (msg->kind == WIRE_GRANT)
        s_on_grant (self, &self->lease.leader, &msg->body.grant, "the scheduler", now);
    else
    if (msg->kind == WIRE_LEASE_CONFIG)
        s_on_lease_config (self, &msg->body.lease_config, now);
    else
    if (msg->kind == WIRE_REPORT_REQUEST) {
        log_debug ("report requested: %s", msg->body.report_request.reason);
        if (msg->body.report_request.token > self->token_seen)
            self->token_seen = msg->body.report_request.token;
        if (self->generation && self->hv_up && !self->stopping)
            s_want_report (self, now);
    }
    else {
        self->stats.unexpected++;
        log_warn ("refused a %s message from the scheduler", wire_kind_name (msg->kind));
    }
    s_due (self, now, fx);
    s_finish (self, fx);
}

//  --------------------------------------------------------------------------
//  Hypervisor facts

void
agent_core_on_note (agent_core_t *self, const hv_note_t *note, int64_t now, agent_fx_t *fx)
{
    if (self->stopping)
        ;
    else
    if (note->kind == HV_NOTE_DISCONNECTED) {
        s_hv_lost (self, now);
        if (self->generation)
            s_heartbeat (self, now, fx);    // tell the scheduler at once
    }
    else
    if (note->kind == HV_NOTE_EVENT && self->generation && self->hv_up) {
        hv_job_t *job = self->lookups < S_MAX_LOOKUPS? agent_fx_job (fx, HV_JOB_LOOKUP): NULL;
        if (job) {
            job->link = self->link;
            job->note = *note;
            self->lookups++;
        }
        else {
            //  The next report carries it: ask for one now.
            self->stats.lookups_dropped++;
            log_debug ("domain '%s' %s: not looked up (%zu lookups out); reporting instead",
                       note->name, event_kind_name (note->event), self->lookups);
            s_want_report (self, now);
        }
    }
    s_due (self, now, fx);
    s_finish (self, fx);
}

//  Applies the configured capacity overrides to what the hypervisor said.
static void
s_override_capacity (const agent_core_config_t *config, wire_capacity_t *capacity)
{
    if (config->cpus) {
        capacity->cpus = config->cpus;
        //  Cells describe the real topology; with an override they would contradict it.
        capacity->numa_count = 0;
    }
    if (config->memory_mib) {
        capacity->memory_mib = config->memory_mib;
        capacity->numa_count = 0;
    }
}

static void
s_on_connect (agent_core_t *self, const hv_done_t *done, int64_t now)
{
    self->connect_pending = false;
    if (done->rc == 0) {
        self->hv_up = true;
        self->link++;
        self->capacity = done->capacity;
        s_override_capacity (&self->config, &self->capacity);
        self->have_capacity = true;
        self->stats.hv_connects++;
        if (self->connect_backoff > S_CONNECT_BACKOFF_MIN)
            log_info ("connected to '%s' again", self->config.hypervisor_uri);
        else
            log_info ("connected to '%s': %" PRIu32 " cpus, %" PRIu64 " MiB, cpu model '%s'%s",
                      self->config.hypervisor_uri, self->capacity.cpus,
                      self->capacity.memory_mib, self->capacity.cpu_model,
                      self->capacity.nested? ", nested on": "");
        self->connect_backoff = S_CONNECT_BACKOFF_MIN;
        if (self->generation)
            s_want_report (self, now);      // resync: events may have been missed
        else
            self->next_hello = now;
        return;
    }
    //  Say it on the first failure and then every time the backoff is at its longest.
    if (self->connect_backoff == S_CONNECT_BACKOFF_MIN
    ||  self->connect_backoff == S_CONNECT_BACKOFF_MAX)
        log_warn ("%s; retrying in %" PRId64 " ms", done->err, self->connect_backoff);
    self->next_connect = now + self->connect_backoff;
    self->connect_backoff = self->connect_backoff * 2 > S_CONNECT_BACKOFF_MAX
                          ? S_CONNECT_BACKOFF_MAX: self->connect_backoff * 2;
}

//  True when an outcome of a LIST or LOOKUP job still means something: asked on the
//  current connection, which is still up, while registered and not stopping.
static bool
s_current (const agent_core_t *self, const hv_done_t *done)
{
    return done->job.link == self->link && self->hv_up && self->generation && !self->stopping;
}

//  Sends every domain of the host. A hypervisor error drops the connection (it is re-made
//  with backoff) rather than send a report that would claim the domains are gone.
static void
s_on_list (agent_core_t *self, hv_done_t *done, int64_t now, agent_fx_t *fx)
{
    self->list_pending = false;
    if (!s_current (self, done))
        return;
    if (done->rc < 0) {
        log_warn ("cannot report domains: %s; reconnecting", done->err);
        s_hv_lost (self, now);
        return;
    }
    wire_msg_t *msg = agent_fx_msg (fx, WIRE_REPORT);
    if (!msg)
        return;
    msg->body.report.hypervisor_connected = true;
    msg->body.report.request_token = self->list_token;
    msg->body.report.domains = done->domains;
    msg->body.report.domain_count = done->domain_count;
    done->domains = NULL;
    done->domain_count = 0;
    self->stats.reports++;
}

//  Turns a looked-up lifecycle note into an EVENT carrying the domain's state as of the
//  lookup.
static void
s_on_lookup (agent_core_t *self, const hv_done_t *done, agent_fx_t *fx)
{
    if (self->lookups)
        self->lookups--;
    if (!s_current (self, done))
        return;
    const hv_note_t *note = &done->job.note;
    if (done->rc < 0) {
        log_warn ("cannot read domain '%s' after its %s event: %s", note->name,
                  event_kind_name (note->event), done->err);
        return;                             // the next report carries it
    }
    wire_msg_t *msg = agent_fx_msg (fx, WIRE_EVENT);
    if (!msg)
        return;
    wire_event_t *event = &msg->body.event;
    if (done->rc == 1) {
        //  UNDEFINED of a running domain leaves it running (transient): not gone.
        event->kind = note->event == EVENT_UNDEFINED? EVENT_DEFINED: note->event;
        event->domain = done->domain;
    }
    else {
        //  Gone (undefined, or a transient domain stopped): UNDEFINED says so.
        event->kind = EVENT_UNDEFINED;
        snprintf (event->domain.uuid, sizeof event->domain.uuid, "%s", note->uuid);
        snprintf (event->domain.name, sizeof event->domain.name, "%s", note->name);
        event->domain.state = DOMAIN_SHUTOFF;
    }
    log_debug ("domain '%s' %s: now %s", note->name, event_kind_name (note->event),
               domain_state_name (event->domain.state));
    self->stats.events++;
}

void
agent_core_on_done (agent_core_t *self, hv_done_t *done, int64_t now, agent_fx_t *fx)
{
    s_reregister_if_lapsed (self, now, fx);
    switch (done->job.kind) {
        case HV_JOB_CONNECT:
            if (self->stopping)
                self->connect_pending = false;
            else
                s_on_connect (self, done, now);
            break;
        case HV_JOB_LIST:
            s_on_list (self, done, now, fx);
            break;
        case HV_JOB_LOOKUP:
            s_on_lookup (self, done, fx);
            break;
        case HV_JOB_COMMAND:
        case HV_JOB_ABORT:
        case HV_JOB_PROGRESS:
            commands_on_done (self->commands, done, now, fx);
            break;
        default:
            log_warn ("ignored the outcome of an unknown hypervisor job (kind %d)",
                      (int) done->job.kind);
    }
    s_due (self, now, fx);
    s_finish (self, fx);
}

//  --------------------------------------------------------------------------
//  Stopping and state

void
agent_core_stop (agent_core_t *self, int64_t now, agent_fx_t *fx)
{
    self->stopping = true;
    commands_drop_queued (self->commands);
    s_due (self, now, fx);
    s_finish (self, fx);
}

size_t
agent_core_pending (const agent_core_t *self)
{
    return commands_pending (self->commands);
}

uint64_t
agent_core_generation (const agent_core_t *self)
{
    return self->generation;
}

uint64_t
agent_core_leader_epoch (const agent_core_t *self)
{
    return self->leader_epoch;
}

int64_t
agent_core_heartbeat_ms (const agent_core_t *self)
{
    return self->heartbeat_ms;
}

bool
agent_core_hv_connected (const agent_core_t *self)
{
    return self->hv_up;
}

const agent_core_stats_t *
agent_core_stats (const agent_core_t *self)
{
    return &self->stats;
}
