/*  scheduler.h - the vmsched scheduler daemon: one zloop over the agent and ctl sockets.

    Owns the store, the model, both ROUTER sockets and the loop. Each loop wake-up drains a
    socket (bounded), lets the model turn messages into mutations, writes them to the store in
    one batch, and only after the commit sends the replies (WELCOME, ctl answers): nothing is
    acknowledged before it is durable.
*/
#ifndef VMSCHED_SCHEDULER_H
#define VMSCHED_SCHEDULER_H

#include "config.h"

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
} scheduler_config_t;

typedef struct scheduler scheduler_t;

//  The config file's keys (section [scheduler]), terminated by CONFIG_END. Its [fence NAME]
//  sections are fence_config_load's (one CONFIG_OTHER entry makes this table skip them).
extern const config_key_t scheduler_config_keys [];

//  Defaults for every key.
void scheduler_config_defaults (scheduler_config_t *config);

//  Check relations between keys. 0, or -1 with reason in err.
int scheduler_config_check (const scheduler_config_t *config, char *err, size_t err_size);

//  Open the database, recover the model, bump the epoch, bind the sockets. NULL with a
//  reason in err.
scheduler_t *scheduler_new (const scheduler_config_t *config, char *err, size_t err_size);

//  Run until SIGINT/SIGTERM. Returns 0.
int scheduler_run (scheduler_t *self);

//  Close everything. NULL-safe; sets *self_p = NULL.
void scheduler_destroy (scheduler_t **self_p);

#endif
