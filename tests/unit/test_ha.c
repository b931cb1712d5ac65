/*  test_ha.c - the leader's half of HA (scheduler/core/ha.c): timing checks, witness sets,
    acknowledgements, the dead verdict and when fencing is asked for.
*/
#include "check.h"
#include "ha.h"

#include <stdlib.h>

#define S_D 7000

typedef struct {
    model_t *model;
    ha_t *ha;
    mutations_t out;
    vec_t sends, fences, dead;
    int64_t now;
    uint64_t sessions;      // agent sessions so far (every registration is a new process)
    bool silent [8];        // hosts no longer heard (the others are heard at every tick)
} s_world_t;

static const char *s_ids [] = {
    "00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000002",
    "00000000-0000-4000-8000-000000000003", "00000000-0000-4000-8000-000000000004",
    "00000000-0000-4000-8000-000000000005", "00000000-0000-4000-8000-000000000006",
    "00000000-0000-4000-8000-000000000007", "00000000-0000-4000-8000-000000000008",
};

static host_t *
s_register (s_world_t *world, int index)
{
    wire_hello_t hello;
    memset (&hello, 0, sizeof hello);
    snprintf (hello.host_id, sizeof hello.host_id, "%s", s_ids [index]);
    snprintf (hello.name, sizeof hello.name, "h%d", index + 1);
    snprintf (hello.witness_endpoint, sizeof hello.witness_endpoint, "tcp://10.0.0.%d:7110",
              index + 1);
    snprintf (hello.watchdog, sizeof hello.watchdog, "file /run/pet");
    hello.capacity.cpus = 4;
    hello.capacity.memory_mib = 4096;
    char key [WIRE_KEY_SIZE], err [256];
    snprintf (key, sizeof key, "%040d", index);
    host_t *host = model_host_register (world->model, &hello, ++world->sessions, key,
                                        world->now, 1000, &world->out, err, sizeof err);
    if (host)
        host->live.peer = (uint64_t) index + 1;
    return host;
}

static void
s_world (s_world_t *world, int hosts, const char *fenced)
{
    memset (world, 0, sizeof *world);
    world->model = model_new ();
    ha_config_t config = { .suspect_after_ms = 1000 };
    ha_config_profile (&config, "default");
    world->ha = ha_new (&config, 1, 0, fenced? &fenced: NULL, fenced? 1: 0);
    world->out = VEC_OF (mutation_t);
    world->sends = VEC_OF (ha_send_t);
    vec_init (&world->fences, WIRE_NAME_SIZE);
    vec_init (&world->dead, WIRE_ID_SIZE);
    for (int i = 0; i < hosts; i++)
        s_register (world, i);
}

static void
s_world_free (s_world_t *world)
{
    mutations_free (&world->out);
    vec_free (&world->sends);
    vec_free (&world->fences);
    vec_free (&world->dead);
    ha_destroy (&world->ha);
    model_destroy (&world->model);
}

static const model_timing_t s_timing = { 1000, 3000 };

//  One tick at now, as the core's: liveness, then HA; the sends and fence requests of this
//  tick only.
static void
s_tick (s_world_t *world, int64_t now)
{
    world->now = now;
    vec_clear (&world->sends);
    vec_clear (&world->fences);
    for (int i = 0; i < 8; i++) {
        host_t *host = model_host_by_id (world->model, s_ids [i]);
        if (host && !world->silent [i])
            model_host_heard (world->model, host, now, now, &world->out);
    }
    model_check_liveness (world->model, &s_timing, now, now, &world->out);
    ha_tick (world->ha, world->model, NULL, NULL, now, now, &world->sends, &world->fences,
             &world->dead, &world->out);
}

//  The lease config sent to host index this tick, or NULL.
static const wire_lease_config_t *
s_sent_to (s_world_t *world, int index)
{
    for (size_t i = 0; i < world->sends.count; i++) {
        const ha_send_t *send = vec_at (&world->sends, i);
        if (strcmp (send->host_id, s_ids [index]) == 0)
            return &send->msg.body.lease_config;
    }
    return NULL;
}

//  Host index acknowledges version with a RENEW.
static void
s_ack (s_world_t *world, int index, uint64_t version)
{
    wire_renew_t renew = { .id = 1, .config_version = version };
    wire_msg_t grant;
    ha_on_renew (world->ha, model_host_by_id (world->model, s_ids [index]), &renew, world->now,
                 &grant);
}

//  witness reports host silent (blocked or not).
static void
s_report (s_world_t *world, int witness, int host, bool blocked)
{
    host_t *about = model_host_by_id (world->model, s_ids [host]);
    wire_witness_report_t report = { .count = 1 };
    snprintf (report.silent [0].host_id, sizeof report.silent [0].host_id, "%s", s_ids [host]);
    report.silent [0].generation = about->record.generation;
    report.silent [0].silent_ms = S_D;
    report.silent [0].blocked = blocked;
    ha_on_witness_report (world->ha, world->model, model_host_by_id (world->model, s_ids [witness]),
                          &report, world->now, world->now, &world->out);
}

//  Host index was last heard at since (s_tick ages it).
static void
s_silent (s_world_t *world, int index, int64_t since)
{
    model_host_by_id (world->model, s_ids [index])->live.last_heard = since;
    world->silent [index] = true;
}

static int
s_case_config_check (void)
{
    int failures = 0;
    char err [512];
    ha_config_t config = { 0 };
    CHECK (ha_config_profile (&config, "default") == 0);
    CHECK (config.renew_ms == 500 && config.lease_ms == 2000 && config.dead_after_ms == 7000);
    CHECK (ha_config_check (&config, 5000, err, sizeof err) == 0);
    CHECK (ha_config_profile (&config, "conservative") == 0);
    CHECK (ha_config_check (&config, 5000, err, sizeof err) == 0);
    CHECK (ha_config_profile (&config, "fast") == -1);
    ha_config_profile (&config, "default");
    config.dead_after_ms = 6000;
    CHECK (ha_config_check (&config, 5000, err, sizeof err) == -1);
    CHECK (strstr (err, "dead_after_ms >= lease_ms + fence_ms + watchdog_ms + margin_ms"));
    CHECK (strstr (err, "6000 < 2000 + 1000 + 3000 + 500 = 6500"));
    config.dead_after_ms = 7000;
    CHECK (ha_config_check (&config, 7000, err, sizeof err) == -1);
    CHECK (strstr (err, "dead_after_ms > down_after_ms") && strstr (err, "7000 <= 7000"));
    config.witnesses = 4;
    CHECK (ha_config_check (&config, 5000, err, sizeof err) == -1 && strstr (err, "odd"));
    return failures;
}

//  Small clusters: every other host; large ones: the k hosts after it, watched by the k
//  before it.
static int
s_case_witness_sets (void)
{
    int failures = 0;
    s_world_t world;
    s_world (&world, 3, NULL);
    s_tick (&world, 100);
    const wire_lease_config_t *config = s_sent_to (&world, 0);
    CHECK (config && config->witness_count == 2 && config->watched_count == 2);
    CHECK (config && config->lease_ms == 2000 && config->renew_ms == 500
           && config->dead_after_ms == S_D);
    s_world_free (&world);

    s_world (&world, 8, NULL);
    s_tick (&world, 100);
    config = s_sent_to (&world, 0);
    CHECK (config && config->witness_count == 5 && config->watched_count == 5);
    if (config) {
        CHECK (strcmp (config->witnesses [0].host_id, s_ids [1]) == 0);
        CHECK (strcmp (config->witnesses [4].host_id, s_ids [5]) == 0);
        CHECK (strcmp (config->watched [0].host_id, s_ids [7]) == 0);
        CHECK (strcmp (config->witnesses [0].public_key, "0000000000000000000000000000000000000001") == 0);
    }
    s_world_free (&world);
    return failures;
}

//  True when config's watched list holds host_id.
static bool
s_watches (const wire_lease_config_t *config, const char *host_id)
{
    for (uint32_t i = 0; config && i < config->watched_count; i++)
        if (strcmp (config->watched [i].host_id, host_id) == 0)
            return true;
    return false;
}

//  A dead host leaves the ring, but the hosts that would witness it if it registered again
//  watch it already: they grant its renewals before the leader reaches them with new sets.
static int
s_case_dead_watched (void)
{
    int failures = 0;
    s_world_t world;
    s_world (&world, 3, NULL);
    model_host_by_id (world.model, s_ids [1])->record.state = HOST_STATE_DEAD;
    s_tick (&world, 100);
    const wire_lease_config_t *config = s_sent_to (&world, 0);
    CHECK (config && config->witness_count == 1 && config->watched_count == 2);
    CHECK (config && strcmp (config->witnesses [0].host_id, s_ids [2]) == 0);
    CHECK (s_watches (config, s_ids [1]) && s_watches (config, s_ids [2]));
    s_world_free (&world);

    //  Eight hosts, h4 dead: back, its witnesses would be the five after it, h5..h8 and h1.
    s_world (&world, 8, NULL);
    model_host_by_id (world.model, s_ids [3])->record.state = HOST_STATE_DEAD;
    s_tick (&world, 100);
    CHECK (s_watches (s_sent_to (&world, 0), s_ids [3]));
    CHECK (s_watches (s_sent_to (&world, 4), s_ids [3]));
    CHECK (!s_watches (s_sent_to (&world, 1), s_ids [3]));
    CHECK (!s_watches (s_sent_to (&world, 2), s_ids [3]));
    CHECK (s_sent_to (&world, 4) && s_sent_to (&world, 4)->watched_count == 6);
    s_world_free (&world);
    return failures;
}

//  An unacknowledged config is sent again; an acknowledged one is not; a new registration
//  (a new agent process) gets it again.
static int
s_case_acknowledged (void)
{
    int failures = 0;
    s_world_t world;
    s_world (&world, 3, NULL);
    s_tick (&world, 100);
    const wire_lease_config_t *config = s_sent_to (&world, 0);
    uint64_t version = config? config->version: 0;
    CHECK (version > (UINT64_C (1) << 32));
    s_tick (&world, 600);
    CHECK (s_sent_to (&world, 0) == NULL);          // not yet: resent each second
    s_tick (&world, 1200);
    CHECK (s_sent_to (&world, 0) && s_sent_to (&world, 0)->version == version);
    s_ack (&world, 0, version);
    s_tick (&world, 2500);
    CHECK (s_sent_to (&world, 0) == NULL);
    s_register (&world, 0);                          // the agent registered again
    s_tick (&world, 3000);
    CHECK (s_sent_to (&world, 0) != NULL);
    s_world_free (&world);
    return failures;
}

//  A new leader sends a host that holds an earlier leader's set its own only after it has
//  granted the host a lease (a new set's majority may need grants the host holds none of
//  yet); a host that renews nothing (no config) gets it after two renewals' time.
static int
s_case_config_after_grant (void)
{
    int failures = 0;
    s_world_t world;
    s_world (&world, 3, NULL);                      // registered under an earlier leader
    ha_destroy (&world.ha);
    ha_config_t config = { .suspect_after_ms = 1000 };
    ha_config_profile (&config, "default");
    world.ha = ha_new (&config, 2, 20000, NULL, 0);
    s_tick (&world, 20000);
    CHECK (s_sent_to (&world, 0) == NULL && s_sent_to (&world, 1) == NULL);
    wire_renew_t renew = { .id = 7, .config_version = 4294967297 };   // the old leader's
    wire_msg_t grant;
    ha_on_renew (world.ha, model_host_by_id (world.model, s_ids [0]), &renew, 20100, &grant);
    CHECK (grant.kind == WIRE_GRANT && grant.body.grant.lease_ms == 2000);
    s_tick (&world, 20500);
    CHECK (s_sent_to (&world, 0) != NULL);          // leased now: its set goes out
    CHECK (s_sent_to (&world, 1) == NULL);          // not yet: it may still renew
    s_tick (&world, 21000);
    CHECK (s_sent_to (&world, 1) != NULL);          // two renewals without one: no config
    s_world_free (&world);

    //  A host this leader registers gets its set at once.
    s_world (&world, 0, NULL);
    s_tick (&world, 0);
    world.now = 5000;
    s_register (&world, 0);
    model_host_by_id (world.model, s_ids [0])->record.registered_at = 5000;
    s_tick (&world, 5000);
    CHECK (s_sent_to (&world, 0) != NULL);
    s_world_free (&world);
    return failures;
}

//  Dead only after D of silence, D of leading, and enough blocked witnesses of every set the
//  host may hold that it cannot hold a majority: more than half of an odd set, half of an
//  even one; a dead witness counts as silent.
static int
s_case_verdict (void)
{
    int failures = 0;
    s_world_t world;
    s_world (&world, 4, NULL);                      // three witnesses each
    s_tick (&world, 100);
    for (int i = 0; i < 4; i++)
        s_ack (&world, i, s_sent_to (&world, i)->version);
    s_tick (&world, 1000);
    s_silent (&world, 0, 1000);
    s_tick (&world, 1000 + S_D);
    CHECK (world.dead.count == 0);                  // nobody reports it silent yet
    s_report (&world, 1, 0, true);
    s_tick (&world, 1100 + S_D);
    CHECK (world.dead.count == 0);                  // one of three is no majority
    s_report (&world, 2, 0, false);
    s_tick (&world, 1200 + S_D);
    CHECK (world.dead.count == 0);                  // silent but not blocked: not yet
    s_report (&world, 2, 0, true);
    s_tick (&world, 1300 + S_D);
    CHECK (world.dead.count == 1);
    CHECK (model_host_by_id (world.model, s_ids [0])->record.state == HOST_STATE_DEAD);
    s_world_free (&world);

    //  Two witnesses each: one blocked leaves the host one grant of two, no majority.
    s_world (&world, 3, NULL);
    s_tick (&world, 100);
    for (int i = 0; i < 3; i++)
        s_ack (&world, i, s_sent_to (&world, i)->version);
    s_tick (&world, 1000);
    s_silent (&world, 0, 1000);
    s_report (&world, 2, 0, false);
    s_tick (&world, 1000 + S_D);
    CHECK (world.dead.count == 0);                  // silent but not blocked
    s_report (&world, 1, 0, true);
    s_tick (&world, 1100 + S_D);
    CHECK (world.dead.count == 1);
    //  h2 falls silent too: h1 is dead, so it counts as silent and blocked; nobody else
    //  need report.
    s_silent (&world, 1, 1100 + S_D);
    s_tick (&world, 1100 + 2 * S_D - 1);
    CHECK (world.dead.count == 1);                  // not silent for D yet
    s_tick (&world, 1200 + 2 * S_D);
    CHECK (world.dead.count == 2);
    s_world_free (&world);

    //  A scheduler that began leading recently waits D, whatever the reports say.
    s_world (&world, 3, NULL);
    ha_destroy (&world.ha);
    ha_config_t config = { .suspect_after_ms = 1000 };
    ha_config_profile (&config, "default");
    world.ha = ha_new (&config, 2, 20000, NULL, 0);
    world.now = 20000;
    s_tick (&world, 20000);
    s_silent (&world, 0, 0);
    s_report (&world, 1, 0, true);
    s_report (&world, 2, 0, true);
    s_tick (&world, 20000 + S_D - 1);
    CHECK (world.dead.count == 0);
    s_tick (&world, 20000 + S_D);
    CHECK (world.dead.count == 1);
    s_world_free (&world);
    return failures;
}

//  While a host may still hold an older witness set, the verdict needs that set's majority
//  too.
static int
s_case_unacknowledged_set (void)
{
    int failures = 0;
    s_world_t world;
    s_world (&world, 4, NULL);
    s_tick (&world, 100);                           // h1 gets {h2, h3, h4} and never acks it
    s_register (&world, 4);                         // h5 joins: h1's set becomes {h2..h5}
    s_tick (&world, 700);
    const wire_lease_config_t *config = s_sent_to (&world, 0);
    CHECK (config && config->witness_count == 4);
    s_silent (&world, 0, 700);
    world.now = 700 + S_D;
    s_report (&world, 4, 0, true);                  // h5 and h4: half of the new set,
    s_report (&world, 3, 0, true);
    s_tick (&world, 800 + S_D);
    CHECK (world.dead.count == 0);                  // ... but not a majority of {h2, h3, h4}
    s_report (&world, 1, 0, true);
    s_tick (&world, 900 + S_D);
    CHECK (world.dead.count == 1);
    s_world_free (&world);
    return failures;
}

//  A fence device is asked for once when the leader and a majority of the witnesses have
//  not heard the host; not when only the leader has lost it. Confirmed: dead at once.
static int
s_case_fencing (void)
{
    int failures = 0;
    s_world_t world;
    s_world (&world, 3, "h1");
    s_tick (&world, 100);
    for (int i = 0; i < 3; i++)
        s_ack (&world, i, s_sent_to (&world, i)->version);
    CHECK (ha_host_fence_device (world.ha, model_host_by_id (world.model, s_ids [0])));
    s_silent (&world, 0, 200);
    s_tick (&world, 1500);
    CHECK (world.fences.count == 0);                // its witnesses still hear it
    s_report (&world, 1, 0, false);
    s_report (&world, 2, 0, false);
    s_tick (&world, 1600);
    CHECK (world.fences.count == 1 && strcmp (vec_at (&world.fences, 0), "h1") == 0);
    s_tick (&world, 1700);
    CHECK (world.fences.count == 0);                // once
    ha_on_fence_result (world.ha, world.model, "h1", false, "fence_x exited 1", 1800,
                        &world.dead, &world.out);
    CHECK (world.dead.count == 0);
    ha_on_fence_result (world.ha, world.model, "h1", true, "off", 1900, &world.dead,
                        &world.out);
    CHECK (world.dead.count == 1);                  // before D: the power-off is proof
    bool timeline = false;
    for (size_t i = 0; i < world.out.count; i++) {
        const mutation_t *m = vec_at (&world.out, i);
        timeline |= m->kind == MUTATION_HOST_EVENT && strcmp (m->u.host_event.kind, "fenced") == 0;
    }
    CHECK (timeline);
    s_world_free (&world);
    return failures;
}

int
main (int argc, char **argv)
{
    static const check_case_t cases [] = {
        { "config_check", s_case_config_check },
        { "witness_sets", s_case_witness_sets },
        { "dead_watched", s_case_dead_watched },
        { "acknowledged", s_case_acknowledged },
        { "config_after_grant", s_case_config_after_grant },
        { "verdict", s_case_verdict },
        { "unacknowledged_set", s_case_unacknowledged_set },
        { "fencing", s_case_fencing },
    };
    return CHECK_RUN_ALL ("ha", cases, argc, argv)? 1: 0;
}
