/*  agent.c - the vmsched agent daemon (see agent.h).

    Owns the daemon's state (one struct, no globals). One zloop: the scheduler socket, the
    hypervisor's notification pipe and a short tick that drives every deadline (hypervisor
    reconnect with backoff, HELLO retry, heartbeat, report). Messages are sent with
    ZMQ_DONTWAIT: while the scheduler is unreachable they are dropped and counted, never
    queued (the DEALER has ZMQ_IMMEDIATE), because the scheduler only wants current state:
    the next heartbeat, report or HELLO replaces whatever was lost.
*/
#include "agent.h"
#include "clock.h"
#include "commands.h"
#include "executor.h"
#include "keys.h"
#include "log.h"

#include <ctype.h>
#include <czmq.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define S_TICK_MS               20      // deadline resolution
#define S_CONNECT_BACKOFF_MIN   250     // first hypervisor reconnect delay
#define S_CONNECT_BACKOFF_MAX   5000    // longest hypervisor reconnect delay
#define S_REFUSED_RETRY_MS      5000    // HELLO retry after a refusal (e.g. name taken)
#define S_NOTES_PER_WAKE        256     // hypervisor notes handled per wake-up

struct agent {
    agent_config_t config;      // as loaded
    hv_t *hv;                   // hypervisor (owned)
    executor_t *executor;       // command workers (owned)
    commands_t *commands;       // command fencing, queue, progress (owned)
    zsock_t *dealer;            // to the scheduler
    zsock_t *monitor;           // the dealer's failed handshakes (refused key, wrong key)
    uint64_t handshake_failures;    // counted, logged rate-limited
    zloop_t *loop;              // the one loop
    zmq_pollitem_t notes_item;  // the hypervisor's notification pipe in the loop
    char host_id [WIRE_ID_SIZE];    // persistent identity
    char boot_id [WIRE_ID_SIZE];    // kernel boot id
    uint64_t session;           // random per process start
    uint64_t seq;               // last seq sent
    uint64_t generation;        // host generation from WELCOME, 0 = not registered
    uint64_t leader_epoch;      // scheduler epoch from WELCOME
    uint64_t hello_seq;         // seq of the last HELLO sent, 0 = none outstanding
    wire_capacity_t capacity;   // as announced in HELLO
    bool have_capacity;         // capacity read at least once (kept while libvirt is away)
    int64_t heartbeat_ms;       // current heartbeat interval
    int64_t connect_backoff;    // next hypervisor reconnect delay
    int64_t next_connect;       // boot ms: try the hypervisor again
    int64_t next_hello;         // boot ms: send HELLO (while not registered)
    int64_t next_heartbeat;     // boot ms: send HEARTBEAT (while registered)
    int64_t next_report;        // boot ms: send REPORT (while registered and connected)
    agent_stats_t stats;        // counters
    bool failed;                // the loop ended on an error (exit status 1)
};

const config_key_t agent_config_keys [] = {
    CONFIG_STR ("agent", "name", agent_config_t, name, "name of this host in the cluster"),
    CONFIG_STR ("agent", "scheduler", agent_config_t, scheduler,
                "the scheduler's agent endpoint (tcp://HOST:PORT)"),
    CONFIG_STR ("agent", "libvirt_uri", agent_config_t, libvirt_uri, "libvirt connection URI"),
    CONFIG_STR ("agent", "state_dir", agent_config_t, state_dir,
                "directory keeping the host identity across restarts"),
    CONFIG_STR ("agent", "secret_key", agent_config_t, secret_key,
                "this host's CURVE secret key file (vmsched-agent --keygen)"),
    CONFIG_STR ("agent", "scheduler_key", agent_config_t, scheduler_key,
                "the scheduler's public key file"),
    CONFIG_STR ("agent", "migration_uri", agent_config_t, migration_uri,
                "libvirt URI other hosts live-migrate to (default qemu+tls://NAME/system)"),
    CONFIG_NUM ("agent", "heartbeat_ms", agent_config_t, heartbeat_ms, 50, 60000,
                "heartbeat interval in milliseconds until the scheduler sets one"),
    CONFIG_NUM ("agent", "report_ms", agent_config_t, report_ms, 100, 3600000,
                "full domain report interval in milliseconds"),
    CONFIG_NUM ("agent", "hello_retry_ms", agent_config_t, hello_retry_ms, 50, 60000,
                "HELLO retry interval in milliseconds while the scheduler does not answer"),
    CONFIG_NUM ("agent", "workers", agent_config_t, workers, 1, 64,
                "commands (start, stop, migrate) run at the same time"),
    CONFIG_STR ("agent", "log_level", agent_config_t, log_level, "error, warn, info or debug"),
    CONFIG_NUM ("capacity", "cpus", agent_config_t, cpus, 0, 1000000,
                "CPUs offered to VMs (0 = what the hypervisor reports)"),
    CONFIG_NUM ("capacity", "memory_mib", agent_config_t, memory_mib, 0, (uint64_t) 1 << 40,
                "memory in MiB offered to VMs (0 = what the hypervisor reports)"),
    CONFIG_END
};

void
agent_config_defaults (agent_config_t *config)
{
    *config = (agent_config_t) {
        .scheduler = "tcp://127.0.0.1:7100",
        .libvirt_uri = "qemu:///system",
        .state_dir = "/var/lib/vmsched-agent",
        .secret_key = "/etc/vmsched/agent.key_secret",
        .scheduler_key = "/etc/vmsched/scheduler.key",
        .heartbeat_ms = 500,
        .report_ms = 5000,
        .hello_retry_ms = 1000,
        .workers = 4,
        .log_level = "info",
    };
    if (gethostname (config->name, sizeof config->name) || !config->name [0])
        snprintf (config->name, sizeof config->name, "localhost");
    config->name [sizeof config->name - 1] = 0;
}

int
agent_config_check (const agent_config_t *config, char *err, size_t err_size)
{
    if (log_level_check (config->log_level, err, err_size))
        return -1;
    if (!config->name [0] || strspn (config->name, "abcdefghijklmnopqrstuvwxyz"
            "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") != strlen (config->name)) {
        snprintf (err, err_size, "invalid name '%s': use letters, digits, '.', '-' and '_'",
                  config->name);
        return -1;
    }
    if (strncmp (config->scheduler, "tcp://", 6) && strncmp (config->scheduler, "ipc://", 6)
    &&  strncmp (config->scheduler, "inproc://", 9)) {
        snprintf (err, err_size, "invalid scheduler endpoint '%s': expected tcp://HOST:PORT or ipc://PATH",
                  config->scheduler);
        return -1;
    }
    if (!config->libvirt_uri [0] || !config->state_dir [0]) {
        snprintf (err, err_size, "libvirt_uri and state_dir must not be empty");
        return -1;
    }
    return 0;
}

//  --------------------------------------------------------------------------
//  Identity

//  Reads the first line of path into out (size bytes). 0, or -1.
static int
s_read_line (const char *path, char *out, size_t size)
{
    FILE *file = fopen (path, "r");
    if (!file)
        return -1;
    char *line = fgets (out, (int) size, file);
    fclose (file);
    if (!line)
        return -1;
    out [strcspn (out, "\r\n")] = 0;
    return 0;
}

//  Loads the host id from STATE_DIR/host-id, creating it (atomically) the first time.
static int
s_load_host_id (const char *state_dir, char *host_id, char *err, size_t err_size)
{
    char path [1100], tmp [1110];
    snprintf (path, sizeof path, "%s/host-id", state_dir);
    if (access (path, F_OK) == 0) {
        if (s_read_line (path, host_id, WIRE_ID_SIZE) == 0 && wire_uuid_valid (host_id))
            return 0;
        snprintf (err, err_size, "'%s' does not hold a host id (a uuid); remove it to get a "
                  "new identity (the scheduler will then see a new host)", path);
        return -1;
    }
    if (errno != ENOENT) {
        snprintf (err, err_size, "cannot read '%s': %s", path, strerror (errno));
        return -1;
    }
    if (zsys_dir_create ("%s", state_dir)) {
        snprintf (err, err_size, "cannot create state directory '%s': %s", state_dir,
                  strerror (errno));
        return -1;
    }
    zuuid_t *uuid = zuuid_new ();
    snprintf (host_id, WIRE_ID_SIZE, "%s", uuid? zuuid_str_canonical (uuid): "");
    zuuid_destroy (&uuid);
    for (char *c = host_id; *c; c++)
        *c = (char) tolower ((unsigned char) *c);
    snprintf (tmp, sizeof tmp, "%s.tmp", path);
    FILE *file = fopen (tmp, "w");
    bool written = file && fprintf (file, "%s\n", host_id) > 0 && fflush (file) == 0
                && fsync (fileno (file)) == 0;
    if (file)
        written = fclose (file) == 0 && written;
    if (!written || rename (tmp, path)) {
        snprintf (err, err_size, "cannot write '%s': %s", path, strerror (errno));
        unlink (tmp);
        return -1;
    }
    log_info ("new host id %s stored in '%s'", host_id, path);
    return 0;
}

//  --------------------------------------------------------------------------
//  Sending

//  Stamps and sends msg without blocking; a refused send is counted, not retried.
static void
s_send (agent_t *self, wire_msg_t *msg)
{
    msg->seq = ++self->seq;
    msg->session = self->session;
    msg->generation = self->generation;
    snprintf (msg->host_id, sizeof msg->host_id, "%s", self->host_id);
    uint8_t *data;
    size_t size;
    char err [256];
    if (wire_encode (msg, &data, &size, err, sizeof err)) {
        log_error ("cannot encode a %s message: %s", wire_kind_name (msg->kind), err);
        return;
    }
    if (zmq_send (zsock_resolve (self->dealer), data, size, ZMQ_DONTWAIT) < 0) {
        self->stats.dropped++;
        log_debug ("%s not sent (%s)", wire_kind_name (msg->kind), zmq_strerror (zmq_errno ()));
    }
    else
        self->stats.sent++;
    free (data);
}

static void
s_send_hello (agent_t *self, int64_t now)
{
    wire_msg_t msg;
    wire_msg_init (&msg, WIRE_HELLO);
    wire_hello_t *hello = &msg.body.hello;
    snprintf (hello->host_id, sizeof hello->host_id, "%s", self->host_id);
    snprintf (hello->name, sizeof hello->name, "%s", self->config.name);
    snprintf (hello->boot_id, sizeof hello->boot_id, "%s", self->boot_id);
    snprintf (hello->hypervisor_uri, sizeof hello->hypervisor_uri, "%s",
              self->config.libvirt_uri);
    snprintf (hello->agent_version, sizeof hello->agent_version, "%s", VMSCHED_VERSION);
    if (self->config.migration_uri [0])
        snprintf (hello->migration_uri, sizeof hello->migration_uri, "%s",
                  self->config.migration_uri);
    else
        snprintf (hello->migration_uri, sizeof hello->migration_uri, "qemu+tls://%s/system",
                  self->config.name);
    hello->capacity = self->capacity;
    s_send (self, &msg);
    self->hello_seq = msg.seq;
    self->next_hello = now + (int64_t) self->config.hello_retry_ms;
}

static void
s_send_heartbeat (agent_t *self, int64_t now)
{
    wire_msg_t msg;
    wire_msg_init (&msg, WIRE_HEARTBEAT);
    msg.body.report.hypervisor_connected = hv_connected (self->hv);
    s_send (self, &msg);
    self->next_heartbeat = now + self->heartbeat_ms;
}

//  Sends every domain of the host. A hypervisor error drops the connection (it is re-made
//  with backoff) rather than send a report that would claim the domains are gone.
static void
s_send_report (agent_t *self, int64_t now)
{
    self->next_report = now + (int64_t) self->config.report_ms;
    wire_msg_t msg;
    wire_msg_init (&msg, WIRE_REPORT);
    char err [512];
    if (hv_list (self->hv, &msg.body.report.domains, &msg.body.report.domain_count,
                 err, sizeof err)) {
        log_warn ("cannot report domains: %s; reconnecting", err);
        hv_disconnect (self->hv);
        self->next_connect = now + self->connect_backoff;
        return;
    }
    msg.body.report.hypervisor_connected = true;
    s_send (self, &msg);
    self->stats.reports++;
    wire_msg_reset (&msg);
}

//  --------------------------------------------------------------------------
//  Hypervisor

static void
s_apply_capacity_override (const agent_config_t *config, wire_capacity_t *capacity)
{
    if (config->cpus) {
        capacity->cpus = (uint32_t) config->cpus;
        //  Cells describe the real topology; with an override they would contradict it.
        capacity->numa_count = 0;
    }
    if (config->memory_mib) {
        capacity->memory_mib = config->memory_mib;
        capacity->numa_count = 0;
    }
}

static void
s_try_connect (agent_t *self, int64_t now)
{
    char err [512];
    if (hv_connect (self->hv, err, sizeof err) == 0
    &&  hv_capacity (self->hv, &self->capacity, err, sizeof err) == 0) {
        self->stats.hv_connects++;
        s_apply_capacity_override (&self->config, &self->capacity);
        self->have_capacity = true;
        if (self->connect_backoff > S_CONNECT_BACKOFF_MIN)
            log_info ("connected to '%s' again", self->config.libvirt_uri);
        else
            log_info ("connected to '%s': %" PRIu32 " cpus, %" PRIu64 " MiB, cpu model '%s'%s",
                      self->config.libvirt_uri, self->capacity.cpus, self->capacity.memory_mib,
                      self->capacity.cpu_model, self->capacity.nested? ", nested on": "");
        self->connect_backoff = S_CONNECT_BACKOFF_MIN;
        if (self->generation)
            s_send_report (self, now);      // resync: events may have been missed
        else
            self->next_hello = now;
        return;
    }
    hv_disconnect (self->hv);
    //  Say it on the first failure and then every time the backoff is at its longest.
    if (self->connect_backoff == S_CONNECT_BACKOFF_MIN
    ||  self->connect_backoff == S_CONNECT_BACKOFF_MAX)
        log_warn ("%s; retrying in %" PRId64 " ms", err, self->connect_backoff);
    self->next_connect = now + self->connect_backoff;
    self->connect_backoff = self->connect_backoff * 2 > S_CONNECT_BACKOFF_MAX
                          ? S_CONNECT_BACKOFF_MAX: self->connect_backoff * 2;
}

//  Turns one lifecycle note into an EVENT carrying the domain's state as of now.
static void
s_on_domain_event (agent_t *self, const hv_note_t *note)
{
    wire_msg_t msg;
    wire_msg_init (&msg, WIRE_EVENT);
    wire_event_t *event = &msg.body.event;
    char err [512];
    int found = hv_lookup (self->hv, note->uuid, &event->domain, err, sizeof err);
    if (found < 0) {
        log_warn ("cannot read domain '%s' after its %s event: %s", note->name,
                  event_kind_name (note->event), err);
        return;                         // the next report carries it
    }
    if (found) {
        //  UNDEFINED of a running domain leaves it running (transient): not gone.
        event->kind = note->event == EVENT_UNDEFINED? EVENT_DEFINED: note->event;
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
    s_send (self, &msg);
    self->stats.events++;
}

static int
s_on_notes (zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    (void) loop, (void) item;
    agent_t *self = arg;
    int64_t now = clock_boottime_ms ();
    hv_note_t note;
    for (int i = 0; i < S_NOTES_PER_WAKE; i++) {
        int rc = hv_read_note (self->hv, &note);
        if (rc == 0)
            break;
        if (rc < 0) {
            log_error ("hypervisor notification pipe broken; stopping");
            self->failed = true;
            return -1;
        }
        if (note.kind == HV_NOTE_DISCONNECTED) {
            self->next_connect = now + self->connect_backoff;
            if (self->generation)
                s_send_heartbeat (self, now);   // tell the scheduler at once
        }
        else
        if (self->generation && hv_connected (self->hv))
            s_on_domain_event (self, &note);
    }
    return 0;
}

//  --------------------------------------------------------------------------
//  Scheduler messages

static void
s_on_welcome (agent_t *self, const wire_msg_t *msg, int64_t now)
{
    const wire_welcome_t *welcome = &msg->body.welcome;
    if (!self->hello_seq || welcome->hello_seq != self->hello_seq) {
        log_debug ("ignored a welcome for hello %" PRIu64 " (waiting for %" PRIu64 ")",
                   welcome->hello_seq, self->hello_seq);
        return;
    }
    self->hello_seq = 0;
    self->generation = welcome->generation;
    self->leader_epoch = welcome->leader_epoch;
    commands_note_epoch (self->commands, welcome->leader_epoch);
    if (welcome->heartbeat_ms >= 10)
        self->heartbeat_ms = welcome->heartbeat_ms;
    self->stats.registrations++;
    log_info ("registered as host '%s' (id %s), generation %" PRIu64 ", scheduler epoch %"
              PRIu64 ", heartbeat %" PRId64 " ms", self->config.name, self->host_id,
              self->generation, self->leader_epoch, self->heartbeat_ms);
    s_send_report (self, now);
    self->next_heartbeat = now + self->heartbeat_ms;
}

static void
s_on_reject (agent_t *self, const wire_msg_t *msg, int64_t now)
{
    const wire_reject_t *reject = &msg->body.reject;
    self->stats.rejects++;
    if (reject->reregister) {
        log_warn ("scheduler asks to register again: %s", reject->reason);
        self->generation = 0;
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

static int
s_on_scheduler (zloop_t *loop, zsock_t *sock, void *arg)
{
    (void) loop;
    agent_t *self = arg;
    zframe_t *frame = zframe_recv_nowait (sock);
    if (!frame)
        return 0;
    if (zframe_more (frame)) {              // the scheduler sends one frame per message
        zframe_destroy (&frame);
        while ((frame = zframe_recv_nowait (sock)) && zframe_more (frame))
            zframe_destroy (&frame);
        zframe_destroy (&frame);
        self->stats.malformed++;
        log_warn ("refused a multi-frame message from the scheduler");
        return 0;
    }
    wire_msg_t msg;
    char err [256];
    int rc = wire_decode (zframe_data (frame), zframe_size (frame), &msg, err, sizeof err);
    zframe_destroy (&frame);
    if (rc) {
        self->stats.malformed++;
        log_warn ("refused a message from the scheduler: %s", err);
        return 0;
    }
    int64_t now = clock_boottime_ms ();
    self->stats.received++;
    if (msg.kind == WIRE_WELCOME)
        s_on_welcome (self, &msg, now);
    else
    if (msg.kind == WIRE_REJECT)
        s_on_reject (self, &msg, now);
    else
    if (msg.kind == WIRE_COMMAND)
        commands_receive (self->commands, &msg.body.command, self->generation, now);
    else
    if (msg.kind == WIRE_REPORT_REQUEST) {
        log_debug ("report requested: %s", msg.body.report_request.reason);
        if (self->generation && hv_connected (self->hv))
            s_send_report (self, now);
    }
    else {
        self->stats.malformed++;
        log_warn ("refused a %s message from the scheduler", wire_kind_name (msg.kind));
    }
    wire_msg_reset (&msg);
    return 0;
}

//  --------------------------------------------------------------------------
//  Time

static int
s_on_tick (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop, (void) timer_id;
    agent_t *self = arg;
    int64_t now = clock_boottime_ms ();
    commands_tick (self->commands, now);
    if (!hv_connected (self->hv) && now >= self->next_connect)
        s_try_connect (self, now);
    if (!self->generation) {
        if (self->have_capacity && now >= self->next_hello)
            s_send_hello (self, now);
        return 0;
    }
    if (now >= self->next_heartbeat)
        s_send_heartbeat (self, now);
    if (hv_connected (self->hv) && now >= self->next_report)
        s_send_report (self, now);
    return 0;
}

//  A CURVE handshake with the scheduler failed: say why, so the operator can act.
static int
s_on_monitor (zloop_t *loop, zsock_t *sock, void *arg)
{
    (void) loop;
    agent_t *self = arg;
    zframe_t *frame = zframe_recv (sock);
    uint16_t event = 0;
    if (frame && zframe_size (frame) >= 2)
        memcpy (&event, zframe_data (frame), 2);
    bool more = frame && zframe_more (frame);
    zframe_destroy (&frame);
    while (more && (frame = zframe_recv (sock))) {
        more = zframe_more (frame);
        zframe_destroy (&frame);
    }
    self->handshake_failures++;
    if (!log_sampled (self->handshake_failures))
        return 0;
    if (event & ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
        log_error ("the scheduler refused this host's key (%" PRIu64 " times so far): an "
                   "admin allows it with 'clusterctl host add %s --key <this host's public "
                   "key file>'", self->handshake_failures, self->config.name);
    else
        log_error ("no secure connection to the scheduler at %s (%" PRIu64 " times so far): "
                   "is scheduler_key '%s' its public key?", self->config.scheduler,
                   self->handshake_failures, self->config.scheduler_key);
    return 0;
}

//  A worker finished a command.
static int
s_on_worker (zloop_t *loop, zsock_t *sock, void *arg)
{
    (void) loop;
    agent_t *self = arg;
    for (int i = 0; i < executor_size (self->executor); i++)
        if (executor_socket (self->executor, i) == sock)
            commands_finished (self->commands, i, clock_boottime_ms ());
    return 0;
}

//  Sends a command result to the scheduler (commands_emit_fn).
static void
s_emit_result (void *arg, const wire_command_result_t *result)
{
    agent_t *self = arg;
    wire_msg_t msg;
    wire_msg_init (&msg, WIRE_COMMAND_RESULT);
    msg.body.result = *result;
    s_send (self, &msg);
}

static int
s_on_deadline (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop, (void) timer_id, (void) arg;
    return -1;                              // ends zloop_start
}

//  --------------------------------------------------------------------------
//  Life cycle

agent_t *
agent_new (const agent_config_t *config, hv_t **hv_p, char *err, size_t err_size)
{
    agent_t *self = calloc (1, sizeof *self);
    if (!self) {
        hv_destroy (hv_p);
        snprintf (err, err_size, "out of memory");
        return NULL;
    }
    self->config = *config;
    self->hv = *hv_p;
    *hv_p = NULL;
    self->heartbeat_ms = (int64_t) config->heartbeat_ms;
    self->connect_backoff = S_CONNECT_BACKOFF_MIN;
    self->session = ((uint64_t) randof (0x7fffffff) << 32) ^ (uint64_t) randof (0x7fffffff);
    if (s_read_line ("/proc/sys/kernel/random/boot_id", self->boot_id, sizeof self->boot_id))
        log_warn ("cannot read the kernel boot id; the scheduler will not see reboots");
    if (s_load_host_id (config->state_dir, self->host_id, err, err_size)) {
        agent_destroy (&self);
        return NULL;
    }
    char scheduler_key [KEYS_Z85_SIZE];
    zcert_t *cert = keys_load_secret (config->secret_key, err, err_size);
    if (!cert || keys_load_public (config->scheduler_key, scheduler_key, err, err_size)) {
        zcert_destroy (&cert);
        agent_destroy (&self);
        return NULL;
    }
    self->dealer = zsock_new (ZMQ_DEALER);
    if (!self->dealer) {
        zcert_destroy (&cert);
        snprintf (err, err_size, "cannot create the scheduler socket");
        agent_destroy (&self);
        return NULL;
    }
    //  CURVE: the scheduler knows this host by its key; we know the scheduler by its key.
    zcert_apply (cert, self->dealer);
    zcert_destroy (&cert);
    zsock_set_curve_serverkey (self->dealer, scheduler_key);
    zsock_set_immediate (self->dealer, 1);
    zsock_set_sndhwm (self->dealer, 16);
    zsock_set_rcvhwm (self->dealer, 1000);
    zsock_set_reconnect_ivl (self->dealer, 250);
    zsock_set_reconnect_ivl_max (self->dealer, 5000);
    zsock_set_maxmsgsize (self->dealer, WIRE_MAX_MESSAGE);
    zsock_set_linger (self->dealer, 0);
    zsock_set_heartbeat_ivl (self->dealer, 1000);
    zsock_set_heartbeat_timeout (self->dealer, 3000);
    char monitor [64];
    //  Unique per agent object ever made in this process (inproc names are freed lazily).
    snprintf (monitor, sizeof monitor, "inproc://agent-monitor-%016" PRIx64, self->session);
    self->monitor = zsock_new (ZMQ_PAIR);
    if (!self->monitor
    ||  zmq_socket_monitor (zsock_resolve (self->dealer), monitor,
                            ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
                            | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)
    ||  zsock_connect (self->monitor, "%s", monitor) < 0) {
        snprintf (err, err_size, "cannot watch the scheduler connection: %s",
                  zmq_strerror (zmq_errno ()));
        agent_destroy (&self);
        return NULL;
    }
    if (zsock_connect (self->dealer, "%s", config->scheduler) < 0) {
        snprintf (err, err_size, "cannot connect to scheduler endpoint '%s': %s",
                  config->scheduler, zmq_strerror (zmq_errno ()));
        agent_destroy (&self);
        return NULL;
    }
    self->executor = executor_new (self->hv, (int) config->workers);
    self->commands = self->executor
                   ? commands_new (self->executor, self->hv, s_emit_result, self): NULL;
    if (!self->commands) {
        snprintf (err, err_size, "cannot start %d command workers", (int) config->workers);
        agent_destroy (&self);
        return NULL;
    }
    self->loop = zloop_new ();
    self->notes_item = (zmq_pollitem_t) { NULL, hv_notify_fd (self->hv), ZMQ_POLLIN, 0 };
    if (!self->loop
    ||  zloop_reader (self->loop, self->dealer, s_on_scheduler, self)
    ||  zloop_reader (self->loop, self->monitor, s_on_monitor, self)
    ||  zloop_poller (self->loop, &self->notes_item, s_on_notes, self)
    ||  zloop_timer (self->loop, S_TICK_MS, 0, s_on_tick, self) < 0) {
        snprintf (err, err_size, "cannot set up the event loop");
        agent_destroy (&self);
        return NULL;
    }
    for (int i = 0; i < executor_size (self->executor); i++)
        if (zloop_reader (self->loop, executor_socket (self->executor, i), s_on_worker, self)) {
            snprintf (err, err_size, "cannot set up the event loop");
            agent_destroy (&self);
            return NULL;
        }
    log_info ("agent '%s' (host id %s) for '%s', scheduler %s", config->name, self->host_id,
              config->libvirt_uri, config->scheduler);
    return self;
}

int
agent_run (agent_t *self)
{
    zloop_start (self->loop);
    log_info ("agent stopping; domains are left as they are");
    return self->failed? 1: 0;
}

void
agent_run_for (agent_t *self, int ms)
{
    zloop_timer (self->loop, (size_t) (ms > 0? ms: 1), 1, s_on_deadline, self);
    zloop_start (self->loop);
}

const char *
agent_host_id (const agent_t *self)
{
    return self->host_id;
}

uint64_t
agent_generation (const agent_t *self)
{
    return self->generation;
}

const agent_stats_t *
agent_stats (const agent_t *self)
{
    return &self->stats;
}

void
agent_destroy (agent_t **self_p)
{
    agent_t *self = *self_p;
    if (!self)
        return;
    zloop_destroy (&self->loop);
    if (self->commands && commands_pending (self->commands)) {
        log_info ("stopping: %zu command(s) queued or running; queued ones are dropped, "
                  "running ones finish", commands_pending (self->commands));
        commands_drain (self->commands);
        if (self->dealer)
            zsock_set_linger (self->dealer, 500);   // let their results leave
    }
    commands_destroy (&self->commands);
    executor_destroy (&self->executor);     // nothing left running
    if (self->dealer && self->monitor)
        zmq_socket_monitor (zsock_resolve (self->dealer), NULL, 0);
    zsock_destroy (&self->monitor);
    zsock_destroy (&self->dealer);
    hv_destroy (&self->hv);
    free (self);
    *self_p = NULL;
}
