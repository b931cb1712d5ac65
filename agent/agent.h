/*  agent.h - the vmsched agent daemon: one zloop between the hypervisor and the scheduler.

    The shell around the pure agent core (agent_core.h): it owns the identity, the DEALER
    socket to the scheduler, the loop and the executor (whose threads own every hypervisor
    handle), and it only moves facts into the core and executes what the core returns. The
    agent registers (HELLO until WELCOME), then sends a HEARTBEAT every heartbeat interval, a
    full REPORT every report interval and after every (re)connection to the hypervisor, and
    an EVENT as soon as libvirt reports a lifecycle change; it runs the scheduler's commands.
    For HA it renews its leases from the scheduler and from its witnesses (CURVE between
    agents, witness_link.h), grants and watches the peers it witnesses, keeps its witness
    blocks and lease on disk (lease_store.h), and runs the fencer thread (fencer.h) that kills
    the host's HA domains and stops petting the watchdog when the host is not connected.
    The loop never calls the hypervisor, so a hung libvirtd cannot delay a heartbeat. It
    never changes a domain on its own: stopping or restarting the agent leaves every VM
    running as it was.
*/
#ifndef VMSCHED_AGENT_H
#define VMSCHED_AGENT_H

#include "config.h"
#include "hv.h"

#include <stdint.h>

typedef struct {
    char name [WIRE_NAME_SIZE];         // host name in the cluster (default: hostname)
    char scheduler [256];               // scheduler's agent endpoint
    char libvirt_uri [WIRE_TEXT_SIZE];  // hypervisor connection
    char state_dir [1024];              // keeps the host id across restarts
    char migration_uri [WIRE_TEXT_SIZE];    // where peers migrate to ("" = qemu+tls://NAME/system)
    char secret_key [1024];             // this host's CURVE secret key file
    char scheduler_key [1024];          // the scheduler's public key file
    uint64_t heartbeat_ms;              // heartbeat interval until the scheduler sets one
    uint64_t report_ms;                 // full report interval
    uint64_t hello_retry_ms;            // HELLO retry interval while unanswered
    uint64_t workers;                   // commands run at the same time
    char log_level [16];                // error, warn, info, debug
    uint64_t cpus;                      // [capacity] override: CPUs (0 = hypervisor's)
    uint64_t memory_mib;                // [capacity] override: memory (0 = hypervisor's)
    //  [ha] (DESIGN.md §5)
    char witness_bind [256];            // where this host's witness listens ("": nowhere)
    char witness_endpoint [256];        // how peers reach it ("": tcp://NAME:PORT of bind)
    char watchdog [1100];               // none, file:PATH (the lab's stand-in) or a device
    char qemu_run_dir [1024];           // libvirt's QEMU state dir (pidfiles, status XML)
    char cgroup_root [1024];            // where the machine cgroups are mounted
} agent_config_t;

//  Counters for tests and logs.
typedef struct {
    uint64_t sent;                      // messages handed to the socket
    uint64_t dropped;                   // messages the socket refused (not connected, full)
    uint64_t received;                  // valid messages from the scheduler
    uint64_t malformed;                 // undecodable or unexpected messages
    uint64_t rejects;                   // REJECTs received
    uint64_t registrations;             // WELCOMEs accepted
    uint64_t events;                    // EVENTs sent
    uint64_t reports;                   // REPORTs sent
    uint64_t hv_connects;               // successful hypervisor connections
} agent_stats_t;

typedef struct agent agent_t;

//  The config file's keys ([agent] and [capacity]), terminated by CONFIG_END.
extern const config_key_t agent_config_keys [];

//  Defaults for every key (name = this machine's host name).
void agent_config_defaults (agent_config_t *config);

//  Check values that the table cannot (log level, endpoint form). 0, or -1 with reason.
int agent_config_check (const agent_config_t *config, char *err, size_t err_size);

//  Create the agent: load or create the host id in state_dir, read the boot id, connect the
//  socket, start the executor (connecting the hypervisor happens in its query lane, asked
//  for by the core, with retries). Takes ownership of *hv_p (also on failure; the caller
//  may keep the pointer for hv_fail_at, which is thread safe). NULL with a reason in err.
agent_t *agent_new (const agent_config_t *config, hv_t **hv_p, char *err, size_t err_size);

//  Run until SIGINT/SIGTERM (returns 0) or a fatal error (returns 1, logged).
int agent_run (agent_t *self);

//  Run the loop for about ms milliseconds, then return (tests).
void agent_run_for (agent_t *self, int ms);

//  Registration state and counters (tests, logs).
const char *agent_host_id (const agent_t *self);
uint64_t agent_generation (const agent_t *self);      // 0 while not registered
const agent_stats_t *agent_stats (const agent_t *self);

//  Stop and free; never touches domains. NULL-safe; sets *self_p = NULL.
void agent_destroy (agent_t **self_p);

#endif
