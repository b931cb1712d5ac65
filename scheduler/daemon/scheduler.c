/*  scheduler.c - the vmsched scheduler daemon: one zloop over the agent and ctl sockets.

    Owns the daemon's state (one struct, no globals). Effects happen only here: reading the
    clocks, the sockets, the store, the fence runner. The model decides; this file feeds it
    messages, time and fence results, persists what it returns, and replies (and asks for
    fencing) once the batch is committed.
*/
#include "scheduler.h"
#include "auth.h"
#include "clock.h"
#include "keys.h"
#include "loader.h"
#include "ctl.h"
#include "log.h"
#include "core.h"
#include "fence.h"
#include "store.h"
#include "peers.h"
#include "transport.h"
#include "vec.h"

#include <czmq.h>
#include <inttypes.h>

#define S_DRAIN_MAX     256     // messages handled per wake-up before committing
#define S_TICK_MS       100     // liveness check interval
#define S_REPORT_REQUEST_MS 1000    // ask a host that has not reported at most this often

//  A clusterctl reply waiting for the batch commit.
typedef struct {
    transport_route_t route;    // destination
    wire_msg_t msg;             // the reply (owned: wire_msg_reset after sending)
} s_reply_t;

struct scheduler {
    scheduler_config_t config;  // as loaded
    store_t *store;             // database
    core_t *core;               // the decisions: cluster, desired state, admission
    zcert_t *cert;              // the scheduler's CURVE key pair
    auth_t *auth;               // allow list and ZAP handler
    zsock_t *agents;            // ROUTER for agents
    zsock_t *ctl;               // ROUTER for clusterctl
    zsock_t *agent_monitor;     // PAIR: monitor events of agents (failed handshakes)
    zsock_t *ctl_monitor;       // PAIR: monitor events of ctl
    zloop_t *loop;              // the one loop
    uint64_t epoch;             // this leader's epoch
    uint64_t session;           // random, for our envelopes
    uint64_t seq;               // last seq we sent
    uint64_t mutation_seq;      // seq of the last committed mutation
    int64_t started;            // boot ms at start
    fx_t fx;                    // the core's effects since the last commit
    vec_t replies;              // s_reply_t: ctl replies waiting for the commit
    peers_t *peers;             // agent connections by opaque peer id
    transport_stats_t agent_stats;  // agent socket counters
    transport_stats_t ctl_stats;    // ctl socket counters
    fence_config_t fences;      // [fence NAME] sections of the config file
    fence_runner_t *fence_runner;   // runs fence agents in its own thread
    uint64_t fence_requests;    // last fence request id handed out
};

const config_key_t scheduler_config_keys [] = {
    CONFIG_STR ("scheduler", "agent_endpoint", scheduler_config_t, agent_endpoint,
                "ZeroMQ endpoint agents connect to"),
    CONFIG_STR ("scheduler", "ctl_endpoint", scheduler_config_t, ctl_endpoint,
                "ZeroMQ endpoint clusterctl connects to"),
    CONFIG_STR ("scheduler", "database", scheduler_config_t, database, "SQLite database file"),
    CONFIG_NUM ("scheduler", "heartbeat_ms", scheduler_config_t, heartbeat_ms, 50, 60000,
                "agent heartbeat interval in milliseconds"),
    CONFIG_NUM ("scheduler", "suspect_after_ms", scheduler_config_t, suspect_after_ms, 100,
                600000, "silence in milliseconds after which a host is suspect"),
    CONFIG_NUM ("scheduler", "down_after_ms", scheduler_config_t, down_after_ms, 200, 3600000,
                "silence in milliseconds after which a host is down"),
    CONFIG_STR ("scheduler", "log_level", scheduler_config_t, log_level,
                "error, warn, info or debug"),
    CONFIG_STR ("scheduler", "secret_key", scheduler_config_t, secret_key,
                "the scheduler's CURVE secret key file (vmsched-scheduler --keygen)"),
    CONFIG_STR ("scheduler", "admin_key", scheduler_config_t, admin_key,
                "public key file of the first admin, allowed as user 'admin' at start"),
    CONFIG_STR ("scheduler", "placement", scheduler_config_t, placement,
                "spread (balance hosts) or pack (fill hosts)"),
    CONFIG_NUM ("scheduler", "cpu_overcommit_pct", scheduler_config_t, cpu_overcommit_pct, 10,
                10000, "vCPUs allowed per 100 host CPUs (400 = 4:1)"),
    CONFIG_NUM ("scheduler", "mem_overcommit_pct", scheduler_config_t, mem_overcommit_pct, 10,
                1000, "memory allowed per 100 MiB of host memory (100 = none)"),
    CONFIG_NUM ("scheduler", "start_concurrency", scheduler_config_t, start_concurrency, 1, 64,
                "vm starts in flight per host"),
    CONFIG_NUM ("scheduler", "migrate_concurrency", scheduler_config_t, migrate_concurrency, 1,
                16, "maintenance live migrations in flight per host"),
    CONFIG_NUM ("scheduler", "migration_timeout_ms", scheduler_config_t, migration_timeout_ms,
                1000, 86400000, "live migrations still running after this are aborted"),
    CONFIG_NUM ("scheduler", "stop_graceful_ms", scheduler_config_t, stop_graceful_ms, 0,
                3600000, "ACPI shutdown grace before a stop destroys the vm (0: at once)"),
    CONFIG_STR ("ha", "profile", scheduler_config_t, ha_profile,
                "HA timing profile: default (failover in seconds) or conservative"),
    CONFIG_NUM ("ha", "renew_ms", scheduler_config_t, ha_renew_ms, 0, 60000,
                "h: agents renew their leases this often (0: the profile's)"),
    CONFIG_NUM ("ha", "lease_ms", scheduler_config_t, ha_lease_ms, 0, 600000,
                "L: length of a lease (0: the profile's)"),
    CONFIG_NUM ("ha", "fence_ms", scheduler_config_t, ha_fence_ms, 0, 600000,
                "F: an isolated host kills its HA vms within this (0: the profile's)"),
    CONFIG_NUM ("ha", "watchdog_ms", scheduler_config_t, ha_watchdog_ms, 0, 600000,
                "W: a host that stops petting its watchdog resets within this (0: profile)"),
    CONFIG_NUM ("ha", "margin_ms", scheduler_config_t, ha_margin_ms, 0, 600000,
                "slack for clock drift and scheduling (0: the profile's)"),
    CONFIG_NUM ("ha", "dead_after_ms", scheduler_config_t, ha_dead_after_ms, 0, 3600000,
                "D: silence before a host may be declared dead (0: the profile's)"),
    CONFIG_NUM ("ha", "witnesses", scheduler_config_t, ha_witnesses, 0, 7,
                "k: witnesses per host in clusters of more than k + 1 hosts (odd; 0: 5)"),
    CONFIG_FLAG ("ha", "allow_unfenced_hosts", scheduler_config_t, ha_allow_unfenced_hosts,
                 "place HA vms also on hosts with neither watchdog nor fence device (audited)"),
    CONFIG_NUM ("ha", "max_restart", scheduler_config_t, ha_max_restart, 0, 100,
                "failed starts of an HA vm on one host before it is relocated"),
    CONFIG_NUM ("ha", "max_relocate", scheduler_config_t, ha_max_relocate, 0, 100,
                "hosts an HA vm is relocated to after failed starts, then error"),
    CONFIG_OTHER ("fence ", "fence device of host NAME: agent = PATH, its options (README)"),
    CONFIG_END
};

void
scheduler_config_defaults (scheduler_config_t *config)
{
    *config = (scheduler_config_t) {
        .agent_endpoint = "tcp://*:7100",
        .ctl_endpoint = "tcp://*:7101",
        .database = "/var/lib/vmsched/vmsched.db",
        .heartbeat_ms = 500,
        .suspect_after_ms = 1500,
        .down_after_ms = 5000,
        .log_level = "info",
        .placement = "spread",
        .cpu_overcommit_pct = 400,
        .mem_overcommit_pct = 100,
        .start_concurrency = 4,
        .migrate_concurrency = 2,
        .migration_timeout_ms = 120000,
        .stop_graceful_ms = 0,
        .secret_key = "/etc/vmsched/scheduler.key_secret",
        .ha_profile = "default",
        .ha_max_restart = 1,
        .ha_max_relocate = 2,
    };
}

int
scheduler_ha_config (const scheduler_config_t *config, ha_config_t *ha, char *err,
                     size_t err_size)
{
    memset (ha, 0, sizeof *ha);
    if (ha_config_profile (ha, config->ha_profile)) {
        snprintf (err, err_size, "invalid [ha] profile '%s': expected default or conservative",
                  config->ha_profile);
        return -1;
    }
    struct { uint64_t value; int64_t *field; } overrides [] = {
        { config->ha_renew_ms, &ha->renew_ms }, { config->ha_lease_ms, &ha->lease_ms },
        { config->ha_fence_ms, &ha->fence_ms }, { config->ha_watchdog_ms, &ha->watchdog_ms },
        { config->ha_margin_ms, &ha->margin_ms },
        { config->ha_dead_after_ms, &ha->dead_after_ms },
    };
    for (size_t i = 0; i < sizeof overrides / sizeof overrides [0]; i++)
        if (overrides [i].value)
            *overrides [i].field = (int64_t) overrides [i].value;
    if (config->ha_witnesses)
        ha->witnesses = (uint32_t) config->ha_witnesses;
    ha->allow_unfenced_hosts = config->ha_allow_unfenced_hosts;
    ha->suspect_after_ms = (int64_t) config->suspect_after_ms;
    return 0;
}

int
scheduler_config_check (const scheduler_config_t *config, char *err, size_t err_size)
{
    if (log_level_check (config->log_level, err, err_size))
        return -1;
    if (strcmp (config->placement, "spread") && strcmp (config->placement, "pack")) {
        snprintf (err, err_size, "invalid placement '%s': expected spread or pack",
                  config->placement);
        return -1;
    }
    if (config->suspect_after_ms <= config->heartbeat_ms
    ||  config->down_after_ms <= config->suspect_after_ms) {
        snprintf (err, err_size, "timing must satisfy heartbeat_ms (%" PRIu64 ") < "
                  "suspect_after_ms (%" PRIu64 ") < down_after_ms (%" PRIu64 ")",
                  config->heartbeat_ms, config->suspect_after_ms, config->down_after_ms);
        return -1;
    }
    ha_config_t ha;
    return scheduler_ha_config (config, &ha, err, err_size)
        || ha_config_check (&ha, (int64_t) config->down_after_ms, err, err_size)? -1: 0;
}

//  --------------------------------------------------------------------------
//  Effects: commit, then send

//  Encodes msg (with our session and the next seq) and sends it on sock.
static void
s_transmit (scheduler_t *self, zsock_t *sock, transport_stats_t *stats,
            const transport_route_t *route, wire_msg_t *msg)
{
    msg->seq = ++self->seq;
    msg->session = self->session;
    uint8_t *data;
    size_t size;
    char err [256];
    if (wire_encode (msg, &data, &size, err, sizeof err)) {
        log_error ("cannot encode a %s message: %s", wire_kind_name (msg->kind), err);
        return;
    }
    transport_send_raw (sock, route, data, size, stats);
    free (data);
}

//  Hands each host name in fences to the fence runner, once its request is durable; a host
//  the runner cannot take (no [fence NAME] section, the runner gone, the commit failed)
//  gets a failed result at once, so its timeline says so and the lease rule decides.
static void
s_request_fences (scheduler_t *self, const vec_t *fences, bool durable)
{
    for (size_t i = 0; i < fences->count; i++) {
        const char *name = vec_at (fences, i);
        const char *failure = NULL;
        if (!durable)
            failure = "not asked: the database write that recorded the request failed";
        else
        if (!fence_config_find (&self->fences, name)) {
            log_warn ("host '%s': cannot fence it: no [fence %s] section in '%s'", name, name,
                      self->config.config_file [0]? self->config.config_file: "(no file)");
            failure = "no fence agent configured";
        }
        else
        if (fence_runner_request (self->fence_runner, name, ++self->fence_requests) < 0)
            failure = "the fence runner does not take requests";
        if (failure)
            core_on_fence_result (self->core, name, false, failure, clock_boottime_ms (),
                                  clock_wall_ms (), &self->fx);
    }
}

//  Persists the mutations of this wake-up, then sends what the core decided and the ctl
//  replies and asks for the fences it decided (or, if the commit failed, drops the messages:
//  peers retry, the reconciler re-sends).
static void
s_commit_and_reply (scheduler_t *self)
{
    bool durable = loader_commit (self->core, self->store, &self->fx, &self->mutation_seq,
                                  clock_boottime_ms ()) == 0;
    size_t dropped = 0;
    for (size_t i = 0; i < self->fx.sends.count; i++) {
        fx_send_t *send = vec_at (&self->fx.sends, i);
        const transport_route_t *route = peers_route (self->peers, send->peer);
        if (durable && route)
            s_transmit (self, self->agents, &self->agent_stats, route, &send->msg);
        dropped += !durable;
    }
    for (size_t i = 0; i < self->replies.count; i++) {
        s_reply_t *reply = vec_at (&self->replies, i);
        if (durable)
            s_transmit (self, self->ctl, &self->ctl_stats, &reply->route, &reply->msg);
        wire_msg_reset (&reply->msg);
        dropped += !durable;
    }
    if (dropped)
        log_error ("dropped %zu messages because the database write failed; peers will retry",
                   dropped);
    //  The fence requests leave only now, after the sends (fx is reused for the failures).
    vec_t fences = self->fx.fences;
    vec_init (&self->fx.fences, WIRE_NAME_SIZE);
    fx_clear (&self->fx);
    vec_clear (&self->replies);
    s_request_fences (self, &fences, durable);
    vec_free (&fences);
    //  Failed requests were recorded in fx (they ask for no fence: this recurses once).
    if (self->fx.mutations.count || self->fx.sends.count)
        s_commit_and_reply (self);
}

//  --------------------------------------------------------------------------
//  Agent messages

static int
s_on_agents (zloop_t *loop, zsock_t *sock, void *arg)
{
    (void) loop;
    scheduler_t *self = arg;
    for (int i = 0; i < S_DRAIN_MAX; i++) {
        transport_route_t route;
        wire_msg_t msg;
        int rc = transport_recv (sock, "an agent", &self->agent_stats, &route, &msg);
        if (rc == 0)
            break;
        if (rc == 1)
            core_on_agent (self->core, peers_id (self->peers, &route),
                           auth_principal (self->auth, route.user_id), &msg,
                           clock_boottime_ms (), clock_wall_ms (), &self->fx);
        wire_msg_reset (&msg);
    }
    s_commit_and_reply (self);
    return 0;
}

//  --------------------------------------------------------------------------
//  clusterctl requests

static void
s_on_request (scheduler_t *self, const transport_route_t *route, const wire_msg_t *msg)
{
    wire_msg_t reply;
    wire_msg_init (&reply, WIRE_CTL_REPLY);
    if (msg->kind != WIRE_CTL_REQUEST) {
        reply.body.reply.status = 2;
        snprintf (reply.body.reply.error, sizeof reply.body.reply.error,
                  "expected a ctl request, got a %s message", wire_kind_name (msg->kind));
    }
    else {
        int64_t now = clock_boottime_ms ();
        const principal_record_t *principal = auth_principal (self->auth, route->user_id);
        //  Who, for the audit log: kind:name as the handshake named it (without the grant).
        char who [sizeof route->user_id];
        snprintf (who, sizeof who, "%.*s", (int) strcspn (route->user_id, "#"), route->user_id);
        ctl_env_t env = {
            .store = self->store, .auth = self->auth, .version = VMSCHED_VERSION,
            .started = self->started, .database = self->config.database,
            .agent_endpoint = self->config.agent_endpoint,
            .ctl_endpoint = self->config.ctl_endpoint, .received = self->agent_stats.received,
            .rejected = self->agent_stats.malformed,
            .handshake_failed = self->agent_stats.handshake_failed
                              + self->ctl_stats.handshake_failed,
        };
        ctl_on_request (self->core, &env, principal, who, &msg->body.request, now,
                        clock_wall_ms (), &self->fx, &reply.body.reply);
    }
    s_reply_t queued = { *route, reply };
    if (!vec_push (&self->replies, &queued)) {
        log_error ("cannot queue a ctl reply: out of memory");
        wire_msg_reset (&reply);
    }
}

static int
s_on_ctl (zloop_t *loop, zsock_t *sock, void *arg)
{
    (void) loop;
    scheduler_t *self = arg;
    for (int i = 0; i < S_DRAIN_MAX; i++) {
        transport_route_t route;
        wire_msg_t msg;
        int rc = transport_recv (sock, "a clusterctl client", &self->ctl_stats, &route, &msg);
        if (rc == 0)
            break;
        if (rc == 1)
            s_on_request (self, &route, &msg);
        wire_msg_reset (&msg);
    }
    s_commit_and_reply (self);
    return 0;
}

//  A CURVE handshake asks whether a key may connect.
static int
s_on_zap (zloop_t *loop, zsock_t *sock, void *arg)
{
    (void) loop, (void) sock;
    auth_handle (((scheduler_t *) arg)->auth);
    return 0;
}

//  A handshake failed before the ZAP handler was asked (not CURVE, wrong server key).
static int
s_on_agent_monitor (zloop_t *loop, zsock_t *sock, void *arg)
{
    (void) loop;
    transport_monitor_recv (sock, AUTH_DOMAIN_AGENTS, &((scheduler_t *) arg)->agent_stats);
    return 0;
}

static int
s_on_ctl_monitor (zloop_t *loop, zsock_t *sock, void *arg)
{
    (void) loop;
    transport_monitor_recv (sock, AUTH_DOMAIN_OPERATORS, &((scheduler_t *) arg)->ctl_stats);
    return 0;
}

//  --------------------------------------------------------------------------
//  Fence results

//  The fence runner finished one or more fences: tell the core, commit, send.
static int
s_on_fence (zloop_t *loop, zsock_t *sock, void *arg)
{
    (void) loop, (void) sock;
    scheduler_t *self = arg;
    fence_result_t result;
    while (fence_runner_take (self->fence_runner, &result) == 0) {
        bool confirmed = result.outcome == FENCE_CONFIRMED_OFF;
        if (confirmed)
            log_info ("host '%s': fence agent confirmed power-off: %s", result.host_name,
                      result.reason);
        core_on_fence_result (self->core, result.host_name, confirmed, result.reason,
                              clock_boottime_ms (), clock_wall_ms (), &self->fx);
    }
    s_commit_and_reply (self);
    return 0;
}

//  --------------------------------------------------------------------------
//  Time

//  True when some host's agent is reachable through peer.
static bool
s_peer_in_use (void *arg, uint64_t peer)
{
    model_t *model = core_model (((scheduler_t *) arg)->core);
    for (size_t i = 0; i < model_host_count (model); i++)
        if (model_host_at (model, i)->live.peer == peer)
            return true;
    return false;
}

static int
s_on_tick (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop, (void) timer_id;
    scheduler_t *self = arg;
    core_tick (self->core, clock_boottime_ms (), clock_wall_ms (), &self->fx);
    if (self->fx.mutations.count || self->fx.sends.count)
        s_commit_and_reply (self);
    if (peers_count (self->peers) > 2 * model_host_count (core_model (self->core)) + 64)
        peers_prune (self->peers, s_peer_in_use, self);
    return 0;
}

//  --------------------------------------------------------------------------
//  Life cycle



static void
s_load_principal (void *arg, const principal_record_t *record)
{
    scheduler_t *self = arg;
    if (auth_allow (self->auth, record))
        log_error ("cannot load the key of %s '%s' from the database", record->kind
                   == PRINCIPAL_HOST? "host": "user", record->name);
}

//  Allows the configured first admin's key as user 'admin' (once).
static int
s_bootstrap_admin (scheduler_t *self, char *err, size_t err_size)
{
    if (!self->config.admin_key [0])
        return 0;
    principal_record_t admin = { .kind = PRINCIPAL_USER, .role = ROLE_ADMIN,
                                 .created_at = clock_wall_ms () };
    snprintf (admin.name, sizeof admin.name, "admin");
    if (keys_load_public (self->config.admin_key, admin.key, err, err_size))
        return -1;
    for (size_t i = 0; i < auth_count (self->auth); i++) {
        const principal_record_t *known = auth_at (self->auth, i);
        if (strcmp (known->key, admin.key) == 0 && known->kind == PRINCIPAL_USER)
            return 0;                       // allowed already (under whatever user name)
        if (strcmp (known->key, admin.key) == 0) {
            snprintf (err, err_size, "admin_key '%s' is the key of host '%s'; an operator "
                      "needs a key of their own (clusterctl keygen)", self->config.admin_key,
                      known->name);
            return -1;
        }
    }
    if (auth_allow (self->auth, &admin)) {
        snprintf (err, err_size, "admin_key '%s': a user named 'admin' exists with another "
                  "key; remove admin_key from the configuration", self->config.admin_key);
        return -1;
    }
    mutation_t put = { .kind = MUTATION_PRINCIPAL_PUT, .at = admin.created_at };
    put.u.principal = admin;
    log_info ("allowed the key of '%s' as user 'admin' (role admin)", self->config.admin_key);
    return store_apply (self->store, &put) || store_commit (self->store)? -1: 0;
}




scheduler_t *
scheduler_new (const scheduler_config_t *config, char *err, size_t err_size)
{
    scheduler_t *self = calloc (1, sizeof *self);
    if (!self) {
        snprintf (err, err_size, "out of memory");
        return NULL;
    }
    self->config = *config;
    fence_config_init (&self->fences);
    self->started = clock_boottime_ms ();
    self->session = ((uint64_t) randof (0x7fffffff) << 32) ^ (uint64_t) randof (0x7fffffff);
    //  The key first: a scheduler that cannot run must leave no database behind.
    if (config->config_file [0]
    &&  fence_config_load (config->config_file, &self->fences, err, err_size)) {
        scheduler_destroy (&self);
        return NULL;
    }
    self->cert = keys_load_secret (config->secret_key, err, err_size);
    self->store = self->cert? store_open (config->database, err, err_size): NULL;
    self->auth = self->store? auth_new (err, err_size): NULL;
    if (!self->auth) {
        scheduler_destroy (&self);
        return NULL;
    }
    self->replies = VEC_OF (s_reply_t);
    fx_init (&self->fx);
    self->epoch = store_epoch (self->store) + 1;
    self->mutation_seq = store_mutation_seq (self->store);
    core_config_t core = {
        .timing = { (int64_t) config->suspect_after_ms, (int64_t) config->down_after_ms },
        .heartbeat_ms = (uint32_t) config->heartbeat_ms,
        .report_request_ms = S_REPORT_REQUEST_MS,
    };
    reconcile_config_defaults (&core.reconcile);
    core.reconcile.epoch = self->epoch;
    core.reconcile.policy.strategy = strcmp (config->placement, "pack")? PLACE_SPREAD: PLACE_PACK;
    core.reconcile.policy.cpu_overcommit = (double) config->cpu_overcommit_pct / 100;
    core.reconcile.policy.mem_overcommit = (double) config->mem_overcommit_pct / 100;
    core.reconcile.start_concurrency = (uint32_t) config->start_concurrency;
    core.reconcile.migrate_concurrency = (uint32_t) config->migrate_concurrency;
    core.reconcile.migration_timeout_ms = (uint32_t) config->migration_timeout_ms;
    core.reconcile.stop_graceful_ms = (uint32_t) config->stop_graceful_ms;
    core.reconcile.max_restart = (uint32_t) config->ha_max_restart;
    core.reconcile.max_relocate = (uint32_t) config->ha_max_relocate;
    if (scheduler_ha_config (config, &core.ha, err, err_size)) {
        scheduler_destroy (&self);
        return NULL;
    }
    core.reconcile.policy.allow_unprotected = core.ha.allow_unfenced_hosts;
    core.leading_since = self->started;
    //  The hosts with a fence device, by name (borrowed by core_new only).
    size_t fenced = self->fences.hosts.count;
    const char **fence_hosts = calloc (fenced + 1, sizeof *fence_hosts);
    for (size_t i = 0; fence_hosts && i < fenced; i++)
        fence_hosts [i] = ((const fence_host_t *) vec_at (&self->fences.hosts, i))->name;
    core.fence_hosts = fence_hosts;
    core.fence_host_count = fenced;
    self->core = fence_hosts? core_new (&core): NULL;
    free (fence_hosts);
    self->peers = peers_new ();
    if (!self->core || !self->peers) {
        if (self->store)
            snprintf (err, err_size, "out of memory");
        scheduler_destroy (&self);
        return NULL;
    }
    if (loader_load (self->core, self->store, self->started)
    ||  store_load_principals (self->store, s_load_principal, self)
    ||  store_abandon_ops (self->store, clock_wall_ms ())) {
        snprintf (err, err_size, "cannot load the cluster from '%s' (see the log above)",
                  config->database);
        scheduler_destroy (&self);
        return NULL;
    }
    if (s_bootstrap_admin (self, err, err_size)) {
        scheduler_destroy (&self);
        return NULL;
    }
    mutation_t epoch = { .kind = MUTATION_EPOCH, .at = clock_wall_ms () };
    epoch.u.epoch = self->epoch;
    epoch.seq = ++self->mutation_seq;
    //  Running HA vms where nothing can reset an isolated host is the operator's explicit
    //  choice: audited at every start, and shown by `status`.
    mutation_t unfenced = { .kind = MUTATION_AUDIT, .at = epoch.at };
    snprintf (unfenced.u.audit.who, sizeof unfenced.u.audit.who, "config");
    snprintf (unfenced.u.audit.verb, sizeof unfenced.u.audit.verb, "ha.allow_unfenced_hosts");
    snprintf (unfenced.u.audit.message, sizeof unfenced.u.audit.message, "HA vms may run on "
              "hosts with neither watchdog nor fence device: a hung agent on such a host can "
              "let a vm run twice");
    if (config->ha_allow_unfenced_hosts) {
        log_warn ("[ha] allow_unfenced_hosts = yes: %s", unfenced.u.audit.message);
        unfenced.seq = ++self->mutation_seq;
    }
    if (store_apply (self->store, &epoch)
    ||  (config->ha_allow_unfenced_hosts && store_apply (self->store, &unfenced))
    ||  store_commit (self->store)) {
        snprintf (err, err_size, "cannot write to the database '%s' (see the log above)",
                  config->database);
        scheduler_destroy (&self);
        return NULL;
    }
    self->agents = transport_router_bind (config->agent_endpoint, self->cert,
                                          AUTH_DOMAIN_AGENTS, err, err_size);
    if (self->agents)
        self->ctl = transport_router_bind (config->ctl_endpoint, self->cert,
                                           AUTH_DOMAIN_OPERATORS, err, err_size);
    if (self->ctl)
        self->agent_monitor = transport_monitor_new (self->agents, err, err_size);
    if (self->agent_monitor)
        self->ctl_monitor = transport_monitor_new (self->ctl, err, err_size);
    if (self->ctl_monitor)
        self->fence_runner = fence_runner_new (&self->fences, err, err_size);
    if (!self->fence_runner) {
        scheduler_destroy (&self);
        return NULL;
    }
    self->loop = zloop_new ();
    zloop_reader (self->loop, auth_socket (self->auth), s_on_zap, self);
    zloop_reader (self->loop, self->agents, s_on_agents, self);
    zloop_reader (self->loop, self->ctl, s_on_ctl, self);
    zloop_reader (self->loop, self->agent_monitor, s_on_agent_monitor, self);
    zloop_reader (self->loop, self->ctl_monitor, s_on_ctl_monitor, self);
    zloop_reader (self->loop, fence_runner_socket (self->fence_runner), s_on_fence, self);
    zloop_timer (self->loop, S_TICK_MS, 0, s_on_tick, self);
    log_info ("scheduler epoch %" PRIu64 ": %zu hosts, %zu vms seen, %zu managed vms and %zu "
              "rules recovered from '%s'; agents on %s, clusterctl on %s", self->epoch,
              model_host_count (core_model (self->core)), model_vm_count (core_model (self->core)),
              managed_spec_count (core_managed (self->core)),
              managed_rule_count (core_managed (self->core)),
              config->database, config->agent_endpoint, config->ctl_endpoint);
    if (fenced) {
        char names [1024] = "";
        size_t used = 0;
        for (size_t i = 0; i < fenced && used < sizeof names; i++)
            used += (size_t) snprintf (names + used, sizeof names - used, "%s'%s'", i? ", ": "",
                ((const fence_host_t *) vec_at (&self->fences.hosts, i))->name);
        log_info ("fence agents configured for %zu hosts: %s", fenced, names);
    }
    return self;
}

int
scheduler_run (scheduler_t *self)
{
    zloop_start (self->loop);
    log_info ("scheduler stopping");
    return 0;
}

void
scheduler_destroy (scheduler_t **self_p)
{
    scheduler_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->replies.count; i++)
        wire_msg_reset (&((s_reply_t *) vec_at (&self->replies, i))->msg);
    vec_free (&self->replies);
    fx_free (&self->fx);
    peers_destroy (&self->peers);
    zloop_destroy (&self->loop);
    fence_runner_destroy (&self->fence_runner);    // kills a running agent, joins the thread
    fence_config_free (&self->fences);
    transport_monitor_destroy (&self->agent_monitor, self->agents);    // while they are open
    transport_monitor_destroy (&self->ctl_monitor, self->ctl);
    zsock_destroy (&self->agents);     // before the ZAP handler they depend on
    zsock_destroy (&self->ctl);
    auth_destroy (&self->auth);
    zcert_destroy (&self->cert);
    core_destroy (&self->core);
    store_destroy (&self->store);
    free (self);
    *self_p = NULL;
}
