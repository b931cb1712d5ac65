/*  gen_cluster.h - generated vm-cluster-v1 clusters for the planner's tests and benchmarks.

    Deterministic by seed (xorshift64*, no libc rand): the same options write the same file
    on every machine. The default cluster is the benchmarks' (48-core / 256 GiB hosts, about
    15 VMs per host, 10 % of hosts empty, the others filled log-normally, so some are crowded
    and some nearly idle; VM sizes drawn from the 16 flavours of Azure's 2017 trace, CPU
    utilisation u^5 of a uniform u, mean 1/6, like Beta(0.7, 3.5)). Shared by tests/unit
    (linked into every unit test), tests/bench/bench_place (--gen) and tests/bench/gen_cluster.
*/
#ifndef VMSCHED_GEN_CLUSTER_H
#define VMSCHED_GEN_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

//  A VM flavour and how often it occurs.
typedef struct {
    uint32_t vcpus;             // configured vCPUs
    uint64_t memory_mib;        // configured memory
    uint32_t weight;            // relative frequency
} gen_flavour_t;

//  The flavour mix (Azure 2017), most frequent first.
extern const gen_flavour_t gen_mix [];
#define GEN_MIX_COUNT 12

//  What to generate.
typedef struct {
    size_t hosts;               // hosts (named node00001 ...)
    uint64_t seed;              // the same seed, the same cluster
    bool balanced;              // every host holds the same 15 VMs (no host empty): every
                                // host's figures are equal, so no move can lower imbalance
    bool extras;                // also: hard anti-affinity and must-not rules, 5 % of VMs
                                // not migratable (declared, nested, host devices), the
                                // second host in maintenance, a "time" and recent moves
    size_t vms_per_host;        // 0: 15
} gen_cluster_options_t;

//  xorshift64*: the next value of *state.
uint64_t gen_next (uint64_t *state);

//  Uniform in [0, 1).
double gen_uniform (uint64_t *state);

//  A flavour index drawn by weight from the first count flavours of the mix.
size_t gen_flavour (uint64_t *state, size_t count);

//  Write the cluster to path; script names the generator in the file's "generator" object.
//  Returns 0, or -1 with the reason on stderr.
int gen_cluster_write (const gen_cluster_options_t *options, const char *path,
                       const char *script);

#endif
