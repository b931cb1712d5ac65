/*  executor.h - runs the agent's commands (start, stop, migrate) in worker threads.

    Each worker is a zactor with its own hypervisor handle (hv_share of the agent's), so a
    migration that takes a minute never blocks the agent's loop: heartbeats, reports and
    events keep flowing. The agent submits a command; when its worker is done it sends back
    a wire_command_result_t, which the agent reads from the worker's socket. Commands for the
    same VM never run at the same time (the agent queues them); ABORT is not a worker command
    (the agent calls hv_abort_job itself, which makes the worker's migrate return).
*/
#ifndef VMSCHED_EXECUTOR_H
#define VMSCHED_EXECUTOR_H

#include "hv.h"

#include <czmq.h>

typedef struct executor_t executor_t;

//  A finished command, as a worker reports it.
typedef struct {
    wire_command_result_t result;   // DONE or FAILED, with the message
    int worker;                     // which worker ran it (now idle)
} executor_done_t;

//  workers threads, each with its own handle shared from hv. NULL on failure.
executor_t *executor_new (hv_t *hv, int workers);

//  Waits for running commands to finish, then stops the workers. NULL-safe.
void executor_destroy (executor_t **self_p);

//  Number of workers and whether worker i is idle.
int  executor_size (const executor_t *self);
bool executor_idle (const executor_t *self, int worker);

//  The socket of worker i, for the agent's zloop (readable when a command finished).
zsock_t *executor_socket (executor_t *self, int worker);

//  Run command (copied; the xml is duplicated) on an idle worker. Returns the worker index,
//  or -1 when every worker is busy.
int executor_submit (executor_t *self, const wire_command_t *command);

//  Read worker i's finished command into *done (worker i becomes idle). 0, or -1 when there
//  was nothing to read.
int executor_collect (executor_t *self, int worker, executor_done_t *done);

#endif
