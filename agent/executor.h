/*  executor.h - runs the agent core's hypervisor jobs in threads, off the agent's loop.

    Every hypervisor call of the agent runs here, never in its zloop, so a hung or slow
    libvirtd cannot delay a heartbeat. There are two kinds of lane, each a zactor thread:
    `workers` command lanes, each with its own handle (hv_share of the agent's) for the long
    COMMAND jobs (start, stop, migrate: one at a time per lane, the core picks the lane), and
    one query lane that owns the agent's own handle (the one registered for lifecycle events)
    and runs every other job (connect, list, lookup, abort, progress) one at a time, in the
    order submitted. A job crosses to its lane as a heap copy and comes back as a heap
    hv_done_t (ownership passes with the pointer, the czmq idiom for actors); the agent reads
    outcomes from the lanes' sockets in its zloop. A lane's pipe holds 1000 messages before
    executor_submit blocks; the core's bounds on outstanding jobs (agent_core.h) keep the
    query lane far below that, and a command lane never has more than one.
*/
#ifndef VMSCHED_EXECUTOR_H
#define VMSCHED_EXECUTOR_H

#include "agent_fx.h"
#include "hv.h"

#include <czmq.h>

typedef struct executor_t executor_t;

//  The query lane takes *hv_p (also on failure; *hv_p becomes NULL); each of `workers`
//  command lanes gets a handle shared from it before the query lane starts. NULL on failure.
executor_t *executor_new (hv_t **hv_p, int workers);

//  Waits for every lane to finish what it was given (outcomes still unread are dropped),
//  then stops the threads and frees the handles. NULL-safe; sets *self_p = NULL.
void executor_destroy (executor_t **self_p);

//  Number of lanes (workers + 1) and the socket of lane i, for the agent's zloop (readable
//  when an outcome is waiting). Lanes 0 .. workers - 1 run COMMAND jobs of that worker slot;
//  the last lane is the query lane.
int executor_lanes (const executor_t *self);
zsock_t *executor_socket (executor_t *self, int lane);

//  Hand job to its lane: a COMMAND to worker job->worker's lane, any other kind to the
//  query lane. Takes what the job owns (its xml), also on failure. 0, or -1 with the reason
//  in err (the job was not run: see executor_fail).
int executor_submit (executor_t *self, hv_job_t *job, char *err, size_t err_size);

//  Read lane's next outcome into *done (the caller owns it: hv_done_reset). 0, or -1 when
//  there was nothing to read.
int executor_collect (executor_t *self, int lane, hv_done_t *done);

//  Run job on hv in the calling thread and describe its outcome in *done (zeroed first; the
//  job is copied without its xml). COMMAND jobs connect hv first and disconnect it after (a
//  worker's handle); the others use hv as it is (the agent's handle). What every lane does;
//  a simulator may call it directly.
void executor_run (hv_t *hv, const hv_job_t *job, hv_done_t *done);

//  The outcome of a job that could not run: rc -1 with why, and for a COMMAND a FAILED
//  result saying so.
void executor_fail (const hv_job_t *job, const char *why, hv_done_t *done);

#endif
