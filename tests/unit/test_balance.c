/*  test_balance.c - the balancer (balance.c), the plan writer (plan_v1.c) and the load
    fields of the cluster-v1 reader.

    Hand-built clusters pin the imbalance formula, the cost model and the threshold table to
    exact figures, and check single decisions: the move that helps, a non-migratable VM, the
    cooldown, maintenance, anti-affinity. Generated clusters (gen_cluster.h, written to a
    temporary directory and read back with cluster_v1_load) check the planner as a whole:
    a balanced cluster yields no moves; unbalanced ones (with rules, maintenance and
    non-migratable VMs) converge, and a second plan on the result finds nothing more; every
    step of every plan is replayed and judged by place_fits and by an independent capacity
    and rule check; batches keep their limits; the same input gives the same plan. Last,
    broken files name the field.
*/
#include "balance.h"
#include "check.h"
#include "cluster_v1.h"
#include "gen_cluster.h"
#include "place.h"
#include "plan_v1.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_NEAR(a, b) (fabs ((a) - (b)) < 1e-9)

//  A hand-built cluster of up to 4 hosts and 8 VMs.
typedef struct {
    place_host_t hosts [4];     // h0 .. h3
    place_vm_t vms [8];         // v0 .. v7
    balance_vm_t load [8];      // per VM
    place_rule_t rules [1];     // at most one rule
    int rule_vms [2];           // the rule's VMs
    place_cluster_t cluster;    // points into the above
} s_small_t;

static const char *s_names [] = { "h0", "h1", "h2", "h3" };
static const char *s_vm_names [] = { "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7" };

//  hosts hosts of 4 CPUs and 1000 MiB, up; no VMs yet.
static void
s_small (s_small_t *self, size_t hosts)
{
    memset (self, 0, sizeof *self);
    for (size_t h = 0; h < hosts; h++)
        self->hosts [h] = (place_host_t) { .name = s_names [h], .up = true, .cpus = 4,
                                           .memory_mib = 1000 };
    self->cluster = (place_cluster_t) { self->hosts, hosts, self->vms, 0, self->rules, 0,
                                        place_policy_default () };
}

//  Add a VM on host with vcpus, memory and CPU load.
static int
s_add (s_small_t *self, int host, uint32_t vcpus, uint64_t mem, double cpu_load)
{
    int v = (int) self->cluster.vm_count++;
    self->vms [v] = (place_vm_t) { .name = s_vm_names [v], .vcpus = vcpus, .memory_mib = mem,
                                   .host = host };
    self->load [v] = (balance_vm_t) { cpu_load, 0, 0, -1, true, -1 };
    place_host_add (&self->hosts [host], &self->vms [v]);
    return v;
}

static int
s_imbalance (void)
{
    int failures = 0;
    s_small_t s;
    s_small (&s, 2);
    s_add (&s, 0, 2, 500, 2.0);
    double terms [BALANCE_TERMS];
    //  x: cpu {0.5, 0}, mem {0.5, 0}, vcpus {0.5, 0}: sd 0.25 each, weight 1 each.
    CHECK (S_NEAR (balance_imbalance (&s.cluster, s.load, terms), 0.75));
    CHECK (S_NEAR (terms [0], 0.25) && S_NEAR (terms [1], 0.25) && S_NEAR (terms [2], 0.25));
    CHECK (S_NEAR (terms [3], 0));
    //  Contention: 1 core waiting on h0: {0.25, 0}, sd 0.125, weight 1.
    s.load [0].cpu_ready = 1.0;
    CHECK (S_NEAR (balance_imbalance (&s.cluster, s.load, terms), 0.875));
    CHECK (S_NEAR (terms [3], 0.125));
    //  Memory in use counts instead of the configured size: {0.25, 0}: sd 0.125.
    s.load [0].mem_used_mib = 250;
    CHECK (S_NEAR (balance_imbalance (&s.cluster, s.load, terms), 0.75));
    CHECK (S_NEAR (terms [1], 0.125));
    s.load [0].mem_used_mib = 0;
    s.load [0].cpu_ready = 0;
    //  A third host in maintenance is not counted; a third host up is.
    s.hosts [2] = (place_host_t) { .name = "h2", .up = true, .maintenance = true, .cpus = 4,
                                   .memory_mib = 1000 };
    s.cluster.host_count = 3;
    CHECK (S_NEAR (balance_imbalance (&s.cluster, s.load, NULL), 0.75));
    s.hosts [2].maintenance = false;
    //  {0.5, 0, 0}: sd = sqrt(1/12 - 1/36) = 0.2357; three terms.
    CHECK (S_NEAR (balance_imbalance (&s.cluster, s.load, NULL), 3 * sqrt (0.25 / 3 - 0.25 / 9)));
    //  Equal hosts: 0.
    s_small (&s, 2);
    s_add (&s, 0, 1, 100, 0.5);
    s_add (&s, 1, 1, 100, 0.5);
    CHECK (S_NEAR (balance_imbalance (&s.cluster, s.load, NULL), 0));
    CHECK (strstr (balance_metric (), "sd(cpu_load/cpus)") != NULL);
    return failures;
}

static int
s_cost (void)
{
    int failures = 0;
    s_small_t s;
    s_small (&s, 2);
    int v = s_add (&s, 0, 1, 1000, 0.5);
    balance_options_t options = balance_options_default ();
    //  0.25 * copied / counted memory (2000 MiB).
    CHECK (S_NEAR (balance_cost (&s.cluster, s.load, v, &options), 0.125));
    s.load [v].mem_used_mib = 500;
    CHECK (S_NEAR (balance_cost (&s.cluster, s.load, v, &options), 0.0625));
    s.load [v].mem_used_mib = 0;
    //  Dirtying at half the bandwidth doubles what is copied.
    s.load [v].dirty_mib_s = options.bandwidth_mib_s / 2;
    CHECK (S_NEAR (balance_cost (&s.cluster, s.load, v, &options), 0.25));
    //  At 0.8 of the bandwidth it would not converge.
    s.load [v].dirty_mib_s = options.bandwidth_mib_s * 0.8;
    CHECK (isinf (balance_cost (&s.cluster, s.load, v, &options)));
    //  Thresholds: T(level) / N, lower for higher levels.
    CHECK (S_NEAR (balance_threshold (3, 100), 0.005 / 100));
    CHECK (S_NEAR (balance_threshold (1, 1), 0.02));
    for (int level = BALANCE_LEVEL_MIN; level < BALANCE_LEVEL_MAX; level++)
        CHECK (balance_threshold (level, 10) > balance_threshold (level + 1, 10));
    return failures;
}

//  Plan the small cluster; returns the plan (the caller clears it).
static balance_plan_t
s_plan_small (s_small_t *s, const balance_options_t *options)
{
    balance_plan_t plan;
    char err [BALANCE_ERR_SIZE];
    if (balance_plan (&s->cluster, s->load, options, &plan, err, sizeof err))
        fprintf (stderr, "  balance_plan: %s\n", err);
    return plan;
}

static int
s_decisions (void)
{
    int failures = 0;
    balance_options_t options = balance_options_default ();
    options.level = 5;
    //  Two busy VMs on h0, h1 empty: one moves to h1, with the gain the formula gives.
    s_small_t s;
    s_small (&s, 2);
    s_add (&s, 0, 2, 200, 2.0);
    s_add (&s, 0, 2, 200, 1.5);
    double before = balance_imbalance (&s.cluster, s.load, NULL);
    balance_plan_t plan = s_plan_small (&s, &options);
    CHECK (plan.move_count == 1);
    if (plan.move_count == 1) {
        CHECK (plan.moves [0].from == 0 && plan.moves [0].to == 1);
        CHECK (plan.moves [0].vm == 0);         // the busier one evens out more
        CHECK (S_NEAR (plan.imbalance_before, before));
        CHECK (S_NEAR (plan.moves [0].gain, plan.imbalance_before - plan.imbalance_after));
        CHECK (plan.moves [0].cost > 0 && plan.moves [0].batch == 0);
    }
    //  The caller's cluster is not changed.
    CHECK (s.vms [0].host == 0 && s.hosts [0].vcpus_used == 4 && s.hosts [1].vcpus_used == 0);
    balance_plan_clear (&plan);
    //  Not migratable: the other one moves.
    s.load [0].migratable = false;
    plan = s_plan_small (&s, &options);
    CHECK (plan.move_count == 1 && plan.moves [0].vm == 1);
    balance_plan_clear (&plan);
    //  Both cooling down (moved 100 s before now, cooldown 3600 s): nothing moves; after the
    //  cooldown, one does.
    s.load [0].migratable = true;
    s.load [0].last_move = s.load [1].last_move = 1000;
    options.now = 1100;
    plan = s_plan_small (&s, &options);
    CHECK (plan.move_count == 0 && plan.candidates == 0);
    balance_plan_clear (&plan);
    options.now = 1000 + options.cooldown_s;
    plan = s_plan_small (&s, &options);
    CHECK (plan.move_count == 1);
    balance_plan_clear (&plan);
    //  The only other host is in maintenance: no target.
    s.hosts [1].maintenance = true;
    plan = s_plan_small (&s, &options);
    CHECK (plan.move_count == 0);
    balance_plan_clear (&plan);
    //  Down: neither.
    s.hosts [1].maintenance = false;
    s.hosts [1].up = false;
    plan = s_plan_small (&s, &options);
    CHECK (plan.move_count == 0);
    balance_plan_clear (&plan);
    //  Anti-affinity: v0 (on h0) and v2 (on h1) apart; h1 is the emptiest, so v0 goes to h2.
    s_small (&s, 3);
    s_add (&s, 0, 2, 300, 3.0);
    s_add (&s, 0, 2, 300, 1.0);
    s_add (&s, 1, 1, 10, 0.0);
    s_add (&s, 2, 1, 100, 0.5);
    s.rule_vms [0] = 0;
    s.rule_vms [1] = 2;
    s.rules [0] = (place_rule_t) { "apart", PLACE_RULE_ANTI_AFFINITY, true, true, 0,
                                   s.rule_vms, 2, NULL, 0 };
    plan = s_plan_small (&s, &options);
    CHECK (plan.move_count >= 1);
    if (plan.move_count >= 1)
        CHECK (plan.moves [0].vm == 0 && plan.moves [0].to == 1);   // no rule yet
    balance_plan_clear (&plan);
    s.cluster.rule_count = 1;
    plan = s_plan_small (&s, &options);
    for (size_t i = 0; i < plan.move_count; i++)
        CHECK (!(plan.moves [i].vm == 0 && plan.moves [i].to == 1));
    CHECK (plan.move_count >= 1);
    balance_plan_clear (&plan);
    //  Capacity: h1 has room for no VM of h0 (memory): nothing moves.
    s_small (&s, 2);
    s_add (&s, 0, 2, 600, 3.0);
    s_add (&s, 1, 1, 500, 0.0);
    plan = s_plan_small (&s, &options);
    CHECK (plan.move_count == 0);
    balance_plan_clear (&plan);
    //  Bad options.
    char err [BALANCE_ERR_SIZE] = "";
    options.level = 6;
    CHECK (balance_plan (&s.cluster, s.load, &options, &plan, err, sizeof err) == -1);
    CHECK (strcmp (err, "level 6 is not within 1..5") == 0);
    options.level = 3;
    options.max_in = 0;
    CHECK (balance_plan (&s.cluster, s.load, &options, &plan, err, sizeof err) == -1);
    CHECK (strstr (err, "limits must be 1 or more") != NULL);
    return failures;
}


//  --------------------------------------------------------------------------------------
//  Generated clusters

//  Write a generated cluster into a temporary file and load it.
static cluster_v1_t *
s_generated (size_t hosts, uint64_t seed, bool balanced, bool extras)
{
    char path [256];
    const char *dir = getenv ("TMPDIR");
    snprintf (path, sizeof path, "%s/vmsched-balance-%d-%zu-%llu-%d%d.json", dir? dir: "/tmp",
              (int) getpid (), hosts, (unsigned long long) seed, balanced, extras);
    gen_cluster_options_t options = { hosts, seed, balanced, extras, 0 };
    cluster_v1_t *file = NULL;
    char err [512];
    if (gen_cluster_write (&options, path, "test_balance") == 0
    &&  !(file = cluster_v1_load (path, err, sizeof err)))
        fprintf (stderr, "  %s\n", err);
    unlink (path);
    return file;
}

//  Independent check of a cluster state: capacity per host, every hard rule. Returns the
//  number of violations (and says which).
static int
s_violations (const place_cluster_t *c)
{
    int bad = 0;
    for (size_t h = 0; h < c->host_count; h++) {
        uint64_t vcpus = 0, mem = 0;
        for (size_t v = 0; v < c->vm_count; v++)
            if (c->vms [v].host == (int) h) {
                vcpus += c->vms [v].vcpus;
                mem += c->vms [v].memory_mib;
            }
        if ((double) vcpus > c->hosts [h].cpus * c->policy.cpu_overcommit
        ||  mem > c->hosts [h].memory_mib) {
            fprintf (stderr, "  host %s over capacity\n", c->hosts [h].name);
            bad++;
        }
    }
    for (size_t r = 0; r < c->rule_count; r++) {
        const place_rule_t *rule = &c->rules [r];
        if (!rule->hard)
            continue;
        for (size_t i = 0; i < rule->vm_count; i++) {
            int host = c->vms [rule->vms [i]].host;
            if (rule->kind == PLACE_RULE_ANTI_AFFINITY)
                for (size_t j = i + 1; j < rule->vm_count; j++)
                    bad += host >= 0 && c->vms [rule->vms [j]].host == host;
            if (rule->kind == PLACE_RULE_VM_HOST) {
                bool listed = false;
                for (size_t k = 0; k < rule->host_count; k++)
                    listed |= rule->hosts [k] == host;
                bad += host >= 0 && listed != rule->positive;
            }
        }
    }
    return bad;
}

//  Replay the plan on the file's cluster (which it changes), step by step, checking each
//  move with place_fits and s_violations, the VM's eligibility and the batch limits; the
//  moved VMs get last_move = now (for a second plan). Returns failed checks.
static int
s_replay (cluster_v1_t *file, const balance_plan_t *plan, const balance_options_t *options)
{
    int failures = 0;
    place_cluster_t *c = cluster_v1_place (file);
    balance_vm_t *load = (balance_vm_t *) cluster_v1_load_figures (file);
    uint32_t *ins = calloc (c->host_count, sizeof (uint32_t));
    uint32_t *outs = calloc (c->host_count, sizeof (uint32_t));
    uint32_t batch = 0;
    for (size_t i = 0; i < plan->move_count && ins && outs; i++) {
        const balance_move_t *m = &plan->moves [i];
        place_vm_t *vm = &c->vms [m->vm];
        if (m->batch != batch) {
            CHECK (m->batch > batch);           // batches in increasing order
            batch = m->batch;
            memset (ins, 0, c->host_count * sizeof (uint32_t));
            memset (outs, 0, c->host_count * sizeof (uint32_t));
        }
        CHECK (++ins [m->to] <= options->max_in);
        CHECK (++outs [m->from] <= options->max_out);
        //  A move into a host that an earlier move of the same batch left: not allowed.
        CHECK (outs [m->to] == 0);
        CHECK (vm->host == m->from && m->from != m->to);
        CHECK (load [m->vm].migratable);
        CHECK (!(load [m->vm].last_move >= 0
                 && options->now - load [m->vm].last_move < options->cooldown_s));
        CHECK (!c->hosts [m->to].maintenance && c->hosts [m->to].up);
        char reason [PLACE_REASON_SIZE];
        bool fits = place_fits (c, m->vm, m->to, reason, sizeof reason);
        if (!fits)
            fprintf (stderr, "  move %zu: %s to %s: %s\n", i, vm->name, c->hosts [m->to].name,
                     reason);
        CHECK (fits);
        place_host_remove (&c->hosts [m->from], vm);
        place_host_add (&c->hosts [m->to], vm);
        vm->host = m->to;
        load [m->vm].last_move = options->now;
        CHECK (s_violations (c) == 0);
    }
    free (ins);
    free (outs);
    return failures;
}

//  A generated unbalanced cluster with extras and default options at its time; NULL (and a
//  failed check) when it cannot be written or read.
static cluster_v1_t *
s_open (size_t hosts, uint64_t seed, bool extras, balance_options_t *options, int *failures)
{
    cluster_v1_t *file = s_generated (hosts, seed, false, extras);
    *failures += file == NULL;
    *options = balance_options_default ();
    options->now = cluster_v1_time (file);
    return file;
}

static int
s_balanced (void)
{
    int failures = 0;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        cluster_v1_t *file = s_generated (50, seed, true, false);
        CHECK (file != NULL);
        if (!file)
            continue;
        balance_options_t options = balance_options_default ();
        options.level = 5;
        balance_plan_t plan;
        CHECK (balance_plan (cluster_v1_place (file), cluster_v1_load_figures (file), &options,
                             &plan, NULL, 0) == 0);
        CHECK (plan.move_count == 0 && plan.imbalance_before < 1e-6);
        CHECK (plan.candidates == 50 * 15);
        balance_plan_clear (&plan);
        cluster_v1_destroy (&file);
    }
    return failures;
}

static int
s_converges (void)
{
    int failures = 0;
    const size_t sizes [] = { 10, 100, 200 };
    for (size_t k = 0; k < 3; k++)
        for (uint64_t seed = 1; seed <= 3; seed++) {
            balance_options_t options;
            cluster_v1_t *file = s_open (sizes [k], seed, seed != 2, &options, &failures);
            if (!file)
                continue;
            place_cluster_t *c = cluster_v1_place (file);
            CHECK (s_violations (c) == 0);
            balance_plan_t plan, again, second;
            CHECK (balance_plan (c, cluster_v1_load_figures (file), &options, &plan, NULL, 0) == 0);
            //  Same input, same plan.
            CHECK (balance_plan (c, cluster_v1_load_figures (file), &options, &again, NULL, 0) == 0);
            CHECK (again.move_count == plan.move_count);
            CHECK (plan.move_count == 0
                   || memcmp (plan.moves, again.moves, plan.move_count * sizeof *plan.moves) == 0);
            CHECK (sizes [k] < 100 || plan.move_count > 0);
            CHECK (plan.imbalance_after < plan.imbalance_before
                   || (plan.move_count == 0 && plan.imbalance_after == plan.imbalance_before));
            CHECK (sizes [k] < 100 || plan.imbalance_after < 0.5 * plan.imbalance_before);
            //  The plan's own figures agree with a fresh computation on the replayed cluster.
            failures += s_replay (file, &plan, &options);
            CHECK (S_NEAR (balance_imbalance (c, cluster_v1_load_figures (file), NULL),
                           plan.imbalance_after));
            double gains = 0;
            for (size_t i = 0; i < plan.move_count; i++)
                gains += plan.moves [i].gain;
            CHECK (fabs (gains - (plan.imbalance_before - plan.imbalance_after)) < 1e-6);
            //  A second plan on the result (the moved VMs now cooling down) finds nothing.
            CHECK (balance_plan (c, cluster_v1_load_figures (file), &options, &second, NULL, 0) == 0);
            CHECK (second.move_count <= 1);
            CHECK (second.imbalance_before - second.imbalance_after
                   <= 0.01 * (plan.imbalance_before - plan.imbalance_after) + 1e-12);
            failures += s_replay (file, &second, &options);
            balance_plan_clear (&plan);
            balance_plan_clear (&again);
            balance_plan_clear (&second);
            cluster_v1_destroy (&file);
        }
    return failures;
}

static int
s_levels_and_limits (void)
{
    int failures = 0;
    balance_options_t options;
    cluster_v1_t *file = s_open (100, 11, true, &options, &failures);
    if (!file)
        return failures;
    place_cluster_t *c = cluster_v1_place (file);
    size_t previous = 0;
    double first_after = 0, previous_after = 0;
    for (int level = 1; level <= 5; level++) {
        options.level = level;
        balance_plan_t plan;
        CHECK (balance_plan (c, cluster_v1_load_figures (file), &options, &plan, NULL, 0) == 0);
        CHECK (plan.move_count >= previous);
        if (level == 1)
            first_after = plan.imbalance_after;
        for (size_t i = 0; i < plan.move_count; i++)
            CHECK (plan.moves [i].gain - plan.moves [i].cost
                   > balance_threshold (level, plan.hosts_counted));
        previous = plan.move_count;
        previous_after = plan.imbalance_after;
        balance_plan_clear (&plan);
    }
    CHECK (previous > 0);
    CHECK (previous_after < first_after);   // level 5 ends lower than level 1
    //  --max-moves, and wider per-host limits make fewer batches of the same moves.
    options.level = 3;
    options.max_moves = 7;
    balance_plan_t plan, wide;
    CHECK (balance_plan (c, cluster_v1_load_figures (file), &options, &plan, NULL, 0) == 0);
    CHECK (plan.move_count == 7);
    balance_plan_clear (&plan);
    options.max_moves = 0;
    CHECK (balance_plan (c, cluster_v1_load_figures (file), &options, &plan, NULL, 0) == 0);
    options.max_in = options.max_out = 3;
    CHECK (balance_plan (c, cluster_v1_load_figures (file), &options, &wide, NULL, 0) == 0);
    CHECK (wide.move_count == plan.move_count);
    CHECK (wide.batch_count < plan.batch_count);
    CHECK (plan.batch_count > 0 && plan.moves [plan.move_count - 1].batch + 1 == plan.batch_count);
    failures += s_replay (file, &wide, &options);
    balance_plan_clear (&plan);
    balance_plan_clear (&wide);
    cluster_v1_destroy (&file);
    return failures;
}


//  --------------------------------------------------------------------------------------
//  The plan as JSON; the file's load fields

static int
s_json (void)
{
    int failures = 0;
    balance_options_t options;
    cluster_v1_t *file = s_open (20, 5, false, &options, &failures);
    if (!file)
        return failures;
    place_cluster_t *c = cluster_v1_place (file);
    balance_plan_t plan;
    CHECK (balance_plan (c, cluster_v1_load_figures (file), &options, &plan, NULL, 0) == 0);
    CHECK (plan.move_count > 0);
    char *text = plan_v1_json (c, &plan, 12.5);
    json_error_t error;
    json_t *root = text? json_loads (text, 0, &error): NULL;
    CHECK (root != NULL);
    if (root) {
        CHECK (strcmp (json_string_value (json_object_get (root, "format")), "vm-plan-v1") == 0);
        json_t *moves = json_object_get (root, "moves");
        CHECK (json_array_size (moves) == plan.move_count);
        json_t *first = json_array_get (moves, 0);
        CHECK (strcmp (json_string_value (json_object_get (first, "vm")),
                       c->vms [plan.moves [0].vm].name) == 0);
        CHECK (strcmp (json_string_value (json_object_get (first, "to")),
                       c->hosts [plan.moves [0].to].name) == 0);
        CHECK (json_integer_value (json_object_get (first, "batch")) == 0);
        CHECK (fabs (json_number_value (json_object_get (first, "gain")) - plan.moves [0].gain)
               < 1e-5 * plan.moves [0].gain);
        CHECK (fabs (json_number_value (json_object_get (root, "imbalance_after"))
                     - plan.imbalance_after) < 1e-5);
        CHECK (json_number_value (json_object_get (root, "elapsed_ms")) == 12.5);
        CHECK (strcmp (json_string_value (json_object_get (root, "metric")), balance_metric ()) == 0);
        json_decref (root);
    }
    free (text);
    text = plan_v1_text (c, &plan, 3, 1.0);
    CHECK (text && strstr (text, "plan (level 3): imbalance ") == text);
    CHECK (text && strstr (text, "batch 0 (") != NULL);
    free (text);
    balance_plan_clear (&plan);
    cluster_v1_destroy (&file);
    return failures;
}

//  Parse text as a cluster; the error it gives (or "" when it loads).
static const char *
s_error_of (const char *text, char *err, size_t size)
{
    err [0] = 0;
    cluster_v1_t *file = cluster_v1_parse ("c.json", text, strlen (text), err, size);
    cluster_v1_destroy (&file);
    return err;
}

static int
s_file_fields (void)
{
    int failures = 0;
    char err [512];
    const char *head = "{\"format\": \"vm-cluster-v1\", \"hosts\": [{\"name\": \"a\", \"cpus\": 4, "
                       "\"mem_mib\": 100, \"nested\": true}], ";
    char text [1024];
    snprintf (text, sizeof text, "%s\"time\": 50, \"vms\": [{\"name\": \"v\", \"vcpus\": 2, "
              "\"mem_mib\": 10, \"cpu_util\": 0.25, \"cpu_ready\": 0.5, \"mem_used_mib\": 8, "
              "\"dirty_mib_s\": 3, \"last_migrated\": 40, \"host\": \"a\"}, {\"name\": \"w\", "
              "\"vcpus\": 2, \"mem_mib\": 10, \"cpu_load\": 1.5, \"cpu_util\": 0.1, "
              "\"nested\": true}, {\"name\": \"x\", \"vcpus\": 1, \"mem_mib\": 10, "
              "\"host_devices\": true}]}", head);
    cluster_v1_t *file = cluster_v1_parse ("c.json", text, strlen (text), err, sizeof err);
    CHECK (file != NULL);
    if (file) {
        const balance_vm_t *load = cluster_v1_load_figures (file);
        CHECK (S_NEAR (load [0].cpu_load, 0.5));        // vcpus x cpu_util
        CHECK (S_NEAR (load [0].cpu_ready, 0.5) && S_NEAR (load [0].mem_used_mib, 8));
        CHECK (S_NEAR (load [0].dirty_mib_s, 3) && S_NEAR (load [0].last_move, 40));
        CHECK (load [0].migratable);
        CHECK (S_NEAR (load [1].cpu_load, 1.5));        // cpu_load wins
        CHECK (!load [1].migratable && cluster_v1_place (file)->vms [1].needs_nested);
        CHECK (!load [2].migratable && S_NEAR (load [2].cpu_load, 0) && load [2].dirty_mib_s < 0);
        CHECK (S_NEAR (cluster_v1_time (file), 50));
        CHECK (cluster_v1_place (file)->hosts [0].nested);
        cluster_v1_destroy (&file);
    }
    struct { const char *vm; const char *error; } cases [] = {
        { "\"cpu_load\": \"x\"", "c.json: vms[0].cpu_load is a string, expected a number" },
        { "\"cpu_util\": 1.5", "c.json: vms[0].cpu_util is 1.5, expected at most 1" },
        { "\"cpu_load\": 3", "c.json: vms[0].cpu_load is 3, expected at most 2" },
        { "\"cpu_ready\": -1", "c.json: vms[0].cpu_ready is -1, expected 0 or more" },
        { "\"mem_used_mib\": 11", "c.json: vms[0].mem_used_mib is 11, expected at most 10" },
        { "\"nested\": 1", "c.json: vms[0].nested is an integer, expected true or false" },
        { "\"host_devices\": \"yes\"", "c.json: vms[0].host_devices is a string, expected true or false" },
        { "\"last_migrated\": [1]", "c.json: vms[0].last_migrated is an array, expected a number" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        snprintf (text, sizeof text, "%s\"vms\": [{\"name\": \"v\", \"vcpus\": 2, \"mem_mib\": 10, "
                  "%s}]}", head, cases [i].vm);
        const char *got = s_error_of (text, err, sizeof err);
        if (strcmp (got, cases [i].error))
            fprintf (stderr, "  got '%s', want '%s'\n", got, cases [i].error);
        CHECK (strcmp (got, cases [i].error) == 0);
    }
    snprintf (text, sizeof text, "%s\"time\": \"now\", \"vms\": []}", head);
    CHECK (strcmp (s_error_of (text, err, sizeof err),
                   "c.json: time is a string, expected a number") == 0);
    return failures;
}

static const check_case_t s_cases [] = {
    { "imbalance", s_imbalance },
    { "cost-threshold", s_cost },
    { "decisions", s_decisions },
    { "balanced-no-moves", s_balanced },
    { "converges-rules-hold", s_converges },
    { "levels-limits", s_levels_and_limits },
    { "plan-json", s_json },
    { "file-fields", s_file_fields },
};

int
main (int argc, char **argv)
{
    return CHECK_RUN_ALL ("balance", s_cases, argc, argv) ? 1: 0;
}
