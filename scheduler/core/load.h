/*  load.h - smoothed load of VMs and hosts from the hypervisor's usage counters (pure).

    DESIGN.md §6: load comes from usage, not configuration. Agents report cumulative
    counters per domain (CPU time and the sum of libvirt's vcpu.N.delay, in ns) and a memory
    gauge (balloon.rss, else balloon.current, in KiB). A load_t per observed VM copy turns
    them into rates: the difference of two counters over the scheduler's boot-clock time
    between the reports that carried them, smoothed by an exponentially weighted moving
    average with time constant tau (LOAD_TAU_MS, 5 minutes):

        alpha = 1 - exp (-dt / tau),  smoothed += alpha * (rate - smoothed)

    so a step change of the load is 63 % reached after tau, 95 % after 3 tau, whatever the
    report interval; a gap between reports simply weighs the (true) average over the gap by
    its length. The first sample only sets the baseline (no rate yet); the first rate is
    taken as it is. A counter that goes down (the QEMU process restarted) sets a new
    baseline and keeps the smoothed figures; so does a delta that is impossible (a rate above
    LOAD_MAX_CORES_PER_VCPU per vCPU plus LOAD_MAX_CORES_EXTRA, e.g. a counter that jumped),
    which is counted in `discarded`. Samples less than LOAD_MIN_INTERVAL_MS after the
    baseline are ignored (an event right after a report would give a noisy rate). Memory is
    a gauge: smoothed with the same alpha, the first value taken as it is.

    Figures (load_figures_t) for the balancer and clusterctl: cpu_load in cores (a VM that
    keeps one vCPU busy has 1.0), cpu_util = cpu_load / vCPUs (VM) or / host CPUs (host),
    clamped to 0..1; contention = vCPU wait per vCPU (0..1: the share of time a runnable vCPU
    waited for a host CPU, vSphere's "CPU ready"); memory used in MiB. A host's figures are
    the sums over its active VMs (load_sum_t): the host's own processes are not counted.

    Never reads a clock: callers pass `now` (boot ms). No allocation, no global state.
*/
#ifndef VMSCHED_LOAD_H
#define VMSCHED_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LOAD_TAU_MS               300000  // EWMA time constant (5 minutes)
#define LOAD_MIN_INTERVAL_MS      1000    // a sample closer to the baseline is ignored
#define LOAD_MAX_CORES_PER_VCPU   1.5     // plausible CPU (or wait) rate per vCPU: cpu.time
#define LOAD_MAX_CORES_EXTRA      0.5     // counts emulator and I/O threads too, hence slack

//  One report's usage of a VM copy.
typedef struct {
    uint32_t vcpus;             // the VM's vCPUs (0 counts as 1)
    bool has_cpu_time;          // cpu_time_ns valid (the domain is active)
    uint64_t cpu_time_ns;       // cumulative CPU time
    bool has_vcpu_delay;        // vcpu_delay_ns valid
    uint64_t vcpu_delay_ns;     // cumulative vCPU wait time, summed over vCPUs
    bool has_mem;               // mem_kib valid
    uint64_t mem_kib;           // memory in use now
} load_sample_t;

//  Smoothed load of one VM copy, with the baseline of its counters.
typedef struct {
    bool has_base_cpu;          // base_cpu_ns is a baseline
    uint64_t base_cpu_ns;       // CPU time at base_at
    bool has_base_delay;        // base_delay_ns is a baseline
    uint64_t base_delay_ns;     // vCPU wait time at base_at
    int64_t base_at;            // boot ms of the baseline sample
    bool has_cpu;               // cpu_cores is a smoothed value
    double cpu_cores;           // smoothed CPU rate, cores
    bool has_delay;             // delay_cores is a smoothed value
    double delay_cores;         // smoothed vCPU wait rate, vCPUs waiting on average
    bool has_mem;               // mem_kib is a smoothed value
    double mem_kib;             // smoothed memory in use
    int64_t mem_at;             // boot ms of the memory sample last smoothed in
    int64_t updated_at;         // boot ms of the last sample that changed a smoothed value
    uint32_t resets;            // counters seen going down (restarts) or forgotten
    uint32_t discarded;         // impossible deltas thrown away
} load_t;

//  What a sample did (for tests and debug logs).
typedef enum {
    LOAD_BASELINE,              // first counters: baseline only (memory may be smoothed)
    LOAD_SMOOTHED,              // rates computed and smoothed
    LOAD_TOO_SOON,              // within LOAD_MIN_INTERVAL_MS of the baseline: ignored
    LOAD_RESET,                 // a counter went down: new baseline, smoothed values kept
    LOAD_IMPOSSIBLE             // a rate beyond the plausible bound: new baseline
} load_outcome_t;

//  Figures for a VM or a host. Fields without their has_ flag are 0.
typedef struct {
    bool has_cpu;               // cpu_load and cpu_util valid
    double cpu_load;            // cores used
    double cpu_util;            // share of the VM's vCPUs / the host's CPUs, 0..1
    bool has_contention;        // contention valid
    double contention;          // vCPU wait per vCPU, 0..1
    bool has_mem;               // mem_used_mib valid
    double mem_used_mib;        // memory in use
    int64_t updated_at;         // boot ms of the newest sample behind the figures (0: none)
    size_t vms;                 // host: active VMs summed (VM: 1)
    size_t vms_measured;        // host: of those, VMs with a CPU figure
} load_figures_t;

//  Sum of VM loads for a host's figures.
typedef struct {
    double cpu_cores;           // sum of measured VMs' CPU rates
    double delay_cores;         // sum of measured VMs' wait rates
    uint64_t delay_vcpus;       // vCPUs of the VMs with a wait rate
    double mem_kib;             // sum of measured VMs' memory
    size_t vms;                 // VMs added
    size_t cpu_vms;             // of those with a CPU rate
    size_t delay_vms;           // with a wait rate
    size_t mem_vms;             // with memory
    int64_t updated_at;         // newest updated_at added
} load_sum_t;

//  An empty load (no baseline, no figures).
void load_init (load_t *self);

//  Feed one report's sample taken at now (boot ms), smoothing with time constant tau_ms
//  (LOAD_TAU_MS in the scheduler; > 0). Returns what the sample did.
load_outcome_t load_update (load_t *self, const load_sample_t *sample, int64_t now,
                            int64_t tau_ms);

//  The VM's process ended or began (stopped, crashed, started): forget the counters' baseline
//  (the next sample is a baseline), keep the smoothed figures.
void load_restart (load_t *self);

//  A new copy of a VM (a migration's target): take over the smoothed figures of the copy it
//  came from, not its counters (the new process counts from 0).
void load_inherit (load_t *self, const load_t *from);

//  Figures of one VM with vcpus vCPUs.
void load_vm_figures (const load_t *self, uint32_t vcpus, load_figures_t *out);

//  Host sums: start empty, add each active VM of the host, then read the figures for a host
//  with host_cpus CPUs. A host without active VMs has 0 load (known); one whose VMs have no
//  CPU figure yet has none (has_cpu false).
void load_sum_init (load_sum_t *sum);
void load_sum_add (load_sum_t *sum, const load_t *vm, uint32_t vcpus);
void load_sum_figures (const load_sum_t *sum, uint32_t host_cpus, load_figures_t *out);

#endif
