/*  sim.h - the scheduler's real core on a virtual clock, driven by scripted agents.

    A world holds the real scheduler core (scheduler/core), a real SQLite store in a scratch
    directory committed exactly as the daemon commits (then-send, roll back on failure), and
    one scripted agent per host that speaks the wire protocol's messages: it registers,
    heartbeats while it talks, reports its domains when asked, and (in `auto` mode) carries
    out the commands it gets the way a healthy agent would. Links between each agent and the
    scheduler can drop messages either way. Every log line gets the virtual time, so a run is
    a deterministic log that a scenario compares with its expect.log.

    With "agents": "real" the hosts run the real agent core, and the world around it is
    the one HA needs (sim_ha.c): a CURVE key, witness endpoint and watchdog per host, links
    between agents (witness leases) with the same loss, delay and duplication and with
    partitions of any shape, a disk for witness blocks and the lease of a boot, a fencer
    and a watchdog per host, fence devices, crashes, boots, freezes and agent kills; S1 and
    S2 are counted from the hypervisors after every step. tests/sim/README lists the verbs
    and cluster.json fields.
*/
#ifndef VMSCHED_SIM_H
#define VMSCHED_SIM_H

#include "core.h"
#include "store.h"

#include <stdbool.h>
#include <stdio.h>

#define SIM_HOSTS_MAX 64
#define SIM_VMS_MAX   64
#define SIM_TICK_MS   100           // the core's tick, as the daemon's timer
#define SIM_HEARTBEAT_MS 500        // agents' heartbeat interval
#define SIM_REPORT_MS 5000          // agents' full report interval (the agent's default)

typedef struct sim sim_t;

//  A new world logging to out, with its database in dir. NULL (reason printed) on failure.
sim_t *sim_new (const char *dir, FILE *out);

//  Free the world. NULL-safe; sets *self_p = NULL.
void sim_destroy (sim_t **self_p);

//  Reads cluster.json (hosts, vms, timing) and runs the script; 0, or -1 after printing
//  the line that could not be understood.
int sim_run_scenario (sim_t *self, const char *cluster_path, const char *script_path);

//  A seeded random schedule: 3-5 hosts, 3-8 VMs, fault_ms of random faults (hosts silent
//  and back, lossy links, agent and scheduler restarts, migrations, stops and starts,
//  agents that stop answering), then every fault healed and quiet_ms to converge, after
//  which every VM must run exactly once (S2). The same seed gives the same run. 0 or -1.
//  real_agents: the hosts run the real agent core (agent/agent_core.c) over the simulator's
//  single-threaded hypervisor; else scripted agents. ("manual" then means a hypervisor that
//  stops answering.)
int sim_run_random (sim_t *self, uint64_t seed, int64_t fault_ms, int64_t quiet_ms,
                    bool real_agents);

//  A seeded random HA schedule with the real agent core: 3-5 hosts, each with a watchdog,
//  a fence device that works, or both (some fence devices fail), 3-8 VMs, most of them HA;
//  fault_ms of random faults of every kind (crash and boot, partitions of every shape,
//  freeze and thaw, agent kill and start, scheduler outages and restarts, message loss,
//  delay and duplication, migrations, stops and starts), then every fault but power healed
//  for quiet_ms / 2 (HA VMs of hosts that stay off must run elsewhere: S2 after every
//  step), then every host booted for quiet_ms / 2, after which every VM must run exactly
//  once. S1 is checked after every step. 0 or -1.
int sim_run_random_ha (sim_t *self, uint64_t seed, int64_t fault_ms, int64_t quiet_ms);

//  Scale: hosts healthy agents (real_agents: the real agent core) with per_host VMs each,
//  all created at once, run for duration_ms of virtual time; at the end every VM must run
//  exactly once. 0 or -1.
int sim_run_scale (sim_t *self, int hosts, int per_host, int64_t duration_ms,
                   bool real_agents);

//  The virtual time now (ms).
int64_t sim_now (const sim_t *self);

//  Invariants broken so far (printed to the log as they were found): two hosts running one
//  VM by the agents' own lists (S1), memory differing from the database.
int sim_violations (const sim_t *self);

#endif
