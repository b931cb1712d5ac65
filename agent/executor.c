/*  executor.c - the agent's hypervisor lanes (see executor.h).

    Owns the lane actors and, through them, every hypervisor handle of the agent. A command
    lane connects its handle for each command and disconnects after it: commands are rare, and
    a fresh connection never carries a stale state from a libvirtd that restarted. The query
    lane keeps the agent's connection as CONNECT jobs leave it. The only place that changes
    domains (executor_run's COMMAND case).

    A lane's protocol: "JOB" + pointer (an hv_job_t it frees) is answered by a pointer to an
    hv_done_t; "END" is answered by a NULL pointer once everything before it is done, which
    lets executor_destroy drain a lane before stopping it.
*/
#include "executor.h"
#include "clock.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    zactor_t *actor;            // the lane's thread
} s_lane_t;

struct executor_t {
    s_lane_t *lanes;            // owned array: command lanes, then the query lane
    int count;                  // lanes started
    int workers;                // command lanes (the query lane is lanes [workers])
};

//  What a lane thread gets at start.
typedef struct {
    hv_t *hv;                   // owned by the lane
} s_lane_args_t;

//  --------------------------------------------------------------------------
//  Running jobs

void
executor_fail (const hv_job_t *job, const char *why, hv_done_t *done)
{
    memset (done, 0, sizeof *done);
    done->job = *job;
    done->job.command.domain_xml = NULL;
    done->rc = -1;
    snprintf (done->err, sizeof done->err, "%s", why);
    if (job->kind == HV_JOB_COMMAND) {
        wire_command_result_t *result = &done->result;
        result->id = job->command.id;
        snprintf (result->vm_uuid, sizeof result->vm_uuid, "%s", job->command.vm_uuid);
        result->vm_generation = job->command.vm_generation;
        result->status = RESULT_FAILED;
        snprintf (result->message, sizeof result->message, "%s", why);
    }
}

//  Runs one command on hv (connecting it for the command); fills result.
static void
s_command (hv_t *hv, const wire_command_t *command, wire_command_result_t *result)
{
    char err [WIRE_TEXT_SIZE * 2] = "";
    int64_t started = clock_boottime_ms ();
    int rc = hv_connect (hv, err, sizeof err);
    if (rc == 0) {
        switch (command->action) {
            case COMMAND_START:
                rc = hv_start (hv, command->vm_uuid, command->vm_name, command->domain_xml,
                               err, sizeof err);
                if (rc >= 0)
                    snprintf (err, sizeof err, "%s", rc? "started": "was already running");
                break;
            case COMMAND_STOP:
                rc = hv_stop (hv, command->vm_uuid, command->graceful_ms, err, sizeof err);
                if (rc >= 0)
                    snprintf (err, sizeof err, "%s", rc? "stopped": "was not running");
                break;
            case COMMAND_MIGRATE:
                rc = hv_migrate (hv, command->vm_uuid, command->target_uri, err, sizeof err);
                if (rc == 0)
                    snprintf (err, sizeof err, "migrated to '%s'", command->target_host);
                break;
            default:
                snprintf (err, sizeof err, "'%s' is not a worker command",
                          command_action_name (command->action));
                rc = -1;
        }
        hv_disconnect (hv);
    }
    result->id = command->id;
    snprintf (result->vm_uuid, sizeof result->vm_uuid, "%s", command->vm_uuid);
    result->vm_generation = command->vm_generation;
    result->status = rc < 0? RESULT_FAILED: RESULT_DONE;
    snprintf (result->message, sizeof result->message, "%s", err);
    result->elapsed_ms = (uint32_t) (clock_boottime_ms () - started);
}

void
executor_run (hv_t *hv, const hv_job_t *job, hv_done_t *done)
{
    memset (done, 0, sizeof *done);
    done->job = *job;
    done->job.command.domain_xml = NULL;
    const char *uuid = job->command.vm_uuid;
    switch (job->kind) {
        case HV_JOB_CONNECT:
            //  A lost connection is still open: close it before opening a new one.
            hv_disconnect (hv);
            done->rc = hv_connect (hv, done->err, sizeof done->err);
            if (done->rc == 0)
                done->rc = hv_capacity (hv, &done->capacity, done->err, sizeof done->err);
            break;
        case HV_JOB_LIST:
            done->rc = hv_list (hv, &done->domains, &done->domain_count, done->err,
                                sizeof done->err);
            break;
        case HV_JOB_LOOKUP:
            done->rc = hv_lookup (hv, job->note.uuid, &done->domain, done->err,
                                  sizeof done->err);
            break;
        case HV_JOB_COMMAND:
            s_command (hv, &job->command, &done->result);
            done->rc = done->result.status == RESULT_DONE? 0: -1;
            if (done->rc)
                snprintf (done->err, sizeof done->err, "%s", done->result.message);
            break;
        case HV_JOB_ABORT:
            done->rc = hv_abort_job (hv, uuid, done->err, sizeof done->err);
            break;
        case HV_JOB_PROGRESS:
            done->rc = hv_progress (hv, uuid, &done->progress, done->err, sizeof done->err);
            break;
        default:
            done->rc = -1;
            snprintf (done->err, sizeof done->err, "unknown hypervisor job (kind %d)",
                      (int) job->kind);
    }
}

//  --------------------------------------------------------------------------
//  Lanes

static void
s_lane (zsock_t *pipe, void *arg)
{
    s_lane_args_t *args = arg;
    hv_t *hv = args->hv;
    free (args);
    zsock_signal (pipe, 0);
    while (true) {
        char *verb = NULL;
        void *pointer = NULL;
        if (zsock_recv (pipe, "sp", &verb, &pointer) < 0 || !verb)
            break;
        bool job = strcmp (verb, "JOB") == 0;
        bool end = strcmp (verb, "END") == 0;
        free (verb);
        if (end) {
            zsock_send (pipe, "p", NULL);
            continue;
        }
        if (!job)
            break;                          // $TERM
        hv_job_t *request = pointer;
        hv_done_t *done = calloc (1, sizeof *done);
        if (done)
            executor_run (hv, request, done);
        hv_job_reset (request);
        free (request);
        if (done && zsock_send (pipe, "p", done) < 0) {
            hv_done_reset (done);
            free (done);
        }
    }
    hv_destroy (&hv);
}

//  Starts a lane on hv (taken). 0, or -1.
static int
s_start_lane (executor_t *self, hv_t *hv)
{
    s_lane_args_t *args = hv? calloc (1, sizeof *args): NULL;
    if (!args) {
        hv_destroy (&hv);
        return -1;
    }
    args->hv = hv;
    self->lanes [self->count].actor = zactor_new (s_lane, args);
    if (!self->lanes [self->count].actor) {
        hv_destroy (&args->hv);
        free (args);
        return -1;
    }
    self->count++;
    return 0;
}

executor_t *
executor_new (hv_t **hv_p, int workers)
{
    hv_t *hv = *hv_p;
    *hv_p = NULL;
    executor_t *self = calloc (1, sizeof *self);
    if (self)
        self->lanes = calloc ((size_t) workers + 1, sizeof *self->lanes);
    if (!self || !self->lanes || workers < 1) {
        if (self)
            free (self->lanes);
        free (self);
        hv_destroy (&hv);
        return NULL;
    }
    self->workers = workers;
    for (int i = 0; i < workers; i++)
        if (s_start_lane (self, hv_share (hv))) {
            hv_destroy (&hv);
            executor_destroy (&self);
            return NULL;
        }
    if (s_start_lane (self, hv)) {         // the query lane: the agent's own handle
        executor_destroy (&self);
        return NULL;
    }
    return self;
}

void
executor_destroy (executor_t **self_p)
{
    executor_t *self = *self_p;
    if (!self)
        return;
    for (int i = 0; i < self->count; i++) {
        //  Whatever the lane still has to do comes first: read (and drop) it, then stop.
        zsock_t *sock = zactor_sock (self->lanes [i].actor);
        zsock_set_rcvtimeo (sock, -1);
        if (zsock_send (sock, "sp", "END", NULL) == 0)
            while (true) {
                void *pointer = NULL;
                if (zsock_recv (sock, "p", &pointer) < 0 || !pointer)
                    break;
                hv_done_reset (pointer);
                free (pointer);
            }
        zactor_destroy (&self->lanes [i].actor);
    }
    free (self->lanes);
    free (self);
    *self_p = NULL;
}

int
executor_lanes (const executor_t *self)
{
    return self->count;
}

zsock_t *
executor_socket (executor_t *self, int lane)
{
    return zactor_sock (self->lanes [lane].actor);
}

int
executor_submit (executor_t *self, hv_job_t *job, char *err, size_t err_size)
{
    int lane = self->workers;
    if (job->kind == HV_JOB_COMMAND) {
        if (job->worker < 0 || job->worker >= self->workers) {
            snprintf (err, err_size, "no worker %d (there are %d)", job->worker, self->workers);
            hv_job_reset (job);
            return -1;
        }
        lane = job->worker;
    }
    hv_job_t *copy = malloc (sizeof *copy);
    if (!copy) {
        snprintf (err, err_size, "out of memory");
        hv_job_reset (job);
        return -1;
    }
    *copy = *job;
    job->command.domain_xml = NULL;         // the copy has it now
    if (zsock_send (zactor_sock (self->lanes [lane].actor), "sp", "JOB", copy) < 0) {
        snprintf (err, err_size, "cannot reach the worker thread");
        hv_job_reset (copy);
        free (copy);
        return -1;
    }
    return 0;
}

int
executor_collect (executor_t *self, int lane, hv_done_t *done)
{
    void *pointer = NULL;
    if (zsock_recv (zactor_sock (self->lanes [lane].actor), "p", &pointer) < 0 || !pointer)
        return -1;
    *done = *(hv_done_t *) pointer;
    free (pointer);
    return 0;
}
