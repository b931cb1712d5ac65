/*  agent.c - the vmsched agent daemon: the shell around the agent core (see agent.h).

    Owns the daemon's state (one struct, no globals): the config, the identity files, the
    DEALER socket to the scheduler and its monitor, the one zloop, the executor (whose
    threads own every hypervisor handle) and the pure agent core (agent_core.h), which makes
    every decision. The loop only moves facts into the core and executes what it returns:
    scheduler messages (decoded) go to agent_core_on_message, notes from the hypervisor's
    notification pipe to agent_core_on_note, job outcomes from the executor's lanes to
    agent_core_on_done, and a 20 ms tick calls agent_core_tick when its deadline has come.
    The effects are messages, sent at once, and hypervisor jobs, handed to the executor. The
    loop never calls the hypervisor itself, so a hung libvirtd delays reports and commands
    but never a heartbeat.

    Messages are sent with ZMQ_DONTWAIT: while the scheduler is unreachable they are dropped
    and counted, never queued (the DEALER has ZMQ_IMMEDIATE), because the scheduler only
    wants current state: the next heartbeat, report or HELLO replaces whatever was lost.
*/
#include "agent.h"
#include "state_file.h"
#include "agent_core.h"
#include "clock.h"
#include "executor.h"
#include "fencer.h"
#include "keys.h"
#include "lease_store.h"
#include "log.h"
#include "watchdog.h"
#include "witness_link.h"

#include <ctype.h>
#include <czmq.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define S_TICK_MS               20      // deadline resolution
#define S_NOTES_PER_WAKE        256     // hypervisor notes handled per wake-up
#define S_DRAIN_POLL_MS         50      // longest wait of the stop's drain loop
#define S_COUNTERS_MS           5000    // the message counters' debug line (make bench)

struct agent {
    agent_config_t config;      // as loaded
    hv_t *hv;                   // hypervisor until the executor takes it (owned)
    int notify_fd;              // the hypervisor's notification pipe (read end)
    executor_t *executor;       // the hypervisor lanes (owned; they own every hv handle)
    agent_core_t *core;         // every decision (owned)
    agent_fx_t *fx;             // the core's effects, executed after each call (owned)
    zsock_t *dealer;            // to the scheduler
    zsock_t *monitor;           // the dealer's failed handshakes (refused key, wrong key)
    uint64_t handshake_failures;    // counted, logged rate-limited
    zloop_t *loop;              // the one loop
    zmq_pollitem_t notes_item;  // the hypervisor's notification pipe in the loop
    char host_id [WIRE_ID_SIZE];    // persistent identity
    char boot_id [WIRE_ID_SIZE];    // kernel boot id
    uint64_t session;           // random per process start
    uint64_t undecodable;       // scheduler messages refused before reaching the core
    agent_stats_t stats;        // counters (the core's and the shell's, see s_sync_stats)
    bool failed;                // the loop ended on an error (exit status 1)
    fencer_t *fencer;           // the isolation response thread (owned)
    witness_zap_t *zap;         // who may ask this host's witness (owned)
    witness_link_t *witness;    // to and from the peers (owned; NULL: no witness endpoint)
    const witness_from_t *replying_to;  // the peer whose message is being handled
    uint64_t lease_config;      // the lease config version the witness link was set up for
    uint64_t generation_seen;   // the registration the fencer was last told of
    int64_t until_saved;        // connected_until last written to disk
    uint64_t lease_write_failures;  // the lease file could not be written (logged sampled)
    int64_t next_counters;      // when the next counters line is due (debug level)
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
    CONFIG_STR ("ha", "witness_bind", agent_config_t, witness_bind,
                "where this host's witness listens for its peers (\"\": no witness)"),
    CONFIG_STR ("ha", "witness_endpoint", agent_config_t, witness_endpoint,
                "how peers reach this host's witness (default: the bind, or tcp://NAME:PORT for *)"),
    CONFIG_STR ("ha", "watchdog", agent_config_t, watchdog,
                "none, /dev/watchdog, or file:PATH (the lab's stand-in): petted while "
                "connected"),
    CONFIG_STR ("ha", "qemu_run_dir", agent_config_t, qemu_run_dir,
                "libvirt's QEMU state directory, where the fencer finds domains"),
    CONFIG_STR ("ha", "cgroup_root", agent_config_t, cgroup_root,
                "where the machine cgroups are mounted (the fencer's second source)"),
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
        .witness_bind = "tcp://*:7110",
        .watchdog = "none",
        .qemu_run_dir = FENCER_RUN_DIR,
        .cgroup_root = FENCER_CGROUP_ROOT,
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
    watchdog_spec_t watchdog;
    if (watchdog_parse (config->watchdog, &watchdog, err, err_size))
        return -1;
    if (config->witness_bind [0] && strncmp (config->witness_bind, "tcp://", 6)) {
        snprintf (err, err_size, "invalid witness_bind '%s': expected tcp://ADDRESS:PORT (or "
                  "\"\" for no witness)", config->witness_bind);
        return -1;
    }
    if (config->witness_endpoint [0] && strncmp (config->witness_endpoint, "tcp://", 6)) {
        snprintf (err, err_size, "invalid witness_endpoint '%s': expected tcp://HOST:PORT",
                  config->witness_endpoint);
        return -1;
    }
    if (config->witness_bind [0] && !config->witness_endpoint [0]
    &&  !strrchr (config->witness_bind, ':')) {
        snprintf (err, err_size, "witness_bind '%s' has no port", config->witness_bind);
        return -1;
    }
    return 0;
}

//  How peers reach this host's witness: the configured endpoint; else the bind when it
//  names an address, tcp://NAME:PORT when it binds every one ("" without a witness).
static void
s_witness_endpoint (const agent_config_t *config, char *out, size_t size)
{
    const char *host = config->witness_bind + strlen ("tcp://");
    if (!config->witness_bind [0])
        snprintf (out, size, "%s", "");
    else
    if (config->witness_endpoint [0])
        snprintf (out, size, "%s", config->witness_endpoint);
    else
    if (strncmp (host, "*:", 2) && strncmp (host, "0.0.0.0:", 8))
        snprintf (out, size, "%s", config->witness_bind);
    else
        snprintf (out, size, "tcp://%s%s", config->name, strrchr (config->witness_bind, ':'));
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
    char path [1100];
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
    char text [WIRE_ID_SIZE + 2];
    snprintf (text, sizeof text, "%s\n", host_id);
    if (state_file_write (state_dir, "host-id", text, true, err, err_size))
        return -1;
    log_info ("new host id %s stored in '%s'", host_id, path);
    return 0;
}


//  --------------------------------------------------------------------------
//  Executing the core's effects

//  Folds the core's counters into self->stats (the shell counts sent, dropped and the
//  messages it could not decode itself).
static void
s_sync_stats (agent_t *self)
{
    const agent_core_stats_t *core = agent_core_stats (self->core);
    self->stats.received = core->received;
    self->stats.malformed = self->undecodable + core->unexpected;
    self->stats.rejects = core->rejects;
    self->stats.registrations = core->registrations;
    self->stats.events = core->events;
    self->stats.reports = core->reports;
    self->stats.hv_connects = core->hv_connects;
}

//  Sends msg (stamped by the core) without blocking; a refused send is counted, not retried.
static void
s_send (agent_t *self, const wire_msg_t *msg)
{
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

//  Sends a message for a peer agent: a request to its witness, or the reply to the peer
//  message being handled. Without a witness link there are no peers.
static void
s_send_peer (agent_t *self, const agent_peer_msg_t *entry)
{
    uint8_t *data;
    size_t size;
    char err [256];
    if (!self->witness || (entry->reply && !self->replying_to))
        return;
    if (wire_encode (&entry->msg, &data, &size, err, sizeof err)) {
        log_error ("cannot encode a %s message: %s", wire_kind_name (entry->msg.kind), err);
        return;
    }
    int rc = entry->reply? witness_link_reply (self->witness, self->replying_to, data, size)
                         : witness_link_send (self->witness, entry->peer, data, size);
    if (rc)
        log_debug ("%s for peer %s not sent", wire_kind_name (entry->msg.kind),
                   entry->reply? self->replying_to->host_id: entry->peer);
    free (data);
}

static void s_after_effects (agent_t *self);

//  Executes self->fx in order: messages to the scheduler and the peers, jobs to the
//  executor. A job the executor cannot take goes back to the core as a failed outcome
//  (which may add effects: they are executed too).
static void
s_execute (agent_t *self)
{
    agent_fx_t *fx = self->fx;
    s_after_effects (self);                 // blocks on disk before any report of them
    size_t msgs = 0, jobs = 0, peer_msgs = 0;
    while (msgs < fx->msg_count || jobs < fx->job_count || peer_msgs < fx->peer_msg_count) {
        for (; peer_msgs < fx->peer_msg_count; peer_msgs++)
            s_send_peer (self, &fx->peer_msgs [peer_msgs]);
        for (; msgs < fx->msg_count; msgs++)
            s_send (self, &fx->msgs [msgs]);
        for (; jobs < fx->job_count; jobs++) {
            char err [256];
            hv_job_t job = fx->jobs [jobs];
            fx->jobs [jobs].command.domain_xml = NULL;     // the local copy has it now
            if (executor_submit (self->executor, &job, err, sizeof err) == 0)
                continue;
            log_error ("cannot run a hypervisor %s job: %s", hv_job_kind_name (job.kind), err);
            hv_done_t done;
            executor_fail (&job, err, &done);
            hv_job_reset (&job);
            agent_core_on_done (self->core, &done, clock_boottime_ms (), fx);
            hv_done_reset (&done);
            jobs++;
            break;                          // fx may have grown: start over where we are
        }
    }
    agent_fx_clear (fx);
    s_sync_stats (self);
}

//  --------------------------------------------------------------------------
//  HA: what follows from the core's lease state after each call

//  The witness link's peers from the core's lease config.
static void
s_set_witness_peers (agent_t *self)
{
    const lease_t *lease = agent_core_lease (self->core);
    witness_peer_t send_to [WIRE_MAX_WITNESSES], accept_from [WIRE_MAX_WITNESSES];
    memset (send_to, 0, sizeof send_to);
    memset (accept_from, 0, sizeof accept_from);
    for (uint32_t i = 0; i < lease->witness_count; i++) {
        const wire_witness_peer_t *peer = &lease->witnesses [i].peer;
        snprintf (send_to [i].host_id, sizeof send_to [i].host_id, "%s", peer->host_id);
        snprintf (send_to [i].endpoint, sizeof send_to [i].endpoint, "%s", peer->endpoint);
        snprintf (send_to [i].public_key, sizeof send_to [i].public_key, "%s", peer->public_key);
    }
    for (uint32_t i = 0; i < lease->watched_count; i++) {
        const wire_witness_peer_t *peer = &lease->watched [i].peer;
        snprintf (accept_from [i].host_id, sizeof accept_from [i].host_id, "%s", peer->host_id);
        snprintf (accept_from [i].public_key, sizeof accept_from [i].public_key, "%s",
                  peer->public_key);
    }
    char err [256];
    if (witness_link_set_peers (self->witness, send_to, lease->witness_count, accept_from,
                                lease->watched_count, err, sizeof err))
        log_error ("cannot use the witness set of lease config %" PRIu64 ": %s",
                   lease->config_version, err);
}

//  Saves new witness blocks (durably: they may be reported only once on disk), the lease
//  for a successor process, tells the fencer until when the host is connected and of a new
//  registration, and follows witness set changes.
static void
s_after_effects (agent_t *self)
{
    char err [256];
    if (agent_core_blocks_unsaved (self->core)) {
        if (lease_store_save_blocks (self->config.state_dir, agent_core_lease (self->core),
                                     err, sizeof err) == 0)
            agent_core_blocks_saved (self->core);
        else
            log_error ("witness blocks not saved, so not reported: %s", err);
    }
    int64_t until = agent_core_connected_until (self->core);
    if (self->fencer)
        fencer_set_connected_until (self->fencer, until);
    if (until != self->until_saved) {
        if (lease_store_save_until (self->config.state_dir, self->boot_id, until, err,
                                    sizeof err)
        &&  log_sampled (++self->lease_write_failures))
            log_warn ("the next agent process may fence too early: %s", err);
        self->until_saved = until;
    }
    uint64_t generation = agent_core_generation (self->core);
    if (generation && generation != self->generation_seen) {
        //  A new registration: the scheduler knows what runs here again (DESIGN.md §5.3).
        self->generation_seen = generation;
        if (self->fencer)
            fencer_unlatch (self->fencer);
    }
    const lease_t *lease = agent_core_lease (self->core);
    if (self->witness && lease->config_version != self->lease_config) {
        self->lease_config = lease->config_version;
        s_set_witness_peers (self);
    }
}

//  --------------------------------------------------------------------------
//  Loop handlers

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
        self->undecodable++;
        s_sync_stats (self);
        log_warn ("refused a multi-frame message from the scheduler");
        return 0;
    }
    wire_msg_t msg;
    char err [256];
    int rc = wire_decode (zframe_data (frame), zframe_size (frame), &msg, err, sizeof err);
    zframe_destroy (&frame);
    if (rc) {
        self->undecodable++;
        s_sync_stats (self);
        log_warn ("refused a message from the scheduler: %s", err);
        return 0;
    }
    agent_core_on_message (self->core, &msg, clock_boottime_ms (), self->fx);
    wire_msg_reset (&msg);
    s_execute (self);
    return 0;
}

static int
s_on_notes (zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    (void) loop, (void) item;
    agent_t *self = arg;
    hv_note_t note;
    for (int i = 0; i < S_NOTES_PER_WAKE; i++) {
        int rc = hv_read_note_fd (self->notify_fd, &note);
        if (rc == 0)
            break;
        if (rc < 0) {
            log_error ("hypervisor notification pipe broken; stopping");
            self->failed = true;
            return -1;
        }
        agent_core_on_note (self->core, &note, clock_boottime_ms (), self->fx);
    }
    s_execute (self);
    return 0;
}

//  A lane has an outcome: the core hears of it.
static int
s_on_lane (zloop_t *loop, zsock_t *sock, void *arg)
{
    (void) loop;
    agent_t *self = arg;
    for (int lane = 0; lane < executor_lanes (self->executor); lane++) {
        hv_done_t done;
        if (executor_socket (self->executor, lane) != sock
        ||  executor_collect (self->executor, lane, &done))
            continue;
        agent_core_on_done (self->core, &done, clock_boottime_ms (), self->fx);
        hv_done_reset (&done);
    }
    s_execute (self);
    return 0;
}

//  The message counters, one debug line every S_COUNTERS_MS: what this host sent to and
//  received from the scheduler and its witness peers (requests and replies), with the time
//  they were read (CLOCK_BOOTTIME ms). tests/bench/lease_traffic.sh measures the lease
//  traffic with these lines.
static void
s_log_counters (agent_t *self, int64_t now)
{
    const agent_core_stats_t *core = agent_core_stats (self->core);
    witness_link_stats_t link = { 0 };
    if (self->witness)
        link = *witness_link_stats (self->witness);
    log_debug ("counters at %" PRId64 " ms: scheduler sent %" PRIu64 " received %" PRIu64
               " dropped %" PRIu64 "; witness link sent %" PRIu64 " received %" PRIu64
               " dropped %" PRIu64 " refused %" PRIu64 "; renewals %" PRIu64 " grants %"
               PRIu64 " witness grants %" PRIu64 " refusals %" PRIu64, now, self->stats.sent,
               core->received, self->stats.dropped, link.sent, link.received, link.dropped,
               link.refused, core->renewals, core->grants, core->witness_grants,
               core->witness_refusals);
}

static int
s_on_tick (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop, (void) timer_id;
    agent_t *self = arg;
    int64_t now = clock_boottime_ms ();
    if (now >= self->next_counters) {
        self->next_counters = now + S_COUNTERS_MS;
        s_log_counters (self, now);
    }
    if (now >= agent_core_next_deadline (self->core)) {
        agent_core_tick (self->core, now, self->fx);
        s_execute (self);
    }
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

//  A message from a peer agent, authenticated by its CURVE key as from->host_id.
static int
s_on_witness (witness_link_t *link, const witness_msg_t *message, void *arg)
{
    (void) link;
    agent_t *self = arg;
    wire_msg_t msg;
    char err [256];
    if (wire_decode (message->data, message->size, &msg, err, sizeof err)) {
        self->undecodable++;
        if (log_sampled (self->undecodable))
            log_warn ("refused a message from peer %s: %s", message->from.host_id, err);
        return 0;
    }
    self->replying_to = &message->from;
    agent_core_on_peer_message (self->core, message->from.host_id, &msg, clock_boottime_ms (),
                                self->fx);
    wire_msg_reset (&msg);
    s_execute (self);
    self->replying_to = NULL;
    return 0;
}

static int
s_on_zap (zloop_t *loop, zsock_t *sock, void *arg)
{
    (void) loop, (void) sock;
    witness_zap_handle (((agent_t *) arg)->zap);
    return 0;
}

static int
s_on_deadline (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop, (void) timer_id, (void) arg;
    return -1;                              // ends zloop_start
}

//  At shutdown: tell the core, then run a small loop of our own (the zloop is gone) until
//  the running commands are done: their outcomes go to the core, due aborts (migration
//  timeouts) go to the executor, results to the scheduler.
static void
s_drain (agent_t *self)
{
    agent_core_stop (self->core, clock_boottime_ms (), self->fx);
    s_execute (self);
    int lanes = executor_lanes (self->executor);
    zmq_pollitem_t items [lanes];
    while (agent_core_pending (self->core)) {
        int64_t now = clock_boottime_ms ();
        int64_t wait = agent_core_next_deadline (self->core) - now;
        wait = wait < 0? 0: wait > S_DRAIN_POLL_MS? S_DRAIN_POLL_MS: wait;
        for (int i = 0; i < lanes; i++)
            items [i] = (zmq_pollitem_t) { zsock_resolve (executor_socket (self->executor, i)),
                                           0, ZMQ_POLLIN, 0 };
        if (zmq_poll (items, lanes, (long) wait) < 0) {
            log_error ("cannot wait for the running commands: %s", zmq_strerror (zmq_errno ()));
            break;
        }
        for (int i = 0; i < lanes; i++) {
            hv_done_t done;
            if ((items [i].revents & ZMQ_POLLIN)
            &&  executor_collect (self->executor, i, &done) == 0) {
                agent_core_on_done (self->core, &done, clock_boottime_ms (), self->fx);
                hv_done_reset (&done);
            }
        }
        agent_core_tick (self->core, clock_boottime_ms (), self->fx);
        s_execute (self);
    }
}

//  --------------------------------------------------------------------------
//  Life cycle

//  The core's config from the agent's, the identity and the session.
static void
s_core_config (const agent_t *self, agent_core_config_t *out)
{
    const agent_config_t *config = &self->config;
    memset (out, 0, sizeof *out);
    snprintf (out->name, sizeof out->name, "%s", config->name);
    snprintf (out->host_id, sizeof out->host_id, "%s", self->host_id);
    snprintf (out->boot_id, sizeof out->boot_id, "%s", self->boot_id);
    out->session = self->session;
    snprintf (out->hypervisor_uri, sizeof out->hypervisor_uri, "%s", config->libvirt_uri);
    snprintf (out->migration_uri, sizeof out->migration_uri, "%s", config->migration_uri);
    snprintf (out->agent_version, sizeof out->agent_version, "%s", VMSCHED_VERSION);
    out->heartbeat_ms = (int64_t) config->heartbeat_ms;
    out->report_ms = (int64_t) config->report_ms;
    out->hello_retry_ms = (int64_t) config->hello_retry_ms;
    out->workers = (int) config->workers;
    out->cpus = (uint32_t) config->cpus;
    out->memory_mib = config->memory_mib;
    s_witness_endpoint (config, out->witness_endpoint, sizeof out->witness_endpoint);
    watchdog_spec_t watchdog;
    if (watchdog_parse (config->watchdog, &watchdog, NULL, 0) == 0)
        watchdog_describe (&watchdog, out->watchdog, sizeof out->watchdog);
    out->restored_lease_until = lease_store_load_until (config->state_dir, self->boot_id);
}

//  The DEALER to the scheduler with CURVE and the options of DESIGN.md §3, its handshake
//  monitor, connected. 0, or -1 with the reason in err.
static int
s_connect_scheduler (agent_t *self, char *err, size_t err_size)
{
    const agent_config_t *config = &self->config;
    char scheduler_key [KEYS_Z85_SIZE];
    zcert_t *cert = keys_load_secret (config->secret_key, err, err_size);
    if (!cert || keys_load_public (config->scheduler_key, scheduler_key, err, err_size)) {
        zcert_destroy (&cert);
        return -1;
    }
    self->dealer = zsock_new (ZMQ_DEALER);
    if (!self->dealer) {
        zcert_destroy (&cert);
        snprintf (err, err_size, "cannot create the scheduler socket");
        return -1;
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
        return -1;
    }
    if (zsock_connect (self->dealer, "%s", config->scheduler) < 0) {
        snprintf (err, err_size, "cannot connect to scheduler endpoint '%s': %s",
                  config->scheduler, zmq_strerror (zmq_errno ()));
        return -1;
    }
    return 0;
}

//  The loop and its readers and timer. 0, or -1.
static int
s_make_loop (agent_t *self)
{
    self->loop = zloop_new ();
    self->notes_item = (zmq_pollitem_t) { NULL, self->notify_fd, ZMQ_POLLIN, 0 };
    if (!self->loop
    ||  zloop_reader (self->loop, self->dealer, s_on_scheduler, self)
    ||  zloop_reader (self->loop, self->monitor, s_on_monitor, self)
    ||  zloop_poller (self->loop, &self->notes_item, s_on_notes, self)
    ||  zloop_timer (self->loop, S_TICK_MS, 0, s_on_tick, self) < 0)
        return -1;
    for (int i = 0; i < executor_lanes (self->executor); i++)
        if (zloop_reader (self->loop, executor_socket (self->executor, i), s_on_lane, self))
            return -1;
    if (self->witness
    &&  (zloop_reader (self->loop, witness_zap_socket (self->zap), s_on_zap, self)
    ||   witness_link_attach (self->witness, self->loop, s_on_witness, self)))
        return -1;
    return 0;
}

//  The witness: a ZAP handler and the link, bound with this host's key pair. 0, or -1.
static int
s_open_witness (agent_t *self, char *err, size_t err_size)
{
    if (!self->config.witness_bind [0])
        return 0;
    zcert_t *cert = keys_load_secret (self->config.secret_key, err, err_size);
    self->zap = cert? witness_zap_new (err, err_size): NULL;
    if (self->zap)
        self->witness = witness_link_new (self->zap, self->host_id, cert,
                                          self->config.witness_bind, WIRE_MAX_MESSAGE, err,
                                          err_size);
    zcert_destroy (&cert);
    return self->witness? 0: -1;
}

//  The fencer, starting from the lease an earlier process of this boot left; the witness
//  blocks it saved go to the core. 0, or -1.
static int
s_open_fencer (agent_t *self, const agent_core_config_t *core_config, char *err,
               size_t err_size)
{
    vec_t blocks = VEC_OF (lease_block_t);
    if (lease_store_load_blocks (self->config.state_dir, &blocks, err, err_size)) {
        vec_free (&blocks);
        return -1;
    }
    for (size_t i = 0; i < blocks.count; i++) {
        const lease_block_t *block = vec_at (&blocks, i);
        agent_core_load_block (self->core, block->host_id, block->generation);
    }
    if (blocks.count)
        log_info ("%zu witness blocks kept from before", blocks.count);
    vec_free (&blocks);
    fencer_config_t fencer;
    fencer_config_defaults (&fencer);
    if (watchdog_parse (self->config.watchdog, &fencer.watchdog, err, err_size))
        return -1;
    snprintf (fencer.run_dir, sizeof fencer.run_dir, "%s", self->config.qemu_run_dir);
    snprintf (fencer.cgroup_root, sizeof fencer.cgroup_root, "%s", self->config.cgroup_root);
    fencer.connected_until_ms = core_config->restored_lease_until;
    self->until_saved = core_config->restored_lease_until;
    self->fencer = fencer_new (&fencer, err, err_size);
    return self->fencer? 0: -1;
}

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
    self->notify_fd = hv_notify_fd (self->hv);
    self->session = ((uint64_t) randof (0x7fffffff) << 32) ^ (uint64_t) randof (0x7fffffff);
    self->session |= 1;                     // never 0
    if (s_read_line ("/proc/sys/kernel/random/boot_id", self->boot_id, sizeof self->boot_id))
        log_warn ("cannot read the kernel boot id; the scheduler will not see reboots");
    if (s_load_host_id (config->state_dir, self->host_id, err, err_size)
    ||  s_connect_scheduler (self, err, err_size)) {
        agent_destroy (&self);
        return NULL;
    }
    agent_core_config_t core_config;
    s_core_config (self, &core_config);
    self->core = agent_core_new (&core_config);
    self->fx = agent_fx_new ();
    self->executor = executor_new (&self->hv, (int) config->workers);
    if (!self->core || !self->fx || !self->executor) {
        snprintf (err, err_size, "cannot start %d command workers", (int) config->workers);
        agent_destroy (&self);
        return NULL;
    }
    if (s_open_fencer (self, &core_config, err, err_size)
    ||  s_open_witness (self, err, err_size)) {
        agent_destroy (&self);
        return NULL;
    }
    if (s_make_loop (self)) {
        snprintf (err, err_size, "cannot set up the event loop");
        agent_destroy (&self);
        return NULL;
    }
    log_info ("agent '%s' (host id %s) for '%s', scheduler %s, witness %s, watchdog %s",
              config->name, self->host_id, config->libvirt_uri, config->scheduler,
              core_config.witness_endpoint [0]? core_config.witness_endpoint: "none",
              core_config.watchdog [0]? core_config.watchdog: "none");
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
    return agent_core_generation (self->core);
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
    witness_link_destroy (&self->witness);  // detaches from the loop, which still exists
    witness_zap_destroy (&self->zap);
    zloop_destroy (&self->loop);
    if (self->core && self->executor && self->dealer && agent_core_pending (self->core)) {
        log_info ("stopping: %zu command(s) queued or running; queued ones are dropped, "
                  "running ones finish", agent_core_pending (self->core));
        s_drain (self);
        zsock_set_linger (self->dealer, 500);   // let their results leave
    }
    executor_destroy (&self->executor);     // nothing left running; frees the hv handles
    agent_core_destroy (&self->core);
    agent_fx_destroy (&self->fx);
    if (self->dealer && self->monitor)
        zmq_socket_monitor (zsock_resolve (self->dealer), NULL, 0);
    zsock_destroy (&self->monitor);
    zsock_destroy (&self->dealer);
    hv_destroy (&self->hv);                 // when the executor never took it
    fencer_destroy (&self->fencer);         // kills nothing: the watchdog keeps watching
    free (self);
    *self_p = NULL;
}
