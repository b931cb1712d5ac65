/*  load.c - smoothed load of VMs and hosts from the hypervisor's usage counters (see load.h).

    Owns nothing but the load_t values its callers keep; never reads a clock, never logs
    (the model decides what is worth a log line).
*/
#include "load.h"

#include <math.h>
#include <string.h>

void
load_init (load_t *self)
{
    memset (self, 0, sizeof *self);
}

//  The largest rate (cores) a VM of vcpus vCPUs can plausibly show.
static double
s_max_rate (uint32_t vcpus)
{
    return (vcpus? vcpus: 1) * LOAD_MAX_CORES_PER_VCPU + LOAD_MAX_CORES_EXTRA;
}

//  The EWMA weight of a sample that covers dt_ms.
static double
s_alpha (int64_t dt_ms, int64_t tau_ms)
{
    return 1.0 - exp (-(double) dt_ms / (double) (tau_ms > 0? tau_ms: 1));
}

//  One EWMA step towards value with weight alpha; the first value is taken as it is.
static void
s_smooth (bool *has, double *smoothed, double value, double alpha)
{
    *smoothed = *has? *smoothed + alpha * (value - *smoothed): value;
    *has = true;
}

//  The memory gauge: smoothed over the time since the last memory sample.
static void
s_memory (load_t *self, const load_sample_t *sample, int64_t now, int64_t tau_ms)
{
    if (!sample->has_mem
    ||  (self->has_mem && now - self->mem_at < LOAD_MIN_INTERVAL_MS))
        return;
    s_smooth (&self->has_mem, &self->mem_kib, (double) sample->mem_kib,
              s_alpha (now - self->mem_at, tau_ms));
    self->mem_at = now;
    self->updated_at = now;
}

//  Takes the sample's counters as the new baseline.
static void
s_rebase (load_t *self, const load_sample_t *sample, int64_t now)
{
    self->has_base_cpu = sample->has_cpu_time;
    self->base_cpu_ns = sample->cpu_time_ns;
    self->has_base_delay = sample->has_vcpu_delay;
    self->base_delay_ns = sample->vcpu_delay_ns;
    self->base_at = now;
}

load_outcome_t
load_update (load_t *self, const load_sample_t *sample, int64_t now, int64_t tau_ms)
{
    bool had_base = self->has_base_cpu || self->has_base_delay;
    int64_t dt_ms = now - self->base_at;
    if (had_base && dt_ms < LOAD_MIN_INTERVAL_MS)
        return LOAD_TOO_SOON;
    s_memory (self, sample, now, tau_ms);
    double alpha = s_alpha (dt_ms, tau_ms);
    bool cpu = self->has_base_cpu && sample->has_cpu_time;
    bool delay = self->has_base_delay && sample->has_vcpu_delay;
    if (!cpu && !delay) {
        s_rebase (self, sample, now);
        return LOAD_BASELINE;
    }
    if ((cpu && sample->cpu_time_ns < self->base_cpu_ns)
    ||  (delay && sample->vcpu_delay_ns < self->base_delay_ns)) {
        self->resets++;
        s_rebase (self, sample, now);
        return LOAD_RESET;
    }
    double dt_ns = (double) dt_ms * 1e6;
    double cpu_rate = cpu? (double) (sample->cpu_time_ns - self->base_cpu_ns) / dt_ns: 0;
    double delay_rate = delay? (double) (sample->vcpu_delay_ns - self->base_delay_ns) / dt_ns
                             : 0;
    double max_rate = s_max_rate (sample->vcpus);
    if (cpu_rate > max_rate || delay_rate > max_rate) {
        self->discarded++;
        s_rebase (self, sample, now);
        return LOAD_IMPOSSIBLE;
    }
    if (cpu)
        s_smooth (&self->has_cpu, &self->cpu_cores, cpu_rate, alpha);
    if (delay)
        s_smooth (&self->has_delay, &self->delay_cores, delay_rate, alpha);
    self->updated_at = now;
    s_rebase (self, sample, now);
    return LOAD_SMOOTHED;
}

void
load_restart (load_t *self)
{
    if (self->has_base_cpu || self->has_base_delay)
        self->resets++;
    self->has_base_cpu = self->has_base_delay = false;
}

void
load_inherit (load_t *self, const load_t *from)
{
    load_init (self);
    self->has_cpu = from->has_cpu;
    self->cpu_cores = from->cpu_cores;
    self->has_delay = from->has_delay;
    self->delay_cores = from->delay_cores;
    self->has_mem = from->has_mem;
    self->mem_kib = from->mem_kib;
    self->mem_at = from->mem_at;
    self->updated_at = from->updated_at;
}

//  value / capacity clamped to 0..1 (0 when there is no capacity).
static double
s_share (double value, double capacity)
{
    if (capacity <= 0 || value <= 0)
        return 0;
    return value >= capacity? 1.0: value / capacity;
}

void
load_vm_figures (const load_t *self, uint32_t vcpus, load_figures_t *out)
{
    load_sum_t sum;
    load_sum_init (&sum);
    load_sum_add (&sum, self, vcpus);
    load_sum_figures (&sum, vcpus? vcpus: 1, out);
}

void
load_sum_init (load_sum_t *sum)
{
    memset (sum, 0, sizeof *sum);
}

void
load_sum_add (load_sum_t *sum, const load_t *vm, uint32_t vcpus)
{
    sum->vms++;
    if (vm->has_cpu) {
        sum->cpu_vms++;
        //  A rate within the plausible bound may still exceed the vCPUs (emulator threads):
        //  the VM's load is counted at most at its vCPUs.
        double cap = vcpus? vcpus: 1;
        sum->cpu_cores += vm->cpu_cores > cap? cap: vm->cpu_cores;
    }
    if (vm->has_delay) {
        sum->delay_vms++;
        sum->delay_cores += vm->delay_cores;
        sum->delay_vcpus += vcpus? vcpus: 1;
    }
    if (vm->has_mem) {
        sum->mem_vms++;
        sum->mem_kib += vm->mem_kib;
    }
    if (vm->updated_at > sum->updated_at)
        sum->updated_at = vm->updated_at;
}

void
load_sum_figures (const load_sum_t *sum, uint32_t host_cpus, load_figures_t *out)
{
    memset (out, 0, sizeof *out);
    out->vms = sum->vms;
    out->vms_measured = sum->cpu_vms;
    out->updated_at = sum->updated_at;
    out->has_cpu = sum->vms == 0 || sum->cpu_vms > 0;
    out->cpu_load = sum->cpu_cores;
    out->cpu_util = s_share (sum->cpu_cores, host_cpus);
    out->has_contention = sum->vms == 0 || sum->delay_vms > 0;
    out->contention = s_share (sum->delay_cores, (double) sum->delay_vcpus);
    out->has_mem = sum->vms == 0 || sum->mem_vms > 0;
    out->mem_used_mib = sum->mem_kib / 1024.0;
}
