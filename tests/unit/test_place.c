/*  test_place.c - the placement engine (place.c) and the cluster-v1 reader (cluster_v1.c).

    Hand-built clusters check every filter and score with the exact host chosen and the exact
    reason text; place_bulk, place_bulk_order and place_check_rules get their own cases; then
    50 seeded random clusters (xorshift, no libc rand) are bulk-placed and every invariant is
    checked on the result: capacity and reservations per host, every hard rule, and that a
    VM left unplaced fits nowhere. Last, cluster_v1_load reads the shared example cluster and
    a set of broken files written to a temporary directory, each with its error message.

    Prints one "PASS unit/place/CASE" or "FAIL unit/place/CASE: why" line per case (the
    format of check.h) and exits non-zero when any case failed.
*/
#include "check.h"
#include "cluster_v1.h"
#include "place.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_HOSTS 16              // hosts of a hand-built fixture
#define S_VMS   16              // VMs of a hand-built fixture
#define S_RULES 8               // rules of a hand-built fixture
#define S_LIST  8               // VMs or hosts per fixture rule

//  One test case's outcome.
typedef struct {
    int failures;               // failed expectations
    char why [512];             // the first one, for the FAIL line
} s_case_t;

static void
s_expect (s_case_t *t, bool ok, const char *what, int line)
{
    if (ok)
        return;
    fprintf (stderr, "  check failed: %s (%s:%d)\n", what, __FILE__, line);
    if (t->failures++ == 0)
        snprintf (t->why, sizeof t->why, "%s (line %d)", what, line);
}

static void
s_expect_str (s_case_t *t, const char *got, const char *want, int line)
{
    if (got && want && strcmp (got, want) == 0)
        return;
    fprintf (stderr, "  check failed (%s:%d):\n    got:  '%s'\n    want: '%s'\n",
             __FILE__, line, got? got: "(null)", want? want: "(null)");
    if (t->failures++ == 0)
        snprintf (t->why, sizeof t->why, "got '%s', want '%s' (line %d)",
                  got? got: "(null)", want? want: "(null)", line);
}

#define EXPECT(cond) s_expect (t, (cond), #cond, __LINE__)
#define EXPECT_STR(got, want) s_expect_str (t, (got), (want), __LINE__)

//  Run one case and print its verdict line; returns 1 when it failed.
static int
s_run (const char *name, void (*test) (s_case_t *t))
{
    s_case_t t = { 0, "" };
    test (&t);
    if (t.failures)
        printf ("FAIL unit/place/%s: %s\n", name, t.why);
    else
        printf ("PASS unit/place/%s\n", name);
    fflush (stdout);
    return t.failures? 1: 0;
}


//  --------------------------------------------------------------------------------------
//  Hand-built clusters

static const char *s_host_names [S_HOSTS] = {
    "h0", "h1", "h2", "h3", "h4", "h5", "h6", "h7",
    "h8", "h9", "h10", "h11", "h12", "h13", "h14", "h15"
};

//  A small cluster the cases build by hand.
typedef struct {
    place_host_t hosts [S_HOSTS];       // h0.. (up, not nested)
    place_vm_t vms [S_VMS];             // added by s_vm
    place_rule_t rules [S_RULES];       // added by s_rule
    int rule_vms [S_RULES][S_LIST];     // the rules' VM lists
    int rule_hosts [S_RULES][S_LIST];   // the rules' host lists
    place_cluster_t cluster;            // points at the above
    place_verdict_t verdicts [S_HOSTS]; // for place_vm
    place_decision_t decision;          // for place_vm
} s_fixture_t;

//  count hosts, each with cpus CPUs and memory MiB, up, empty; default policy.
static void
s_fixture (s_fixture_t *fx, size_t count, uint32_t cpus, uint64_t memory)
{
    memset (fx, 0, sizeof *fx);
    for (size_t i = 0; i < count; i++) {
        fx->hosts [i].name = s_host_names [i];
        fx->hosts [i].up = true;
        fx->hosts [i].cpus = cpus;
        fx->hosts [i].memory_mib = memory;
    }
    fx->cluster.hosts = fx->hosts;
    fx->cluster.host_count = count;
    fx->cluster.vms = fx->vms;
    fx->cluster.rules = fx->rules;
    fx->cluster.policy = place_policy_default ();
}

//  Add a VM (on host, usage added, or -1); returns its index.
static int
s_vm (s_fixture_t *fx, const char *name, uint32_t vcpus, uint64_t memory, int host)
{
    int index = (int) fx->cluster.vm_count++;
    place_vm_t *vm = &fx->vms [index];
    vm->name = name;
    vm->vcpus = vcpus;
    vm->memory_mib = memory;
    vm->host = host;
    if (host >= 0)
        place_host_add (&fx->hosts [host], vm);
    return index;
}

//  Add a rule; vms and hosts are -1-terminated lists (hosts may be NULL).
static void
s_rule (s_fixture_t *fx, const char *name, place_rule_kind_t kind, bool hard, bool positive,
        double weight, const int *vms, const int *hosts)
{
    size_t r = fx->cluster.rule_count++;
    place_rule_t *rule = &fx->rules [r];
    memset (rule, 0, sizeof *rule);
    rule->name = name;
    rule->kind = kind;
    rule->hard = hard;
    rule->positive = positive;
    rule->weight = weight;
    while (vms && vms [rule->vm_count] >= 0)
        fx->rule_vms [r][rule->vm_count] = vms [rule->vm_count], rule->vm_count++;
    while (hosts && hosts [rule->host_count] >= 0)
        fx->rule_hosts [r][rule->host_count] = hosts [rule->host_count], rule->host_count++;
    rule->vms = fx->rule_vms [r];
    rule->hosts = fx->rule_hosts [r];
}

//  place_vm with verdicts, checked against place_vm without them (same host, candidates).
static int
s_place (s_case_t *t, s_fixture_t *fx, int vm, int exclude)
{
    place_decision_t quiet;
    int rc = place_vm (&fx->cluster, vm, exclude, fx->verdicts, &fx->decision);
    int quiet_rc = place_vm (&fx->cluster, vm, exclude, NULL, &quiet);
    EXPECT (rc == quiet_rc && quiet.host == fx->decision.host);
    EXPECT (quiet.candidates == fx->decision.candidates);
    EXPECT (strcmp (quiet.summary, fx->decision.summary) == 0);
    size_t fits = 0;
    for (size_t h = 0; h < fx->cluster.host_count; h++)
        fits += fx->verdicts [h].fits;
    EXPECT (fits == fx->decision.candidates);
    EXPECT ((rc == 0) == (fx->decision.host >= 0));
    return fx->decision.host;
}

#define L(...) ((const int []) { __VA_ARGS__, -1 })


//  --------------------------------------------------------------------------------------
//  Filters

//  An HA VM goes only to a protected host that holds a lease from the leader; an ordinary
//  VM anywhere.
static void
s_test_ha_hosts (s_case_t *t)
{
    s_fixture_t fx;
    s_fixture (&fx, 3, 4, 8192);
    fx.hosts [0].protected_ = true;                 // protected, no lease yet
    fx.hosts [1].protected_ = fx.hosts [1].leased = true;
    fx.hosts [2].leased = true;                     // leased, neither watchdog nor fence
    int vm = s_vm (&fx, "db", 1, 1024, -1);
    fx.vms [vm].ha = true;
    EXPECT (s_place (t, &fx, vm, -1) == 1);
    EXPECT_STR (fx.verdicts [0].reason, "holds no lease from the scheduler yet (an HA vm "
                "starts only on a host that renews its lease)");
    EXPECT_STR (fx.verdicts [2].reason, "neither watchdog nor fence device (an HA vm needs "
                "one; ha.allow_unfenced_hosts)");
    EXPECT (fx.decision.candidates == 1);
    fx.hosts [1].leased = false;
    EXPECT (s_place (t, &fx, vm, -1) == -1);
    EXPECT (strstr (fx.decision.summary, "holding no lease") != NULL);
    fx.vms [vm].ha = false;
    EXPECT (s_place (t, &fx, vm, -1) >= 0 && fx.decision.candidates == 3);
}

static void
s_test_capacity_vcpus (s_case_t *t)
{
    s_fixture_t fx;
    s_fixture (&fx, 2, 4, 8192);
    fx.hosts [0].cpus = 2;
    fx.hosts [0].vcpus_used = 6;
    fx.hosts [0].memory_used_mib = 1024;
    int vm = s_vm (&fx, "new", 4, 2048, -1);
    EXPECT (s_place (t, &fx, vm, -1) == 1);
    EXPECT (!fx.verdicts [0].fits);
    EXPECT_STR (fx.verdicts [0].reason, "not enough vCPUs: need 4, free 2 (overcommit 4.0)");
    EXPECT (fx.verdicts [1].fits);
    EXPECT_STR (fx.verdicts [1].reason, "fits: score 0.75 (free after: 75% cpu, 75% memory)");
    EXPECT (fx.decision.candidates == 1);
    EXPECT_STR (fx.decision.summary, "placed on h1, best of 1 fitting host: "
                "score 0.75 (free after: 75% cpu, 75% memory)");

    //  Exactly full fits (8 of 8 vCPUs); a different overcommit shows in the reason.
    fx.vms [vm].vcpus = 2;
    EXPECT (s_place (t, &fx, vm, -1) == 1);
    EXPECT (fx.verdicts [0].fits);
    fx.cluster.policy.cpu_overcommit = 2.5;     // 5 vCPUs on h0
    EXPECT (s_place (t, &fx, vm, -1) == 1);
    EXPECT_STR (fx.verdicts [0].reason, "not enough vCPUs: need 2, free 0 (overcommit 2.5)");
}

static void
s_test_capacity_memory (s_case_t *t)
{
    s_fixture_t fx;
    s_fixture (&fx, 2, 4, 8192);
    fx.hosts [0].memory_used_mib = 7168;
    int vm = s_vm (&fx, "new", 1, 4096, -1);
    EXPECT (s_place (t, &fx, vm, -1) == 1);
    EXPECT_STR (fx.verdicts [0].reason, "not enough memory: need 4096 MiB, free 1024 MiB");

    //  Memory overcommit 1.5: 4096 MiB offer 6144.
    fx.cluster.policy.mem_overcommit = 1.5;
    fx.hosts [0].memory_mib = 4096;
    fx.hosts [0].memory_used_mib = 5120;
    fx.vms [vm].memory_mib = 2048;
    EXPECT (s_place (t, &fx, vm, -1) == 1);
    EXPECT_STR (fx.verdicts [0].reason,
                "not enough memory: need 2048 MiB, free 1024 MiB (overcommit 1.5)");
    fx.vms [vm].memory_mib = 1024;              // exactly full: fits, nothing free after
    EXPECT (s_place (t, &fx, vm, -1) == 1);
    EXPECT (fx.verdicts [0].fits);
    EXPECT_STR (fx.verdicts [0].reason, "fits: score 0.00 (free after: 94% cpu, 0% memory)");

    //  vCPUs are checked before memory.
    fx.hosts [0].vcpus_used = 16;
    EXPECT (s_place (t, &fx, vm, -1) == 1);
    EXPECT_STR (fx.verdicts [0].reason, "not enough vCPUs: need 1, free 0 (overcommit 4.0)");
}

static void
s_test_reservations (s_case_t *t)
{
    s_fixture_t fx;
    s_fixture (&fx, 2, 4, 8192);
    fx.hosts [0].cpu_reserved = 3;
    int vm = s_vm (&fx, "new", 2, 1024, -1);
    fx.vms [vm].cpu_reserve = 2;
    EXPECT (s_place (t, &fx, vm, -1) == 1);
    EXPECT_STR (fx.verdicts [0].reason, "CPU reservation: need 2, free 1");

    //  Memory reservation is never overcommitted, even when memory is.
    fx.hosts [0].cpu_reserved = 0;
    fx.hosts [0].mem_reserved_mib = 7168;
    fx.vms [vm].mem_reserve_mib = 2048;
    fx.cluster.policy.mem_overcommit = 2.0;
    EXPECT (s_place (t, &fx, vm, -1) == 1);
    EXPECT_STR (fx.verdicts [0].reason, "memory reservation: need 2048 MiB, free 1024 MiB");

    //  CPU reservation is never overcommitted either: 4 CPUs, 4 reserved, need 1 more.
    fx.hosts [1].cpu_reserved = 4;
    fx.vms [vm].cpu_reserve = 1;
    fx.vms [vm].mem_reserve_mib = 0;
    EXPECT (s_place (t, &fx, vm, -1) == 0);
    EXPECT_STR (fx.verdicts [1].reason, "CPU reservation: need 1, free 0");

    //  place_host_add / place_host_remove keep the sums.
    place_host_t host = fx.hosts [1];
    fx.vms [vm].mem_reserve_mib = 512;
    place_host_add (&host, &fx.vms [vm]);
    EXPECT (host.vcpus_used == 2 && host.memory_used_mib == 1024);
    EXPECT (host.cpu_reserved == 5 && host.mem_reserved_mib == 512);
    place_host_remove (&host, &fx.vms [vm]);
    EXPECT (memcmp (&host, &fx.hosts [1], sizeof host) == 0);
}

static void
s_test_host_state (s_case_t *t)
{
    s_fixture_t fx;
    s_fixture (&fx, 5, 4, 8192);
    fx.hosts [0].up = false;                    // down or suspect
    fx.hosts [1].maintenance = true;
    fx.hosts [2].nested = false;
    fx.hosts [3].nested = true;
    fx.hosts [4].up = false;                    // not up wins over maintenance
    fx.hosts [4].maintenance = true;
    int vm = s_vm (&fx, "hyper", 2, 2048, -1);
    fx.vms [vm].needs_nested = true;
    EXPECT (s_place (t, &fx, vm, -1) == 3);
    EXPECT_STR (fx.verdicts [0].reason, "host is not up");
    EXPECT_STR (fx.verdicts [1].reason, "in maintenance");
    EXPECT_STR (fx.verdicts [2].reason, "nested virtualization not available");
    EXPECT (fx.verdicts [3].fits);
    EXPECT_STR (fx.verdicts [4].reason, "host is not up");

    //  The source host of a migration is excluded first of all.
    EXPECT (s_place (t, &fx, vm, 3) == -1);
    EXPECT_STR (fx.verdicts [3].reason, "source host");
    EXPECT_STR (fx.decision.summary, "no host fits: 2 hosts not up, 1 excluded (source host), "
                "1 in maintenance, 1 without nested virtualization");

    //  Without nesting, host 2 is fine again.
    fx.vms [vm].needs_nested = false;
    EXPECT (s_place (t, &fx, vm, 3) == 2);
}

static void
s_test_vm_host_rules (s_case_t *t)
{
    s_fixture_t fx;
    s_fixture (&fx, 4, 4, 8192);
    int web = s_vm (&fx, "web-1", 1, 2048, -1);
    s_rule (&fx, "pin-web", PLACE_RULE_VM_HOST, true, true, 0, L(web), L(1, 2));
    s_rule (&fx, "no-h2", PLACE_RULE_VM_HOST, true, false, 0, L(web), L(2, 0));
    EXPECT (s_place (t, &fx, web, -1) == 1);
    EXPECT_STR (fx.verdicts [0].reason, "not in the hosts of rule pin-web (must)");
    EXPECT (fx.verdicts [1].fits);
    EXPECT_STR (fx.verdicts [2].reason, "must not run here (rule no-h2)");
    EXPECT_STR (fx.verdicts [3].reason, "not in the hosts of rule pin-web (must)");
    EXPECT_STR (fx.decision.summary, "placed on h1, best of 1 fitting host: "
                "score 0.75 (free after: 94% cpu, 75% memory)");

    //  Rules naming other VMs do not apply.
    int other = s_vm (&fx, "db-1", 1, 2048, -1);
    EXPECT (s_place (t, &fx, other, -1) == 0);
    EXPECT (fx.decision.candidates == 4);

    //  Soft rules: should prefers h3 although it is fuller; should-not pushes off h0.
    s_fixture (&fx, 4, 4, 8192);
    web = s_vm (&fx, "web-1", 1, 2048, -1);
    fx.hosts [3].vcpus_used = 4;
    fx.hosts [3].memory_used_mib = 4096;
    EXPECT (s_place (t, &fx, web, -1) == 0);
    s_rule (&fx, "prefer-h3", PLACE_RULE_VM_HOST, false, true, 10, L(web), L(3));
    EXPECT (s_place (t, &fx, web, -1) == 3);
    EXPECT_STR (fx.verdicts [0].reason, "fits: score -9.25 (free after: 94% cpu, 75% memory); "
                "penalty 10 (rule prefer-h3)");
    EXPECT_STR (fx.verdicts [3].reason, "fits: score 0.25 (free after: 69% cpu, 25% memory)");
    EXPECT (fx.verdicts [0].score == 0.75 - 10);
    EXPECT_STR (fx.decision.summary, "placed on h3, best of 4 fitting hosts: "
                "score 0.25 (free after: 69% cpu, 25% memory)");

    s_fixture (&fx, 2, 4, 8192);
    web = s_vm (&fx, "web-1", 1, 2048, -1);
    EXPECT (s_place (t, &fx, web, -1) == 0);    // a tie: the lower index
    s_rule (&fx, "avoid-h0", PLACE_RULE_VM_HOST, false, false, 0.5, L(web), L(0));
    EXPECT (s_place (t, &fx, web, -1) == 1);
    EXPECT_STR (fx.verdicts [0].reason, "fits: score 0.25 (free after: 94% cpu, 75% memory); "
                "penalty 0.5 (rule avoid-h0)");
    //  Both soft rules at once, penalties listed in rule order.
    s_rule (&fx, "prefer-h1", PLACE_RULE_VM_HOST, false, true, 2, L(web), L(1));
    EXPECT (s_place (t, &fx, web, -1) == 1);
    EXPECT_STR (fx.verdicts [0].reason, "fits: score -1.75 (free after: 94% cpu, 75% memory); "
                "penalty 0.5 (rule avoid-h0); penalty 2 (rule prefer-h1)");
    EXPECT_STR (fx.decision.summary, "placed on h1, best of 2 fitting hosts: "
                "score 0.75 (free after: 94% cpu, 75% memory)");
    //  A soft penalty never overrides a hard filter.
    fx.hosts [1].maintenance = true;
    EXPECT (s_place (t, &fx, web, -1) == 0);
    EXPECT_STR (fx.decision.summary, "placed on h0, best of 1 fitting host: score -1.75 "
                "(free after: 94% cpu, 75% memory); penalty 0.5 (rule avoid-h0); "
                "penalty 2 (rule prefer-h1)");
}

static void
s_test_anti_affinity (s_case_t *t)
{
    s_fixture_t fx;
    s_fixture (&fx, 3, 4, 8192);
    int db1 = s_vm (&fx, "db-1", 1, 1024, 0);
    int db2 = s_vm (&fx, "db-2", 1, 1024, -1);
    int db3 = s_vm (&fx, "db-3", 1, 1024, -1);
    s_rule (&fx, "db-spread", PLACE_RULE_ANTI_AFFINITY, true, true, 0, L(db1, db2, db3), NULL);
    fx.hosts [1].memory_used_mib = 4096;        // h2 is emptier than h1
    EXPECT (s_place (t, &fx, db2, -1) == 2);
    EXPECT_STR (fx.verdicts [0].reason, "anti-affinity with db-1 (rule db-spread)");
    EXPECT (fx.verdicts [1].fits && fx.verdicts [2].fits);

    //  With db-2 on h2, db-3 has only h1 left.
    fx.vms [db2].host = 2;
    place_host_add (&fx.hosts [2], &fx.vms [db2]);
    EXPECT (s_place (t, &fx, db3, -1) == 1);
    EXPECT_STR (fx.verdicts [2].reason, "anti-affinity with db-2 (rule db-spread)");
    //  Must / must-not come before anti-affinity.
    s_rule (&fx, "no-h0", PLACE_RULE_VM_HOST, true, false, 0, L(db3), L(0));
    EXPECT (s_place (t, &fx, db3, -1) == 1);
    EXPECT_STR (fx.verdicts [0].reason, "must not run here (rule no-h0)");

    //  Soft anti-affinity: a penalty where a peer runs.
    s_fixture (&fx, 2, 4, 8192);
    int web1 = s_vm (&fx, "web-1", 1, 1024, 0);
    int web2 = s_vm (&fx, "web-2", 1, 1024, -1);
    fx.hosts [1].memory_used_mib = 4096;
    EXPECT (s_place (t, &fx, web2, -1) == 0);
    s_rule (&fx, "web-apart", PLACE_RULE_ANTI_AFFINITY, false, true, 3, L(web1, web2), NULL);
    EXPECT (s_place (t, &fx, web2, -1) == 1);
    EXPECT_STR (fx.verdicts [0].reason, "fits: score -2.25 (free after: 88% cpu, 75% memory); "
                "penalty 3 (rule web-apart)");
}

static void
s_test_affinity (s_case_t *t)
{
    s_fixture_t fx;
    s_fixture (&fx, 3, 4, 8192);
    int web1 = s_vm (&fx, "web-1", 1, 4096, 2);
    int web2 = s_vm (&fx, "web-2", 1, 1024, -1);
    s_rule (&fx, "web-together", PLACE_RULE_AFFINITY, true, true, 0, L(web1, web2), NULL);
    EXPECT (s_place (t, &fx, web2, -1) == 2);   // follows its peer to the fullest host
    EXPECT_STR (fx.verdicts [0].reason, "affinity with web-1 on h2 (rule web-together)");
    EXPECT_STR (fx.verdicts [1].reason, "affinity with web-1 on h2 (rule web-together)");
    EXPECT (fx.decision.candidates == 1);
    //  The peer's host full: nowhere to go.
    fx.hosts [2].memory_used_mib = 8192;
    EXPECT (s_place (t, &fx, web2, -1) == -1);
    EXPECT_STR (fx.verdicts [2].reason, "not enough memory: need 1024 MiB, free 0 MiB");
    EXPECT_STR (fx.decision.summary,
                "no host fits: 2 hosts away from affinity peers, 1 not enough memory");

    //  A peer not placed yet is no constraint.
    s_fixture (&fx, 3, 4, 8192);
    int a = s_vm (&fx, "app-1", 1, 1024, -1);
    int b = s_vm (&fx, "app-2", 1, 1024, -1);
    s_rule (&fx, "app-together", PLACE_RULE_AFFINITY, true, true, 0, L(a, b), NULL);
    fx.hosts [0].memory_used_mib = 2048;
    EXPECT (s_place (t, &fx, b, -1) == 1);
    EXPECT (fx.decision.candidates == 3);

    //  Peers on two hosts: no host can satisfy the rule.
    int c = s_vm (&fx, "app-3", 1, 1024, -1);
    fx.rule_vms [0][2] = c;
    fx.rules [0].vm_count = 3;
    fx.vms [a].host = 0;
    fx.vms [c].host = 1;
    EXPECT (s_place (t, &fx, b, -1) == -1);
    EXPECT_STR (fx.verdicts [0].reason, "affinity with app-3 on h1 (rule app-together)");
    EXPECT_STR (fx.verdicts [1].reason, "affinity with app-1 on h0 (rule app-together)");
    EXPECT_STR (fx.verdicts [2].reason, "affinity with app-1 on h0 (rule app-together)");
    EXPECT_STR (fx.decision.summary, "no host fits: 3 hosts away from affinity peers");

    //  Soft affinity: a penalty away from the peer.
    s_fixture (&fx, 2, 4, 8192);
    a = s_vm (&fx, "cache-1", 1, 4096, 1);
    b = s_vm (&fx, "cache-2", 1, 1024, -1);
    s_rule (&fx, "cache-near", PLACE_RULE_AFFINITY, false, true, 1, L(a, b), NULL);
    EXPECT (s_place (t, &fx, b, -1) == 1);
    EXPECT_STR (fx.verdicts [0].reason, "fits: score -0.12 (free after: 94% cpu, 88% memory); "
                "penalty 1 (rule cache-near)");
    EXPECT_STR (fx.verdicts [1].reason, "fits: score 0.38 (free after: 88% cpu, 38% memory)");
}

static void
s_test_spread_pack (s_case_t *t)
{
    s_fixture_t fx;
    s_fixture (&fx, 3, 4, 8192);
    fx.hosts [0].vcpus_used = 8;
    fx.hosts [0].memory_used_mib = 4096;
    fx.hosts [2].memory_used_mib = 8192;        // full
    int vm = s_vm (&fx, "new", 2, 2048, -1);
    EXPECT (s_place (t, &fx, vm, -1) == 1);
    EXPECT_STR (fx.verdicts [0].reason, "fits: score 0.25 (free after: 38% cpu, 25% memory)");
    EXPECT_STR (fx.verdicts [1].reason, "fits: score 0.75 (free after: 88% cpu, 75% memory)");
    fx.cluster.policy.strategy = PLACE_PACK;
    EXPECT (s_place (t, &fx, vm, -1) == 0);
    EXPECT_STR (fx.verdicts [0].reason, "fits: score 0.75 (free after: 38% cpu, 25% memory)");
    EXPECT_STR (fx.verdicts [1].reason, "fits: score 0.25 (free after: 88% cpu, 75% memory)");
    EXPECT_STR (fx.decision.summary, "placed on h0, best of 2 fitting hosts: "
                "score 0.75 (free after: 38% cpu, 25% memory)");
    //  The tighter resource decides: CPU here.
    fx.cluster.policy.strategy = PLACE_SPREAD;
    fx.hosts [1].vcpus_used = 14;
    EXPECT (s_place (t, &fx, vm, -1) == 0);
    EXPECT_STR (fx.verdicts [1].reason, "fits: score 0.00 (free after: 0% cpu, 75% memory)");
}

static void
s_test_determinism (s_case_t *t)
{
    s_fixture_t fx;
    s_fixture (&fx, 6, 8, 16384);
    int vm = s_vm (&fx, "new", 2, 2048, -1);
    EXPECT (s_place (t, &fx, vm, -1) == 0);
    EXPECT (fx.decision.candidates == 6);
    for (int i = 0; i < 5; i++)
        EXPECT (s_place (t, &fx, vm, -1) == 0);
    fx.hosts [0].up = false;
    EXPECT (s_place (t, &fx, vm, -1) == 1);     // the next lowest index
    fx.hosts [0].up = true;
    EXPECT (s_place (t, &fx, vm, 0) == 1);
    for (size_t h = 1; h < 6; h++)
        EXPECT (fx.verdicts [h].score == fx.verdicts [1].score);
}

static void
s_test_verdicts_filled (s_case_t *t)
{
    s_fixture_t fx;
    s_fixture (&fx, 8, 4, 8192);
    fx.hosts [1].up = false;
    fx.hosts [3].maintenance = true;
    fx.hosts [5].memory_used_mib = 8000;
    int vm = s_vm (&fx, "new", 1, 1024, -1);
    memset (fx.verdicts, 0x5a, sizeof fx.verdicts);
    EXPECT (s_place (t, &fx, vm, -1) == 0);
    size_t fits = 0;
    for (size_t h = 0; h < 8; h++) {
        const place_verdict_t *v = &fx.verdicts [h];
        size_t len = strnlen (v->reason, sizeof v->reason);
        EXPECT (len > 0 && len < sizeof v->reason);
        EXPECT (v->fits == (strncmp (v->reason, "fits: ", 6) == 0));
        EXPECT (v->fits || v->score == 0);
        fits += v->fits;
    }
    EXPECT (fits == 5 && fx.decision.candidates == 5);
    //  Hosts beyond host_count are not touched.
    memset (fx.verdicts, 0x5a, sizeof fx.verdicts);
    fx.cluster.host_count = 4;
    EXPECT (s_place (t, &fx, vm, -1) == 0);
    EXPECT ((unsigned char) fx.verdicts [4].reason [0] == 0x5a);
}

static void
s_test_summary_counts (s_case_t *t)
{
    s_fixture_t fx;
    s_fixture (&fx, 4, 4, 8192);
    fx.hosts [0].memory_used_mib = 7000;
    fx.hosts [1].maintenance = true;
    fx.hosts [2].memory_used_mib = 7000;
    fx.hosts [3].memory_used_mib = 7000;
    int vm = s_vm (&fx, "big", 2, 4096, -1);
    EXPECT (s_place (t, &fx, vm, -1) == -1);
    EXPECT (fx.decision.host == -1 && fx.decision.candidates == 0);
    EXPECT_STR (fx.decision.summary, "no host fits: 3 hosts not enough memory, 1 in maintenance");
    fx.hosts [1].maintenance = false;
    fx.hosts [1].up = false;
    fx.hosts [0].memory_used_mib = 0;
    EXPECT (s_place (t, &fx, vm, -1) == 0);
    EXPECT_STR (fx.decision.summary, "placed on h0, best of 1 fitting host: "
                "score 0.50 (free after: 88% cpu, 50% memory)");
    //  One host only: singular.
    fx.hosts [0].memory_used_mib = 7000;
    fx.cluster.host_count = 1;
    EXPECT (s_place (t, &fx, vm, -1) == -1);
    EXPECT_STR (fx.decision.summary, "no host fits: 1 host not enough memory");
    fx.cluster.host_count = 0;
    EXPECT (place_vm (&fx.cluster, vm, -1, NULL, &fx.decision) == -1);
    EXPECT_STR (fx.decision.summary, "no host fits: no hosts");
}

//  Rule tables overflowing (more than 1024 marked hosts, more than 256 rules on one VM)
//  take the slow path with the same results.
static void
s_test_rule_overflow (s_case_t *t)
{
    enum { HOSTS = 1200 };
    place_host_t *hosts = calloc (HOSTS, sizeof *hosts);
    place_verdict_t *verdicts = calloc (HOSTS, sizeof *verdicts);
    char (*names) [8] = calloc (HOSTS, sizeof *names);
    int *pin_hosts = calloc (HOSTS, sizeof (int));
    place_rule_t *rules = calloc (300, sizeof *rules);
    int *rule_hosts = calloc (300, sizeof (int));
    if (!hosts || !verdicts || !names || !pin_hosts || !rules || !rule_hosts) {
        EXPECT (!"out of memory");
        goto done;
    }
    for (int h = 0; h < HOSTS; h++) {
        snprintf (names [h], sizeof names [h], "n%d", h % 100000);
        hosts [h] = (place_host_t) { .name = names [h], .up = true, .cpus = 4, .memory_mib = 8192 };
    }
    place_vm_t vm = { .name = "wide", .vcpus = 1, .memory_mib = 1024, .host = -1 };
    int vms [1] = { 0 };
    size_t pinned = 0;
    for (int h = 100; h < HOSTS; h++)
        pin_hosts [pinned++] = h;
    int last = HOSTS - 1;
    rules [0] = (place_rule_t) { "pin-many", PLACE_RULE_VM_HOST, true, true, 0, vms, 1,
                                 pin_hosts, pinned };
    rules [1] = (place_rule_t) { "prefer-last", PLACE_RULE_VM_HOST, false, true, 1, vms, 1,
                                 &last, 1 };
    place_cluster_t cluster = { hosts, HOSTS, &vm, 1, rules, 2, place_policy_default () };
    place_decision_t decision, quiet;
    EXPECT (place_vm (&cluster, 0, -1, verdicts, &decision) == 0);
    EXPECT (place_vm (&cluster, 0, -1, NULL, &quiet) == 0);
    EXPECT (decision.host == last && quiet.host == last);
    EXPECT (decision.candidates == 1100 && quiet.candidates == 1100);
    EXPECT_STR (verdicts [0].reason, "not in the hosts of rule pin-many (must)");
    EXPECT_STR (verdicts [100].reason, "fits: score -0.12 (free after: 94% cpu, 88% memory); "
                "penalty 1 (rule prefer-last)");
    EXPECT_STR (verdicts [last].reason, "fits: score 0.88 (free after: 94% cpu, 88% memory)");

    //  300 soft rules on one VM, each avoiding host i % 9 of 10 hosts: host 9 is free of
    //  penalties.
    for (int r = 0; r < 300; r++) {
        rule_hosts [r] = r % 9;
        rules [r] = (place_rule_t) { "avoid", PLACE_RULE_VM_HOST, false, false, 1, vms, 1,
                                     &rule_hosts [r], 1 };
    }
    cluster.host_count = 10;
    cluster.rule_count = 300;
    EXPECT (place_vm (&cluster, 0, -1, verdicts, &decision) == 0);
    EXPECT (place_vm (&cluster, 0, -1, NULL, &quiet) == 0);
    EXPECT (decision.host == 9 && quiet.host == 9);
    EXPECT (verdicts [0].score == 0.875 - 34);
    EXPECT (verdicts [8].score == 0.875 - 33);
    const char *want = "fits: score -33.12 (free after: 94% cpu, 88% memory); "
                       "penalty 1 (rule avoid); penalty 1 (rule avoid)";
    EXPECT (strncmp (verdicts [0].reason, want, strlen (want)) == 0);
    if (strncmp (verdicts [0].reason, want, strlen (want)))
        fprintf (stderr, "  got '%s'\n", verdicts [0].reason);
done:
    free (hosts);
    free (verdicts);
    free (names);
    free (pin_hosts);
    free (rules);
    free (rule_hosts);
}


//  --------------------------------------------------------------------------------------
//  Bulk placement

static void
s_test_bulk_capacity (s_case_t *t)
{
    s_fixture_t fx;
    s_fixture (&fx, 3, 2, 4096);
    for (int i = 0; i < 15; i++)
        s_vm (&fx, "vm", 1, 1024, -1);
    int order [S_VMS], hosts_out [S_VMS];
    place_bulk_order (&fx.cluster, NULL, order);
    EXPECT (place_bulk (&fx.cluster, order, 15, hosts_out) == 12);
    size_t unplaced = 0;
    for (int i = 0; i < 15; i++) {
        EXPECT (hosts_out [i] == fx.vms [order [i]].host);
        unplaced += hosts_out [i] < 0;
    }
    EXPECT (unplaced == 3);
    for (int h = 0; h < 3; h++) {
        EXPECT (fx.hosts [h].memory_used_mib == 4096);
        EXPECT (fx.hosts [h].vcpus_used == 4);
    }
    //  Spread: the first three go to three different hosts.
    EXPECT (hosts_out [0] == 0 && hosts_out [1] == 1 && hosts_out [2] == 2);
}

static void
s_test_bulk_anti_affinity (s_case_t *t)
{
    s_fixture_t fx;
    s_fixture (&fx, 3, 16, 65536);
    fx.cluster.policy.strategy = PLACE_PACK;    // pack would stack them without the rule
    int a = s_vm (&fx, "db-1", 1, 1024, -1);
    int b = s_vm (&fx, "db-2", 1, 1024, -1);
    int c = s_vm (&fx, "db-3", 1, 1024, -1);
    int d = s_vm (&fx, "db-4", 1, 1024, -1);
    s_rule (&fx, "db-spread", PLACE_RULE_ANTI_AFFINITY, true, true, 0, L(a, b, c, d), NULL);
    int order [4] = { a, b, c, d }, hosts_out [4];
    EXPECT (place_bulk (&fx.cluster, order, 4, hosts_out) == 3);
    EXPECT (hosts_out [0] == 0 && hosts_out [1] == 1 && hosts_out [2] == 2);
    EXPECT (hosts_out [3] == -1 && fx.vms [d].host == -1);
    place_decision_t decision;
    EXPECT (place_vm (&fx.cluster, d, -1, NULL, &decision) == -1);
    EXPECT_STR (decision.summary, "no host fits: 3 hosts blocked by anti-affinity");
}

static void
s_test_bulk_priority (s_case_t *t)
{
    s_fixture_t fx;
    s_fixture (&fx, 1, 4, 4096);
    s_vm (&fx, "low", 1, 4096, -1);
    s_vm (&fx, "high", 1, 4096, -1);
    s_vm (&fx, "mid", 1, 4096, -1);
    int priorities [3] = { 1, 5, 3 };
    int order [3], hosts_out [3];
    place_bulk_order (&fx.cluster, priorities, order);
    EXPECT (order [0] == 1 && order [1] == 2 && order [2] == 0);
    EXPECT (place_bulk (&fx.cluster, order, 3, hosts_out) == 1);
    EXPECT (hosts_out [0] == 0 && hosts_out [1] == -1 && hosts_out [2] == -1);
    EXPECT (fx.vms [1].host == 0 && fx.vms [0].host == -1 && fx.vms [2].host == -1);

    //  Without priorities: memory, then vCPUs (larger first), then index.
    s_fixture (&fx, 1, 4, 4096);
    s_vm (&fx, "a", 1, 1024, -1);
    s_vm (&fx, "b", 2, 1024, -1);
    s_vm (&fx, "c", 1, 2048, -1);
    s_vm (&fx, "d", 2, 1024, -1);
    s_vm (&fx, "e", 1, 1024, -1);
    int order5 [5];
    place_bulk_order (&fx.cluster, NULL, order5);
    EXPECT (order5 [0] == 2 && order5 [1] == 1 && order5 [2] == 3 && order5 [3] == 0
            && order5 [4] == 4);
    int equal [5] = { 7, 7, 7, 7, 9 };
    place_bulk_order (&fx.cluster, equal, order5);
    EXPECT (order5 [0] == 4 && order5 [1] == 2 && order5 [2] == 1 && order5 [3] == 3
            && order5 [4] == 0);
}


//  --------------------------------------------------------------------------------------
//  Rule consistency

static void
s_test_check_rules (s_case_t *t)
{
    s_fixture_t fx;
    char err [512];
    s_fixture (&fx, 3, 4, 8192);
    int a = s_vm (&fx, "a", 1, 1024, -1);
    int b = s_vm (&fx, "b", 1, 1024, -1);
    int c = s_vm (&fx, "c", 1, 1024, -1);
    int d = s_vm (&fx, "d", 1, 1024, -1);

    //  A consistent set (soft rules are not checked).
    s_rule (&fx, "ab-together", PLACE_RULE_AFFINITY, true, true, 0, L(a, b), NULL);
    s_rule (&fx, "ac-apart", PLACE_RULE_ANTI_AFFINITY, true, true, 0, L(a, c), NULL);
    s_rule (&fx, "a-pin", PLACE_RULE_VM_HOST, true, true, 0, L(a), L(0, 1));
    s_rule (&fx, "c-ban", PLACE_RULE_VM_HOST, true, false, 0, L(c), L(0));
    s_rule (&fx, "soft-near", PLACE_RULE_AFFINITY, false, true, 1, L(a, c), NULL);
    EXPECT (place_check_rules (&fx.cluster, err, sizeof err) == 0);
    EXPECT_STR (err, "");

    //  1. An affinity and an anti-affinity rule sharing two VMs.
    fx.cluster.rule_count = 0;
    s_rule (&fx, "web-together", PLACE_RULE_AFFINITY, true, true, 0, L(a, b), NULL);
    s_rule (&fx, "web-spread", PLACE_RULE_ANTI_AFFINITY, true, true, 0, L(c, b, a), NULL);
    EXPECT (place_check_rules (&fx.cluster, err, sizeof err) == -1);
    EXPECT_STR (err, "rules web-together (affinity) and web-spread (anti-affinity) both hold "
                "vms 'b' and 'a'");

    //  2. Must and must-not naming one host for one VM.
    fx.cluster.rule_count = 0;
    s_rule (&fx, "pin", PLACE_RULE_VM_HOST, true, true, 0, L(a), L(0, 1));
    s_rule (&fx, "ban", PLACE_RULE_VM_HOST, true, false, 0, L(b, a), L(1));
    EXPECT (place_check_rules (&fx.cluster, err, sizeof err) == -1);
    EXPECT_STR (err, "rules pin (must) and ban (must-not) both name host 'h1' for vm 'a'");

    //  3. Must hosts with nothing left: two must rules without a common host; must-not all.
    fx.cluster.rule_count = 0;
    s_rule (&fx, "pin1", PLACE_RULE_VM_HOST, true, true, 0, L(a), L(0));
    s_rule (&fx, "pin2", PLACE_RULE_VM_HOST, true, true, 0, L(a), L(1));
    EXPECT (place_check_rules (&fx.cluster, err, sizeof err) == -1);
    EXPECT_STR (err, "vm 'a' may run on no host: rules pin1 (must), pin2 (must) "
                "exclude every host");
    fx.cluster.rule_count = 0;
    s_rule (&fx, "ban-all", PLACE_RULE_VM_HOST, true, false, 0, L(b), L(0, 1, 2));
    EXPECT (place_check_rules (&fx.cluster, err, sizeof err) == -1);
    EXPECT_STR (err, "vm 'b' may run on no host: rules ban-all (must-not) exclude every host");

    //  4. An affinity group whose must hosts do not intersect (through a chain).
    fx.cluster.rule_count = 0;
    s_rule (&fx, "ab", PLACE_RULE_AFFINITY, true, true, 0, L(a, b), NULL);
    s_rule (&fx, "bc", PLACE_RULE_AFFINITY, true, true, 0, L(b, c), NULL);
    s_rule (&fx, "pin-a", PLACE_RULE_VM_HOST, true, true, 0, L(a), L(0, 1));
    s_rule (&fx, "pin-c", PLACE_RULE_VM_HOST, true, true, 0, L(c), L(2));
    EXPECT (place_check_rules (&fx.cluster, err, sizeof err) == -1);
    EXPECT_STR (err, "vms 'a' and 'c' must share a host (affinity rule ab) but have no allowed "
                "host in common: rules pin-a (must); pin-c (must)");
    fx.rule_hosts [3][0] = 1;                   // pin-c on h1: both may use h1
    EXPECT (place_check_rules (&fx.cluster, err, sizeof err) == 0);

    //  5. Anti-affinity with more VMs than usable hosts: all hosts, then restricted ones.
    fx.cluster.rule_count = 0;
    s_rule (&fx, "spread4", PLACE_RULE_ANTI_AFFINITY, true, true, 0, L(a, b, c, d), NULL);
    EXPECT (place_check_rules (&fx.cluster, err, sizeof err) == -1);
    EXPECT_STR (err, "rule spread4 (anti-affinity) keeps 4 vms apart but they may use only "
                "3 hosts");
    fx.cluster.rule_count = 0;
    s_rule (&fx, "spread3", PLACE_RULE_ANTI_AFFINITY, true, true, 0, L(a, b, c), NULL);
    EXPECT (place_check_rules (&fx.cluster, err, sizeof err) == 0);
    s_rule (&fx, "pin-abc", PLACE_RULE_VM_HOST, true, true, 0, L(a, b, c), L(0, 1));
    EXPECT (place_check_rules (&fx.cluster, err, sizeof err) == -1);
    EXPECT_STR (err, "rule spread3 (anti-affinity) keeps 3 vms apart but they may use only "
                "2 hosts");

    //  6. Two VMs tied by a chain of affinity rules but kept apart.
    fx.cluster.rule_count = 0;
    s_rule (&fx, "aff1", PLACE_RULE_AFFINITY, true, true, 0, L(a, b), NULL);
    s_rule (&fx, "aff2", PLACE_RULE_AFFINITY, true, true, 0, L(b, c), NULL);
    s_rule (&fx, "apart", PLACE_RULE_ANTI_AFFINITY, true, true, 0, L(a, d, c), NULL);
    EXPECT (place_check_rules (&fx.cluster, err, sizeof err) == -1);
    EXPECT_STR (err, "vms 'a' and 'c' must share a host through affinity rules aff1, aff2 but "
                "rule apart (anti-affinity) keeps them apart");
    fx.rules [1].hard = false;                  // a soft link breaks the chain
    EXPECT (place_check_rules (&fx.cluster, err, sizeof err) == 0);
    EXPECT (place_check_rules (&fx.cluster, NULL, 0) == 0);
}


//  --------------------------------------------------------------------------------------
//  Simulator: random clusters, bulk placement, invariants

//  xorshift64*: a small seeded generator of our own, so runs repeat on every libc.
static uint64_t
s_next (uint64_t *state)
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * 2685821657736338717ULL;
}

//  Uniform in [lo, hi].
static int
s_between (uint64_t *state, int lo, int hi)
{
    return lo + (int) (s_next (state) % (uint64_t) (hi - lo + 1));
}

//  A random cluster and everything it points to.
typedef struct {
    place_host_t *hosts;        // host_count entries
    place_vm_t *vms;            // vm_count entries
    place_rule_t *rules;        // rule_count entries
    int *lists;                 // the rules' VM and host lists
    int *priorities;            // per VM
    place_verdict_t *verdicts;  // per host
    char (*names) [16];         // host names, then VM names
    place_cluster_t cluster;    // points at the above
} s_random_t;

static void
s_random_free (s_random_t *r)
{
    free (r->hosts);
    free (r->vms);
    free (r->rules);
    free (r->lists);
    free (r->priorities);
    free (r->verdicts);
    free (r->names);
}

//  Fill r with a random cluster: 10-200 hosts, some down / in maintenance / nested, 1-4
//  VMs per host, up to 12 rules of every kind (hard rules may contradict each other:
//  the engine must still never break them).
static int
s_random_cluster (s_random_t *r, uint64_t *seed)
{
    static const uint32_t cpus [] = { 8, 16, 32, 48 };
    static const uint64_t memory [] = { 32768, 65536, 131072, 262144 };
    static const uint32_t vcpus [] = { 1, 1, 2, 2, 4, 8, 16 };
    static const uint64_t vm_memory [] = { 1024, 2048, 4096, 8192, 16384, 32768, 65536 };
    memset (r, 0, sizeof *r);
    size_t host_count = (size_t) s_between (seed, 10, 200);
    size_t vm_count = host_count * (size_t) s_between (seed, 1, 4) * 2;
    size_t rule_count = (size_t) s_between (seed, 0, 12);
    r->hosts = calloc (host_count, sizeof *r->hosts);
    r->vms = calloc (vm_count, sizeof *r->vms);
    r->rules = calloc (rule_count + 1, sizeof *r->rules);
    r->lists = calloc ((rule_count + 1) * 16, sizeof (int));
    r->priorities = calloc (vm_count, sizeof (int));
    r->verdicts = calloc (host_count, sizeof *r->verdicts);
    r->names = calloc (host_count + vm_count, sizeof *r->names);
    if (!r->hosts || !r->vms || !r->rules || !r->lists || !r->priorities || !r->verdicts
    ||  !r->names)
        return -1;
    for (size_t h = 0; h < host_count; h++) {
        place_host_t *host = &r->hosts [h];
        snprintf (r->names [h], sizeof r->names [h], "n%zu", h % 1000000);
        host->name = r->names [h];
        host->up = s_between (seed, 0, 19) != 0;
        host->maintenance = s_between (seed, 0, 19) == 0;
        host->nested = s_between (seed, 0, 1);
        host->cpus = cpus [s_between (seed, 0, 3)];
        host->memory_mib = memory [s_between (seed, 0, 3)];
    }
    for (size_t v = 0; v < vm_count; v++) {
        place_vm_t *vm = &r->vms [v];
        snprintf (r->names [host_count + v], sizeof r->names [0], "v%zu", v % 1000000);
        vm->name = r->names [host_count + v];
        int size = s_between (seed, 0, 6);
        vm->vcpus = vcpus [size];
        vm->memory_mib = vm_memory [s_between (seed, 0, 6)];
        if (s_between (seed, 0, 3) == 0)
            vm->cpu_reserve = (uint32_t) s_between (seed, 1, (int) vm->vcpus);
        if (s_between (seed, 0, 3) == 0)
            vm->mem_reserve_mib = vm->memory_mib / (uint64_t) s_between (seed, 1, 4);
        vm->needs_nested = s_between (seed, 0, 9) == 0;
        vm->host = -1;
        r->priorities [v] = s_between (seed, 0, 3);
    }
    for (size_t i = 0; i < rule_count; i++) {
        place_rule_t *rule = &r->rules [i];
        int *vms = r->lists + i * 16, *hosts = vms + 8;
        int kind = s_between (seed, 0, 2);
        rule->name = kind == 0? "rand-aff": kind == 1? "rand-anti": "rand-vm-host";
        rule->kind = kind == 0? PLACE_RULE_AFFINITY: kind == 1? PLACE_RULE_ANTI_AFFINITY
                                                              : PLACE_RULE_VM_HOST;
        rule->hard = s_between (seed, 0, 3) != 0;
        rule->positive = s_between (seed, 0, 1);
        rule->weight = s_between (seed, 1, 10) / 4.0;
        size_t members = (size_t) s_between (seed, kind == 2? 1: 2, kind == 1? 8: 4);
        for (size_t m = 0; m < members; m++) {
            int vm = s_between (seed, 0, (int) vm_count - 1);
            bool dup = false;
            for (size_t k = 0; k < rule->vm_count; k++)
                dup |= vms [k] == vm;
            if (!dup)
                vms [rule->vm_count++] = vm;
        }
        rule->vms = vms;
        if (kind == 2) {
            size_t count = (size_t) s_between (seed, 1, 8);
            for (size_t k = 0; k < count; k++)
                hosts [rule->host_count++] = s_between (seed, 0, (int) host_count - 1);
            rule->hosts = hosts;
        }
    }
    r->cluster = (place_cluster_t) { r->hosts, host_count, r->vms, vm_count, r->rules,
                                     rule_count, place_policy_default () };
    r->cluster.policy.strategy = s_between (seed, 0, 1)? PLACE_PACK: PLACE_SPREAD;
    r->cluster.policy.mem_overcommit = s_between (seed, 0, 3) == 0? 1.5: 1.0;
    return 0;
}

static bool
s_in_list (const int *list, size_t count, int value)
{
    for (size_t i = 0; i < count; i++)
        if (list [i] == value)
            return true;
    return false;
}

//  Every invariant of a bulk-placed random cluster; returns failed expectations.
static void
s_check_invariants (s_case_t *t, s_random_t *r, const int *order, const int *hosts_out,
                    size_t placed)
{
    place_cluster_t *c = &r->cluster;
    //  Usage = the sum of the VMs on each host, within capacity and reservations.
    size_t count = 0;
    for (size_t h = 0; h < c->host_count; h++) {
        place_host_t sum = { 0 };
        for (size_t v = 0; v < c->vm_count; v++)
            if (c->vms [v].host == (int) h)
                place_host_add (&sum, &c->vms [v]);
        const place_host_t *host = &c->hosts [h];
        EXPECT (sum.vcpus_used == host->vcpus_used && sum.memory_used_mib == host->memory_used_mib);
        EXPECT (sum.cpu_reserved == host->cpu_reserved
                && sum.mem_reserved_mib == host->mem_reserved_mib);
        EXPECT (host->vcpus_used <= (uint64_t) (host->cpus * c->policy.cpu_overcommit));
        EXPECT (host->memory_used_mib
                <= (uint64_t) ((double) host->memory_mib * c->policy.mem_overcommit));
        EXPECT (host->cpu_reserved <= host->cpus);
        EXPECT (host->mem_reserved_mib <= host->memory_mib);
        if (!host->up || host->maintenance)
            EXPECT (host->vcpus_used == 0);
    }
    for (size_t i = 0; i < c->vm_count; i++) {
        const place_vm_t *vm = &c->vms [order [i]];
        EXPECT (hosts_out [i] == vm->host);
        count += vm->host >= 0;
        if (vm->host >= 0 && vm->needs_nested)
            EXPECT (c->hosts [vm->host].nested);
    }
    EXPECT (count == placed);
    //  Hard rules hold.
    for (size_t i = 0; i < c->rule_count; i++) {
        const place_rule_t *rule = &c->rules [i];
        if (!rule->hard)
            continue;
        int together = -1;
        for (size_t m = 0; m < rule->vm_count; m++) {
            int host = c->vms [rule->vms [m]].host;
            if (host < 0)
                continue;
            if (rule->kind == PLACE_RULE_VM_HOST)
                EXPECT (s_in_list (rule->hosts, rule->host_count, host) == rule->positive);
            else
            if (rule->kind == PLACE_RULE_ANTI_AFFINITY)
                for (size_t k = m + 1; k < rule->vm_count; k++)
                    EXPECT (c->vms [rule->vms [k]].host != host);
            else {
                EXPECT (together < 0 || together == host);
                together = host;
            }
        }
    }
    //  A VM left out fits nowhere, and says so for every host.
    for (size_t i = 0; i < c->vm_count; i++) {
        if (hosts_out [i] >= 0)
            continue;
        place_decision_t decision;
        EXPECT (place_vm (c, order [i], -1, r->verdicts, &decision) == -1);
        EXPECT (decision.candidates == 0);
        EXPECT (strncmp (decision.summary, "no host fits: ", 14) == 0);
        for (size_t h = 0; h < c->host_count; h++)
            EXPECT (!r->verdicts [h].fits && r->verdicts [h].reason [0]);
    }
}

static void
s_test_simulator (s_case_t *t)
{
    uint64_t seed = 0x9e3779b97f4a7c15ULL;
    size_t total_placed = 0, total_vms = 0;
    for (int round = 0; round < 50 && t->failures == 0; round++) {
        s_random_t r;
        if (s_random_cluster (&r, &seed)) {
            EXPECT (!"out of memory");
            s_random_free (&r);
            return;
        }
        place_cluster_t *c = &r.cluster;
        int *order = calloc (c->vm_count, sizeof (int));
        int *hosts_out = calloc (c->vm_count, sizeof (int));
        if (order && hosts_out) {
            place_bulk_order (c, r.priorities, order);
            for (size_t i = 1; i < c->vm_count; i++)
                EXPECT (r.priorities [order [i - 1]] >= r.priorities [order [i]]);
            //  With and without verdicts, decisions agree (on the empty cluster, first VMs).
            for (size_t i = 0; i < 20 && i < c->vm_count; i++) {
                place_decision_t loud, quiet;
                int rc = place_vm (c, order [i], -1, r.verdicts, &loud);
                EXPECT (rc == place_vm (c, order [i], -1, NULL, &quiet));
                EXPECT (loud.host == quiet.host && loud.candidates == quiet.candidates);
                EXPECT (strcmp (loud.summary, quiet.summary) == 0);
                for (size_t h = 0; loud.host >= 0 && h < c->host_count; h++)
                    if (r.verdicts [h].fits)
                        EXPECT (r.verdicts [h].score < r.verdicts [loud.host].score
                                || (r.verdicts [h].score == r.verdicts [loud.host].score
                                    && (int) h >= loud.host));
            }
            size_t placed = place_bulk (c, order, c->vm_count, hosts_out);
            s_check_invariants (t, &r, order, hosts_out, placed);
            total_placed += placed;
            total_vms += c->vm_count;
            if (t->failures)
                fprintf (stderr, "  (random cluster %d: %zu hosts, %zu vms, %zu rules)\n",
                         round, c->host_count, c->vm_count, c->rule_count);
        }
        else
            EXPECT (!"out of memory");
        free (order);
        free (hosts_out);
        s_random_free (&r);
    }
    //  The clusters are neither empty nor trivially roomy.
    EXPECT (total_placed > total_vms / 4 && total_placed < total_vms);
}


//  --------------------------------------------------------------------------------------
//  cluster_v1

//  The example cluster files (made by the team's gen_cluster.py, kept in the repository):
//  $VMSCHED_CLUSTERS, else tests/unit/clusters from the repository root, where make and
//  tests/run start the tests.
static void
s_clusters_path (char *buf, size_t size, const char *file)
{
    const char *dir = getenv ("VMSCHED_CLUSTERS");
    snprintf (buf, size, "%s/%s", dir && *dir? dir: "tests/unit/clusters", file);
}

static void
s_test_cluster_v1_example (s_case_t *t)
{
    char path [512], err [512] = "";
    s_clusters_path (path, sizeof path, "c10-s2024.json");
    cluster_v1_t *file = cluster_v1_load (path, err, sizeof err);
    EXPECT (file);
    if (!file) {
        fprintf (stderr, "  %s (run from the repository root, or set VMSCHED_CLUSTERS to the "
                 "folder of c10-s2024.json)\n", err);
        return;
    }
    json_t *root = json_load_file (path, 0, NULL);
    place_cluster_t *c = cluster_v1_place (file);
    EXPECT (root && c->host_count == json_array_size (json_object_get (root, "hosts")));
    EXPECT (root && c->vm_count == json_array_size (json_object_get (root, "vms")));
    EXPECT (c->host_count == 10 && c->vm_count == 150 && c->rule_count == 0);
    EXPECT_STR (c->hosts [0].name, "node0001");
    EXPECT (c->hosts [0].cpus == 48 && c->hosts [0].memory_mib == 262144 - 4096);
    EXPECT (c->hosts [0].up && !c->hosts [0].maintenance);
    EXPECT_STR (c->vms [0].name, "vm00001");
    EXPECT (c->vms [0].vcpus == 2 && c->vms [0].memory_mib == 3584);
    EXPECT (c->vms [0].host == cluster_v1_host_index (file, "node0002"));
    EXPECT (cluster_v1_vm_index (file, "vm00150") == 149);
    EXPECT (cluster_v1_host_index (file, "node0099") == -1);
    //  Usage per host = the sum over its VMs, as the file says.
    for (size_t h = 0; root && h < c->host_count; h++) {
        uint64_t vcpus = 0, memory = 0;
        json_t *vms = json_object_get (root, "vms"), *vm;
        size_t i;
        json_array_foreach (vms, i, vm) {
            const char *host = json_string_value (json_object_get (vm, "host"));
            if (host && strcmp (host, c->hosts [h].name) == 0) {
                vcpus += (uint64_t) json_integer_value (json_object_get (vm, "vcpus"));
                memory += (uint64_t) json_integer_value (json_object_get (vm, "mem_mib"));
            }
        }
        EXPECT (c->hosts [h].vcpus_used == vcpus && c->hosts [h].memory_used_mib == memory);
    }
    EXPECT (cluster_v1_priorities (file) [0] == 0);
    EXPECT (!cluster_v1_vm_ha (file, 0) && cluster_v1_vm_migratable (file, 0));
    //  It places: a new VM would need a slot, so re-place the last VM instead.
    place_vm_t *last = &c->vms [c->vm_count - 1];
    place_host_remove (&c->hosts [last->host], last);
    last->host = -1;
    place_decision_t decision;
    EXPECT (place_vm (c, (int) c->vm_count - 1, -1, NULL, &decision) == 0);
    EXPECT (decision.candidates > 0);
    json_decref (root);
    cluster_v1_destroy (&file);
    EXPECT (file == NULL);
    cluster_v1_destroy (&file);
}

//  Write text to dir/name; returns the path in buf.
static const char *
s_write (const char *dir, const char *name, const char *text, char *buf, size_t size)
{
    snprintf (buf, size, "%s/%s", dir, name);
    FILE *f = fopen (buf, "w");
    if (f) {
        fputs (text, f);
        fclose (f);
    }
    return buf;
}

static void
s_test_cluster_v1_rules (s_case_t *t)
{
    char dir [] = "/tmp/test_place.XXXXXX", path [512], err [512] = "";
    if (!mkdtemp (dir)) {
        EXPECT (!"mkdtemp failed");
        return;
    }
    s_write (dir, "rules.json",
        "{\"format\": \"vm-cluster-v1\",\n"
        " \"hosts\": [{\"name\": \"a\", \"cpus\": 8, \"mem_mib\": 16384, \"mem_reserved_mib\": 1024},\n"
        "           {\"name\": \"b\", \"cpus\": 8, \"mem_mib\": 16384, \"state\": \"maintenance\"},\n"
        "           {\"name\": \"c\", \"cpus\": 8, \"mem_mib\": 16384, \"state\": \"down\"},\n"
        "           {\"name\": \"d\", \"cpus\": 8, \"mem_mib\": 16384, \"state\": \"up\"}],\n"
        " \"vms\": [{\"name\": \"x\", \"vcpus\": 2, \"mem_mib\": 2048, \"host\": \"a\", \"ha\": true,\n"
        "           \"priority\": 7},\n"
        "         {\"name\": \"y\", \"vcpus\": 1, \"mem_mib\": 1024, \"host\": null,\n"
        "          \"migratable\": false, \"cpu_util\": 0.5},\n"
        "         {\"name\": \"z\", \"vcpus\": 4, \"mem_mib\": 4096}],\n"
        " \"rules\": [{\"kind\": \"anti-affinity\", \"vms\": [\"x\", \"y\"], \"hard\": true},\n"
        "           {\"kind\": \"affinity\", \"name\": \"yz\", \"vms\": [\"y\", \"z\"],\n"
        "            \"hard\": false, \"weight\": 2.5},\n"
        "           {\"kind\": \"vm-host\", \"vms\": [\"z\"], \"hosts\": [\"d\", \"a\"],\n"
        "            \"must\": false}]}\n", path, sizeof path);
    cluster_v1_t *file = cluster_v1_load (path, err, sizeof err);
    EXPECT (file);
    if (file) {
        place_cluster_t *c = cluster_v1_place (file);
        EXPECT (c->host_count == 4 && c->vm_count == 3 && c->rule_count == 3);
        EXPECT (c->hosts [0].memory_mib == 15360 && c->hosts [0].vcpus_used == 2
                && c->hosts [0].memory_used_mib == 2048);
        EXPECT (c->hosts [1].up && c->hosts [1].maintenance);
        EXPECT (!c->hosts [2].up && !c->hosts [2].maintenance);
        EXPECT (c->hosts [3].up && !c->hosts [3].maintenance);
        EXPECT (c->vms [0].host == 0 && c->vms [1].host == -1 && c->vms [2].host == -1);
        EXPECT (cluster_v1_vm_ha (file, 0) && !cluster_v1_vm_ha (file, 1));
        EXPECT (!cluster_v1_vm_migratable (file, 1) && cluster_v1_vm_migratable (file, 2));
        EXPECT (cluster_v1_priorities (file) [0] == 7 && cluster_v1_priorities (file) [1] == 0);
        const place_rule_t *r = c->rules;
        EXPECT_STR (r [0].name, "rule-0");
        EXPECT (r [0].kind == PLACE_RULE_ANTI_AFFINITY && r [0].hard && r [0].vm_count == 2
                && r [0].vms [0] == 0 && r [0].vms [1] == 1);
        EXPECT_STR (r [1].name, "yz");
        EXPECT (r [1].kind == PLACE_RULE_AFFINITY && !r [1].hard && r [1].weight == 2.5);
        EXPECT (r [2].kind == PLACE_RULE_VM_HOST && r [2].hard && !r [2].positive
                && r [2].host_count == 2 && r [2].hosts [0] == 3 && r [2].hosts [1] == 0);
        EXPECT (place_check_rules (c, err, sizeof err) == 0);
        //  y must avoid x (on a); b is in maintenance, c down: y goes to d.
        place_decision_t decision;
        EXPECT (place_vm (c, 1, -1, NULL, &decision) == 0 && decision.host == 3);
        //  z must not run on d or a: nowhere.
        EXPECT (place_vm (c, 2, -1, NULL, &decision) == -1);
        EXPECT_STR (decision.summary, "no host fits: 2 hosts excluded by must-not rules, "
                    "1 not up, 1 in maintenance");
    }
    cluster_v1_destroy (&file);
    unlink (path);
    rmdir (dir);
}

static void
s_test_cluster_v1_errors (s_case_t *t)
{
    //  Each broken file and the message it must give (after "PATH: ").
    static const struct {
        const char *text;       // the file
        const char *error;      // expected error, without the "PATH: " prefix; "A*B": starts
                                // with A and holds B (jansson's own words, its positions)
    } cases [] = {
        { "{\"format\": \"vm-cluster-v1\", \"hosts\": [",
          "line 1 column *expected near end of file" },
        { "[1, 2]", "the document is an array, expected an object" },
        { "{\"hosts\": [], \"vms\": []}", "missing required field 'format'" },
        { "{\"format\": \"vm-cluster-v2\", \"hosts\": [], \"vms\": []}",
          "format is 'vm-cluster-v2', expected 'vm-cluster-v1'" },
        { "{\"format\": \"vm-cluster-v1\", \"vms\": []}", "missing required field 'hosts'" },
        { "{\"format\": \"vm-cluster-v1\", \"hosts\": {}, \"vms\": []}",
          "hosts is an object, expected an array" },
        { "{\"format\": \"vm-cluster-v1\", \"hosts\": [{\"name\": \"n1\", \"cpus\": 4, "
          "\"mem_mib\": 1024}, {\"name\": \"n2\", \"mem_mib\": 1024}], \"vms\": []}",
          "hosts[1]: missing required field 'cpus'" },
        { "{\"format\": \"vm-cluster-v1\", \"hosts\": [{\"name\": \"n1\", \"cpus\": \"4\", "
          "\"mem_mib\": 1024}], \"vms\": []}",
          "hosts[0].cpus is a string, expected an integer" },
        { "{\"format\": \"vm-cluster-v1\", \"hosts\": [{\"name\": \"n1\", \"cpus\": -4, "
          "\"mem_mib\": 1024}], \"vms\": []}",
          "hosts[0].cpus is -4, expected 0 or more" },
        { "{\"format\": \"vm-cluster-v1\", \"hosts\": [{\"name\": \"n1\", \"cpus\": 4, "
          "\"mem_mib\": 1024, \"mem_reserved_mib\": 2048}], \"vms\": []}",
          "hosts[0].mem_reserved_mib is 2048, more than mem_mib (1024)" },
        { "{\"format\": \"vm-cluster-v1\", \"hosts\": [{\"name\": \"n1\", \"cpus\": 4, "
          "\"mem_mib\": 1024, \"state\": \"broken\"}], \"vms\": []}",
          "hosts[0].state 'broken' is not one of up, maintenance, down" },
        { "{\"format\": \"vm-cluster-v1\", \"hosts\": [{\"name\": \"n1\", \"cpus\": 4, "
          "\"mem_mib\": 1024}, {\"name\": \"n1\", \"cpus\": 4, \"mem_mib\": 1024}], \"vms\": []}",
          "hosts[1].name 'n1' is also the name of hosts[0]" },
        { "{\"format\": \"vm-cluster-v1\", \"hosts\": [{\"name\": \"n1\", \"cpus\": 4, "
          "\"mem_mib\": 1024}], \"vms\": [{\"name\": \"v1\", \"vcpus\": 1, \"mem_mib\": 512, "
          "\"host\": \"n1\"}, {\"name\": \"v2\", \"vcpus\": 1, \"mem_mib\": 512, "
          "\"host\": \"node0099\"}]}",
          "vms[1].host 'node0099' is not a host" },
        { "{\"format\": \"vm-cluster-v1\", \"hosts\": [], \"vms\": [{\"name\": \"v1\", "
          "\"vcpus\": 1, \"mem_mib\": 512}, {\"name\": \"v1\", \"vcpus\": 1, \"mem_mib\": 512}]}",
          "vms[1].name 'v1' is also the name of vms[0]" },
        { "{\"format\": \"vm-cluster-v1\", \"hosts\": [], \"vms\": [{\"name\": \"v1\", "
          "\"vcpus\": 0, \"mem_mib\": 512}]}",
          "vms[0].vcpus is 0, expected 1 or more" },
        { "{\"format\": \"vm-cluster-v1\", \"hosts\": [], \"vms\": [{\"name\": \"v1\", "
          "\"vcpus\": 1, \"mem_mib\": 512, \"ha\": \"yes\"}]}",
          "vms[0].ha is a string, expected true or false" },
        { "{\"format\": \"vm-cluster-v1\", \"hosts\": [], \"vms\": [{\"vcpus\": 1, "
          "\"mem_mib\": 512}]}",
          "vms[0]: missing required field 'name'" },
        { "{\"format\": \"vm-cluster-v1\", \"hosts\": [], \"vms\": [{\"name\": \"v1\", "
          "\"vcpus\": 1, \"mem_mib\": 512}], \"rules\": [{\"kind\": \"near\", \"vms\": [\"v1\"]}]}",
          "rules[0].kind 'near' is not one of affinity, anti-affinity, vm-host" },
        { "{\"format\": \"vm-cluster-v1\", \"hosts\": [], \"vms\": [{\"name\": \"v1\", "
          "\"vcpus\": 1, \"mem_mib\": 512}], \"rules\": [{\"kind\": \"affinity\", "
          "\"vms\": [\"v1\", \"nope\"]}]}",
          "rules[0].vms[1] 'nope' is not a vm" },
        { "{\"format\": \"vm-cluster-v1\", \"hosts\": [], \"vms\": [{\"name\": \"v1\", "
          "\"vcpus\": 1, \"mem_mib\": 512}], \"rules\": [{\"kind\": \"vm-host\", "
          "\"vms\": [\"v1\"]}]}",
          "rules[0]: missing required field 'hosts'" },
        { "{\"format\": \"vm-cluster-v1\", \"hosts\": [{\"name\": \"n1\", \"cpus\": 4, "
          "\"mem_mib\": 1024}], \"vms\": [{\"name\": \"v1\", \"vcpus\": 1, \"mem_mib\": 512}], "
          "\"rules\": [{\"kind\": \"vm-host\", \"vms\": [\"v1\"], \"hosts\": [\"n1\", \"n1\"]}]}",
          "rules[0].hosts[1] 'n1' is listed twice" },
        { "{\"format\": \"vm-cluster-v1\", \"hosts\": [], \"vms\": [{\"name\": \"v1\", "
          "\"vcpus\": 1, \"mem_mib\": 512}], \"rules\": [{\"kind\": \"affinity\", "
          "\"vms\": [\"v1\"], \"weight\": 0}]}",
          "rules[0].weight is 0, expected more than 0" },
        { "{\"format\": \"vm-cluster-v1\", \"hosts\": [], \"vms\": [{\"name\": \"v1\", "
          "\"vcpus\": 1, \"mem_mib\": 512}], \"rules\": [{\"kind\": \"affinity\", "
          "\"vms\": [\"v1\"], \"name\": \"r\"}, {\"kind\": \"affinity\", \"vms\": [\"v1\"], "
          "\"name\": \"r\"}]}",
          "rules[1].name 'r' is also the name of rules[0]" },
        { "{\"format\": \"vm-cluster-v1\", \"hosts\": [], \"hosts\": [], \"vms\": []}",
          "line 1 column *duplicate object key" },
    };
    char dir [] = "/tmp/test_place.XXXXXX", path [256], err [512], want [1024];
    if (!mkdtemp (dir)) {
        EXPECT (!"mkdtemp failed");
        return;
    }
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        char name [32];
        snprintf (name, sizeof name, "broken-%zu.json", i);
        s_write (dir, name, cases [i].text, path, sizeof path);
        strcpy (err, "(untouched)");
        cluster_v1_t *file = cluster_v1_load (path, err, sizeof err);
        EXPECT (file == NULL);
        cluster_v1_destroy (&file);
        snprintf (want, sizeof want, "%s: %s", path, cases [i].error);
        char *star = strchr (want, '*');
        if (star) {
            *star = 0;
            EXPECT (strncmp (err, want, strlen (want)) == 0 && strstr (err, star + 1));
            if (strncmp (err, want, strlen (want)) || !strstr (err, star + 1))
                fprintf (stderr, "  got '%s'\n", err);
        }
        else
            EXPECT_STR (err, want);
        unlink (path);
    }
    //  A file that is not there.
    snprintf (path, sizeof path, "%s/missing.json", dir);
    EXPECT (cluster_v1_load (path, err, sizeof err) == NULL);
    snprintf (want, sizeof want, "%s: cannot read: unable to open %s: No such file or directory",
              path, path);
    EXPECT_STR (err, want);
    EXPECT (cluster_v1_load (path, NULL, 0) == NULL);
    rmdir (dir);
}


int
main (void)
{
    int failed = 0;
    failed += s_run ("capacity-vcpus", s_test_capacity_vcpus);
    failed += s_run ("ha-hosts", s_test_ha_hosts);
    failed += s_run ("capacity-memory", s_test_capacity_memory);
    failed += s_run ("reservations", s_test_reservations);
    failed += s_run ("host-state", s_test_host_state);
    failed += s_run ("vm-host-rules", s_test_vm_host_rules);
    failed += s_run ("anti-affinity", s_test_anti_affinity);
    failed += s_run ("affinity", s_test_affinity);
    failed += s_run ("spread-pack", s_test_spread_pack);
    failed += s_run ("determinism", s_test_determinism);
    failed += s_run ("verdicts-filled", s_test_verdicts_filled);
    failed += s_run ("summary-counts", s_test_summary_counts);
    failed += s_run ("rule-overflow", s_test_rule_overflow);
    failed += s_run ("bulk-capacity", s_test_bulk_capacity);
    failed += s_run ("bulk-anti-affinity", s_test_bulk_anti_affinity);
    failed += s_run ("bulk-priority", s_test_bulk_priority);
    failed += s_run ("check-rules", s_test_check_rules);
    failed += s_run ("simulator", s_test_simulator);
    failed += s_run ("cluster-v1-example", s_test_cluster_v1_example);
    failed += s_run ("cluster-v1-rules", s_test_cluster_v1_rules);
    failed += s_run ("cluster-v1-errors", s_test_cluster_v1_errors);
    return failed? 1: 0;
}
