/*  model.h - the scheduler's in-memory cluster: hosts, their domains and live usage.

    Owns every host and VM entry. It is pure: functions receive `now` (boot-clock ms for
    ages, wall-clock ms for records) and never read a clock, a socket or the database.
    Every change of persistent state is appended as a mutation_t to the caller's mutation
    list, which the scheduler hands to the store; live data (last message time, usage
    counters) stays in memory only. Each entity's state is changed by one function, which
    logs the transition ("host 'h1': up -> suspect (no heartbeat for 1520 ms)").
*/
#ifndef VMSCHED_MODEL_H
#define VMSCHED_MODEL_H

#include "load.h"
#include "records.h"
#include "vec.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct model model_t;

//  The mutations produced by one step (a vec_t of mutation_t, VEC_OF (mutation_t)); the
//  scheduler drains it into the store.
typedef vec_t mutations_t;

//  Live, unpersisted facts about a host.
typedef struct {
    bool heard;                 // a message arrived since the scheduler started
    int64_t last_heard;         // boot ms of the last accepted message
    uint64_t session;           // agent process session of the last accepted message
    uint64_t last_seq;          // seq of the last accepted message of that session
    bool hypervisor_connected;  // the agent's last word on its libvirt connection
    bool reported;              // a full report arrived since the scheduler started
    int64_t report_requested;   // boot ms of the last report request sent to it
    uint64_t report_serial;     // number of its latest full report (model_report_serial)
    uint64_t report_token;      // the REPORT_REQUEST token its latest full report echoed
    uint64_t rejected;          // messages from this host refused since start
    uint64_t peer;              // the daemon's opaque id of the agent's connection (0: none)
    bool fence_device;          // a fence agent is configured for it (ha.c keeps it current)
    bool leased;                // this leader granted its registration a lease within the
                                // last lease_ms (ha.c keeps it current)
} host_live_t;

typedef struct {
    host_record_t record;       // persistent part
    host_live_t live;           // in-memory part
} host_t;

//  Live usage of a VM (from the latest report or event).
typedef struct {
    bool has_cpu_time;          // cpu_time_ns valid
    uint64_t cpu_time_ns;       // total guest CPU time
    bool has_vcpu_delay;        // vcpu_delay_ns valid
    uint64_t vcpu_delay_ns;     // total vCPU wait time
    bool has_rss;               // rss_kib valid
    uint64_t rss_kib;           // QEMU resident memory
    bool has_balloon;           // balloon_kib valid
    uint64_t balloon_kib;       // memory the guest has now (balloon.current)
} vm_usage_t;

typedef struct {
    vm_record_t record;         // persistent part
    vm_usage_t usage;           // in-memory part: the latest counters
    load_t load;                // in-memory part: smoothed load from full reports
} vm_t;

//  Liveness thresholds (from the scheduler's config).
typedef struct {
    int64_t suspect_after_ms;   // silence that makes an up host suspect
    int64_t down_after_ms;      // silence that makes a host down
} model_timing_t;

//  Cluster-wide totals for `status`.
typedef struct {
    size_t hosts, hosts_up, hosts_suspect, hosts_down, hosts_dead;  // host counts by state
    size_t vms, vms_running;                                // VM counts
    uint64_t cpus, memory_mib;                              // capacity of up hosts
    uint64_t vcpus_used, memory_used_mib;                   // running VMs on up hosts
} model_totals_t;

//  Append a copy of mutation to list; the list takes ownership of mutation->blob (also on
//  failure). 0, or -1 when out of memory.
int mutations_push (mutations_t *list, const mutation_t *mutation);

//  Forget all entries (keeps the allocation).
void mutations_clear (mutations_t *list);

//  Free the list's storage.
void mutations_free (mutations_t *list);

//  New empty model; NULL when out of memory.
model_t *model_new (void);

//  Free the model and everything it owns. NULL-safe; sets *self_p = NULL.
void model_destroy (model_t **self_p);

//  Insert records loaded from the store at start-up (no mutations; live part empty, with
//  last_heard = now so a silent host times out from the scheduler's start). 0 or -1.
int model_load_host (model_t *self, const host_record_t *record, int64_t now);
int model_load_vm (model_t *self, const vm_record_t *record);

//  Lookup, borrowed pointers valid until the next model change. NULL when unknown.
host_t *model_host_by_id (model_t *self, const char *id);
host_t *model_host_by_name (model_t *self, const char *name);
vm_t *model_vm_by_uuid (model_t *self, const char *uuid);     // first copy (by host id)
vm_t *model_vm_copy (model_t *self, const char *uuid, const char *host_id);
//  The copies of a domain (one per host that reports it), by host id: fills up to max of
//  them into copies and returns how many there are.
size_t model_vm_copies (model_t *self, const char *uuid, vm_t **copies, size_t max);
//  The copy of a domain that counts when the database places it on placed_host_id: that
//  host's copy (if active, or if no copy is), else the first active copy, else any; NULL
//  when no host reports it.
vm_t *model_vm_placed (model_t *self, const char *uuid, const char *placed_host_id);
vm_t *model_vm_by_name (model_t *self, const char *name);

//  Iterate in name order: index from 0 to count - 1. Borrowed.
size_t model_host_count (const model_t *self);
host_t *model_host_at (model_t *self, size_t index);
size_t model_vm_count (const model_t *self);
vm_t *model_vm_at (model_t *self, size_t index);

//  Register (or re-register) a host from its HELLO sent by agent session `session` with
//  the CURVE key public_key (kept for witness sets; "" unknown): bumps
//  its generation, sets it up, records its capacity, and forgets its earlier report (a
//  report of an older registration is not fresh). A repeat of a HELLO of the session that
//  registered last (same name and boot, host not down) is the same registration: same
//  generation, no mutation. Refuses (returns NULL, reason in err) a name held by another
//  host id. Returns the host; its generation is the one to send in WELCOME.
host_t *model_host_register (model_t *self, const wire_hello_t *hello, uint64_t session,
                             const char *public_key, int64_t now, int64_t wall,
                             mutations_t *out, char *err, size_t err_size);

//  Accept a message from host as alive at now (boot ms); a suspect host becomes up again.
void model_host_heard (model_t *self, host_t *host, int64_t now, int64_t wall,
                       mutations_t *out);

//  Change a host's liveness state (logs and records the transition; no-op when equal).
void model_host_set_state (model_t *self, host_t *host, host_state_t state,
                           const char *reason, int64_t wall, mutations_t *out);

//  Age every host's silence: up -> suspect -> down by the thresholds.
void model_check_liveness (model_t *self, const model_timing_t *timing, int64_t now,
                           int64_t wall, mutations_t *out);

//  A full report of host's domains: add, update and remove host's copies to match (other
//  hosts' copies of the same uuids are untouched).
void model_apply_report (model_t *self, host_t *host, const wire_report_t *report,
                         int64_t wall, mutations_t *out);

//  Feed a full report's usage counters (received at now, boot ms) into the smoothed load of
//  host's copies it lists (load.h, time constant LOAD_TAU_MS). Memory in use is balloon.rss
//  where reported, else balloon.current. Call after model_apply_report. Memory only.
void model_apply_load (model_t *self, host_t *host, const wire_report_t *report,
                       int64_t now);

//  One lifecycle event of a domain on host.
void model_apply_event (model_t *self, host_t *host, const wire_event_t *event,
                        int64_t wall, mutations_t *out);

//  Forget one observed copy (the host it was on was declared dead: it runs no more).
void model_forget_copy (model_t *self, vm_t *vm, const char *reason, int64_t wall,
                        mutations_t *out);

//  Full reports are numbered in the order they are applied: the number of the latest one.
uint64_t model_report_serial (const model_t *self);


//  True when the VM's last observed state uses its host's resources (running, paused, ...).
bool model_vm_active (const vm_t *vm);

//  Cluster-wide totals.
void model_totals (model_t *self, model_totals_t *totals);

//  Smoothed load of one VM copy (none when it is not active), and of a host: the sums over
//  the active copies it reports, against its CPUs (load.h).
void model_vm_load (const vm_t *vm, load_figures_t *out);
void model_host_load (model_t *self, const host_t *host, load_figures_t *out);

//  VMs placed on host: count, running count, vCPUs and memory (MiB) of running ones.
void model_host_usage (model_t *self, const host_t *host, size_t *vms, size_t *running,
                       uint64_t *vcpus, uint64_t *memory_mib);

#endif
