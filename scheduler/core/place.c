/*  place.c - the placement engine: hard filters, then scores, a verdict for every host.

    Implements place.h. A decision first gathers, once, what the rules naming the VM say
    about hosts (s_rules_t: the rules touching the VM and a sorted list of (host, rule)
    marks: the hosts of its VM-host rules and the hosts of its placed affinity and
    anti-affinity peers), then walks the hosts in index order with a cursor over those
    marks, so a rule check costs O(rules touching the VM) per host, never O(vms). Everything
    lives on the stack: the engine never allocates, reads the clock or does I/O during a
    decision. Text (verdict reasons) is formatted only when the caller asks for verdicts;
    the summary is formatted once per decision.

    When a VM is named by more rules, or its rules mark more hosts, than the fixed tables
    hold, the same per-host judgement falls back to scanning the rules themselves: slower,
    identical results.

    place_check_rules is not a decision: it allocates scratch arrays (and says so when it
    cannot).
*/
#include "place.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Capacity of the per-decision tables (on the stack: about 14 KiB).
#define S_TOUCH_MAX 256
#define S_MARKS_MAX 1024

//  Why a host was rejected, in the order the filters run (S_FITS: it was not).
typedef enum {
    S_FITS = 0,
    S_EXCLUDED,
    S_DOWN,
    S_UNAVAILABLE,
    S_MAINTENANCE,
    S_NESTED,
    S_UNPROTECTED,
    S_UNLEASED,
    S_MUST,
    S_MUST_NOT,
    S_ANTI,
    S_AFFINITY,
    S_VCPUS,
    S_MEMORY,
    S_CPU_RESERVE,
    S_MEM_RESERVE,
    S_KIND_COUNT
} s_kind_t;

//  How the decision summary counts each kind ("3 hosts not enough memory").
static const char *s_kind_label [S_KIND_COUNT] = {
    [S_FITS]        = "fit",
    [S_EXCLUDED]    = "excluded (source host)",
    [S_DOWN]        = "not up",
    [S_UNAVAILABLE] = "unavailable",
    [S_MAINTENANCE] = "in maintenance",
    [S_NESTED]      = "without nested virtualization",
    [S_UNPROTECTED] = "without watchdog or fence device",
    [S_UNLEASED] = "holding no lease",
    [S_MUST]        = "outside must rules",
    [S_MUST_NOT]    = "excluded by must-not rules",
    [S_ANTI]        = "blocked by anti-affinity",
    [S_AFFINITY]    = "away from affinity peers",
    [S_VCPUS]       = "not enough vCPUs",
    [S_MEMORY]      = "not enough memory",
    [S_CPU_RESERVE] = "short of CPU reservation",
    [S_MEM_RESERVE] = "short of memory reservation",
};

//  A rule naming the VM, as gathered for one decision.
typedef struct {
    int rule;                   // index into cluster->rules
    int placed;                 // affinity / anti-affinity: peers placed on some host
} s_touch_t;

//  One host a rule speaks of: a VM-host rule's host, or the host of a placed peer.
typedef struct {
    int host;                   // index into cluster->hosts
    int rule;                   // index into cluster->rules
    int pos;                    // position of the peer in the rule's vms (-1: VM-host rule)
} s_mark_t;

//  What the rules naming one VM say about hosts, gathered once per decision.
typedef struct {
    s_touch_t touch [S_TOUCH_MAX];  // rules naming the VM, by rule index
    size_t touch_count;         // entries of touch
    s_mark_t marks [S_MARKS_MAX];   // sorted by host, rule, pos
    size_t mark_count;          // entries of marks
    bool slow;                  // tables overflowed: judge hosts by scanning the rules
    bool active;                // some rule names the VM (else rule checks are skipped)
} s_rules_t;

//  The rules' judgement of one host.
typedef struct {
    s_kind_t kind;              // S_FITS, or S_MUST .. S_AFFINITY
    int rule;                   // rule behind kind (-1 when it fits)
    int peer;                   // peer VM behind kind (-1: none)
    double penalty;             // sum of the weights of the soft rules violated here
} s_judgement_t;

//  Resource figures of one host for one VM, shared by the filters, the score and the text.
typedef struct {
    uint64_t vcpu_limit;        // cpus * cpu_overcommit, rounded down
    uint64_t mem_limit;         // memory_mib * mem_overcommit, rounded down
    double cpu_free;            // fraction of vcpu capacity free after placement
    double mem_free;            // fraction of memory capacity free after placement
} s_room_t;


//  --------------------------------------------------------------------------------------
//  Small helpers

//  Append printf-style text to buf at *len (truncating at size).
static void
s_append (char *buf, size_t size, size_t *len, const char *fmt, ...)
{
    if (*len + 1 >= size)
        return;
    va_list args;
    va_start (args, fmt);
    int n = vsnprintf (buf + *len, size - *len, fmt, args);
    va_end (args);
    if (n > 0)
        *len = (size_t) n >= size - *len? size - 1: *len + (size_t) n;
}

//  Format an overcommit ratio as "4.0" or "1.25".
static void
s_format_ratio (char *buf, size_t size, double ratio)
{
    snprintf (buf, size, "%.2f", ratio);
    size_t len = strlen (buf);
    if (len >= 2 && buf [len - 1] == '0' && buf [len - 2] != '.')
        buf [len - 1] = 0;
}

//  In-place heap sort with a context for the comparison; no allocation (glibc's qsort
//  may allocate).
typedef int (s_compare_fn) (const void *a, const void *b, const void *ctx);

static void
s_swap (unsigned char *a, unsigned char *b, size_t size)
{
    for (size_t i = 0; i < size; i++) {
        unsigned char t = a [i];
        a [i] = b [i];
        b [i] = t;
    }
}

static void
s_sift_down (unsigned char *base, size_t size, size_t root, size_t n,
             s_compare_fn *compare, const void *ctx)
{
    while (2 * root + 1 < n) {
        size_t child = 2 * root + 1;
        if (child + 1 < n && compare (base + child * size, base + (child + 1) * size, ctx) < 0)
            child++;
        if (compare (base + root * size, base + child * size, ctx) >= 0)
            return;
        s_swap (base + root * size, base + child * size, size);
        root = child;
    }
}

static void
s_heap_sort (void *items, size_t n, size_t size, s_compare_fn *compare, const void *ctx)
{
    unsigned char *base = items;
    if (n < 2)
        return;
    for (size_t i = n / 2; i-- > 0; )
        s_sift_down (base, size, i, n, compare, ctx);
    for (size_t end = n - 1; end > 0; end--) {
        s_swap (base, base + end * size, size);
        s_sift_down (base, size, 0, end, compare, ctx);
    }
}

static int
s_mark_compare (const void *a, const void *b, const void *ctx)
{
    (void) ctx;
    const s_mark_t *x = a, *y = b;
    if (x->host != y->host)
        return x->host < y->host? -1: 1;
    if (x->rule != y->rule)
        return x->rule < y->rule? -1: 1;
    return (x->pos > y->pos) - (x->pos < y->pos);
}

//  Position of vm in the rule's vms, or -1.
static int
s_rule_position (const place_rule_t *rule, int vm)
{
    for (size_t i = 0; i < rule->vm_count; i++)
        if (rule->vms [i] == vm)
            return (int) i;
    return -1;
}

static const char *
s_rule_name (const place_cluster_t *cluster, int rule)
{
    const char *name = cluster->rules [rule].name;
    return name? name: "?";
}

static const char *
s_vm_name (const place_cluster_t *cluster, int vm)
{
    const char *name = cluster->vms [vm].name;
    return name? name: "?";
}

static const char *
s_host_name (const place_cluster_t *cluster, int host)
{
    const char *name = cluster->hosts [host].name;
    return name? name: "?";
}


//  --------------------------------------------------------------------------------------
//  Rules: gathered once per decision, then judged host by host

static void
s_rules_mark (s_rules_t *self, int host, int rule, int pos)
{
    if (self->mark_count == S_MARKS_MAX) {
        self->slow = true;
        return;
    }
    self->marks [self->mark_count++] = (s_mark_t) { host, rule, pos };
}

//  Gather the rules naming vm and the hosts they speak of.
static void
s_rules_gather (s_rules_t *self, const place_cluster_t *cluster, int vm)
{
    self->touch_count = 0;
    self->mark_count = 0;
    self->slow = false;
    self->active = false;
    for (size_t r = 0; r < cluster->rule_count; r++) {
        const place_rule_t *rule = &cluster->rules [r];
        if (s_rule_position (rule, vm) < 0)
            continue;
        self->active = true;
        if (self->touch_count == S_TOUCH_MAX) {
            self->slow = true;
            return;
        }
        s_touch_t *touch = &self->touch [self->touch_count++];
        touch->rule = (int) r;
        touch->placed = 0;
        if (rule->kind == PLACE_RULE_VM_HOST) {
            for (size_t i = 0; i < rule->host_count && !self->slow; i++) {
                assert (rule->hosts [i] >= 0 && (size_t) rule->hosts [i] < cluster->host_count);
                s_rules_mark (self, rule->hosts [i], (int) r, -1);
            }
        }
        else {
            for (size_t i = 0; i < rule->vm_count && !self->slow; i++) {
                int peer = rule->vms [i];
                assert (peer >= 0 && (size_t) peer < cluster->vm_count);
                int host = cluster->vms [peer].host;
                if (peer == vm || host < 0)
                    continue;
                assert ((size_t) host < cluster->host_count);
                touch->placed++;
                s_rules_mark (self, host, (int) r, (int) i);
            }
        }
        if (self->slow)
            return;
    }
    s_heap_sort (self->marks, self->mark_count, sizeof (s_mark_t), s_mark_compare, NULL);
}

//  How one rule relates to host: on = how many of its hosts / placed peers are this host,
//  first_pos = position of the first such peer, placed = its placed peers.
typedef struct {
    int on;                     // hosts-list entries equal to the host, or peers on it
    int first_pos;              // position in vms of the first peer on the host (-1)
    int placed;                 // peers placed anywhere (affinity / anti-affinity)
} s_relation_t;

//  Relation from the gathered marks (run: this host's marks).
static s_relation_t
s_relation_fast (const s_touch_t *touch, const s_mark_t *run, size_t run_len)
{
    s_relation_t rel = { 0, -1, touch->placed };
    for (size_t i = 0; i < run_len; i++) {
        if (run [i].rule == touch->rule) {
            if (rel.on++ == 0)
                rel.first_pos = run [i].pos;
        }
        else
        if (run [i].rule > touch->rule)
            break;
    }
    return rel;
}

//  Relation by scanning the rule itself (tables overflowed).
static s_relation_t
s_relation_slow (const place_cluster_t *cluster, int r, int vm, int host)
{
    const place_rule_t *rule = &cluster->rules [r];
    s_relation_t rel = { 0, -1, 0 };
    if (rule->kind == PLACE_RULE_VM_HOST) {
        for (size_t i = 0; i < rule->host_count; i++)
            rel.on += rule->hosts [i] == host;
        return rel;
    }
    for (size_t i = 0; i < rule->vm_count; i++) {
        int peer = rule->vms [i];
        int peer_host = cluster->vms [peer].host;
        if (peer == vm || peer_host < 0)
            continue;
        rel.placed++;
        if (peer_host == host && rel.on++ == 0)
            rel.first_pos = (int) i;
    }
    return rel;
}

//  First placed peer of an affinity rule that is not on host.
static int
s_peer_elsewhere (const place_cluster_t *cluster, const place_rule_t *rule, int vm, int host)
{
    for (size_t i = 0; i < rule->vm_count; i++) {
        int peer = rule->vms [i];
        int peer_host = cluster->vms [peer].host;
        if (peer != vm && peer_host >= 0 && peer_host != host)
            return peer;
    }
    return -1;
}

//  Judge host by the rules naming vm: the binding hard rule (must, must-not, anti-affinity,
//  affinity, in that order; the lowest rule index within a kind) and the soft penalty.
//  With text, appends "; penalty W (rule R)" per violated soft rule.
static void
s_rules_judge (const s_rules_t *self, const place_cluster_t *cluster, int vm, int host,
               const s_mark_t *run, size_t run_len, s_judgement_t *out,
               char *text, size_t text_size, size_t *text_len)
{
    out->kind = S_FITS;
    out->rule = -1;
    out->peer = -1;
    out->penalty = 0;
    size_t count = self->slow? cluster->rule_count: self->touch_count;
    for (size_t k = 0; k < count; k++) {
        int r;
        s_relation_t rel;
        if (self->slow) {
            r = (int) k;
            if (s_rule_position (&cluster->rules [r], vm) < 0)
                continue;
            rel = s_relation_slow (cluster, r, vm, host);
        }
        else {
            r = self->touch [k].rule;
            rel = s_relation_fast (&self->touch [k], run, run_len);
        }
        const place_rule_t *rule = &cluster->rules [r];
        bool violated;
        s_kind_t kind;
        int peer = -1;
        if (rule->kind == PLACE_RULE_VM_HOST) {
            violated = rule->positive? rel.on == 0: rel.on > 0;
            kind = rule->positive? S_MUST: S_MUST_NOT;
        }
        else
        if (rule->kind == PLACE_RULE_ANTI_AFFINITY) {
            violated = rel.on > 0;
            kind = S_ANTI;
            if (violated)
                peer = rule->vms [rel.first_pos];
        }
        else {
            violated = rel.on < rel.placed;
            kind = S_AFFINITY;
            if (violated && rule->hard)
                peer = s_peer_elsewhere (cluster, rule, vm, host);
        }
        if (!violated)
            continue;
        if (rule->hard) {
            if (out->kind == S_FITS || kind < out->kind) {
                out->kind = kind;
                out->rule = r;
                out->peer = peer;
            }
        }
        else {
            out->penalty += rule->weight;
            if (text)
                s_append (text, text_size, text_len, "; penalty %g (rule %s)",
                          rule->weight, s_rule_name (cluster, r));
        }
    }
}


//  --------------------------------------------------------------------------------------
//  Filters, score, text

//  Host state filters, in order.
static inline s_kind_t
s_state_filter (const place_host_t *host, const place_vm_t *vm, bool excluded,
                bool allow_unprotected)
{
    if (excluded)
        return S_EXCLUDED;
    if (!host->up)
        return S_DOWN;
    if (host->unavailable)
        return S_UNAVAILABLE;
    if (host->maintenance)
        return S_MAINTENANCE;
    if (vm->needs_nested && !host->nested)
        return S_NESTED;
    if (vm->ha && !host->protected_ && !allow_unprotected)
        return S_UNPROTECTED;
    if (vm->ha && !host->leased)
        return S_UNLEASED;
    return S_FITS;
}

static inline uint64_t
s_limit (double capacity)
{
    return capacity > 0? (uint64_t) capacity: 0;
}

//  Capacity filters, in order; fills room for the score.
static inline s_kind_t
s_capacity_filter (const place_host_t *host, const place_vm_t *vm,
                   const place_policy_t *policy, s_room_t *room)
{
    room->vcpu_limit = s_limit ((double) host->cpus * policy->cpu_overcommit);
    room->mem_limit = s_limit ((double) host->memory_mib * policy->mem_overcommit);
    uint64_t vcpus = host->vcpus_used + vm->vcpus;
    uint64_t memory = host->memory_used_mib + vm->memory_mib;
    if (vcpus > room->vcpu_limit)
        return S_VCPUS;
    if (memory > room->mem_limit)
        return S_MEMORY;
    if (host->cpu_reserved + vm->cpu_reserve > host->cpus)
        return S_CPU_RESERVE;
    if (host->mem_reserved_mib + vm->mem_reserve_mib > host->memory_mib)
        return S_MEM_RESERVE;
    room->cpu_free = room->vcpu_limit? (double) (room->vcpu_limit - vcpus)
                                       / (double) room->vcpu_limit: 0;
    room->mem_free = room->mem_limit? (double) (room->mem_limit - memory)
                                      / (double) room->mem_limit: 0;
    return S_FITS;
}

//  Score of a fitting host (before penalties): spread prefers the most free capacity after
//  placement (the tighter of CPU and memory), pack the least.
static inline double
s_score (const s_room_t *room, place_strategy_t strategy)
{
    double tight = room->cpu_free < room->mem_free? room->cpu_free: room->mem_free;
    return strategy == PLACE_PACK? 1.0 - tight: tight;
}

//  The marks of host (sorted by host) from *cursor on: returns the first and sets *len to
//  how many there are; *cursor moves to the first mark not before host, so a walk over the
//  hosts in index order costs O(marks) in all. NULL (len 0) when no marks are gathered.
static const s_mark_t *
s_rules_run (const s_rules_t *self, int host, size_t *cursor, size_t *len)
{
    *len = 0;
    if (!self->active || self->slow)
        return NULL;
    while (*cursor < self->mark_count && self->marks [*cursor].host < host)
        (*cursor)++;
    const s_mark_t *run = self->marks + *cursor;
    while (*cursor + *len < self->mark_count && run [*len].host == host)
        (*len)++;
    return run;
}

//  Every hard filter for vm on host h, in order (state, rules, capacity): the binding kind
//  (S_FITS when it fits); judgement gets the rules' verdict (and soft penalty), room the
//  resource figures. rules: gathered for vm; run / run_len: its marks on h.
static s_kind_t
s_judge_host (const place_cluster_t *cluster, const s_rules_t *rules, int vm, int h,
              int exclude_host, const s_mark_t *run, size_t run_len,
              s_judgement_t *judgement, s_room_t *room)
{
    const place_host_t *host = &cluster->hosts [h];
    const place_vm_t *v = &cluster->vms [vm];
    *judgement = (s_judgement_t) { S_FITS, -1, -1, 0 };
    *room = (s_room_t) { 0, 0, 0, 0 };
    s_kind_t kind = s_state_filter (host, v, h == exclude_host,
                                    cluster->policy.allow_unprotected);
    if (kind == S_FITS && rules->active) {
        s_rules_judge (rules, cluster, vm, h, run, run_len, judgement, NULL, 0, NULL);
        kind = judgement->kind;
    }
    if (kind == S_FITS)
        kind = s_capacity_filter (host, v, &cluster->policy, room);
    return kind;
}

static uint64_t
s_free (uint64_t limit, uint64_t used)
{
    return used >= limit? 0: limit - used;
}

//  The reason a host was rejected, as shown to people.
static void
s_reject_text (const place_cluster_t *cluster, int vm, int h, s_kind_t kind,
               const s_judgement_t *judgement, const s_room_t *room, char *buf, size_t size)
{
    const place_host_t *host = &cluster->hosts [h];
    const place_vm_t *v = &cluster->vms [vm];
    const place_policy_t *policy = &cluster->policy;
    char ratio [16];
    switch (kind) {
        case S_EXCLUDED:
            snprintf (buf, size, "source host");
            break;
        case S_DOWN:
            snprintf (buf, size, "host is not up");
            break;
        case S_UNAVAILABLE:
            snprintf (buf, size, "%s", host->unavailable);
            break;
        case S_MAINTENANCE:
            snprintf (buf, size, "in maintenance");
            break;
        case S_NESTED:
            snprintf (buf, size, "nested virtualization not available");
            break;
        case S_UNPROTECTED:
            snprintf (buf, size, "neither watchdog nor fence device (an HA vm needs one; "
                      "ha.allow_unfenced_hosts)");
            break;
        case S_UNLEASED:
            snprintf (buf, size, "holds no lease from the scheduler yet (an HA vm starts "
                      "only on a host that renews its lease)");
            break;
        case S_MUST:
            snprintf (buf, size, "not in the hosts of rule %s (must)",
                      s_rule_name (cluster, judgement->rule));
            break;
        case S_MUST_NOT:
            snprintf (buf, size, "must not run here (rule %s)",
                      s_rule_name (cluster, judgement->rule));
            break;
        case S_ANTI:
            snprintf (buf, size, "anti-affinity with %s (rule %s)",
                      s_vm_name (cluster, judgement->peer), s_rule_name (cluster, judgement->rule));
            break;
        case S_AFFINITY:
            snprintf (buf, size, "affinity with %s on %s (rule %s)",
                      s_vm_name (cluster, judgement->peer),
                      s_host_name (cluster, cluster->vms [judgement->peer].host),
                      s_rule_name (cluster, judgement->rule));
            break;
        case S_VCPUS:
            s_format_ratio (ratio, sizeof ratio, policy->cpu_overcommit);
            snprintf (buf, size, "not enough vCPUs: need %u, free %llu (overcommit %s)",
                      (unsigned) v->vcpus,
                      (unsigned long long) s_free (room->vcpu_limit, host->vcpus_used), ratio);
            break;
        case S_MEMORY:
            s_format_ratio (ratio, sizeof ratio, policy->mem_overcommit);
            snprintf (buf, size, "not enough memory: need %llu MiB, free %llu MiB%s%s%s",
                      (unsigned long long) v->memory_mib,
                      (unsigned long long) s_free (room->mem_limit, host->memory_used_mib),
                      policy->mem_overcommit != 1.0? " (overcommit ": "",
                      policy->mem_overcommit != 1.0? ratio: "",
                      policy->mem_overcommit != 1.0? ")": "");
            break;
        case S_CPU_RESERVE:
            snprintf (buf, size, "CPU reservation: need %u, free %llu", (unsigned) v->cpu_reserve,
                      (unsigned long long) s_free (host->cpus, host->cpu_reserved));
            break;
        case S_MEM_RESERVE:
            snprintf (buf, size, "memory reservation: need %llu MiB, free %llu MiB",
                      (unsigned long long) v->mem_reserve_mib,
                      (unsigned long long) s_free (host->memory_mib, host->mem_reserved_mib));
            break;
        default:
            assert (false);
    }
}

//  "score 0.62 (free after: 40% cpu, 62% memory)[; penalty W (rule R)...]": how a fitting
//  host scored. Recomputes the rules' judgement of the host to name the soft rules.
static void
s_fit_text (const place_cluster_t *cluster, const s_rules_t *rules, int vm, int h,
            const s_mark_t *run, size_t run_len, const s_room_t *room, double score,
            char *buf, size_t size, size_t len)
{
    s_append (buf, size, &len, "score %.2f (free after: %.0f%% cpu, %.0f%% memory)",
              score, room->cpu_free * 100.0, room->mem_free * 100.0);
    if (rules->active) {
        s_judgement_t judgement;
        s_rules_judge (rules, cluster, vm, h, run, run_len, &judgement, buf, size, &len);
    }
}

//  "3 hosts not enough memory, 1 in maintenance": rejections by kind, most frequent first.
static void
s_count_text (const size_t counts [S_KIND_COUNT], char *buf, size_t size, size_t *len)
{
    bool done [S_KIND_COUNT] = { false };
    bool first = true;
    while (true) {
        int best = -1;
        for (int k = S_EXCLUDED; k < S_KIND_COUNT; k++)
            if (!done [k] && counts [k] && (best < 0 || counts [k] > counts [best]))
                best = k;
        if (best < 0)
            break;
        done [best] = true;
        s_append (buf, size, len, "%s%zu%s %s", first? "": ", ", counts [best],
                  first? (counts [best] == 1? " host": " hosts"): "", s_kind_label [best]);
        first = false;
    }
}


//  --------------------------------------------------------------------------------------
//  Public API

place_policy_t
place_policy_default (void)
{
    place_policy_t policy = { PLACE_SPREAD, 4.0, 1.0, false };
    return policy;
}

int
place_vm (const place_cluster_t *cluster, int vm, int exclude_host,
          place_verdict_t *verdicts, place_decision_t *out)
{
    assert (cluster && out);
    assert (vm >= 0 && (size_t) vm < cluster->vm_count);
    const place_policy_t *policy = &cluster->policy;
    s_rules_t rules;
    s_rules_gather (&rules, cluster, vm);

    size_t counts [S_KIND_COUNT] = { 0 };
    int best = -1;
    double best_score = 0;
    s_room_t best_room = { 0, 0, 0, 0 };
    size_t cursor = 0;              // first mark not before the current host
    for (size_t h = 0; h < cluster->host_count; h++) {
        size_t run_len;
        const s_mark_t *run = s_rules_run (&rules, (int) h, &cursor, &run_len);
        s_judgement_t judgement;
        s_room_t room;
        s_kind_t kind = s_judge_host (cluster, &rules, vm, (int) h, exclude_host, run, run_len,
                                      &judgement, &room);
        counts [kind]++;
        double score = 0;
        if (kind == S_FITS) {
            score = s_score (&room, policy->strategy) - judgement.penalty;
            if (best < 0 || score > best_score) {
                best = (int) h;
                best_score = score;
                best_room = room;
            }
        }
        if (verdicts) {
            place_verdict_t *verdict = &verdicts [h];
            verdict->fits = kind == S_FITS;
            verdict->score = score;
            if (kind == S_FITS) {
                memcpy (verdict->reason, "fits: ", 7);
                s_fit_text (cluster, &rules, vm, (int) h, run, run_len, &room, score,
                            verdict->reason, sizeof verdict->reason, 6);
            }
            else
                s_reject_text (cluster, vm, (int) h, kind, &judgement, &room,
                               verdict->reason, sizeof verdict->reason);
        }
    }

    out->host = best;
    out->candidates = counts [S_FITS];
    size_t len = 0;
    if (best < 0) {
        s_append (out->summary, sizeof out->summary, &len, "no host fits: ");
        if (cluster->host_count == 0)
            s_append (out->summary, sizeof out->summary, &len, "no hosts");
        s_count_text (counts, out->summary, sizeof out->summary, &len);
        return -1;
    }
    //  The chosen host's marks, for the names of the soft rules it violates.
    size_t run_len, first = 0;
    const s_mark_t *run = s_rules_run (&rules, best, &first, &run_len);
    s_append (out->summary, sizeof out->summary, &len, "placed on %s, best of %zu fitting host%s: ",
              s_host_name (cluster, best), counts [S_FITS], counts [S_FITS] == 1? "": "s");
    s_fit_text (cluster, &rules, vm, best, run, run_len, &best_room, best_score,
                out->summary, sizeof out->summary, len);
    return 0;
}

bool
place_fits (const place_cluster_t *cluster, int vm, int host, char *reason, size_t reason_size)
{
    assert (cluster);
    assert (vm >= 0 && (size_t) vm < cluster->vm_count);
    assert (host >= 0 && (size_t) host < cluster->host_count);
    s_rules_t rules;
    s_rules_gather (&rules, cluster, vm);
    size_t cursor = 0, run_len;
    const s_mark_t *run = s_rules_run (&rules, host, &cursor, &run_len);
    s_judgement_t judgement;
    s_room_t room;
    s_kind_t kind = s_judge_host (cluster, &rules, vm, host, -1, run, run_len, &judgement, &room);
    if (reason && reason_size) {
        if (kind == S_FITS)
            snprintf (reason, reason_size, "fits");
        else
            s_reject_text (cluster, vm, host, kind, &judgement, &room, reason, reason_size);
    }
    return kind == S_FITS;
}

size_t
place_bulk (place_cluster_t *cluster, const int *order, size_t count, int *hosts_out)
{
    assert (cluster && (order || count == 0));
    size_t placed = 0;
    for (size_t i = 0; i < count; i++) {
        int vm = order [i];
        assert (vm >= 0 && (size_t) vm < cluster->vm_count);
        //  A VM in the batch is placed anew: callers pass hosts without its usage.
        cluster->vms [vm].host = -1;
        place_decision_t decision;
        if (place_vm (cluster, vm, -1, NULL, &decision) == 0) {
            place_host_add (&cluster->hosts [decision.host], &cluster->vms [vm]);
            cluster->vms [vm].host = decision.host;
            placed++;
        }
        if (hosts_out)
            hosts_out [i] = decision.host;
    }
    return placed;
}

//  Context of the bulk order comparison.
typedef struct {
    const place_cluster_t *cluster;     // the VMs being ordered
    const int *priorities;              // per VM, or NULL
} s_order_ctx_t;

//  Order of place_bulk_order: < 0 when VM a is placed before VM b (higher priority, more
//  memory, more vCPUs, lower index).
static int
s_order_compare (const void *a, const void *b, const void *ctx_p)
{
    const s_order_ctx_t *ctx = ctx_p;
    int x = *(const int *) a, y = *(const int *) b;
    if (ctx->priorities && ctx->priorities [x] != ctx->priorities [y])
        return ctx->priorities [x] > ctx->priorities [y]? -1: 1;
    const place_vm_t *vx = &ctx->cluster->vms [x], *vy = &ctx->cluster->vms [y];
    if (vx->memory_mib != vy->memory_mib)
        return vx->memory_mib > vy->memory_mib? -1: 1;
    if (vx->vcpus != vy->vcpus)
        return vx->vcpus > vy->vcpus? -1: 1;
    return (x > y) - (x < y);
}

void
place_bulk_order (const place_cluster_t *cluster, const int *priorities, int *order)
{
    assert (cluster && (order || cluster->vm_count == 0));
    for (size_t i = 0; i < cluster->vm_count; i++)
        order [i] = (int) i;
    s_order_ctx_t ctx = { cluster, priorities };
    s_heap_sort (order, cluster->vm_count, sizeof (int), s_order_compare, &ctx);
}

void
place_host_add (place_host_t *host, const place_vm_t *vm)
{
    assert (host && vm);
    host->vcpus_used += vm->vcpus;
    host->memory_used_mib += vm->memory_mib;
    host->cpu_reserved += vm->cpu_reserve;
    host->mem_reserved_mib += vm->mem_reserve_mib;
}

void
place_host_remove (place_host_t *host, const place_vm_t *vm)
{
    assert (host && vm);
    assert (host->vcpus_used >= vm->vcpus && host->memory_used_mib >= vm->memory_mib);
    assert (host->cpu_reserved >= vm->cpu_reserve
            && host->mem_reserved_mib >= vm->mem_reserve_mib);
    host->vcpus_used -= vm->vcpus;
    host->memory_used_mib -= vm->memory_mib;
    host->cpu_reserved -= vm->cpu_reserve;
    host->mem_reserved_mib -= vm->mem_reserve_mib;
}


//  --------------------------------------------------------------------------------------
//  Rule consistency

//  Scratch of place_check_rules (allocated once per call).
typedef struct {
    const place_cluster_t *cluster; // the cluster whose hard rules are checked
    char *err;                  // where the reason goes (may be NULL)
    size_t err_size;            // size of err
    int *parent;                // per VM: union-find parent through hard affinity rules
    int *vm_stamp;              // per VM: last stamp that marked it
    int *group_next;            // per VM: next member of its affinity group (-1: last)
    int *group_head;            // per VM as root: first member of its group (-1: none)
    bool *restricted;           // per VM: named by some hard VM-host rule
    int *host_stamp;            // per host: last stamp that marked it
    int *must_count;            // per host: must rules of the current VM naming it
    bool *must_not;             // per host: some must-not rule of the current VM names it
    bool *allowed;              // per host: the current VM may run there
    bool *common;               // per host: intersection / union being accumulated
    int stamp;                  // last stamp handed out
} s_check_t;

static void
s_check_fail (s_check_t *self, const char *fmt, ...)
{
    if (!self->err || self->err_size == 0)
        return;
    va_list args;
    va_start (args, fmt);
    vsnprintf (self->err, self->err_size, fmt, args);
    va_end (args);
}

static int
s_find (int *parent, int v)
{
    while (parent [v] != v) {
        parent [v] = parent [parent [v]];
        v = parent [v];
    }
    return v;
}

static bool
s_is_hard (const place_rule_t *rule, place_rule_kind_t kind)
{
    return rule->hard && rule->kind == kind;
}

//  Allowed hosts of vm by its hard VM-host rules into self->allowed; returns how many, or
//  -1 when no such rule names it (every host allowed). Fails (-2) when a must and a
//  must-not rule name one host.
static long
s_check_allowed (s_check_t *self, int vm)
{
    const place_cluster_t *cluster = self->cluster;
    size_t musts = 0;
    bool any = false;
    for (size_t h = 0; h < cluster->host_count; h++) {
        self->must_count [h] = 0;
        self->must_not [h] = false;
    }
    for (size_t r = 0; r < cluster->rule_count; r++) {
        const place_rule_t *rule = &cluster->rules [r];
        if (!s_is_hard (rule, PLACE_RULE_VM_HOST) || s_rule_position (rule, vm) < 0)
            continue;
        any = true;
        int stamp = ++self->stamp;
        musts += rule->positive;
        for (size_t i = 0; i < rule->host_count; i++) {
            int h = rule->hosts [i];
            if (!rule->positive)
                self->must_not [h] = true;
            else
            if (self->host_stamp [h] != stamp) {
                self->host_stamp [h] = stamp;
                self->must_count [h]++;
            }
        }
    }
    if (!any)
        return -1;
    long count = 0;
    for (size_t h = 0; h < cluster->host_count; h++) {
        if (self->must_count [h] && self->must_not [h]) {
            //  Name the two rules.
            int must = -1, must_not = -1;
            for (size_t r = 0; r < cluster->rule_count; r++) {
                const place_rule_t *rule = &cluster->rules [r];
                if (!s_is_hard (rule, PLACE_RULE_VM_HOST) || s_rule_position (rule, vm) < 0)
                    continue;
                for (size_t i = 0; i < rule->host_count; i++)
                    if (rule->hosts [i] == (int) h) {
                        if (rule->positive && must < 0)
                            must = (int) r;
                        if (!rule->positive && must_not < 0)
                            must_not = (int) r;
                    }
            }
            s_check_fail (self, "rules %s (must) and %s (must-not) both name host '%s' "
                          "for vm '%s'", s_rule_name (cluster, must),
                          s_rule_name (cluster, must_not), s_host_name (cluster, (int) h),
                          s_vm_name (cluster, vm));
            return -2;
        }
        self->allowed [h] = self->must_count [h] == (int) musts && !self->must_not [h];
        count += self->allowed [h];
    }
    return count;
}

//  "a, b, c": the hard VM-host rules naming vm.
static void
s_vm_host_rules (const place_cluster_t *cluster, int vm, char *buf, size_t size)
{
    size_t len = 0;
    buf [0] = 0;
    for (size_t r = 0; r < cluster->rule_count; r++) {
        const place_rule_t *rule = &cluster->rules [r];
        if (s_is_hard (rule, PLACE_RULE_VM_HOST) && s_rule_position (rule, vm) >= 0)
            s_append (buf, size, &len, "%s%s (%s)", len? ", ": "", s_rule_name (cluster, (int) r),
                      rule->positive? "must": "must-not");
    }
}

//  Check 1: an affinity and an anti-affinity rule sharing two VMs.
static int
s_check_direct (s_check_t *self)
{
    const place_cluster_t *cluster = self->cluster;
    for (size_t a = 0; a < cluster->rule_count; a++) {
        const place_rule_t *aff = &cluster->rules [a];
        if (!s_is_hard (aff, PLACE_RULE_AFFINITY))
            continue;
        int stamp = ++self->stamp;
        for (size_t i = 0; i < aff->vm_count; i++)
            self->vm_stamp [aff->vms [i]] = stamp;
        for (size_t b = 0; b < cluster->rule_count; b++) {
            const place_rule_t *anti = &cluster->rules [b];
            if (!s_is_hard (anti, PLACE_RULE_ANTI_AFFINITY))
                continue;
            int first = -1;
            for (size_t i = 0; i < anti->vm_count; i++) {
                int vm = anti->vms [i];
                if (self->vm_stamp [vm] != stamp || vm == first)
                    continue;
                if (first < 0)
                    first = vm;
                else {
                    s_check_fail (self, "rules %s (affinity) and %s (anti-affinity) both hold "
                                  "vms '%s' and '%s'", s_rule_name (cluster, (int) a),
                                  s_rule_name (cluster, (int) b), s_vm_name (cluster, first),
                                  s_vm_name (cluster, vm));
                    return -1;
                }
            }
        }
    }
    return 0;
}

//  Checks 2 and 3, per VM: must and must-not on one host; no allowed host at all.
static int
s_check_vm_host (s_check_t *self)
{
    const place_cluster_t *cluster = self->cluster;
    for (size_t r = 0; r < cluster->rule_count; r++)
        if (s_is_hard (&cluster->rules [r], PLACE_RULE_VM_HOST))
            for (size_t i = 0; i < cluster->rules [r].vm_count; i++)
                self->restricted [cluster->rules [r].vms [i]] = true;
    for (size_t vm = 0; vm < cluster->vm_count; vm++) {
        if (!self->restricted [vm])
            continue;
        long count = s_check_allowed (self, (int) vm);
        if (count == -2)
            return -1;
        if (count == 0) {
            char names [PLACE_REASON_SIZE];
            s_vm_host_rules (cluster, (int) vm, names, sizeof names);
            s_check_fail (self, "vm '%s' may run on no host: rules %s exclude every host",
                          s_vm_name (cluster, (int) vm), names);
            return -1;
        }
    }
    return 0;
}

//  Check 4: an affinity group whose members' allowed hosts do not intersect.
static int
s_check_groups (s_check_t *self)
{
    const place_cluster_t *cluster = self->cluster;
    for (size_t vm = cluster->vm_count; vm-- > 0; ) {
        int root = s_find (self->parent, (int) vm);
        self->group_next [vm] = self->group_head [root];
        self->group_head [root] = (int) vm;
    }
    for (size_t root = 0; root < cluster->vm_count; root++) {
        if (self->group_head [root] < 0 || self->group_next [self->group_head [root]] < 0)
            continue;           // not a root, or a group of one
        int first = -1;         // first restricted member
        for (int vm = self->group_head [root]; vm >= 0; vm = self->group_next [vm]) {
            if (!self->restricted [vm])
                continue;
            s_check_allowed (self, vm);
            long left = 0;
            for (size_t h = 0; h < cluster->host_count; h++) {
                self->common [h] = first < 0? self->allowed [h]
                                            : self->common [h] && self->allowed [h];
                left += self->common [h];
            }
            if (first < 0)
                first = vm;
            else
            if (left == 0) {
                int aff = -1;   // an affinity rule of the group
                for (size_t r = 0; r < cluster->rule_count && aff < 0; r++)
                    if (s_is_hard (&cluster->rules [r], PLACE_RULE_AFFINITY)
                    &&  cluster->rules [r].vm_count
                    &&  s_find (self->parent, cluster->rules [r].vms [0]) == (int) root)
                        aff = (int) r;
                char first_rules [PLACE_REASON_SIZE], vm_rules [PLACE_REASON_SIZE];
                s_vm_host_rules (cluster, first, first_rules, sizeof first_rules);
                s_vm_host_rules (cluster, vm, vm_rules, sizeof vm_rules);
                s_check_fail (self, "vms '%s' and '%s' must share a host (affinity rule %s) "
                              "but have no allowed host in common: rules %s; %s",
                              s_vm_name (cluster, first), s_vm_name (cluster, vm),
                              s_rule_name (cluster, aff), first_rules, vm_rules);
                return -1;
            }
        }
    }
    return 0;
}

//  Check 5: an anti-affinity rule with more VMs than the hosts they may use.
static int
s_check_anti_room (s_check_t *self)
{
    const place_cluster_t *cluster = self->cluster;
    for (size_t r = 0; r < cluster->rule_count; r++) {
        const place_rule_t *rule = &cluster->rules [r];
        if (!s_is_hard (rule, PLACE_RULE_ANTI_AFFINITY))
            continue;
        int stamp = ++self->stamp;
        size_t vms = 0;
        bool unrestricted = false;
        for (size_t h = 0; h < cluster->host_count; h++)
            self->common [h] = false;
        for (size_t i = 0; i < rule->vm_count; i++) {
            int vm = rule->vms [i];
            if (self->vm_stamp [vm] == stamp)
                continue;
            self->vm_stamp [vm] = stamp;
            vms++;
            if (!self->restricted [vm]) {
                unrestricted = true;
                continue;
            }
            s_check_allowed (self, vm);
            for (size_t h = 0; h < cluster->host_count; h++)
                self->common [h] = self->common [h] || self->allowed [h];
        }
        size_t hosts = cluster->host_count;
        if (!unrestricted) {
            hosts = 0;
            for (size_t h = 0; h < cluster->host_count; h++)
                hosts += self->common [h];
        }
        if (vms > hosts) {
            s_check_fail (self, "rule %s (anti-affinity) keeps %zu vms apart but they may use "
                          "only %zu host%s", s_rule_name (cluster, (int) r), vms, hosts,
                          hosts == 1? "": "s");
            return -1;
        }
    }
    return 0;
}

//  Check 6: two VMs of an anti-affinity rule tied together by a chain of affinity rules.
static int
s_check_chains (s_check_t *self)
{
    const place_cluster_t *cluster = self->cluster;
    for (size_t r = 0; r < cluster->rule_count; r++) {
        const place_rule_t *rule = &cluster->rules [r];
        if (!s_is_hard (rule, PLACE_RULE_ANTI_AFFINITY))
            continue;
        int stamp = ++self->stamp;
        for (size_t i = 0; i < rule->vm_count; i++) {
            int vm = rule->vms [i];
            int root = s_find (self->parent, vm);
            if (self->vm_stamp [root] != stamp) {
                self->vm_stamp [root] = stamp;
                self->group_head [root] = vm;   // reused: first member of the rule seen
                continue;
            }
            int other = self->group_head [root];
            if (other == vm)
                continue;
            char chain [PLACE_REASON_SIZE];
            size_t len = 0;
            chain [0] = 0;
            for (size_t a = 0; a < cluster->rule_count; a++)
                if (s_is_hard (&cluster->rules [a], PLACE_RULE_AFFINITY)
                &&  cluster->rules [a].vm_count
                &&  s_find (self->parent, cluster->rules [a].vms [0]) == root)
                    s_append (chain, sizeof chain, &len, "%s%s", len? ", ": "",
                              s_rule_name (cluster, (int) a));
            s_check_fail (self, "vms '%s' and '%s' must share a host through affinity rules %s "
                          "but rule %s (anti-affinity) keeps them apart",
                          s_vm_name (cluster, other), s_vm_name (cluster, vm), chain,
                          s_rule_name (cluster, (int) r));
            return -1;
        }
    }
    return 0;
}

int
place_check_rules (const place_cluster_t *cluster, char *err, size_t err_size)
{
    assert (cluster);
    s_check_t self = { .cluster = cluster, .err = err, .err_size = err_size };
    if (err && err_size)
        err [0] = 0;
    size_t vms = cluster->vm_count? cluster->vm_count: 1;
    size_t hosts = cluster->host_count? cluster->host_count: 1;
    self.parent = malloc (vms * sizeof (int));
    self.vm_stamp = calloc (vms, sizeof (int));
    self.group_next = malloc (vms * sizeof (int));
    self.group_head = malloc (vms * sizeof (int));
    self.restricted = calloc (vms, sizeof (bool));
    self.host_stamp = calloc (hosts, sizeof (int));
    self.must_count = calloc (hosts, sizeof (int));
    self.must_not = calloc (hosts, sizeof (bool));
    self.allowed = calloc (hosts, sizeof (bool));
    self.common = calloc (hosts, sizeof (bool));
    int rc = -1;
    if (!self.parent || !self.vm_stamp || !self.group_next || !self.group_head
    ||  !self.restricted || !self.host_stamp || !self.must_count || !self.must_not
    ||  !self.allowed || !self.common) {
        s_check_fail (&self, "cannot check rules: out of memory");
        goto done;
    }
    for (size_t vm = 0; vm < cluster->vm_count; vm++) {
        self.parent [vm] = (int) vm;
        self.group_head [vm] = -1;
        self.group_next [vm] = -1;
    }
    for (size_t r = 0; r < cluster->rule_count; r++) {
        const place_rule_t *rule = &cluster->rules [r];
        for (size_t i = 0; i < rule->vm_count; i++)
            assert (rule->vms [i] >= 0 && (size_t) rule->vms [i] < cluster->vm_count);
        for (size_t i = 0; i < rule->host_count; i++)
            assert (rule->hosts [i] >= 0 && (size_t) rule->hosts [i] < cluster->host_count);
        if (s_is_hard (rule, PLACE_RULE_AFFINITY))
            for (size_t i = 1; i < rule->vm_count; i++) {
                int a = s_find (self.parent, rule->vms [0]);
                int b = s_find (self.parent, rule->vms [i]);
                if (a != b)
                    self.parent [a > b? a: b] = a < b? a: b;
            }
    }
    if (s_check_direct (&self) == 0
    &&  s_check_vm_host (&self) == 0
    &&  s_check_groups (&self) == 0
    &&  s_check_anti_room (&self) == 0
    &&  s_check_chains (&self) == 0)
        rc = 0;
done:
    free (self.parent);
    free (self.vm_stamp);
    free (self.group_next);
    free (self.group_head);
    free (self.restricted);
    free (self.host_stamp);
    free (self.must_count);
    free (self.must_not);
    free (self.allowed);
    free (self.common);
    return rc;
}
