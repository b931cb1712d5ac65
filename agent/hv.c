/*  hv.c - dispatch to a hypervisor implementation, plus what all of them share.

    Owns the implementation it wraps, the connected flag and the fault-injection counter
    (atomic: a test may arm it from its own thread while the handle is in use in the agent's
    query lane). Never interprets domains itself.
*/
#include "hv.h"

#include <assert.h>
#include <stdatomic.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct hv_t {
    const hv_ops_t *ops;    // the implementation's functions
    void *impl;             // the implementation's state (owned)
    bool connected;         // connect succeeded and no disconnect note since
    atomic_int fail_countdown;  // fault injection: calls until the failing one, 0 = off
};

hv_t *
hv_new (const hv_ops_t *ops, void *impl)
{
    assert (ops && impl);
    hv_t *self = calloc (1, sizeof *self);
    if (!self) {
        ops->destroy (impl);
        return NULL;
    }
    self->ops = ops;
    self->impl = impl;
    return self;
}

void
hv_destroy (hv_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    hv_t *self = *self_p;
    self->ops->destroy (self->impl);
    free (self);
    *self_p = NULL;
}

//  True when fault injection says this call must fail (and fills err).
static bool
s_injected (hv_t *self, const char *what, char *err, size_t err_size)
{
    int left = atomic_load (&self->fail_countdown);
    while (left > 0 && !atomic_compare_exchange_weak (&self->fail_countdown, &left, left - 1))
        ;                               // another thread counted first: count again
    if (left != 1)
        return false;                   // off, or not yet the failing call
    snprintf (err, err_size, "%s: injected failure", what);
    return true;
}

int
hv_connect (hv_t *self, char *err, size_t err_size)
{
    if (s_injected (self, "connect", err, err_size))
        return -1;
    if (self->connected)
        return 0;
    self->ops->disconnect (self->impl);     // a lost connection is still open: close it
    if (self->ops->connect (self->impl, err, err_size))
        return -1;
    self->connected = true;
    return 0;
}

void
hv_disconnect (hv_t *self)
{
    self->ops->disconnect (self->impl);
    self->connected = false;
}

bool
hv_connected (const hv_t *self)
{
    return self->connected;
}

//  True when connected; otherwise false with the reason in err.
static bool
s_connected (const hv_t *self, char *err, size_t err_size)
{
    if (!self->connected)
        snprintf (err, err_size, "not connected to the hypervisor");
    return self->connected;
}

//  Common guard of every hypervisor call: fault injection, then connection.
static bool
s_ready (hv_t *self, const char *what, char *err, size_t err_size)
{
    return !s_injected (self, what, err, err_size) && s_connected (self, err, err_size);
}

int
hv_capacity (hv_t *self, wire_capacity_t *out, char *err, size_t err_size)
{
    memset (out, 0, sizeof *out);
    if (!s_ready (self, "capacity", err, err_size))
        return -1;
    return self->ops->capacity (self->impl, out, err, err_size);
}

void
hv_usage_apply (const hv_usage_t *usage, wire_domain_t *domain)
{
    domain->has_cpu_time = usage->has_cpu_time;
    domain->cpu_time_ns = usage->cpu_time_ns;
    domain->has_vcpu_delay = usage->has_vcpu_delay;
    domain->vcpu_delay_ns = usage->vcpu_delay_ns;
    domain->has_rss = usage->has_rss;
    domain->rss_kib = usage->rss_kib;
    domain->has_balloon = usage->has_balloon;
    domain->balloon_kib = usage->balloon_kib;
}

//  Drops usage figures the wire would refuse (a counter past WIRE_MAX_COUNTER, memory past
//  WIRE_MAX_MEMORY_KIB), so that one odd domain cannot make the whole report unsendable.
static void
s_sane_usage (wire_domain_t *domain)
{
    if (domain->cpu_time_ns > WIRE_MAX_COUNTER)
        domain->has_cpu_time = false, domain->cpu_time_ns = 0;
    if (domain->vcpu_delay_ns > WIRE_MAX_COUNTER)
        domain->has_vcpu_delay = false, domain->vcpu_delay_ns = 0;
    if (domain->rss_kib > WIRE_MAX_MEMORY_KIB)
        domain->has_rss = false, domain->rss_kib = 0;
    if (domain->balloon_kib > WIRE_MAX_MEMORY_KIB)
        domain->has_balloon = false, domain->balloon_kib = 0;
}

int
hv_list (hv_t *self, wire_domain_t **domains, uint32_t *count, char *err, size_t err_size)
{
    *domains = NULL;
    *count = 0;
    if (!s_ready (self, "list domains", err, err_size))
        return -1;
    int rc = self->ops->list (self->impl, domains, count, err, err_size);
    for (uint32_t i = 0; rc == 0 && i < *count; i++)
        s_sane_usage (&(*domains) [i]);
    return rc;
}

int
hv_lookup (hv_t *self, const char *uuid, wire_domain_t *out, char *err, size_t err_size)
{
    memset (out, 0, sizeof *out);
    if (!s_ready (self, "look up domain", err, err_size))
        return -1;
    int rc = self->ops->lookup (self->impl, uuid, out, err, err_size);
    if (rc == 1)
        s_sane_usage (out);
    return rc;
}

int
hv_start (hv_t *self, const char *uuid, const char *name, const char *xml, char *err,
          size_t err_size)
{
    if (!s_ready (self, "start", err, err_size))
        return -1;
    return self->ops->start (self->impl, uuid, name, xml, err, err_size);
}

int
hv_stop (hv_t *self, const char *uuid, uint32_t graceful_ms, char *err, size_t err_size)
{
    if (!s_ready (self, "stop", err, err_size))
        return -1;
    return self->ops->stop (self->impl, uuid, graceful_ms, err, err_size);
}

int
hv_migrate (hv_t *self, const char *uuid, const char *target_uri, char *err, size_t err_size)
{
    if (!s_ready (self, "migrate", err, err_size))
        return -1;
    return self->ops->migrate (self->impl, uuid, target_uri, err, err_size);
}

int
hv_abort_job (hv_t *self, const char *uuid, char *err, size_t err_size)
{
    if (!s_connected (self, err, err_size))
        return -1;
    return self->ops->abort_job (self->impl, uuid, err, err_size);
}

int
hv_progress (hv_t *self, const char *uuid, hv_progress_t *out, char *err, size_t err_size)
{
    memset (out, 0, sizeof *out);
    if (!s_connected (self, err, err_size))
        return -1;
    return self->ops->progress (self->impl, uuid, out, err, err_size);
}

hv_t *
hv_share (hv_t *self)
{
    void *impl = self->ops->share (self->impl);
    return impl? hv_new (self->ops, impl): NULL;
}

int
hv_notify_fd (const hv_t *self)
{
    return self->ops->notify_fd (self->impl);
}

int
hv_read_note_fd (int fd, hv_note_t *note)
{
    ssize_t got = read (fd, note, sizeof *note);
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return 0;
    if (got != (ssize_t) sizeof *note)
        return -1;      // writes of sizeof *note are atomic: a short read means a broken pipe
    note->uuid [sizeof note->uuid - 1] = 0;
    note->name [sizeof note->name - 1] = 0;
    return 1;
}

int
hv_read_note (hv_t *self, hv_note_t *note)
{
    int rc = hv_read_note_fd (self->ops->notify_fd (self->impl), note);
    if (rc == 1 && note->kind == HV_NOTE_DISCONNECTED)
        self->connected = false;
    return rc;
}

const char *
hv_name (const hv_t *self)
{
    return self->ops->name;
}

void
hv_fail_at (hv_t *self, int nth_call)
{
    atomic_store (&self->fail_countdown, nth_call > 0? nth_call: 0);
}

int
hv_post_note (int write_fd, const hv_note_t *note)
{
    _Static_assert (sizeof (hv_note_t) <= 512, "notes must stay far below PIPE_BUF");
    ssize_t put;
    do
        put = write (write_fd, note, sizeof *note);
    while (put < 0 && errno == EINTR);
    return put == (ssize_t) sizeof *note? 0: -1;
}

domain_state_t
hv_state_from_number (int number)
{
    //  virDomainState: 0 nostate, 1 running, 2 blocked, 3 paused, 4 shutdown, 5 shutoff,
    //  6 crashed, 7 pmsuspended - the same order as ours.
    return number > 0 && number < DOMAIN_STATE_COUNT? (domain_state_t) number: DOMAIN_UNKNOWN;
}

event_kind_t
hv_event_from_number (int number)
{
    //  virDomainEventType: 0 defined, 1 undefined, 2 started, 3 suspended, 4 resumed,
    //  5 stopped, 6 shutdown, 7 pmsuspended, 8 crashed - ours is shifted by one.
    return number >= 0 && number + 1 < EVENT_KIND_COUNT? (event_kind_t) (number + 1): EVENT_UNKNOWN;
}
