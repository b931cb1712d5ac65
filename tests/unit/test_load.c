/*  test_load.c - smoothed load from usage counters: first sample, steady load, a step that
    converges by the time constant, counter resets, impossible deltas, gaps, memory, and the
    figures of VMs and hosts.
*/
#include "check.h"
#include "load.h"

#include <math.h>

#define S_TAU    LOAD_TAU_MS
#define S_STEP   5000                       // report interval of the tests (ms)

//  A VM of 4 vCPUs: counters as given, memory as given (0: none).
static load_sample_t
s_sample (uint64_t cpu_ns, uint64_t delay_ns, uint64_t mem_kib)
{
    return (load_sample_t) { .vcpus = 4, .has_cpu_time = true, .cpu_time_ns = cpu_ns,
                             .has_vcpu_delay = true, .vcpu_delay_ns = delay_ns,
                             .has_mem = mem_kib > 0, .mem_kib = mem_kib };
}

static bool
s_near (double value, double expected, double tolerance)
{
    return fabs (value - expected) <= tolerance;
}

//  A VM under test: its load and the counters and clock its reports continue from.
typedef struct {
    load_t load;                            // what is tested
    int64_t now;                            // time of the latest report (ms)
    uint64_t cpu_ns;                        // CPU counter of the latest report
    uint64_t delay_ns;                      // vCPU wait counter of the latest report
} s_vm_t;

//  A VM whose counters start at cpu_ns (and 0 wait), not reported yet, at time 0.
static s_vm_t
s_vm (uint64_t cpu_ns)
{
    s_vm_t vm = { .cpu_ns = cpu_ns };
    load_init (&vm.load);
    return vm;
}

//  Reports every step_ms for duration_ms at `cores` CPU and `wait` vCPU wait.
static void
s_run_every (s_vm_t *vm, int64_t step_ms, double cores, double wait, int64_t duration_ms)
{
    for (int64_t t = 0; t < duration_ms; t += step_ms) {
        vm->now += step_ms;
        vm->cpu_ns += (uint64_t) (cores * step_ms * 1e6);
        vm->delay_ns += (uint64_t) (wait * step_ms * 1e6);
        load_sample_t sample = s_sample (vm->cpu_ns, vm->delay_ns, 0);
        load_update (&vm->load, &sample, vm->now, S_TAU);
    }
}

//  The same every S_STEP.
static void
s_run (s_vm_t *vm, double cores, double wait, int64_t duration_ms)
{
    s_run_every (vm, S_STEP, cores, wait, duration_ms);
}

static int
s_case_first_sample (void)
{
    int failures = 0;
    load_t load;
    load_init (&load);
    load_figures_t figures;
    load_vm_figures (&load, 4, &figures);
    CHECK (!figures.has_cpu && !figures.has_contention && !figures.has_mem);

    //  Counters of a VM that ran long before we heard of it: a baseline, no rate.
    load_sample_t sample = s_sample (UINT64_C (5000000000000), 7000000, 1048576);
    CHECK (load_update (&load, &sample, 1000, S_TAU) == LOAD_BASELINE);
    load_vm_figures (&load, 4, &figures);
    CHECK (!figures.has_cpu && !figures.has_contention);
    CHECK (figures.has_mem && s_near (figures.mem_used_mib, 1024, 1e-9));

    //  Too soon after the baseline: ignored (no noisy rate from an event after a report).
    sample.cpu_time_ns += 900000000;
    CHECK (load_update (&load, &sample, 1500, S_TAU) == LOAD_TOO_SOON);

    //  The first rate is taken as it is: 2 cores over 5 s.
    sample.cpu_time_ns = UINT64_C (5000000000000) + UINT64_C (10000000000);
    sample.vcpu_delay_ns = 7000000 + 500000000;    // 0.1 vCPU waiting
    CHECK (load_update (&load, &sample, 6000, S_TAU) == LOAD_SMOOTHED);
    load_vm_figures (&load, 4, &figures);
    CHECK (figures.has_cpu && s_near (figures.cpu_load, 2.0, 1e-9));
    CHECK (s_near (figures.cpu_util, 0.5, 1e-9));
    CHECK (figures.has_contention && s_near (figures.contention, 0.1 / 4, 1e-9));
    CHECK (figures.updated_at == 6000);
    return failures;
}

static int
s_case_steady (void)
{
    int failures = 0;
    s_vm_t vm = s_vm (0);
    s_run (&vm, 1.5, 0.2, 3600000);
    load_figures_t figures;
    load_vm_figures (&vm.load, 4, &figures);
    CHECK (s_near (figures.cpu_load, 1.5, 1e-6) && s_near (figures.cpu_util, 0.375, 1e-6));
    CHECK (s_near (figures.contention, 0.05, 1e-6));
    CHECK (vm.load.resets == 0 && vm.load.discarded == 0);
    return failures;
}

//  A step from 0 to 2 cores: 1 - 1/e of the way after tau, 95 % after 3 tau, whatever the
//  report interval.
static int
s_case_step (void)
{
    int failures = 0;
    int64_t steps [] = { 1000, 5000, 60000 };
    for (size_t i = 0; i < sizeof steps / sizeof steps [0]; i++) {
        s_vm_t vm = s_vm (0);
        s_run_every (&vm, steps [i], 0, 0, 600000);              // 10 min idle
        CHECK (vm.load.has_cpu && s_near (vm.load.cpu_cores, 0, 1e-9));
        double at [4] = { 0 };
        for (int k = 1; k <= 3; k++) {
            s_run_every (&vm, steps [i], 2.0, 0, S_TAU);
            at [k] = vm.load.cpu_cores;
        }
        CHECK (s_near (at [1], 2.0 * (1 - exp (-1)), 1e-6));
        CHECK (s_near (at [3], 2.0 * (1 - exp (-3)), 1e-6));
        CHECK (at [3] > 0.95 * 2.0);
    }
    return failures;
}

//  A counter that goes down (the process restarted, or the VM migrated back): a new
//  baseline, the smoothed value kept; an explicit restart does the same.
static int
s_case_reset (void)
{
    int failures = 0;
    s_vm_t vm = s_vm (UINT64_C (900000000000));
    load_t *load = &vm.load;
    s_run (&vm, 1.0, 0, 1800000);
    CHECK (s_near (load->cpu_cores, 1.0, 1e-6));
    vm.now += S_STEP;
    vm.cpu_ns = 1000000;                                    // a new process
    load_sample_t sample = s_sample (vm.cpu_ns, vm.delay_ns, 0);
    CHECK (load_update (load, &sample, vm.now, S_TAU) == LOAD_RESET);
    CHECK (load->resets == 1 && s_near (load->cpu_cores, 1.0, 1e-6));
    s_run (&vm, 1.0, 0, 60000);
    CHECK (s_near (load->cpu_cores, 1.0, 1e-6));

    //  A stop and start seen as events: the next sample is a baseline, whatever its value.
    load_restart (load);
    CHECK (load->resets == 2);
    vm.now += S_STEP;
    sample = s_sample (vm.cpu_ns + UINT64_C (1000000000000), 0, 0);   // would be 200 cores
    CHECK (load_update (load, &sample, vm.now, S_TAU) == LOAD_BASELINE);
    CHECK (s_near (load->cpu_cores, 1.0, 1e-6));

    //  An inactive domain (no counters): the baseline goes, the figure stays.
    load_sample_t off = { .vcpus = 4 };
    vm.now += S_STEP;
    CHECK (load_update (load, &off, vm.now, S_TAU) == LOAD_BASELINE);
    CHECK (!load->has_base_cpu && load->has_cpu);
    return failures;
}

//  libvirt's test driver reports the wall clock as CPU time: the first sample is a baseline,
//  then each VM shows one core (plausible); a counter jump beyond what the vCPUs can do is
//  thrown away; a VM's load never counts above its vCPUs.
static int
s_case_impossible (void)
{
    int failures = 0;
    load_t load;
    load_init (&load);
    int64_t now = 1000;
    uint64_t wall_ns = UINT64_C (1796245386600000000);
    load_sample_t sample = s_sample (wall_ns, 0, 0);
    sample.has_vcpu_delay = false;
    CHECK (load_update (&load, &sample, now, S_TAU) == LOAD_BASELINE);
    for (int i = 0; i < 10; i++) {
        now += S_STEP;
        sample.cpu_time_ns += (uint64_t) S_STEP * 1000000;
        CHECK (load_update (&load, &sample, now, S_TAU) == LOAD_SMOOTHED);
    }
    load_figures_t figures;
    load_vm_figures (&load, 2, &figures);
    CHECK (s_near (figures.cpu_load, 1.0, 1e-9) && s_near (figures.cpu_util, 0.5, 1e-9));
    CHECK (!figures.has_contention);

    now += S_STEP;
    sample.cpu_time_ns += UINT64_C (100) * S_STEP * 1000000;   // 100 cores for 4 vCPUs
    CHECK (load_update (&load, &sample, now, S_TAU) == LOAD_IMPOSSIBLE);
    CHECK (load.discarded == 1 && s_near (load.cpu_cores, 1.0, 1e-9));
    now += S_STEP;
    sample.cpu_time_ns += (uint64_t) S_STEP * 1000000;
    CHECK (load_update (&load, &sample, now, S_TAU) == LOAD_SMOOTHED);

    //  6.5 cores on 4 vCPUs is plausible (emulator threads), but counts as 4.
    load_t busy;
    load_init (&busy);
    busy.has_cpu = true;
    busy.cpu_cores = 6.5;
    load_vm_figures (&busy, 4, &figures);
    CHECK (s_near (figures.cpu_load, 4.0, 1e-9) && s_near (figures.cpu_util, 1.0, 1e-9));
    return failures;
}

//  A gap (the agent was cut off for 20 min): the rate over the gap is its true average and
//  weighs by its length, so the figure is then mostly the gap's average.
static int
s_case_gap (void)
{
    int failures = 0;
    s_vm_t vm = s_vm (0);
    s_run (&vm, 0.5, 0, 1800000);
    vm.now += 1200000;
    vm.cpu_ns += (uint64_t) (3.0 * 1200000 * 1e6);
    load_sample_t sample = s_sample (vm.cpu_ns, vm.delay_ns, 0);
    CHECK (load_update (&vm.load, &sample, vm.now, S_TAU) == LOAD_SMOOTHED);
    double expected = 0.5 + (1 - exp (-4.0)) * (3.0 - 0.5);
    CHECK (s_near (vm.load.cpu_cores, expected, 1e-6));
    return failures;
}

//  Memory is a gauge, smoothed with the same constant.
static int
s_case_memory (void)
{
    int failures = 0;
    load_t load;
    load_init (&load);
    load_sample_t sample = s_sample (0, 0, 1048576);
    load_update (&load, &sample, 0, S_TAU);
    CHECK (s_near (load.mem_kib, 1048576, 1e-6));
    int64_t now = 0;
    for (int64_t t = 0; t < S_TAU; t += S_STEP) {
        now += S_STEP;
        sample = s_sample ((uint64_t) now * 1000000, 0, 2097152);
        load_update (&load, &sample, now, S_TAU);
    }
    CHECK (s_near (load.mem_kib, 1048576 + (1 - exp (-1)) * 1048576, 1.0));
    return failures;
}

//  Hosts: sums over their active VMs; no VMs is a known 0; VMs not measured yet are unknown;
//  a migration's new copy takes over the figures but not the counters.
static int
s_case_host (void)
{
    int failures = 0;
    load_t a, b, c;
    load_init (&a);
    load_init (&b);
    load_init (&c);
    a.has_cpu = b.has_cpu = true;
    a.cpu_cores = 2.0;
    b.cpu_cores = 1.0;
    a.has_delay = true;
    a.delay_cores = 0.4;
    a.has_mem = b.has_mem = true;
    a.mem_kib = 1048576;
    b.mem_kib = 524288;
    a.updated_at = 10;
    b.updated_at = 20;

    load_sum_t sum;
    load_figures_t figures;
    load_sum_init (&sum);
    load_sum_figures (&sum, 16, &figures);
    CHECK (figures.has_cpu && figures.cpu_load == 0 && figures.vms == 0);

    load_sum_add (&sum, &c, 2);                     // not measured yet
    load_sum_figures (&sum, 16, &figures);
    CHECK (!figures.has_cpu && figures.vms == 1 && figures.vms_measured == 0);

    load_sum_add (&sum, &a, 4);
    load_sum_add (&sum, &b, 2);
    load_sum_figures (&sum, 16, &figures);
    CHECK (figures.has_cpu && s_near (figures.cpu_load, 3.0, 1e-9));
    CHECK (s_near (figures.cpu_util, 3.0 / 16, 1e-9));
    CHECK (figures.has_contention && s_near (figures.contention, 0.4 / 4, 1e-9));
    CHECK (figures.has_mem && s_near (figures.mem_used_mib, 1536, 1e-9));
    CHECK (figures.vms == 3 && figures.vms_measured == 2 && figures.updated_at == 20);
    load_sum_figures (&sum, 2, &figures);           // more load than CPUs: clamped
    CHECK (s_near (figures.cpu_util, 1.0, 1e-9));

    a.has_base_cpu = true;
    a.base_cpu_ns = 77;
    load_t moved;
    load_inherit (&moved, &a);
    CHECK (moved.has_cpu && moved.cpu_cores == 2.0 && !moved.has_base_cpu);
    return failures;
}

static const check_case_t s_cases [] = {
    { "first_sample", s_case_first_sample },
    { "steady", s_case_steady },
    { "step", s_case_step },
    { "reset", s_case_reset },
    { "impossible", s_case_impossible },
    { "gap", s_case_gap },
    { "memory", s_case_memory },
    { "host", s_case_host },
};

int
main (int argc, char **argv)
{
    return CHECK_RUN_ALL ("load", s_cases, argc, argv)? 1: 0;
}
