/*  hv.h - the agent's hypervisor interface: capacity, domains and lifecycle events.

    The agent never talks to libvirt directly; it holds an hv_t made by hv_libvirt_new (the
    real one, agent/hv_libvirt.c, the only file that includes libvirt.h) or hv_fake_new (an
    in-memory hypervisor for unit tests and the simulator, agent/hv_fake.c). Both implement
    hv_ops_t; the functions below dispatch to it and add what every implementation shares:
    fault injection (fail the Nth call) for tests.

    Events and connection loss arrive asynchronously (libvirt runs its event loop in its own
    thread). An implementation turns them into fixed-size hv_note_t records written to a pipe;
    the agent polls hv_notify_fd from its zloop and drains it with hv_read_note_fd, while
    the handle itself lives in a thread of executor.c (every call on it may block). Nothing
    is shared between the threads but that pipe.
*/
#ifndef VMSCHED_HV_H
#define VMSCHED_HV_H

#include "wire.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    HV_NOTE_EVENT = 1,          // a domain lifecycle event (kind, uuid, name)
    HV_NOTE_DISCONNECTED        // the hypervisor connection was lost
} hv_note_kind_t;

//  One asynchronous notification. Small enough to cross a pipe atomically (< PIPE_BUF).
typedef struct {
    hv_note_kind_t kind;            // what happened
    event_kind_t event;             // HV_NOTE_EVENT: lifecycle event kind
    char uuid [WIRE_ID_SIZE];       // HV_NOTE_EVENT: domain uuid
    char name [WIRE_NAME_SIZE];     // HV_NOTE_EVENT: domain name
} hv_note_t;

typedef struct hv_t hv_t;

//  Progress of a domain's running job (a migration).
typedef struct {
    uint64_t data_total;            // bytes in all (grows while memory is dirtied)
    uint64_t data_processed;        // bytes transferred
    uint64_t data_remaining;        // bytes still to go
    uint64_t elapsed_ms;            // since the job started
} hv_progress_t;

//  Usage of one domain as the hypervisor counts it (the usage fields of wire_domain_t):
//  cumulative counters that restart from 0 with the domain's process, and current gauges.
//  Implementations fill these into the wire_domain_t of list and lookup; hv_list and
//  hv_lookup drop values the wire would refuse. hv_fake_set_usage scripts them.
typedef struct {
    bool has_cpu_time;              // cpu_time_ns valid
    uint64_t cpu_time_ns;           // CPU time of all the domain's threads (cpu.time)
    bool has_vcpu_delay;            // vcpu_delay_ns valid
    uint64_t vcpu_delay_ns;         // sum over vCPUs of the time runnable but not running
    bool has_rss;                   // rss_kib valid
    uint64_t rss_kib;               // resident memory of the QEMU process (balloon.rss)
    bool has_balloon;               // balloon_kib valid
    uint64_t balloon_kib;           // memory the guest has now (balloon.current)
} hv_usage_t;

//  Copy usage into a domain record.
void hv_usage_apply (const hv_usage_t *usage, wire_domain_t *domain);

//  What an implementation provides. Every function returns 0 on success or -1 with a
//  one-line reason in err (err_size bytes); none may block for long on a healthy hypervisor.
typedef struct {
    const char *name;               // "libvirt", "fake"
    //  Open the connection and register for lifecycle events and connection loss.
    int (*connect) (void *impl, char *err, size_t err_size);
    //  Close the connection (no effect on running domains). Safe when not connected.
    void (*disconnect) (void *impl);
    //  Read the host's capacity into *out (zeroed by the caller).
    int (*capacity) (void *impl, wire_capacity_t *out, char *err, size_t err_size);
    //  Every domain of the host, with its usage (hv_usage_t) where the driver has it:
    //  *domains is a malloc'd array the caller frees.
    int (*list) (void *impl, wire_domain_t **domains, uint32_t *count, char *err, size_t err_size);
    //  One domain by uuid. Returns 1 found, 0 gone (no such domain), -1 error.
    int (*lookup) (void *impl, const char *uuid, wire_domain_t *out, char *err, size_t err_size);
    //  Readable end of the notification pipe (valid from creation to destruction).
    int (*notify_fd) (void *impl);
    //  Start a transient domain from xml (uuid and name as in the XML). 1 started,
    //  0 already running (nothing done), -1 error.
    int (*start) (void *impl, const char *uuid, const char *name, const char *xml,
                  char *err, size_t err_size);
    //  Stop a domain: ACPI shutdown, destroy after graceful_ms (0: destroy at once).
    //  1 stopped, 0 was not running, -1 error.
    int (*stop) (void *impl, const char *uuid, uint32_t graceful_ms, char *err, size_t err_size);
    //  Live-migrate peer to peer to target_uri; blocks until done. 0 or -1.
    int (*migrate) (void *impl, const char *uuid, const char *target_uri, char *err,
                    size_t err_size);
    //  Abort the domain's running job. 1 aborted, 0 no job was running, -1 error.
    int (*abort_job) (void *impl, const char *uuid, char *err, size_t err_size);
    //  Progress of the domain's running job: 1 (job running, *out filled), 0 none, -1 error.
    int (*progress) (void *impl, const char *uuid, hv_progress_t *out, char *err,
                     size_t err_size);
    //  A new implementation instance on the same hypervisor with its own connection and no
    //  event registration, for a worker thread (long commands). NULL on failure.
    void *(*share) (void *impl);
    //  Free everything; disconnects first.
    void (*destroy) (void *impl);
} hv_ops_t;

//  Wrap an implementation (takes ownership of impl). Used by the constructors below.
hv_t *hv_new (const hv_ops_t *ops, void *impl);

//  The real hypervisor: libvirt at uri ("qemu:///system", "test:///path/node.xml", ...).
//  Does not connect yet. One per process at a time (libvirt's event loop is process-wide).
hv_t *hv_libvirt_new (const char *uri);

//  Disconnect and free; NULL-safe; sets *self_p to NULL. Running domains are never touched.
void hv_destroy (hv_t **self_p);

int  hv_connect (hv_t *self, char *err, size_t err_size);
void hv_disconnect (hv_t *self);
bool hv_connected (const hv_t *self);
int  hv_capacity (hv_t *self, wire_capacity_t *out, char *err, size_t err_size);
int  hv_list (hv_t *self, wire_domain_t **domains, uint32_t *count, char *err, size_t err_size);
int  hv_lookup (hv_t *self, const char *uuid, wire_domain_t *out, char *err, size_t err_size);
int  hv_notify_fd (const hv_t *self);
int  hv_start (hv_t *self, const char *uuid, const char *name, const char *xml, char *err,
               size_t err_size);
int  hv_stop (hv_t *self, const char *uuid, uint32_t graceful_ms, char *err, size_t err_size);
int  hv_migrate (hv_t *self, const char *uuid, const char *target_uri, char *err,
                 size_t err_size);
int  hv_abort_job (hv_t *self, const char *uuid, char *err, size_t err_size);
int  hv_progress (hv_t *self, const char *uuid, hv_progress_t *out, char *err, size_t err_size);

//  A second handle on the same hypervisor for another thread (see hv_ops_t.share); it is
//  not connected yet. NULL on failure. Each handle is used by one thread only.
hv_t *hv_share (hv_t *self);

//  Read one pending note. Returns 1 (note read), 0 (none pending), -1 (pipe broken).
//  A HV_NOTE_DISCONNECTED note also marks the hv disconnected.
int hv_read_note (hv_t *self, hv_note_t *note);

//  The same without the handle: read one note from the notification pipe fd (for a thread
//  that does not own the handle; the owner learns of a disconnection by the failing calls
//  and reconnects with hv_disconnect + hv_connect). 1, 0 or -1 as hv_read_note.
int hv_read_note_fd (int fd, hv_note_t *note);

//  The implementation's name ("libvirt", "fake") for logs.
const char *hv_name (const hv_t *self);

//  Fault injection for tests: make the Nth call from now (1 = the next) of connect,
//  capacity, list, lookup, start, stop or migrate fail with "injected failure". 0 disables.
//  May be called from any thread (the handle may be busy in another).
void hv_fail_at (hv_t *self, int nth_call);

//  Write one note to a notification pipe (for implementations; async-signal and thread safe).
int hv_post_note (int write_fd, const hv_note_t *note);

//  Map a libvirt-style state number (virDomainState) or event number
//  (virDomainEventType) to ours; unknown values map to the UNKNOWN members.
domain_state_t hv_state_from_number (int number);
event_kind_t   hv_event_from_number (int number);

#endif
