/*  hv_fake.h - an in-memory hypervisor for unit tests and the simulator.

    hv_fake_new returns an ordinary hv_t (the agent cannot tell it from libvirt) plus a
    control handle, owned by that hv_t, through which a test changes the fake world: domains
    appear, change state and vanish (each change posts the lifecycle event libvirt would),
    the connection breaks and becomes reachable again.
*/
#ifndef VMSCHED_HV_FAKE_H
#define VMSCHED_HV_FAKE_H

#include "hv.h"

typedef struct hv_fake_t hv_fake_t;

//  A fake hypervisor offering capacity; *control receives the borrowed control handle.
hv_t *hv_fake_new (const wire_capacity_t *capacity, hv_fake_t **control);

//  Define a domain (persistent) in state (running or shutoff) and post DEFINED, plus
//  STARTED when running. Returns 0, or -1 when the name or uuid is taken or the fake is full.
int hv_fake_define (hv_fake_t *self, const char *uuid, const char *name, domain_state_t state,
                    uint32_t vcpus, uint64_t memory_kib);

//  Change a domain's state and post the matching event (STARTED, STOPPED, SUSPENDED, ...).
//  A transient domain that stops disappears, as in libvirt. Returns -1 for an unknown uuid.
int hv_fake_set_state (hv_fake_t *self, const char *uuid, domain_state_t state);

//  Make a domain transient (persistent = false), as `virsh create` would have.
int hv_fake_make_transient (hv_fake_t *self, const char *uuid);

//  Scripted usage: list and lookup report usage for the domain from now on (a test makes
//  the counters grow over its virtual time, or drops them to model a restarted process).
//  No event is posted. Returns -1 for an unknown uuid.
int hv_fake_set_usage (hv_fake_t *self, const char *uuid, const hv_usage_t *usage);

//  Remove a domain and post UNDEFINED. Returns -1 for an unknown uuid.
int hv_fake_undefine (hv_fake_t *self, const char *uuid);

//  Break the connection (posts a disconnect note; connects fail until reachable again).
void hv_fake_set_reachable (hv_fake_t *self, bool reachable);

//  Number of successful connects so far (tests check reconnects).
int hv_fake_connects (hv_fake_t *self);

//  How migrations behave from now on: they take duration_ms and fail when fail is set. A
//  running migration can be aborted (hv_abort_job); it then fails as libvirt's does.
void hv_fake_set_migration (hv_fake_t *self, uint32_t duration_ms, bool fail);

//  Fault injection: from now on every call on any handle of this world (connect,
//  disconnect, capacity, list, lookup, start, stop, migrate, abort, progress) first waits
//  delay_ms, as if libvirtd hung. Calls already waiting see a lower delay at once (0 ends
//  their wait). The control functions above are never delayed.
void hv_fake_set_delay (hv_fake_t *self, uint32_t delay_ms);

#endif
