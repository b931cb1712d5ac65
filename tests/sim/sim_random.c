/*  sim_random.c - seeded random schedules for the simulator (sim.h).

    Each schedule is a list of script lines chosen by one xorshift64* state seeded by the
    seed, run through the same verbs as a scenario's script, so a failing seed replays
    exactly and its log reads like a scenario's.
*/
#include "sim_world.h"
#include "loader.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

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
    if (sim_size (self, hosts, vms))
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
        rc = sim_do (self, "0.0 hello %s", self->agents [i].name);
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
            rc = sim_do (self, "%.1f create %s", t, self->vms [created++].name);
            continue;
        }
        switch (s_pick (&state, 16)) {
            case 0: case 1: rc = sim_do (self, "%.1f silent %s", t, host); break;
            case 2: case 3: rc = sim_do (self, "%.1f talk %s", t, host); break;
            case 4: case 12: case 13: rc = sim_do (self, "%.1f drop %s %s", t, host,
                                (const char *[]) { "in", "out", "both", "none" }
                                [s_pick (&state, 4)]); break;
            case 5: rc = sim_do (self, "%.1f restart-agent %s", t, host); break;
            case 6: rc = sim_do (self, "%.1f restart-scheduler", t); break;
            case 7: rc = sim_do (self, "%.1f migrate %s %s", t, vm, other); break;
            case 8: rc = sim_do (self, "%.1f stop %s", t, vm); break;
            case 9: rc = sim_do (self, "%.1f start %s", t, vm); break;
            case 10: rc = sim_do (self, "%.1f manual %s", t, host); break;
            case 14: rc = sim_do (self, "%.1f delay %s %d", t, host,
                                (int []) { 0, 300, 1500, 4000 } [s_pick (&state, 4)]); break;
            case 15: rc = sim_do (self, "%.1f duplicate %s %s", t, host,
                                s_pick (&state, 2)? "on": "off"); break;
            default: rc = sim_do (self, "%.1f auto %s", t, host); break;
        }
    }
    //  Faults stop: every agent talks, every link heals, every agent is healthy; every VM
    //  should run.
    double t = (double) at / 1000 + 0.1;
    for (int i = 0; i < self->agent_count && !rc; i++) {
        rc = sim_do (self, "%.1f drop %s none", t, self->agents [i].name);
        if (!rc)
            rc = sim_do (self, "%.1f delay %s 0", t, self->agents [i].name);
        if (!rc)
            rc = sim_do (self, "%.1f duplicate %s off", t, self->agents [i].name);
        if (!rc)
            rc = sim_do (self, "%.1f auto %s", t, self->agents [i].name);
        if (!rc && !self->agents [i].started)
            rc = sim_do (self, "%.1f hello %s", t, self->agents [i].name);
        if (!rc && !self->agents [i].talking)
            rc = sim_do (self, "%.1f talk %s", t, self->agents [i].name);
    }
    for (int i = created; i < self->vm_count && !rc; i++)
        rc = sim_do (self, "%.1f create %s", t, self->vms [i].name);
    for (int i = 0; i < created && !rc; i++)
        rc = sim_do (self, "%.1f start %s", t, self->vms [i].name);
    if (rc)
        return -1;
    while (self->now < at + quiet_ms)
        sim_step (self);
    //  S2: every VM runs, once, by the agents' own lists.
    for (int v = 0; v < self->vm_count; v++) {
        int copies = 0;
        for (int a = 0; a < self->agent_count; a++)
            copies += sim_runs (&self->agents [a], self->vms [v].name);
        spec_t *spec = managed_spec_by_uuid (core_managed (self->core), self->vms [v].uuid);
        if (copies != 1)
            sim_violation (self, "S2: %.1f s after the faults stopped, vm '%s' runs on %d hosts "
                         "(scheduler: %s)", (double) quiet_ms / 1000, self->vms [v].name,
                         copies, spec? spec->record.reason: "not managed");
    }
    sim_summary (self);
    return 0;
}

int
sim_run_scale (sim_t *self, int hosts, int per_host, int64_t duration_ms, bool real_agents)
{
    if (sim_size (self, hosts, hosts * per_host))
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
        rc = sim_do (self, "0.0 hello %s", self->agents [i].name);
    for (int i = 0; i < self->vm_count && !rc; i++)
        rc = sim_create (self, i);
    while (!rc && self->now < duration_ms)
        sim_step (self);
    for (int v = 0; v < self->vm_count && !rc; v++) {
        int copies = 0;
        for (int a = 0; a < self->agent_count; a++)
            copies += sim_runs (&self->agents [a], self->vms [v].name);
        if (copies != 1)
            sim_violation (self, "S2: vm '%s' runs on %d hosts", self->vms [v].name, copies);
    }
    return rc;
}


//  --------------------------------------------------------------------------
//  Seeded random HA fault schedules

//  A random host name among those for which pred (NULL: any) holds; NULL when none.
static const char *
s_host_where (sim_t *self, uint64_t *state, bool (*pred) (const s_agent_t *))
{
    int candidates [SIM_HOSTS_MAX], count = 0;
    for (int i = 0; i < self->agent_count; i++)
        if (!pred || pred (&self->agents [i]))
            candidates [count++] = i;
    return count? self->agents [candidates [s_pick (state, count)]].name: NULL;
}

static bool s_is_on (const s_agent_t *a)      { return !a->off; }
static bool s_is_off (const s_agent_t *a)     { return a->off; }
static bool s_is_frozen (const s_agent_t *a)  { return !a->off && a->frozen; }
static bool s_is_running (const s_agent_t *a) { return !a->off && a->core && !a->agent_dead; }
static bool s_no_agent (const s_agent_t *a)   { return !a->off && a->agent_dead; }
static bool s_is_cut (const s_agent_t *a)     { return a->cut_scheduler || a->cut_peers; }

//  A partition shape for host: all, scheduler, or some peers (and maybe the scheduler).
static void
s_shape (sim_t *self, uint64_t *state, const char *host, char *shape, size_t size)
{
    int roll = s_pick (state, 4);
    if (roll == 0) {
        snprintf (shape, size, "all");
        return;
    }
    if (roll == 1) {
        snprintf (shape, size, "scheduler");
        return;
    }
    shape [0] = 0;
    if (roll == 3)
        snprintf (shape, size, "scheduler");
    for (int i = 0; i < self->agent_count; i++) {
        const char *peer = self->agents [i].name;
        if (strcmp (peer, host) && s_pick (state, 2))
            snprintf (shape + strlen (shape), size - strlen (shape), "%s%s",
                      shape [0]? ",": "", peer);
    }
    if (!shape [0]) {
        for (int i = 0; i < self->agent_count && !shape [0]; i++)
            if (strcmp (self->agents [i].name, host))
                snprintf (shape, size, "%s", self->agents [i].name);
    }
}

//  Every fault but power healed: links whole, nothing frozen, every agent and the
//  scheduler running (hosts that are off stay off unless boot_all).
static int
s_heal (sim_t *self, double t, bool boot_all)
{
    int rc = sim_do (self, "%.1f heal all", t);
    if (!rc && !self->core)
        rc = sim_do (self, "%.1f start-scheduler", t);
    for (int i = 0; i < self->agent_count && !rc; i++) {
        s_agent_t *agent = &self->agents [i];
        const char *name = agent->name;
        if (agent->loss_pct)
            rc = sim_do (self, "%.1f loss %s 0", t, name);
        if (!rc && agent->delay_ms)
            rc = sim_do (self, "%.1f delay %s 0", t, name);
        if (!rc && agent->duplicate)
            rc = sim_do (self, "%.1f duplicate %s off", t, name);
        if (!rc && agent->frozen)
            rc = sim_do (self, "%.1f thaw %s", t, name);
        if (!rc && agent->agent_dead)
            rc = sim_do (self, "%.1f start-agent %s", t, name);
        if (!rc && agent->off && boot_all)
            rc = sim_do (self, "%.1f boot %s", t, name);
    }
    return rc;
}

//  The schedule's cluster as a scenario's cluster.json (one line), so that a failing seed
//  becomes a scenario: this line, and its "script" lines as the script.
static void
s_say_cluster (sim_t *self)
{
    json_t *root = json_pack ("{s:s, s:I, s:I, s:I, s:I, s:[], s:[]}", "agents", "real",
                              "fence_delay_ms", (json_int_t) self->fence_delay_ms,
                              "boot_ms", (json_int_t) self->boot_ms,
                              "op_deadline_ms",
                              (json_int_t) self->config.reconcile.op_deadline_ms,
                              "migration_timeout_ms",
                              (json_int_t) self->config.reconcile.migration_timeout_ms,
                              "hosts", "vms");
    if (!root)
        return;
    for (int i = 0; i < self->agent_count; i++) {
        const s_agent_t *agent = &self->agents [i];
        json_t *host = json_pack ("{s:s, s:i, s:I, s:b}", "name", agent->name,
                                  "cpus", (int) agent->cpus,
                                  "memory_mib", (json_int_t) agent->memory_mib,
                                  "watchdog", agent->watchdog);
        if (host && agent->fence)
            json_object_set_new (host, "fence", agent->fence > 0? json_true ()
                                                                 : json_string ("fail"));
        json_array_append_new (json_object_get (root, "hosts"), host);
    }
    for (int i = 0; i < self->vm_count; i++) {
        const s_vm_t *vm = &self->vms [i];
        json_array_append_new (json_object_get (root, "vms"),
                               json_pack ("{s:s, s:i, s:I, s:i, s:b}", "name", vm->name,
                                          "vcpus", (int) vm->vcpus,
                                          "memory_mib", (json_int_t) vm->memory_mib,
                                          "priority", (int) vm->priority, "ha", vm->ha));
    }
    char *text = json_dumps (root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (text)
        sim_say (self, "cluster.json: %s", text);
    free (text);
    json_decref (root);
}

int
sim_run_random_ha (sim_t *self, uint64_t seed, int64_t fault_ms, int64_t quiet_ms)
{
    uint64_t state = seed * 0x9E3779B97F4A7C15ULL + 7;
    self->config.reconcile.op_deadline_ms = 20000;
    self->config.reconcile.migration_timeout_ms = 10000;
    int hosts = 3 + s_pick (&state, 3), vms = 3 + s_pick (&state, 6);
    if (sim_size (self, hosts, vms))
        return -1;
    self->real_agents = true;
    self->config.fence_host_count = 0;
    self->fence_delay_ms = 200 + 200 * s_pick (&state, 10);
    self->boot_ms = 2000 + 1000 * s_pick (&state, 15);
    for (int i = 0; i < self->agent_count; i++) {
        s_agent_t *agent = &self->agents [i];
        snprintf (agent->name, sizeof agent->name, "h%d", i + 1);
        snprintf (agent->id, sizeof agent->id, "00000000-0000-0000-0000-%012d", i + 1);
        agent->cpus = 16;
        agent->memory_mib = 16384;
        //  Every host protected: a watchdog, or a fence device that works. A host with a
        //  watchdog may have a fence device that fails.
        int kind = s_pick (&state, 6);
        agent->watchdog = kind != 0;
        agent->fence = kind == 0 || kind == 1? 1: kind == 2? -1: 0;
        if (agent->fence)
            snprintf (self->fence_names [self->config.fence_host_count++], WIRE_NAME_SIZE,
                      "%s", agent->name);
    }
    for (int i = 0; i < self->vm_count; i++) {
        s_vm_t *vm = &self->vms [i];
        snprintf (vm->name, sizeof vm->name, "vm%d", i + 1);
        snprintf (vm->uuid, sizeof vm->uuid, "aaaaaaaa-0000-0000-0000-%012d", i + 1);
        vm->memory_mib = 256u << s_pick (&state, 3);
        vm->vcpus = 1;
        vm->priority = s_pick (&state, 3);
        vm->ha = s_pick (&state, 4) != 0;
    }
    core_destroy (&self->core);
    self->core = core_new (&self->config);
    if (!self->core || loader_load (self->core, self->store, self->now))
        return -1;
    s_say_cluster (self);
    int rc = 0;
    for (int i = 0; i < self->agent_count && !rc; i++)
        rc = sim_do (self, "0.0 hello %s", self->agents [i].name);
    int64_t at = 500;
    int created = 0;
    while (!rc && at < fault_ms) {
        at += 200 + s_pick (&state, 2500);
        double t = (double) at / 1000;
        if (created < self->vm_count && (created == 0 || s_pick (&state, 3) == 0)) {
            //  (The operator waits for a scheduler to create a vm.)
            rc = self->core? sim_do (self, "%.1f create %s", t, self->vms [created++].name)
                           : sim_do (self, "%.1f start-scheduler", t);
            continue;
        }
        const char *any = self->agents [s_pick (&state, self->agent_count)].name;
        const char *vm = self->vms [s_pick (&state, created)].name;
        const char *host;
        char shape [256];
        switch (s_pick (&state, 24)) {
            case 0: case 1:
                host = s_host_where (self, &state, s_is_on);
                rc = host? sim_do (self, "%.1f crash %s", t, host): 0;
                break;
            case 2: case 3:
                host = s_host_where (self, &state, s_is_off);
                rc = host? sim_do (self, "%.1f boot %s", t, host): 0;
                break;
            case 4: case 5:
                s_shape (self, &state, any, shape, sizeof shape);
                rc = sim_do (self, "%.1f partition %s from %s", t, any, shape);
                break;
            case 6: case 7:
                host = s_host_where (self, &state, s_is_cut);
                rc = host? sim_do (self, "%.1f heal %s", t, host): 0;
                break;
            case 8:
                host = s_host_where (self, &state, s_is_running);
                rc = host? sim_do (self, "%.1f freeze %s", t, host): 0;
                break;
            case 9: case 10:
                host = s_host_where (self, &state, s_is_frozen);
                rc = host? sim_do (self, "%.1f thaw %s", t, host): 0;
                break;
            case 11:
                host = s_host_where (self, &state, s_is_running);
                rc = host? sim_do (self, "%.1f kill-agent %s", t, host): 0;
                break;
            case 12:
                host = s_host_where (self, &state, s_no_agent);
                rc = host? sim_do (self, "%.1f start-agent %s", t, host): 0;
                break;
            case 13:
                rc = self->core? sim_do (self, "%.1f stop-scheduler", t)
                               : sim_do (self, "%.1f start-scheduler", t);
                break;
            case 14:
                rc = sim_do (self, "%.1f restart-scheduler", t);
                break;
            case 15:
                rc = sim_do (self, "%.1f loss %s %d", t, any,
                             (int []) { 0, 0, 10, 30 } [s_pick (&state, 4)]);
                break;
            case 16:
                rc = sim_do (self, "%.1f delay %s %d", t, any,
                             (int []) { 0, 0, 200, 1000 } [s_pick (&state, 4)]);
                break;
            case 17:
                rc = sim_do (self, "%.1f duplicate %s %s", t, any,
                             s_pick (&state, 2)? "on": "off");
                break;
            case 18:
                rc = sim_do (self, "%.1f migrate %s %s", t, vm,
                             self->agents [s_pick (&state, self->agent_count)].name);
                break;
            case 19:
                rc = sim_do (self, "%.1f stop %s", t, vm);
                break;
            case 20: case 21:
                rc = sim_do (self, "%.1f start %s", t, vm);
                break;
            default:
                break;                      // a quiet moment
        }
    }
    //  Every fault but power healed; the VMs that were stopped are started. HA VMs of the
    //  hosts that stay off must run elsewhere within the bound (S2, after every step).
    double t = (double) at / 1000 + 0.1;
    if (!rc)
        rc = s_heal (self, t, false);
    for (int i = created; i < self->vm_count && !rc; i++)
        rc = sim_do (self, "%.1f create %s", t, self->vms [i].name);
    for (int i = 0; i < created && !rc; i++)
        rc = sim_do (self, "%.1f start %s", t, self->vms [i].name);
    t += (double) quiet_ms / 2000;
    //  Then every host boots: every VM runs exactly once at the end.
    if (!rc)
        rc = s_heal (self, t, true);
    if (rc)
        return -1;
    while (self->now < (int64_t) (t * 1000) + quiet_ms / 2)
        sim_step (self);
    for (int v = 0; v < self->vm_count; v++) {
        int copies = 0;
        for (int a = 0; a < self->agent_count; a++)
            copies += sim_runs (&self->agents [a], self->vms [v].name);
        spec_t *spec = managed_spec_by_uuid (core_managed (self->core), self->vms [v].uuid);
        if (copies != 1 && !(spec && spec->gave_up))
            sim_violation (self, "S2: %.1f s after the faults stopped, vm '%s' runs on %d hosts "
                           "(scheduler: %s)", (double) quiet_ms / 1000, self->vms [v].name,
                           copies, spec? spec->record.reason: "not managed");
    }
    sim_summary (self);
    return 0;
}
