/*  bench_place.c - placement latency and throughput, and the end-to-end comparison with
    Ganeti's allocator hail.

    Modes (run_bench.sh drives them; none asserts a timing, figures are printed):
      bench_place --gen HOSTS SEED FILE
          write a vm-cluster-v1 cluster of HOSTS hosts, drawn like the team's gen_cluster.py
          clusters c*-s2024 (48 cores / 256 GiB hosts, ~15 VMs per host, 10 % empty, Azure
          2017 flavour mix); run_bench.sh makes the 100, 1,000 and 10,000-host ones so
      bench_place --inproc C100 C1000 C10000
          single-VM placement latency (p50 / p99 over many placements of a new VM of mixed
          sizes; without verdicts, with verdicts, and with rules naming the VM) on the three
          clusters, then bulk placement of 10,000 VMs into the 1,000 hosts emptied
      bench_place --one FILE VCPUS MEM_MIB
          load FILE, place one new VM, print the chosen host (what hail does per request)
      bench_place --compare HAIL ONE SECONDS NAME CLUSTER REQDIR [NAME CLUSTER REQDIR ...]
          per cluster, time hail on REQDIR/req-VCPUS-MEM.json (made by to_iallocator.py) and
          `ONE --one` on CLUSTER (ONE: this program, or bench_place_one, the same source
          linked with the engine and jansson only), process start included, for up to 300
          requests or SECONDS each; check hail succeeded and print its node beside ours;
          REQDIR "-": vmsched only
      bench_place --noop
          exit at once (the cost of starting the process)

    Only the timing code reads the clock; the engine under test never does.
*/
#include "cluster_v1.h"
#include "../unit/gen_cluster.h"
#include "place.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

//  Requests of the end-to-end comparison, at most.
#define S_E2E_MAX 300
//  The end-to-end comparison asks for the first flavours (those with a request file).
#define S_E2E_FLAVOURS 5

static uint64_t
s_now_ns (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

static int
s_compare_u64 (const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return (x > y) - (x < y);
}

//  Percentile (0..100) of count samples, sorted in place.
static uint64_t
s_percentile (uint64_t *samples, size_t count, double pct)
{
    if (count == 0)
        return 0;
    qsort (samples, count, sizeof *samples, s_compare_u64);
    size_t index = (size_t) ((pct / 100.0) * (double) (count - 1) + 0.5);
    return samples [index < count? index: count - 1];
}

//  "812 ns", "41.3 µs", "3.72 ms", "2.41 s".
static const char *
s_duration (uint64_t ns, char *buf, size_t size)
{
    if (ns < 10000)
        snprintf (buf, size, "%llu ns", (unsigned long long) ns);
    else
    if (ns < 1000000)
        snprintf (buf, size, "%.1f µs", (double) ns / 1e3);
    else
    if (ns < 1000000000)
        snprintf (buf, size, "%.2f ms", (double) ns / 1e6);
    else
        snprintf (buf, size, "%.2f s", (double) ns / 1e9);
    return buf;
}


//  Print text padded to width columns (UTF-8 aware: "µs" is two bytes, one column).
static void
s_cell (const char *text, int width)
{
    int columns = 0;
    for (const unsigned char *c = (const unsigned char *) text; *c; c++)
        columns += (*c & 0xc0) != 0x80;
    printf ("%s%*s", text, width > columns? width - columns: 0, "");
}


//  --------------------------------------------------------------------------------------
//  --inproc: latency of place_vm, throughput of place_bulk

//  A loaded cluster plus one slot for the VM being placed (and rules naming it).
typedef struct {
    cluster_v1_t *file;         // owns hosts, VMs, names
    place_cluster_t cluster;    // the file's cluster with vms extended by one
    place_vm_t *vms;            // the file's VMs, then the new one
    place_verdict_t *verdicts;  // per host
    place_rule_t rules [2];     // the "with rules" variant
    int anti_vms [6];           // anti-affinity: five placed peers and the new VM
    int *must_hosts;            // must: every tenth host
    int new_vm [1];             // the new VM's index, for the must rule
} s_bench_t;

static int
s_bench_open (s_bench_t *self, const char *path)
{
    char err [512];
    memset (self, 0, sizeof *self);
    self->file = cluster_v1_load (path, err, sizeof err);
    if (!self->file) {
        fprintf (stderr, "bench_place: %s\n", err);
        return -1;
    }
    place_cluster_t *c = cluster_v1_place (self->file);
    self->vms = calloc (c->vm_count + 1, sizeof (place_vm_t));
    self->verdicts = calloc (c->host_count, sizeof (place_verdict_t));
    self->must_hosts = calloc (c->host_count / 10 + 1, sizeof (int));
    if (!self->vms || !self->verdicts || !self->must_hosts) {
        fprintf (stderr, "bench_place: out of memory\n");
        return -1;
    }
    memcpy (self->vms, c->vms, c->vm_count * sizeof (place_vm_t));
    self->cluster = *c;
    self->cluster.vms = self->vms;
    self->cluster.vm_count = c->vm_count + 1;
    place_vm_t *vm = &self->vms [c->vm_count];
    vm->name = "bench-new";
    vm->host = -1;
    //  Rules naming the new VM: anti-affinity with five placed VMs, must on 10 % of hosts.
    size_t peers = 0;
    for (size_t v = 0; v < c->vm_count && peers < 5; v += c->vm_count / 5 + 1)
        if (self->vms [v].host >= 0)
            self->anti_vms [peers++] = (int) v;
    self->anti_vms [peers++] = (int) c->vm_count;
    size_t musts = 0;
    for (size_t h = 0; h < c->host_count; h += 10)
        self->must_hosts [musts++] = (int) h;
    self->new_vm [0] = (int) c->vm_count;
    self->rules [0] = (place_rule_t) { "bench-apart", PLACE_RULE_ANTI_AFFINITY, true, true, 0,
                                       self->anti_vms, peers, NULL, 0 };
    self->rules [1] = (place_rule_t) { "bench-pin", PLACE_RULE_VM_HOST, true, true, 0,
                                       self->new_vm, 1, self->must_hosts, musts };
    return 0;
}

static void
s_bench_close (s_bench_t *self)
{
    free (self->vms);
    free (self->verdicts);
    free (self->must_hosts);
    cluster_v1_destroy (&self->file);
}

//  Latency of count placements of the new VM (mixed sizes) into the unchanged cluster.
static void
s_bench_latency (s_bench_t *self, size_t count, bool verdicts, bool rules,
                 uint64_t *p50, uint64_t *p99, size_t *placed)
{
    uint64_t *samples = calloc (count, sizeof (uint64_t));
    if (!samples)
        return;
    place_cluster_t cluster = self->cluster;
    if (rules) {
        cluster.rules = self->rules;
        cluster.rule_count = 2;
    }
    int vm = (int) cluster.vm_count - 1;
    uint64_t state = 42;
    *placed = 0;
    for (size_t i = 0; i < count; i++) {
        const gen_flavour_t *flavour = &gen_mix [gen_flavour (&state, GEN_MIX_COUNT)];
        self->vms [vm].vcpus = flavour->vcpus;
        self->vms [vm].memory_mib = flavour->memory_mib;
        place_decision_t decision;
        uint64_t start = s_now_ns ();
        int rc = place_vm (&cluster, vm, -1, verdicts? self->verdicts: NULL, &decision);
        samples [i] = s_now_ns () - start;
        *placed += rc == 0;
    }
    *p50 = s_percentile (samples, count, 50);
    *p99 = s_percentile (samples, count, 99);
    free (samples);
}

//  10,000 VMs of the mix into the hosts of c1000 emptied.
static void
s_bench_bulk (s_bench_t *self)
{
    enum { VMS = 10000 };
    place_cluster_t *file = cluster_v1_place (self->file);
    place_host_t *hosts = calloc (file->host_count, sizeof (place_host_t));
    place_vm_t *vms = calloc (VMS, sizeof (place_vm_t));
    int *order = calloc (VMS, sizeof (int));
    int *hosts_out = calloc (VMS, sizeof (int));
    if (!hosts || !vms || !order || !hosts_out) {
        fprintf (stderr, "bench_place: out of memory\n");
        goto done;
    }
    for (size_t h = 0; h < file->host_count; h++) {
        hosts [h] = file->hosts [h];
        hosts [h].vcpus_used = hosts [h].memory_used_mib = 0;
        hosts [h].cpu_reserved = hosts [h].mem_reserved_mib = 0;
    }
    uint64_t state = 7;
    for (size_t v = 0; v < VMS; v++) {
        const gen_flavour_t *flavour = &gen_mix [gen_flavour (&state, GEN_MIX_COUNT)];
        vms [v] = (place_vm_t) { .name = "bulk", .vcpus = flavour->vcpus,
                                 .memory_mib = flavour->memory_mib, .host = -1 };
    }
    place_cluster_t cluster = { hosts, file->host_count, vms, VMS, NULL, 0,
                                place_policy_default () };
    uint64_t start = s_now_ns ();
    place_bulk_order (&cluster, NULL, order);
    size_t placed = place_bulk (&cluster, order, VMS, hosts_out);
    uint64_t elapsed = s_now_ns () - start;
    char total [32], each [32];
    printf ("bulk: %d VMs into %zu empty hosts (spread): %zu placed in %s (%s per VM, "
            "order included)\n", VMS, file->host_count, placed,
            s_duration (elapsed, total, sizeof total),
            s_duration (elapsed / VMS, each, sizeof each));
done:
    free (hosts);
    free (vms);
    free (order);
    free (hosts_out);
}

static int
s_inproc (const char *paths [3])
{
    static const size_t iterations [3] = { 20000, 5000, 1000 };
    s_bench_t benches [3];              // each points into itself: never copied
    memset (benches, 0, sizeof benches);
    printf ("single-VM placement, in process (new VM of mixed sizes, %zu flavours; cluster "
            "unchanged between placements)\n", (size_t) GEN_MIX_COUNT);
    printf ("%-8s %7s  %-24s%-24s%-24s\n", "hosts", "VMs", "no verdicts p50 / p99",
            "verdicts p50 / p99", "+2 rules p50 / p99");
    int rc = 0;
    for (int i = 0; i < 3 && rc == 0; i++) {
        s_bench_t *bench = &benches [i];
        if (s_bench_open (bench, paths [i])) {
            rc = -1;
            break;
        }
        uint64_t p50 [3], p99 [3];
        size_t placed [3];
        s_bench_latency (bench, iterations [i] / 10, false, false, &p50 [0], &p99 [0],
                         &placed [0]);     // warm-up
        s_bench_latency (bench, iterations [i], false, false, &p50 [0], &p99 [0], &placed [0]);
        s_bench_latency (bench, iterations [i] / 4, true, false, &p50 [1], &p99 [1],
                         &placed [1]);
        s_bench_latency (bench, iterations [i], false, true, &p50 [2], &p99 [2], &placed [2]);
        char a [32], b [32], cells [3][48];
        for (int k = 0; k < 3; k++)
            snprintf (cells [k], sizeof cells [k], "%s / %s", s_duration (p50 [k], a, sizeof a),
                      s_duration (p99 [k], b, sizeof b));
        printf ("%-8zu %7zu  ", bench->cluster.host_count, bench->cluster.vm_count - 1);
        for (int k = 0; k < 3; k++)
            s_cell (cells [k], 24);
        printf ("\n");
        if (placed [0] != iterations [i])
            printf ("  (%zu of %zu placements found no host)\n", iterations [i] - placed [0],
                    iterations [i]);
    }
    if (rc == 0) {
        printf ("  (+2 rules: the new VM is in a hard anti-affinity rule with 5 placed VMs and "
                "a must rule on every tenth host)\n\n");
        s_bench_bulk (&benches [1]);
    }
    for (int i = 0; i < 3; i++)
        s_bench_close (&benches [i]);
    return rc;
}


//  --------------------------------------------------------------------------------------
//  --one: what one allocator request costs end to end

static int
s_one (const char *path, const char *vcpus, const char *memory)
{
    s_bench_t bench;
    if (s_bench_open (&bench, path)) {
        s_bench_close (&bench);
        return 1;
    }
    int vm = (int) bench.cluster.vm_count - 1;
    bench.vms [vm].vcpus = (uint32_t) strtoul (vcpus, NULL, 10);
    bench.vms [vm].memory_mib = strtoull (memory, NULL, 10);
    place_decision_t decision;
    int rc = place_vm (&bench.cluster, vm, -1, NULL, &decision);
    if (rc == 0)
        printf ("%s\n", bench.cluster.hosts [decision.host].name);
    else
        printf ("-\n%s\n", decision.summary);
    s_bench_close (&bench);
    return rc == 0? 0: 2;
}


//  --------------------------------------------------------------------------------------
//  --compare: hail and vmsched, one process per request

//  Run argv, return its wall time in ns (start to exit) and its stdout in out; -1 on failure.
static int64_t
s_spawn (char *const argv [], char *out, size_t out_size, int *status)
{
    int fds [2];
    if (pipe (fds))
        return -1;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init (&actions);
    posix_spawn_file_actions_adddup2 (&actions, fds [1], 1);
    posix_spawn_file_actions_addclose (&actions, fds [0]);
    posix_spawn_file_actions_addclose (&actions, fds [1]);
    pid_t pid;
    uint64_t start = s_now_ns ();
    int rc = posix_spawn (&pid, argv [0], &actions, NULL, argv, environ);
    posix_spawn_file_actions_destroy (&actions);
    close (fds [1]);
    if (rc) {
        close (fds [0]);
        fprintf (stderr, "bench_place: cannot run '%s': %s\n", argv [0], strerror (rc));
        return -1;
    }
    size_t len = 0;
    ssize_t n;
    while ((n = read (fds [0], out + len, out_size - 1 - len)) > 0)
        len += (size_t) n;
    out [len] = 0;
    close (fds [0]);
    waitpid (pid, status, 0);
    return (int64_t) (s_now_ns () - start);
}

//  hail's answer: the node, or NULL when it did not succeed.
static const char *
s_hail_node (const char *answer, char *node, size_t size)
{
    json_t *root = json_loads (answer, 0, NULL);
    const char *result = NULL;
    if (root && json_is_true (json_object_get (root, "success"))) {
        json_t *nodes = json_object_get (root, "result");
        const char *first = json_string_value (json_array_get (nodes, 0));
        if (first) {
            snprintf (node, size, "%s", first);
            result = node;
        }
    }
    json_decref (root);
    return result;
}

//  Results of one allocator on one cluster.
typedef struct {
    uint64_t samples [S_E2E_MAX];   // wall time per request (ns)
    size_t count;               // requests run
    size_t failed;              // requests without an answer (hail: success false)
} s_e2e_t;

//  p50 of 20 runs of argv (process start and exit only).
static uint64_t
s_start_cost (char *const argv [])
{
    char out [1 << 16];
    uint64_t samples [20];
    int status;
    for (int i = 0; i < 20; i++) {
        int64_t ns = s_spawn (argv, out, sizeof out, &status);
        samples [i] = ns > 0? (uint64_t) ns: 0;
    }
    return s_percentile (samples, 20, 50);
}

static int
s_compare (const char *hail, const char *one, double seconds, int argc, char **argv)
{
    char out [1 << 16];
    char self [4096];
    snprintf (self, sizeof self, "%s", one);
    s_e2e_t ours [8] = { 0 }, theirs [8] = { 0 };
    bool hail_ran [8] = { false };
    int sizes = 0;
    printf ("end to end, one process per request (process start, reading the cluster, "
            "deciding, answering);\nhail runs with --no-capacity-checks (vmsched has no N+1 "
            "check either)\n");
    for (int i = 0; i + 2 < argc && sizes < 8; i += 3, sizes++) {
        const char *name = argv [i], *cluster = argv [i + 1], *reqdir = argv [i + 2];
        s_e2e_t *us = &ours [sizes], *them = &theirs [sizes];
        //  The flavours asked for: those with a request file for hail (all without hail).
        size_t flavours [S_E2E_FLAVOURS], flavour_count = 0;
        uint64_t total = 0;
        for (size_t f = 0; f < S_E2E_FLAVOURS; f++) {
            char request [4096];
            snprintf (request, sizeof request, "%s/req-%u-%llu.json", reqdir, gen_mix [f].vcpus,
                      (unsigned long long) gen_mix [f].memory_mib);
            if (access (request, R_OK) == 0)
                flavours [flavour_count++] = f;
        }
        hail_ran [sizes] = flavour_count > 0;
        if (flavour_count == 0)
            for (size_t f = 0; f < S_E2E_FLAVOURS; f++)
                flavours [flavour_count++] = f;
        for (size_t k = 0; k < flavour_count; k++)
            total += gen_mix [flavours [k]].weight;
        uint64_t state = 2024;
        uint64_t budget = (uint64_t) (seconds * 1e9), spent_us = 0, spent_them = 0;
        if (!hail_ran [sizes])
            spent_them = budget;
        int shown = 0;
        for (size_t r = 0; r < S_E2E_MAX; r++) {
            if (spent_us >= budget && spent_them >= budget)
                break;
            //  A flavour by the mix, among those available.
            uint64_t pick = gen_next (&state) % total;
            size_t f = flavours [0];
            for (size_t k = 0; k < flavour_count; k++) {
                f = flavours [k];
                if (pick < gen_mix [f].weight)
                    break;
                pick -= gen_mix [f].weight;
            }
            char vcpus [16], memory [24], request [4096], node [256] = "", our_node [256] = "";
            snprintf (vcpus, sizeof vcpus, "%u", gen_mix [f].vcpus);
            snprintf (memory, sizeof memory, "%llu", (unsigned long long) gen_mix [f].memory_mib);
            snprintf (request, sizeof request, "%s/req-%s-%s.json", reqdir, vcpus, memory);
            int status = 0;
            const char *their_node = NULL;
            if (spent_us < budget) {
                char *args [] = { self, "--one", (char *) cluster, vcpus, memory, NULL };
                int64_t ns = s_spawn (args, out, sizeof out, &status);
                if (ns < 0)
                    return 1;
                us->samples [us->count++] = (uint64_t) ns;
                spent_us += (uint64_t) ns;
                if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
                    us->failed++;
                out [strcspn (out, "\n")] = 0;
                snprintf (our_node, sizeof our_node, "%.255s", out);
            }
            if (spent_them < budget) {
                char *args [] = { (char *) hail, "--no-capacity-checks", request, NULL };
                int64_t ns = s_spawn (args, out, sizeof out, &status);
                if (ns < 0)
                    return 1;
                them->samples [them->count++] = (uint64_t) ns;
                spent_them += (uint64_t) ns;
                their_node = s_hail_node (out, node, sizeof node);
                if (!their_node) {
                    them->failed++;
                    if (them->failed == 1)
                        fprintf (stderr, "hail failed on %s: %.300s\n", request, out);
                }
            }
            if (shown < 3 && *our_node && their_node) {
                printf ("  %5s hosts, request %d: %2s vCPUs %6s MiB -> hail %s, vmsched %s\n",
                        name, shown + 1, vcpus, memory, their_node, our_node);
                shown++;
            }
        }
    }
    printf ("\n%-8s %-30s%-30s%s\n", "hosts", "hail p50 / p99 (requests)",
            "vmsched p50 / p99 (requests)", "hail / vmsched at p50");
    for (int i = 0; i < sizes; i++) {
        char a [32], b [32], cell [2][64];
        s_e2e_t *rows [2] = { &theirs [i], &ours [i] };
        uint64_t p50 [2];
        for (int k = 0; k < 2; k++) {
            p50 [k] = s_percentile (rows [k]->samples, rows [k]->count, 50);
            uint64_t p99 = s_percentile (rows [k]->samples, rows [k]->count, 99);
            snprintf (cell [k], sizeof cell [k], "%s / %s (%zu)", s_duration (p50 [k], a, sizeof a),
                      s_duration (p99, b, sizeof b), rows [k]->count);
        }
        if (!hail_ran [i])
            snprintf (cell [0], sizeof cell [0], "not run");
        printf ("%-8s ", argv [i * 3]);
        s_cell (cell [0], 30);
        s_cell (cell [1], 30);
        if (hail_ran [i] && p50 [1])
            printf ("%.0fx", (double) p50 [0] / (double) p50 [1]);
        printf ("\n");
        if (theirs [i].failed || ours [i].failed)
            printf ("  failures: hail %zu, vmsched %zu\n", theirs [i].failed, ours [i].failed);
    }
    char *hail_start [] = { (char *) hail, "--version", NULL };
    char *our_start [] = { self, "--noop", NULL };
    char a [32], b [32];
    printf ("  (of which process start alone, p50 of 20: hail --version %s, %s --noop %s)\n",
            s_duration (s_start_cost (hail_start), a, sizeof a),
            strrchr (self, '/')? strrchr (self, '/') + 1: self,
            s_duration (s_start_cost (our_start), b, sizeof b));
    return 0;
}


int
main (int argc, char **argv)
{
    if (argc == 5 && strcmp (argv [1], "--gen") == 0)
        return gen_cluster_write (&(gen_cluster_options_t) {
            strtoul (argv [2], NULL, 10), strtoull (argv [3], NULL, 10), false, false, 0 },
            argv [4], "tests/bench/bench_place --gen")? 1: 0;
    if (argc == 5 && strcmp (argv [1], "--inproc") == 0)
        return s_inproc ((const char **) argv + 2)? 1: 0;
    if (argc == 5 && strcmp (argv [1], "--one") == 0)
        return s_one (argv [2], argv [3], argv [4]);
    if (argc >= 8 && strcmp (argv [1], "--compare") == 0)
        return s_compare (argv [2], argv [3], atof (argv [4]), argc - 5, argv + 5);
    if (argc == 2 && strcmp (argv [1], "--noop") == 0)
        return 0;
    fprintf (stderr, "usage: bench_place --gen HOSTS SEED FILE\n"
                     "       bench_place --inproc C100 C1000 C10000\n"
                     "       bench_place --one FILE VCPUS MEM_MIB\n"
                     "       bench_place --compare HAIL ONE SECONDS NAME CLUSTER REQDIR ...\n"
                     "       bench_place --noop\n");
    return 2;
}
