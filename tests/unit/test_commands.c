/*  test_commands.c - the agent's command protocol end to end, on the fake hypervisor.

    The test binds a ROUTER where the scheduler would be, registers each agent (WELCOME with
    host generation 3 and leader epoch 5), then sends WIRE_COMMAND messages and checks the
    WIRE_COMMAND_RESULT messages that come back (ACCEPTED, DONE, FAILED, STALE), the order and
    time they arrive in, and what the domains became, as the agent's own EVENT and REPORT
    messages tell it (a REPORT_REQUEST asks for a REPORT at once). The agent is driven
    single-threaded as in test_agent.c: agent_run_for a short slice, collect what arrived on
    the ROUTER, repeat. Every case starts a fresh agent (4 workers) with its own state
    directory under one mkdtemp directory, removed at the end. The ROUTER is a CURVE server
    with its own key pair (no ZAP handler: the fake accepts any client key); every agent
    gets the key pair s_env.dir/agent.key[_secret] and the fake scheduler's public key
    s_env.dir/scheduler.key, as in production.

    Prints one `PASS unit/commands/CASE` or `FAIL unit/commands/CASE: ...` line per case;
    the failed checks themselves are on stderr just above. `test_commands CASE...` runs only
    those cases.
*/
#include "check.h"
#include "agent.h"
#include "fixture_agent.h"
#include "hv_fake.h"
#include "wire.h"
#include "vmsched.pb-c.h"

#include <czmq.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define S_ENDPOINT      "tcp://127.0.0.1:17330"
#define S_GENERATION    3           // host generation the WELCOME gives
#define S_EPOCH         5           // leader epoch the WELCOME gives
#define S_TARGET_URI    "qemu+tls://h2/system"

#define S_UUID_A        "bbbbbbbb-0000-4000-8000-00000000000a"
#define S_UUID_B        "bbbbbbbb-0000-4000-8000-00000000000b"

//  START carries a domain definition; the fake does not parse it, the wire needs one.
static char s_xml_a [] = "<domain type='kvm'><name>vm-a</name>"
                         "<uuid>" S_UUID_A "</uuid></domain>";
static char s_xml_b [] = "<domain type='kvm'><name>vm-b</name>"
                         "<uuid>" S_UUID_B "</uuid></domain>";

static fixture_agent_env_t s_env;   // the fake scheduler, the keys, the directory

//  --------------------------------------------------------------------------
//  The scheduler's side

//  Index of a collected message (for order checks).
static size_t
s_index (const fixture_agent_t *fx, const fixture_agent_got_t *got)
{
    return (size_t) (got - fx->got);
}

static bool
s_is_result (const fixture_agent_got_t *got, uint64_t id, command_status_t status)
{
    return got->msg.kind == WIRE_COMMAND_RESULT && got->msg.body.result.id == id
        && got->msg.body.result.status == status;
}

//  The first result for command id with status at or after index from, waiting up to
//  timeout_ms for it. NULL on timeout. Does not move the cursor.
static const fixture_agent_got_t *
s_result (fixture_agent_t *fx, size_t from, uint64_t id, command_status_t status, int timeout_ms)
{
    int64_t end = zclock_mono () + timeout_ms;
    while (true) {
        for (size_t i = from; i < fx->got_count; i++)
            if (s_is_result (&fx->got [i], id, status))
                return &fx->got [i];
        if (zclock_mono () >= end)
            return NULL;
        fixture_agent_pump (fx, FIXTURE_AGENT_SLICE_MS);
    }
}

//  Results for command id (any status when status is RESULT_NONE) from index from.
static size_t
s_results (const fixture_agent_t *fx, size_t from, uint64_t id, command_status_t status)
{
    size_t count = 0;
    for (size_t i = from; i < fx->got_count; i++) {
        const wire_msg_t *msg = &fx->got [i].msg;
        count += msg->kind == WIRE_COMMAND_RESULT && msg->body.result.id == id
              && (status == RESULT_NONE || msg->body.result.status == status);
    }
    return count;
}

//  All command results of status from index from (any command).
static size_t
s_status_count (const fixture_agent_t *fx, size_t from, command_status_t status)
{
    size_t count = 0;
    for (size_t i = from; i < fx->got_count; i++)
        count += fx->got [i].msg.kind == WIRE_COMMAND_RESULT
              && fx->got [i].msg.body.result.status == status;
    return count;
}

//  The first EVENT of kind about domain uuid at or after index from, waiting up to
//  timeout_ms for it. NULL on timeout.
static const fixture_agent_got_t *
s_event (fixture_agent_t *fx, size_t from, const char *uuid, event_kind_t kind, int timeout_ms)
{
    int64_t end = zclock_mono () + timeout_ms;
    while (true) {
        for (size_t i = from; i < fx->got_count; i++) {
            const wire_msg_t *msg = &fx->got [i].msg;
            if (msg->kind == WIRE_EVENT && msg->body.event.kind == kind
            &&  strcmp (msg->body.event.domain.uuid, uuid) == 0)
                return &fx->got [i];
        }
        if (zclock_mono () >= end)
            return NULL;
        fixture_agent_pump (fx, FIXTURE_AGENT_SLICE_MS);
    }
}

//  EVENTs about domain uuid from index from.
static size_t
s_events (const fixture_agent_t *fx, size_t from, const char *uuid)
{
    size_t count = 0;
    for (size_t i = from; i < fx->got_count; i++)
        count += fx->got [i].msg.kind == WIRE_EVENT
              && strcmp (fx->got [i].msg.body.event.domain.uuid, uuid) == 0;
    return count;
}

//  A command of the current registration and epoch; START carries its VM's xml (borrowed),
//  MIGRATE goes to h2.
static wire_command_t
s_command (uint64_t id, command_action_t action, const char *uuid, uint64_t vm_generation)
{
    bool a = strcmp (uuid, S_UUID_A) == 0;
    wire_command_t command = {
        .id = id, .leader_epoch = S_EPOCH, .host_generation = S_GENERATION,
        .vm_generation = vm_generation, .action = action };
    snprintf (command.vm_uuid, sizeof command.vm_uuid, "%s", uuid);
    snprintf (command.vm_name, sizeof command.vm_name, "%s", a? "vm-a": "vm-b");
    if (action == COMMAND_START)
        command.domain_xml = a? s_xml_a: s_xml_b;
    if (action == COMMAND_MIGRATE) {
        snprintf (command.target_uri, sizeof command.target_uri, "%s", S_TARGET_URI);
        snprintf (command.target_host, sizeof command.target_host, "h2");
    }
    return command;
}

//  Sends command to the agent (its xml stays the caller's).
static void
s_send_command (fixture_agent_t *fx, const wire_command_t *command)
{
    wire_msg_t msg;
    wire_msg_init (&msg, WIRE_COMMAND);
    msg.seq = 1;
    msg.body.command = *command;
    fixture_agent_send (fx, &msg);
}

//  Asks for a REPORT and returns it (NULL when none came within a second).
static const fixture_agent_got_t *
s_report (fixture_agent_t *fx)
{
    wire_msg_t msg;
    wire_msg_init (&msg, WIRE_REPORT_REQUEST);
    msg.seq = 1;
    snprintf (msg.body.report_request.reason, sizeof msg.body.report_request.reason, "test");
    fixture_agent_mark (fx);
    fixture_agent_send (fx, &msg);
    return fixture_agent_wait (fx, WIRE_REPORT, 1000);
}

//  The state of vm uuid in a fresh full report, or -1 when there is no report or the report
//  does not list it.
static int
s_reported_state (fixture_agent_t *fx, const char *uuid)
{
    const fixture_agent_got_t *report = s_report (fx);
    const wire_domain_t *domain = report? fixture_agent_find_domain (&report->msg.body.report,
                                                                     uuid): NULL;
    return domain? (int) domain->state: -1;
}

//  Sends a hand-made envelope carrying command (for what wire_encode refuses to send).
static void
s_send_raw_command (fixture_agent_t *fx, Vmsched__Command *command)
{
    Vmsched__Envelope envelope = VMSCHED__ENVELOPE__INIT;
    envelope.has_version = envelope.has_seq = true;
    envelope.version = WIRE_PROTOCOL_VERSION;
    envelope.seq = 1;
    envelope.body_case = VMSCHED__ENVELOPE__BODY_COMMAND;
    envelope.command = command;
    size_t size = vmsched__envelope__get_packed_size (&envelope);
    uint8_t *data = malloc (size + 1);
    if (!data)
        return;
    vmsched__envelope__pack (&envelope, data);
    fixture_agent_send_frames (fx, zframe_new (data, size), NULL);
    free (data);
}

//  --------------------------------------------------------------------------
//  Fixture

//  Config for a new agent "h-cmd" (heartbeat 1 s, 4 workers) whose state lives in
//  s_env.dir/subdir.
static void
s_setup (fixture_agent_t *fx, const char *subdir)
{
    fixture_agent_setup (fx, &s_env, "h-cmd", subdir);
    fx->config.heartbeat_ms = 1000;
    fx->config.workers = 4;
}

//  Registers the started agent: generation 3, epoch 5, no heartbeat override. 0, or -1.
static int
s_register (fixture_agent_t *fx)
{
    return fixture_agent_register (fx, S_GENERATION, S_EPOCH, 0);
}

//  fixture_agent_start_fake, then registered with its first REPORT seen. 0, or -1.
static int
s_start_registered (fixture_agent_t *fx)
{
    if (fixture_agent_start_fake (fx) || s_register (fx))
        return -1;
    return fixture_agent_wait (fx, WIRE_REPORT, 1000)? 0: -1;
}

//  --------------------------------------------------------------------------
//  Cases

//  START: ACCEPTED then DONE "started", the domain shows up running; starting it again
//  (new id, same VM generation) is DONE "was already running" and changes nothing.
static int
s_case_start (void)
{
    int failures = 0;
    fixture_agent_t fx;
    s_setup (&fx, "start");
    if (s_start_registered (&fx)) {
        fixture_agent_stop (&fx);
        return 1;
    }
    size_t from = fixture_agent_mark (&fx);
    wire_command_t command = s_command (101, COMMAND_START, S_UUID_A, 1);
    s_send_command (&fx, &command);
    const fixture_agent_got_t *accepted = s_result (&fx, from, 101, RESULT_ACCEPTED, 1000);
    const fixture_agent_got_t *done = s_result (&fx, from, 101, RESULT_DONE, 2000);
    CHECK (accepted && done);
    if (accepted && done) {
        const wire_command_result_t *result = &done->msg.body.result;
        CHECK (s_index (&fx, accepted) < s_index (&fx, done));
        CHECK (strcmp (accepted->msg.body.result.message, "accepted") == 0);
        CHECK (strcmp (accepted->msg.body.result.vm_uuid, S_UUID_A) == 0);
        CHECK (accepted->msg.body.result.vm_generation == 1);
        CHECK (strcmp (result->message, "started") == 0);
        CHECK (strcmp (result->vm_uuid, S_UUID_A) == 0);
        CHECK (result->vm_generation == 1);
        CHECK (result->elapsed_ms < 1000);
        CHECK (result->data_total == 0 && result->data_processed == 0);
        CHECK (done->msg.generation == S_GENERATION);       // the envelope's registration
    }
    CHECK (s_results (&fx, from, 101, RESULT_NONE) == 2);
    //  The fake posted STARTED: the agent tells the scheduler, with the domain running.
    const fixture_agent_got_t *event = s_event (&fx, from, S_UUID_A, EVENT_STARTED, 1000);
    CHECK (event != NULL);
    if (event) {
        CHECK (event->msg.body.event.domain.state == DOMAIN_RUNNING);
        CHECK (strcmp (event->msg.body.event.domain.name, "vm-a") == 0);
    }
    const fixture_agent_got_t *report = s_report (&fx);
    CHECK (report != NULL);
    if (report) {
        const wire_domain_t *a = fixture_agent_find_domain (&report->msg.body.report, S_UUID_A);
        CHECK (report->msg.body.report.domain_count == 1);
        CHECK (a && a->state == DOMAIN_RUNNING && strcmp (a->name, "vm-a") == 0);
        CHECK (a && !a->persistent);                        // START makes it transient
    }

    //  Again, as a new command of the same VM generation.
    from = fixture_agent_mark (&fx);
    command = s_command (102, COMMAND_START, S_UUID_A, 1);
    s_send_command (&fx, &command);
    accepted = s_result (&fx, from, 102, RESULT_ACCEPTED, 1000);
    done = s_result (&fx, from, 102, RESULT_DONE, 2000);
    CHECK (accepted && done);
    if (done)
        CHECK (strcmp (done->msg.body.result.message, "was already running") == 0);
    fixture_agent_pump (&fx, 100);
    CHECK (s_events (&fx, from, S_UUID_A) == 0);             // nothing happened to it
    CHECK (s_results (&fx, from, 101, RESULT_NONE) == 0);
    CHECK (s_status_count (&fx, 0, RESULT_FAILED) == 0);
    CHECK (s_status_count (&fx, 0, RESULT_STALE) == 0);
    fixture_agent_stop (&fx);
    return failures;
}

//  STOP: DONE "stopped" (the persistent domain stays, shut off); again: "was not running".
//  A transient domain that is stopped is gone.
static int
s_case_stop (void)
{
    int failures = 0;
    fixture_agent_t fx;
    s_setup (&fx, "stop");
    if (fixture_agent_start_fake (&fx)) {
        fixture_agent_stop (&fx);
        return 1;
    }
    hv_fake_define (fx.fake, S_UUID_A, "vm-a", DOMAIN_RUNNING, 2, 1048576);
    if (s_register (&fx) || !fixture_agent_wait (&fx, WIRE_REPORT, 1000)) {
        fixture_agent_stop (&fx);
        return failures + 1;
    }
    size_t from = fixture_agent_mark (&fx);
    wire_command_t command = s_command (201, COMMAND_STOP, S_UUID_A, 1);
    s_send_command (&fx, &command);
    const fixture_agent_got_t *accepted = s_result (&fx, from, 201, RESULT_ACCEPTED, 1000);
    const fixture_agent_got_t *done = s_result (&fx, from, 201, RESULT_DONE, 2000);
    CHECK (accepted && done);
    if (accepted && done) {
        CHECK (s_index (&fx, accepted) < s_index (&fx, done));
        CHECK (strcmp (done->msg.body.result.message, "stopped") == 0);
    }
    const fixture_agent_got_t *event = s_event (&fx, from, S_UUID_A, EVENT_STOPPED, 1000);
    CHECK (event && event->msg.body.event.domain.state == DOMAIN_SHUTOFF);
    const fixture_agent_got_t *report = s_report (&fx);
    CHECK (report != NULL);
    if (report) {
        const wire_domain_t *a = fixture_agent_find_domain (&report->msg.body.report, S_UUID_A);
        CHECK (a && a->state == DOMAIN_SHUTOFF && a->persistent);
    }

    from = fixture_agent_mark (&fx);
    command = s_command (202, COMMAND_STOP, S_UUID_A, 1);
    s_send_command (&fx, &command);
    done = s_result (&fx, from, 202, RESULT_DONE, 2000);
    CHECK (done && strcmp (done->msg.body.result.message, "was not running") == 0);
    fixture_agent_pump (&fx, 100);
    CHECK (s_events (&fx, from, S_UUID_A) == 0);

    //  A started (transient) domain that is stopped disappears.
    from = fixture_agent_mark (&fx);
    command = s_command (203, COMMAND_START, S_UUID_B, 1);
    s_send_command (&fx, &command);
    CHECK (s_result (&fx, from, 203, RESULT_DONE, 2000) != NULL);
    command = s_command (204, COMMAND_STOP, S_UUID_B, 1);
    s_send_command (&fx, &command);
    done = s_result (&fx, from, 204, RESULT_DONE, 2000);
    CHECK (done && strcmp (done->msg.body.result.message, "stopped") == 0);
    CHECK (s_event (&fx, from, S_UUID_B, EVENT_UNDEFINED, 1000) != NULL);
    report = s_report (&fx);
    CHECK (report && report->msg.body.report.domain_count == 1);
    CHECK (report && !fixture_agent_find_domain (&report->msg.body.report, S_UUID_B));
    CHECK (s_status_count (&fx, 0, RESULT_FAILED) == 0);
    fixture_agent_stop (&fx);
    return failures;
}

//  Fencing: an older leader epoch, another host generation or an older VM generation is
//  refused as STALE (with the reason) and never executed; a newer epoch is taken and from
//  then on the old one is stale.
static int
s_case_stale (void)
{
    int failures = 0;
    fixture_agent_t fx;
    s_setup (&fx, "stale");
    if (s_start_registered (&fx)) {
        fixture_agent_stop (&fx);
        return 1;
    }
    size_t from = fixture_agent_mark (&fx);
    wire_command_t command = s_command (301, COMMAND_START, S_UUID_A, 1);
    command.leader_epoch = 4;
    s_send_command (&fx, &command);
    const fixture_agent_got_t *stale = s_result (&fx, from, 301, RESULT_STALE, 1000);
    CHECK (stale != NULL);
    if (stale) {
        const wire_command_result_t *result = &stale->msg.body.result;
        CHECK (strcmp (result->message, "stale: leader epoch 4 is older than 5") == 0);
        CHECK (strcmp (result->vm_uuid, S_UUID_A) == 0 && result->vm_generation == 1);
    }

    command = s_command (302, COMMAND_START, S_UUID_A, 1);
    command.host_generation = 2;
    s_send_command (&fx, &command);
    stale = s_result (&fx, from, 302, RESULT_STALE, 1000);
    CHECK (stale && strcmp (stale->msg.body.result.message,
                            "stale: meant for host generation 2, this agent is generation 3")
                    == 0);
    fixture_agent_pump (&fx, 100);
    //  Neither ran: one answer each, no event, no domain.
    CHECK (s_results (&fx, from, 301, RESULT_NONE) == 1);
    CHECK (s_results (&fx, from, 302, RESULT_NONE) == 1);
    CHECK (s_events (&fx, from, S_UUID_A) == 0);
    const fixture_agent_got_t *report = s_report (&fx);
    CHECK (report && report->msg.body.report.domain_count == 0);

    //  VM generation 5 seen; 4 is stale, the VM keeps running.
    from = fixture_agent_mark (&fx);
    command = s_command (303, COMMAND_START, S_UUID_A, 5);
    s_send_command (&fx, &command);
    const fixture_agent_got_t *done = s_result (&fx, from, 303, RESULT_DONE, 2000);
    CHECK (done && strcmp (done->msg.body.result.message, "started") == 0);
    command = s_command (304, COMMAND_STOP, S_UUID_A, 4);
    s_send_command (&fx, &command);
    stale = s_result (&fx, from, 304, RESULT_STALE, 1000);
    CHECK (stale && strcmp (stale->msg.body.result.message,
                            "stale: vm generation 4 is older than 5") == 0);
    CHECK (stale && stale->msg.body.result.vm_generation == 4);
    fixture_agent_pump (&fx, 100);
    CHECK (s_results (&fx, from, 304, RESULT_NONE) == 1);
    CHECK (s_reported_state (&fx, S_UUID_A) == DOMAIN_RUNNING);
    //  The generation is per VM: B may still use generation 1.
    from = fixture_agent_mark (&fx);
    command = s_command (305, COMMAND_START, S_UUID_B, 1);
    s_send_command (&fx, &command);
    CHECK (s_result (&fx, from, 305, RESULT_DONE, 2000) != NULL);

    //  A newer leader (epoch 6) is obeyed; afterwards epoch 5 is stale.
    command = s_command (306, COMMAND_STOP, S_UUID_A, 5);
    command.leader_epoch = 6;
    s_send_command (&fx, &command);
    CHECK (s_result (&fx, from, 306, RESULT_ACCEPTED, 1000) != NULL);
    done = s_result (&fx, from, 306, RESULT_DONE, 2000);
    CHECK (done && strcmp (done->msg.body.result.message, "stopped") == 0);
    command = s_command (307, COMMAND_START, S_UUID_A, 6);
    s_send_command (&fx, &command);
    stale = s_result (&fx, from, 307, RESULT_STALE, 1000);
    CHECK (stale && strcmp (stale->msg.body.result.message,
                            "stale: leader epoch 5 is older than 6") == 0);
    fixture_agent_pump (&fx, 100);
    CHECK (s_results (&fx, from, 307, RESULT_NONE) == 1);
    report = s_report (&fx);
    CHECK (report && !fixture_agent_find_domain (&report->msg.body.report,
                                                 S_UUID_A));            // still stopped
    CHECK (s_status_count (&fx, 0, RESULT_FAILED) == 0);
    fixture_agent_stop (&fx);
    return failures;
}

//  A command before WELCOME is STALE "not registered" and not executed; stale answers are
//  not remembered, so the same command after registering runs.
static int
s_case_not_registered (void)
{
    int failures = 0;
    fixture_agent_t fx;
    s_setup (&fx, "not_registered");
    if (fixture_agent_start_fake (&fx)) {
        fixture_agent_stop (&fx);
        return 1;
    }
    //  The peer to answer.
    CHECK (fixture_agent_wait (&fx, WIRE_HELLO, FIXTURE_AGENT_FIRST_HELLO_MS) != NULL);
    size_t from = fixture_agent_mark (&fx);
    wire_command_t command = s_command (401, COMMAND_START, S_UUID_A, 1);
    s_send_command (&fx, &command);
    const fixture_agent_got_t *stale = s_result (&fx, from, 401, RESULT_STALE, 1000);
    CHECK (stale != NULL);
    if (stale) {
        CHECK (strcmp (stale->msg.body.result.message,
                       "stale: this agent is not registered") == 0);
        CHECK (stale->msg.generation == 0);
    }
    CHECK (agent_generation (fx.agent) == 0);
    CHECK (agent_stats (fx.agent)->received == 1);

    fx.cursor = 0;
    CHECK (s_register (&fx) == 0);
    const fixture_agent_got_t *report = fixture_agent_wait (&fx, WIRE_REPORT, 1000);
    CHECK (report && report->msg.body.report.domain_count == 0);     // it never ran
    CHECK (s_results (&fx, from, 401, RESULT_NONE) == 1);

    from = fixture_agent_mark (&fx);
    s_send_command (&fx, &command);
    CHECK (s_result (&fx, from, 401, RESULT_ACCEPTED, 1000) != NULL);
    const fixture_agent_got_t *done = s_result (&fx, from, 401, RESULT_DONE, 2000);
    CHECK (done && strcmp (done->msg.body.result.message, "started") == 0);
    fixture_agent_stop (&fx);
    return failures;
}

//  A command sent again while it runs or waits is acknowledged again and runs once; sent
//  again after it finished, its result is repeated (from the agent's recent results).
static int
s_case_repeat (void)
{
    int failures = 0;
    fixture_agent_t fx;
    s_setup (&fx, "repeat");
    if (fixture_agent_start_fake (&fx)) {
        fixture_agent_stop (&fx);
        return 1;
    }
    hv_fake_define (fx.fake, S_UUID_A, "vm-a", DOMAIN_RUNNING, 2, 1048576);
    hv_fake_set_migration (fx.fake, 400, false);
    if (s_register (&fx) || !fixture_agent_wait (&fx, WIRE_REPORT, 1000)) {
        fixture_agent_stop (&fx);
        return failures + 1;
    }
    size_t from = fixture_agent_mark (&fx);
    wire_command_t migrate = s_command (501, COMMAND_MIGRATE, S_UUID_A, 1);
    s_send_command (&fx, &migrate);
    const fixture_agent_got_t *first = s_result (&fx, from, 501, RESULT_ACCEPTED, 1000);
    CHECK (first && strcmp (first->msg.body.result.message, "accepted") == 0);
    fixture_agent_pump (&fx, 100);                                  // the next tick starts it
    size_t again = fixture_agent_mark (&fx);
    s_send_command (&fx, &migrate);
    //  STOP of the same VM waits behind the migration: sent twice, it is "queued".
    wire_command_t stop = s_command (502, COMMAND_STOP, S_UUID_A, 1);
    s_send_command (&fx, &stop);
    s_send_command (&fx, &stop);
    const fixture_agent_got_t *running = s_result (&fx, again, 501, RESULT_ACCEPTED, 1000);
    CHECK (running && strcmp (running->msg.body.result.message, "running") == 0);
    const fixture_agent_got_t *stop_accepted = s_result (&fx, again, 502, RESULT_ACCEPTED, 1000);
    CHECK (stop_accepted && strcmp (stop_accepted->msg.body.result.message, "accepted") == 0);
    const fixture_agent_got_t *queued = stop_accepted
                          ? s_result (&fx, s_index (&fx, stop_accepted) + 1, 502,
                                      RESULT_ACCEPTED, 1000): NULL;
    CHECK (queued && strcmp (queued->msg.body.result.message, "queued") == 0);

    const fixture_agent_got_t *done = s_result (&fx, from, 501, RESULT_DONE, 3000);
    CHECK (done && strcmp (done->msg.body.result.message, "migrated to 'h2'") == 0);
    const fixture_agent_got_t *stopped = s_result (&fx, from, 502, RESULT_DONE, 2000);
    CHECK (stopped && strcmp (stopped->msg.body.result.message, "was not running") == 0);
    fixture_agent_pump (&fx, 100);
    //  Each ran once: a second migration would have FAILED (the domain left), and there
    //  was exactly one final answer each.
    CHECK (s_results (&fx, from, 501, RESULT_ACCEPTED) == 2);
    CHECK (s_results (&fx, from, 501, RESULT_DONE) == 1);
    CHECK (s_results (&fx, from, 502, RESULT_ACCEPTED) == 2);
    CHECK (s_results (&fx, from, 502, RESULT_DONE) == 1);
    CHECK (s_status_count (&fx, from, RESULT_FAILED) == 0);
    CHECK (s_event (&fx, from, S_UUID_A, EVENT_UNDEFINED, 1000) != NULL);    // it left

    //  After they finished: the same final results again, nothing executed.
    if (done && stopped) {
        wire_command_result_t first_done = done->msg.body.result;
        wire_command_result_t first_stopped = stopped->msg.body.result;
        size_t later = fixture_agent_mark (&fx);
        s_send_command (&fx, &migrate);
        s_send_command (&fx, &stop);
        const fixture_agent_got_t *repeat = s_result (&fx, later, 501, RESULT_DONE, 1000);
        CHECK (repeat && memcmp (&repeat->msg.body.result, &first_done,
                                 sizeof first_done) == 0);
        repeat = s_result (&fx, later, 502, RESULT_DONE, 1000);
        CHECK (repeat && memcmp (&repeat->msg.body.result, &first_stopped,
                                 sizeof first_stopped) == 0);
        fixture_agent_pump (&fx, 200);
        CHECK (s_results (&fx, later, 501, RESULT_NONE) == 1);     // no ACCEPTED, no FAILED
        CHECK (s_results (&fx, later, 502, RESULT_NONE) == 1);
        CHECK (s_events (&fx, later, S_UUID_A) == 0);
    }
    fixture_agent_stop (&fx);
    return failures;
}

//  Commands for one VM run one after another, commands for different VMs in parallel: a
//  STOP sent right behind a MIGRATE of the same VM finishes after it, a START of another VM
//  sent during the migration finishes before it.
static int
s_case_serial_parallel (void)
{
    int failures = 0;
    fixture_agent_t fx;
    s_setup (&fx, "serial");
    fx.config.workers = 4;
    if (fixture_agent_start_fake (&fx)) {
        fixture_agent_stop (&fx);
        return 1;
    }
    hv_fake_define (fx.fake, S_UUID_A, "vm-a", DOMAIN_RUNNING, 2, 1048576);
    hv_fake_set_migration (fx.fake, 300, false);
    if (s_register (&fx) || !fixture_agent_wait (&fx, WIRE_REPORT, 1000)) {
        fixture_agent_stop (&fx);
        return failures + 1;
    }
    size_t from = fixture_agent_mark (&fx);
    int64_t sent = zclock_mono ();
    wire_command_t command = s_command (601, COMMAND_MIGRATE, S_UUID_A, 1);
    s_send_command (&fx, &command);
    command = s_command (602, COMMAND_STOP, S_UUID_A, 1);
    s_send_command (&fx, &command);
    fixture_agent_pump (&fx, 60);
    command = s_command (603, COMMAND_START, S_UUID_B, 1);
    s_send_command (&fx, &command);

    const fixture_agent_got_t *migrated = s_result (&fx, from, 601, RESULT_DONE, 3000);
    const fixture_agent_got_t *stopped = s_result (&fx, from, 602, RESULT_DONE, 3000);
    const fixture_agent_got_t *started = s_result (&fx, from, 603, RESULT_DONE, 3000);
    CHECK (migrated && stopped && started);
    CHECK (s_result (&fx, from, 602, RESULT_ACCEPTED, 0) != NULL);
    if (migrated && stopped && started) {
        //  The STOP waited for the migration (and so found the VM gone).
        CHECK (s_index (&fx, stopped) > s_index (&fx, migrated));
        CHECK (stopped->at >= migrated->at);
        CHECK (strcmp (stopped->msg.body.result.message, "was not running") == 0);
        //  The START ran beside the migration.
        CHECK (s_index (&fx, started) < s_index (&fx, migrated));
        CHECK (started->at < migrated->at);
        CHECK (started->at - sent < 250);
        CHECK (strcmp (started->msg.body.result.message, "started") == 0);
        CHECK (migrated->msg.body.result.elapsed_ms >= 290);
        CHECK (migrated->at - sent >= 290);
    }
    CHECK (s_status_count (&fx, from, RESULT_FAILED) == 0);
    //  The fake reports no job progress (its progress() answers "no job"), so a migration
    //  on it never produces PROGRESS results.
    CHECK (s_status_count (&fx, from, RESULT_PROGRESS) == 0);
    const fixture_agent_got_t *report = s_report (&fx);
    CHECK (report && report->msg.body.report.domain_count == 1);
    CHECK (report && fixture_agent_find_domain (&report->msg.body.report, S_UUID_B));
    fixture_agent_stop (&fx);
    return failures;
}

//  A failed migration is FAILED with the hypervisor's message; the domain stays.
static int
s_case_migrate_failure (void)
{
    int failures = 0;
    fixture_agent_t fx;
    s_setup (&fx, "migrate_failure");
    if (fixture_agent_start_fake (&fx)) {
        fixture_agent_stop (&fx);
        return 1;
    }
    hv_fake_define (fx.fake, S_UUID_A, "vm-a", DOMAIN_RUNNING, 2, 1048576);
    hv_fake_set_migration (fx.fake, 0, true);
    if (s_register (&fx) || !fixture_agent_wait (&fx, WIRE_REPORT, 1000)) {
        fixture_agent_stop (&fx);
        return failures + 1;
    }
    size_t from = fixture_agent_mark (&fx);
    wire_command_t command = s_command (701, COMMAND_MIGRATE, S_UUID_A, 1);
    s_send_command (&fx, &command);
    CHECK (s_result (&fx, from, 701, RESULT_ACCEPTED, 1000) != NULL);
    const fixture_agent_got_t *failed = s_result (&fx, from, 701, RESULT_FAILED, 2000);
    CHECK (failed != NULL);
    if (failed) {
        CHECK (strcmp (failed->msg.body.result.message,
                       "migration to '" S_TARGET_URI "' failed: target refused") == 0);
        CHECK (strcmp (failed->msg.body.result.vm_uuid, S_UUID_A) == 0);
    }
    CHECK (s_results (&fx, from, 701, RESULT_DONE) == 0);
    CHECK (s_reported_state (&fx, S_UUID_A) == DOMAIN_RUNNING);
    CHECK (s_events (&fx, from, S_UUID_A) == 0);
    fixture_agent_stop (&fx);
    return failures;
}

//  A migration past its timeout_ms: the agent aborts its job (the fake's migrations abort
//  like libvirt's), the result is FAILED "timed out after N ms and aborted: ...", and the
//  domain stays where it was.
static int
s_case_migrate_timeout (void)
{
    int failures = 0;
    fixture_agent_t fx;
    s_setup (&fx, "migrate_timeout");
    if (fixture_agent_start_fake (&fx)) {
        fixture_agent_stop (&fx);
        return 1;
    }
    hv_fake_define (fx.fake, S_UUID_A, "vm-a", DOMAIN_RUNNING, 2, 1048576);
    hv_fake_set_migration (fx.fake, 2000, false);
    if (s_register (&fx) || !fixture_agent_wait (&fx, WIRE_REPORT, 1000)) {
        fixture_agent_stop (&fx);
        return failures + 1;
    }
    size_t from = fixture_agent_mark (&fx);
    int64_t sent = zclock_mono ();
    wire_command_t command = s_command (801, COMMAND_MIGRATE, S_UUID_A, 1);
    command.timeout_ms = 200;
    s_send_command (&fx, &command);
    CHECK (s_result (&fx, from, 801, RESULT_ACCEPTED, 1000) != NULL);
    const fixture_agent_got_t *failed = s_result (&fx, from, 801, RESULT_FAILED, 1500);
    CHECK (failed != NULL);
    if (failed) {
        CHECK (strncmp (failed->msg.body.result.message, "timed out after 200 ms and aborted: ",
                        36) == 0);
        CHECK (strstr (failed->msg.body.result.message, "operation aborted") != NULL);
        CHECK (failed->at - sent >= 200 && failed->at - sent < 1000);
    }
    CHECK (s_results (&fx, from, 801, RESULT_DONE) == 0);
    CHECK (s_reported_state (&fx, S_UUID_A) == DOMAIN_RUNNING);
    fixture_agent_stop (&fx);
    return failures;
}

//  An agent stopped during a migration waits for it, but not past its timeout: the
//  migration is aborted as in the loop, its FAILED result still reaches the scheduler, and
//  the stop returns well before the migration would have ended on its own.
static int
s_case_stop_during_migration (void)
{
    int failures = 0;
    fixture_agent_t fx;
    s_setup (&fx, "stop_during_migration");
    if (fixture_agent_start_fake (&fx)) {
        fixture_agent_stop (&fx);
        return 1;
    }
    hv_fake_define (fx.fake, S_UUID_A, "vm-a", DOMAIN_RUNNING, 2, 1048576);
    hv_fake_set_migration (fx.fake, 4000, false);
    if (s_register (&fx) || !fixture_agent_wait (&fx, WIRE_REPORT, 1000)) {
        fixture_agent_stop (&fx);
        return failures + 1;
    }
    size_t from = fixture_agent_mark (&fx);
    wire_command_t command = s_command (1101, COMMAND_MIGRATE, S_UUID_A, 1);
    command.timeout_ms = 300;
    s_send_command (&fx, &command);
    CHECK (s_result (&fx, from, 1101, RESULT_ACCEPTED, 1000) != NULL);
    fixture_agent_pump (&fx, 100);              // dispatched to a worker (a queued one would
                                                // simply be dropped at the stop)
    int64_t stopping = zclock_mono ();
    agent_destroy (&fx.agent);
    int64_t stopped = zclock_mono ();
    CHECK (stopped - stopping < 3000);          // the migration alone lasts 4000 ms
    //  The result left before the socket closed: read it off the ROUTER directly.
    bool failed = false;
    zmsg_t *msg;
    zpoller_t *poller = zpoller_new (fx.env->router, NULL);
    while (zpoller_wait (poller, 1000) && (msg = zmsg_recv (fx.env->router))) {
        zframe_t *id = zmsg_pop (msg), *body = zmsg_pop (msg);
        wire_msg_t got;
        char err [256];
        if (body && wire_decode (zframe_data (body), zframe_size (body), &got, err,
                                 sizeof err) == 0) {
            failed |= got.kind == WIRE_COMMAND_RESULT && got.body.result.id == 1101
                   && got.body.result.status == RESULT_FAILED
                   && strstr (got.body.result.message, "timed out after 300 ms") != NULL;
            wire_msg_reset (&got);
        }
        zframe_destroy (&id);
        zframe_destroy (&body);
        zmsg_destroy (&msg);
        if (failed)
            break;
    }
    zpoller_destroy (&poller);
    CHECK (failed);
    fixture_agent_stop (&fx);
    return failures;
}

//  ABORT is answered at once: "no migration running" for a VM without one (also while
//  another VM migrates), "abort requested" during its migration, which then fails as
//  "aborted on request: ..."; a migration still queued is cancelled before it starts.
static int
s_case_abort (void)
{
    int failures = 0;
    fixture_agent_t fx;
    s_setup (&fx, "abort");
    if (fixture_agent_start_fake (&fx)) {
        fixture_agent_stop (&fx);
        return 1;
    }
    hv_fake_define (fx.fake, S_UUID_A, "vm-a", DOMAIN_RUNNING, 2, 1048576);
    hv_fake_define (fx.fake, S_UUID_B, "vm-b", DOMAIN_RUNNING, 2, 1048576);
    hv_fake_set_migration (fx.fake, 500, false);
    if (s_register (&fx) || !fixture_agent_wait (&fx, WIRE_REPORT, 1000)) {
        fixture_agent_stop (&fx);
        return failures + 1;
    }
    size_t from = fixture_agent_mark (&fx);
    wire_command_t command = s_command (901, COMMAND_ABORT, S_UUID_A, 1);
    s_send_command (&fx, &command);
    const fixture_agent_got_t *done = s_result (&fx, from, 901, RESULT_DONE, 1000);
    CHECK (done && strcmp (done->msg.body.result.message, "no migration running") == 0);
    fixture_agent_pump (&fx, 50);
    CHECK (s_results (&fx, from, 901, RESULT_NONE) == 1);      // no ACCEPTED: done at once

    from = fixture_agent_mark (&fx);
    command = s_command (902, COMMAND_MIGRATE, S_UUID_A, 1);
    s_send_command (&fx, &command);
    CHECK (s_result (&fx, from, 902, RESULT_ACCEPTED, 1000) != NULL);
    //  A second migration of the same VM waits in the queue behind the first.
    command = s_command (905, COMMAND_MIGRATE, S_UUID_A, 1);
    s_send_command (&fx, &command);
    CHECK (s_result (&fx, from, 905, RESULT_ACCEPTED, 1000) != NULL);
    fixture_agent_pump (&fx, 100);                          // the first migration is running
    command = s_command (903, COMMAND_ABORT, S_UUID_B, 1);
    s_send_command (&fx, &command);
    done = s_result (&fx, from, 903, RESULT_DONE, 1000);
    CHECK (done && strcmp (done->msg.body.result.message, "no migration running") == 0);
    command = s_command (904, COMMAND_ABORT, S_UUID_A, 1);
    s_send_command (&fx, &command);
    const fixture_agent_got_t *cancelled = s_result (&fx, from, 905, RESULT_FAILED, 1000);
    CHECK (cancelled && strcmp (cancelled->msg.body.result.message,
                                "aborted on request before it started") == 0);
    const fixture_agent_got_t *answer = s_result (&fx, from, 904, RESULT_DONE, 1000);
    CHECK (answer && strcmp (answer->msg.body.result.message, "queued migration cancelled") == 0);
    command = s_command (906, COMMAND_ABORT, S_UUID_A, 1);
    s_send_command (&fx, &command);
    answer = s_result (&fx, from, 906, RESULT_DONE, 1000);
    CHECK (answer && strcmp (answer->msg.body.result.message, "abort requested") == 0);
    const fixture_agent_got_t *aborted = s_result (&fx, from, 902, RESULT_FAILED, 2000);
    CHECK (aborted && strncmp (aborted->msg.body.result.message, "aborted on request: ", 20) == 0);
    CHECK (s_results (&fx, from, 902, RESULT_DONE) == 0);
    CHECK (s_reported_state (&fx, S_UUID_A) == DOMAIN_RUNNING);
    fixture_agent_stop (&fx);
    return failures;
}

//  A COMMAND without an action or without a vm_uuid never reaches the agent's command code:
//  the decoder refuses it (counted as malformed), nothing is answered, the agent goes on.
static int
s_case_garbage (void)
{
    int failures = 0;
    fixture_agent_t fx;
    s_setup (&fx, "garbage");
    if (s_start_registered (&fx)) {
        fixture_agent_stop (&fx);
        return 1;
    }
    uint64_t received = agent_stats (fx.agent)->received;
    CHECK (agent_stats (fx.agent)->malformed == 0);
    size_t from = fixture_agent_mark (&fx);

    Vmsched__Command command = VMSCHED__COMMAND__INIT;
    command.has_id = command.has_leader_epoch = command.has_host_generation = true;
    command.has_vm_generation = command.has_action = true;
    command.id = 1001;
    command.leader_epoch = S_EPOCH;
    command.host_generation = S_GENERATION;
    command.vm_generation = 1;
    command.vm_uuid = S_UUID_A;
    command.vm_name = "vm-a";
    command.domain_xml = s_xml_a;
    command.action = 0;                                     // no action
    s_send_raw_command (&fx, &command);
    command.id = 1002;
    command.action = VMSCHED__COMMAND_ACTION__COMMAND_ACTION_START;
    command.vm_uuid = NULL;                                 // no vm
    s_send_raw_command (&fx, &command);
    command.id = 1003;
    command.vm_uuid = "";                                   // empty vm
    s_send_raw_command (&fx, &command);
    fixture_agent_pump (&fx, 200);
    CHECK (agent_stats (fx.agent)->malformed == 3);
    CHECK (agent_stats (fx.agent)->received == received);
    for (size_t i = from; i < fx.got_count; i++)
        CHECK (fx.got [i].msg.kind != WIRE_COMMAND_RESULT);
    CHECK (agent_generation (fx.agent) == S_GENERATION);

    //  Still working: the well-formed command runs.
    command.id = 1004;
    command.vm_uuid = S_UUID_A;
    s_send_raw_command (&fx, &command);
    const fixture_agent_got_t *done = s_result (&fx, from, 1004, RESULT_DONE, 2000);
    CHECK (done && strcmp (done->msg.body.result.message, "started") == 0);
    CHECK (agent_stats (fx.agent)->malformed == 3);
    fixture_agent_stop (&fx);
    return failures;
}

//  --------------------------------------------------------------------------

static const check_case_t s_cases [] = {
    { "start", s_case_start },
    { "stop", s_case_stop },
    { "stale", s_case_stale },
    { "not_registered", s_case_not_registered },
    { "repeat", s_case_repeat },
    { "serial_parallel", s_case_serial_parallel },
    { "migrate_failure", s_case_migrate_failure },
    { "migrate_timeout", s_case_migrate_timeout },
    { "abort", s_case_abort },
    { "stop_during_migration", s_case_stop_during_migration },
    { "garbage", s_case_garbage },
};

int
main (int argc, char **argv)
{
    return fixture_agent_main (&s_env, "commands", S_ENDPOINT, s_cases,
                               sizeof s_cases / sizeof s_cases [0], argc, argv);
}
