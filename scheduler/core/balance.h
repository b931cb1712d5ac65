/*  balance.h - the balancer (DRS): cluster imbalance, the cost of a live migration, and a
    plan of batched live migrations that lowers the imbalance.

    Pure, like place.h: a function of (cluster, per-VM load, options). It never reads the
    clock (the caller passes `now`), the network, libvirt or SQLite, and it has no global
    state; the same input gives the same plan, move for move. It works on a copy of the
    cluster (the caller's place_cluster_t is not changed) and judges every move with
    place.c's own hard filters (place_fits), so a plan never breaks a rule, a capacity limit,
    maintenance or host state that placement would refuse.

    Imbalance (the plan's "metric"), over the counted hosts (up, available, not in
    maintenance, with cpus and memory > 0), N of them, each term a population standard
    deviation over those hosts:
        imbalance = sd(cpu_load / cpus)          CPU utilisation
                  + sd(mem_used / memory_mib)    memory utilisation
                  + sd(vcpus / cpus)             CPU commitment
                  + sd(cpu_ready / cpus)         contention (vCPU delay; 0 when unknown)
    where each host's figure sums its VMs' (cpu_load, mem_used_mib or mem_mib, vcpus,
    cpu_ready). The weights (all 1) are the ones Ganeti's hbal (Cluster/Metrics.hs,
    compCV) gives in effect to the matching terms: cpu_load_cv 1, free_mem_cv 0.5 and
    free_mem_cv_forth 0.5, vcpu_ratio_cv 0.5 and vcpu_ratio_cv_forth 0.5 (the _forth terms
    equal the others without forthcoming instances), so on shared storage, without
    DRBD, N+1 or tags, the first three terms are hbal's score and both planners are judged on
    the same ground.

    Cost of migrating a VM: memory copied = mem / (1 - dirty / bandwidth) (pre-copy rounds
    resend what the guest dirties; mem is mem_used_mib when known, else mem_mib; no dirty rate
    known: mem), charged as
        cost = 0.25 * copied / (sum of memory_mib over counted hosts)
    i.e. moving one average host's worth of memory costs 0.25 / N. A VM dirtying memory at
    0.8 * bandwidth or faster would not converge: it is not a candidate.

    A move is accepted when gain - cost > threshold, gain being the drop in imbalance it
    brings and threshold = T(level) / N:
        level        1       2       3       4       5
        T(level)     0.02    0.01    0.005   0.002   0.001
    (1: only moves that fix a clearly hot or cold host; 5: small improvements too.)

    Candidates: VMs that are migratable, on a counted host, not moved within the cooldown
    (options.cooldown_s before options.now), and not moved before in this plan (a VM moves
    at most once per plan: no ping-pong inside a plan, the cooldown prevents it across plans).
    A VM in a hard affinity rule stays with its peers (place_fits refuses it anywhere else).

    Search (greedy, steepest descent): each round ranks the counted hosts by their share of
    the imbalance (the gradient sum of w * (x - mean) / sd over the terms) and tries every
    candidate of the 8 most loaded hosts on each of the 16 least loaded, each move scored in
    O(1) from running sums (no rescore of the cluster); the best move with the highest
    gain - cost that clears the threshold and passes place_fits is taken. When none does,
    the round is tried once more with 32 sources and 64 targets; when that finds none
    either, the plan is done. Ties go to the earlier host rank, then VM list order, then
    target rank, all of which derive from indices: plans are deterministic.

    Batches: moves with the same batch may run in parallel; a host takes at most max_in
    migrations in and max_out out per batch (defaults 1 and 1); a move into a host comes in a
    later batch than any earlier move out of it (it may need the room that one frees), and
    batches per host keep the plan's order. Moves are returned sorted by batch (stable), and
    replaying them in that order never breaks what place_fits checks at any step.

    balance_plan allocates its working copy and the moves (O(hosts + vms)); it frees the
    former before it returns.
*/
#ifndef VMSCHED_BALANCE_H
#define VMSCHED_BALANCE_H

#include "place.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BALANCE_LEVEL_MIN 1
#define BALANCE_LEVEL_MAX 5
#define BALANCE_TERMS     4     // CPU, memory, commitment, contention (in that order)
#define BALANCE_ERR_SIZE  256

//  Measured load of one VM (same index as the place_cluster_t's vms).
typedef struct {
    double cpu_load;            // physical cores used (vcpus x average vCPU utilisation)
    double cpu_ready;           // cores' worth of time its vCPUs waited to run (vCPU delay,
                                // "CPU ready"); 0 when unknown
    double mem_used_mib;        // memory in use (RSS or balloon); 0: its configured memory
    double dirty_mib_s;         // memory dirtied per second; < 0: unknown
    bool migratable;            // false: never moved (declared so, nested, host devices)
    double last_move;           // when it last migrated (s, the caller's clock); < 0: never
} balance_vm_t;

//  What the caller decides.
typedef struct {
    int level;                  // aggressiveness, BALANCE_LEVEL_MIN .. MAX (default 3)
    size_t max_moves;           // at most this many moves; 0: no limit
    uint32_t max_in;            // migrations into one host per batch (>= 1, default 1)
    uint32_t max_out;           // migrations out of one host per batch (>= 1, default 1)
    double now;                 // the caller's clock, in seconds (the clock of last_move)
    double cooldown_s;          // VMs moved less than this before now stay (default 3600)
    double bandwidth_mib_s;     // migration bandwidth of the cost model (default 1170, 10 GbE)
} balance_options_t;

//  One live migration of a plan.
typedef struct {
    int vm;                     // index into the cluster's vms
    int from;                   // its host before the move
    int to;                     // its host after the move
    uint32_t batch;             // moves of one batch may run in parallel; batches in order
    double gain;                // drop in imbalance the planner expected from the move
    double cost;                // what the move was charged (see the header)
} balance_move_t;

//  A plan: balance_plan fills it, balance_plan_clear frees its moves.
typedef struct {
    balance_move_t *moves;      // owned; move_count entries in execution order
    size_t move_count;          // entries of moves
    uint32_t batch_count;       // batches (the last move's batch + 1; 0 without moves)
    double imbalance_before;    // imbalance of the input
    double imbalance_after;     // imbalance with every move applied (recomputed in full)
    size_t candidates;          // VMs that could have moved (see the header)
    size_t hosts_counted;       // N: hosts the imbalance is taken over
} balance_plan_t;

//  Defaults: level 3, no move limit, 1 in / 1 out per batch, cooldown 3600 s, now 0,
//  bandwidth 1170 MiB/s.
balance_options_t balance_options_default (void);

//  The imbalance formula in one line, for plan-v1's "metric". Static text.
const char *balance_metric (void);

//  Imbalance of the cluster as it stands (vms: one entry per cluster VM). terms: NULL, or
//  BALANCE_TERMS entries that receive each weighted term (their sum is the result).
double balance_imbalance (const place_cluster_t *cluster, const balance_vm_t *vms,
                          double *terms);

//  Cost of migrating cluster->vms[vm] (see the header), or INFINITY when it would not
//  converge at options->bandwidth_mib_s. Costs O(hosts) (the cluster's counted memory).
double balance_cost (const place_cluster_t *cluster, const balance_vm_t *vms, int vm,
                     const balance_options_t *options);

//  Minimum gain - cost of an accepted move at level over hosts_counted hosts; level must be
//  within BALANCE_LEVEL_MIN .. MAX.
double balance_threshold (int level, size_t hosts_counted);

//  Make a plan for the cluster (not changed) with one balance_vm_t per VM. Returns 0 with
//  *out filled (the caller calls balance_plan_clear), or -1 with the reason in err (bad
//  options: "level 7 is not within 1..5"; out of memory) and *out empty.
int balance_plan (const place_cluster_t *cluster, const balance_vm_t *vms,
                  const balance_options_t *options, balance_plan_t *out,
                  char *err, size_t err_size);

//  Free a plan's moves and empty it. NULL-safe.
void balance_plan_clear (balance_plan_t *plan);

#endif
