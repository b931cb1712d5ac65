/*  test_core.c - the scheduler core's entry points, without sockets or a database.

    Admission of agent messages through core_on_agent: registration and its retries, the
    report-request rule, stale generations and sequence numbers, keys that speak for another
    host; and the effects (mutations, then messages to opaque peers) each call returns.
*/
#include "check.h"
#include "core.h"
#include "log.h"

#include <stdlib.h>

#define S_H3 "33333333-3333-3333-3333-333333333333"
#define S_H4 "44444444-4444-4444-4444-444444444444"

typedef struct {
    core_t *core;                   // under test
    fx_t fx;                        // effects of the last call
    int64_t now;                    // virtual boot ms
    uint64_t seq;                   // agents' sequence numbers (shared: fine for the test)
} s_env_t;

static void
s_env_init (s_env_t *env)
{
    core_config_t config = { .timing = { 1500, 5000 }, .heartbeat_ms = 500,
                             .report_request_ms = 1000 };
    reconcile_config_defaults (&config.reconcile);
    config.reconcile.epoch = 3;
    env->core = core_new (&config);
    fx_init (&env->fx);
    env->now = 50000;
    env->seq = 0;
}

static void
s_env_free (s_env_t *env)
{
    fx_free (&env->fx);
    core_destroy (&env->core);
}

static const principal_record_t *
s_key_of (const char *name)
{
    static principal_record_t principals [4];
    static int next;
    principal_record_t *p = &principals [next++ % 4];
    *p = (principal_record_t) { .kind = PRINCIPAL_HOST };
    snprintf (p->name, sizeof p->name, "%s", name);
    return p;
}

//  One agent message from host_id (session, generation as given) through the key `key`.
static void
s_from (s_env_t *env, uint64_t peer, const char *key, const char *host_id, uint64_t session,
        uint64_t generation, wire_msg_t *msg)
{
    snprintf (msg->host_id, sizeof msg->host_id, "%s", host_id);
    msg->session = session;
    msg->generation = generation;
    msg->seq = ++env->seq;
    fx_clear (&env->fx);
    core_on_agent (env->core, peer, s_key_of (key), msg, env->now, env->now, &env->fx);
}

static void
s_hello (s_env_t *env, uint64_t peer, const char *key, const char *host_id, const char *name,
         uint64_t session)
{
    wire_msg_t msg;
    wire_msg_init (&msg, WIRE_HELLO);
    snprintf (msg.body.hello.host_id, sizeof msg.body.hello.host_id, "%s", host_id);
    snprintf (msg.body.hello.name, sizeof msg.body.hello.name, "%s", name);
    snprintf (msg.body.hello.boot_id, sizeof msg.body.hello.boot_id, "boot-%s", name);
    msg.body.hello.capacity.cpus = 4;
    msg.body.hello.capacity.memory_mib = 4096;
    s_from (env, peer, key, host_id, session, 0, &msg);
}

//  The single message of kind the last call sent (to *peer), or NULL.
static const wire_msg_t *
s_sent (s_env_t *env, wire_kind_t kind, uint64_t *peer)
{
    const wire_msg_t *found = NULL;
    for (size_t i = 0; i < env->fx.sends.count; i++) {
        const fx_send_t *send = vec_at (&env->fx.sends, i);
        if (send->msg.kind == kind) {
            if (found)
                return NULL;
            found = &send->msg;
            if (peer)
                *peer = send->peer;
        }
    }
    return found;
}

static int
s_case_registration_and_retries (void)
{
    int failures = 0;
    s_env_t env;
    s_env_init (&env);
    s_hello (&env, 7, "h3", S_H3, "h3", 1001);
    uint64_t peer = 0;
    const wire_msg_t *welcome = s_sent (&env, WIRE_WELCOME, &peer);
    CHECK (welcome && peer == 7 && welcome->body.welcome.generation == 1
           && welcome->body.welcome.leader_epoch == 3 && welcome->body.welcome.heartbeat_ms == 500);
    CHECK (env.fx.mutations.count > 0);
    //  The agent did not get the WELCOME in time and says HELLO again (same session, a new
    //  seq, maybe a new connection): the same registration.
    s_hello (&env, 8, "h3", S_H3, "h3", 1001);
    welcome = s_sent (&env, WIRE_WELCOME, &peer);
    CHECK (welcome && peer == 8 && welcome->body.welcome.generation == 1);
    CHECK (env.fx.mutations.count == 0);
    //  A restarted agent (a new session) registers anew.
    s_hello (&env, 9, "h3", S_H3, "h3", 2002);
    welcome = s_sent (&env, WIRE_WELCOME, NULL);
    CHECK (welcome && welcome->body.welcome.generation == 2);
    //  The old process's heartbeat (generation 1) is refused; no re-registration race.
    wire_msg_t beat;
    wire_msg_init (&beat, WIRE_HEARTBEAT);
    s_from (&env, 7, "h3", S_H3, 1001, 1, &beat);
    const wire_msg_t *reject = s_sent (&env, WIRE_REJECT, NULL);
    CHECK (reject && reject->body.reject.reregister);
    CHECK (core_stats (env.core)->refused == 1);
    s_env_free (&env);
    return failures;
}

static int
s_case_report_request (void)
{
    int failures = 0;
    s_env_t env;
    s_env_init (&env);
    s_hello (&env, 1, "h3", S_H3, "h3", 1001);
    wire_msg_t beat;
    wire_msg_init (&beat, WIRE_HEARTBEAT);
    beat.body.report.hypervisor_connected = true;
    s_from (&env, 1, "h3", S_H3, 1001, 1, &beat);
    CHECK (s_sent (&env, WIRE_REPORT_REQUEST, NULL) != NULL);
    //  At most once per report_request_ms.
    env.now += 500;
    s_from (&env, 1, "h3", S_H3, 1001, 1, &beat);
    CHECK (s_sent (&env, WIRE_REPORT_REQUEST, NULL) == NULL);
    env.now += 600;
    s_from (&env, 1, "h3", S_H3, 1001, 1, &beat);
    CHECK (s_sent (&env, WIRE_REPORT_REQUEST, NULL) != NULL);
    //  Once it reported, none.
    wire_msg_t report;
    wire_msg_init (&report, WIRE_REPORT);
    report.body.report.hypervisor_connected = true;
    s_from (&env, 1, "h3", S_H3, 1001, 1, &report);
    env.now += 5000;
    s_from (&env, 1, "h3", S_H3, 1001, 1, &beat);
    CHECK (s_sent (&env, WIRE_REPORT_REQUEST, NULL) == NULL);
    s_env_free (&env);
    return failures;
}

static int
s_case_a_key_speaks_for_its_host (void)
{
    int failures = 0;
    s_env_t env;
    s_env_init (&env);
    s_hello (&env, 1, "h3", S_H3, "h3", 1001);
    s_hello (&env, 2, "h4", S_H4, "h4", 1002);
    host_t *h3 = model_host_by_id (core_model (env.core), S_H3);
    uint64_t generation = h3->record.generation;
    //  h4's key sends a report under h3's id: refused, h3 untouched.
    wire_domain_t domain = { .state = DOMAIN_RUNNING, .vcpus = 1, .memory_kib = 1024 };
    snprintf (domain.uuid, sizeof domain.uuid, "aaaaaaaa-0000-0000-0000-000000000001");
    snprintf (domain.name, sizeof domain.name, "m1");
    wire_msg_t report;
    wire_msg_init (&report, WIRE_REPORT);
    report.body.report = (wire_report_t) { true, 1, &domain, 0 };
    s_from (&env, 2, "h4", S_H3, 1002, generation, &report);
    const wire_msg_t *reject = s_sent (&env, WIRE_REJECT, NULL);
    CHECK (reject && strstr (reject->body.reject.reason, "another host"));
    CHECK (env.fx.mutations.count == 0 && model_vm_count (core_model (env.core)) == 0);
    //  h3 reports m1; h4 (under its own id) claims it too: a second copy on h4, not a move.
    s_from (&env, 1, "h3", S_H3, 1001, generation, &report);
    host_t *h4 = model_host_by_id (core_model (env.core), S_H4);
    s_from (&env, 2, "h4", S_H4, 1002, h4->record.generation, &report);
    CHECK (model_vm_count (core_model (env.core)) == 2);
    CHECK (model_vm_copy (core_model (env.core), domain.uuid, S_H3) != NULL);
    CHECK (model_vm_copy (core_model (env.core), domain.uuid, S_H4) != NULL);
    //  A key no longer allowed: refused.
    wire_msg_t beat;
    wire_msg_init (&beat, WIRE_HEARTBEAT);
    snprintf (beat.host_id, sizeof beat.host_id, "%s", S_H3);
    beat.seq = ++env.seq;
    fx_clear (&env.fx);
    core_on_agent (env.core, 1, NULL, &beat, env.now, env.now, &env.fx);
    CHECK (s_sent (&env, WIRE_REJECT, NULL) != NULL);
    s_env_free (&env);
    return failures;
}

int
main (int argc, char **argv)
{
    log_init ("test_core", LOG_LEVEL_NONE);
    static const check_case_t cases [] = {
        { "registration_and_retries", s_case_registration_and_retries },
        { "report_request", s_case_report_request },
        { "a_key_speaks_for_its_host", s_case_a_key_speaks_for_its_host },
    };
    return CHECK_RUN_ALL ("core", cases, argc, argv)? 1: 0;
}
