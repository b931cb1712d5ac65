/*  hv_fake.c - an in-memory hypervisor (see hv_fake.h).

    Owns a fixed table of domains and a notification pipe. Everything runs in the caller's
    thread: a change made through the control handle posts its note at once, exactly as the
    libvirt event thread would, so the agent code path is the same.
*/
#include "hv_fake.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_MAX_DOMAINS 256

struct hv_fake_t {
    wire_capacity_t capacity;               // what capacity() answers
    wire_domain_t domains [S_MAX_DOMAINS];  // the fake host's domains
    uint32_t domain_count;                  // used entries of domains
    bool reachable;                         // connect succeeds
    bool connected;                         // a connection is open
    int connects;                           // successful connects so far
    int pipe_read;                          // notification pipe, read end (non-blocking)
    int pipe_write;                         // notification pipe, write end
};

static wire_domain_t *
s_find (hv_fake_t *self, const char *uuid)
{
    for (uint32_t i = 0; i < self->domain_count; i++)
        if (strcmp (self->domains [i].uuid, uuid) == 0)
            return &self->domains [i];
    return NULL;
}

static void
s_post (hv_fake_t *self, event_kind_t event, const wire_domain_t *domain)
{
    if (!self->connected)
        return;                             // nobody is listening
    hv_note_t note = { .kind = HV_NOTE_EVENT, .event = event };
    snprintf (note.uuid, sizeof note.uuid, "%s", domain->uuid);
    snprintf (note.name, sizeof note.name, "%s", domain->name);
    hv_post_note (self->pipe_write, &note);
}

static void
s_remove (hv_fake_t *self, wire_domain_t *domain)
{
    *domain = self->domains [--self->domain_count];
}

//  --------------------------------------------------------------------------
//  hv_ops_t

static int
s_connect (void *impl, char *err, size_t err_size)
{
    hv_fake_t *self = impl;
    if (!self->reachable) {
        snprintf (err, err_size, "cannot connect to 'fake:///': hypervisor unreachable");
        return -1;
    }
    self->connected = true;
    self->connects++;
    return 0;
}

static void
s_disconnect (void *impl)
{
    ((hv_fake_t *) impl)->connected = false;
}

static int
s_capacity (void *impl, wire_capacity_t *out, char *err, size_t err_size)
{
    (void) err;
    (void) err_size;
    *out = ((hv_fake_t *) impl)->capacity;
    return 0;
}

static int
s_list (void *impl, wire_domain_t **domains, uint32_t *count, char *err, size_t err_size)
{
    hv_fake_t *self = impl;
    wire_domain_t *out = calloc (self->domain_count + 1, sizeof *out);
    if (!out) {
        snprintf (err, err_size, "out of memory");
        return -1;
    }
    memcpy (out, self->domains, self->domain_count * sizeof *out);
    *domains = out;
    *count = self->domain_count;
    return 0;
}

static int
s_lookup (void *impl, const char *uuid, wire_domain_t *out, char *err, size_t err_size)
{
    (void) err;
    (void) err_size;
    wire_domain_t *domain = s_find (impl, uuid);
    if (!domain)
        return 0;
    *out = *domain;
    return 1;
}

static int
s_notify_fd (void *impl)
{
    return ((hv_fake_t *) impl)->pipe_read;
}

static void
s_destroy (void *impl)
{
    hv_fake_t *self = impl;
    close (self->pipe_read);
    close (self->pipe_write);
    free (self);
}

static const hv_ops_t s_fake_ops = {
    .name = "fake", .connect = s_connect, .disconnect = s_disconnect,
    .capacity = s_capacity, .list = s_list, .lookup = s_lookup,
    .notify_fd = s_notify_fd, .destroy = s_destroy,
};

//  --------------------------------------------------------------------------
//  Control handle

hv_t *
hv_fake_new (const wire_capacity_t *capacity, hv_fake_t **control)
{
    hv_fake_t *self = calloc (1, sizeof *self);
    int fds [2];
    if (!self || pipe2 (fds, O_CLOEXEC | O_NONBLOCK)) {
        free (self);
        return NULL;
    }
    self->pipe_read = fds [0];
    self->pipe_write = fds [1];
    self->capacity = *capacity;
    self->reachable = true;
    hv_t *hv = hv_new (&s_fake_ops, self);
    *control = hv? self: NULL;
    return hv;
}

int
hv_fake_define (hv_fake_t *self, const char *uuid, const char *name, domain_state_t state,
                uint32_t vcpus, uint64_t memory_kib)
{
    if (s_find (self, uuid) || self->domain_count == S_MAX_DOMAINS)
        return -1;
    for (uint32_t i = 0; i < self->domain_count; i++)
        if (strcmp (self->domains [i].name, name) == 0)
            return -1;
    wire_domain_t *domain = &self->domains [self->domain_count++];
    memset (domain, 0, sizeof *domain);
    snprintf (domain->uuid, sizeof domain->uuid, "%s", uuid);
    snprintf (domain->name, sizeof domain->name, "%s", name);
    domain->state = DOMAIN_SHUTOFF;
    domain->vcpus = vcpus;
    domain->memory_kib = memory_kib;
    domain->persistent = true;
    s_post (self, EVENT_DEFINED, domain);
    return state == DOMAIN_SHUTOFF? 0: hv_fake_set_state (self, uuid, state);
}

int
hv_fake_set_state (hv_fake_t *self, const char *uuid, domain_state_t state)
{
    wire_domain_t *domain = s_find (self, uuid);
    if (!domain)
        return -1;
    domain_state_t before = domain->state;
    domain->state = state;
    bool active = state != DOMAIN_SHUTOFF && state != DOMAIN_CRASHED;
    domain->has_cpu_time = active;
    if (active)
        domain->cpu_time_ns += 1000000;
    event_kind_t event = state == DOMAIN_PAUSED? EVENT_SUSPENDED
                       : state == DOMAIN_SHUTOFF? EVENT_STOPPED
                       : state == DOMAIN_CRASHED? EVENT_CRASHED
                       : state == DOMAIN_PMSUSPENDED? EVENT_PMSUSPENDED
                       : state == DOMAIN_SHUTDOWN? EVENT_SHUTDOWN
                       : before == DOMAIN_PAUSED? EVENT_RESUMED: EVENT_STARTED;
    s_post (self, event, domain);
    if (!active && !domain->persistent)
        s_remove (self, domain);
    return 0;
}

int
hv_fake_make_transient (hv_fake_t *self, const char *uuid)
{
    wire_domain_t *domain = s_find (self, uuid);
    if (!domain)
        return -1;
    domain->persistent = false;
    return 0;
}

int
hv_fake_undefine (hv_fake_t *self, const char *uuid)
{
    wire_domain_t *domain = s_find (self, uuid);
    if (!domain)
        return -1;
    s_post (self, EVENT_UNDEFINED, domain);
    s_remove (self, domain);
    return 0;
}

void
hv_fake_set_reachable (hv_fake_t *self, bool reachable)
{
    self->reachable = reachable;
    if (!reachable && self->connected) {
        self->connected = false;
        hv_note_t note = { .kind = HV_NOTE_DISCONNECTED };
        hv_post_note (self->pipe_write, &note);
    }
}

int
hv_fake_connects (const hv_fake_t *self)
{
    return self->connects;
}
