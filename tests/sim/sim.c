/*  sim.c - the scheduler's real core on a virtual clock, driven by scripted agents (sim.h).

    Each step of 100 virtual ms: script lines that are due run; agents that talk send their
    heartbeat (every 500 ms) and any report that is due; the core ticks; after every entry
    point the effects are committed to the real store and only then delivered to the
    agents, which may answer at once (a queue, not recursion). Scripted agents in `auto`
    mode carry out START, STOP and MIGRATE against their own list of running domains; that
    list is the truth S1 is counted from: a START executed while another agent runs the VM
    is a second copy, and is reported as a violation.
*/
#include "sim_world.h"
#include "loader.h"
#include "log.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>


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

void
sim_say (sim_t *self, const char *fmt, ...)
{
    char text [1024];
    va_list args;
    va_start (args, fmt);
    vsnprintf (text, sizeof text, fmt, args);
    va_end (args);
    fprintf (self->out, "%9.3f sim   %s\n", (double) self->now / 1000, text);
}

void
sim_violation (sim_t *self, const char *fmt, ...)
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

s_agent_t *
sim_agent (sim_t *self, const char *name)
{
    for (int i = 0; i < self->agent_count; i++)
        if (strcmp (self->agents [i].name, name) == 0)
            return &self->agents [i];
    return NULL;
}

int
sim_vm_index (sim_t *self, const char *name_or_uuid)
{
    for (int i = 0; i < self->vm_count; i++)
        if (strcmp (self->vms [i].name, name_or_uuid) == 0
        ||  strcmp (self->vms [i].uuid, name_or_uuid) == 0)
            return i;
    return -1;
}

bool
sim_runs (const s_agent_t *agent, const char *vm)
{
    for (int i = 0; i < agent->run_count; i++)
        if (strcmp (agent->runs [i], vm) == 0)
            return true;
    return false;
}

static void
s_run_add (s_agent_t *agent, const char *vm)
{
    if (!sim_runs (agent, vm) && agent->run_count < SIM_VMS_MAX)
        snprintf (agent->runs [agent->run_count++], WIRE_NAME_SIZE, "%s", vm);
}

void
sim_run_remove (s_agent_t *agent, const char *vm)
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
int
sim_size (sim_t *self, int hosts, int vms)
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
        self->agents [i].watchdog = true;
        self->agents [i].disk_blocks = VEC_OF (s_disk_block_t);
    }
    for (int i = 0; i < vms; i++)
        self->vms [i].ok_at = INT64_MIN;
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
        sim_violation (self, "cannot load the database to compare it with memory");
        core_destroy (&fresh);
        return;
    }
    char *live = s_dump (self->core), *stored = s_dump (fresh);
    if (!live || !stored || strcmp (live, stored))
        sim_violation (self, "memory differs from the database:\n%s-- database:\n%s",
                     live? live: "?", stored? stored: "?");
    free (live);
    free (stored);
    core_destroy (&fresh);
}

//  The links' deterministic randomness (xorshift64*).
int64_t
sim_link_delay (sim_t *self, int64_t max_ms)
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
    s_agent_t *to = &self->agents [agent];
    if (self->real_agents && sim_scheduler_lost (self, to, true))
        return;
    for (int copy = 0; copy < (to->duplicate? 2: 1); copy++) {
        s_delivery_t delivery = { agent, *msg, self->now + sim_link_delay (self, to->delay_ms) };
        if (delivery.msg.kind == WIRE_COMMAND && delivery.msg.body.command.domain_xml)
            delivery.msg.body.command.domain_xml =
                strdup (delivery.msg.body.command.domain_xml);
        if (!vec_push (&self->deliveries, &delivery) && delivery.msg.kind == WIRE_COMMAND)
            free (delivery.msg.body.command.domain_xml);
    }
}

void
sim_commit (sim_t *self)
{
    //  Timeline entries are not in the dump: a commit of nothing else needs no comparison.
    bool wrote = false;
    for (size_t i = 0; i < self->fx.mutations.count && !wrote; i++)
        wrote = ((const mutation_t *) vec_at (&self->fx.mutations, i))->kind
              != MUTATION_HOST_EVENT;
    if (!self->core) {
        fx_clear (&self->fx);
        return;
    }
    if (loader_commit (self->core, self->store, &self->fx, &self->mutation_seq, self->now) == 0) {
        for (size_t i = 0; i < self->fx.sends.count; i++) {
            const fx_send_t *send = vec_at (&self->fx.sends, i);
            int agent = (int) send->peer - 1;
            if (agent < 0 || agent >= self->agent_count)
                continue;
            s_queue_delivery (self, agent, &send->msg);
        }
        sim_fence_requests (self);
    }
    fx_clear (&self->fx);
    if (wrote && self->check_memory)
        s_check_memory (self);
}

//  --------------------------------------------------------------------------
//  Agents -> scheduler

static const principal_record_t *
s_key (const s_agent_t *agent, bool real)
{
    static principal_record_t principal;
    principal = (principal_record_t) { .kind = PRINCIPAL_HOST };
    snprintf (principal.name, sizeof principal.name, "%s", agent->name);
    //  Real agents: a fake CURVE key of 40 Z85 characters, one per host (witness sets).
    if (real)
        snprintf (principal.key, sizeof principal.key, "simHostKey%030d",
                  atoi (agent->id + 24));   // the host id ends in its index + 1
    return &principal;
}

//  The scheduler receives msg from agent now.
static void
s_arrive (sim_t *self, s_agent_t *agent, const wire_msg_t *msg)
{
    if (!self->core || sim_scheduler_lost (self, agent, false))
        return;                             // no scheduler listens, or the link is cut
    core_on_agent (self->core, (uint64_t) (agent - self->agents) + 1, s_key (agent, self->real_agents), msg,
                   self->now, self->now, &self->fx);
    sim_commit (self);
}

//  A stamped message from agent onto its link: lost, delayed (a copy waits), duplicated, or
//  there at once.
static void
s_to_scheduler (sim_t *self, s_agent_t *agent, const wire_msg_t *msg)
{
    if (agent->drop_out) {
        if (msg->kind != WIRE_HEARTBEAT)
            sim_say (self, "%s -> scheduler: %s lost", agent->name, wire_kind_name (msg->kind));
        return;
    }
    if (!self->core || (self->real_agents && sim_scheduler_lost (self, agent, true)))
        return;
    if (!agent->delay_ms && !agent->duplicate) {
        s_arrive (self, agent, msg);
        return;
    }
    for (int copy = 0; copy < (agent->duplicate? 2: 1); copy++) {
        s_inbound_t inbound = { (int) (agent - self->agents), *msg,
                                self->now + sim_link_delay (self, agent->delay_ms) };
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
    const s_vm_t *v = &self->vms [vm];
    if (v->usage_set) {
        double ms = (double) (self->now - v->usage_at);
        domain->has_cpu_time = domain->has_vcpu_delay = domain->has_rss = true;
        domain->cpu_time_ns = v->cpu_ns + (uint64_t) (v->cores * ms * 1e6);
        domain->vcpu_delay_ns = v->delay_ns + (uint64_t) (v->wait * ms * 1e6);
        domain->rss_kib = v->rss_kib;
    }
}

//  `usage VM CORES [WAIT [RSS_MIB]]`: from now on the VM's counters grow by CORES and WAIT.
static void
s_set_usage (sim_t *self, int vm, char **words, int count)
{
    s_vm_t *v = &self->vms [vm];
    double ms = v->usage_set? (double) (self->now - v->usage_at): 0;
    v->cpu_ns += (uint64_t) (v->cores * ms * 1e6);
    v->delay_ns += (uint64_t) (v->wait * ms * 1e6);
    v->cores = atof (words [3]);
    v->wait = count > 4? atof (words [4]): 0;
    v->rss_kib = count > 5? (uint64_t) atoll (words [5]) * 1024: v->memory_mib * 1024;
    v->usage_at = self->now;
    v->usage_set = true;
    sim_say (self, "vm '%s' uses %.2f cores, %.2f vCPUs waiting", v->name, v->cores, v->wait);
}

//  `load VM`: the scheduler's smoothed load of the VM and of its host (core/load.h).
static void
s_say_load (sim_t *self, int vm)
{
    model_t *model = core_model (self->core);
    spec_t *spec = managed_spec_by_uuid (core_managed (self->core), self->vms [vm].uuid);
    vm_t *copy = model_vm_placed (model, self->vms [vm].uuid, spec? spec->record.host_id: "");
    host_t *host = copy? model_host_by_id (model, copy->record.host_id): NULL;
    load_figures_t vm_load = { 0 }, host_load = { 0 };
    if (copy)
        model_vm_load (copy, &vm_load);
    if (host)
        model_host_load (model, host, &host_load);
    if (!vm_load.has_cpu || !host) {
        sim_say (self, "load of vm '%s': not measured", self->vms [vm].name);
        return;
    }
    sim_say (self, "load of vm '%s': %.3f cores (%.1f %% of its vCPUs), contention %.1f %%; "
             "host '%s': %.1f %% of %u cpus", self->vms [vm].name, vm_load.cpu_load,
             100 * vm_load.cpu_util, 100 * vm_load.contention, host->record.name,
             100 * host_load.cpu_util, host->record.capacity.cpus);
}

//  What agent's hypervisor runs, into domains (room for run_count); returns how many.
static uint32_t
s_list_domains (sim_t *self, const s_agent_t *agent, wire_domain_t *domains)
{
    uint32_t count = 0;
    for (int i = 0; i < agent->run_count; i++) {
        int vm = sim_vm_index (self, agent->runs [i]);
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
        sim_say (self, "%s has no command for vm '%s' to answer", agent->name,
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
        if (&self->agents [i] != agent && sim_runs (&self->agents [i], vm)) {
            sim_violation (self, "S1: vm '%s' started on host '%s' while host '%s' runs it",
                         vm, agent->name, self->agents [i].name);
            if (sim_vm_index (self, vm) >= 0)
                self->vms [sim_vm_index (self, vm)].s1_reported = true;
        }
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
            sim_run_remove (agent, name);
            s_result (self, agent, vm, RESULT_DONE, "stopped");
            break;
        case COMMAND_MIGRATE: {
            s_agent_t *target = sim_agent (self, command->target_host);
            if (!target || !target->talking) {
                s_result (self, agent, vm, RESULT_FAILED, "cannot reach the target host");
                break;
            }
            sim_run_remove (agent, name);
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

static void
s_deliver (sim_t *self, s_agent_t *agent, const wire_msg_t *msg)
{
    if (agent->drop_in || !agent->talking) {
        if (msg->kind != WIRE_WELCOME || agent->talking)
            sim_say (self, "scheduler -> %s: %s lost", agent->name, wire_kind_name (msg->kind));
        return;
    }
    if (self->real_agents) {
        if (!sim_agent_alive (agent) || sim_scheduler_lost (self, agent, false))
            return;                         // nobody listens, or the link is cut
        if (msg->kind == WIRE_COMMAND) {
            int vm = sim_vm_index (self, msg->body.command.vm_uuid);
            sim_say (self, "%s <- %s vm '%s'%s%s (command %" PRIu64 ")", agent->name,
                   command_action_name (msg->body.command.action),
                   vm >= 0? self->vms [vm].name: msg->body.command.vm_uuid,
                   msg->body.command.target_host [0]? " to ": "",
                   msg->body.command.target_host, msg->body.command.id);
        }
        agent_core_on_message (agent->core, msg, self->now, agent->fx);
        sim_real_flush (self, agent, -1);
        return;
    }
    switch (msg->kind) {
        case WIRE_WELCOME:
            if (msg->body.welcome.hello_seq != agent->hello_seq)
                break;                      // answers an older HELLO: as the agent, ignore it
            if (msg->body.welcome.generation != agent->generation)
                sim_say (self, "%s: welcomed with generation %" PRIu64, agent->name,
                       msg->body.welcome.generation);
            agent->generation = msg->body.welcome.generation;
            agent->welcomed = true;
            agent->report_due = true;
            break;
        case WIRE_REJECT:
            sim_say (self, "%s: rejected: %s", agent->name, msg->body.reject.reason);
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
            int vm = sim_vm_index (self, command->vm_uuid);
            if (vm < 0)
                break;
            s_last_command_t *last = s_last (agent, vm);
            if (!last)
                break;
            bool repeat = last->id == command->id;
            bool executed = repeat && last->executed;
            *last = (s_last_command_t) { command->id, command->action, "", executed };
            snprintf (last->target, sizeof last->target, "%s", command->target_host);
            sim_say (self, "%s <- %s%s vm '%s'%s%s (command %" PRIu64 ")%s", agent->name,
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
        if (queued->due > self->now || self->agents [queued->agent].frozen) {
            i++;                            // a frozen host takes it when it thaws
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
//  hypervisor (queued until they are due), messages to peers (replies to reply_to, the
//  agent whose message the call handled); then saves what the agent keeps on disk.
void
sim_real_flush (sim_t *self, s_agent_t *agent, int reply_to)
{
    agent_fx_t *fx = agent->fx;
    for (size_t i = 0; i < fx->job_count; i++) {
        const hv_job_t *job = &fx->jobs [i];
        if (job->kind == HV_JOB_COMMAND
        &&  job->command.host_generation != agent_core_generation (agent->core))
            sim_violation (self, "host '%s' began command %" PRIu64 " of generation %" PRIu64
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
    int from = (int) (agent - self->agents);
    for (size_t i = 0; i < fx->peer_msg_count; i++) {
        const agent_peer_msg_t *peer = &fx->peer_msgs [i];
        int to = peer->reply? reply_to: -1;
        for (int a = 0; a < self->agent_count && !peer->reply && to < 0; a++)
            if (strcmp (self->agents [a].id, peer->peer) == 0)
                to = a;
        if (to >= 0 && to != from)
            sim_peer_send (self, from, to, &peer->msg);
    }
    agent_fx_clear (fx);
    sim_disk_save (self, agent);
    s_flush_deliveries (self);
    sim_peer_flush (self);
}

//  The agent process starts (again): a new core, a new session; its domains keep running.
//  It loads its witness blocks from disk, and the lease its predecessor of this boot left.
void
sim_real_start (sim_t *self, s_agent_t *agent)
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
    if (agent->boot)
        snprintf (config.boot_id, sizeof config.boot_id, "boot-%.20s-%" PRIu32, agent->name,
                  agent->boot);
    else
        snprintf (config.boot_id, sizeof config.boot_id, "boot-%.24s", agent->name);
    snprintf (config.hypervisor_uri, sizeof config.hypervisor_uri, "test:///sim");
    snprintf (config.migration_uri, sizeof config.migration_uri, "qemu+tcp://%.32s/system",
              agent->name);
    snprintf (config.agent_version, sizeof config.agent_version, "sim");
    snprintf (config.witness_endpoint, sizeof config.witness_endpoint, "sim://%.64s",
              agent->name);
    if (agent->watchdog)
        snprintf (config.watchdog, sizeof config.watchdog, "file /sim/%.64s", agent->name);
    else
        snprintf (config.watchdog, sizeof config.watchdog, "none");
    config.restored_lease_until = agent->disk_boot == agent->boot? agent->disk_until: 0;
    agent->core = agent_core_new (&config);
    if (!agent->fx)
        agent->fx = agent_fx_new ();
    agent->started = agent->talking = true;
    agent->agent_dead = false;
    agent->latched = false;                 // a new fencer thread, with the restored lease
    if (agent->core) {
        (void) sim_disk_restore (self, agent);
        sim_fencer_start (self, agent);     // its first poll comes before any registration
    }
    if (agent->core && agent->fx) {
        agent_core_tick (agent->core, self->now, agent->fx);
        sim_real_flush (self, agent, -1);
    }
}

//  A lifecycle note from agent's hypervisor (as libvirt's event callback would post it).
void
sim_real_note (sim_t *self, s_agent_t *agent, int vm, event_kind_t event)
{
    if (!sim_agent_alive (agent) || !agent->talking)
        return;
    hv_note_t note = { .kind = HV_NOTE_EVENT, .event = event };
    snprintf (note.uuid, sizeof note.uuid, "%s", self->vms [vm].uuid);
    snprintf (note.name, sizeof note.name, "%s", self->vms [vm].name);
    agent_core_on_note (agent->core, &note, self->now, agent->fx);
    sim_real_flush (self, agent, -1);
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
    int vm = sim_vm_index (self, command->vm_uuid);
    bool injected = false;
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
            int index = sim_vm_index (self, job->note.uuid);
            done.rc = index >= 0 && sim_runs (agent, self->vms [index].name);
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
                                sim_agent (self, command->target_host): NULL;
            if (vm < 0)
                done.result.status = RESULT_FAILED;
            else
            if (command->action == COMMAND_START && agent->fail_starts [vm] > 0) {
                agent->fail_starts [vm]--;
                injected = true;
                self->vms [vm].ok_at = self->now;   // S2: an injected failure excuses it
                done.result.status = RESULT_FAILED;
                sim_say (self, "%s: hypervisor fails the start of vm '%s' (%d more to fail)",
                         agent->name, name, agent->fail_starts [vm]);
            }
            else
            if (command->action == COMMAND_START) {
                if (!sim_runs (agent, name))
                    s_start_on (self, agent, name);
            }
            else
            if (command->action == COMMAND_STOP)
                sim_run_remove (agent, name);
            else
            if (command->action == COMMAND_MIGRATE && target && target->talking
            &&  !target->hung && !target->drop_in && sim_runs (agent, name)
            &&  !target->off && !target->frozen
            &&  !sim_peer_lost (self, (int) (agent - self->agents),
                                (int) (target - self->agents), false)) {
                sim_run_remove (agent, name);
                s_start_on (self, target, name);
                sim_real_note (self, target, vm, EVENT_STARTED);
            }
            else
                done.result.status = RESULT_FAILED;
            snprintf (done.result.message, sizeof done.result.message, "%s",
                      done.result.status == RESULT_DONE? "done": injected?
                      "qemu exited at start (injected)": "failed in the sim");
            break;
        }
        default:
            break;                          // ABORT, PROGRESS: nothing running to act on
    }
    agent_core_on_done (agent->core, &done, self->now, agent->fx);
    hv_done_reset (&done);
    hv_job_reset (job);
    sim_real_flush (self, agent, -1);
}

//  A step of a real agent: finished jobs, then what its core has due.
static void
s_real_step (sim_t *self, s_agent_t *agent)
{
    if (!sim_agent_alive (agent) || !agent->talking || agent->frozen)
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
    sim_real_flush (self, agent, -1);
}

//  --------------------------------------------------------------------------
//  Time

void
sim_step (sim_t *self)
{
    self->now += SIM_TICK_MS;
    s_flush_inbound (self);
    s_flush_deliveries (self);
    sim_peer_flush (self);
    for (int i = 0; i < self->agent_count; i++) {
        s_agent_t *agent = &self->agents [i];
        if (!agent->started || !agent->talking)
            continue;
        if (self->real_agents) {
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
    if (self->core) {
        core_tick (self->core, self->now, self->now, &self->fx);
        sim_commit (self);
        s_flush_deliveries (self);
    }
    if (self->real_agents)
        sim_ha_step (self);
}

//  --------------------------------------------------------------------------
//  Life cycle

int
sim_open_core (sim_t *self)
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
    self->scheduler_run++;
    self->scheduler_down = false;
    self->clean_since = self->now;          // S2: a new leader waits D before any verdict
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
    self->peer_deliveries = VEC_OF (s_peer_delivery_t);
    self->peer_batch = VEC_OF (s_peer_delivery_t);
    self->fencings = VEC_OF (s_fencing_t);
    self->rules = VEC_OF (rule_record_t);
    self->fence_delay_ms = SIM_FENCE_DELAY_MS;
    self->boot_ms = SIM_BOOT_MS;
    self->clean_since = 0;
    self->check_s2 = true;
    for (int i = 0; i < SIM_HOSTS_MAX; i++)
        self->fence_list [i] = self->fence_names [i];
    self->config.fence_hosts = self->fence_list;
    self->config.fence_host_count = 0;
    self->link_random = 0x2545F4914F6CDD1DULL;
    log_set_sink (s_sink, self);
    if (sim_open_core (self))
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
        sim_ha_free (agent);
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
    vec_free (&self->peer_deliveries);
    vec_free (&self->peer_batch);
    vec_free (&self->fencings);
    vec_free (&self->rules);
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

//  cluster.json's optional "ha" object: a profile ("default" unless named), any of its
//  timings overridden, witnesses, allow_unfenced_hosts, max_restart, max_relocate; and
//  the world's own fence_delay_ms and boot_ms. Checked as the daemon checks [ha].
static int
s_load_ha (sim_t *self, json_t *root, const char *path)
{
    json_t *ha = json_object_get (root, "ha");
    if (json_integer_value (json_object_get (root, "fence_delay_ms")))
        self->fence_delay_ms = json_integer_value (json_object_get (root, "fence_delay_ms"));
    if (json_integer_value (json_object_get (root, "boot_ms")))
        self->boot_ms = json_integer_value (json_object_get (root, "boot_ms"));
    if (json_integer_value (json_object_get (root, "op_deadline_ms")))
        self->config.reconcile.op_deadline_ms =
            json_integer_value (json_object_get (root, "op_deadline_ms"));
    if (json_integer_value (json_object_get (root, "migration_timeout_ms")))
        self->config.reconcile.migration_timeout_ms = (uint32_t)
            json_integer_value (json_object_get (root, "migration_timeout_ms"));
    if (!ha)
        return 0;
    const char *profile = json_string_value (json_object_get (ha, "profile"));
    self->config.ha.allow_unfenced_hosts = json_is_true (json_object_get (ha,
                                                         "allow_unfenced_hosts"));
    if (ha_config_profile (&self->config.ha, profile? profile: "default")) {
        fprintf (stderr, "sim: %s: unknown ha profile '%s'\n", path, profile);
        return -1;
    }
    struct { const char *key; int64_t *field; } timings [] = {
        { "renew_ms", &self->config.ha.renew_ms }, { "lease_ms", &self->config.ha.lease_ms },
        { "fence_ms", &self->config.ha.fence_ms },
        { "watchdog_ms", &self->config.ha.watchdog_ms },
        { "margin_ms", &self->config.ha.margin_ms },
        { "dead_after_ms", &self->config.ha.dead_after_ms } };
    for (size_t i = 0; i < sizeof timings / sizeof timings [0]; i++)
        if (json_integer_value (json_object_get (ha, timings [i].key)))
            *timings [i].field = json_integer_value (json_object_get (ha, timings [i].key));
    if (json_integer_value (json_object_get (ha, "witnesses")))
        self->config.ha.witnesses = (uint32_t) json_integer_value (json_object_get (ha,
                                                                             "witnesses"));
    json_t *value = json_object_get (ha, "max_restart");
    if (json_is_integer (value))
        self->config.reconcile.max_restart = (uint32_t) json_integer_value (value);
    value = json_object_get (ha, "max_relocate");
    if (json_is_integer (value))
        self->config.reconcile.max_relocate = (uint32_t) json_integer_value (value);
    self->config.ha.suspect_after_ms = self->config.timing.suspect_after_ms;
    char err [512];
    if (ha_config_check (&self->config.ha, self->config.timing.down_after_ms, err,
                         sizeof err)) {
        fprintf (stderr, "sim: %s: %s\n", path, err);
        return -1;
    }
    return 0;
}

//  The scheduler core again with the configuration as cluster.json left it (fence hosts,
//  [ha], the rules); the store is the same.
static int
s_apply_config (sim_t *self)
{
    self->config.reconcile.policy.allow_unprotected = self->config.ha.allow_unfenced_hosts;
    core_destroy (&self->core);
    self->core = core_new (&self->config);
    if (!self->core || loader_load (self->core, self->store, self->now))
        return -1;
    for (size_t i = 0; i < self->rules.count; i++) {
        const rule_record_t *rule = vec_at (&self->rules, i);
        if (!managed_add_rule (core_managed (self->core), rule))
            return -1;
        mutation_t put = { .kind = MUTATION_RULE_PUT, .at = self->now };
        put.u.rule = *rule;
        mutations_push (&self->fx.mutations, &put);
        sim_say (self, "operator: rule add %s %s%s (%" PRIu32 " vms)", rule->name,
                 rule->hard? "": "soft ", rule_kind_name (rule->kind), rule->vm_count);
    }
    sim_commit (self);
    return 0;
}

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
    if (sim_size (self, (int) json_array_size (hosts), (int) json_array_size (vms))) {
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
        json_t *watchdog = json_object_get (item, "watchdog"), *fence;
        agent->watchdog = !watchdog || json_is_true (watchdog);
        fence = json_object_get (item, "fence");
        agent->fence = json_is_true (fence)? 1: json_is_string (fence)
                     && strcmp (json_string_value (fence), "fail") == 0? -1: 0;
        if (agent->fence && self->config.fence_host_count < SIM_HOSTS_MAX)
            snprintf (self->fence_names [self->config.fence_host_count++], WIRE_NAME_SIZE,
                      "%s", agent->name);
    }
    json_array_foreach (vms, index, item) {
        s_vm_t *vm = &self->vms [index];
        const char *name = json_string_value (json_object_get (item, "name"));
        snprintf (vm->name, sizeof vm->name, "%s", name? name: "?");
        snprintf (vm->uuid, sizeof vm->uuid, "aaaaaaaa-0000-0000-0000-%012d", (int) index + 1);
        vm->memory_mib = (uint64_t) json_integer_value (json_object_get (item, "memory_mib"));
        vm->vcpus = (uint32_t) json_integer_value (json_object_get (item, "vcpus"));
        vm->priority = (int32_t) json_integer_value (json_object_get (item, "priority"));
        vm->ha = json_is_true (json_object_get (item, "ha"));
        if (!vm->vcpus)
            vm->vcpus = 1;
    }
    int rc = s_load_ha (self, root, path);
    json_array_foreach (json_object_get (root, "rules"), index, item) {
        if (rc)
            break;
        rule_record_t rule = { .hard = true, .created_at = self->now };
        const char *name = json_string_value (json_object_get (item, "name"));
        const char *kind = json_string_value (json_object_get (item, "kind"));
        json_t *hard = json_object_get (item, "hard"), *member;
        snprintf (rule.name, sizeof rule.name, "%s", name? name: "?");
        rule.kind = kind && strcmp (kind, "affinity") == 0? RULE_AFFINITY: RULE_ANTI_AFFINITY;
        rule.hard = !hard || json_is_true (hard);
        size_t m;
        json_array_foreach (json_object_get (item, "vms"), m, member)
            if (rule.vm_count < RULE_MAX_MEMBERS)
                snprintf (rule.vms [rule.vm_count++], WIRE_NAME_SIZE, "%s",
                          json_string_value (member)? json_string_value (member): "?");
        if (!vec_push (&self->rules, &rule))
            rc = -1;
    }
    json_decref (root);
    return rc? rc: s_apply_config (self);
}

//  The operator creates a managed VM that should run (as `vm create --start` records it).
int
sim_create (sim_t *self, int vm)
{
    const s_vm_t *def = &self->vms [vm];
    spec_record_t record = { .want = VM_WANT_RUNNING, .vcpus = def->vcpus, .ha = def->ha,
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
    sim_say (self, "operator: vm create %s --start%s", def->name, def->ha? " --ha": "");
    sim_commit (self);
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
    sim_say (self, "operator: vm %s %s", want == VM_WANT_RUNNING? "start": "stop",
           self->vms [vm].name);
    sim_commit (self);
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
    sim_say (self, "operator: vm migrate %s %s", self->vms [vm].name, target? target->name: "");
    if (reconcile_migrate (core_model (self->core), core_managed (self->core),
                           &core_config (self->core)->reconcile, spec, host, 0, self->now,
                           self->now, core_outbox (self->core), &self->fx.mutations, err,
                           sizeof err))
        sim_say (self, "operator: refused: %s", err);
    core_flush (self->core, &self->fx);
    sim_commit (self);
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
    sim_say (self, "operator: host maintenance %s %s", on? "enter": "leave", agent->name);
    sim_commit (self);
    return 0;
}

//  The scheduler process dies (and with start, starts again on the same database).
static int
s_restart_scheduler (sim_t *self, bool start)
{
    if (start && !self->core)
        sim_say (self, "scheduler starts");
    else
        sim_say (self, "scheduler %s", start? "restarts": "stops");
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
    self->scheduler_down = !start;
    return start? sim_open_core (self): 0;
}

//  Where each VM runs by the agents' own lists, and what the scheduler says of it.
void
sim_summary (sim_t *self)
{
    if (!self->core)
        return;
    for (int a = 0; a < self->agent_count; a++) {
        host_t *host = model_host_by_id (core_model (self->core), self->agents [a].id);
        if (host)
            sim_say (self, "end: host '%s' %s, generation %" PRIu64, host->record.name,
                   host_state_name (host->record.state), host->record.generation);
    }
    for (int v = 0; v < self->vm_count; v++) {
        char where [512] = "";
        for (int a = 0; a < self->agent_count; a++)
            if (sim_runs (&self->agents [a], self->vms [v].name))
                snprintf (where + strlen (where), sizeof where - strlen (where), " %s",
                          self->agents [a].name);
        spec_t *spec = managed_spec_by_uuid (core_managed (self->core), self->vms [v].uuid);
        sim_say (self, "end: vm '%s' runs on:%s; scheduler: %s", self->vms [v].name,
               where [0]? where: " nothing", spec? spec->record.reason: "(not managed)");
    }
}

//  One script line: "TIME VERB ARGS...". 0, 1 (end), or -1.
int
sim_command (sim_t *self, char *line)
{
    char *words [SIM_VMS_MAX + 4];
    int count = 0;
    for (char *word = strtok (line, " \t\n"); word && count < SIM_VMS_MAX + 4;
         word = strtok (NULL, " \t\n"))
        words [count++] = word;
    if (count < 2)
        return -1;
    const char *verb = words [1];
    s_agent_t *agent = count > 2? sim_agent (self, words [2]): NULL;
    int vm = count > 2? sim_vm_index (self, words [2]): -1;
    if (strcmp (verb, "end") == 0) {
        sim_summary (self);
        return 1;
    }
    if (strcmp (verb, "restart-scheduler") == 0 || strcmp (verb, "start-scheduler") == 0)
        return s_restart_scheduler (self, true);
    if (strcmp (verb, "stop-scheduler") == 0)
        return s_restart_scheduler (self, false);
    if (!self->core && (!strcmp (verb, "create") || !strcmp (verb, "start")
    ||  !strcmp (verb, "stop") || !strcmp (verb, "migrate") || !strcmp (verb, "maintenance")
    ||  !strcmp (verb, "why")))
        return 0;                           // no scheduler to ask (random schedules)
    if (self->real_agents) {
        int rc = sim_ha_command (self, words, count);
        if (rc <= 0)
            return rc;
    }
    if (strcmp (verb, "usage") == 0 && vm >= 0 && count > 3) {
        s_set_usage (self, vm, words, count);
        return 0;
    }
    if (strcmp (verb, "load") == 0 && vm >= 0 && self->core) {
        s_say_load (self, vm);
        return 0;
    }
    if (strcmp (verb, "why") == 0 && vm >= 0) {
        spec_t *spec = managed_spec_by_uuid (core_managed (self->core), self->vms [vm].uuid);
        sim_say (self, "operator: vm why %s: %s", self->vms [vm].name,
                 spec? spec->record.reason: "(not managed)");
        return 0;
    }
    if (strcmp (verb, "create") == 0 && vm >= 0)
        return sim_create (self, vm);
    if (strcmp (verb, "start") == 0 && vm >= 0)
        return s_want (self, vm, VM_WANT_RUNNING);
    if (strcmp (verb, "stop") == 0 && vm >= 0)
        return s_want (self, vm, VM_WANT_STOPPED);
    if (strcmp (verb, "migrate") == 0 && vm >= 0)
        return s_migrate (self, vm, count > 3? sim_agent (self, words [3]): NULL);
    if (!agent)
        return -1;
    if (self->real_agents && (!strcmp (verb, "hello") || !strcmp (verb, "restart-agent"))) {
        if (strcmp (verb, "restart-agent") == 0)
            sim_say (self, "agent of host '%s' restarts", agent->name);
        sim_real_start (self, agent);
        return 0;
    }
    if (strcmp (verb, "hang") == 0 && count > 3) {
        agent->hung = strcmp (words [3], "on") == 0;
        sim_say (self, "hypervisor of host '%s' %s", agent->name,
               agent->hung? "hangs": "answers again");
        return 0;
    }
    if (strcmp (verb, "hello") == 0 || strcmp (verb, "restart-agent") == 0) {
        if (strcmp (verb, "restart-agent") == 0)
            sim_say (self, "agent of host '%s' restarts", agent->name);
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
        sim_say (self, "host '%s' %s", agent->name, agent->talking? "talks again": "falls silent");
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
        sim_say (self, "link %s: %s", agent->name, words [3]);
        return 0;
    }
    if (strcmp (verb, "delay") == 0 && count > 3) {
        agent->delay_ms = atoll (words [3]);
        sim_say (self, "link %s: messages delayed up to %" PRId64 " ms", agent->name,
               agent->delay_ms);
        return 0;
    }
    if (strcmp (verb, "duplicate") == 0 && count > 3) {
        agent->duplicate = strcmp (words [3], "on") == 0;
        sim_say (self, "link %s: messages %s", agent->name,
               agent->duplicate? "arrive twice": "arrive once");
        return 0;
    }
    if (strcmp (verb, "runs") == 0) {
        agent->run_count = 0;
        for (int i = 3; i < count; i++)
            s_run_add (agent, words [i]);
        sim_say (self, "host '%s' runs %d domains", agent->name, agent->run_count);
        return 0;
    }
    if (strcmp (verb, "report") == 0) {
        agent->report_due = true;
        return 0;
    }
    if (strcmp (verb, "result") == 0 && count > 4 && (vm = sim_vm_index (self, words [3])) >= 0) {
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

//  Runs one script line built from a format.
int
sim_do (sim_t *self, const char *fmt, ...)
{
    char line [256];
    va_list args;
    va_start (args, fmt);
    vsnprintf (line, sizeof line, fmt, args);
    va_end (args);
    double at = strtod (line, NULL);
    while (self->now + SIM_TICK_MS <= (int64_t) (at * 1000))
        sim_step (self);
    fprintf (self->out, "%9.3f script %s\n", (double) self->now / 1000, line);
    return sim_command (self, line) < 0? -1: 0;
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
            sim_step (self);
        rc = sim_command (self, start);
        if (rc < 0)
            fprintf (stderr, "sim: %s:%d: cannot do '%s'\n", script_path, number,
                     strtok (copy, "\n"));
    }
    fclose (script);
    return rc < 0? -1: 0;
}
