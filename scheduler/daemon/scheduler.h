/*  scheduler.h - the vmsched scheduler daemon: one zloop over the agent and ctl sockets.

    Owns the store, the model, both ROUTER sockets, the fence runner and the loop. Each loop
    wake-up drains a socket (bounded), lets the model turn messages into mutations, writes
    them to the store in one batch, and only after the commit sends the replies (WELCOME,
    ctl answers) and hands the fence requests to the runner: nothing is acknowledged or
    fenced before it is durable. A fence result comes back the same way (core_on_fence_result,
    commit, send).
*/
#ifndef VMSCHED_SCHEDULER_H
#define VMSCHED_SCHEDULER_H

#include "config.h"
#include "ha.h"

#include <stdint.h>

typedef struct {
    char agent_endpoint [256];  // ROUTER for agents
    char ctl_endpoint [256];    // ROUTER for clusterctl
    char database [1024];       // SQLite file
    uint64_t heartbeat_ms;      // heartbeat interval told to agents
    uint64_t suspect_after_ms;  // silence that makes a host suspect
    uint64_t down_after_ms;     // silence that makes a host down
    char log_level [16];        // error, warn, info, debug
    char placement [16];        // spread or pack
    uint64_t cpu_overcommit_pct;    // vCPUs per 100 host CPUs allowed
    uint64_t mem_overcommit_pct;    // memory per 100 MiB of host memory allowed
    uint64_t start_concurrency;     // starts in flight per host
    uint64_t migrate_concurrency;   // maintenance migrations in flight per host
    uint64_t migration_timeout_ms;  // default live-migration timeout
    uint64_t stop_graceful_ms;      // ACPI shutdown grace before a stop destroys
    char secret_key [1024];         // the scheduler's CURVE secret key file
    char admin_key [1024];          // public key file of the first admin ("" none)
    //  [ha] (DESIGN.md §5): a profile, each of its timings overridable (0: the profile's).
    char ha_profile [16];           // "default" or "conservative"
    uint64_t ha_renew_ms;           // h
    uint64_t ha_lease_ms;           // L
    uint64_t ha_fence_ms;           // F
    uint64_t ha_watchdog_ms;        // W
    uint64_t ha_margin_ms;          // margin
    uint64_t ha_dead_after_ms;      // D
    uint64_t ha_witnesses;          // k (0: the profile's, 5)
    bool ha_allow_unfenced_hosts;   // HA VMs on hosts without watchdog or fence device
    uint64_t ha_max_restart;        // failed starts on one host before relocating
    uint64_t ha_max_relocate;       // other hosts tried, then the error state
    //  Not a key: the file the rest was read from ("": built-in defaults), whose
    //  [fence NAME] sections scheduler_new reads (fence.h).
    char config_file [1024];
} scheduler_config_t;

typedef struct scheduler scheduler_t;

//  The config file's keys (section [scheduler]), terminated by CONFIG_END. Its [fence NAME]
//  sections are fence_config_load's (one CONFIG_OTHER entry makes this table skip them).
extern const config_key_t scheduler_config_keys [];

//  Defaults for every key.
void scheduler_config_defaults (scheduler_config_t *config);

//  Check relations between keys (the HA timing inequalities among them). 0, or -1 with
//  reason in err.
int scheduler_config_check (const scheduler_config_t *config, char *err, size_t err_size);

//  The HA settings the config describes (profile, then the keys that override it). 0, or
//  -1 (unknown profile) with the reason in err.
int scheduler_ha_config (const scheduler_config_t *config, ha_config_t *ha, char *err,
                         size_t err_size);

//  Read the fence devices of config->config_file (fence_config_load; a [fence NAME] may name
//  a host that has not registered yet), open the database, recover the model, bump the
//  epoch, bind the sockets, start the fence runner. NULL with a reason in err.
scheduler_t *scheduler_new (const scheduler_config_t *config, char *err, size_t err_size);

//  Run until SIGINT/SIGTERM. Returns 0.
int scheduler_run (scheduler_t *self);

//  Close everything. NULL-safe; sets *self_p = NULL.
void scheduler_destroy (scheduler_t **self_p);

#endif
