/*  scheduler.c - the vmsched scheduler daemon: one zloop over the agent and ctl sockets.

    Owns the daemon's state (one struct, no globals). Effects happen only here: reading the
    clocks, the sockets, the store. The model decides; this file feeds it messages and time,
    persists what it returns, and replies once the batch is committed.
*/
#include "scheduler.h"
#include "auth.h"
#include "clock.h"
#include "keys.h"
#include "ctl.h"
#include "log.h"
#include "managed.h"
#include "model.h"
#include "reconcile.h"
#include "store.h"
#include "transport.h"

#include <czmq.h>
#include <inttypes.h>

#define S_DRAIN_MAX     256     // messages handled per wake-up before committing
#define S_TICK_MS       100     // liveness check interval
#define S_REPORT_REQUEST_MS 1000    // ask a host that has not reported at most this often

//  A reply waiting for the batch commit.
typedef struct {
    zsock_t *sock;              // borrowed: agents or ctl
    transport_stats_t *stats;   // counters of that socket
    transport_route_t route;    // destination
    uint8_t *data;              // owned encoded message
    size_t size;                // bytes in data
} s_pending_t;

struct scheduler {
    scheduler_config_t config;  // as loaded
    store_t *store;             // database
    model_t *model;             // cluster as observed
    managed_t *managed;         // desired state: managed VMs, rules
    zcert_t *cert;              // the scheduler's CURVE key pair
    auth_t *auth;               // allow list and ZAP handler
    reconcile_config_t reconcile;   // placement and operation settings
    outbox_t outbox;            // commands decided, sent after the commit
    zsock_t *agents;            // ROUTER for agents
    zsock_t *ctl;               // ROUTER for clusterctl
    zsock_t *agent_monitor;     // PAIR: monitor events of agents (failed handshakes)
    zsock_t *ctl_monitor;       // PAIR: monitor events of ctl
    zloop_t *loop;              // the one loop
    uint64_t epoch;             // this leader's epoch
    uint64_t session;           // random, for our envelopes
    uint64_t seq;               // last seq we sent
    int64_t started;            // boot ms at start
    mutations_t mutations;      // produced since the last commit
    s_pending_t *pending;       // replies waiting for the commit
    size_t pending_count;       // used entries of pending
    size_t pending_capacity;    // allocated entries of pending
    transport_stats_t agent_stats;  // agent socket counters
    transport_stats_t ctl_stats;    // ctl socket counters
    uint64_t stale;             // agent messages refused as stale or unknown
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
        .start_concurrency = 2,
        .migrate_concurrency = 2,
        .migration_timeout_ms = 120000,
        .stop_graceful_ms = 0,
        .secret_key = "/etc/vmsched/scheduler.key_secret",
    };
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
    return 0;
}

//  --------------------------------------------------------------------------
//  Replies wait for the commit

static void
s_queue (scheduler_t *self, zsock_t *sock, transport_stats_t *stats,
         const transport_route_t *route, wire_msg_t *msg)
{
    msg->seq = ++self->seq;
    msg->session = self->session;
    uint8_t *data;
    size_t size;
    char err [256];
    if (wire_encode (msg, &data, &size, err, sizeof err)) {
        log_error ("cannot encode a %s reply: %s", wire_kind_name (msg->kind), err);
        return;
    }
    if (self->pending_count == self->pending_capacity) {
        size_t capacity = self->pending_capacity? self->pending_capacity * 2: 64;
        s_pending_t *grown = realloc (self->pending, capacity * sizeof *grown);
        if (!grown) {
            log_error ("cannot queue a %s reply: out of memory", wire_kind_name (msg->kind));
            free (data);
            return;
        }
        self->pending = grown;
        self->pending_capacity = capacity;
    }
    self->pending [self->pending_count++] = (s_pending_t) { sock, stats, *route, data, size };
}

//  Queues the decided commands like replies (they leave only after the commit).
static void
s_flush_outbox (scheduler_t *self)
{
    for (size_t i = 0; i < self->outbox.count; i++) {
        const outbound_t *item = &self->outbox.items [i];
        host_t *host = model_host_by_id (self->model, item->host_id);
        if (!host || !host->live.heard || host->live.route.size == 0) {
            log_debug ("command %" PRIu64 " held back: host %s has not been heard since the "
                       "scheduler started", item->command.id, item->host_id);
            continue;                       // re-sent by the reconciler
        }
        wire_msg_t msg;
        if (item->report_request) {
            wire_msg_init (&msg, WIRE_REPORT_REQUEST);
            snprintf (msg.body.report_request.reason, sizeof msg.body.report_request.reason,
                      "where a vm runs must be confirmed");
        }
        else {
            wire_msg_init (&msg, WIRE_COMMAND);
            msg.body.command = item->command;   // domain_xml borrowed, not reset below
        }
        s_queue (self, self->agents, &self->agent_stats, &host->live.route, &msg);
    }
    outbox_clear (&self->outbox);
}

//  Persists the mutations of this wake-up, then sends (or, if that failed, drops) replies.
static void
s_commit_and_reply (scheduler_t *self)
{
    s_flush_outbox (self);
    bool durable = true;
    for (size_t i = 0; i < self->mutations.count; i++)
        if (store_apply (self->store, &self->mutations.items [i]))
            durable = false;
    if (store_commit (self->store))
        durable = false;
    mutations_clear (&self->mutations);
    for (size_t i = 0; i < self->pending_count; i++) {
        s_pending_t *pending = &self->pending [i];
        if (durable)
            transport_send_raw (pending->sock, &pending->route, pending->data, pending->size,
                                pending->stats);
        free (pending->data);
    }
    if (!durable && self->pending_count)
        log_error ("dropped %zu replies because the database write failed; peers will retry",
                   self->pending_count);
    self->pending_count = 0;
}

//  --------------------------------------------------------------------------
//  Agent messages

static void
s_reject (scheduler_t *self, const transport_route_t *route, const char *reason,
          bool reregister)
{
    wire_msg_t reply;
    wire_msg_init (&reply, WIRE_REJECT);
    snprintf (reply.body.reject.reason, sizeof reply.body.reject.reason, "%s", reason);
    reply.body.reject.reregister = reregister;
    s_queue (self, self->agents, &self->agent_stats, route, &reply);
}

//  Counts a stale or refused agent message (rate-limited log).
static void
s_refuse (scheduler_t *self, host_t *host, const char *what)
{
    self->stale++;
    if (host)
        host->live.rejected++;
    if (self->stale <= 10 || self->stale % 1000 == 0)
        log_warn ("refused %s (%" PRIu64 " refused so far)", what, self->stale);
}

static void
s_on_hello (scheduler_t *self, const transport_route_t *route, const wire_msg_t *msg,
            int64_t now, int64_t wall)
{
    host_t *known = model_host_by_id (self->model, msg->host_id);
    if (known && known->live.session == msg->session && msg->seq <= known->live.last_seq) {
        s_refuse (self, known, "a stale hello (older than the last accepted message)");
        return;
    }
    char err [WIRE_TEXT_SIZE];
    host_t *host = model_host_register (self->model, &msg->body.hello, now, wall,
                                        &self->mutations, err, sizeof err);
    if (!host) {
        log_warn ("refused hello from host id %s: %s", msg->host_id, err);
        s_reject (self, route, err, false);
        return;
    }
    host->live.session = msg->session;
    host->live.last_seq = msg->seq;
    host->live.route = *route;
    wire_msg_t reply;
    wire_msg_init (&reply, WIRE_WELCOME);
    reply.body.welcome = (wire_welcome_t) {
        host->record.generation, self->epoch, msg->seq, (uint32_t) self->config.heartbeat_ms };
    s_queue (self, self->agents, &self->agent_stats, route, &reply);
}

//  Accepts a post-registration message if it is current; returns its host or NULL.
static host_t *
s_admit (scheduler_t *self, const transport_route_t *route, const wire_msg_t *msg)
{
    char what [WIRE_TEXT_SIZE + 64];
    host_t *host = model_host_by_id (self->model, msg->host_id);
    const char *kind = wire_kind_name (msg->kind);
    if (!host) {
        snprintf (what, sizeof what, "%s from unknown host id %s", kind, msg->host_id);
        s_refuse (self, NULL, what);
        s_reject (self, route, "unknown host: register first", true);
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
        s_reject (self, route, "stale generation: register again", true);
        return NULL;
    }
    if (host->record.state == HOST_STATE_DOWN) {
        snprintf (what, sizeof what, "%s from host '%s', which was declared down", kind,
                  host->record.name);
        s_refuse (self, host, what);
        s_reject (self, route, "host was declared down: register again", true);
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
    host->live.route = *route;
    return host;
}

//  The host principal of the message's key, if it may send this message; NULL (refused,
//  logged) otherwise. A host's key speaks for that host only.
static const principal_record_t *
s_authorise_agent (scheduler_t *self, const transport_route_t *route, const wire_msg_t *msg)
{
    const principal_record_t *principal = auth_principal (self->auth, route->user_id);
    char what [WIRE_TEXT_SIZE + 64];
    if (!principal || principal->kind != PRINCIPAL_HOST) {
        snprintf (what, sizeof what, "a %s from '%s', whose key is no longer allowed",
                  wire_kind_name (msg->kind), route->user_id);
        s_refuse (self, NULL, what);
        s_reject (self, route, "this host's key is not (or no longer) allowed", false);
        return NULL;
    }
    //  The host the message is about: by its id, and for a HELLO also by the name it claims.
    host_t *host = model_host_by_id (self->model, msg->host_id);
    const char *claimed = host? host->record.name: NULL;
    if (msg->kind == WIRE_HELLO && (!claimed || strcmp (claimed, principal->name) == 0))
        claimed = msg->body.hello.name;
    if (claimed && strcmp (claimed, principal->name)) {
        if (self->stale < 20 || self->stale % 1000 == 0)
            log_warn ("host key '%s' sent a %s for host '%s': refused (a host speaks only for "
                      "itself)", principal->name, wire_kind_name (msg->kind), claimed);
        snprintf (what, sizeof what, "a %s impersonating host '%s'", wire_kind_name (msg->kind),
                  claimed);
        s_refuse (self, NULL, what);
        s_reject (self, route, "this key belongs to another host", false);
        return NULL;
    }
    return principal;
}

static void
s_on_agent_message (scheduler_t *self, const transport_route_t *route, const wire_msg_t *msg)
{
    int64_t now = clock_boottime_ms ();
    int64_t wall = clock_wall_ms ();
    if (!s_authorise_agent (self, route, msg))
        return;
    if (msg->kind == WIRE_HELLO) {
        s_on_hello (self, route, msg, now, wall);
        return;
    }
    if (msg->kind != WIRE_HEARTBEAT && msg->kind != WIRE_REPORT && msg->kind != WIRE_EVENT
    &&  msg->kind != WIRE_COMMAND_RESULT) {
        s_refuse (self, NULL, "a message of a kind agents do not send");
        return;
    }
    host_t *host = s_admit (self, route, msg);
    if (!host)
        return;
    model_host_heard (self->model, host, now, wall, &self->mutations);
    if (!host->live.reported && msg->kind == WIRE_HEARTBEAT
    &&  now - host->live.report_requested >= S_REPORT_REQUEST_MS) {
        //  What this process remembers of the host's domains is from before its start.
        host->live.report_requested = now;
        wire_msg_t request;
        wire_msg_init (&request, WIRE_REPORT_REQUEST);
        snprintf (request.body.report_request.reason,
                  sizeof request.body.report_request.reason, "scheduler epoch %" PRIu64 " has no report of this host yet", self->epoch);
        s_queue (self, self->agents, &self->agent_stats, route, &request);
    }
    if (msg->kind == WIRE_HEARTBEAT)
        host->live.hypervisor_connected = msg->body.report.hypervisor_connected;
    else
    if (msg->kind == WIRE_REPORT)
        model_apply_report (self->model, host, &msg->body.report, wall, &self->mutations);
    else
    if (msg->kind == WIRE_EVENT)
        model_apply_event (self->model, host, &msg->body.event, wall, &self->mutations);
    else
        reconcile_result (self->model, self->managed, &self->reconcile, host,
                          &msg->body.result, now, wall, &self->outbox, &self->mutations);
}

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
            s_on_agent_message (self, &route, &msg);
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
        ctl_context_t context = {
            .model = self->model, .store = self->store, .version = VMSCHED_VERSION,
            .epoch = self->epoch, .uptime_ms = now - self->started, .now = now,
            .database = self->config.database, .agent_endpoint = self->config.agent_endpoint,
            .ctl_endpoint = self->config.ctl_endpoint, .received = self->agent_stats.received,
            .rejected = self->agent_stats.malformed + self->stale,
            .handshake_failed = self->agent_stats.handshake_failed
                              + self->ctl_stats.handshake_failed,
            .wall = clock_wall_ms (), .managed = self->managed, .reconcile = &self->reconcile,
            .outbox = &self->outbox, .mutations = &self->mutations, .auth = self->auth,
            .principal = principal, .who = who,
        };
        ctl_handle (&context, &msg->body.request, &reply.body.reply);
    }
    s_queue (self, self->ctl, &self->ctl_stats, route, &reply);
    wire_msg_reset (&reply);
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
//  Time

static int
s_on_tick (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop, (void) timer_id;
    scheduler_t *self = arg;
    model_timing_t timing = {
        (int64_t) self->config.suspect_after_ms, (int64_t) self->config.down_after_ms };
    int64_t now = clock_boottime_ms (), wall = clock_wall_ms ();
    model_check_liveness (self->model, &timing, now, wall, &self->mutations);
    reconcile_step (self->model, self->managed, &self->reconcile, now, wall, &self->outbox,
                    &self->mutations);
    if (self->mutations.count || self->outbox.count)
        s_commit_and_reply (self);
    return 0;
}

//  --------------------------------------------------------------------------
//  Life cycle

static void
s_load_host (void *arg, const host_record_t *record)
{
    scheduler_t *self = arg;
    model_load_host (self->model, record, self->started);
}

static void
s_load_vm (void *arg, const vm_record_t *record)
{
    scheduler_t *self = arg;
    model_load_vm (self->model, record);
}

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

static void
s_load_spec (void *arg, const spec_record_t *record, const char *xml)
{
    scheduler_t *self = arg;
    if (!managed_add_spec (self->managed, record, xml))
        log_error ("cannot load vm '%s' from the database", record->name);
}

static void
s_load_rule (void *arg, const rule_record_t *record)
{
    scheduler_t *self = arg;
    if (!managed_add_rule (self->managed, record))
        log_error ("cannot load rule '%s' from the database", record->name);
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
    self->started = clock_boottime_ms ();
    self->session = ((uint64_t) randof (0x7fffffff) << 32) ^ (uint64_t) randof (0x7fffffff);
    //  The key first: a scheduler that cannot run must leave no database behind.
    self->cert = keys_load_secret (config->secret_key, err, err_size);
    self->store = self->cert? store_open (config->database, err, err_size): NULL;
    self->auth = self->store? auth_new (err, err_size): NULL;
    if (!self->auth) {
        scheduler_destroy (&self);
        return NULL;
    }
    self->model = model_new ();
    self->managed = managed_new ();
    if (!self->store || !self->model || !self->managed) {
        if (self->store)
            snprintf (err, err_size, "out of memory");
        scheduler_destroy (&self);
        return NULL;
    }
    if (store_load_hosts (self->store, s_load_host, self)
    ||  store_load_vms (self->store, s_load_vm, self)
    ||  store_load_specs (self->store, s_load_spec, self)
    ||  store_load_rules (self->store, s_load_rule, self)
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
    self->epoch = store_epoch (self->store) + 1;
    managed_set_op_base (self->managed, store_max_op_id (self->store));
    reconcile_config_defaults (&self->reconcile);
    self->reconcile.epoch = self->epoch;
    self->reconcile.policy.strategy = strcmp (config->placement, "pack")? PLACE_SPREAD: PLACE_PACK;
    self->reconcile.policy.cpu_overcommit = (double) config->cpu_overcommit_pct / 100;
    self->reconcile.policy.mem_overcommit = (double) config->mem_overcommit_pct / 100;
    self->reconcile.start_concurrency = (uint32_t) config->start_concurrency;
    self->reconcile.migrate_concurrency = (uint32_t) config->migrate_concurrency;
    self->reconcile.migration_timeout_ms = (uint32_t) config->migration_timeout_ms;
    self->reconcile.stop_graceful_ms = (uint32_t) config->stop_graceful_ms;
    mutation_t epoch = { .kind = MUTATION_EPOCH, .at = clock_wall_ms () };
    epoch.u.epoch = self->epoch;
    if (store_apply (self->store, &epoch) || store_commit (self->store)) {
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
    if (!self->ctl_monitor) {
        scheduler_destroy (&self);
        return NULL;
    }
    self->loop = zloop_new ();
    zloop_reader (self->loop, auth_socket (self->auth), s_on_zap, self);
    zloop_reader (self->loop, self->agents, s_on_agents, self);
    zloop_reader (self->loop, self->ctl, s_on_ctl, self);
    zloop_reader (self->loop, self->agent_monitor, s_on_agent_monitor, self);
    zloop_reader (self->loop, self->ctl_monitor, s_on_ctl_monitor, self);
    zloop_timer (self->loop, S_TICK_MS, 0, s_on_tick, self);
    log_info ("scheduler epoch %" PRIu64 ": %zu hosts, %zu vms seen, %zu managed vms and %zu "
              "rules recovered from '%s'; agents on %s, clusterctl on %s", self->epoch,
              model_host_count (self->model), model_vm_count (self->model),
              managed_spec_count (self->managed), managed_rule_count (self->managed),
              config->database, config->agent_endpoint, config->ctl_endpoint);
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
    for (size_t i = 0; i < self->pending_count; i++)
        free (self->pending [i].data);
    free (self->pending);
    mutations_free (&self->mutations);
    outbox_free (&self->outbox);
    managed_destroy (&self->managed);
    zloop_destroy (&self->loop);
    transport_monitor_destroy (&self->agent_monitor, self->agents);    // while they are open
    transport_monitor_destroy (&self->ctl_monitor, self->ctl);
    zsock_destroy (&self->agents);     // before the ZAP handler they depend on
    zsock_destroy (&self->ctl);
    auth_destroy (&self->auth);
    zcert_destroy (&self->cert);
    model_destroy (&self->model);
    store_destroy (&self->store);
    free (self);
    *self_p = NULL;
}
