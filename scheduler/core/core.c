/*  core.c - the scheduler's decision core (see core.h).

    Admission of agent messages (who may say what, which registration and sequence are
    current), the report-request rule and routing of decided commands to peers live here,
    so the daemon only moves bytes and commits, and the simulator runs the same decisions.
*/
#include "core.h"
#include "log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct core {
    core_config_t config;           // as given
    model_t *model;                 // the cluster as observed
    managed_t *managed;             // desired state
    outbox_t outbox;                // commands decided, routed by core_flush
    ha_t *ha;                       // leases, witness sets, dead verdicts, timelines
    core_stats_t stats;             // refused messages
};

//  --------------------------------------------------------------------------
//  Effects

void
fx_init (fx_t *fx)
{
    fx->mutations = VEC_OF (mutation_t);
    fx->sends = VEC_OF (fx_send_t);
    vec_init (&fx->fences, WIRE_NAME_SIZE);
}

void
fx_clear (fx_t *fx)
{
    mutations_clear (&fx->mutations);
    vec_clear (&fx->sends);
    vec_clear (&fx->fences);
}

void
fx_free (fx_t *fx)
{
    mutations_free (&fx->mutations);
    vec_free (&fx->sends);
    vec_free (&fx->fences);
}

//  Queues msg to peer (a copy; pointers in it stay borrowed).
static void
s_send (fx_t *fx, uint64_t peer, const wire_msg_t *msg)
{
    fx_send_t send = { .peer = peer, .msg = *msg };
    if (!vec_push (&fx->sends, &send))
        log_error ("cannot queue a %s message: out of memory", wire_kind_name (msg->kind));
}

//  --------------------------------------------------------------------------
//  Life cycle

core_t *
core_new (const core_config_t *config)
{
    core_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->config = *config;
    self->outbox = VEC_OF (outbound_t);
    self->model = model_new ();
    self->managed = managed_new ();
    self->ha = ha_new (&config->ha, config->reconcile.epoch, config->leading_since,
                       config->fence_hosts, config->fence_host_count);
    self->config.fence_hosts = NULL;        // borrowed only here
    self->config.fence_host_count = 0;
    if (!self->model || !self->managed || !self->ha)
        core_destroy (&self);
    return self;
}

void
core_destroy (core_t **self_p)
{
    core_t *self = *self_p;
    if (!self)
        return;
    model_destroy (&self->model);
    ha_destroy (&self->ha);
    managed_destroy (&self->managed);
    vec_free (&self->outbox);
    free (self);
    *self_p = NULL;
}

int
core_reset (core_t *self)
{
    model_t *model = model_new ();
    managed_t *managed = managed_new ();
    if (!model || !managed) {
        log_error ("cannot reset the scheduler core: out of memory (keeping the old state)");
        model_destroy (&model);
        managed_destroy (&managed);
        return -1;
    }
    model_destroy (&self->model);
    managed_destroy (&self->managed);
    self->model = model;
    self->managed = managed;
    vec_clear (&self->outbox);
    ha_forget_timelines (self->ha);         // read back with the rest; the leases stay
    return 0;
}

model_t *
core_model (core_t *self)
{
    return self->model;
}

managed_t *
core_managed (core_t *self)
{
    return self->managed;
}

const core_config_t *
core_config (const core_t *self)
{
    return &self->config;
}

const core_stats_t *
core_stats (const core_t *self)
{
    return &self->stats;
}

outbox_t *
core_outbox (core_t *self)
{
    return &self->outbox;
}

//  --------------------------------------------------------------------------
//  Admission

static void
s_reject (fx_t *fx, uint64_t peer, const char *reason, bool reregister)
{
    wire_msg_t reply;
    wire_msg_init (&reply, WIRE_REJECT);
    snprintf (reply.body.reject.reason, sizeof reply.body.reject.reason, "%s", reason);
    reply.body.reject.reregister = reregister;
    s_send (fx, peer, &reply);
}

//  Counts a refused agent message (rate-limited log).
static void
s_refuse (core_t *self, host_t *host, const char *what)
{
    self->stats.refused++;
    if (host)
        host->live.rejected++;
    if (log_sampled (self->stats.refused))
        log_warn ("refused %s (%" PRIu64 " refused so far)", what, self->stats.refused);
}

//  True when the key may send this message: a host's key speaks for that host only.
static bool
s_authorised (core_t *self, uint64_t peer, const principal_record_t *principal,
              const wire_msg_t *msg, fx_t *fx)
{
    char what [WIRE_TEXT_SIZE + 2 * WIRE_NAME_SIZE + 128];
    if (!principal || principal->kind != PRINCIPAL_HOST) {
        snprintf (what, sizeof what, "a %s from a key that is no longer allowed",
                  wire_kind_name (msg->kind));
        s_refuse (self, NULL, what);
        s_reject (fx, peer, "this host's key is not (or no longer) allowed", false);
        return false;
    }
    //  The host the message is about: by its id, and for a HELLO also by the name it claims.
    host_t *host = model_host_by_id (self->model, msg->host_id);
    const char *claimed = host? host->record.name: NULL;
    if (msg->kind == WIRE_HELLO && (!claimed || strcmp (claimed, principal->name) == 0))
        claimed = msg->body.hello.name;
    if (claimed && strcmp (claimed, principal->name)) {
        snprintf (what, sizeof what, "a %s from the key of host '%s' for host '%s' (a host "
                  "speaks only for itself)", wire_kind_name (msg->kind), principal->name,
                  claimed);
        s_refuse (self, NULL, what);
        s_reject (fx, peer, "this key belongs to another host", false);
        return false;
    }
    return true;
}

static void
s_on_hello (core_t *self, uint64_t peer, const principal_record_t *principal,
            const wire_msg_t *msg, int64_t now, int64_t wall, fx_t *fx)
{
    host_t *known = model_host_by_id (self->model, msg->host_id);
    if (known && known->live.session == msg->session && msg->seq <= known->live.last_seq) {
        s_refuse (self, known, "a stale hello (older than the last accepted message)");
        return;
    }
    char err [WIRE_TEXT_SIZE];
    host_t *host = model_host_register (self->model, &msg->body.hello, msg->session,
                                        principal->key, now, wall, &fx->mutations, err,
                                        sizeof err);
    if (!host) {
        log_warn ("refused hello from host id %s: %s", msg->host_id, err);
        s_reject (fx, peer, err, false);
        return;
    }
    host->live.session = msg->session;
    host->live.last_seq = msg->seq;
    host->live.peer = peer;
    wire_msg_t reply;
    wire_msg_init (&reply, WIRE_WELCOME);
    reply.body.welcome = (wire_welcome_t) {
        host->record.generation, self->config.reconcile.epoch, msg->seq,
        self->config.heartbeat_ms };
    s_send (fx, peer, &reply);
}

//  Accepts a post-registration message if it is current; returns its host or NULL.
static host_t *
s_admit (core_t *self, uint64_t peer, const wire_msg_t *msg, fx_t *fx)
{
    char what [WIRE_TEXT_SIZE + 64];
    host_t *host = model_host_by_id (self->model, msg->host_id);
    const char *kind = wire_kind_name (msg->kind);
    if (!host) {
        snprintf (what, sizeof what, "%s from unknown host id %s", kind, msg->host_id);
        s_refuse (self, NULL, what);
        s_reject (fx, peer, "unknown host: register first", true);
        return NULL;
    }
    if (msg->generation != host->record.generation) {
        snprintf (what, sizeof what, "%s from host '%s' with generation %" PRIu64
                  " (current %" PRIu64 ")", kind, host->record.name, msg->generation,
                  host->record.generation);
        s_refuse (self, host, what);
        //  Only the newest agent process may be told to register again: an old one's
        //  late message must not start a registration race.
        if (msg->generation < host->record.generation && msg->session == host->live.session)
            return NULL;
        s_reject (fx, peer, "stale generation: register again", true);
        return NULL;
    }
    if (HOST_STATE_GONE (host->record.state)) {
        snprintf (what, sizeof what, "%s from host '%s', which was declared %s", kind,
                  host->record.name, host_state_name (host->record.state));
        s_refuse (self, host, what);
        s_reject (fx, peer, host->record.state == HOST_STATE_DEAD?
                  "host was declared dead: register again":
                  "host was declared down: register again", true);
        return NULL;
    }
    if (host->live.session == msg->session && msg->seq <= host->live.last_seq) {
        snprintf (what, sizeof what, "%s from host '%s' with old seq %" PRIu64
                  " (last %" PRIu64 ")", kind, host->record.name, msg->seq,
                  host->live.last_seq);
        s_refuse (self, host, what);
        return NULL;
    }
    host->live.session = msg->session;
    host->live.last_seq = msg->seq;
    host->live.peer = peer;
    return host;
}

//  What this process knows of a host's domains may predate its start: ask for a report.
static void
s_maybe_request_report (core_t *self, host_t *host, int64_t now, fx_t *fx)
{
    if (host->live.reported || now - host->live.report_requested < self->config.report_request_ms)
        return;
    host->live.report_requested = now;
    wire_msg_t request;
    wire_msg_init (&request, WIRE_REPORT_REQUEST);
    snprintf (request.body.report_request.reason, sizeof request.body.report_request.reason,
              "scheduler epoch %" PRIu64 " has no report of this host yet",
              self->config.reconcile.epoch);
    s_send (fx, host->live.peer, &request);
}

void
core_on_agent (core_t *self, uint64_t peer, const principal_record_t *principal,
               const wire_msg_t *msg, int64_t now, int64_t wall, fx_t *fx)
{
    if (!s_authorised (self, peer, principal, msg, fx))
        return;
    if (msg->kind == WIRE_HELLO) {
        s_on_hello (self, peer, principal, msg, now, wall, fx);
        return;
    }
    if (msg->kind != WIRE_HEARTBEAT && msg->kind != WIRE_REPORT && msg->kind != WIRE_EVENT
    &&  msg->kind != WIRE_COMMAND_RESULT && msg->kind != WIRE_RENEW
    &&  msg->kind != WIRE_WITNESS_REPORT) {
        s_refuse (self, NULL, "a message of a kind agents do not send");
        return;
    }
    host_t *host = s_admit (self, peer, msg, fx);
    if (!host)
        return;
    model_host_heard (self->model, host, now, wall, &fx->mutations);
    if (msg->kind == WIRE_HEARTBEAT) {
        s_maybe_request_report (self, host, now, fx);
        host->live.hypervisor_connected = msg->body.report.hypervisor_connected;
    }
    else
    if (msg->kind == WIRE_REPORT) {
        model_apply_report (self->model, host, &msg->body.report, wall, &fx->mutations);
        model_apply_load (self->model, host, &msg->body.report, now);
    }
    else
    if (msg->kind == WIRE_EVENT)
        model_apply_event (self->model, host, &msg->body.event, wall, &fx->mutations);
    else
    if (msg->kind == WIRE_RENEW) {
        wire_msg_t grant;
        ha_on_renew (self->ha, host, &msg->body.renew, now, &grant);
        s_send (fx, host->live.peer, &grant);
    }
    else
    if (msg->kind == WIRE_WITNESS_REPORT)
        ha_on_witness_report (self->ha, self->model, host, &msg->body.witness_report, now,
                              wall, &fx->mutations);
    else
        reconcile_result (self->model, self->managed, &self->config.reconcile, host,
                          &msg->body.result, now, wall, &self->outbox, &fx->mutations);
    core_flush (self, fx);
}

//  --------------------------------------------------------------------------
//  Time and routing

//  True when an HA VM may run on host: placed there, observed there or in its may-run set.
static bool
s_may_run_ha (void *arg, const host_t *host)
{
    core_t *self = arg;
    for (size_t i = 0; i < managed_spec_count (self->managed); i++) {
        const spec_t *spec = managed_spec_at (self->managed, i);
        if (!spec->record.ha)
            continue;
        if (strcmp (spec->record.host_id, host->record.id) == 0
        ||  model_vm_copy (self->model, spec->record.uuid, host->record.id))
            return true;
        for (uint32_t e = 0; e < spec->may_run_count; e++)
            if (strcmp (spec->may_run [e].record.host_id, host->record.id) == 0)
                return true;
    }
    return false;
}

//  The hosts declared dead (ids in dead): what it means for their VMs.
static void
s_buried (core_t *self, const vec_t *dead, int64_t wall, fx_t *fx)
{
    for (size_t i = 0; i < dead->count; i++) {
        const host_t *host = model_host_by_id (self->model, vec_at (dead, i));
        if (host)
            reconcile_host_dead (self->model, self->managed, host, wall, &fx->mutations);
    }
}

void
core_on_fence_result (core_t *self, const char *name, bool confirmed, const char *reason,
                      int64_t now, int64_t wall, fx_t *fx)
{
    vec_t dead;
    vec_init (&dead, WIRE_ID_SIZE);
    ha_on_fence_result (self->ha, self->model, name, confirmed, reason, wall, &dead,
                        &fx->mutations);
    s_buried (self, &dead, wall, fx);
    vec_free (&dead);
    reconcile_step (self->model, self->managed, &self->config.reconcile, now, wall,
                    &self->outbox, &fx->mutations);
    core_flush (self, fx);
}

void
core_committed (core_t *self, const fx_t *fx)
{
    for (size_t i = 0; i < fx->mutations.count; i++) {
        const mutation_t *mutation = vec_at (&fx->mutations, i);
        if (mutation->kind == MUTATION_HOST_EVENT && ha_note (self->ha, &mutation->u.host_event))
            log_error ("cannot keep a timeline entry: out of memory");
    }
}

ha_t *
core_ha (core_t *self)
{
    return self->ha;
}

void
core_tick (core_t *self, int64_t now, int64_t wall, fx_t *fx)
{
    model_check_liveness (self->model, &self->config.timing, now, wall, &fx->mutations);
    vec_t sends = VEC_OF (ha_send_t), dead;
    vec_init (&dead, WIRE_ID_SIZE);
    ha_tick (self->ha, self->model, s_may_run_ha, self, now, wall, &sends, &fx->fences, &dead,
             &fx->mutations);
    for (size_t i = 0; i < sends.count; i++) {
        const ha_send_t *send = vec_at (&sends, i);
        const host_t *host = model_host_by_id (self->model, send->host_id);
        if (host && host->live.peer)
            s_send (fx, host->live.peer, &send->msg);
    }
    s_buried (self, &dead, wall, fx);
    vec_free (&sends);
    vec_free (&dead);
    reconcile_step (self->model, self->managed, &self->config.reconcile, now, wall,
                    &self->outbox, &fx->mutations);
    core_flush (self, fx);
}

void
core_flush (core_t *self, fx_t *fx)
{
    for (size_t i = 0; i < self->outbox.count; i++) {
        const outbound_t *item = vec_at (&self->outbox, i);
        host_t *host = model_host_by_id (self->model, item->host_id);
        if (!host || !host->live.heard || !host->live.peer) {
            log_debug ("command %" PRIu64 " held back: host %s has not been heard since the "
                       "scheduler started", item->command.id, item->host_id);
            continue;                       // re-sent by the reconciler
        }
        wire_msg_t msg;
        if (item->report_request) {
            wire_msg_init (&msg, WIRE_REPORT_REQUEST);
            snprintf (msg.body.report_request.reason, sizeof msg.body.report_request.reason,
                      "where a vm runs must be confirmed");
            msg.body.report_request.token = item->token;
        }
        else {
            wire_msg_init (&msg, WIRE_COMMAND);
            msg.body.command = item->command;   // domain_xml borrowed from the spec
        }
        s_send (fx, host->live.peer, &msg);
    }
    vec_clear (&self->outbox);
}
