/*  loader.h - the cluster state between the store and a scheduler core: loading, and the
    commit that keeps memory equal to the database.

    One reader of the database for the core: at start-up, and after a failed commit, when
    memory must again equal the database (DESIGN.md §4: memory is never ahead of what is
    durable). The core's memory changes with its decisions and is rolled back this way when
    the batch that recorded them fails; live facts the database never held (which agent
    connection a host speaks through, when it was last heard) survive the reload.
*/
#ifndef VMSCHED_LOADER_H
#define VMSCHED_LOADER_H

#include "core.h"
#include "store.h"

//  Fill an empty core from the store: hosts (silent since now), observed copies, managed
//  VMs, rules, may-run entries (their commands taken as sent at now), and the operation id
//  base. 0, or -1 after logging what could not be read.
int loader_load (core_t *core, store_t *store, int64_t now);

//  Roll the core back to the store after a failed commit: its cluster and desired state are
//  read again, every host keeps its connection and liveness but must report again (what it
//  reported in the lost batch is gone), operations in flight are forgotten (their records
//  were never durable or are read back as the database has them). 0 or -1.
int loader_reload (core_t *core, store_t *store, int64_t now);

//  Commits the mutations of one or more core entry points as the daemon does: numbers them
//  from *seq on (mutation_t.seq), writes them in one batch and commits. 0 when durable (*seq
//  is then the last number given); -1 when the batch failed, after rolling core back to the
//  store (loader_reload; the numbers are given out again). The messages in fx may leave only
//  after 0. fx's mutations are left for the caller to clear.
int loader_commit (core_t *core, store_t *store, fx_t *fx, uint64_t *seq, int64_t now);

#endif
