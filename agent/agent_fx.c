/*  agent_fx.c - the agent core's effects list (see agent_fx.h).

    Owns two growing arrays (messages, jobs) and whatever their entries own. Never executes
    anything.
*/
#include "agent_fx.h"
#include "vec.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


agent_fx_t *
agent_fx_new (void)
{
    return calloc (1, sizeof (agent_fx_t));
}

void
agent_fx_destroy (agent_fx_t **self_p)
{
    agent_fx_t *self = *self_p;
    if (!self)
        return;
    agent_fx_clear (self);
    free (self->msgs);
    free (self->jobs);
    free (self->peer_msgs);
    free (self);
    *self_p = NULL;
}

void
agent_fx_clear (agent_fx_t *self)
{
    for (size_t i = 0; i < self->msg_count; i++)
        wire_msg_reset (&self->msgs [i]);
    for (size_t i = 0; i < self->job_count; i++)
        hv_job_reset (&self->jobs [i]);
    for (size_t i = 0; i < self->peer_msg_count; i++)
        wire_msg_reset (&self->peer_msgs [i].msg);
    self->msg_count = 0;
    self->job_count = 0;
    self->peer_msg_count = 0;
}

//  Makes room for one more entry of size bytes in *array, through the one growable array
//  (common/vec): the lists stay plain arrays for their readers. 0, or -1 when out of memory.
static int
s_grow (void **array, size_t *alloc, size_t count, size_t size)
{
    vec_t view = { *array, size, count, *alloc };
    if (vec_reserve (&view, count + 1))
        return -1;
    *array = view.items;
    *alloc = view.capacity;
    return 0;
}

wire_msg_t *
agent_fx_msg (agent_fx_t *self, wire_kind_t kind)
{
    if (s_grow ((void **) &self->msgs, &self->msg_alloc, self->msg_count, sizeof *self->msgs)) {
        log_error ("cannot queue a %s message: out of memory", wire_kind_name (kind));
        return NULL;
    }
    wire_msg_t *msg = &self->msgs [self->msg_count++];
    wire_msg_init (msg, kind);
    return msg;
}

wire_msg_t *
agent_fx_peer_msg (agent_fx_t *self, wire_kind_t kind, const char *peer)
{
    if (s_grow ((void **) &self->peer_msgs, &self->peer_msg_alloc, self->peer_msg_count,
                sizeof *self->peer_msgs)) {
        log_error ("cannot queue a %s message for a peer: out of memory", wire_kind_name (kind));
        return NULL;
    }
    agent_peer_msg_t *entry = &self->peer_msgs [self->peer_msg_count++];
    memset (entry, 0, sizeof *entry);
    entry->reply = peer == NULL;
    snprintf (entry->peer, sizeof entry->peer, "%s", peer? peer: "");
    wire_msg_init (&entry->msg, kind);
    return &entry->msg;
}

hv_job_t *
agent_fx_job (agent_fx_t *self, hv_job_kind_t kind)
{
    if (s_grow ((void **) &self->jobs, &self->job_alloc, self->job_count, sizeof *self->jobs)) {
        log_error ("cannot queue a hypervisor %s job: out of memory", hv_job_kind_name (kind));
        return NULL;
    }
    hv_job_t *job = &self->jobs [self->job_count++];
    memset (job, 0, sizeof *job);
    job->kind = kind;
    return job;
}

void
hv_job_reset (hv_job_t *job)
{
    free (job->command.domain_xml);
    memset (job, 0, sizeof *job);
}

void
hv_done_reset (hv_done_t *done)
{
    free (done->job.command.domain_xml);
    free (done->domains);
    memset (done, 0, sizeof *done);
}

const char *
hv_job_kind_name (hv_job_kind_t kind)
{
    static const char *names [HV_JOB_KIND_COUNT] = {
        "none", "connect", "list", "lookup", "command", "abort", "progress"
    };
    return (unsigned) kind < HV_JOB_KIND_COUNT? names [kind]: "invalid";
}
