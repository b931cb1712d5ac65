/*  hv_fake.c - an in-memory hypervisor (see hv_fake.h).

    Owns a fixed table of domains (the "world") and a notification pipe. A change made
    through the control handle or an operation posts its note at once, exactly as the libvirt
    event thread would, so the agent code path is the same. hv_share makes further handles on
    the same world for worker threads: a mutex guards the world, a reference count frees it
    with the last handle. Migration "moves" a domain away (it disappears from this world).
    hv_fake_set_delay makes every call slow (as a hung libvirtd would), outside the lock.
*/
#include "hv_fake.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_MAX_DOMAINS 256
#define S_MAX_JOBS    16        // migrations running at the same time

struct hv_fake_t {
    pthread_mutex_t lock;                   // guards everything below
    int handles;                            // hv_t handles on this world
    wire_capacity_t capacity;               // what capacity() answers
    wire_domain_t domains [S_MAX_DOMAINS];  // the fake host's domains
    uint32_t domain_count;                  // used entries of domains
    bool reachable;                         // connect succeeds
    bool connected;                         // a connection is open
    int connects;                           // successful connects so far
    int pipe_read;                          // notification pipe, read end (non-blocking)
    int pipe_write;                         // notification pipe, write end
    bool fail_migrations;                   // migrate() fails (target refuses)
    uint32_t migration_ms;                  // how long migrate() takes
    char migrating [S_MAX_JOBS][WIRE_ID_SIZE];  // uuids with a migration running ("" free)
    bool abort_job [S_MAX_JOBS];            // abort requested for that migration
    uint32_t delay_ms;                      // every call waits this long first (0 = none)
};

//  One hv_t's view of the world: the main handle (events) or a shared one.
typedef struct {
    hv_fake_t *world;                       // shared world
    bool main;                              // the handle that hv_fake_new returned
} s_handle_t;

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

//  Waits delay_ms (in 10 ms slices, re-reading it: lowering the delay ends a wait early).
//  Called without the lock, first thing in every call.
static void
s_delay (hv_fake_t *self)
{
    for (uint32_t waited = 0; ; waited += 10) {
        pthread_mutex_lock (&self->lock);
        uint32_t delay = self->delay_ms;
        pthread_mutex_unlock (&self->lock);
        if (waited >= delay)
            return;
        usleep (10 * 1000);
    }
}

//  --------------------------------------------------------------------------
//  hv_ops_t

#define S_WORLD(impl) (((s_handle_t *) (impl))->world)

static int
s_connect (void *impl, char *err, size_t err_size)
{
    hv_fake_t *self = S_WORLD (impl);
    s_delay (self);
    pthread_mutex_lock (&self->lock);
    int rc = self->reachable? 0: -1;
    if (rc)
        snprintf (err, err_size, "cannot connect to 'fake:///': hypervisor unreachable");
    else
    if (((s_handle_t *) impl)->main) {
        self->connected = true;
        self->connects++;
    }
    pthread_mutex_unlock (&self->lock);
    return rc;
}

static void
s_disconnect (void *impl)
{
    hv_fake_t *self = S_WORLD (impl);
    s_delay (self);
    pthread_mutex_lock (&self->lock);
    if (((s_handle_t *) impl)->main)
        self->connected = false;
    pthread_mutex_unlock (&self->lock);
}

static int
s_capacity (void *impl, wire_capacity_t *out, char *err, size_t err_size)
{
    (void) err;
    (void) err_size;
    hv_fake_t *self = S_WORLD (impl);
    s_delay (self);
    pthread_mutex_lock (&self->lock);
    *out = self->capacity;
    pthread_mutex_unlock (&self->lock);
    return 0;
}

static int
s_list (void *impl, wire_domain_t **domains, uint32_t *count, char *err, size_t err_size)
{
    hv_fake_t *self = S_WORLD (impl);
    s_delay (self);
    pthread_mutex_lock (&self->lock);
    wire_domain_t *out = calloc (self->domain_count + 1, sizeof *out);
    if (out) {
        memcpy (out, self->domains, self->domain_count * sizeof *out);
        *domains = out;
        *count = self->domain_count;
    }
    pthread_mutex_unlock (&self->lock);
    if (!out)
        snprintf (err, err_size, "out of memory");
    return out? 0: -1;
}

static int
s_lookup (void *impl, const char *uuid, wire_domain_t *out, char *err, size_t err_size)
{
    (void) err;
    (void) err_size;
    hv_fake_t *self = S_WORLD (impl);
    s_delay (self);
    pthread_mutex_lock (&self->lock);
    wire_domain_t *domain = s_find (self, uuid);
    if (domain)
        *out = *domain;
    pthread_mutex_unlock (&self->lock);
    return domain? 1: 0;
}

static int
s_notify_fd (void *impl)
{
    return S_WORLD (impl)->pipe_read;
}

static int s_set_state_locked (hv_fake_t *self, wire_domain_t *domain, domain_state_t state);

static int
s_start (void *impl, const char *uuid, const char *name, const char *xml, char *err,
         size_t err_size)
{
    (void) xml;
    hv_fake_t *self = S_WORLD (impl);
    s_delay (self);
    pthread_mutex_lock (&self->lock);
    int rc = 1;
    wire_domain_t *domain = s_find (self, uuid);
    if (domain && domain->state == DOMAIN_RUNNING)
        rc = 0;
    else
    if (!domain && self->domain_count == S_MAX_DOMAINS) {
        snprintf (err, err_size, "cannot start domain '%s': the fake host is full", name);
        rc = -1;
    }
    else {
        if (!domain) {
            domain = &self->domains [self->domain_count++];
            memset (domain, 0, sizeof *domain);
            snprintf (domain->uuid, sizeof domain->uuid, "%s", uuid);
            snprintf (domain->name, sizeof domain->name, "%s", name);
            domain->vcpus = 1;
            domain->memory_kib = 32768;
            domain->state = DOMAIN_SHUTOFF;
        }
        s_set_state_locked (self, domain, DOMAIN_RUNNING);
    }
    pthread_mutex_unlock (&self->lock);
    return rc;
}

static int
s_stop (void *impl, const char *uuid, uint32_t graceful_ms, char *err, size_t err_size)
{
    (void) graceful_ms, (void) err, (void) err_size;
    hv_fake_t *self = S_WORLD (impl);
    s_delay (self);
    pthread_mutex_lock (&self->lock);
    wire_domain_t *domain = s_find (self, uuid);
    int rc = domain && domain->state != DOMAIN_SHUTOFF? 1: 0;
    if (rc)
        s_set_state_locked (self, domain, DOMAIN_SHUTOFF);
    pthread_mutex_unlock (&self->lock);
    return rc;
}

//  The job slot of uuid's running migration, or -1 (lock held).
static int
s_job (hv_fake_t *self, const char *uuid)
{
    for (int i = 0; i < S_MAX_JOBS; i++)
        if (strcmp (self->migrating [i], uuid) == 0)
            return i;
    return -1;
}

static int
s_migrate (void *impl, const char *uuid, const char *target_uri, char *err, size_t err_size)
{
    hv_fake_t *self = S_WORLD (impl);
    s_delay (self);
    pthread_mutex_lock (&self->lock);
    uint32_t delay = self->migration_ms;
    int job = s_job (self, "");
    if (job >= 0) {
        snprintf (self->migrating [job], WIRE_ID_SIZE, "%s", uuid);
        self->abort_job [job] = false;
    }
    pthread_mutex_unlock (&self->lock);
    //  "Transfer" in 10 ms slices, so that an abort takes effect as it does in libvirt.
    bool aborted = false;
    for (uint32_t waited = 0; waited < delay && !aborted; waited += 10) {
        usleep (10 * 1000);
        pthread_mutex_lock (&self->lock);
        aborted = job >= 0 && self->abort_job [job];
        pthread_mutex_unlock (&self->lock);
    }
    pthread_mutex_lock (&self->lock);
    if (job >= 0)
        self->migrating [job][0] = 0;
    wire_domain_t *domain = s_find (self, uuid);
    int rc = -1;
    if (aborted)
        snprintf (err, err_size, "migration to '%s' failed: operation aborted", target_uri);
    else
    if (!domain)
        snprintf (err, err_size, "the domain does not exist on this host");
    else
    if (self->fail_migrations)
        snprintf (err, err_size, "migration to '%s' failed: target refused", target_uri);
    else {
        s_post (self, EVENT_STOPPED, domain);
        s_remove (self, domain);
        rc = 0;
    }
    pthread_mutex_unlock (&self->lock);
    return rc;
}

static int
s_abort_job (void *impl, const char *uuid, char *err, size_t err_size)
{
    (void) err, (void) err_size;
    hv_fake_t *self = S_WORLD (impl);
    s_delay (self);
    pthread_mutex_lock (&self->lock);
    int job = s_job (self, uuid);
    if (job >= 0)
        self->abort_job [job] = true;
    pthread_mutex_unlock (&self->lock);
    return job >= 0? 1: 0;
}

static int
s_progress (void *impl, const char *uuid, hv_progress_t *out, char *err, size_t err_size)
{
    (void) uuid, (void) out, (void) err, (void) err_size;
    s_delay (S_WORLD (impl));
    return 0;
}

static void *
s_share (void *impl)
{
    s_handle_t *handle = calloc (1, sizeof *handle);
    if (!handle)
        return NULL;
    handle->world = S_WORLD (impl);
    pthread_mutex_lock (&handle->world->lock);
    handle->world->handles++;
    pthread_mutex_unlock (&handle->world->lock);
    return handle;
}

static void
s_destroy (void *impl)
{
    hv_fake_t *self = S_WORLD (impl);
    free (impl);
    pthread_mutex_lock (&self->lock);
    bool last = --self->handles == 0;
    pthread_mutex_unlock (&self->lock);
    if (!last)
        return;
    close (self->pipe_read);
    close (self->pipe_write);
    pthread_mutex_destroy (&self->lock);
    free (self);
}

static const hv_ops_t s_fake_ops = {
    .name = "fake", .connect = s_connect, .disconnect = s_disconnect,
    .capacity = s_capacity, .list = s_list, .lookup = s_lookup,
    .notify_fd = s_notify_fd, .start = s_start, .stop = s_stop, .migrate = s_migrate,
    .abort_job = s_abort_job, .progress = s_progress, .share = s_share, .destroy = s_destroy,
};

//  --------------------------------------------------------------------------
//  Control handle

hv_t *
hv_fake_new (const wire_capacity_t *capacity, hv_fake_t **control)
{
    *control = NULL;
    hv_fake_t *self = calloc (1, sizeof *self);
    s_handle_t *handle = calloc (1, sizeof *handle);
    int fds [2];
    if (!self || !handle || pipe2 (fds, O_CLOEXEC | O_NONBLOCK)) {
        free (self);
        free (handle);
        return NULL;
    }
    pthread_mutex_init (&self->lock, NULL);
    self->handles = 1;
    self->pipe_read = fds [0];
    self->pipe_write = fds [1];
    self->capacity = *capacity;
    self->reachable = true;
    handle->world = self;
    handle->main = true;
    hv_t *hv = hv_new (&s_fake_ops, handle);
    *control = hv? self: NULL;
    return hv;
}

int
hv_fake_define (hv_fake_t *self, const char *uuid, const char *name, domain_state_t state,
                uint32_t vcpus, uint64_t memory_kib)
{
    pthread_mutex_lock (&self->lock);
    bool taken = s_find (self, uuid) || self->domain_count == S_MAX_DOMAINS;
    for (uint32_t i = 0; i < self->domain_count && !taken; i++)
        taken = strcmp (self->domains [i].name, name) == 0;
    if (taken) {
        pthread_mutex_unlock (&self->lock);
        return -1;
    }
    wire_domain_t *domain = &self->domains [self->domain_count++];
    memset (domain, 0, sizeof *domain);
    snprintf (domain->uuid, sizeof domain->uuid, "%s", uuid);
    snprintf (domain->name, sizeof domain->name, "%s", name);
    domain->state = DOMAIN_SHUTOFF;
    domain->vcpus = vcpus;
    domain->memory_kib = memory_kib;
    domain->persistent = true;
    s_post (self, EVENT_DEFINED, domain);
    if (state != DOMAIN_SHUTOFF)
        s_set_state_locked (self, domain, state);
    pthread_mutex_unlock (&self->lock);
    return 0;
}

int
hv_fake_set_state (hv_fake_t *self, const char *uuid, domain_state_t state)
{
    pthread_mutex_lock (&self->lock);
    wire_domain_t *domain = s_find (self, uuid);
    if (domain)
        s_set_state_locked (self, domain, state);
    pthread_mutex_unlock (&self->lock);
    return domain? 0: -1;
}

//  Changes a domain's state and posts the event (lock held).
static int
s_set_state_locked (hv_fake_t *self, wire_domain_t *domain, domain_state_t state)
{
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
    pthread_mutex_lock (&self->lock);
    wire_domain_t *domain = s_find (self, uuid);
    if (domain)
        domain->persistent = false;
    pthread_mutex_unlock (&self->lock);
    return domain? 0: -1;
}

int
hv_fake_set_usage (hv_fake_t *self, const char *uuid, const hv_usage_t *usage)
{
    pthread_mutex_lock (&self->lock);
    wire_domain_t *domain = s_find (self, uuid);
    if (domain)
        hv_usage_apply (usage, domain);
    pthread_mutex_unlock (&self->lock);
    return domain? 0: -1;
}

int
hv_fake_undefine (hv_fake_t *self, const char *uuid)
{
    pthread_mutex_lock (&self->lock);
    wire_domain_t *domain = s_find (self, uuid);
    if (domain) {
        s_post (self, EVENT_UNDEFINED, domain);
        s_remove (self, domain);
    }
    pthread_mutex_unlock (&self->lock);
    return domain? 0: -1;
}

void
hv_fake_set_reachable (hv_fake_t *self, bool reachable)
{
    pthread_mutex_lock (&self->lock);
    self->reachable = reachable;
    if (!reachable && self->connected) {
        self->connected = false;
        hv_note_t note = { .kind = HV_NOTE_DISCONNECTED };
        hv_post_note (self->pipe_write, &note);
    }
    pthread_mutex_unlock (&self->lock);
}

int
hv_fake_connects (hv_fake_t *self)
{
    pthread_mutex_lock (&self->lock);
    int connects = self->connects;
    pthread_mutex_unlock (&self->lock);
    return connects;
}

void
hv_fake_set_migration (hv_fake_t *self, uint32_t duration_ms, bool fail)
{
    pthread_mutex_lock (&self->lock);
    self->migration_ms = duration_ms;
    self->fail_migrations = fail;
    pthread_mutex_unlock (&self->lock);
}

void
hv_fake_set_delay (hv_fake_t *self, uint32_t delay_ms)
{
    pthread_mutex_lock (&self->lock);
    self->delay_ms = delay_ms;
    pthread_mutex_unlock (&self->lock);
}
