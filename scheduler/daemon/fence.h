/*  fence.h - fence agents for the leader (DESIGN.md §5.5), run in a worker thread.

    A fence agent is a program of the fence-agents project's convention (fence_ipmilan,
    fence_apc, ... and the lab's tests/lab/fence_vmsched_lab): it is executed with no
    arguments, reads its options as `key=value` lines on stdin until end of file, including
    `action=off` or `action=status`, and exits 0 on success. For action=status it exits 0 when
    the plug is on, 2 when it is off, 1 on error.

    Fencing a host: run action=off; if that exits 0, run action=status at once and then every
    poll_ms until it exits 2 (off) or the host's timeout_ms, counted from the start of the off
    run, has passed. Confirmed means a status run said off; anything else is a failure with a
    reason. Every run is killed (SIGKILL to its process group, then reaped) when it reaches
    that deadline, so a hung agent costs timeout_ms and no more. An agent gets stdin from a
    pipe, stdout and stderr into pipes of which the first 1 KiB each is kept for the reason
    (stderr preferred), no other file descriptor of ours, a process group of its own, the
    default signal dispositions and an empty signal mask. After it exits, what is left of
    its process group is killed too.

    Configuration: one section per fenced host in the scheduler's config file, read by a
    second pass of its own (the [scheduler] table skips these sections):

        [fence h1]                      ; h1: the host's cluster name
        agent = /usr/sbin/fence_ipmilan ; required: absolute path of an executable
        timeout_ms = 20000              ; optional, 100..3600000: deadline of the whole fence
        poll_ms = 500                   ; optional, 10..60000: pause between status runs
        ip = 10.0.0.5                   ; everything else: options, passed verbatim
        username = admin
        password = secret
        lanplus = 1

    The agent is checked when the file is loaded (exists, regular file, executable). Option
    names are letters, digits, '_' and '-'; `action` is refused (the runner sets it); a name
    may appear once per section. Option values are never logged, and values of options whose
    name contains "pass" (password, passwd, ...) are blanked out of agent output before it
    becomes a reason.

    The runner has one worker thread (a zactor): fences are rare, and one at a time is
    enough; requests for several hosts wait in order (each costs at most its timeout_ms). The
    worker talks to the caller's loop only by messages on the actor's pipe; it reads the
    configuration copy it was given and nothing else of the caller's.
*/
#ifndef VMSCHED_FENCE_H
#define VMSCHED_FENCE_H

#include "vec.h"

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FENCE_NAME_SIZE     128     // host names (as WIRE_NAME_SIZE)
#define FENCE_PATH_SIZE     1024    // agent paths
#define FENCE_REASON_SIZE   1536    // a result's reason: a line and up to 1 KiB of output

//  One option given to an agent (a `key = value` line of its section but agent,
//  timeout_ms and poll_ms).
typedef struct {
    char *key;                  // option name (owned)
    char *value;                // its value, verbatim (owned; may be a secret: never logged)
} fence_option_t;

//  One host's fence device: section [fence NAME].
typedef struct {
    char name [FENCE_NAME_SIZE];    // the host's cluster name
    char agent [FENCE_PATH_SIZE];   // absolute path of the fence agent
    uint64_t timeout_ms;            // off and a status saying off must be done within this
    uint64_t poll_ms;               // pause between status runs
    vec_t options;                  // fence_option_t, in file order
} fence_host_t;

//  Every host's fence device.
typedef struct {
    vec_t hosts;                    // fence_host_t, sorted by name
} fence_config_t;

//  An empty configuration (no host has a fence device).
void fence_config_init (fence_config_t *self);

//  Read every [fence NAME] section of the config file PATH into *out (not read before:
//  initialised here; other sections are ignored) and check each agent. 0, or -1 with a
//  complete message in err (*out then empty): "config '/etc/vmsched/scheduler.conf' line 12:
//  [fence h1] agent '/usr/sbin/fence_ipmilan' is not executable".
int fence_config_load (const char *path, fence_config_t *out, char *err, size_t err_size);

//  The fence device of host_name, or NULL when it has none. Borrowed from self.
const fence_host_t *fence_config_find (const fence_config_t *self, const char *host_name);

//  Deep copy of from into *to (not read before). 0, or -1 when out of memory (*to empty).
int fence_config_copy (const fence_config_t *from, fence_config_t *to);

//  Free what self holds and leave it empty. NULL-safe.
void fence_config_free (fence_config_t *self);

typedef enum {
    FENCE_CONFIRMED_OFF,        // off succeeded and a status run said off
    FENCE_FAILED                // anything else (see the reason)
} fence_outcome_t;

//  "confirmed-off" or "failed".
const char *fence_outcome_name (fence_outcome_t outcome);

//  How one fence request ended.
typedef struct {
    char host_name [FENCE_NAME_SIZE];   // the host fenced
    uint64_t request_id;                // the id of the request that started the run
    fence_outcome_t outcome;            // confirmed or not
    char reason [FENCE_REASON_SIZE];    // "off confirmed by status after 1234 ms",
                                        // "fence_ipmilan exited 1: Unable to connect", ...
    uint64_t elapsed_ms;                // from the start of the off run to the outcome
} fence_result_t;

typedef struct fence_runner fence_runner_t;

//  Start the worker with a copy of config. NULL with the reason in err.
fence_runner_t *fence_runner_new (const fence_config_t *config, char *err, size_t err_size);

//  Stop the worker: a running agent's process group is killed and reaped, queued requests
//  and results not taken are dropped; returns when the worker has ended. NULL-safe; sets
//  *self_p = NULL.
void fence_runner_destroy (fence_runner_t **self_p);

//  Queue a fence of host_name. Returns 0 when queued; 1 when host_name is already requested
//  and its result not yet taken (coalesced: that one result answers both, carrying the
//  first request's id); -1 when host_name has no fence device (logged) or the worker is
//  gone. Never blocks on an agent.
int fence_runner_request (fence_runner_t *self, const char *host_name, uint64_t request_id);

//  True while host_name is requested and its result not yet taken.
bool fence_runner_pending (const fence_runner_t *self, const char *host_name);

//  The socket the caller's zloop polls: readable when a result is waiting (zloop_reader,
//  then fence_runner_take until it returns -1). Borrowed; only fence_runner_take reads it.
zsock_t *fence_runner_socket (fence_runner_t *self);

//  Take the next result into *out without blocking. 0, or -1 when none is waiting.
int fence_runner_take (fence_runner_t *self, fence_result_t *out);

#endif
