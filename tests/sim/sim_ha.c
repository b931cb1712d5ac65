/*  sim_ha.c - the physical side of HA in the simulator (see sim_world.h).

    What the agent's shell, the kernel and the hardware do in production, modelled around
    the real agent core of each host: the disk (witness blocks, saved before they may be
    reported, survive agent restarts and reboots; the connected_until of a boot, given to
    the next agent process of that boot), the fencer thread (latches a poll after the lease
    ends, kills every HA domain then and while latched, unlatches once the host registered
    with a new generation and is connected again), the watchdog (petted by the fencer while
    connected; W after the last pet the host resets: every domain gone, a new boot), fence
    devices (the scheduler's fence requests power a host off after a delay, then confirm, or
    fail), power (crash, boot), whole-host freezes, agent kills, and the links between
    agents with their partitions.

    The invariants are counted here after every step from the hypervisors' own lists: S1,
    no VM runs on two hosts (a frozen host's domains count); S2, an HA VM that should run
    runs again within D + SIM_S2_SLACK_MS of the moment it stopped, or of the moment the
    world last allowed a failover (no partition, freeze, lossy or slow link, hung hypervisor
    or scheduler outage; enough hosts alive for a majority of witnesses), whenever some
    protected host that is up has room for it.
*/
#include "sim_world.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

//  --------------------------------------------------------------------------
//  Links between agents and partitions

bool
sim_agent_alive (const s_agent_t *agent)
{
    return agent->core && !agent->off && !agent->agent_dead;
}

//  A message of agent's links is lost by chance (loss_pct).
static bool
s_lossy (sim_t *self, const s_agent_t *agent)
{
    return agent->loss_pct > 0 && sim_link_delay (self, 99) < agent->loss_pct;
}

bool
sim_scheduler_lost (sim_t *self, const s_agent_t *agent, bool sending)
{
    return agent->cut_scheduler || (sending && s_lossy (self, agent));
}

bool
sim_peer_lost (sim_t *self, int a, int b, bool sending)
{
    const s_agent_t *x = &self->agents [a], *y = &self->agents [b];
    if ((x->cut_peers >> b & 1) || (y->cut_peers >> a & 1))
        return true;
    return sending && (s_lossy (self, x) || s_lossy (self, y));
}

void
sim_peer_send (sim_t *self, int from, int to, const wire_msg_t *msg)
{
    const s_agent_t *x = &self->agents [from], *y = &self->agents [to];
    if ((msg->kind != WIRE_RENEW && msg->kind != WIRE_GRANT)
    ||  sim_peer_lost (self, from, to, true))
        return;
    int64_t delay = x->delay_ms > y->delay_ms? x->delay_ms: y->delay_ms;
    s_peer_delivery_t delivery = { .from = from, .to = to, .kind = msg->kind,
                                   .version = msg->version, .seq = msg->seq,
                                   .generation = msg->generation, .session = msg->session };
    snprintf (delivery.host_id, sizeof delivery.host_id, "%s", msg->host_id);
    if (msg->kind == WIRE_RENEW)
        delivery.body.renew = msg->body.renew;
    else
        delivery.body.grant = msg->body.grant;
    for (int copy = 0; copy < (x->duplicate || y->duplicate? 2: 1); copy++) {
        delivery.due = self->now + (delay? sim_link_delay (self, delay): 0);
        vec_push (&self->peer_deliveries, &delivery);
    }
}

void
sim_peer_flush (sim_t *self)
{
    if (self->peer_flushing)
        return;                             // the outermost call takes them all, in order
    self->peer_flushing = true;
    wire_msg_t msg;
    for (int round = 0; self->peer_deliveries.count && round < 64; round++) {
        //  This round takes what is queued now; answers queue for the next round.
        vec_t batch = self->peer_deliveries;
        self->peer_deliveries = self->peer_batch;
        vec_clear (&self->peer_deliveries);
        bool delivered = false;
        for (size_t i = 0; i < batch.count; i++) {
            s_peer_delivery_t *delivery = vec_at (&batch, i);
            s_agent_t *to = &self->agents [delivery->to];
            if (delivery->due > self->now || to->frozen) {
                vec_push (&self->peer_deliveries, delivery);   // later, or when it thaws
                continue;
            }
            if (!sim_agent_alive (to) || !to->talking
            ||  sim_peer_lost (self, delivery->from, delivery->to, false))
                continue;
            wire_msg_init (&msg, delivery->kind);
            msg.version = delivery->version;
            msg.seq = delivery->seq;
            msg.generation = delivery->generation;
            msg.session = delivery->session;
            snprintf (msg.host_id, sizeof msg.host_id, "%s", delivery->host_id);
            if (delivery->kind == WIRE_RENEW)
                msg.body.renew = delivery->body.renew;
            else
                msg.body.grant = delivery->body.grant;
            int from = delivery->from;
            agent_core_on_peer_message (to->core, self->agents [from].id, &msg, self->now,
                                        to->fx);
            sim_real_flush (self, to, from);
            delivered = true;
        }
        self->peer_batch = batch;           // its storage serves the next round
        if (!delivered)
            break;
    }
    self->peer_flushing = false;
}

//  --------------------------------------------------------------------------
//  The disk

void
sim_disk_save (sim_t *self, s_agent_t *agent)
{
    (void) self;
    if (!agent->core)
        return;
    if (agent_core_blocks_unsaved (agent->core)) {
        //  The whole list, then the core may report them (fsync before the report).
        const lease_t *lease = agent_core_lease (agent->core);
        vec_clear (&agent->disk_blocks);
        for (size_t i = 0; i < lease->blocks.count; i++) {
            const lease_block_t *block = vec_at (&lease->blocks, i);
            s_disk_block_t saved = { .generation = block->generation };
            snprintf (saved.host_id, sizeof saved.host_id, "%s", block->host_id);
            vec_push (&agent->disk_blocks, &saved);
        }
        agent_core_blocks_saved (agent->core);
    }
    agent->disk_until = agent_core_connected_until (agent->core);
    agent->disk_boot = agent->boot;
}

int64_t
sim_disk_restore (sim_t *self, s_agent_t *agent)
{
    (void) self;
    for (size_t i = 0; i < agent->disk_blocks.count; i++) {
        const s_disk_block_t *block = vec_at (&agent->disk_blocks, i);
        agent_core_load_block (agent->core, block->host_id, block->generation);
    }
    return agent->disk_boot == agent->boot? agent->disk_until: 0;
}

void
sim_ha_free (s_agent_t *agent)
{
    vec_free (&agent->disk_blocks);
}

//  --------------------------------------------------------------------------
//  Power

//  The host goes dark: every domain, the agent and its jobs are gone; it stays off until
//  booted (reset_after > 0: by itself, that much later).
static void
s_power_off (sim_t *self, s_agent_t *agent, int64_t reset_after)
{
    if (agent->run_count)
        sim_say (self, "%s: %d domains gone with the power", agent->name, agent->run_count);
    agent->run_count = 0;
    agent_core_destroy (&agent->core);
    for (size_t i = 0; i < agent->jobs.count; i++)
        hv_job_reset (&((s_job_t *) vec_at (&agent->jobs, i))->job);
    vec_clear (&agent->jobs);
    agent->off = true;
    agent->frozen = false;
    agent->agent_dead = false;
    agent->latched = false;
    agent->armed = false;
    agent->hung = false;
    agent->boot_at = reset_after > 0? self->now + reset_after: 0;
}

static void
s_boot (sim_t *self, s_agent_t *agent)
{
    agent->off = false;
    agent->boot++;
    agent->boot_at = 0;
    sim_say (self, "%s boots (boot %" PRIu32 "); its agent starts", agent->name, agent->boot);
    sim_real_start (self, agent);
}

//  --------------------------------------------------------------------------
//  Fencer, watchdog, fence devices

//  One poll of agent's fencer thread, and a pet when it is due.
static void
s_fencer_poll (sim_t *self, s_agent_t *agent)
{
    int64_t until = agent_core_connected_until (agent->core);
    uint64_t generation = agent_core_generation (agent->core);
    bool connected = self->now < until;
    if (!agent->latched && self->now >= until + SIM_FENCE_POLL_MS) {
        agent->latched = true;
        agent->latched_generation = generation;
        agent->latch_said = true;
        sim_say (self, "%s: fencer latched (no lease since %.3f)", agent->name,
                 (double) until / 1000);
    }
    else
    if (agent->latched && connected && generation && generation != agent->latched_generation) {
        agent->latched = false;
        if (agent->latch_said)
            sim_say (self, "%s: fencer unlatched (registered with generation %" PRIu64
                     ", connected)", agent->name, generation);
        agent->latch_said = false;
    }
    if (agent->latched) {
        for (int i = agent->run_count; i-- > 0; ) {
            int vm = sim_vm_index (self, agent->runs [i]);
            if (vm < 0 || !self->vms [vm].ha)
                continue;
            sim_say (self, "%s: fencer kills HA vm '%s' (no lease)", agent->name,
                     self->vms [vm].name);
            agent->latch_said = true;
            sim_run_remove (agent, self->vms [vm].name);
            sim_real_note (self, agent, vm, EVENT_STOPPED);
        }
        return;
    }
    if (connected && (!agent->armed || self->now - agent->last_pet >= SIM_PET_MS)) {
        agent->armed = true;                // the fencer opens the watchdog at its first pet
        agent->last_pet = self->now;
    }
}

void
sim_fencer_start (sim_t *self, s_agent_t *agent)
{
    //  (Quietly: a process that never held a lease has nothing to say yet.)
    agent->latched = self->now >= agent_core_connected_until (agent->core);
    agent->latched_generation = 0;
    agent->latch_said = false;
}

//  Fence requests of the scheduler wait here until their fence agent is done.
void
sim_fence_requests (sim_t *self)
{
    for (size_t i = 0; i < self->fx.fences.count; i++) {
        const char *name = vec_at (&self->fx.fences, i);
        s_agent_t *agent = sim_agent (self, name);
        if (!agent)
            continue;
        sim_say (self, "scheduler runs the fence agent of '%s' (power off)", name);
        s_fencing_t fencing = { (int) (agent - self->agents), self->now + self->fence_delay_ms,
                                self->scheduler_run };
        vec_push (&self->fencings, &fencing);
    }
}

static void
s_fence_done (sim_t *self, const s_fencing_t *fencing)
{
    s_agent_t *agent = &self->agents [fencing->agent];
    bool confirmed = agent->fence > 0;
    const char *reason = confirmed? "power off confirmed by the fence agent"
                                  : "fence agent failed: no answer from the power controller";
    if (confirmed) {
        sim_say (self, "fence agent powers '%s' off", agent->name);
        s_power_off (self, agent, 0);
    }
    else
        sim_say (self, "fence agent of '%s' fails", agent->name);
    if (!self->core || fencing->scheduler_run != self->scheduler_run)
        return;                             // the process that asked is gone
    core_on_fence_result (self->core, agent->name, confirmed, reason, self->now, self->now,
                          &self->fx);
    sim_commit (self);
}

//  --------------------------------------------------------------------------
//  Invariants

//  True when agent's host is a place an HA VM may be restarted on now.
static bool
s_healthy (const s_agent_t *agent)
{
    return agent->started && sim_agent_alive (agent) && !agent->frozen;
}

//  The one host every partition separates from something, -1 when nothing is cut, -2 when
//  the cuts isolate more than one host.
static int
s_isolated (sim_t *self)
{
    bool any = false;
    for (int x = 0; x < self->agent_count; x++) {
        bool only_x = true;
        for (int a = 0; a < self->agent_count && only_x; a++) {
            const s_agent_t *agent = &self->agents [a];
            any = any || agent->cut_scheduler || agent->cut_peers;
            if (a != x && (agent->cut_scheduler || (agent->cut_peers & ~(1ULL << x))))
                only_x = false;
        }
        if (only_x && any)
            return x;
    }
    return any? -2: -1;
}

//  True when the world allows a failover within the bound: the scheduler runs, no link is
//  lossy or slow, no host frozen, silent or hung, at most one host cut off (in any shape:
//  it keeps a lease and its VMs, or it fences itself and can be declared dead), and
//  enough hosts are healthy that a majority of any host's witnesses can report it.
static bool
s_clean (sim_t *self)
{
    int isolated = self->core? s_isolated (self): -2;
    if (isolated == -2)
        return false;
    int healthy = 0;
    for (int i = 0; i < self->agent_count; i++) {
        const s_agent_t *agent = &self->agents [i];
        if (agent->off || !agent->started || agent->agent_dead || i == isolated)
            continue;
        if (agent->frozen || !agent->talking || agent->hung || agent->drop_in
        ||  agent->drop_out || agent->delay_ms > 300 || agent->loss_pct)
            return false;
        healthy++;
    }
    return 2 * healthy > self->agent_count - 1;
}

//  True when some healthy, protected, up host has room for vm (memory, hard rules).
static bool
s_capacity (sim_t *self, int vm)
{
    const s_vm_t *def = &self->vms [vm];
    bool unfenced = self->config.ha.allow_unfenced_hosts;
    for (int a = 0; a < self->agent_count; a++) {
        const s_agent_t *agent = &self->agents [a];
        host_t *host = model_host_by_id (core_model (self->core), agent->id);
        if (!s_healthy (agent) || !host || host->record.state != HOST_STATE_UP
        ||  host->record.maintenance || (!agent->watchdog && !agent->fence && !unfenced))
            continue;
        uint64_t used = 0;
        bool rule_ok = true;
        for (int r = 0; r < agent->run_count; r++) {
            int other = sim_vm_index (self, agent->runs [r]);
            if (other < 0 || other == vm)
                continue;
            used += self->vms [other].memory_mib;
            for (size_t i = 0; i < self->rules.count; i++) {
                const rule_record_t *rule = vec_at (&self->rules, i);
                bool has_vm = false, has_other = false;
                for (uint32_t m = 0; m < rule->vm_count; m++) {
                    has_vm = has_vm || strcmp (rule->vms [m], def->name) == 0;
                    has_other = has_other || strcmp (rule->vms [m], agent->runs [r]) == 0;
                }
                if (rule->hard && rule->kind == RULE_ANTI_AFFINITY && has_vm && has_other)
                    rule_ok = false;
            }
        }
        if (rule_ok && used + def->memory_mib <= agent->memory_mib)
            return true;
    }
    return false;
}

static void
s_check_invariants (sim_t *self)
{
    //  S1: copies by the hypervisors' own lists; a frozen host's domains still run.
    for (int v = 0; v < self->vm_count; v++) {
        s_vm_t *vm = &self->vms [v];
        char where [512] = "";
        int copies = 0;
        for (int a = 0; a < self->agent_count; a++)
            if (!self->agents [a].off && sim_runs (&self->agents [a], vm->name)) {
                copies++;
                snprintf (where + strlen (where), sizeof where - strlen (where), " %s%s",
                          self->agents [a].name, self->agents [a].frozen? " (frozen)": "");
            }
        if (copies > 1 && !vm->s1_reported)
            sim_violation (self, "S1: vm '%s' runs on%s (step %" PRId64 ")", vm->name, where,
                           self->now / SIM_TICK_MS);
        vm->s1_reported = copies > 1;
    }
    //  Capacity: no hypervisor runs more memory than the placement policy lets it.
    for (int a = 0; a < self->agent_count; a++) {
        s_agent_t *agent = &self->agents [a];
        uint64_t used = 0;
        for (int r = 0; r < agent->run_count; r++) {
            int vm = sim_vm_index (self, agent->runs [r]);
            used += vm >= 0? self->vms [vm].memory_mib: 0;
        }
        bool over = (double) used > (double) agent->memory_mib
                                  * self->config.reconcile.policy.mem_overcommit;
        if (over && !agent->over_reported)
            sim_violation (self, "capacity: host '%s' runs %" PRIu64 " MiB of vms in %" PRIu64
                           " MiB (step %" PRId64 ")", agent->name, used, agent->memory_mib,
                           self->now / SIM_TICK_MS);
        agent->over_reported = over;
    }
    if (!self->check_s2)
        return;
    //  S2: an HA VM that should run runs again within D + slack.
    if (!s_clean (self))
        self->clean_since = self->now;
    if (!self->core) {
        for (int v = 0; v < self->vm_count; v++)
            self->vms [v].ok_at = self->now;    // nobody to ask what should run
        return;
    }
    int64_t bound = self->config.ha.dead_after_ms + SIM_S2_SLACK_MS;
    //  A host cut off that still holds a lease is rightly never declared dead: a VM that
    //  may run there (a start in flight when it was cut off) waits for it.
    int isolated = s_isolated (self);
    const s_agent_t *leased = isolated >= 0? &self->agents [isolated]: NULL;
    if (leased && (!sim_agent_alive (leased)
    ||  self->now >= agent_core_connected_until (leased->core)))
        leased = NULL;
    for (int v = 0; v < self->vm_count; v++) {
        s_vm_t *vm = &self->vms [v];
        spec_t *spec = managed_spec_by_uuid (core_managed (self->core), vm->uuid);
        //  A failed start (a second fault: its target died, or registered again) begins the
        //  restart policy's wait: the bound counts from it.
        uint32_t failures = spec? spec->failed_here + 1000 * spec->relocations: 0;
        if (failures != vm->failures) {
            vm->failures = failures;
            if (failures)
                vm->ok_at = self->now;
        }
        bool waits = false;
        for (uint32_t e = 0; leased && spec && e < spec->may_run_count; e++)
            waits = waits || strcmp (spec->may_run [e].record.host_id, leased->id) == 0;
        if (leased && model_vm_copy (core_model (self->core), vm->uuid, leased->id))
            waits = true;
        bool running = false, injected = false;
        for (int a = 0; a < self->agent_count; a++) {
            const s_agent_t *agent = &self->agents [a];
            running = running || (!agent->off && !agent->frozen && sim_runs (agent, vm->name));
            injected = injected || agent->fail_starts [v] > 0;
        }
        if (running || !spec || !spec->record.ha || spec->record.want != VM_WANT_RUNNING
        ||  spec->gave_up || injected || waits || !s_capacity (self, v)) {
            vm->ok_at = self->now;
            vm->s2_reported = false;
            continue;
        }
        int64_t since = vm->ok_at > self->clean_since? vm->ok_at: self->clean_since;
        if (self->now - since > bound && !vm->s2_reported) {
            sim_violation (self, "S2: HA vm '%s' has not run for %.1f s (since %.1f s, a "
                           "failover allowed since %.1f s; bound D + %d s) (step %" PRId64
                           "; scheduler: %s)", vm->name, (double) (self->now - vm->ok_at)
                           / 1000, (double) vm->ok_at / 1000, (double) self->clean_since
                           / 1000, SIM_S2_SLACK_MS / 1000, self->now / SIM_TICK_MS,
                           spec->record.reason);
            vm->s2_reported = true;
        }
    }
}

void
sim_ha_step (sim_t *self)
{
    for (int i = 0; i < self->agent_count; i++) {
        s_agent_t *agent = &self->agents [i];
        if (agent->off) {
            if (agent->boot_at && self->now >= agent->boot_at)
                s_boot (self, agent);
            continue;
        }
        if (sim_agent_alive (agent) && !agent->frozen)
            s_fencer_poll (self, agent);
        int64_t silence = self->now - agent->last_pet;
        if (agent->watchdog && agent->armed && silence >= self->config.ha.watchdog_ms) {
            sim_say (self, "%s: watchdog resets the host (last pet %.1f s ago)", agent->name,
                     (double) silence / 1000);
            s_power_off (self, agent, self->boot_ms);
        }
    }
    for (size_t i = 0; i < self->fencings.count; ) {
        s_fencing_t *fencing = vec_at (&self->fencings, i);
        if (fencing->due > self->now) {
            i++;
            continue;
        }
        s_fencing_t done = *fencing;
        vec_remove (&self->fencings, i);
        s_fence_done (self, &done);
    }
    s_check_invariants (self);
}

//  --------------------------------------------------------------------------
//  Script verbs

//  Parses "all", "scheduler" or "H2,H3,scheduler" into a cut (scheduler, peer bits).
static int
s_parse_shape (sim_t *self, s_agent_t *agent, const char *shape, bool *scheduler,
               uint64_t *peers)
{
    *scheduler = false;
    *peers = 0;
    if (strcmp (shape, "all") == 0) {
        *scheduler = true;
        for (int i = 0; i < self->agent_count; i++)
            if (&self->agents [i] != agent)
                *peers |= 1ULL << i;
        return 0;
    }
    char copy [512];
    snprintf (copy, sizeof copy, "%s", shape);
    char *save = NULL;
    for (char *item = strtok_r (copy, ",", &save); item; item = strtok_r (NULL, ",", &save)) {
        s_agent_t *peer = sim_agent (self, item);
        if (strcmp (item, "scheduler") == 0)
            *scheduler = true;
        else
        if (peer && peer != agent)
            *peers |= 1ULL << (peer - self->agents);
        else
            return -1;
    }
    return 0;
}

//  "the scheduler and h2, h3" for logs.
static void
s_describe_cut (sim_t *self, bool scheduler, uint64_t peers, char *text, size_t size)
{
    snprintf (text, size, "%s", scheduler? "the scheduler": "");
    for (int i = 0; i < self->agent_count; i++)
        if (peers >> i & 1)
            snprintf (text + strlen (text), size - strlen (text), "%s%s",
                      text [0]? ", ": "", self->agents [i].name);
}

static int
s_partition (sim_t *self, s_agent_t *agent, const char *shape, bool heal)
{
    bool scheduler;
    uint64_t peers;
    if (s_parse_shape (self, agent, shape, &scheduler, &peers))
        return -1;
    int index = (int) (agent - self->agents);
    char text [512];
    s_describe_cut (self, scheduler, peers, text, sizeof text);
    for (int i = 0; i < self->agent_count; i++) {
        if (!(peers >> i & 1))
            continue;
        if (heal) {
            agent->cut_peers &= ~(1ULL << i);
            self->agents [i].cut_peers &= ~(1ULL << index);
        }
        else {
            agent->cut_peers |= 1ULL << i;
            self->agents [i].cut_peers |= 1ULL << index;
        }
    }
    if (scheduler)
        agent->cut_scheduler = !heal;
    sim_say (self, "partition: %s %s %s", agent->name, heal? "reaches again": "cut from",
             text);
    return 0;
}

int
sim_ha_command (sim_t *self, char **words, int count)
{
    const char *verb = words [1];
    if (strcmp (verb, "heal") == 0 && count == 3 && strcmp (words [2], "all") == 0) {
        for (int i = 0; i < self->agent_count; i++) {
            self->agents [i].cut_peers = 0;
            self->agents [i].cut_scheduler = false;
        }
        sim_say (self, "partition: every link heals");
        return 0;
    }
    s_agent_t *agent = count > 2? sim_agent (self, words [2]): NULL;
    if (!agent)
        return 1;
    if (strcmp (verb, "partition") == 0 && count == 5 && strcmp (words [3], "from") == 0)
        return s_partition (self, agent, words [4], false);
    if (strcmp (verb, "heal") == 0 && count == 5 && strcmp (words [3], "from") == 0)
        return s_partition (self, agent, words [4], true);
    if (strcmp (verb, "heal") == 0 && count == 3)
        return s_partition (self, agent, "all", true);
    if (strcmp (verb, "loss") == 0 && count == 4) {
        agent->loss_pct = atoi (words [3]);
        sim_say (self, "links of %s: %d%% of the messages lost", agent->name, agent->loss_pct);
        return 0;
    }
    if (strcmp (verb, "fail-start") == 0 && count == 5) {
        int vm = sim_vm_index (self, words [3]);
        if (vm < 0)
            return -1;
        agent->fail_starts [vm] = atoi (words [4]);
        sim_say (self, "hypervisor of %s will fail the next %d starts of vm '%s'", agent->name,
                 agent->fail_starts [vm], self->vms [vm].name);
        return 0;
    }
    if (strcmp (verb, "crash-vm") == 0 && count == 4) {
        int vm = sim_vm_index (self, words [3]);
        if (vm < 0)
            return -1;
        if (!sim_runs (agent, self->vms [vm].name)) {
            sim_say (self, "%s does not run vm '%s': nothing crashes", agent->name,
                     self->vms [vm].name);
            return 0;
        }
        sim_say (self, "vm '%s' crashes on %s (its QEMU dies)", self->vms [vm].name,
                 agent->name);
        sim_run_remove (agent, self->vms [vm].name);
        sim_real_note (self, agent, vm, EVENT_CRASHED);
        return 0;
    }
    if (strcmp (verb, "fence-device") == 0 && count == 4) {
        agent->fence = strcmp (words [3], "fail") == 0? -1: 1;
        sim_say (self, "fence device of %s %s", agent->name,
                 agent->fence > 0? "works": "fails");
        return 0;
    }
    if (strcmp (verb, "crash") == 0) {
        if (agent->off)
            return 0;
        sim_say (self, "%s crashes (power lost)", agent->name);
        s_power_off (self, agent, 0);
        return 0;
    }
    if (strcmp (verb, "boot") == 0) {
        if (agent->off)
            s_boot (self, agent);
        return 0;
    }
    if (agent->off && (!strcmp (verb, "freeze") || !strcmp (verb, "thaw")
    ||  !strcmp (verb, "kill-agent") || !strcmp (verb, "start-agent")
    ||  !strcmp (verb, "restart-agent") || !strcmp (verb, "hello"))) {
        sim_say (self, "%s is off: nothing to %s", agent->name, verb);
        return 0;
    }
    if (strcmp (verb, "freeze") == 0 || strcmp (verb, "thaw") == 0) {
        bool freeze = strcmp (verb, "freeze") == 0;
        if (agent->frozen != freeze)
            sim_say (self, "%s %s", agent->name, freeze? "freezes (agent, fencer and "
                     "hypervisor stand still; its domains stay)": "thaws");
        agent->frozen = freeze;
        return 0;
    }
    if (strcmp (verb, "kill-agent") == 0) {
        if (!sim_agent_alive (agent))
            return 0;
        sim_say (self, "agent of %s is killed (its domains keep running)", agent->name);
        agent_core_destroy (&agent->core);
        for (size_t i = 0; i < agent->jobs.count; i++)
            hv_job_reset (&((s_job_t *) vec_at (&agent->jobs, i))->job);
        vec_clear (&agent->jobs);
        agent->agent_dead = true;
        agent->latched = false;             // the fencer thread died with it
        return 0;
    }
    if (strcmp (verb, "start-agent") == 0) {
        if (sim_agent_alive (agent))
            return 0;
        sim_say (self, "agent of %s starts", agent->name);
        sim_real_start (self, agent);
        return 0;
    }
    return 1;
}
