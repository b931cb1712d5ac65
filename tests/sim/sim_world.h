/*  sim_world.h - the simulator's world, shared by its files (not an interface of sim.h).

    sim.c owns the world: the real scheduler core and store, the links, the scripted and
    real agents, the clock and the script. sim_ha.c is the physical side of HA that the
    agent's shell and the hardware provide in production: power (crash, boot, watchdog
    reset), the fencer thread, the watchdog, fence devices, the disk that keeps witness
    blocks and the lease of a boot, the links between agents and their partitions, and the
    invariants S1 and S2 counted from the hypervisors. sim_random.c builds seeded random
    schedules out of script lines. Everything here is single-threaded on a virtual clock.
*/
#ifndef VMSCHED_SIM_WORLD_H
#define VMSCHED_SIM_WORLD_H

#include "sim.h"
#include "agent_core.h"

#include <stdarg.h>

#define SIM_FENCE_POLL_MS  100          // the fencer looks this often (fencer.h default)
#define SIM_PET_MS         1000         // ... and pets the watchdog at most this often
#define SIM_S2_SLACK_MS    15000        // S2: a VM runs again within D + this
#define SIM_BOOT_MS        3000         // default: a reset host's agent starts after this
#define SIM_FENCE_DELAY_MS 1000         // default: a fence agent powers off after this

typedef struct {
    char name [WIRE_NAME_SIZE];         // VM name
    char uuid [WIRE_ID_SIZE];           // derived from its index
    uint64_t memory_mib;                // size
    uint32_t vcpus;                     // vCPUs
    int32_t priority;                   // start order
    bool ha;                            // restarted elsewhere when its host dies
    int64_t ok_at;                      // S2: last step it ran, was not wanted, or was
                                        // excused (no capacity, injected failures)
    bool s2_reported;                   // S2 said for the current outage
    bool s1_reported;                   // S1 said for the current double run
    uint32_t failures;                  // S2: the restart policy's count when last seen
    bool usage_set;                     // `usage` was given: reports carry usage counters
    double cores;                       // CPU the VM uses from usage_at on (cores)
    double wait;                        // vCPUs waiting for a CPU from usage_at on
    uint64_t cpu_ns;                    // CPU counter at usage_at
    uint64_t delay_ns;                  // vCPU wait counter at usage_at
    uint64_t rss_kib;                   // memory in use (reported as balloon.rss)
    int64_t usage_at;                   // virtual ms of the last change of usage
} s_vm_t;

//  The last command an agent received for a VM (what `result` answers).
typedef struct {
    uint64_t id;                        // command id
    command_action_t action;            // what it asked
    char target [WIRE_NAME_SIZE];       // MIGRATE: target host name
    bool executed;                      // carried out (a repeat is then answered only)
} s_last_command_t;

//  One witness block on a host's disk.
typedef struct {
    char host_id [WIRE_ID_SIZE];        // the blocked peer
    uint64_t generation;                // its registration
} s_disk_block_t;

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
    //  HA (real agents): the host around the agent
    bool watchdog;                      // has a watchdog (HELLO "file /sim/NAME")
    int fence;                          // fence device: 0 none, 1 powers off, -1 fails
    bool off;                           // powered off (crashed, reset, fenced): nothing runs
    bool agent_dead;                    // the agent process is not running (host on)
    bool frozen;                        // the whole host stands still; domains still exist
    uint32_t boot;                      // boot number (boot id boot-NAME-BOOT)
    int64_t boot_at;                    // a reset host boots at this time (0: no)
    vec_t disk_blocks;                  // s_disk_block_t: witness blocks saved (survive all)
    int64_t disk_until;                 // connected_until saved by the agent, of boot
    uint32_t disk_boot;                 // ... disk_boot (a reboot makes it meaningless)
    bool latched;                       // fencer: lease ran out, kills HA domains
    uint64_t latched_generation;        // ... the registration it latched in
    bool latch_said;                    // ... and said so (a boot's latch is quiet)
    bool armed;                         // watchdog opened this boot (first pet)
    int64_t last_pet;                   // watchdog: last pet
    bool cut_scheduler;                 // partition: nothing between it and the scheduler
    uint64_t cut_peers;                 // partition: bit i: nothing between it and host i
    int loss_pct;                       // every message of its links lost with this chance
    int fail_starts [SIM_VMS_MAX];      // starts of VM i its hypervisor fails still
    bool over_reported;                 // the capacity violation was said
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

//  A message between two agents (witness leases): RENEW or GRANT, kept small (a wire_msg_t
//  is 7.6 kB, most of it a lease config's room) and made whole again on delivery.
typedef struct {
    int from, to;                       // agent indexes
    int64_t due;                        // virtual ms it arrives
    wire_kind_t kind;                   // WIRE_RENEW or WIRE_GRANT
    uint32_t version;                   // the envelope as stamped
    uint64_t seq, generation, session;  // ...
    char host_id [WIRE_ID_SIZE];        // ...
    union {
        wire_renew_t renew;             // WIRE_RENEW
        wire_grant_t grant;             // WIRE_GRANT
    } body;
} s_peer_delivery_t;

//  A fence request being carried out.
typedef struct {
    int agent;                          // the host to power off
    int64_t due;                        // when the fence agent is done
    uint32_t scheduler_run;             // the scheduler process that asked
} s_fencing_t;

struct sim {
    FILE *out;                          // the log
    char db_path [512];                 // the store's file
    store_t *store;                     // the real database
    core_t *core;                       // the real core (NULL while the scheduler is down)
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
    bool peer_flushing;                 // sim_peer_flush is running
    int workers;                        // real agents: command workers each (default 2)
    vec_t inbound;                      // s_inbound_t: agent messages still on their way
    uint64_t link_random;               // the links' own random state (delays, seeded)
    vec_t deliveries;                   // s_delivery_t waiting to be handed to agents
    vec_t peer_deliveries;              // s_peer_delivery_t between agents
    vec_t peer_batch;                   // ... those being handed over (sim_peer_flush)
    vec_t fencings;                     // s_fencing_t in progress
    uint64_t next_session;              // agents' sessions, deterministic
    int violations;                     // invariants broken
    bool scheduler_down;                // the scheduler process is stopped
    uint32_t scheduler_run;             // scheduler processes started so far
    char fence_names [SIM_HOSTS_MAX][WIRE_NAME_SIZE];   // hosts with a fence device
    const char *fence_list [SIM_HOSTS_MAX];             // ... as core_config_t wants them
    int64_t fence_delay_ms;             // a fence agent takes this long
    int64_t boot_ms;                    // a reset host's agent starts after this
    int64_t clean_since;                // S2: since when the world allows a failover
    bool check_s2;                      // S2 is checked after every step
    vec_t rules;                        // rule_record_t from cluster.json (S2's capacity)
};

//  sim.c
void sim_say (sim_t *self, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
void sim_violation (sim_t *self, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));
s_agent_t *sim_agent (sim_t *self, const char *name);
int sim_vm_index (sim_t *self, const char *name_or_uuid);
bool sim_runs (const s_agent_t *agent, const char *vm);
void sim_run_remove (s_agent_t *agent, const char *vm);
int64_t sim_link_delay (sim_t *self, int64_t max_ms);
void sim_real_start (sim_t *self, s_agent_t *agent);
void sim_real_flush (sim_t *self, s_agent_t *agent, int reply_to);
void sim_real_note (sim_t *self, s_agent_t *agent, int vm, event_kind_t event);
void sim_commit (sim_t *self);
int sim_command (sim_t *self, char *line);
int sim_do (sim_t *self, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
void sim_step (sim_t *self);
void sim_summary (sim_t *self);
int sim_size (sim_t *self, int hosts, int vms);
int sim_create (sim_t *self, int vm);
int sim_open_core (sim_t *self);

//  sim_ha.c
//  The agent process of a real host is running: it computes, sends and receives.
bool sim_agent_alive (const s_agent_t *agent);
//  True when a message between agents a and b (indexes) is lost to a partition or loss.
//  (sending: also the links' chance of loss, drawn once per message.)
bool sim_peer_lost (sim_t *self, int a, int b, bool sending);
//  True when a message between agent and the scheduler is lost to a partition or loss.
bool sim_scheduler_lost (sim_t *self, const s_agent_t *agent, bool sending);
void sim_peer_send (sim_t *self, int from, int to, const wire_msg_t *msg);
void sim_peer_flush (sim_t *self);
//  After a call into agent's core: save new blocks and the lease on its disk.
void sim_disk_save (sim_t *self, s_agent_t *agent);
//  A new agent process of agent: loads the blocks from its disk; returns the lease to
//  restore (connected_until of this boot, 0 after a reboot).
int64_t sim_disk_restore (sim_t *self, s_agent_t *agent);
//  A new agent process's fencer thread polls at once: latched when the restored lease
//  is over (the usual case after a boot), so it unlatches only after a registration.
void sim_fencer_start (sim_t *self, s_agent_t *agent);
//  After each step: fencers, watchdogs, fence agents, boots, then the invariants.
void sim_ha_step (sim_t *self);
//  Fence requests of the scheduler (fx.fences), before fx is cleared.
void sim_fence_requests (sim_t *self);
//  Script verbs of HA faults (crash, boot, freeze, thaw, kill-agent, start-agent,
//  partition, heal, loss, fail-start, fence-device): 0 done, -1 bad, 1 not an HA verb.
int sim_ha_command (sim_t *self, char **words, int count);
//  Free what the HA side owns of agent.
void sim_ha_free (s_agent_t *agent);

//  sim_random.c: the seeded random schedules (sim.h)

#endif
