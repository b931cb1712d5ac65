/*  place.h - the placement engine: filters, then scores, with a verdict for every host.

    Pure: a function of (cluster, request). It never reads the clock, the network, libvirt or
    SQLite, and it does not know the scheduler's model: callers (the scheduler, the offline
    planner, benchmarks, tests) describe the cluster in these plain structs, with names
    borrowed from them. The engine never allocates during a decision.

    Capacity (per host): vCPUs of placed VMs <= cpus * cpu_overcommit and memory of placed VMs
    <= memory_mib * mem_overcommit; reservations are never overcommitted: the sum of
    cpu_reserve <= cpus and the sum of mem_reserve_mib <= memory_mib.
    Hard filters, in this order (the first one that fails is the host's binding reason):
    excluded by the caller, host not up, unavailable (with its reason), in maintenance,
    nested virtualization needed but not available, an HA VM on a host with neither watchdog
    nor fence device (unless the policy allows it), VM-host must / must-not rules, VM-VM anti-affinity, VM-VM affinity, CPU,
    memory, CPU reservation, memory reservation.
    Scores (higher is better): spread prefers the host with the most free capacity after
    placement (the smaller of the free CPU and free memory fractions), pack the least; soft
    rules (should / should-not, and soft affinity / anti-affinity) subtract their weight.
    Ties go to the lower host index, so decisions are deterministic.
*/
#ifndef VMSCHED_PLACE_H
#define VMSCHED_PLACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PLACE_REASON_SIZE 192

typedef enum {
    PLACE_SPREAD = 0,           // balance: most free capacity first (default)
    PLACE_PACK                  // consolidate: fullest host that fits first
} place_strategy_t;

typedef struct {
    place_strategy_t strategy;  // spread or pack
    double cpu_overcommit;      // vCPUs allowed per host CPU (e.g. 4.0)
    double mem_overcommit;      // memory allowed per MiB of host memory (1.0 = none)
    bool allow_unprotected;     // HA VMs may go to hosts without watchdog or fence device
} place_policy_t;

typedef struct {
    const char *name;           // borrowed
    bool up;                    // heard from recently (not suspect, not down)
    bool maintenance;           // being emptied or empty for maintenance
    const char *unavailable;    // borrowed; non-NULL: takes no VM, for this reason (e.g. its
                                // agent lost libvirt); checked right after `up`
    bool nested;                // CPU has vmx/svm and kvm nested is enabled
    bool protected_;            // has a watchdog or a fence device (DESIGN.md §5.11)
    bool leased;                // holds a lease from the leader (its agent starts HA VMs
                                // only then)
    uint32_t cpus;              // CPUs offered to VMs
    uint64_t memory_mib;        // memory offered to VMs
    //  Usage by the VMs already on the host (the engine adds to these in place_bulk):
    uint64_t vcpus_used;        // sum of vcpus
    uint64_t memory_used_mib;   // sum of memory_mib
    uint64_t cpu_reserved;      // sum of cpu_reserve
    uint64_t mem_reserved_mib;  // sum of mem_reserve_mib
} place_host_t;

typedef struct {
    const char *name;           // borrowed
    uint32_t vcpus;             // configured vCPUs
    uint64_t memory_mib;        // configured memory
    uint32_t cpu_reserve;       // CPUs guaranteed to the VM (0: none)
    uint64_t mem_reserve_mib;   // memory guaranteed to the VM (0: none)
    bool needs_nested;          // runs hypervisors itself
    bool ha;                    // restarted elsewhere when its host dies: needs a protected
                                // host (unless the policy allows unprotected ones)
    int host;                   // index of its current host, -1 when not placed
} place_vm_t;

typedef enum {
    PLACE_RULE_AFFINITY,        // the VMs run on one host
    PLACE_RULE_ANTI_AFFINITY,   // no two of the VMs share a host
    PLACE_RULE_VM_HOST          // the VMs run on (positive) / away from (!positive) the hosts
} place_rule_kind_t;

typedef struct {
    const char *name;           // borrowed, shown in reasons: "(rule db-spread)"
    place_rule_kind_t kind;     // what the rule says
    bool hard;                  // filter (true) or weighted penalty (false)
    bool positive;              // VM_HOST: must/should (true), must-not/should-not (false)
    double weight;              // soft rules: penalty when violated (> 0)
    const int *vms;             // borrowed: indices into the cluster's vms
    size_t vm_count;            // entries of vms
    const int *hosts;           // borrowed: VM_HOST only: indices into the cluster's hosts
    size_t host_count;          // entries of hosts
} place_rule_t;

typedef struct {
    place_host_t *hosts;        // borrowed; place_bulk updates usage and vms[].host
    size_t host_count;          // entries of hosts
    place_vm_t *vms;            // borrowed
    size_t vm_count;            // entries of vms
    const place_rule_t *rules;  // borrowed
    size_t rule_count;          // entries of rules
    place_policy_t policy;      // strategy and overcommit
} place_cluster_t;

typedef struct {
    bool fits;                  // passed every hard filter
    double score;               // when fits: higher is better
    char reason [PLACE_REASON_SIZE];   // rejected: the binding reason ("not enough memory:
                                       // need 4096 MiB, free 1024 MiB"); fits: how it scored
} place_verdict_t;

typedef struct {
    int host;                   // chosen host index, -1 when none fits
    size_t candidates;          // hosts that passed every hard filter
    char summary [PLACE_REASON_SIZE * 2];  // "placed on h2: ..." or "no host fits: 3 hosts
                                           // not enough memory, 1 in maintenance"
} place_decision_t;

//  Default policy: spread, CPU overcommit 4.0, memory overcommit 1.0.
place_policy_t place_policy_default (void);

//  Place cluster->vms[vm] (its current host, if any, does not count as used by it: callers
//  pass usage without the VM). exclude_host (-1: none) is rejected as "source host" (for
//  migrations). verdicts: NULL, or an array of host_count entries that receives a verdict per
//  host (with reasons; without it the engine formats no text and is faster). Returns 0 with
//  out->host >= 0, or -1 (no host fits; out->summary says why, counted by reason).
int place_vm (const place_cluster_t *cluster, int vm, int exclude_host,
              place_verdict_t *verdicts, place_decision_t *out);

//  Whether cluster->vms[vm] may go to host now: every hard filter of place_vm for that one
//  host (state, rules, capacity; the VM's current host is not excluded and its usage there
//  is not counted on host). reason: NULL, or a buffer that receives the binding reason as
//  place_vm's verdicts word it ("not enough memory: need ...") or "fits". Costs
//  O(rules naming the VM), not O(hosts): for callers that judge single moves (balance.c).
bool place_fits (const place_cluster_t *cluster, int vm, int host, char *reason,
                 size_t reason_size);

//  Place count VMs (indices in order[]) one after another, each seeing the ones before it
//  (usage and vms[].host are updated in the cluster). hosts_out[i] receives the host of
//  order[i] or -1. Returns how many were placed.
size_t place_bulk (place_cluster_t *cluster, const int *order, size_t count, int *hosts_out);

//  Order for bulk placement: by priority (higher first; priorities may be NULL), then by
//  memory, then vCPUs (larger first), then index. Fills order[] with 0..vm_count-1 sorted.
void place_bulk_order (const place_cluster_t *cluster, const int *priorities, int *order);

//  Add or remove a VM's usage on a host (callers that move VMs between decisions).
void place_host_add (place_host_t *host, const place_vm_t *vm);
void place_host_remove (place_host_t *host, const place_vm_t *vm);

//  Rule consistency, for `rule add`: are the hard rules satisfiable on their own and
//  together? Checks: an affinity and an anti-affinity rule sharing two VMs; a VM with must
//  and must-not on the same host; a VM whose must-hosts are all excluded by must-not; an
//  affinity group whose members' must-host sets do not intersect; an anti-affinity group
//  with more VMs than the hosts it may use (its members' allowed hosts, all hosts when
//  unrestricted); two VMs in one affinity rule that are also in one anti-affinity rule
//  through affinity chains. Returns 0, or -1 with the reason (naming the rules) in err.
int place_check_rules (const place_cluster_t *cluster, char *err, size_t err_size);

#endif
