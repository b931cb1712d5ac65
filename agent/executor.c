/*  executor.c - the agent's command workers (see executor.h).

    Owns the worker actors. A command crosses to its worker as a heap copy (ownership passes
    with the pointer, the czmq idiom for actors); the result comes back the same way. A worker
    connects to the hypervisor for each command and disconnects after it: commands are rare,
    and a fresh connection never carries a stale state from a libvirtd that restarted.
*/
#include "executor.h"
#include "clock.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    zactor_t *actor;            // the worker thread
    bool busy;                  // a command is running on it
} s_worker_t;

struct executor_t {
    s_worker_t *workers;        // owned array
    int count;                  // entries of workers
};

//  What a worker thread gets at start.
typedef struct {
    hv_t *hv;                   // owned by the worker
} s_worker_args_t;

//  Runs one command on hv; fills result. The only place that changes domains.
static void
s_execute (hv_t *hv, const wire_command_t *command, wire_command_result_t *result)
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

static void
s_worker (zsock_t *pipe, void *arg)
{
    s_worker_args_t *args = arg;
    hv_t *hv = args->hv;
    free (args);
    zsock_signal (pipe, 0);
    while (true) {
        char *verb = NULL;
        void *pointer = NULL;
        if (zsock_recv (pipe, "sp", &verb, &pointer) < 0 || !verb)
            break;
        bool term = strcmp (verb, "$TERM") == 0;
        free (verb);
        if (term)
            break;
        wire_command_t *command = pointer;
        wire_command_result_t *result = calloc (1, sizeof *result);
        if (result)
            s_execute (hv, command, result);
        free (command->domain_xml);
        free (command);
        if (result && zsock_send (pipe, "p", result) < 0)
            free (result);
    }
    hv_destroy (&hv);
}

executor_t *
executor_new (hv_t *hv, int workers)
{
    executor_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->workers = calloc ((size_t) workers, sizeof *self->workers);
    if (!self->workers) {
        free (self);
        return NULL;
    }
    for (int i = 0; i < workers; i++) {
        s_worker_args_t *args = calloc (1, sizeof *args);
        if (args)
            args->hv = hv_share (hv);
        if (!args || !args->hv) {
            if (args)
                free (args);
            executor_destroy (&self);
            return NULL;
        }
        self->workers [i].actor = zactor_new (s_worker, args);
        if (!self->workers [i].actor) {
            hv_destroy (&args->hv);
            free (args);
            executor_destroy (&self);
            return NULL;
        }
        self->count++;
    }
    return self;
}

void
executor_destroy (executor_t **self_p)
{
    executor_t *self = *self_p;
    if (!self)
        return;
    int busy = 0;
    for (int i = 0; i < self->count; i++)
        busy += self->workers [i].busy;
    if (busy)
        log_info ("waiting for %d running command%s to finish", busy, busy == 1? "": "s");
    for (int i = 0; i < self->count; i++) {
        //  A busy worker answers with its result first: drain it, then stop it.
        if (self->workers [i].busy) {
            executor_done_t done;
            zsock_set_rcvtimeo (zactor_sock (self->workers [i].actor), -1);
            executor_collect (self, i, &done);
        }
        zactor_destroy (&self->workers [i].actor);
    }
    free (self->workers);
    free (self);
    *self_p = NULL;
}

int
executor_size (const executor_t *self)
{
    return self->count;
}

bool
executor_idle (const executor_t *self, int worker)
{
    return !self->workers [worker].busy;
}

zsock_t *
executor_socket (executor_t *self, int worker)
{
    return zactor_sock (self->workers [worker].actor);
}

int
executor_submit (executor_t *self, const wire_command_t *command)
{
    int worker = -1;
    for (int i = 0; i < self->count && worker < 0; i++)
        if (!self->workers [i].busy)
            worker = i;
    if (worker < 0)
        return -1;
    wire_command_t *copy = malloc (sizeof *copy);
    if (!copy)
        return -1;
    *copy = *command;
    copy->domain_xml = command->domain_xml? strdup (command->domain_xml): NULL;
    if (command->domain_xml && !copy->domain_xml) {
        free (copy);
        return -1;
    }
    if (zsock_send (zactor_sock (self->workers [worker].actor), "sp", "RUN", copy) < 0) {
        free (copy->domain_xml);
        free (copy);
        return -1;
    }
    self->workers [worker].busy = true;
    return worker;
}

int
executor_collect (executor_t *self, int worker, executor_done_t *done)
{
    void *pointer = NULL;
    if (zsock_recv (zactor_sock (self->workers [worker].actor), "p", &pointer) < 0 || !pointer)
        return -1;
    done->result = *(wire_command_result_t *) pointer;
    done->worker = worker;
    free (pointer);
    self->workers [worker].busy = false;
    return 0;
}
