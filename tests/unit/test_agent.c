/*  test_agent.c - the agent on the fake hypervisor, with the test playing the scheduler.

    fixture_agent.c binds a ROUTER where the scheduler would be and drives each agent
    single-threaded: agent_run_for a short slice, then collect whatever arrived on the ROUTER
    (decoded with wire_decode, stamped with the time it was seen), answer with WELCOME or
    REJECT, change the fake hypervisor, repeat. Every case starts a fresh agent with its own
    state directory under one mkdtemp directory (removed at the end) and checks real values:
    what each message carries, how many were sent, when, and the agent's counters. One case
    (slow_hypervisor) delays every call of the fake hypervisor by 3 s (hv_fake_set_delay)
    and measures the gaps between the heartbeats the fake scheduler receives: the agent's
    loop never waits for the hypervisor. A last pair of cases runs the real libvirt
    implementation on libvirt's test driver (test:///default).

    The ROUTER is a CURVE server with its own key pair (no ZAP handler: a fake accepts any
    client key); every agent gets the key pair s_env.dir/agent.key[_secret] and the fake
    scheduler's public key s_env.dir/scheduler.key, as in production. Separate cases check
    that agent_new refuses missing or world-readable keys, and that an agent holding the
    wrong scheduler key never gets a message through.

    Prints one `PASS unit/agent/CASE` or `FAIL unit/agent/CASE: ...` line per case; the failed
    checks themselves are on stderr just above.
*/
#include "check.h"
#include "agent.h"
#include "fixture_agent.h"
#include "fixture_files.h"
#include "fixture_wire.h"
#include "hv_fake.h"
#include "keys.h"
#include "wire.h"
#include "vmsched.pb-c.h"

#include <czmq.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define S_ENDPOINT      "tcp://127.0.0.1:17310"
#define S_EPOCH         3           // leader epoch every WELCOME gives

#define S_UUID_WEB      "aaaaaaaa-0000-4000-8000-000000000001"
#define S_UUID_DB       "aaaaaaaa-0000-4000-8000-000000000002"
#define S_UUID_TMP      "aaaaaaaa-0000-4000-8000-000000000003"
#define S_UUID_NEW      "aaaaaaaa-0000-4000-8000-000000000004"

static fixture_agent_env_t s_env;   // the fake scheduler, the keys, the directory

//  --------------------------------------------------------------------------
//  Helpers

static bool
s_is_uuid (const char *text)
{
    if (strlen (text) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash? text [i] != '-': !strchr ("0123456789abcdef", text [i]))
            return false;
    }
    return true;
}

static wire_capacity_t
s_fake_capacity (void)
{
    wire_capacity_t capacity;
    memset (&capacity, 0, sizeof capacity);
    capacity.cpus = 8;
    capacity.memory_mib = 16384;
    strcpy (capacity.cpu_model, "fake-model");
    strcpy (capacity.cpu_flags, "sse4_2 vmx");
    capacity.nested = true;
    capacity.numa_count = 2;
    capacity.numa [0] = (wire_numa_t) { 0, 4, 8192 };
    capacity.numa [1] = (wire_numa_t) { 1, 4, 8192 };
    return capacity;
}

static void
s_send_reject (fixture_agent_t *fx, const char *reason, bool reregister)
{
    wire_msg_t msg;
    wire_msg_init (&msg, WIRE_REJECT);
    msg.seq = 1;
    snprintf (msg.body.reject.reason, sizeof msg.body.reject.reason, "%s", reason);
    msg.body.reject.reregister = reregister;
    fixture_agent_send (fx, &msg);
}

//  --------------------------------------------------------------------------
//  Fixture

//  Config for a new agent "h-test" (heartbeat 100 ms, s_fake_capacity) whose state lives in
//  s_env.dir/subdir.
static void
s_setup (fixture_agent_t *fx, const char *subdir)
{
    fixture_agent_setup (fx, &s_env, "h-test", subdir);
    fx->config.heartbeat_ms = 100;
    fx->capacity = s_fake_capacity ();
}

//  fixture_agent_start_fake, then registered as generation (heartbeat from config). 0, or -1.
static int
s_start_registered (fixture_agent_t *fx, uint64_t generation)
{
    if (fixture_agent_start_fake (fx))
        return -1;
    hv_fake_define (fx->fake, S_UUID_WEB, "web-1", DOMAIN_RUNNING, 2, 2097152);
    hv_fake_define (fx->fake, S_UUID_DB, "db-1", DOMAIN_SHUTOFF, 4, 4194304);
    if (fixture_agent_register (fx, generation, S_EPOCH, 0))
        return -1;
    return fixture_agent_wait (fx, WIRE_REPORT, 1000)? 0: -1;
}

//  --------------------------------------------------------------------------
//  Cases

//  HELLO goes out at once, is retried until answered and carries identity and capacity.
static int
s_case_hello (void)
{
    int failures = 0;
    fixture_agent_t fx;
    s_setup (&fx, "hello");
    fx.config.hello_retry_ms = 100;
    if (fixture_agent_start_fake (&fx))
        return 1;
    const fixture_agent_got_t *first = fixture_agent_wait (&fx, WIRE_HELLO, 1000);
    CHECK (first != NULL);
    fixture_agent_pump (&fx, 600);
    size_t hellos = fixture_agent_count (&fx, WIRE_HELLO, 0);
    CHECK (hellos >= 4 && hellos <= 9);
    CHECK (fixture_agent_count (&fx, WIRE_HELLO, 0) == fx.got_count); // nothing else unregistered
    CHECK (agent_generation (fx.agent) == 0);
    CHECK (agent_stats (fx.agent)->registrations == 0);
    CHECK (agent_stats (fx.agent)->hv_connects == 1);
    CHECK (hv_fake_connects (fx.fake) == 1);
    if (first && hellos >= 2) {
        const fixture_agent_got_t *last = fixture_agent_last (&fx, WIRE_HELLO);
        int64_t interval = (last->at - first->at) / (int64_t) (hellos - 1);
        CHECK (interval >= 80 && interval <= 200);
        for (size_t i = 1; i < fx.got_count; i++)
            CHECK (fx.got [i].msg.seq > fx.got [i - 1].msg.seq);
        const wire_hello_t *hello = &first->msg.body.hello;
        char path [1200], stored [64], boot_id [64];
        snprintf (path, sizeof path, "%s/host-id", fx.config.state_dir);
        fixture_files_read_line (path, stored, sizeof stored);
        fixture_files_read_line ("/proc/sys/kernel/random/boot_id", boot_id, sizeof boot_id);
        CHECK (s_is_uuid (hello->host_id));
        CHECK (strcmp (hello->host_id, agent_host_id (fx.agent)) == 0);
        CHECK (strcmp (hello->host_id, stored) == 0);
        CHECK (strcmp (first->msg.host_id, hello->host_id) == 0);
        CHECK (first->msg.generation == 0 && first->msg.session != 0);
        CHECK (last->msg.session == first->msg.session);
        CHECK (strcmp (hello->name, "h-test") == 0);
        CHECK (boot_id [0] && strcmp (hello->boot_id, boot_id) == 0);
        CHECK (strcmp (hello->hypervisor_uri, "fake:///") == 0);
        CHECK (strcmp (hello->agent_version, VMSCHED_VERSION) == 0);
        wire_capacity_t expected = s_fake_capacity ();
        CHECK (memcmp (&hello->capacity, &expected, sizeof expected) == 0);
        CHECK (hello->capacity.cpus == 8 && hello->capacity.memory_mib == 16384);
        CHECK (strcmp (hello->capacity.cpu_model, "fake-model") == 0);
        CHECK (hello->capacity.numa_count == 2 && hello->capacity.numa [1].memory_mib == 8192);
    }
    fixture_agent_stop (&fx);
    return failures;
}

//  [capacity] cpus and memory_mib replace what the hypervisor says (and drop NUMA cells).
static int
s_case_capacity_override (void)
{
    int failures = 0;
    fixture_agent_t fx;
    s_setup (&fx, "override");
    fx.config.cpus = 4;
    fx.config.memory_mib = 2048;
    if (fixture_agent_start_fake (&fx))
        return 1;
    const fixture_agent_got_t *hello = fixture_agent_wait (&fx, WIRE_HELLO,
                                                           FIXTURE_AGENT_FIRST_HELLO_MS);
    CHECK (hello != NULL);
    if (hello) {
        const wire_capacity_t *capacity = &hello->msg.body.hello.capacity;
        CHECK (capacity->cpus == 4 && capacity->memory_mib == 2048);
        CHECK (capacity->numa_count == 0);
        CHECK (strcmp (capacity->cpu_model, "fake-model") == 0 && capacity->nested);
    }
    fixture_agent_stop (&fx);

    s_setup (&fx, "override-cpus");
    fx.config.cpus = 6;
    if (fixture_agent_start_fake (&fx))
        return failures + 1;
    hello = fixture_agent_wait (&fx, WIRE_HELLO, FIXTURE_AGENT_FIRST_HELLO_MS);
    CHECK (hello != NULL);
    if (hello) {
        const wire_capacity_t *capacity = &hello->msg.body.hello.capacity;
        CHECK (capacity->cpus == 6 && capacity->memory_mib == 16384);
        CHECK (capacity->numa_count == 0);
    }
    fixture_agent_stop (&fx);
    return failures;
}

//  A WELCOME for another HELLO is ignored; the right one registers, and a full REPORT
//  follows at once.
static int
s_case_welcome (void)
{
    int failures = 0;
    fixture_agent_t fx;
    s_setup (&fx, "welcome");
    fx.config.hello_retry_ms = 100;
    if (fixture_agent_start_fake (&fx))
        return 1;
    hv_fake_define (fx.fake, S_UUID_WEB, "web-1", DOMAIN_RUNNING, 2, 2097152);
    hv_fake_define (fx.fake, S_UUID_DB, "db-1", DOMAIN_SHUTOFF, 4, 4194304);
    hv_fake_define (fx.fake, S_UUID_TMP, "batch-1", DOMAIN_PAUSED, 1, 524288);
    hv_fake_make_transient (fx.fake, S_UUID_TMP);
    hv_usage_t usage = { true, 5000000000, true, 1234567, true, 40000, true, 2097152 };
    CHECK (hv_fake_set_usage (fx.fake, S_UUID_WEB, &usage) == 0);
    CHECK (hv_fake_set_usage (fx.fake, "00000000-0000-0000-0000-000000000000", &usage) == -1);

    //  Wrong: a seq never sent, and the seq of an older HELLO.
    const fixture_agent_got_t *hello = fixture_agent_wait (&fx, WIRE_HELLO, 1000);
    CHECK (hello != NULL);
    uint64_t old_seq = hello? hello->msg.seq: 0;
    CHECK (fixture_agent_wait (&fx, WIRE_HELLO, 1000) != NULL);
    fixture_agent_send_welcome (&fx, old_seq + 1000, 7, S_EPOCH, 0);
    fixture_agent_send_welcome (&fx, old_seq, 7, S_EPOCH, 0);
    fixture_agent_pump (&fx, 300);
    CHECK (agent_generation (fx.agent) == 0);
    CHECK (agent_stats (fx.agent)->received == 2);
    CHECK (agent_stats (fx.agent)->registrations == 0);
    CHECK (fixture_agent_count (&fx, WIRE_REPORT, 0) == 0
           && fixture_agent_count (&fx, WIRE_HEARTBEAT, 0) == 0);

    //  Right: the newest HELLO's seq.
    const fixture_agent_got_t *newest = fixture_agent_last (&fx, WIRE_HELLO);
    size_t before = fixture_agent_mark (&fx);
    int64_t sent_at = zclock_mono ();
    fixture_agent_send_welcome (&fx, newest? newest->msg.seq: 0, 7, S_EPOCH, 0);
    const fixture_agent_got_t *report = NULL;
    for (int tries = 0; !report && tries < 100; tries++) {
        report = fixture_agent_wait (&fx, WIRE_REPORT, FIXTURE_AGENT_SLICE_MS);
        //  A HELLO sent before our WELCOME arrived makes the WELCOME stale: answer again.
        const fixture_agent_got_t *later = fixture_agent_wait (&fx, WIRE_HELLO, 0);
        if (!report && later && agent_generation (fx.agent) == 0) {
            before = fixture_agent_mark (&fx);
            sent_at = zclock_mono ();
            fixture_agent_send_welcome (&fx, later->msg.seq, 7, S_EPOCH, 0);
        }
    }
    CHECK (agent_generation (fx.agent) == 7);
    CHECK (agent_stats (fx.agent)->registrations == 1);
    CHECK (report != NULL);
    if (report) {
        //  The first thing after registering (HELLOs that crossed the WELCOME aside),
        //  promptly, complete.
        for (const fixture_agent_got_t *got = &fx.got [before]; got < report; got++)
            CHECK (got->msg.kind == WIRE_HELLO);
        CHECK (report->at - sent_at < 300);
        CHECK (report->msg.generation == 7);
        const wire_report_t *body = &report->msg.body.report;
        CHECK (body->hypervisor_connected);
        CHECK (body->domain_count == 3);
        const wire_domain_t *web = fixture_agent_find_domain (body, S_UUID_WEB);
        const wire_domain_t *db = fixture_agent_find_domain (body, S_UUID_DB);
        const wire_domain_t *batch = fixture_agent_find_domain (body, S_UUID_TMP);
        CHECK (web && strcmp (web->name, "web-1") == 0 && web->state == DOMAIN_RUNNING
               && web->vcpus == 2 && web->memory_kib == 2097152 && web->persistent
               && web->has_cpu_time);
        //  The scripted usage travels as it was set.
        CHECK (web && web->cpu_time_ns == 5000000000 && web->has_vcpu_delay
               && web->vcpu_delay_ns == 1234567 && web->has_rss && web->rss_kib == 40000
               && web->has_balloon && web->balloon_kib == 2097152);
        CHECK (db && strcmp (db->name, "db-1") == 0 && db->state == DOMAIN_SHUTOFF
               && db->vcpus == 4 && db->memory_kib == 4194304 && !db->has_cpu_time);
        CHECK (batch && strcmp (batch->name, "batch-1") == 0 && batch->state == DOMAIN_PAUSED
               && !batch->persistent);
        CHECK (agent_stats (fx.agent)->reports == 1);
    }
    //  No more HELLOs once registered.
    size_t after = fixture_agent_mark (&fx);
    fixture_agent_pump (&fx, 300);
    CHECK (fixture_agent_count (&fx, WIRE_HELLO, after) == 0);
    CHECK (fixture_agent_count (&fx, WIRE_HEARTBEAT, after) >= 2);
    fixture_agent_stop (&fx);
    return failures;
}

//  Heartbeats at the configured interval (or the scheduler's), with generation and rising seq.
static int
s_case_heartbeat (void)
{
    int failures = 0;
    fixture_agent_t fx;
    s_setup (&fx, "heartbeat");
    if (s_start_registered (&fx, 7))
        return 1;
    size_t from = fixture_agent_mark (&fx);
    fixture_agent_pump (&fx, 1000);
    size_t count = fixture_agent_count (&fx, WIRE_HEARTBEAT, from);
    CHECK (count >= 6 && count <= 11);
    const fixture_agent_got_t *first = fixture_agent_wait (&fx, WIRE_HEARTBEAT, 0);
    const fixture_agent_got_t *last = fixture_agent_last (&fx, WIRE_HEARTBEAT);
    if (first && count >= 2) {
        int64_t interval = (last->at - first->at) / (int64_t) (count - 1);
        CHECK (interval >= 85 && interval <= 160);
    }
    uint64_t session = fx.got [0].msg.session;
    for (size_t i = from; i < fx.got_count; i++) {
        const wire_msg_t *msg = &fx.got [i].msg;
        CHECK (msg->kind == WIRE_HEARTBEAT);
        CHECK (msg->generation == 7 && msg->session == session);
        CHECK (msg->body.report.hypervisor_connected);
        CHECK (msg->seq > fx.got [i - 1].msg.seq);
    }
    fixture_agent_stop (&fx);

    //  The scheduler's interval from WELCOME replaces the configured one.
    s_setup (&fx, "heartbeat-welcome");
    fx.config.heartbeat_ms = 1000;
    if (fixture_agent_start_fake (&fx) || fixture_agent_register (&fx, 2, S_EPOCH, 200))
        return failures + 1;
    from = fixture_agent_mark (&fx);
    fixture_agent_pump (&fx, 1100);
    count = fixture_agent_count (&fx, WIRE_HEARTBEAT, from);
    CHECK (count >= 4 && count <= 6);
    first = fixture_agent_wait (&fx, WIRE_HEARTBEAT, 0);
    last = fixture_agent_last (&fx, WIRE_HEARTBEAT);
    if (first && count >= 2) {
        int64_t interval = (last->at - first->at) / (int64_t) (count - 1);
        CHECK (interval >= 180 && interval <= 280);
        CHECK (last->msg.generation == 2);
    }
    fixture_agent_stop (&fx);
    return failures;
}

//  Lifecycle changes become EVENTs at once, with the domain's state after the change.
static int
s_case_events (void)
{
    int failures = 0;
    fixture_agent_t fx;
    s_setup (&fx, "events");
    if (fixture_agent_start_fake (&fx))
        return 1;
    hv_fake_define (fx.fake, S_UUID_DB, "db-1", DOMAIN_SHUTOFF, 4, 4194304);
    hv_fake_define (fx.fake, S_UUID_TMP, "tmp-1", DOMAIN_RUNNING, 1, 1048576);
    hv_fake_make_transient (fx.fake, S_UUID_TMP);
    if (fixture_agent_register (&fx, 7, S_EPOCH, 0)
    ||  !fixture_agent_wait (&fx, WIRE_REPORT, 1000)) {
        fixture_agent_stop (&fx);
        return failures + 1;
    }
    fixture_agent_mark (&fx);

    int64_t changed_at = zclock_mono ();
    CHECK (hv_fake_set_state (fx.fake, S_UUID_DB, DOMAIN_RUNNING) == 0);
    const fixture_agent_got_t *got = fixture_agent_wait (&fx, WIRE_EVENT, 1000);
    CHECK (got != NULL);
    if (got) {
        const wire_event_t *event = &got->msg.body.event;
        CHECK (got->at - changed_at < 200);
        CHECK (event->kind == EVENT_STARTED);
        CHECK (strcmp (event->domain.uuid, S_UUID_DB) == 0);
        CHECK (strcmp (event->domain.name, "db-1") == 0);
        CHECK (event->domain.state == DOMAIN_RUNNING && event->domain.vcpus == 4);
        CHECK (got->msg.generation == 7);
    }

    CHECK (hv_fake_set_state (fx.fake, S_UUID_DB, DOMAIN_PAUSED) == 0);
    got = fixture_agent_wait (&fx, WIRE_EVENT, 1000);
    CHECK (got && got->msg.body.event.kind == EVENT_SUSPENDED
           && got->msg.body.event.domain.state == DOMAIN_PAUSED);

    //  A transient domain that stops is gone: UNDEFINED, last state shutoff.
    changed_at = zclock_mono ();
    CHECK (hv_fake_set_state (fx.fake, S_UUID_TMP, DOMAIN_SHUTOFF) == 0);
    got = fixture_agent_wait (&fx, WIRE_EVENT, 1000);
    CHECK (got != NULL);
    if (got) {
        const wire_event_t *event = &got->msg.body.event;
        CHECK (got->at - changed_at < 200);
        CHECK (event->kind == EVENT_UNDEFINED);
        CHECK (strcmp (event->domain.uuid, S_UUID_TMP) == 0);
        CHECK (strcmp (event->domain.name, "tmp-1") == 0);
        CHECK (event->domain.state == DOMAIN_SHUTOFF);
    }

    //  A new running domain: DEFINED then STARTED; undefining one: UNDEFINED.
    CHECK (hv_fake_define (fx.fake, S_UUID_NEW, "new-1", DOMAIN_RUNNING, 2, 1048576) == 0);
    got = fixture_agent_wait (&fx, WIRE_EVENT, 1000);
    CHECK (got && got->msg.body.event.kind == EVENT_DEFINED
           && strcmp (got->msg.body.event.domain.uuid, S_UUID_NEW) == 0);
    got = fixture_agent_wait (&fx, WIRE_EVENT, 1000);
    CHECK (got && got->msg.body.event.kind == EVENT_STARTED
           && got->msg.body.event.domain.state == DOMAIN_RUNNING);
    CHECK (hv_fake_undefine (fx.fake, S_UUID_DB) == 0);
    got = fixture_agent_wait (&fx, WIRE_EVENT, 1000);
    CHECK (got && got->msg.body.event.kind == EVENT_UNDEFINED
           && strcmp (got->msg.body.event.domain.name, "db-1") == 0);
    CHECK (agent_stats (fx.agent)->events == 6);
    fixture_agent_pump (&fx, 100);
    CHECK (fixture_agent_count (&fx, WIRE_EVENT, 0) == 6);
    fixture_agent_stop (&fx);
    return failures;
}

//  Losing the hypervisor: heartbeats say so, no REPORT; back again: reconnect, fresh REPORT.
static int
s_case_hypervisor_loss (void)
{
    int failures = 0;
    fixture_agent_t fx;
    s_setup (&fx, "loss");
    fx.config.report_ms = 300;
    if (s_start_registered (&fx, 7))
        return 1;
    CHECK (hv_fake_connects (fx.fake) == 1);
    fixture_agent_mark (&fx);

    int64_t lost_at = zclock_mono ();
    hv_fake_set_reachable (fx.fake, false);
    const fixture_agent_got_t *got = fixture_agent_wait (&fx, WIRE_HEARTBEAT, 1000);
    CHECK (got && !got->msg.body.report.hypervisor_connected);
    CHECK (got && got->at - lost_at < 100);        // at once, not at the next interval
    size_t from = fixture_agent_mark (&fx);

    //  A change nobody hears about while disconnected; the resync REPORT must carry it.
    hv_fake_set_state (fx.fake, S_UUID_DB, DOMAIN_RUNNING);
    fixture_agent_pump (&fx, 700);
    CHECK (fixture_agent_count (&fx, WIRE_REPORT, from) == 0);
    CHECK (fixture_agent_count (&fx, WIRE_EVENT, from) == 0);
    CHECK (fixture_agent_count (&fx, WIRE_HEARTBEAT, from) >= 5);
    for (size_t i = from; i < fx.got_count; i++)
        CHECK (fx.got [i].msg.kind == WIRE_HEARTBEAT
               && !fx.got [i].msg.body.report.hypervisor_connected
               && fx.got [i].msg.generation == 7);
    CHECK (hv_fake_connects (fx.fake) == 1);
    CHECK (agent_generation (fx.agent) == 7);

    hv_fake_set_reachable (fx.fake, true);
    const fixture_agent_got_t *report = fixture_agent_wait (&fx, WIRE_REPORT, 3000);
    CHECK (report != NULL);
    CHECK (hv_fake_connects (fx.fake) == 2);
    CHECK (agent_stats (fx.agent)->hv_connects == 2);
    if (report) {
        const wire_report_t *body = &report->msg.body.report;
        const wire_domain_t *db = fixture_agent_find_domain (body, S_UUID_DB);
        CHECK (body->hypervisor_connected && body->domain_count == 2);
        CHECK (db && db->state == DOMAIN_RUNNING);
        CHECK (report->msg.generation == 7);
    }
    got = fixture_agent_wait (&fx, WIRE_HEARTBEAT, 1000);
    CHECK (got && got->msg.body.report.hypervisor_connected);
    fixture_agent_stop (&fx);
    return failures;
}

//  REJECT: plain while registered changes nothing; reregister starts over with a HELLO.
static int
s_case_reject_reregister (void)
{
    int failures = 0;
    fixture_agent_t fx;
    s_setup (&fx, "reject");
    if (s_start_registered (&fx, 7))
        return 1;
    size_t from = fixture_agent_mark (&fx);
    s_send_reject (&fx, "replayed seq", false);
    fixture_agent_pump (&fx, 250);
    CHECK (agent_stats (fx.agent)->rejects == 1);
    CHECK (agent_generation (fx.agent) == 7);
    CHECK (fixture_agent_count (&fx, WIRE_HELLO, from) == 0);
    CHECK (fixture_agent_count (&fx, WIRE_HEARTBEAT, from) >= 1);

    from = fixture_agent_mark (&fx);
    int64_t sent_at = zclock_mono ();
    s_send_reject (&fx, "unknown generation", true);
    const fixture_agent_got_t *hello = fixture_agent_wait (&fx, WIRE_HELLO, 1000);
    CHECK (hello != NULL);
    CHECK (hello && hello->at - sent_at < 200);
    CHECK (hello && strcmp (hello->msg.body.hello.host_id, agent_host_id (fx.agent)) == 0);
    CHECK (hello && hello->msg.generation == 0);
    CHECK (agent_generation (fx.agent) == 0);
    CHECK (agent_stats (fx.agent)->rejects == 2);
    //  Unregistered: HELLOs only, no heartbeats or reports.
    size_t hello_at = hello? (size_t) (hello - fx.got): from;
    fixture_agent_pump (&fx, 300);
    CHECK (fixture_agent_count (&fx, WIRE_HEARTBEAT, hello_at) == 0);
    CHECK (fixture_agent_count (&fx, WIRE_REPORT, hello_at) == 0);

    fx.cursor = hello_at;
    CHECK (fixture_agent_register (&fx, 8, S_EPOCH, 0) == 0);
    const fixture_agent_got_t *report = fixture_agent_wait (&fx, WIRE_REPORT, 1000);
    CHECK (report && report->msg.generation == 8 && report->msg.body.report.domain_count == 2);
    CHECK (agent_stats (fx.agent)->registrations == 2);
    fixture_agent_stop (&fx);
    return failures;
}

//  A plain REJECT of a HELLO (name taken): no HELLO for a while, then it tries again.
static int
s_case_reject_refused (void)
{
    int failures = 0;
    fixture_agent_t fx;
    s_setup (&fx, "refused");
    fx.config.hello_retry_ms = 100;
    if (fixture_agent_start_fake (&fx))
        return 1;
    CHECK (fixture_agent_wait (&fx, WIRE_HELLO, 1000) != NULL);
    s_send_reject (&fx, "host name 'h-test' is registered with another host id", false);
    for (int waited = 0; waited < 1000 && agent_stats (fx.agent)->rejects == 0;
         waited += FIXTURE_AGENT_SLICE_MS)
        fixture_agent_pump (&fx, FIXTURE_AGENT_SLICE_MS);
    int64_t refused_at = zclock_mono ();
    CHECK (agent_stats (fx.agent)->rejects == 1);
    fixture_agent_pump (&fx, 50);                               // whatever was already on its way
    size_t from = fixture_agent_mark (&fx);
    fixture_agent_pump (&fx, 1000);                             // ten retry intervals
    CHECK (fixture_agent_count (&fx, WIRE_HELLO, from) == 0);
    CHECK (agent_generation (fx.agent) == 0);
    const fixture_agent_got_t *hello = fixture_agent_wait (&fx, WIRE_HELLO, 6000);
    CHECK (hello != NULL);
    CHECK (hello && hello->at - refused_at >= 4500);
    //  And that HELLO can still be answered.
    if (hello)
        fixture_agent_send_welcome (&fx, hello->msg.seq, 4, S_EPOCH, 0);
    CHECK (fixture_agent_wait (&fx, WIRE_REPORT, 1000) != NULL);
    CHECK (agent_generation (fx.agent) == 4);
    fixture_agent_stop (&fx);
    return failures;
}

//  The host id persists in state_dir; a corrupt or unusable one stops agent_new with a reason.
static int
s_case_host_id (void)
{
    int failures = 0;
    fixture_agent_t fx;
    char first [WIRE_ID_SIZE] = "";
    s_setup (&fx, "persist");
    if (fixture_agent_start_fake (&fx))
        return 1;
    snprintf (first, sizeof first, "%s", agent_host_id (fx.agent));
    CHECK (s_is_uuid (first));
    fixture_agent_stop (&fx);

    s_setup (&fx, "persist");
    if (fixture_agent_start_fake (&fx))
        return failures + 1;
    CHECK (strcmp (agent_host_id (fx.agent), first) == 0);
    const fixture_agent_got_t *hello = fixture_agent_wait (&fx, WIRE_HELLO,
                                                           FIXTURE_AGENT_FIRST_HELLO_MS);
    CHECK (hello && strcmp (hello->msg.body.hello.host_id, first) == 0);
    fixture_agent_stop (&fx);

    //  Another state_dir: another identity.
    s_setup (&fx, "persist-other");
    if (fixture_agent_start_fake (&fx))
        return failures + 1;
    CHECK (s_is_uuid (agent_host_id (fx.agent)) && strcmp (agent_host_id (fx.agent), first));
    fixture_agent_stop (&fx);

    //  Corrupt: refused, with the file named; the hv is taken (and freed) anyway.
    char dir [1100], path [1200], err [1024] = "";
    snprintf (dir, sizeof dir, "%s/corrupt", s_env.dir);
    snprintf (path, sizeof path, "%s/host-id", dir);
    CHECK (zsys_dir_create ("%s", dir) == 0);
    CHECK (fixture_files_write (path, "this is not a uuid\n") == 0);
    agent_config_t config;
    s_setup (&fx, "corrupt");
    config = fx.config;
    wire_capacity_t capacity = s_fake_capacity ();
    hv_fake_t *fake;
    hv_t *hv = hv_fake_new (&capacity, &fake);
    agent_t *agent = agent_new (&config, &hv, err, sizeof err);
    CHECK (agent == NULL && hv == NULL);
    CHECK (strstr (err, path) && strstr (err, "does not hold a host id"));
    agent_destroy (&agent);

    //  A state_dir that cannot be created.
    snprintf (config.state_dir, sizeof config.state_dir, "/proc/vmsched-no-such-dir/state");
    hv = hv_fake_new (&capacity, &fake);
    err [0] = 0;
    agent = agent_new (&config, &hv, err, sizeof err);
    CHECK (agent == NULL && hv == NULL);
    CHECK (strstr (err, "cannot create state directory '/proc/vmsched-no-such-dir/state'"));
    agent_destroy (&agent);
    return failures;
}

//  A failing list drops the connection and reconnects; it never reports zero domains.
static int
s_case_list_failure (void)
{
    int failures = 0;
    fixture_agent_t fx;
    s_setup (&fx, "list-failure");
    fx.config.report_ms = 300;
    if (s_start_registered (&fx, 7))
        return 1;
    size_t from = fixture_agent_mark (&fx);
    hv_fail_at (fx.hv, 1);                          // the next periodic report's list
    for (int waited = 0; waited < 3000 && hv_fake_connects (fx.fake) < 2;
         waited += FIXTURE_AGENT_SLICE_MS)
        fixture_agent_pump (&fx, FIXTURE_AGENT_SLICE_MS);
    CHECK (hv_fake_connects (fx.fake) == 2);
    int64_t reconnected_at = zclock_mono ();
    //  The first REPORT since the failure is the resync sent on reconnecting.
    const fixture_agent_got_t *report = fixture_agent_wait (&fx, WIRE_REPORT, 1000);
    CHECK (report && report->msg.body.report.domain_count == 2);
    CHECK (report && report->at - reconnected_at < 100);
    //  The gap was heard about, and nothing ever claimed the domains were gone.
    size_t reconnected = report? (size_t) (report - fx.got): fx.got_count;
    size_t disconnected_beats = 0;
    for (size_t i = from; i < reconnected; i++)
        disconnected_beats += fx.got [i].msg.kind == WIRE_HEARTBEAT
                           && !fx.got [i].msg.body.report.hypervisor_connected;
    CHECK (disconnected_beats >= 1);
    for (size_t i = 0; i < fx.got_count; i++)
        if (fx.got [i].msg.kind == WIRE_REPORT)
            CHECK (fx.got [i].msg.body.report.domain_count == 2);
    CHECK (agent_generation (fx.agent) == 7);
    CHECK (agent_stats (fx.agent)->hv_connects == 2);

    //  A failing lookup loses one EVENT; the next REPORT carries the change. (Just after a
    //  REPORT, so that the failure hits the event's lookup, not the next report's list.)
    fixture_agent_mark (&fx);
    CHECK (fixture_agent_wait (&fx, WIRE_REPORT, 1000) != NULL);
    hv_fail_at (fx.hv, 1);
    hv_fake_set_state (fx.fake, S_UUID_DB, DOMAIN_RUNNING);
    report = fixture_agent_wait (&fx, WIRE_REPORT, 1000);
    CHECK (report != NULL);
    if (report) {
        const wire_domain_t *db = fixture_agent_find_domain (&report->msg.body.report, S_UUID_DB);
        CHECK (db && db->state == DOMAIN_RUNNING);
    }
    fx.cursor = 0;
    CHECK (fixture_agent_wait (&fx, WIRE_EVENT, 0) == NULL);
    CHECK (hv_fake_connects (fx.fake) == 2);        // a lookup failure keeps the connection
    fixture_agent_stop (&fx);
    return failures;
}

//  The longest gap between two HEARTBEATs collected from index from on (0 when fewer than
//  two), and how many there were in *count.
static int64_t
s_max_heartbeat_gap (const fixture_agent_t *fx, size_t from, size_t *count)
{
    int64_t gap = 0, last = -1;
    *count = 0;
    for (size_t i = from; i < fx->got_count; i++) {
        if (fx->got [i].msg.kind != WIRE_HEARTBEAT)
            continue;
        if (last >= 0 && fx->got [i].at - last > gap)
            gap = fx->got [i].at - last;
        last = fx->got [i].at;
        (*count)++;
    }
    return gap;
}

//  A hung hypervisor (every call of the fake delayed 3 s) delays what needs it (the EVENT's
//  lookup, the REPORT's list, the command) but never a heartbeat: the gaps between the
//  heartbeats the scheduler receives stay under twice the interval, a command is still
//  acknowledged at once, and a lost connection is still told at once. When the hypervisor
//  answers again, everything asked for arrives.
static int
s_case_slow_hypervisor (void)
{
    int failures = 0;
    fixture_agent_t fx;
    s_setup (&fx, "slow");                          // heartbeat 100 ms
    if (s_start_registered (&fx, 7)) {
        fixture_agent_stop (&fx);
        return 1;
    }
    size_t from = fixture_agent_mark (&fx);
    size_t slow_from = from;
    hv_fake_set_delay (fx.fake, 3000);
    int64_t slowed = zclock_mono ();
    //  Work for the hypervisor: a lifecycle event (its lookup first in line), a report
    //  request, a command.
    CHECK (hv_fake_set_state (fx.fake, S_UUID_DB, DOMAIN_RUNNING) == 0);
    fixture_agent_pump (&fx, 100);
    int64_t sent = zclock_mono ();
    wire_msg_t msg;
    wire_msg_init (&msg, WIRE_REPORT_REQUEST);
    msg.seq = 1;
    fixture_agent_send (&fx, &msg);
    static char xml [] = "<domain type='kvm'><name>new-1</name></domain>";
    wire_msg_init (&msg, WIRE_COMMAND);
    msg.seq = 2;
    msg.body.command = (wire_command_t) { .id = 77, .leader_epoch = S_EPOCH,
        .host_generation = 7, .vm_generation = 1, .action = COMMAND_START,
        .vm_uuid = S_UUID_NEW, .vm_name = "new-1", .domain_xml = xml };
    fixture_agent_send (&fx, &msg);
    fixture_agent_pump (&fx, 3400);

    size_t beats = 0;
    int64_t gap = s_max_heartbeat_gap (&fx, from, &beats);
    CHECK (beats >= 25);
    CHECK (gap > 0 && gap < 2 * 100);
    if (gap >= 2 * 100)
        fprintf (stderr, "  longest heartbeat gap %" PRId64 " ms over %zu heartbeats\n",
                 gap, beats);
    const fixture_agent_got_t *accepted = NULL, *event = NULL;
    for (size_t i = from; i < fx.got_count; i++) {
        const wire_msg_t *got = &fx.got [i].msg;
        if (!accepted && got->kind == WIRE_COMMAND_RESULT && got->body.result.id == 77
        &&  got->body.result.status == RESULT_ACCEPTED)
            accepted = &fx.got [i];
        if (!event && got->kind == WIRE_EVENT)
            event = &fx.got [i];
    }
    if (!event)                                         // slower than the 3 s (valgrind)
        event = fixture_agent_wait (&fx, WIRE_EVENT, 2000);
    CHECK (accepted && accepted->at - sent < 300);      // the core answers, not the hv
    CHECK (event && event->at - slowed >= 2900);        // its lookup took the 3 s
    CHECK (event && event->msg.body.event.domain.state == DOMAIN_RUNNING);

    //  Lost while hung: said at once all the same.
    from = fixture_agent_mark (&fx);
    int64_t lost_at = zclock_mono ();
    hv_fake_set_reachable (fx.fake, false);
    const fixture_agent_got_t *beat = fixture_agent_wait (&fx, WIRE_HEARTBEAT, 1000);
    while (beat && beat->msg.body.report.hypervisor_connected)
        beat = fixture_agent_wait (&fx, WIRE_HEARTBEAT, 1000);
    CHECK (beat && beat->at - lost_at < 150);
    fixture_agent_pump (&fx, 1000);
    gap = s_max_heartbeat_gap (&fx, slow_from, &beats);     // all 4.5 s or more of it
    CHECK (beats >= 35 && gap > 0 && gap < 2 * 100);
    if (gap >= 2 * 100)
        fprintf (stderr, "  longest heartbeat gap %" PRId64 " ms over %zu heartbeats\n",
                 gap, beats);

    //  Answering again: reconnected, reported, the command finished.
    fixture_agent_mark (&fx);
    hv_fake_set_delay (fx.fake, 0);
    hv_fake_set_reachable (fx.fake, true);
    const fixture_agent_got_t *report = fixture_agent_wait (&fx, WIRE_REPORT, 3000);
    CHECK (report && report->msg.body.report.hypervisor_connected
           && fixture_agent_find_domain (&report->msg.body.report, S_UUID_DB));
    bool finished = false;
    for (int waited = 0; !finished && waited < 3000; waited += FIXTURE_AGENT_SLICE_MS) {
        for (size_t i = 0; i < fx.got_count && !finished; i++)
            finished = fx.got [i].msg.kind == WIRE_COMMAND_RESULT
                    && fx.got [i].msg.body.result.id == 77
                    && (fx.got [i].msg.body.result.status == RESULT_DONE
                     || fx.got [i].msg.body.result.status == RESULT_FAILED);
        if (!finished)
            fixture_agent_pump (&fx, FIXTURE_AGENT_SLICE_MS);
    }
    CHECK (finished);
    CHECK (agent_generation (fx.agent) == 7);
    fixture_agent_stop (&fx);
    return failures;
}

//  Garbage, empty, multi-frame, wrong-version and wrong-kind messages are counted and
//  survived.
static int
s_case_malformed (void)
{
    int failures = 0;
    fixture_agent_t fx;
    s_setup (&fx, "malformed");
    if (s_start_registered (&fx, 7))
        return 1;
    uint64_t received = agent_stats (fx.agent)->received;
    CHECK (agent_stats (fx.agent)->malformed == 0);

    fixture_agent_send_frames (&fx, zframe_new ("\x08\xff\xff garbage \x00\x01", 14), NULL);
    fixture_agent_send_frames (&fx, zframe_new ("", 0), NULL);
    wire_msg_t msg;
    wire_msg_init (&msg, WIRE_REJECT);              // would end the registration if taken
    msg.body.reject.reregister = true;
    fixture_agent_send_frames (&fx, fixture_wire_frame (&msg), zframe_new ("second", 6));

    Vmsched__Envelope envelope = VMSCHED__ENVELOPE__INIT;
    Vmsched__Reject reject = VMSCHED__REJECT__INIT;
    envelope.has_version = true;
    envelope.version = 77;
    envelope.body_case = VMSCHED__ENVELOPE__BODY_REJECT;
    envelope.reject = &reject;
    reject.has_reregister = true;
    reject.reregister = true;
    uint8_t packed [64];
    size_t size = vmsched__envelope__pack (&envelope, packed);
    fixture_agent_send_frames (&fx, zframe_new (packed, size), NULL);

    wire_msg_init (&msg, WIRE_HEARTBEAT);           // valid, but not for an agent
    fixture_agent_send (&fx, &msg);
    size_t from = fixture_agent_mark (&fx);
    fixture_agent_pump (&fx, 300);
    CHECK (agent_stats (fx.agent)->malformed == 5);
    CHECK (agent_stats (fx.agent)->received == received + 1);
    CHECK (agent_stats (fx.agent)->rejects == 0);
    CHECK (agent_generation (fx.agent) == 7);
    CHECK (fixture_agent_count (&fx, WIRE_HEARTBEAT, from) >= 2);
    CHECK (fixture_agent_count (&fx, WIRE_HELLO, from) == 0);

    //  Still listening: a real REJECT works.
    s_send_reject (&fx, "unknown generation", true);
    CHECK (fixture_agent_wait (&fx, WIRE_HELLO, 1000) != NULL);
    CHECK (agent_stats (fx.agent)->rejects == 1);
    fixture_agent_stop (&fx);
    return failures;
}

static int
s_case_config_check (void)
{
    int failures = 0;
    char err [512] = "";
    agent_config_t config;
    agent_config_defaults (&config);
    CHECK (config.name [0] != 0);
    CHECK (strcmp (config.scheduler, "tcp://127.0.0.1:7100") == 0);
    CHECK (config.heartbeat_ms == 500 && config.report_ms == 5000);
    strcpy (config.name, "h1.example-host_2");
    CHECK (agent_config_check (&config, err, sizeof err) == 0);

    agent_config_t bad = config;
    strcpy (bad.log_level, "loud");
    CHECK (agent_config_check (&bad, err, sizeof err) == -1);
    CHECK (strstr (err, "invalid log_level 'loud'") && strstr (err, "debug"));

    bad = config;
    strcpy (bad.name, "bad name!");
    CHECK (agent_config_check (&bad, err, sizeof err) == -1);
    CHECK (strstr (err, "invalid name 'bad name!'"));
    bad.name [0] = 0;
    CHECK (agent_config_check (&bad, err, sizeof err) == -1);
    CHECK (strstr (err, "invalid name ''"));

    bad = config;
    strcpy (bad.scheduler, "127.0.0.1:7100");
    CHECK (agent_config_check (&bad, err, sizeof err) == -1);
    CHECK (strstr (err, "invalid scheduler endpoint '127.0.0.1:7100'"));
    strcpy (bad.scheduler, "ipc:///run/vmsched.sock");
    CHECK (agent_config_check (&bad, err, sizeof err) == 0);

    bad = config;
    bad.state_dir [0] = 0;
    CHECK (agent_config_check (&bad, err, sizeof err) == -1);
    CHECK (strstr (err, "state_dir"));
    return failures;
}

static int
s_case_config_file (void)
{
    int failures = 0;
    char path [128], err [1024] = "";
    snprintf (path, sizeof path, "%s/agent.conf", s_env.dir);
    agent_config_t config;
    agent_config_defaults (&config);
    CHECK (fixture_files_write (path,
        "; a test agent\n"
        "[agent]\n"
        "name = node-7\n"
        "scheduler = tcp://10.1.2.3:7100\n"
        "libvirt_uri = qemu+ssh://root@node-7/system\n"
        "state_dir = /srv/vmsched\n"
        "heartbeat_ms = 250\n"
        "report_ms = 10000\n"
        "hello_retry_ms = 2000\n"
        "log_level = debug\n"
        "[capacity]\n"
        "cpus = 16\n"
        "memory_mib = 65536\n") == 0);
    CHECK (config_load (path, agent_config_keys, &config, err, sizeof err) == 0);
    CHECK (strcmp (config.name, "node-7") == 0);
    CHECK (strcmp (config.scheduler, "tcp://10.1.2.3:7100") == 0);
    CHECK (strcmp (config.libvirt_uri, "qemu+ssh://root@node-7/system") == 0);
    CHECK (strcmp (config.state_dir, "/srv/vmsched") == 0);
    CHECK (config.heartbeat_ms == 250 && config.report_ms == 10000);
    CHECK (config.hello_retry_ms == 2000 && strcmp (config.log_level, "debug") == 0);
    CHECK (config.cpus == 16 && config.memory_mib == 65536);
    CHECK (agent_config_check (&config, err, sizeof err) == 0);

    CHECK (fixture_files_write (path, "[agent]\nname = n1\ncolour = blue\n") == 0);
    CHECK (config_load (path, agent_config_keys, &config, err, sizeof err) == -1);
    CHECK (strstr (err, path) && strstr (err, "line 3") && strstr (err, "unknown key 'colour'"));
    CHECK (strstr (err, "heartbeat_ms"));           // the known keys are listed

    CHECK (fixture_files_write (path, "[agent]\nheartbeat_ms = 10\n") == 0);
    CHECK (config_load (path, agent_config_keys, &config, err, sizeof err) == -1);
    CHECK (strstr (err, "from 50 to 60000"));
    CHECK (fixture_files_write (path, "[capacity]\nthreads = 4\n") == 0);
    CHECK (config_load (path, agent_config_keys, &config, err, sizeof err) == -1);
    CHECK (strstr (err, "unknown key 'threads' in [capacity]"));
    CHECK (fixture_files_write (path, "[agnet]\nname = n1\n") == 0);
    CHECK (config_load (path, agent_config_keys, &config, err, sizeof err) == -1);
    CHECK (strstr (err, "unknown section [agnet]"));
    unlink (path);
    return failures;
}

//  The real implementation on libvirt's test driver: capacity, NUMA, list, lookup, faults.
static int
s_case_libvirt (void)
{
    int failures = 0;
    char err [512] = "";
    hv_t *hv = hv_libvirt_new ("test:///default");
    CHECK (hv != NULL);
    if (!hv)
        return failures;
    CHECK (strcmp (hv_name (hv), "libvirt") == 0);
    CHECK (!hv_connected (hv) && hv_notify_fd (hv) >= 0);
    wire_domain_t *domains = NULL;
    uint32_t count = 0;
    CHECK (hv_list (hv, &domains, &count, err, sizeof err) == -1);
    CHECK (strstr (err, "not connected"));

    int rc = hv_connect (hv, err, sizeof err);
    CHECK (rc == 0);
    if (rc) {
        fprintf (stderr, "  hv_connect: %s\n", err);
        hv_destroy (&hv);
        return failures;
    }
    CHECK (hv_connected (hv));
    wire_capacity_t capacity;
    CHECK (hv_capacity (hv, &capacity, err, sizeof err) == 0);
    CHECK (capacity.cpus == 16 && capacity.memory_mib == 3072);
    CHECK (capacity.numa_count == 2);
    CHECK (capacity.numa [0].id == 0 && capacity.numa [0].cpus == 8
           && capacity.numa [0].memory_mib == 2048);
    CHECK (capacity.numa [1].id == 1 && capacity.numa [1].cpus == 8
           && capacity.numa [1].memory_mib == 4096);

    CHECK (hv_list (hv, &domains, &count, err, sizeof err) == 0);
    const wire_domain_t *test = NULL;
    for (uint32_t i = 0; i < count; i++)
        if (strcmp (domains [i].name, "test") == 0)
            test = &domains [i];
    CHECK (test != NULL);
    char uuid [WIRE_ID_SIZE] = "";
    if (test) {
        snprintf (uuid, sizeof uuid, "%s", test->uuid);
        CHECK (s_is_uuid (test->uuid));
        CHECK (test->state == DOMAIN_RUNNING && test->persistent);
        CHECK (test->vcpus == 2 && test->memory_kib == 2097152 && test->has_cpu_time);
        //  The test driver's CPU time is the wall clock (what clusterctl's CPU % then shows
        //  is documented in README.md); it has no bulk stats: no delay, RSS or balloon.
        struct timespec wall;
        clock_gettime (CLOCK_REALTIME, &wall);
        double off = (double) test->cpu_time_ns - ((double) wall.tv_sec * 1e9 + wall.tv_nsec);
        CHECK (off > -60e9 && off < 60e9);
        CHECK (!test->has_vcpu_delay && !test->has_rss && !test->has_balloon);
    }
    free (domains);

    wire_domain_t found;
    CHECK (hv_lookup (hv, uuid, &found, err, sizeof err) == 1);
    CHECK (strcmp (found.name, "test") == 0 && found.state == DOMAIN_RUNNING);
    CHECK (strcmp (found.uuid, uuid) == 0);
    zuuid_t *random = zuuid_new ();
    char other [WIRE_ID_SIZE];
    snprintf (other, sizeof other, "%s", zuuid_str_canonical (random));
    zuuid_destroy (&random);
    CHECK (hv_lookup (hv, other, &found, err, sizeof err) == 0);

    hv_fail_at (hv, 2);                             // the second call from now
    CHECK (hv_lookup (hv, uuid, &found, err, sizeof err) == 1);
    CHECK (hv_list (hv, &domains, &count, err, sizeof err) == -1);
    CHECK (strstr (err, "injected failure") && domains == NULL && count == 0);
    CHECK (hv_list (hv, &domains, &count, err, sizeof err) == 0 && count >= 1);
    free (domains);

    hv_disconnect (hv);
    CHECK (!hv_connected (hv));
    CHECK (hv_lookup (hv, uuid, &found, err, sizeof err) == -1);
    hv_destroy (&hv);
    CHECK (hv == NULL);
    return failures;
}

//  Scripted usage of the fake through hv_list and hv_lookup; figures the wire would refuse
//  are dropped by the dispatch, so they cannot make a report unsendable.
static int
s_case_fake_usage (void)
{
    int failures = 0;
    char err [256] = "";
    wire_capacity_t capacity = s_fake_capacity ();
    hv_fake_t *fake;
    hv_t *hv = hv_fake_new (&capacity, &fake);
    CHECK (hv && hv_connect (hv, err, sizeof err) == 0);
    CHECK (hv_fake_define (fake, S_UUID_WEB, "web-1", DOMAIN_RUNNING, 2, 2097152) == 0);
    hv_usage_t usage = { true, 7000000000, true, 3000, true, 1024, true, 2048 };
    CHECK (hv_fake_set_usage (fake, S_UUID_WEB, &usage) == 0);
    wire_domain_t found;
    CHECK (hv_lookup (hv, S_UUID_WEB, &found, err, sizeof err) == 1);
    CHECK (found.cpu_time_ns == 7000000000 && found.vcpu_delay_ns == 3000
           && found.rss_kib == 1024 && found.balloon_kib == 2048 && found.has_balloon);
    usage.cpu_time_ns = UINT64_MAX;
    usage.balloon_kib = WIRE_MAX_MEMORY_KIB + 1;
    CHECK (hv_fake_set_usage (fake, S_UUID_WEB, &usage) == 0);
    wire_domain_t *domains = NULL;
    uint32_t count = 0;
    CHECK (hv_list (hv, &domains, &count, err, sizeof err) == 0 && count == 1);
    if (count == 1)
        CHECK (!domains [0].has_cpu_time && !domains [0].has_balloon
               && domains [0].has_vcpu_delay && domains [0].has_rss);
    free (domains);
    hv_destroy (&hv);
    return failures;
}

//  The agent on the real implementation: registers with the test driver's capacity and
//  reports its domain.
static int
s_case_libvirt_agent (void)
{
    int failures = 0;
    fixture_agent_t fx;
    s_setup (&fx, "libvirt");
    strcpy (fx.config.libvirt_uri, "test:///default");
    int started = fixture_agent_start (&fx, hv_libvirt_new (fx.config.libvirt_uri));
    CHECK (fx.agent != NULL);
    if (started) {
        fixture_agent_stop (&fx);
        return failures + 1;
    }
    const fixture_agent_got_t *hello = fixture_agent_wait (&fx, WIRE_HELLO, 2000);
    CHECK (hello != NULL);
    if (hello) {
        const wire_capacity_t *capacity = &hello->msg.body.hello.capacity;
        CHECK (capacity->cpus == 16 && capacity->numa_count == 2);
        CHECK (strcmp (hello->msg.body.hello.hypervisor_uri, "test:///default") == 0);
    }
    fx.cursor = 0;
    CHECK (fixture_agent_register (&fx, 5, S_EPOCH, 0) == 0);
    const fixture_agent_got_t *report = fixture_agent_wait (&fx, WIRE_REPORT, 1000);
    CHECK (report != NULL);
    if (report) {
        const wire_report_t *body = &report->msg.body.report;
        bool running = false;
        for (uint32_t i = 0; i < body->domain_count; i++)
            running |= strcmp (body->domains [i].name, "test") == 0
                    && body->domains [i].state == DOMAIN_RUNNING;
        CHECK (running);
    }
    fixture_agent_stop (&fx);
    return failures;
}


//  --------------------------------------------------------------------------
//  Keys

//  agent_new with config; expects a refusal whose reason contains every string of want.
static int
s_refused_start (const agent_config_t *config, const char *want1, const char *want2,
                 const char *want3)
{
    int failures = 0;
    wire_capacity_t capacity = s_fake_capacity ();
    hv_fake_t *fake;
    hv_t *hv = hv_fake_new (&capacity, &fake);
    char err [1024] = "";
    agent_t *agent = hv? agent_new (config, &hv, err, sizeof err): NULL;
    CHECK (agent == NULL && hv == NULL);            // refused, and the hv freed anyway
    CHECK (strstr (err, want1));
    CHECK (!want2 || strstr (err, want2));
    CHECK (!want3 || strstr (err, want3));
    if (failures)
        fprintf (stderr, "  agent_new said: %s\n", err);
    agent_destroy (&agent);
    return failures;
}

//  No secret key file: refused, naming the file and how to make one.
static int
s_case_secret_key_missing (void)
{
    fixture_agent_t fx;
    s_setup (&fx, "no-secret");
    snprintf (fx.config.secret_key, sizeof fx.config.secret_key, "%s/nosuch.key_secret", s_env.dir);
    char path [1100];
    snprintf (path, sizeof path, "cannot read secret key '%s'", fx.config.secret_key);
    return s_refused_start (&fx.config, path, "No such file", "--keygen");
}

//  A secret key others may read: refused, saying what to run.
static int
s_case_secret_key_mode (void)
{
    int failures = 0;
    char base [128], secret [160];
    snprintf (base, sizeof base, "%s/open.key", s_env.dir);
    snprintf (secret, sizeof secret, "%s_secret", base);
    char err [1024] = "";
    CHECK (keys_generate (base, "test_agent", err, sizeof err) == 0);
    CHECK (chmod (secret, 0644) == 0);
    fixture_agent_t fx;
    s_setup (&fx, "open-secret");
    snprintf (fx.config.secret_key, sizeof fx.config.secret_key, "%s", secret);
    char want [256];
    snprintf (want, sizeof want, "secret key '%s' is readable by others (mode 0644)", secret);
    char run [256];
    snprintf (run, sizeof run, "run: chmod 600 %s", secret);
    failures += s_refused_start (&fx.config, want, run, NULL);
    //  And with 0600 the same file is good.
    CHECK (chmod (secret, 0600) == 0);
    if (fixture_agent_start_fake (&fx) == 0)
        CHECK (fixture_agent_wait (&fx, WIRE_HELLO, FIXTURE_AGENT_FIRST_HELLO_MS) != NULL);
    else
        failures++;
    fixture_agent_stop (&fx);
    return failures;
}

//  No public key file for the scheduler: refused, naming the file.
static int
s_case_scheduler_key_missing (void)
{
    fixture_agent_t fx;
    s_setup (&fx, "no-scheduler-key");
    snprintf (fx.config.scheduler_key, sizeof fx.config.scheduler_key, "%s/nosuch.key", s_env.dir);
    char want [1100];
    snprintf (want, sizeof want, "cannot read public key '%s'", fx.config.scheduler_key);
    return s_refused_start (&fx.config, want, "No such file", NULL);
}

//  A file in the key format whose public key is not a CURVE key: refused, naming the file.
static int
s_case_scheduler_key_invalid (void)
{
    int failures = 0;
    fixture_agent_t fx;
    s_setup (&fx, "bad-scheduler-key");
    snprintf (fx.config.scheduler_key, sizeof fx.config.scheduler_key, "%s/garbage.key", s_env.dir);
    CHECK (fixture_files_write (fx.config.scheduler_key,
                         "curve\n    public-key = \"not-a-z85-key\"\n") == 0);
    char want [1100];
    snprintf (want, sizeof want, "'%s' is not a key file", fx.config.scheduler_key);
    failures += s_refused_start (&fx.config, want, NULL, NULL);
    return failures;
}

//  An agent holding another key as the scheduler's: the CURVE handshake fails, so not one
//  message reaches the ROUTER (no plaintext fallback); with the right key it registers.
static int
s_case_wrong_scheduler_key (void)
{
    int failures = 0;
    char other [128], err [1024] = "";
    snprintf (other, sizeof other, "%s/impostor.key", s_env.dir);
    CHECK (keys_generate (other, "impostor", err, sizeof err) == 0);
    fixture_agent_t fx;
    s_setup (&fx, "wrong-scheduler-key");
    snprintf (fx.config.scheduler_key, sizeof fx.config.scheduler_key, "%s", other);
    fx.config.hello_retry_ms = 100;
    if (fixture_agent_start_fake (&fx))
        return failures + 1;
    fixture_agent_pump (&fx, 700);
    CHECK (fx.got_count == 0);
    CHECK (agent_generation (fx.agent) == 0);
    CHECK (agent_stats (fx.agent)->received == 0);
    fixture_agent_stop (&fx);

    s_setup (&fx, "wrong-scheduler-key");           // same identity, right key
    fx.config.hello_retry_ms = 100;
    if (fixture_agent_start_fake (&fx))
        return failures + 1;
    CHECK (fixture_agent_register (&fx, 2, S_EPOCH, 0) == 0);
    fixture_agent_stop (&fx);
    return failures;
}

//  --------------------------------------------------------------------------

static const check_case_t s_cases [] = {
    { "hello", s_case_hello },
    { "capacity_override", s_case_capacity_override },
    { "welcome", s_case_welcome },
    { "heartbeat", s_case_heartbeat },
    { "events", s_case_events },
    { "hypervisor_loss", s_case_hypervisor_loss },
    { "reject_reregister", s_case_reject_reregister },
    { "reject_refused", s_case_reject_refused },
    { "host_id", s_case_host_id },
    { "list_failure", s_case_list_failure },
    { "slow_hypervisor", s_case_slow_hypervisor },
    { "malformed", s_case_malformed },
    { "config_check", s_case_config_check },
    { "config_file", s_case_config_file },
    { "fake_usage", s_case_fake_usage },
    { "libvirt", s_case_libvirt },
    { "libvirt_agent", s_case_libvirt_agent },
    { "secret_key_missing", s_case_secret_key_missing },
    { "secret_key_mode", s_case_secret_key_mode },
    { "scheduler_key_missing", s_case_scheduler_key_missing },
    { "scheduler_key_invalid", s_case_scheduler_key_invalid },
    { "wrong_scheduler_key", s_case_wrong_scheduler_key },
};

int
main (int argc, char **argv)
{
    return fixture_agent_main (&s_env, "agent", S_ENDPOINT, s_cases,
                               sizeof s_cases / sizeof s_cases [0], argc, argv);
}
