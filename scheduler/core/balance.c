/*  balance.c - the balancer (DRS): imbalance, migration cost, greedy plan, batches.

    Implements balance.h. A plan works on its own copy of the cluster's hosts and VMs (the
    copy place_fits judges, so every hard filter sees the moves made so far) and keeps, per
    counted host, its figure for each term (x) and, per term, the running sum and sum of
    squares over the counted hosts: the imbalance after a candidate move follows from those
    in O(1) (two hosts change). Each VM sits in a doubly linked list of its host's VMs, so a
    move is O(1) too. A round costs O(hosts) to rank the hosts plus O(sources x VMs per host
    x targets) to score candidates; place_fits runs only for a move that would beat the best
    so far. Never reads the clock, never does I/O, no globals.
*/
#include "balance.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Weights of the terms (CPU, memory, commitment, contention): see balance.h.
static const double s_weight [BALANCE_TERMS] = { 1.0, 1.0, 1.0, 1.0 };

//  T(level) of the threshold table, by level.
static const double s_level_threshold [BALANCE_LEVEL_MAX + 1] = {
    0, 0.02, 0.01, 0.005, 0.002, 0.001
};

//  Cost of copying one average host's memory, in imbalance units times N.
#define S_COST_SCALE 0.25
//  A VM dirtying memory faster than this share of the bandwidth would not converge.
#define S_DIRTY_LIMIT 0.8
//  Hosts tried per round as sources and targets, then once more, wider.
#define S_SOURCES 8
#define S_TARGETS 16
#define S_SOURCES_WIDE 32
#define S_TARGETS_WIDE 64

//  Working state of one plan.
typedef struct {
    place_cluster_t work;       // the cluster with own copies of hosts and VMs (moves applied)
    const balance_vm_t *load;   // caller's per-VM load
    const balance_options_t *options;   // caller's options
    size_t hosts;               // host_count
    size_t vms;                 // vm_count
    bool *counted;              // per host: in the imbalance, and a possible target
    double *x;                  // per host, BALANCE_TERMS figures (x [h * TERMS + t])
    double *inverse;            // per host, 1 / capacity per term (0 when not counted)
    double sum [BALANCE_TERMS];     // sum of x over counted hosts
    double squares [BALANCE_TERMS]; // sum of x^2 over counted hosts
    size_t n;                   // counted hosts
    double imbalance;           // current imbalance (from the running sums)
    double threshold;           // minimum gain - cost of a move
    double *cost;               // per VM: cost of moving it (INFINITY: not a candidate)
    bool *candidate;            // per VM: may still move in this plan
    int *head;                  // per host: first VM of its list (-1: none)
    int *next;                  // per VM: next VM on its host (-1: last)
    int *prev;                  // per VM: previous VM on its host (-1: first)
    size_t *movable;            // per host: candidates on it
    double *rank;               // per host: share of the imbalance (gradient), this round
    int *sources;               // most loaded hosts of a round, S_SOURCES_WIDE entries
    int *targets;               // least loaded hosts of a round, S_TARGETS_WIDE entries
} s_plan_t;

//  The best move found in a round.
typedef struct {
    int vm;                     // -1: none yet
    int to;                     // target host
    double net;                 // gain - cost
    double gain;                // drop in imbalance
    double after;               // imbalance after it
} s_best_t;


//  --------------------------------------------------------------------------------------
//  Figures

static bool
s_counted (const place_host_t *host)
{
    return host->up && !host->unavailable && !host->maintenance
        && host->cpus > 0 && host->memory_mib > 0;
}

//  The VM's amount of each term (before division by the host's capacity).
static void
s_amounts (const place_vm_t *vm, const balance_vm_t *load, double amount [BALANCE_TERMS])
{
    amount [0] = load->cpu_load;
    amount [1] = load->mem_used_mib > 0? load->mem_used_mib: (double) vm->memory_mib;
    amount [2] = (double) vm->vcpus;
    amount [3] = load->cpu_ready;
}

//  Host capacity per term.
static void
s_capacity (const place_host_t *host, double capacity [BALANCE_TERMS])
{
    capacity [0] = (double) host->cpus;
    capacity [1] = (double) host->memory_mib;
    capacity [2] = (double) host->cpus;
    capacity [3] = (double) host->cpus;
}

//  Population standard deviation from n, sum and sum of squares.
static double
s_sd (double sum, double squares, size_t n)
{
    if (n == 0)
        return 0;
    double mean = sum / (double) n;
    double variance = squares / (double) n - mean * mean;
    return variance > 0? sqrt (variance): 0;
}

static double
s_weighted (const double sum [BALANCE_TERMS], const double squares [BALANCE_TERMS], size_t n,
            double *terms)
{
    double total = 0;
    for (int t = 0; t < BALANCE_TERMS; t++) {
        double term = s_weight [t] * s_sd (sum [t], squares [t], n);
        if (terms)
            terms [t] = term;
        total += term;
    }
    return total;
}

//  Memory copied to migrate the VM, or INFINITY (would not converge).
static double
s_copied (const place_vm_t *vm, const balance_vm_t *load, double bandwidth)
{
    double mem = load->mem_used_mib > 0? load->mem_used_mib: (double) vm->memory_mib;
    if (load->dirty_mib_s <= 0)
        return mem;
    if (!(bandwidth > 0) || load->dirty_mib_s >= S_DIRTY_LIMIT * bandwidth)
        return INFINITY;
    return mem / (1.0 - load->dirty_mib_s / bandwidth);
}

static double
s_counted_memory (const place_cluster_t *cluster)
{
    double total = 0;
    for (size_t h = 0; h < cluster->host_count; h++)
        if (s_counted (&cluster->hosts [h]))
            total += (double) cluster->hosts [h].memory_mib;
    return total;
}


//  --------------------------------------------------------------------------------------
//  Plan state

static void
s_plan_free (s_plan_t *self)
{
    void *blocks [] = {
        self->work.hosts, self->work.vms, self->counted, self->x, self->inverse, self->cost,
        self->candidate, self->head, self->next, self->prev, self->movable, self->rank,
        self->sources, self->targets
    };
    for (size_t i = 0; i < sizeof blocks / sizeof blocks [0]; i++)
        free (blocks [i]);
}

//  Put vm at the head of host's list.
static void
s_link (s_plan_t *self, int vm, int host)
{
    self->prev [vm] = -1;
    self->next [vm] = self->head [host];
    if (self->head [host] >= 0)
        self->prev [self->head [host]] = vm;
    self->head [host] = vm;
}

static void
s_unlink (s_plan_t *self, int vm, int host)
{
    if (self->prev [vm] >= 0)
        self->next [self->prev [vm]] = self->next [vm];
    else
        self->head [host] = self->next [vm];
    if (self->next [vm] >= 0)
        self->prev [self->next [vm]] = self->prev [vm];
}

static int
s_plan_init (s_plan_t *self, const place_cluster_t *cluster, const balance_vm_t *load,
             const balance_options_t *options)
{
    memset (self, 0, sizeof *self);
    size_t hosts = cluster->host_count, vms = cluster->vm_count;
    size_t h1 = hosts? hosts: 1, v1 = vms? vms: 1;
    self->work = *cluster;
    self->load = load;
    self->options = options;
    self->hosts = hosts;
    self->vms = vms;
    self->work.hosts = malloc (h1 * sizeof (place_host_t));
    self->work.vms = malloc (v1 * sizeof (place_vm_t));
    self->counted = calloc (h1, sizeof (bool));
    self->x = calloc (h1 * BALANCE_TERMS, sizeof (double));
    self->inverse = calloc (h1 * BALANCE_TERMS, sizeof (double));
    self->cost = calloc (v1, sizeof (double));
    self->candidate = calloc (v1, sizeof (bool));
    self->head = malloc (h1 * sizeof (int));
    self->next = malloc (v1 * sizeof (int));
    self->prev = malloc (v1 * sizeof (int));
    self->movable = calloc (h1, sizeof (size_t));
    self->rank = calloc (h1, sizeof (double));
    self->sources = calloc (S_SOURCES_WIDE, sizeof (int));
    self->targets = calloc (S_TARGETS_WIDE, sizeof (int));
    if (!self->work.hosts || !self->work.vms || !self->counted || !self->x || !self->inverse
    ||  !self->cost || !self->candidate || !self->head || !self->next || !self->prev
    ||  !self->movable || !self->rank || !self->sources || !self->targets)
        return -1;
    memcpy (self->work.hosts, cluster->hosts, hosts * sizeof (place_host_t));
    memcpy (self->work.vms, cluster->vms, vms * sizeof (place_vm_t));

    for (size_t h = 0; h < hosts; h++) {
        self->head [h] = -1;
        self->counted [h] = s_counted (&cluster->hosts [h]);
        if (!self->counted [h])
            continue;
        double capacity [BALANCE_TERMS];
        s_capacity (&cluster->hosts [h], capacity);
        for (int t = 0; t < BALANCE_TERMS; t++)
            self->inverse [h * BALANCE_TERMS + t] = 1.0 / capacity [t];
        self->n++;
    }
    double memory = s_counted_memory (cluster);
    //  Lists in index order: link from the last VM to the first.
    for (size_t v = vms; v-- > 0; ) {
        int host = cluster->vms [v].host;
        self->cost [v] = INFINITY;
        if (host < 0)
            continue;
        assert ((size_t) host < hosts);
        s_link (self, (int) v, host);
        if (!self->counted [host])
            continue;
        double amount [BALANCE_TERMS];
        s_amounts (&cluster->vms [v], &load [v], amount);
        for (int t = 0; t < BALANCE_TERMS; t++)
            self->x [host * BALANCE_TERMS + t] += amount [t] * self->inverse [host * BALANCE_TERMS + t];
        double copied = s_copied (&cluster->vms [v], &load [v], options->bandwidth_mib_s);
        self->cost [v] = S_COST_SCALE * copied / memory;
        bool cooling = load [v].last_move >= 0 && options->now - load [v].last_move < options->cooldown_s;
        self->candidate [v] = load [v].migratable && !cooling && isfinite (self->cost [v]);
        self->movable [host] += self->candidate [v];
    }
    for (size_t h = 0; h < hosts; h++)
        if (self->counted [h])
            for (int t = 0; t < BALANCE_TERMS; t++) {
                double x = self->x [h * BALANCE_TERMS + t];
                self->sum [t] += x;
                self->squares [t] += x * x;
            }
    self->imbalance = s_weighted (self->sum, self->squares, self->n, NULL);
    self->threshold = balance_threshold (options->level, self->n? self->n: 1);
    return 0;
}


//  --------------------------------------------------------------------------------------
//  Search

//  Imbalance after moving vm from host a to host b (both counted), in O(1).
static double
s_after (const s_plan_t *self, int vm, int a, int b)
{
    double amount [BALANCE_TERMS];
    s_amounts (&self->work.vms [vm], &self->load [vm], amount);
    double total = 0;
    for (int t = 0; t < BALANCE_TERMS; t++) {
        double xa = self->x [a * BALANCE_TERMS + t], xb = self->x [b * BALANCE_TERMS + t];
        double da = amount [t] * self->inverse [a * BALANCE_TERMS + t];
        double db = amount [t] * self->inverse [b * BALANCE_TERMS + t];
        double sum = self->sum [t] - da + db;
        double squares = self->squares [t] - xa * xa - xb * xb
                       + (xa - da) * (xa - da) + (xb + db) * (xb + db);
        total += s_weight [t] * s_sd (sum, squares, self->n);
    }
    return total;
}

//  Insert host h with key into list (ascending key, then index), keeping at most limit.
static void
s_keep (int *list, double *keys, size_t *count, size_t limit, int h, double key)
{
    if (*count == limit && !(key < keys [limit - 1]))
        return;
    size_t i = *count < limit? (*count)++: limit - 1;
    while (i > 0 && key < keys [i - 1]) {
        list [i] = list [i - 1];
        keys [i] = keys [i - 1];
        i--;
    }
    list [i] = h;
    keys [i] = key;
}

//  Rank the counted hosts by their share of the imbalance: sources (most loaded first,
//  with a candidate on them) and targets (least loaded first).
static void
s_rank (s_plan_t *self, size_t source_limit, size_t target_limit, size_t *sources,
        size_t *targets)
{
    double mean [BALANCE_TERMS], scale [BALANCE_TERMS];
    for (int t = 0; t < BALANCE_TERMS; t++) {
        double sd = s_sd (self->sum [t], self->squares [t], self->n);
        mean [t] = self->n? self->sum [t] / (double) self->n: 0;
        scale [t] = sd > 0? s_weight [t] / sd: 0;
    }
    double source_keys [S_SOURCES_WIDE], target_keys [S_TARGETS_WIDE];
    *sources = 0;
    *targets = 0;
    for (size_t h = 0; h < self->hosts; h++) {
        if (!self->counted [h])
            continue;
        double rank = 0;
        for (int t = 0; t < BALANCE_TERMS; t++)
            rank += scale [t] * (self->x [h * BALANCE_TERMS + t] - mean [t]);
        self->rank [h] = rank;
        if (self->movable [h])
            s_keep (self->sources, source_keys, sources, source_limit, (int) h, -rank);
        s_keep (self->targets, target_keys, targets, target_limit, (int) h, rank);
    }
}

//  The best move of a round over the given numbers of sources and targets.
static s_best_t
s_search (s_plan_t *self, size_t source_limit, size_t target_limit)
{
    size_t sources, targets;
    s_rank (self, source_limit, target_limit, &sources, &targets);
    s_best_t best = { -1, -1, self->threshold, 0, 0 };
    for (size_t s = 0; s < sources; s++) {
        int a = self->sources [s];
        for (int vm = self->head [a]; vm >= 0; vm = self->next [vm]) {
            if (!self->candidate [vm])
                continue;
            for (size_t d = 0; d < targets; d++) {
                int b = self->targets [d];
                if (b == a || self->rank [b] >= self->rank [a])
                    continue;
                double after = s_after (self, vm, a, b);
                double gain = self->imbalance - after;
                double net = gain - self->cost [vm];
                if (!(net > best.net) || !place_fits (&self->work, vm, b, NULL, 0))
                    continue;
                best = (s_best_t) { vm, b, net, gain, after };
            }
        }
    }
    return best;
}

//  Apply the move of vm to host b: usage, lists, figures, running sums.
static void
s_apply (s_plan_t *self, int vm, int b)
{
    place_vm_t *v = &self->work.vms [vm];
    int a = v->host;
    place_host_remove (&self->work.hosts [a], v);
    place_host_add (&self->work.hosts [b], v);
    v->host = b;
    s_unlink (self, vm, a);
    s_link (self, vm, b);
    self->candidate [vm] = false;
    self->movable [a]--;
    double amount [BALANCE_TERMS];
    s_amounts (v, &self->load [vm], amount);
    for (int t = 0; t < BALANCE_TERMS; t++) {
        double *xa = &self->x [a * BALANCE_TERMS + t], *xb = &self->x [b * BALANCE_TERMS + t];
        double da = amount [t] * self->inverse [a * BALANCE_TERMS + t];
        double db = amount [t] * self->inverse [b * BALANCE_TERMS + t];
        self->squares [t] -= *xa * *xa + *xb * *xb;
        *xa -= da;
        *xb += db;
        self->squares [t] += *xa * *xa + *xb * *xb;
        self->sum [t] += db - da;
    }
    self->imbalance = s_weighted (self->sum, self->squares, self->n, NULL);
}


//  --------------------------------------------------------------------------------------
//  Batches

//  Per host: the last batch it took part in, and what it did there.
typedef struct {
    uint32_t last;              // last batch of a move touching the host (0: none yet)
    uint32_t ins;               // moves into it in batch last
    uint32_t outs;              // moves out of it in batch last
    uint32_t last_out;          // last batch with a move out of it, plus one (0: none)
} s_slot_t;

//  Assign batches in plan order (see balance.h), then sort the moves by batch (stable).
static int
s_batch (balance_plan_t *plan, size_t hosts, const balance_options_t *options)
{
    s_slot_t *slots = calloc (hosts? hosts: 1, sizeof (s_slot_t));
    balance_move_t *sorted = malloc ((plan->move_count? plan->move_count: 1)
                                     * sizeof (balance_move_t));
    size_t *count = NULL;
    if (!slots || !sorted) {
        free (slots);
        free (sorted);
        return -1;
    }
    uint32_t batches = 0;
    for (size_t i = 0; i < plan->move_count; i++) {
        balance_move_t *move = &plan->moves [i];
        s_slot_t *from = &slots [move->from], *to = &slots [move->to];
        uint32_t batch = from->last > to->last? from->last: to->last;
        if (to->last_out > batch)
            batch = to->last_out;       // after the last move out of the target
        while ((batch == to->last && to->ins >= options->max_in)
        ||     (batch == from->last && from->outs >= options->max_out))
            batch++;
        if (batch != from->last) {
            from->last = batch;
            from->ins = from->outs = 0;
        }
        if (batch != to->last) {
            to->last = batch;
            to->ins = to->outs = 0;
        }
        from->outs++;
        to->ins++;
        from->last_out = batch + 1;
        move->batch = batch;
        if (batch + 1 > batches)
            batches = batch + 1;
    }
    count = calloc ((size_t) batches + 1, sizeof (size_t));
    if (!count) {
        free (slots);
        free (sorted);
        return -1;
    }
    for (size_t i = 0; i < plan->move_count; i++)
        count [plan->moves [i].batch + 1]++;
    for (uint32_t b = 0; b < batches; b++)
        count [b + 1] += count [b];
    for (size_t i = 0; i < plan->move_count; i++)
        sorted [count [plan->moves [i].batch]++] = plan->moves [i];
    free (plan->moves);
    plan->moves = sorted;
    plan->batch_count = batches;
    free (count);
    free (slots);
    return 0;
}


//  --------------------------------------------------------------------------------------
//  Public API

balance_options_t
balance_options_default (void)
{
    balance_options_t options = { 3, 0, 1, 1, 0, 3600, 1170 };
    return options;
}

const char *
balance_metric (void)
{
    return "sd(cpu_load/cpus) + sd(mem_used/mem) + sd(vcpus/cpus) + sd(cpu_ready/cpus) "
           "over up hosts not in maintenance (population sd)";
}

double
balance_imbalance (const place_cluster_t *cluster, const balance_vm_t *vms, double *terms)
{
    assert (cluster && (vms || cluster->vm_count == 0));
    double *x = calloc ((cluster->host_count? cluster->host_count: 1) * BALANCE_TERMS,
                        sizeof (double));
    double sum [BALANCE_TERMS] = { 0 }, squares [BALANCE_TERMS] = { 0 };
    if (!x)
        return NAN;
    for (size_t v = 0; v < cluster->vm_count; v++) {
        int h = cluster->vms [v].host;
        if (h < 0 || !s_counted (&cluster->hosts [h]))
            continue;
        double amount [BALANCE_TERMS];
        s_amounts (&cluster->vms [v], &vms [v], amount);
        for (int t = 0; t < BALANCE_TERMS; t++)
            x [h * BALANCE_TERMS + t] += amount [t];
    }
    size_t n = 0;
    for (size_t h = 0; h < cluster->host_count; h++) {
        if (!s_counted (&cluster->hosts [h]))
            continue;
        double capacity [BALANCE_TERMS];
        s_capacity (&cluster->hosts [h], capacity);
        for (int t = 0; t < BALANCE_TERMS; t++) {
            double value = x [h * BALANCE_TERMS + t] / capacity [t];
            sum [t] += value;
            squares [t] += value * value;
        }
        n++;
    }
    free (x);
    return s_weighted (sum, squares, n, terms);
}

double
balance_cost (const place_cluster_t *cluster, const balance_vm_t *vms, int vm,
              const balance_options_t *options)
{
    assert (cluster && vms && options);
    assert (vm >= 0 && (size_t) vm < cluster->vm_count);
    double memory = s_counted_memory (cluster);
    double copied = s_copied (&cluster->vms [vm], &vms [vm], options->bandwidth_mib_s);
    if (!isfinite (copied) || !(memory > 0))
        return INFINITY;
    return S_COST_SCALE * copied / memory;
}

double
balance_threshold (int level, size_t hosts_counted)
{
    assert (level >= BALANCE_LEVEL_MIN && level <= BALANCE_LEVEL_MAX);
    return s_level_threshold [level] / (double) (hosts_counted? hosts_counted: 1);
}

int
balance_plan (const place_cluster_t *cluster, const balance_vm_t *vms,
              const balance_options_t *options, balance_plan_t *out,
              char *err, size_t err_size)
{
    assert (cluster && (vms || cluster->vm_count == 0) && options && out);
    memset (out, 0, sizeof *out);
    char unused [1];
    if (!err || !err_size) {
        err = unused;
        err_size = sizeof unused;
    }
    if (options->level < BALANCE_LEVEL_MIN || options->level > BALANCE_LEVEL_MAX) {
        snprintf (err, err_size, "level %d is not within %d..%d", options->level,
                  BALANCE_LEVEL_MIN, BALANCE_LEVEL_MAX);
        return -1;
    }
    if (options->max_in == 0 || options->max_out == 0) {
        snprintf (err, err_size, "per-host migration limits must be 1 or more (in %u, out %u)",
                  options->max_in, options->max_out);
        return -1;
    }
    s_plan_t self;
    if (s_plan_init (&self, cluster, vms, options)) {
        s_plan_free (&self);
        snprintf (err, err_size, "cannot plan %zu vms on %zu hosts: out of memory",
                  cluster->vm_count, cluster->host_count);
        return -1;
    }
    out->imbalance_before = self.imbalance;
    out->hosts_counted = self.n;
    for (size_t v = 0; v < self.vms; v++)
        out->candidates += self.candidate [v];
    size_t capacity = 0;
    int rc = 0;
    while (options->max_moves == 0 || out->move_count < options->max_moves) {
        s_best_t best = s_search (&self, S_SOURCES, S_TARGETS);
        if (best.vm < 0)
            best = s_search (&self, S_SOURCES_WIDE, S_TARGETS_WIDE);
        if (best.vm < 0)
            break;
        if (out->move_count == capacity) {
            size_t grown = capacity? capacity * 2: 64;
            balance_move_t *moves = realloc (out->moves, grown * sizeof (balance_move_t));
            if (!moves) {
                snprintf (err, err_size, "cannot plan: out of memory after %zu moves",
                          out->move_count);
                rc = -1;
                break;
            }
            out->moves = moves;
            capacity = grown;
        }
        out->moves [out->move_count++] = (balance_move_t) {
            best.vm, self.work.vms [best.vm].host, best.to, 0, best.gain, self.cost [best.vm]
        };
        s_apply (&self, best.vm, best.to);
    }
    if (rc == 0) {
        out->imbalance_after = balance_imbalance (&self.work, vms, NULL);
        if (s_batch (out, self.hosts, options)) {
            snprintf (err, err_size, "cannot batch %zu moves: out of memory", out->move_count);
            rc = -1;
        }
    }
    s_plan_free (&self);
    if (rc)
        balance_plan_clear (out);
    return rc;
}

void
balance_plan_clear (balance_plan_t *plan)
{
    if (!plan)
        return;
    free (plan->moves);
    memset (plan, 0, sizeof *plan);
}
