/*  sim.c - the scheduler's real core on a virtual clock, driven by scripted agents (sim.h).

    Each step of 100 virtual ms: script lines that are due run; agents that talk send their
    heartbeat (every 500 ms) and any report that is due; the core ticks; after every entry
    point the effects are committed to the real store and only then delivered to the
    agents, which may answer at once (a queue, not recursion). Scripted agents in `auto`
    mode carry out START, STOP and MIGRATE against their own list of running domains; that
    list is the truth S1 is counted from: a START executed while another agent runs the VM
    is a second copy, and is reported as a violation.
*/
#include "sim.h"
#include "agent_core.h"
#include "loader.h"
#include "log.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char name [WIRE_NAME_SIZE];         // VM name
    char uuid [WIRE_ID_SIZE];           // derived from its index
    uint64_t memory_mib;                // size
    uint32_t vcpus;                     // vCPUs
    int32_t priority;                   // start order
} s_vm_t;

//  The last command an agent received for a VM (what `result` answers).
typedef struct {
    uint64_t id;                        // command id
    command_action_t action;            // what it asked
    char target [WIRE_NAME_SIZE];       // MIGRATE: target host name
    bool executed;                      // carried out (a repeat is then answered only)
} s_last_command_t;

typedef struct {
    char id [WIRE_ID_SIZE];             // host id
    char name [WIRE_NAME_SIZE];         // host name (and its key's name)
    uint32_t cpus;                      // capacity
    uint64_t memory_mib;                // capacity
    bool started;                       // the agent process exists (said hello once)
    bool talking;                       // it sends and receives (false: frozen or cut off)
    bool automatic;                     // carries out commands by itself
    bool drop_in;                       // scheduler -> agent messages are lost
    bool drop_out;                      // agent -> scheduler messages are lost
    int64_t delay_ms;                   // messages either way arrive up to this much later
                                        // (each its own delay: they overtake each other)
    bool duplicate;                     // messages either way arrive twice
    bool welcomed;                      // has a generation
    bool hello_due;                     // will say HELLO at the next step
    bool report_due;                    // will send a full report at the next step
    uint64_t session;                   // agent process session
    uint64_t seq;                       // last sequence number sent
    uint64_t generation;                // from the last WELCOME
    int64_t next_heartbeat;             // virtual ms
    int64_t next_hello;                 // virtual ms of the next HELLO retry (no WELCOME yet)
    int64_t next_report;                // virtual ms of the next periodic full report
    uint64_t token_seen;                // newest REPORT_REQUEST token received (echoed)
    uint64_t hello_seq;                 // seq of its newest HELLO (only its WELCOME counts)
    int run_count;                      // used entries of runs
    char runs [SIM_VMS_MAX][WIRE_NAME_SIZE];    // what its hypervisor runs, by VM name
    vec_t last;                         // s_last_t: the last command per VM it got one for
    agent_core_t *core;                 // real agents: the agent's own core (else NULL)
    agent_fx_t *fx;                     // real agents: its effects
    vec_t jobs;                         // real agents: s_job_t its hypervisor is running
    bool hung;                          // real agents: the hypervisor answers no job
} s_agent_t;

//  A hypervisor job of a real agent, finishing at `due`.
typedef struct {
    hv_job_t job;                       // as the core asked (owns its domain_xml)
    int64_t due;                        // virtual ms it completes
} s_job_t;

//  One entry of an agent's last commands.
typedef struct {
    int vm;                             // VM index
    s_last_command_t command;           // the last command for it
} s_last_t;

//  A message on its way from the scheduler to an agent.
typedef struct {
    int agent;                          // index
    wire_msg_t msg;                     // copy (a COMMAND's domain_xml is an owned copy)
    int64_t due;                        // virtual ms it arrives
} s_delivery_t;

//  A message from an agent on its way to the scheduler (delayed or duplicated links).
typedef struct {
    int agent;                          // index
    wire_msg_t msg;                     // owned copy (a REPORT's domains too)
    int64_t due;                        // virtual ms it arrives
} s_inbound_t;

struct sim {
    FILE *out;                          // the log
    char db_path [512];                 // the store's file
    store_t *store;                     // the real database
    core_t *core;                       // the real core
    core_config_t config;               // its configuration
    fx_t fx;                            // effects of the current entry point
    uint64_t mutation_seq;              // last committed mutation number
    int64_t now;                        // virtual ms
    int agent_count;                    // entries of agents
    s_agent_t *agents;                  // owned: one per host
    int vm_count;                       // entries of vms
    s_vm_t *vms;                        // owned: the VMs of the cluster
    bool check_memory;                  // compare memory with the database after commits
    bool real_agents;                   // hosts run the real agent core (agent/agent_core.c)
    bool flushing;                      // s_flush_deliveries is running (it is not reentrant)
    int workers;                        // real agents: command workers each (default 2)
    vec_t inbound;                      // s_inbound_t: agent messages still on their way
    uint64_t link_random;               // the links' own random state (delays, seeded)
    vec_t deliveries;                   // s_delivery_t waiting to be handed to agents
    uint64_t next_session;              // agents' sessions, deterministic
    int violations;                     // invariants broken
};

//  --------------------------------------------------------------------------
//  Log

static void
s_sink (void *arg, log_level_t level, const char *message)
{
    sim_t *self = arg;
    const char *path = strstr (message, self->db_path);
    char scrubbed [2048];
    if (path) {                         // the scratch directory differs from run to run
        snprintf (scrubbed, sizeof scrubbed, "%.*ssim.db%s", (int) (path - message), message,
                  path + strlen (self->db_path));
        message = scrubbed;
    }
    const char *word = level == LOG_LEVEL_ERROR? "error": level == LOG_LEVEL_WARN? "warn"
                     : level == LOG_LEVEL_INFO? "info": "debug";
    fprintf (self->out, "%9.3f %-5s %s\n", (double) self->now / 1000, word, message);
}

static void
s_say (sim_t *self, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

static void
s_say (sim_t *self, const char *fmt, ...)
{
    char text [1024];
    va_list args;
    va_start (args, fmt);
    vsnprintf (text, sizeof text, fmt, args);
    va_end (args);
    fprintf (self->out, "%9.3f sim   %s\n", (double) self->now / 1000, text);
}

static void
s_violation (sim_t *self, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

static void
s_violation (sim_t *self, const char *fmt, ...)
{
    char text [1024];
    va_list args;
    va_start (args, fmt);
    vsnprintf (text, sizeof text, fmt, args);
    va_end (args);
    fprintf (self->out, "%9.3f VIOLATION %s\n", (double) self->now / 1000, text);
    self->violations++;
}

//  --------------------------------------------------------------------------
//  Lookup

static s_agent_t *
s_agent (sim_t *self, const char *name)
{
    for (int i = 0; i < self->agent_count; i++)
        if (strcmp (self->agents [i].name, name) == 0)
            return &self->agents [i];
    return NULL;
}

static int
s_vm_index (sim_t *self, const char *name_or_uuid)
{
    for (int i = 0; i < self->vm_count; i++)
        if (strcmp (self->vms [i].name, name_or_uuid) == 0
        ||  strcmp (self->vms [i].uuid, name_or_uuid) == 0)
            return i;
    return -1;
}

static bool
s_runs (const s_agent_t *agent, const char *vm)
{
    for (int i = 0; i < agent->run_count; i++)
        if (strcmp (agent->runs [i], vm) == 0)
            return true;
    return false;
}

static void
s_run_add (s_agent_t *agent, const char *vm)
{
    if (!s_runs (agent, vm) && agent->run_count < SIM_VMS_MAX)
        snprintf (agent->runs [agent->run_count++], WIRE_NAME_SIZE, "%s", vm);
}

static void
s_run_remove (s_agent_t *agent, const char *vm)
{
    for (int i = 0; i < agent->run_count; i++)
        if (strcmp (agent->runs [i], vm) == 0) {
            memmove (agent->runs [i], agent->runs [--agent->run_count], WIRE_NAME_SIZE);
            return;
        }
}

//  The agent's last command for vm (a blank one is added when it has none).
static s_last_command_t *
s_last (s_agent_t *agent, int vm)
{
    for (size_t i = 0; i < agent->last.count; i++) {
        s_last_t *entry = vec_at (&agent->last, i);
        if (entry->vm == vm)
            return &entry->command;
    }
    s_last_t blank = { .vm = vm };
    s_last_t *entry = vec_push (&agent->last, &blank);
    return entry? &entry->command: NULL;
}

//  Makes room for hosts hosts and vms VMs (a world is sized once). 0 or -1.
static int
s_size (sim_t *self, int hosts, int vms)
{
    self->agents = calloc ((size_t) hosts + 1, sizeof *self->agents);
    self->vms = calloc ((size_t) vms + 1, sizeof *self->vms);
    if (!self->agents || !self->vms)
        return -1;
    self->agent_count = hosts;
    self->vm_count = vms;
    for (int i = 0; i < hosts; i++) {
        self->agents [i].last = VEC_OF (s_last_t);
        self->agents [i].jobs = VEC_OF (s_job_t);
        self->agents [i].automatic = true;
    }
    return 0;
}

//  --------------------------------------------------------------------------
//  The daemon's part: commit, then deliver

static char *
s_dump (core_t *core)
{
    char *text = NULL;
    size_t size = 0;
    FILE *dump = open_memstream (&text, &size);
    if (!dump)
        return NULL;
    model_t *model = core_model (core);
    managed_t *managed = core_managed (core);
    for (size_t i = 0; i < model_host_count (model); i++) {
        const host_record_t *h = &model_host_at (model, i)->record;
        fprintf (dump, "host %s state=%d gen=%" PRIu64 " maint=%d\n", h->name, h->state,
                 h->generation, h->maintenance);
    }
    for (size_t i = 0; i < model_vm_count (model); i++) {
        const vm_record_t *v = &model_vm_at (model, i)->record;
        fprintf (dump, "vm %s on %s state=%d\n", v->name, v->host_id, v->state);
    }
    for (size_t i = 0; i < managed_spec_count (managed); i++) {
        const spec_t *spec = managed_spec_at (managed, i);
        fprintf (dump, "spec %s want=%d gen=%" PRIu64 " at=%s reason=%s\n", spec->record.name,
                 spec->record.want, spec->record.generation, spec->record.host_id,
                 spec->record.reason);
        for (uint32_t e = 0; e < spec->may_run_count; e++)
            fprintf (dump, "  may-run %s op %" PRIu64 "\n", spec->may_run [e].record.host_id,
                     spec->may_run [e].record.op_id);
    }
    fclose (dump);
    return text;
}

//  Memory equals the database: compared after every commit that wrote something.
static void
s_check_memory (sim_t *self)
{
    core_t *fresh = core_new (&self->config);
    if (!fresh || loader_load (fresh, self->store, self->now)) {
        s_violation (self, "cannot load the database to compare it with memory");
        core_destroy (&fresh);
        return;
    }
    char *live = s_dump (self->core), *stored = s_dump (fresh);
    if (!live || !stored || strcmp (live, stored))
        s_violation (self, "memory differs from the database:\n%s-- database:\n%s",
                     live? live: "?", stored? stored: "?");
    free (live);
    free (stored);
    core_destroy (&fresh);
}

//  The links' deterministic randomness (xorshift64*).
static int64_t
s_link_delay (sim_t *self, int64_t max_ms)
{
    uint64_t *x = &self->link_random;
    *x ^= *x >> 12;
    *x ^= *x << 25;
    *x ^= *x >> 27;
    return max_ms > 0? (int64_t) ((*x * 2685821657736338717ULL) % (uint64_t) (max_ms + 1)): 0;
}

//  Queues a copy of a scheduler message for agent (twice on a duplicating link).
static void
s_queue_delivery (sim_t *self, int agent, const wire_msg_t *msg)
{
    const s_agent_t *to = &self->agents [agent];
    for (int copy = 0; copy < (to->duplicate? 2: 1); copy++) {
        s_delivery_t delivery = { agent, *msg, self->now + s_link_delay (self, to->delay_ms) };
        if (delivery.msg.kind == WIRE_COMMAND && delivery.msg.body.command.domain_xml)
            delivery.msg.body.command.domain_xml =
                strdup (delivery.msg.body.command.domain_xml);
        if (!vec_push (&self->deliveries, &delivery) && delivery.msg.kind == WIRE_COMMAND)
            free (delivery.msg.body.command.domain_xml);
    }
}

static void
s_commit (sim_t *self)
{
    bool wrote = self->fx.mutations.count > 0;
    if (loader_commit (self->core, self->store, &self->fx, &self->mutation_seq, self->now) == 0) {
        for (size_t i = 0; i < self->fx.sends.count; i++) {
            const fx_send_t *send = vec_at (&self->fx.sends, i);
            int agent = (int) send->peer - 1;
            if (agent < 0 || agent >= self->agent_count)
                continue;
            s_queue_delivery (self, agent, &send->msg);
        }
    }
    fx_clear (&self->fx);
    if (wrote && self->check_memory)
        s_check_memory (self);
}

//  --------------------------------------------------------------------------
//  Agents -> scheduler

static const principal_record_t *
s_key (const s_agent_t *agent)
{
    static principal_record_t principal;
    principal = (principal_record_t) { .kind = PRINCIPAL_HOST };
    snprintf (principal.name, sizeof principal.name, "%s", agent->name);
    return &principal;
}

//  The scheduler receives msg from agent now.
static void
s_arrive (sim_t *self, s_agent_t *agent, const wire_msg_t *msg)
{
    core_on_agent (self->core, (uint64_t) (agent - self->agents) + 1, s_key (agent), msg,
                   self->now, self->now, &self->fx);
    s_commit (self);
}

//  A stamped message from agent onto its link: lost, delayed (a copy waits), duplicated, or
//  there at once.
static void
s_to_scheduler (sim_t *self, s_agent_t *agent, const wire_msg_t *msg)
{
    if (agent->drop_out) {
        if (msg->kind != WIRE_HEARTBEAT)
            s_say (self, "%s -> scheduler: %s lost", agent->name, wire_kind_name (msg->kind));
        return;
    }
    if (!agent->delay_ms && !agent->duplicate) {
        s_arrive (self, agent, msg);
        return;
    }
    for (int copy = 0; copy < (agent->duplicate? 2: 1); copy++) {
        s_inbound_t inbound = { (int) (agent - self->agents), *msg,
                                self->now + s_link_delay (self, agent->delay_ms) };
        if (msg->kind == WIRE_REPORT || msg->kind == WIRE_HEARTBEAT) {
            //  The copy owns its own domain list (the sender frees its one).
            size_t bytes = msg->body.report.domain_count * sizeof (wire_domain_t);
            inbound.msg.body.report.domains = bytes? malloc (bytes): NULL;
            if (bytes && !inbound.msg.body.report.domains)
                continue;
            if (bytes)
                memcpy (inbound.msg.body.report.domains, msg->body.report.domains, bytes);
        }
        if (!vec_push (&self->inbound, &inbound)
        &&  (msg->kind == WIRE_REPORT || msg->kind == WIRE_HEARTBEAT))
            free (inbound.msg.body.report.domains);
    }
}

//  Agent messages whose time has come reach the scheduler.
static void
s_flush_inbound (sim_t *self)
{
    for (size_t i = 0; i < self->inbound.count; ) {
        s_inbound_t *queued = vec_at (&self->inbound, i);
        if (queued->due > self->now) {
            i++;
            continue;
        }
        s_inbound_t inbound = *queued;
        vec_remove (&self->inbound, i);
        s_arrive (self, &self->agents [inbound.agent], &inbound.msg);
        if (inbound.msg.kind == WIRE_REPORT || inbound.msg.kind == WIRE_HEARTBEAT)
            free (inbound.msg.body.report.domains);
    }
}

static void
s_send (sim_t *self, s_agent_t *agent, wire_msg_t *msg)
{
    snprintf (msg->host_id, sizeof msg->host_id, "%s", agent->id);
    msg->generation = agent->generation;
    msg->session = agent->session;
    msg->seq = ++agent->seq;
    s_to_scheduler (self, agent, msg);
}

static void
s_hello (sim_t *self, s_agent_t *agent)
{
    wire_msg_t msg;
    wire_msg_init (&msg, WIRE_HELLO);
    wire_hello_t *hello = &msg.body.hello;
    snprintf (hello->host_id, sizeof hello->host_id, "%s", agent->id);
    snprintf (hello->name, sizeof hello->name, "%s", agent->name);
    snprintf (hello->boot_id, sizeof hello->boot_id, "boot-%.24s", agent->name);
    snprintf (hello->hypervisor_uri, sizeof hello->hypervisor_uri, "test:///sim");
    snprintf (hello->migration_uri, sizeof hello->migration_uri, "qemu+tcp://%s/system",
              agent->name);
    hello->capacity.cpus = agent->cpus;
    hello->capacity.memory_mib = agent->memory_mib;
    snprintf (hello->watchdog, sizeof hello->watchdog, "file /sim/%.64s", agent->name);
    agent->hello_due = false;
    agent->next_hello = self->now + 1000;   // as the agent: again each second until welcomed
    s_send (self, agent, &msg);
    agent->hello_seq = agent->seq;
}

//  VM vm as a hypervisor lists it: running, persistent, its size.
static void
s_domain_of (sim_t *self, int vm, wire_domain_t *domain)
{
    memset (domain, 0, sizeof *domain);
    snprintf (domain->name, sizeof domain->name, "%s", self->vms [vm].name);
    snprintf (domain->uuid, sizeof domain->uuid, "%s", self->vms [vm].uuid);
    domain->state = DOMAIN_RUNNING;
    domain->vcpus = self->vms [vm].vcpus;
    domain->memory_kib = self->vms [vm].memory_mib * 1024;
    domain->persistent = true;
}

//  What agent's hypervisor runs, into domains (room for run_count); returns how many.
static uint32_t
s_list_domains (sim_t *self, const s_agent_t *agent, wire_domain_t *domains)
{
    uint32_t count = 0;
    for (int i = 0; i < agent->run_count; i++) {
        int vm = s_vm_index (self, agent->runs [i]);
        if (vm >= 0)
            s_domain_of (self, vm, &domains [count++]);
    }
    return count;
}

static void
s_report (sim_t *self, s_agent_t *agent)
{
    wire_domain_t domains [SIM_VMS_MAX];
    uint32_t count = s_list_domains (self, agent, domains);
    wire_msg_t msg;
    wire_msg_init (&msg, WIRE_REPORT);
    msg.body.report = (wire_report_t) { true, count, domains, agent->token_seen };
    agent->report_due = false;
    agent->next_report = self->now + SIM_REPORT_MS;
    s_send (self, agent, &msg);
}

static void
s_result (sim_t *self, s_agent_t *agent, int vm, command_status_t status, const char *why)
{
    s_last_command_t *last = s_last (agent, vm);
    if (!last || !last->id) {
        s_say (self, "%s has no command for vm '%s' to answer", agent->name,
               self->vms [vm].name);
        return;
    }
    wire_msg_t msg;
    wire_msg_init (&msg, WIRE_COMMAND_RESULT);
    msg.body.result.id = last->id;
    msg.body.result.status = status;
    snprintf (msg.body.result.vm_uuid, sizeof msg.body.result.vm_uuid, "%s",
              self->vms [vm].uuid);
    snprintf (msg.body.result.message, sizeof msg.body.result.message, "%s", why);
    s_send (self, agent, &msg);
}

//  --------------------------------------------------------------------------
//  Scheduler -> agents

//  A START by an agent: a second copy if another agent runs the VM (S1).
static void
s_start_on (sim_t *self, s_agent_t *agent, const char *vm)
{
    for (int i = 0; i < self->agent_count; i++)
        if (&self->agents [i] != agent && s_runs (&self->agents [i], vm))
            s_violation (self, "S1: vm '%s' started on host '%s' while host '%s' runs it",
                         vm, agent->name, self->agents [i].name);
    s_run_add (agent, vm);
}

//  An automatic agent carries out a command as a healthy one would.
static void
s_execute (sim_t *self, s_agent_t *agent, const wire_command_t *command, int vm)
{
    const char *name = self->vms [vm].name;
    if (command->host_generation != agent->generation) {
        s_result (self, agent, vm, RESULT_STALE, "stale: generation of an older registration");
        return;
    }
    switch (command->action) {
        case COMMAND_START:
            s_start_on (self, agent, name);
            s_result (self, agent, vm, RESULT_DONE, "started");
            break;
        case COMMAND_STOP:
            s_run_remove (agent, name);
            s_result (self, agent, vm, RESULT_DONE, "stopped");
            break;
        case COMMAND_MIGRATE: {
            s_agent_t *target = s_agent (self, command->target_host);
            if (!target || !target->talking) {
                s_result (self, agent, vm, RESULT_FAILED, "cannot reach the target host");
                break;
            }
            s_run_remove (agent, name);
            s_start_on (self, target, name);
            s_result (self, agent, vm, RESULT_DONE, "migrated");
            target->report_due = true;
            break;
        }
        default:
            return;
    }
    agent->report_due = true;
}

static void s_real_flush (sim_t *self, s_agent_t *agent);

static void
s_deliver (sim_t *self, s_agent_t *agent, const wire_msg_t *msg)
{
    if (agent->drop_in || !agent->talking) {
        if (msg->kind != WIRE_WELCOME || agent->talking)
            s_say (self, "scheduler -> %s: %s lost", agent->name, wire_kind_name (msg->kind));
        return;
    }
    if (agent->core) {
        if (msg->kind == WIRE_COMMAND) {
            int vm = s_vm_index (self, msg->body.command.vm_uuid);
            s_say (self, "%s <- %s vm '%s'%s%s (command %" PRIu64 ")", agent->name,
                   command_action_name (msg->body.command.action),
                   vm >= 0? self->vms [vm].name: msg->body.command.vm_uuid,
                   msg->body.command.target_host [0]? " to ": "",
                   msg->body.command.target_host, msg->body.command.id);
        }
        agent_core_on_message (agent->core, msg, self->now, agent->fx);
        s_real_flush (self, agent);
        return;
    }
    switch (msg->kind) {
        case WIRE_WELCOME:
            if (msg->body.welcome.hello_seq != agent->hello_seq)
                break;                      // answers an older HELLO: as the agent, ignore it
            if (msg->body.welcome.generation != agent->generation)
                s_say (self, "%s: welcomed with generation %" PRIu64, agent->name,
                       msg->body.welcome.generation);
            agent->generation = msg->body.welcome.generation;
            agent->welcomed = true;
            agent->report_due = true;
            break;
        case WIRE_REJECT:
            s_say (self, "%s: rejected: %s", agent->name, msg->body.reject.reason);
            if (msg->body.reject.reregister) {
                agent->hello_due = true;
                agent->welcomed = false;
            }
            break;
        case WIRE_REPORT_REQUEST:
            agent->report_due = true;
            if (msg->body.report_request.token > agent->token_seen)
                agent->token_seen = msg->body.report_request.token;
            break;
        case WIRE_COMMAND: {
            const wire_command_t *command = &msg->body.command;
            int vm = s_vm_index (self, command->vm_uuid);
            if (vm < 0)
                break;
            s_last_command_t *last = s_last (agent, vm);
            if (!last)
                break;
            bool repeat = last->id == command->id;
            bool executed = repeat && last->executed;
            *last = (s_last_command_t) { command->id, command->action, "", executed };
            snprintf (last->target, sizeof last->target, "%s", command->target_host);
            s_say (self, "%s <- %s%s vm '%s'%s%s (command %" PRIu64 ")%s", agent->name,
                   command_action_name (command->action), "", self->vms [vm].name,
                   command->target_host [0]? " to ": "", command->target_host, command->id,
                   repeat? " again": "");
            if (agent->automatic && !executed) {
                last->executed = true;
                s_execute (self, agent, command, vm);
            }
            else
            if (agent->automatic)
                s_result (self, agent, vm, RESULT_DONE, "done before");
            break;
        }
        default:
            break;
    }
}

static void
s_flush_deliveries (sim_t *self)
{
    //  Agents answer deliveries at once, which may queue more: the outermost call takes
    //  them all in order (a nested call returns at once).
    if (self->flushing)
        return;
    self->flushing = true;
    for (size_t i = 0; i < self->deliveries.count; ) {
        s_delivery_t *queued = vec_at (&self->deliveries, i);
        if (queued->due > self->now) {
            i++;
            continue;
        }
        s_delivery_t delivery = *queued;
        vec_remove (&self->deliveries, i);
        s_deliver (self, &self->agents [delivery.agent], &delivery.msg);
        if (delivery.msg.kind == WIRE_COMMAND)
            free (delivery.msg.body.command.domain_xml);
    }
    self->flushing = false;
}

//  --------------------------------------------------------------------------
//  Real agents: the agent's own core over a single-threaded hypervisor of the sim's
//  (the agent's domain list), jobs taking virtual time

static int64_t
s_job_duration (const hv_job_t *job)
{
    if (job->kind != HV_JOB_COMMAND)
        return 0;
    return job->command.action == COMMAND_MIGRATE? 1000
         : job->command.action == COMMAND_START? 200: 100;
}

//  Executes the core's effects: messages to the scheduler (through the link), jobs to the
//  hypervisor (queued until they are due).
static void
s_real_flush (sim_t *self, s_agent_t *agent)
{
    agent_fx_t *fx = agent->fx;
    for (size_t i = 0; i < fx->job_count; i++) {
        const hv_job_t *job = &fx->jobs [i];
        if (job->kind == HV_JOB_COMMAND
        &&  job->command.host_generation != agent_core_generation (agent->core))
            s_violation (self, "host '%s' began command %" PRIu64 " of generation %" PRIu64
                         " while registered with generation %" PRIu64, agent->name,
                         job->command.id, job->command.host_generation,
                         agent_core_generation (agent->core));
        s_job_t queued = { fx->jobs [i], self->now + s_job_duration (&fx->jobs [i]) };
        fx->jobs [i].command.domain_xml = NULL;         // the queue owns it now
        if (!vec_push (&agent->jobs, &queued))
            hv_job_reset (&queued.job);
    }
    for (size_t i = 0; i < fx->msg_count; i++) {
        s_to_scheduler (self, agent, &fx->msgs [i]);
    }
    agent_fx_clear (fx);
    s_flush_deliveries (self);
}

//  The agent process starts (again): a new core, a new session; its domains keep running.
static void
s_real_start (sim_t *self, s_agent_t *agent)
{
    agent_core_destroy (&agent->core);
    for (size_t i = 0; i < agent->jobs.count; i++)
        hv_job_reset (&((s_job_t *) vec_at (&agent->jobs, i))->job);
    vec_clear (&agent->jobs);       // what the old process asked for dies with it
    agent_core_config_t config = {
        .session = ++self->next_session, .heartbeat_ms = SIM_HEARTBEAT_MS,
        .report_ms = SIM_REPORT_MS,
        .hello_retry_ms = 1000, .workers = self->workers? self->workers: 2 };
    snprintf (config.name, sizeof config.name, "%s", agent->name);
    snprintf (config.host_id, sizeof config.host_id, "%s", agent->id);
    snprintf (config.boot_id, sizeof config.boot_id, "boot-%.24s", agent->name);
    snprintf (config.hypervisor_uri, sizeof config.hypervisor_uri, "test:///sim");
    snprintf (config.migration_uri, sizeof config.migration_uri, "qemu+tcp://%.32s/system",
              agent->name);
    snprintf (config.agent_version, sizeof config.agent_version, "sim");
    snprintf (config.watchdog, sizeof config.watchdog, "file /sim/%.64s", agent->name);
    agent->core = agent_core_new (&config);
    if (!agent->fx)
        agent->fx = agent_fx_new ();
    agent->started = agent->talking = true;
    if (agent->core && agent->fx) {
        agent_core_tick (agent->core, self->now, agent->fx);
        s_real_flush (self, agent);
    }
}

//  A lifecycle note from agent's hypervisor (as libvirt's event callback would post it).
static void
s_real_note (sim_t *self, s_agent_t *agent, int vm, event_kind_t event)
{
    if (!agent->core || !agent->talking)
        return;
    hv_note_t note = { .kind = HV_NOTE_EVENT, .event = event };
    snprintf (note.uuid, sizeof note.uuid, "%s", self->vms [vm].uuid);
    snprintf (note.name, sizeof note.name, "%s", self->vms [vm].name);
    agent_core_on_note (agent->core, &note, self->now, agent->fx);
    s_real_flush (self, agent);
}

//  One job the hypervisor finishes.
static void
s_real_complete (sim_t *self, s_agent_t *agent, hv_job_t *job)
{
    hv_done_t done;
    memset (&done, 0, sizeof done);
    done.job = *job;
    done.job.command.domain_xml = NULL;
    const wire_command_t *command = &job->command;
    int vm = s_vm_index (self, command->vm_uuid);
    switch (job->kind) {
        case HV_JOB_CONNECT:
            done.capacity.cpus = agent->cpus;
            done.capacity.memory_mib = agent->memory_mib;
            break;
        case HV_JOB_LIST:
            done.domains = calloc ((size_t) agent->run_count + 1, sizeof *done.domains);
            if (done.domains)
                done.domain_count = s_list_domains (self, agent, done.domains);
            break;
        case HV_JOB_LOOKUP: {
            int index = s_vm_index (self, job->note.uuid);
            done.rc = index >= 0 && s_runs (agent, self->vms [index].name);
            if (done.rc)
                s_domain_of (self, index, &done.domain);
            break;
        }
        case HV_JOB_COMMAND: {
            done.result.id = command->id;
            done.result.vm_generation = command->vm_generation;
            snprintf (done.result.vm_uuid, sizeof done.result.vm_uuid, "%s", command->vm_uuid);
            done.result.status = RESULT_DONE;
            const char *name = vm >= 0? self->vms [vm].name: "?";
            s_agent_t *target = command->action == COMMAND_MIGRATE?
                                s_agent (self, command->target_host): NULL;
            if (vm < 0)
                done.result.status = RESULT_FAILED;
            else
            if (command->action == COMMAND_START) {
                if (!s_runs (agent, name))
                    s_start_on (self, agent, name);
            }
            else
            if (command->action == COMMAND_STOP)
                s_run_remove (agent, name);
            else
            if (command->action == COMMAND_MIGRATE && target && target->talking
            &&  !target->hung && !target->drop_in && s_runs (agent, name)) {
                s_run_remove (agent, name);
                s_start_on (self, target, name);
                s_real_note (self, target, vm, EVENT_STARTED);
            }
            else
                done.result.status = RESULT_FAILED;
            snprintf (done.result.message, sizeof done.result.message, "%s",
                      done.result.status == RESULT_DONE? "done": "failed in the sim");
            break;
        }
        default:
            break;                          // ABORT, PROGRESS: nothing running to act on
    }
    agent_core_on_done (agent->core, &done, self->now, agent->fx);
    hv_done_reset (&done);
    hv_job_reset (job);
    s_real_flush (self, agent);
}

//  A step of a real agent: finished jobs, then what its core has due.
static void
s_real_step (sim_t *self, s_agent_t *agent)
{
    if (!agent->core || !agent->talking)
        return;
    for (size_t i = 0; !agent->hung && i < agent->jobs.count; ) {
        s_job_t *queued = vec_at (&agent->jobs, i);
        if (queued->due > self->now) {
            i++;
            continue;
        }
        hv_job_t job = queued->job;
        vec_remove (&agent->jobs, i);
        s_real_complete (self, agent, &job);
    }
    agent_core_tick (agent->core, self->now, agent->fx);
    s_real_flush (self, agent);
}

//  --------------------------------------------------------------------------
//  Time

static void
s_step (sim_t *self)
{
    self->now += SIM_TICK_MS;
    s_flush_inbound (self);
    s_flush_deliveries (self);
    for (int i = 0; i < self->agent_count; i++) {
        s_agent_t *agent = &self->agents [i];
        if (!agent->started || !agent->talking)
            continue;
        if (agent->core) {
            s_real_step (self, agent);
            continue;
        }
        if (agent->hello_due || (!agent->welcomed && self->now >= agent->next_hello))
            s_hello (self, agent);
        else
        if (agent->welcomed && agent->report_due)
            s_report (self, agent);
        if (agent->welcomed && self->now >= agent->next_report) {
            agent->next_report = self->now + SIM_REPORT_MS;     // as the agent's report_ms
            agent->report_due = true;
        }
        if (agent->welcomed && self->now >= agent->next_heartbeat) {
            agent->next_heartbeat = self->now + SIM_HEARTBEAT_MS;
            wire_msg_t beat;
            wire_msg_init (&beat, WIRE_HEARTBEAT);
            beat.body.report.hypervisor_connected = true;
            s_send (self, agent, &beat);
        }
        s_flush_deliveries (self);
    }
    core_tick (self->core, self->now, self->now, &self->fx);
    s_commit (self);
    s_flush_deliveries (self);
}

//  --------------------------------------------------------------------------
//  Life cycle

static int
s_open_core (sim_t *self)
{
    char err [256];
    self->store = store_open (self->db_path, err, sizeof err);
    if (!self->store) {
        fprintf (stderr, "sim: %s\n", err);
        return -1;
    }
    self->config.reconcile.epoch = store_epoch (self->store) + 1;
    self->mutation_seq = store_mutation_seq (self->store);
    self->config.leading_since = self->now;
    self->core = core_new (&self->config);
    if (!self->core || loader_load (self->core, self->store, self->now))
        return -1;
    mutation_t epoch = { .kind = MUTATION_EPOCH, .at = self->now,
                         .seq = ++self->mutation_seq };
    epoch.u.epoch = self->config.reconcile.epoch;
    if (store_apply (self->store, &epoch) || store_commit (self->store))
        return -1;
    return store_abandon_ops (self->store, self->now);
}

sim_t *
sim_new (const char *dir, FILE *out)
{
    sim_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->out = out;
    self->now = 0;
    self->check_memory = true;
    self->next_session = 1000;
    snprintf (self->db_path, sizeof self->db_path, "%s/sim.db", dir);
    self->config = (core_config_t) { .timing = { 1500, 5000 }, .heartbeat_ms = SIM_HEARTBEAT_MS,
                                     .report_request_ms = 1000 };
    reconcile_config_defaults (&self->config.reconcile);
    ha_config_profile (&self->config.ha, "default");
    self->config.ha.suspect_after_ms = self->config.timing.suspect_after_ms;
    fx_init (&self->fx);
    self->deliveries = VEC_OF (s_delivery_t);
    self->inbound = VEC_OF (s_inbound_t);
    self->link_random = 0x2545F4914F6CDD1DULL;
    log_set_sink (s_sink, self);
    if (s_open_core (self))
        sim_destroy (&self);
    return self;
}

void
sim_destroy (sim_t **self_p)
{
    sim_t *self = *self_p;
    if (!self)
        return;
    log_set_sink (NULL, NULL);
    for (int i = 0; i < self->agent_count; i++) {
        s_agent_t *agent = &self->agents [i];
        vec_free (&agent->last);
        for (size_t j = 0; j < agent->jobs.count; j++)
            hv_job_reset (&((s_job_t *) vec_at (&agent->jobs, j))->job);
        vec_free (&agent->jobs);
        agent_core_destroy (&agent->core);
        agent_fx_destroy (&agent->fx);
    }
    free (self->agents);
    free (self->vms);
    fx_free (&self->fx);
    for (size_t i = 0; i < self->deliveries.count; i++) {
        s_delivery_t *delivery = vec_at (&self->deliveries, i);
        if (delivery->msg.kind == WIRE_COMMAND)
            free (delivery->msg.body.command.domain_xml);
    }
    vec_free (&self->deliveries);
    for (size_t i = 0; i < self->inbound.count; i++) {
        s_inbound_t *inbound = vec_at (&self->inbound, i);
        if (inbound->msg.kind == WIRE_REPORT || inbound->msg.kind == WIRE_HEARTBEAT)
            free (inbound->msg.body.report.domains);
    }
    vec_free (&self->inbound);
    core_destroy (&self->core);
    store_destroy (&self->store);
    free (self);
    *self_p = NULL;
}

int64_t
sim_now (const sim_t *self)
{
    return self->now;
}

int
sim_violations (const sim_t *self)
{
    return self->violations;
}

//  --------------------------------------------------------------------------
//  Scenario files

static int
s_load_cluster (sim_t *self, const char *path)
{
    json_error_t error;
    json_t *root = json_load_file (path, JSON_REJECT_DUPLICATES, &error);
    if (!root) {
        fprintf (stderr, "sim: %s:%d:%d: %s\n", path, error.line, error.column, error.text);
        return -1;
    }
    json_t *hosts = json_object_get (root, "hosts"), *vms = json_object_get (root, "vms");
    const char *agents = json_string_value (json_object_get (root, "agents"));
    self->real_agents = agents && strcmp (agents, "real") == 0;
    self->workers = (int) json_integer_value (json_object_get (root, "workers"));
    json_t *item;
    size_t index;
    if (s_size (self, (int) json_array_size (hosts), (int) json_array_size (vms))) {
        json_decref (root);
        return -1;
    }
    json_array_foreach (hosts, index, item) {
        s_agent_t *agent = &self->agents [index];
        const char *name = json_string_value (json_object_get (item, "name"));
        snprintf (agent->name, sizeof agent->name, "%s", name? name: "?");
        snprintf (agent->id, sizeof agent->id, "00000000-0000-0000-0000-%012d", (int) index + 1);
        agent->cpus = (uint32_t) json_integer_value (json_object_get (item, "cpus"));
        agent->memory_mib = (uint64_t) json_integer_value (json_object_get (item, "memory_mib"));
    }
    json_array_foreach (vms, index, item) {
        s_vm_t *vm = &self->vms [index];
        const char *name = json_string_value (json_object_get (item, "name"));
        snprintf (vm->name, sizeof vm->name, "%s", name? name: "?");
        snprintf (vm->uuid, sizeof vm->uuid, "aaaaaaaa-0000-0000-0000-%012d", (int) index + 1);
        vm->memory_mib = (uint64_t) json_integer_value (json_object_get (item, "memory_mib"));
        vm->vcpus = (uint32_t) json_integer_value (json_object_get (item, "vcpus"));
        vm->priority = (int32_t) json_integer_value (json_object_get (item, "priority"));
        if (!vm->vcpus)
            vm->vcpus = 1;
    }
    json_decref (root);
    return 0;
}

//  The operator creates a managed VM that should run (as `vm create --start` records it).
static int
s_create (sim_t *self, int vm)
{
    const s_vm_t *def = &self->vms [vm];
    spec_record_t record = { .want = VM_WANT_RUNNING, .vcpus = def->vcpus,
                             .memory_mib = def->memory_mib, .priority = def->priority,
                             .migratable = true, .generation = 1, .created_at = self->now,
                             .updated_at = self->now };
    snprintf (record.uuid, sizeof record.uuid, "%s", def->uuid);
    snprintf (record.name, sizeof record.name, "%s", def->name);
    const char *xml = "<domain type='kvm'/>";
    spec_t *spec = managed_add_spec (core_managed (self->core), &record, xml);
    if (!spec)
        return -1;
    mutation_t put = { .kind = MUTATION_SPEC_PUT, .at = self->now, .blob = strdup (xml) };
    put.u.spec = spec->record;
    mutations_push (&self->fx.mutations, &put);
    s_say (self, "operator: vm create %s --start", def->name);
    s_commit (self);
    return 0;
}

static int
s_want (sim_t *self, int vm, vm_want_t want)
{
    spec_t *spec = managed_spec_by_uuid (core_managed (self->core), self->vms [vm].uuid);
    if (!spec)
        return -1;
    spec->record.want = want;
    reconcile_put_spec (spec, false, self->now, &self->fx.mutations);
    s_say (self, "operator: vm %s %s", want == VM_WANT_RUNNING? "start": "stop",
           self->vms [vm].name);
    s_commit (self);
    return 0;
}

static int
s_migrate (sim_t *self, int vm, s_agent_t *target)
{
    spec_t *spec = managed_spec_by_uuid (core_managed (self->core), self->vms [vm].uuid);
    host_t *host = target? model_host_by_id (core_model (self->core), target->id): NULL;
    if (!spec)
        return -1;
    char err [512];
    s_say (self, "operator: vm migrate %s %s", self->vms [vm].name, target? target->name: "");
    if (reconcile_migrate (core_model (self->core), core_managed (self->core),
                           &core_config (self->core)->reconcile, spec, host, 0, self->now,
                           self->now, core_outbox (self->core), &self->fx.mutations, err,
                           sizeof err))
        s_say (self, "operator: refused: %s", err);
    core_flush (self->core, &self->fx);
    s_commit (self);
    s_flush_deliveries (self);
    return 0;
}

static int
s_maintenance (sim_t *self, s_agent_t *agent, bool on)
{
    host_t *host = model_host_by_id (core_model (self->core), agent->id);
    if (!host)
        return -1;
    host->record.maintenance = on;
    mutation_t put = { .kind = MUTATION_HOST_PUT, .at = self->now };
    put.u.host = host->record;
    mutations_push (&self->fx.mutations, &put);
    s_say (self, "operator: host maintenance %s %s", on? "enter": "leave", agent->name);
    s_commit (self);
    return 0;
}

//  The scheduler process dies and starts again on the same database.
static int
s_restart_scheduler (sim_t *self)
{
    s_say (self, "scheduler restarts");
    fx_clear (&self->fx);
    //  What agents sent to the dead process is lost; what it sent may still arrive.
    for (size_t i = 0; i < self->inbound.count; i++) {
        s_inbound_t *inbound = vec_at (&self->inbound, i);
        if (inbound->msg.kind == WIRE_REPORT || inbound->msg.kind == WIRE_HEARTBEAT)
            free (inbound->msg.body.report.domains);
    }
    vec_clear (&self->inbound);
    core_destroy (&self->core);
    store_destroy (&self->store);
    return s_open_core (self);
}

//  Where each VM runs by the agents' own lists, and what the scheduler says of it.
static void
s_summary (sim_t *self)
{
    for (int a = 0; a < self->agent_count; a++) {
        host_t *host = model_host_by_id (core_model (self->core), self->agents [a].id);
        if (host)
            s_say (self, "end: host '%s' %s, generation %" PRIu64, host->record.name,
                   host_state_name (host->record.state), host->record.generation);
    }
    for (int v = 0; v < self->vm_count; v++) {
        char where [512] = "";
        for (int a = 0; a < self->agent_count; a++)
            if (s_runs (&self->agents [a], self->vms [v].name))
                snprintf (where + strlen (where), sizeof where - strlen (where), " %s",
                          self->agents [a].name);
        spec_t *spec = managed_spec_by_uuid (core_managed (self->core), self->vms [v].uuid);
        s_say (self, "end: vm '%s' runs on:%s; scheduler: %s", self->vms [v].name,
               where [0]? where: " nothing", spec? spec->record.reason: "(not managed)");
    }
}

//  One script line: "TIME VERB ARGS...". 0, 1 (end), or -1.
static int
s_command (sim_t *self, char *line)
{
    char *words [SIM_VMS_MAX + 4];
    int count = 0;
    for (char *word = strtok (line, " \t\n"); word && count < SIM_VMS_MAX + 4;
         word = strtok (NULL, " \t\n"))
        words [count++] = word;
    if (count < 2)
        return -1;
    const char *verb = words [1];
    s_agent_t *agent = count > 2? s_agent (self, words [2]): NULL;
    int vm = count > 2? s_vm_index (self, words [2]): -1;
    if (strcmp (verb, "end") == 0) {
        s_summary (self);
        return 1;
    }
    if (strcmp (verb, "restart-scheduler") == 0)
        return s_restart_scheduler (self);
    if (strcmp (verb, "create") == 0 && vm >= 0)
        return s_create (self, vm);
    if (strcmp (verb, "start") == 0 && vm >= 0)
        return s_want (self, vm, VM_WANT_RUNNING);
    if (strcmp (verb, "stop") == 0 && vm >= 0)
        return s_want (self, vm, VM_WANT_STOPPED);
    if (strcmp (verb, "migrate") == 0 && vm >= 0)
        return s_migrate (self, vm, count > 3? s_agent (self, words [3]): NULL);
    if (!agent)
        return -1;
    if (self->real_agents && (!strcmp (verb, "hello") || !strcmp (verb, "restart-agent"))) {
        if (strcmp (verb, "restart-agent") == 0)
            s_say (self, "agent of host '%s' restarts", agent->name);
        s_real_start (self, agent);
        return 0;
    }
    if (strcmp (verb, "hang") == 0 && count > 3) {
        agent->hung = strcmp (words [3], "on") == 0;
        s_say (self, "hypervisor of host '%s' %s", agent->name,
               agent->hung? "hangs": "answers again");
        return 0;
    }
    if (strcmp (verb, "hello") == 0 || strcmp (verb, "restart-agent") == 0) {
        if (strcmp (verb, "restart-agent") == 0)
            s_say (self, "agent of host '%s' restarts", agent->name);
        agent->started = agent->talking = true;
        agent->session = ++self->next_session;
        agent->seq = 0;
        agent->generation = 0;
        agent->welcomed = false;
        s_hello (self, agent);
        s_flush_deliveries (self);
        return 0;
    }
    if (strcmp (verb, "hello-again") == 0) {          // a retry: same session, new seq
        s_hello (self, agent);
        s_flush_deliveries (self);
        return 0;
    }
    if (strcmp (verb, "silent") == 0 || strcmp (verb, "talk") == 0) {
        agent->talking = strcmp (verb, "talk") == 0;
        s_say (self, "host '%s' %s", agent->name, agent->talking? "talks again": "falls silent");
        return 0;
    }
    if (strcmp (verb, "manual") == 0 || strcmp (verb, "auto") == 0) {
        agent->automatic = strcmp (verb, "auto") == 0;
        agent->hung = self->real_agents && !agent->automatic;  // a real agent's hypervisor
        return 0;                                               // stops answering instead
    }
    if (strcmp (verb, "drop") == 0 && count > 3) {
        agent->drop_in = !strcmp (words [3], "in") || !strcmp (words [3], "both");
        agent->drop_out = !strcmp (words [3], "out") || !strcmp (words [3], "both");
        s_say (self, "link %s: %s", agent->name, words [3]);
        return 0;
    }
    if (strcmp (verb, "delay") == 0 && count > 3) {
        agent->delay_ms = atoll (words [3]);
        s_say (self, "link %s: messages delayed up to %" PRId64 " ms", agent->name,
               agent->delay_ms);
        return 0;
    }
    if (strcmp (verb, "duplicate") == 0 && count > 3) {
        agent->duplicate = strcmp (words [3], "on") == 0;
        s_say (self, "link %s: messages %s", agent->name,
               agent->duplicate? "arrive twice": "arrive once");
        return 0;
    }
    if (strcmp (verb, "runs") == 0) {
        agent->run_count = 0;
        for (int i = 3; i < count; i++)
            s_run_add (agent, words [i]);
        s_say (self, "host '%s' runs %d domains", agent->name, agent->run_count);
        return 0;
    }
    if (strcmp (verb, "report") == 0) {
        agent->report_due = true;
        return 0;
    }
    if (strcmp (verb, "result") == 0 && count > 4 && (vm = s_vm_index (self, words [3])) >= 0) {
        bool done = strcmp (words [4], "done") == 0;
        s_last_command_t *last = s_last (agent, vm);
        if (last)
            last->executed = true;
        if (done && last && last->action == COMMAND_START)
            s_start_on (self, agent, self->vms [vm].name);
        s_result (self, agent, vm, done? RESULT_DONE: RESULT_FAILED, done? "done": "failed");
        agent->report_due = true;
        s_flush_deliveries (self);
        return 0;
    }
    if (strcmp (verb, "maintenance") == 0 && count > 3)
        return s_maintenance (self, agent, strcmp (words [3], "on") == 0);
    return -1;
}

//  --------------------------------------------------------------------------
//  Seeded random schedules

//  xorshift64*: the schedule's only source of choices, so a seed replays exactly.
static uint64_t
s_random (uint64_t *state)
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * 2685821657736338717ULL;
}

static int
s_pick (uint64_t *state, int below)
{
    return (int) (s_random (state) % (uint64_t) below);
}

//  Runs one script line built from a format.
static int
s_do (sim_t *self, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

static int
s_do (sim_t *self, const char *fmt, ...)
{
    char line [256];
    va_list args;
    va_start (args, fmt);
    vsnprintf (line, sizeof line, fmt, args);
    va_end (args);
    double at = strtod (line, NULL);
    while (self->now + SIM_TICK_MS <= (int64_t) (at * 1000))
        s_step (self);
    fprintf (self->out, "%9.3f script %s\n", (double) self->now / 1000, line);
    return s_command (self, line) < 0? -1: 0;
}

int
sim_run_random (sim_t *self, uint64_t seed, int64_t fault_ms, int64_t quiet_ms,
                bool real_agents)
{
    uint64_t state = seed * 0x9E3779B97F4A7C15ULL + 1;
    //  Shorter operation deadlines than a real cluster's, so a schedule settles quickly.
    self->config.reconcile.op_deadline_ms = 20000;
    self->config.reconcile.migration_timeout_ms = 10000;
    core_destroy (&self->core);
    self->core = core_new (&self->config);
    if (!self->core || loader_load (self->core, self->store, self->now))
        return -1;
    int hosts = 3 + s_pick (&state, 3), vms = 3 + s_pick (&state, 6);
    if (s_size (self, hosts, vms))
        return -1;
    self->real_agents = real_agents;
    for (int i = 0; i < self->agent_count; i++) {
        s_agent_t *agent = &self->agents [i];
        snprintf (agent->name, sizeof agent->name, "h%d", i + 1);
        snprintf (agent->id, sizeof agent->id, "00000000-0000-0000-0000-%012d", i + 1);
        agent->cpus = 16;
        agent->memory_mib = 16384;
    }
    for (int i = 0; i < self->vm_count; i++) {
        s_vm_t *vm = &self->vms [i];
        snprintf (vm->name, sizeof vm->name, "vm%d", i + 1);
        snprintf (vm->uuid, sizeof vm->uuid, "aaaaaaaa-0000-0000-0000-%012d", i + 1);
        vm->memory_mib = 256u << s_pick (&state, 3);
        vm->vcpus = 1;
        vm->priority = s_pick (&state, 3);
    }
    int rc = 0;
    for (int i = 0; i < self->agent_count && !rc; i++)
        rc = s_do (self, "0.0 hello %s", self->agents [i].name);
    //  Faults until fault_ms; the VMs are created among them, so starts meet faults.
    int64_t at = 500;
    int created = 0;
    while (!rc && at < fault_ms) {
        at += 200 + s_pick (&state, 3000);
        const char *host = self->agents [s_pick (&state, self->agent_count)].name;
        const char *other = self->agents [s_pick (&state, self->agent_count)].name;
        const char *vm = self->vms [s_pick (&state, created? created: 1)].name;
        double t = (double) at / 1000;
        if (created < self->vm_count && (created == 0 || s_pick (&state, 3) == 0)) {
            rc = s_do (self, "%.1f create %s", t, self->vms [created++].name);
            continue;
        }
        switch (s_pick (&state, 16)) {
            case 0: case 1: rc = s_do (self, "%.1f silent %s", t, host); break;
            case 2: case 3: rc = s_do (self, "%.1f talk %s", t, host); break;
            case 4: case 12: case 13: rc = s_do (self, "%.1f drop %s %s", t, host,
                                (const char *[]) { "in", "out", "both", "none" }
                                [s_pick (&state, 4)]); break;
            case 5: rc = s_do (self, "%.1f restart-agent %s", t, host); break;
            case 6: rc = s_do (self, "%.1f restart-scheduler", t); break;
            case 7: rc = s_do (self, "%.1f migrate %s %s", t, vm, other); break;
            case 8: rc = s_do (self, "%.1f stop %s", t, vm); break;
            case 9: rc = s_do (self, "%.1f start %s", t, vm); break;
            case 10: rc = s_do (self, "%.1f manual %s", t, host); break;
            case 14: rc = s_do (self, "%.1f delay %s %d", t, host,
                                (int []) { 0, 300, 1500, 4000 } [s_pick (&state, 4)]); break;
            case 15: rc = s_do (self, "%.1f duplicate %s %s", t, host,
                                s_pick (&state, 2)? "on": "off"); break;
            default: rc = s_do (self, "%.1f auto %s", t, host); break;
        }
    }
    //  Faults stop: every agent talks, every link heals, every agent is healthy; every VM
    //  should run.
    double t = (double) at / 1000 + 0.1;
    for (int i = 0; i < self->agent_count && !rc; i++) {
        rc = s_do (self, "%.1f drop %s none", t, self->agents [i].name);
        if (!rc)
            rc = s_do (self, "%.1f delay %s 0", t, self->agents [i].name);
        if (!rc)
            rc = s_do (self, "%.1f duplicate %s off", t, self->agents [i].name);
        if (!rc)
            rc = s_do (self, "%.1f auto %s", t, self->agents [i].name);
        if (!rc && !self->agents [i].started)
            rc = s_do (self, "%.1f hello %s", t, self->agents [i].name);
        if (!rc && !self->agents [i].talking)
            rc = s_do (self, "%.1f talk %s", t, self->agents [i].name);
    }
    for (int i = created; i < self->vm_count && !rc; i++)
        rc = s_do (self, "%.1f create %s", t, self->vms [i].name);
    for (int i = 0; i < created && !rc; i++)
        rc = s_do (self, "%.1f start %s", t, self->vms [i].name);
    if (rc)
        return -1;
    while (self->now < at + quiet_ms)
        s_step (self);
    //  S2: every VM runs, once, by the agents' own lists.
    for (int v = 0; v < self->vm_count; v++) {
        int copies = 0;
        for (int a = 0; a < self->agent_count; a++)
            copies += s_runs (&self->agents [a], self->vms [v].name);
        spec_t *spec = managed_spec_by_uuid (core_managed (self->core), self->vms [v].uuid);
        if (copies != 1)
            s_violation (self, "S2: %.1f s after the faults stopped, vm '%s' runs on %d hosts "
                         "(scheduler: %s)", (double) quiet_ms / 1000, self->vms [v].name,
                         copies, spec? spec->record.reason: "not managed");
    }
    s_summary (self);
    return 0;
}

int
sim_run_scale (sim_t *self, int hosts, int per_host, int64_t duration_ms, bool real_agents)
{
    if (s_size (self, hosts, hosts * per_host))
        return -1;
    self->real_agents = real_agents;
    self->check_memory = false;             // a full reload per commit: not at this size
    for (int i = 0; i < hosts; i++) {
        s_agent_t *agent = &self->agents [i];
        snprintf (agent->name, sizeof agent->name, "h%d", i + 1);
        snprintf (agent->id, sizeof agent->id, "00000000-0000-0000-0000-%012d", i + 1);
        agent->cpus = 64;
        agent->memory_mib = 262144;
    }
    for (int i = 0; i < self->vm_count; i++) {
        s_vm_t *vm = &self->vms [i];
        snprintf (vm->name, sizeof vm->name, "vm%d", i + 1);
        snprintf (vm->uuid, sizeof vm->uuid, "aaaaaaaa-0000-0000-0000-%012d", i + 1);
        vm->memory_mib = 1024;
        vm->vcpus = 1;
    }
    int rc = 0;
    for (int i = 0; i < hosts && !rc; i++)
        rc = s_do (self, "0.0 hello %s", self->agents [i].name);
    for (int i = 0; i < self->vm_count && !rc; i++)
        rc = s_create (self, i);
    while (!rc && self->now < duration_ms)
        s_step (self);
    for (int v = 0; v < self->vm_count && !rc; v++) {
        int copies = 0;
        for (int a = 0; a < self->agent_count; a++)
            copies += s_runs (&self->agents [a], self->vms [v].name);
        if (copies != 1)
            s_violation (self, "S2: vm '%s' runs on %d hosts", self->vms [v].name, copies);
    }
    return rc;
}

int
sim_run_scenario (sim_t *self, const char *cluster_path, const char *script_path)
{
    if (s_load_cluster (self, cluster_path))
        return -1;
    FILE *script = fopen (script_path, "r");
    if (!script) {
        fprintf (stderr, "sim: cannot open '%s'\n", script_path);
        return -1;
    }
    char line [2048];
    int number = 0, rc = 0;
    while (rc == 0 && fgets (line, sizeof line, script)) {
        number++;
        char *start = line + strspn (line, " \t");
        if (*start == '#' || *start == '\n' || *start == 0)
            continue;
        char copy [2048];
        snprintf (copy, sizeof copy, "%s", start);
        double at = strtod (start, NULL);
        int64_t due = (int64_t) (at * 1000);
        while (self->now + SIM_TICK_MS <= due)
            s_step (self);
        rc = s_command (self, start);
        if (rc < 0)
            fprintf (stderr, "sim: %s:%d: cannot do '%s'\n", script_path, number,
                     strtok (copy, "\n"));
    }
    fclose (script);
    return rc < 0? -1: 0;
}
