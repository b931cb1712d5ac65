/*  agent_fx.h - what the agent core asks for: messages to send and hypervisor jobs to run.

    The agent core (agent_core.h) never sends, never calls the hypervisor and never reads a
    clock; every entry point appends its effects to an agent_fx_t instead: wire messages for
    the scheduler (already stamped with seq, session, host id and generation) and hypervisor
    jobs (hv_job_t). Whoever drives the core executes them: the daemon's shell (agent.c) sends
    the messages on its socket and hands the jobs to executor.c's threads; a simulator runs
    them against a fake on a virtual clock. A job's outcome goes back to the core as an
    hv_done_t that echoes the job, so the core needs no table of what it asked for.

    Pure data and memory helpers only: no czmq, zmq, libvirt or clock.
*/
#ifndef VMSCHED_AGENT_FX_H
#define VMSCHED_AGENT_FX_H

#include "hv.h"
#include "wire.h"

#include <stddef.h>
#include <stdint.h>

typedef enum {
    HV_JOB_NONE = 0,
    HV_JOB_CONNECT,             // (re)open the agent's connection, then read the capacity
    HV_JOB_LIST,                // every domain of the host (for a REPORT)
    HV_JOB_LOOKUP,              // one domain by uuid (for an EVENT)
    HV_JOB_COMMAND,             // start, stop or migrate, on worker `worker`
    HV_JOB_ABORT,               // abort the running job of command.vm_uuid
    HV_JOB_PROGRESS,            // progress of the running job of command.vm_uuid
    HV_JOB_KIND_COUNT
} hv_job_kind_t;

//  One hypervisor call (or short sequence of calls) the core wants made. COMMAND jobs run on
//  their own handle on worker `worker` (the core never gives a busy worker a second one);
//  every other kind runs on the agent's own connection, one at a time, in the order given.
typedef struct {
    hv_job_kind_t kind;         // what to do
    uint64_t link;              // the core's connection number when asked (echoed back)
    int worker;                 // COMMAND, ABORT, PROGRESS: the command's worker slot
    wire_command_t command;     // COMMAND: the command (domain_xml owned by the job);
                                // ABORT, PROGRESS: the running command (domain_xml NULL)
    hv_note_t note;             // LOOKUP: the lifecycle note that prompted it
} hv_job_t;

//  A job's outcome, as the executor (or a simulator) reports it to agent_core_on_done.
typedef struct {
    hv_job_t job;               // the job as asked (command.domain_xml NULL)
    int rc;                     // the hv call's return: -1 error (err says why), else its
                                // value (LOOKUP 1 found / 0 gone, ABORT 1 aborted / 0 none,
                                // PROGRESS 1 running / 0 none; 0 for the others)
    char err [WIRE_TEXT_SIZE * 2];  // rc -1: one-line reason
    wire_capacity_t capacity;   // CONNECT: the host's capacity as the hypervisor reports it
    wire_domain_t *domains;     // LIST: owned array (malloc'd), domain_count entries
    uint32_t domain_count;      // LIST: entries of domains
    wire_domain_t domain;       // LOOKUP found: the domain now
    hv_progress_t progress;     // PROGRESS running: the job's progress
    wire_command_result_t result;   // COMMAND: DONE or FAILED, message and elapsed time
} hv_done_t;

//  A message for a peer agent (witness leases): a request to peer, or (reply) the answer to
//  the peer message the call was given.
typedef struct {
    char peer [WIRE_ID_SIZE];   // destination host id (requests)
    bool reply;                 // the answer to the message being handled
    wire_msg_t msg;             // stamped like the scheduler's messages
} agent_peer_msg_t;

//  The effects of one call into the core. Fields are read by the executor of the effects;
//  only the core (and its tests) append.
typedef struct {
    wire_msg_t *msgs;           // messages for the scheduler, in order (each owns its body)
    size_t msg_count;           // used entries of msgs
    size_t msg_alloc;           // allocated entries of msgs
    hv_job_t *jobs;             // hypervisor jobs, in order (COMMAND jobs own their xml)
    size_t job_count;           // used entries of jobs
    size_t job_alloc;           // allocated entries of jobs
    agent_peer_msg_t *peer_msgs;    // messages for peer agents, in order
    size_t peer_msg_count;      // used entries of peer_msgs
    size_t peer_msg_alloc;      // allocated entries of peer_msgs
} agent_fx_t;

//  An empty effects list. NULL when out of memory.
agent_fx_t *agent_fx_new (void);

//  Free the list and everything it still owns. NULL-safe; sets *self_p = NULL.
void agent_fx_destroy (agent_fx_t **self_p);

//  Drop every entry (freeing what each still owns: report domains, command xml); the
//  allocations are kept for the next round.
void agent_fx_clear (agent_fx_t *self);

//  Append a message of kind (wire_msg_init'd) and return it for filling (valid until the
//  next append). NULL when out of memory (said in the log; the message is lost, as a send
//  the socket refuses would be).
wire_msg_t *agent_fx_msg (agent_fx_t *self, wire_kind_t kind);

//  Append a message of kind for peer (NULL: the reply to the peer message being handled)
//  and return it for filling. NULL when out of memory (said in the log).
wire_msg_t *agent_fx_peer_msg (agent_fx_t *self, wire_kind_t kind, const char *peer);

//  Append a zeroed job of kind and return it for filling (valid until the next append).
//  NULL when out of memory (said in the log).
hv_job_t *agent_fx_job (agent_fx_t *self, hv_job_kind_t kind);

//  Free what a job owns (the command's xml) and zero it.
void hv_job_reset (hv_job_t *job);

//  Free what an outcome owns (the domain list) and zero it.
void hv_done_reset (hv_done_t *done);

//  "connect", "list", "lookup", "command", "abort", "progress" (logs).
const char *hv_job_kind_name (hv_job_kind_t kind);

#endif
