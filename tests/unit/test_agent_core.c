/*  test_agent_core.c - the pure agent core on a virtual clock: no sockets, no threads.

    Each case drives one agent_core_t the way the shell or a simulator does: it calls the
    entry points with a `now` of its own choosing, moves the effects into a log (messages,
    with the virtual time they were emitted) and a list of open jobs, and answers jobs with
    hand-made outcomes when it wants to. s_advance jumps the clock from deadline to deadline
    (agent_core_next_deadline), so timings are checked exactly, not within a tolerance.
    Cases: HELLO retry timing, the hypervisor reconnect backoff, WELCOME only for the newest
    HELLO, heartbeat deadlines, reports (periodic, on request, resync, list failure), events,
    fencing of stale commands, duplicate commands, migration timeout and abort, stopping, and
    that two cores fed the same inputs say the same thing.

    Prints one `PASS unit/agent_core/CASE` or `FAIL unit/agent_core/CASE: ...` line per case;
    the failed checks themselves are on stderr just above. `test_agent_core CASE...` runs
    only those cases.
*/
#include "check.h"
#include "agent_core.h"
#include "log.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define S_HOST_ID       "cccccccc-0000-4000-8000-000000000001"
#define S_BOOT_ID       "cccccccc-0000-4000-8000-0000000000b0"
#define S_UUID_A        "cccccccc-0000-4000-8000-00000000000a"
#define S_UUID_B        "cccccccc-0000-4000-8000-00000000000b"
#define S_SESSION       0x1234567
#define S_HEARTBEAT_MS  100
#define S_REPORT_MS     1000
#define S_HELLO_MS      200
#define S_GENERATION    3
#define S_EPOCH         5
#define S_MAX_GOT       4096        // messages one case may log
#define S_MAX_JOBS      1024        // jobs one case may hold open

//  One message the core emitted, and when.
typedef struct {
    wire_msg_t msg;                 // owned (report domains)
    int64_t at;                     // virtual time of the call that emitted it
} s_got_t;

//  A core under test, its virtual clock, what it said and the jobs it asked for.
typedef struct {
    agent_core_t *core;             // under test
    agent_fx_t *fx;                 // effects of the last call (moved out after each)
    int64_t now;                    // the virtual clock
    s_got_t *got;                   // S_MAX_GOT entries: every message, in order
    size_t got_count;               // used entries of got
    hv_job_t *jobs;                 // S_MAX_JOBS entries: jobs not answered yet, in order
    size_t job_count;               // used entries of jobs
} s_sim_t;

//  --------------------------------------------------------------------------
//  The harness

static agent_core_config_t
s_config (void)
{
    agent_core_config_t config = {
        .name = "h-core", .host_id = S_HOST_ID, .boot_id = S_BOOT_ID, .session = S_SESSION,
        .hypervisor_uri = "fake:///", .agent_version = "9.9.9",
        .heartbeat_ms = S_HEARTBEAT_MS, .report_ms = S_REPORT_MS,
        .hello_retry_ms = S_HELLO_MS, .workers = 2 };
    return config;
}

static int
s_open (s_sim_t *sim, const agent_core_config_t *config)
{
    memset (sim, 0, sizeof *sim);
    sim->now = 1000000;                         // any origin
    sim->core = agent_core_new (config);
    sim->fx = agent_fx_new ();
    sim->got = calloc (S_MAX_GOT, sizeof *sim->got);
    sim->jobs = calloc (S_MAX_JOBS, sizeof *sim->jobs);
    return sim->core && sim->fx && sim->got && sim->jobs? 0: -1;
}

static void
s_close (s_sim_t *sim)
{
    agent_core_destroy (&sim->core);
    agent_fx_destroy (&sim->fx);
    for (size_t i = 0; sim->got && i < sim->got_count; i++)
        wire_msg_reset (&sim->got [i].msg);
    for (size_t i = 0; sim->jobs && i < sim->job_count; i++)
        hv_job_reset (&sim->jobs [i]);
    free (sim->got);
    free (sim->jobs);
    memset (sim, 0, sizeof *sim);
}

//  Moves the effects of the last call into the log and the open jobs.
static void
s_take (s_sim_t *sim)
{
    for (size_t i = 0; i < sim->fx->msg_count && sim->got_count < S_MAX_GOT; i++) {
        sim->got [sim->got_count++] = (s_got_t) { sim->fx->msgs [i], sim->now };
        memset (&sim->fx->msgs [i], 0, sizeof sim->fx->msgs [i]);
    }
    for (size_t i = 0; i < sim->fx->job_count && sim->job_count < S_MAX_JOBS; i++) {
        sim->jobs [sim->job_count++] = sim->fx->jobs [i];
        memset (&sim->fx->jobs [i], 0, sizeof sim->fx->jobs [i]);
    }
    agent_fx_clear (sim->fx);
}

static void
s_tick (s_sim_t *sim)
{
    agent_core_tick (sim->core, sim->now, sim->fx);
    s_take (sim);
}

//  Runs the clock to until, ticking at every deadline on the way (and at until).
static void
s_advance (s_sim_t *sim, int64_t until)
{
    while (true) {
        int64_t next = agent_core_next_deadline (sim->core);
        if (next > until)
            break;
        if (next > sim->now)
            sim->now = next;
        s_tick (sim);
    }
    sim->now = until;
    s_tick (sim);
}

static void
s_message (s_sim_t *sim, const wire_msg_t *msg)
{
    agent_core_on_message (sim->core, msg, sim->now, sim->fx);
    s_take (sim);
}

static void
s_note (s_sim_t *sim, hv_note_kind_t kind, event_kind_t event, const char *uuid,
        const char *name)
{
    hv_note_t note = { .kind = kind, .event = event };
    snprintf (note.uuid, sizeof note.uuid, "%s", uuid? uuid: "");
    snprintf (note.name, sizeof note.name, "%s", name? name: "");
    agent_core_on_note (sim->core, &note, sim->now, sim->fx);
    s_take (sim);
}

//  Index of the first open job of kind (any when HV_JOB_NONE), or -1.
static int
s_job (const s_sim_t *sim, hv_job_kind_t kind)
{
    for (size_t i = 0; i < sim->job_count; i++)
        if (kind == HV_JOB_NONE || sim->jobs [i].kind == kind)
            return (int) i;
    return -1;
}

static size_t
s_jobs (const s_sim_t *sim, hv_job_kind_t kind)
{
    size_t count = 0;
    for (size_t i = 0; i < sim->job_count; i++)
        count += sim->jobs [i].kind == kind;
    return count;
}

//  Takes open job index out of the list into *job (the caller resets it).
static void
s_pop_job (s_sim_t *sim, int index, hv_job_t *job)
{
    *job = sim->jobs [index];
    memmove (&sim->jobs [index], &sim->jobs [index + 1],
             (sim->job_count - (size_t) index - 1) * sizeof *sim->jobs);
    sim->job_count--;
}

//  Answers the first open job of kind with rc (and, for a COMMAND, status and message);
//  fill, when given, completes the outcome. Returns -1 when no such job was open.
static int
s_answer (s_sim_t *sim, hv_job_kind_t kind, int rc, void (*fill) (hv_done_t *, void *),
          void *arg)
{
    int index = s_job (sim, kind);
    if (index < 0)
        return -1;
    hv_done_t done;
    memset (&done, 0, sizeof done);
    s_pop_job (sim, index, &done.job);
    free (done.job.command.domain_xml);
    done.job.command.domain_xml = NULL;
    done.rc = rc;
    if (rc < 0)
        snprintf (done.err, sizeof done.err, "%s: injected failure",
                  hv_job_kind_name (kind));
    if (kind == HV_JOB_COMMAND) {
        done.result.id = done.job.command.id;
        snprintf (done.result.vm_uuid, sizeof done.result.vm_uuid, "%s",
                  done.job.command.vm_uuid);
        done.result.vm_generation = done.job.command.vm_generation;
        done.result.status = rc < 0? RESULT_FAILED: RESULT_DONE;
        snprintf (done.result.message, sizeof done.result.message, "%s",
                  rc < 0? "operation aborted": "did it");
        done.result.elapsed_ms = 7;
    }
    if (kind == HV_JOB_CONNECT && rc == 0) {
        done.capacity.cpus = 8;
        done.capacity.memory_mib = 16384;
        snprintf (done.capacity.cpu_model, sizeof done.capacity.cpu_model, "fake-model");
    }
    if (fill)
        fill (&done, arg);
    agent_core_on_done (sim->core, &done, sim->now, sim->fx);
    hv_done_reset (&done);
    s_take (sim);
    return 0;
}

//  A LIST outcome with domains A (running) and B (shut off).
static void
s_fill_list (hv_done_t *done, void *arg)
{
    (void) arg;
    done->domains = calloc (2, sizeof *done->domains);
    if (!done->domains)
        return;
    done->domain_count = 2;
    snprintf (done->domains [0].uuid, WIRE_ID_SIZE, "%s", S_UUID_A);
    snprintf (done->domains [0].name, WIRE_NAME_SIZE, "vm-a");
    done->domains [0].state = DOMAIN_RUNNING;
    snprintf (done->domains [1].uuid, WIRE_ID_SIZE, "%s", S_UUID_B);
    snprintf (done->domains [1].name, WIRE_NAME_SIZE, "vm-b");
    done->domains [1].state = DOMAIN_SHUTOFF;
}

//  Messages of kind logged from index from on.
static size_t
s_count (const s_sim_t *sim, wire_kind_t kind, size_t from)
{
    size_t count = 0;
    for (size_t i = from; i < sim->got_count; i++)
        count += sim->got [i].msg.kind == kind;
    return count;
}

//  The newest logged message of kind, or NULL.
static const s_got_t *
s_last (const s_sim_t *sim, wire_kind_t kind)
{
    for (size_t i = sim->got_count; i > 0; i--)
        if (sim->got [i - 1].msg.kind == kind)
            return &sim->got [i - 1];
    return NULL;
}

//  The newest COMMAND_RESULT for command id, or NULL.
static const wire_command_result_t *
s_result (const s_sim_t *sim, uint64_t id)
{
    for (size_t i = sim->got_count; i > 0; i--)
        if (sim->got [i - 1].msg.kind == WIRE_COMMAND_RESULT
        &&  sim->got [i - 1].msg.body.result.id == id)
            return &sim->got [i - 1].msg.body.result;
    return NULL;
}

static void
s_send_welcome (s_sim_t *sim, uint64_t hello_seq, uint64_t generation, uint32_t heartbeat_ms)
{
    wire_msg_t msg;
    wire_msg_init (&msg, WIRE_WELCOME);
    msg.body.welcome = (wire_welcome_t) { generation, S_EPOCH, hello_seq, heartbeat_ms };
    s_message (sim, &msg);
}

static void
s_send_report_request (s_sim_t *sim)
{
    wire_msg_t msg;
    wire_msg_init (&msg, WIRE_REPORT_REQUEST);
    snprintf (msg.body.report_request.reason, sizeof msg.body.report_request.reason, "test");
    s_message (sim, &msg);
}

static wire_command_t
s_command (uint64_t id, command_action_t action, const char *uuid, uint64_t vm_generation)
{
    wire_command_t command = {
        .id = id, .leader_epoch = S_EPOCH, .host_generation = S_GENERATION,
        .vm_generation = vm_generation, .action = action };
    snprintf (command.vm_uuid, sizeof command.vm_uuid, "%s", uuid);
    snprintf (command.vm_name, sizeof command.vm_name, "%s",
              strcmp (uuid, S_UUID_A) == 0? "vm-a": "vm-b");
    if (action == COMMAND_MIGRATE) {
        snprintf (command.target_uri, sizeof command.target_uri, "qemu+tls://h2/system");
        snprintf (command.target_host, sizeof command.target_host, "h2");
    }
    return command;
}

static void
s_send_command (s_sim_t *sim, const wire_command_t *command)
{
    wire_msg_t msg;
    wire_msg_init (&msg, WIRE_COMMAND);
    msg.body.command = *command;
    s_message (sim, &msg);
}

//  First tick (CONNECT), its success, the HELLO. 0, or -1.
static int
s_connect (s_sim_t *sim)
{
    s_tick (sim);
    if (s_answer (sim, HV_JOB_CONNECT, 0, NULL, NULL))
        return -1;
    return s_last (sim, WIRE_HELLO)? 0: -1;
}

//  Connected, registered (generation S_GENERATION) and its first REPORT sent. 0, or -1.
static int
s_registered (s_sim_t *sim, const agent_core_config_t *config)
{
    if (s_open (sim, config) || s_connect (sim))
        return -1;
    s_send_welcome (sim, s_last (sim, WIRE_HELLO)->msg.seq, S_GENERATION, 0);
    if (agent_core_generation (sim->core) != S_GENERATION
    ||  s_answer (sim, HV_JOB_LIST, 0, s_fill_list, NULL))
        return -1;
    return s_last (sim, WIRE_REPORT)? 0: -1;
}

//  --------------------------------------------------------------------------
//  Cases

//  Nothing before the hypervisor answered; then HELLO at once, retried every
//  hello_retry_ms exactly, with identity, capacity and rising seq.
static int
s_case_hello_retry (void)
{
    int failures = 0;
    s_sim_t sim;
    agent_core_config_t config = s_config ();
    config.cpus = 4;                                // the override replaces the hv's 8
    CHECK (s_open (&sim, &config) == 0);
    s_tick (&sim);
    CHECK (sim.job_count == 1 && s_job (&sim, HV_JOB_CONNECT) == 0);
    CHECK (sim.got_count == 0);
    //  Waiting for the CONNECT: nothing is due, however long it takes.
    CHECK (agent_core_next_deadline (sim.core) == INT64_MAX);
    s_advance (&sim, sim.now + 10000);
    CHECK (sim.got_count == 0 && sim.job_count == 1);

    int64_t connected = sim.now;
    CHECK (s_answer (&sim, HV_JOB_CONNECT, 0, NULL, NULL) == 0);
    CHECK (agent_core_hv_connected (sim.core));
    CHECK (sim.got_count == 1 && sim.got [0].msg.kind == WIRE_HELLO);
    CHECK (agent_core_next_deadline (sim.core) == connected + S_HELLO_MS);
    s_advance (&sim, connected + 5 * S_HELLO_MS + 50);
    CHECK (sim.got_count == 6);
    CHECK (s_count (&sim, WIRE_HELLO, 0) == sim.got_count);
    for (size_t i = 0; i < sim.got_count; i++) {
        const wire_msg_t *msg = &sim.got [i].msg;
        CHECK (sim.got [i].at == connected + (int64_t) i * S_HELLO_MS);
        CHECK (msg->seq == i + 1);
        CHECK (msg->session == S_SESSION && msg->generation == 0);
        CHECK (strcmp (msg->host_id, S_HOST_ID) == 0);
        CHECK (strcmp (msg->body.hello.host_id, S_HOST_ID) == 0);
        CHECK (strcmp (msg->body.hello.name, "h-core") == 0);
        CHECK (strcmp (msg->body.hello.boot_id, S_BOOT_ID) == 0);
        CHECK (strcmp (msg->body.hello.hypervisor_uri, "fake:///") == 0);
        CHECK (strcmp (msg->body.hello.agent_version, "9.9.9") == 0);
        CHECK (strcmp (msg->body.hello.migration_uri, "qemu+tls://h-core/system") == 0);
        CHECK (msg->body.hello.capacity.cpus == 4);
        CHECK (msg->body.hello.capacity.memory_mib == 16384);
        CHECK (strcmp (msg->body.hello.capacity.cpu_model, "fake-model") == 0);
    }
    CHECK (sim.job_count == 0);                     // no LIST, no LOOKUP unregistered
    CHECK (agent_core_generation (sim.core) == 0);
    CHECK (agent_core_stats (sim.core)->hv_connects == 1);
    s_close (&sim);
    return failures;
}

//  A failing CONNECT is tried again after 250, 500, 1000, ... up to 5000 ms; no HELLO
//  without a capacity.
static int
s_case_connect_backoff (void)
{
    int failures = 0;
    s_sim_t sim;
    agent_core_config_t config = s_config ();
    CHECK (s_open (&sim, &config) == 0);
    s_tick (&sim);
    int64_t expected [] = { 250, 500, 1000, 2000, 4000, 5000, 5000 };
    for (size_t i = 0; i < sizeof expected / sizeof expected [0]; i++) {
        int64_t failed = sim.now;
        CHECK (s_answer (&sim, HV_JOB_CONNECT, -1, NULL, NULL) == 0);
        CHECK (sim.job_count == 0);
        CHECK (agent_core_next_deadline (sim.core) == failed + expected [i]);
        s_advance (&sim, failed + expected [i]);
        CHECK (s_jobs (&sim, HV_JOB_CONNECT) == 1);
    }
    CHECK (sim.got_count == 0);
    CHECK (s_answer (&sim, HV_JOB_CONNECT, 0, NULL, NULL) == 0);
    CHECK (s_count (&sim, WIRE_HELLO, 0) == 1);
    s_close (&sim);
    return failures;
}

//  WELCOME counts only for the newest HELLO: one for an older HELLO or a seq never sent
//  is ignored; the right one registers and asks for the first REPORT at once.
static int
s_case_welcome_newest (void)
{
    int failures = 0;
    s_sim_t sim;
    agent_core_config_t config = s_config ();
    CHECK (s_open (&sim, &config) == 0 && s_connect (&sim) == 0);
    s_advance (&sim, sim.now + 2 * S_HELLO_MS);
    CHECK (s_count (&sim, WIRE_HELLO, 0) == 3);
    uint64_t newest = s_last (&sim, WIRE_HELLO)->msg.seq;
    CHECK (newest == 3);
    s_send_welcome (&sim, newest - 1, 7, 0);        // an older HELLO's
    s_send_welcome (&sim, newest + 100, 7, 0);      // never sent
    s_send_welcome (&sim, 0, 7, 0);
    CHECK (agent_core_generation (sim.core) == 0);
    CHECK (agent_core_stats (sim.core)->registrations == 0);
    CHECK (sim.job_count == 0);
    CHECK (agent_core_stats (sim.core)->received == 3);

    //  A WELCOME that crossed a newer HELLO is stale too.
    s_advance (&sim, sim.now + S_HELLO_MS);
    CHECK (s_last (&sim, WIRE_HELLO)->msg.seq == newest + 1);
    s_send_welcome (&sim, newest, 7, 0);
    CHECK (agent_core_generation (sim.core) == 0);

    size_t from = sim.got_count;
    s_send_welcome (&sim, newest + 1, 7, 250);
    CHECK (agent_core_generation (sim.core) == 7);
    CHECK (agent_core_leader_epoch (sim.core) == S_EPOCH);
    CHECK (agent_core_heartbeat_ms (sim.core) == 250);
    CHECK (agent_core_stats (sim.core)->registrations == 1);
    CHECK (sim.got_count == from);                  // the REPORT waits for its LIST
    CHECK (sim.job_count == 1 && s_job (&sim, HV_JOB_LIST) == 0);
    CHECK (sim.jobs [0].link == 1);
    CHECK (s_answer (&sim, HV_JOB_LIST, 0, s_fill_list, NULL) == 0);
    const s_got_t *report = s_last (&sim, WIRE_REPORT);
    CHECK (report && report->msg.generation == 7);
    CHECK (report && report->msg.body.report.hypervisor_connected
           && report->msg.body.report.domain_count == 2
           && strcmp (report->msg.body.report.domains [0].uuid, S_UUID_A) == 0);
    //  A second WELCOME for the same HELLO with the same or an older generation changes
    //  nothing; with a newer one (the scheduler registered a late copy of it again, after
    //  another process's HELLO) it is the scheduler's registration of this process now.
    s_send_welcome (&sim, newest + 1, 7, 0);
    s_send_welcome (&sim, newest + 1, 5, 0);
    CHECK (agent_core_generation (sim.core) == 7);
    CHECK (agent_core_stats (sim.core)->registrations == 1);
    s_send_welcome (&sim, newest + 1, 9, 0);
    CHECK (agent_core_generation (sim.core) == 9);
    CHECK (agent_core_stats (sim.core)->registrations == 2);
    s_send_welcome (&sim, newest + 100, 11, 0);     // never sent: still nothing
    CHECK (agent_core_generation (sim.core) == 9);
    //  Registered: no more HELLOs.
    from = sim.got_count;
    s_advance (&sim, sim.now + 10 * S_HELLO_MS);
    CHECK (s_count (&sim, WIRE_HELLO, from) == 0);
    CHECK (s_count (&sim, WIRE_HEARTBEAT, from) == 8);      // 2000 ms / 250 ms
    s_close (&sim);
    return failures;
}

//  Heartbeats exactly every interval, with generation and the hypervisor's state; losing the
//  hypervisor sends one at once and stops the reports until it is back.
static int
s_case_heartbeat_deadline (void)
{
    int failures = 0;
    s_sim_t sim;
    agent_core_config_t config = s_config ();
    CHECK (s_registered (&sim, &config) == 0);
    int64_t registered = sim.now;
    CHECK (agent_core_next_deadline (sim.core) == registered + S_HEARTBEAT_MS);
    size_t from = sim.got_count;
    s_advance (&sim, registered + 10 * S_HEARTBEAT_MS - 1);
    CHECK (s_count (&sim, WIRE_HEARTBEAT, from) == 9);
    int64_t at = registered;
    for (size_t i = from; i < sim.got_count; i++) {
        const s_got_t *got = &sim.got [i];
        CHECK (got->msg.kind == WIRE_HEARTBEAT);
        CHECK (got->at == at + S_HEARTBEAT_MS);
        CHECK (got->msg.generation == S_GENERATION);
        CHECK (got->msg.body.report.hypervisor_connected);
        CHECK (got->msg.seq == sim.got [i - 1].msg.seq + 1);
        at = got->at;
    }
    CHECK (sim.job_count == 0);

    //  The periodic report.
    s_advance (&sim, registered + S_REPORT_MS);
    CHECK (s_jobs (&sim, HV_JOB_LIST) == 1);
    CHECK (s_answer (&sim, HV_JOB_LIST, 0, s_fill_list, NULL) == 0);

    //  Lost: a heartbeat at once, then heartbeats saying so, no report, reconnects.
    from = sim.got_count;
    int64_t lost = sim.now + 30;
    sim.now = lost;
    s_note (&sim, HV_NOTE_DISCONNECTED, EVENT_UNKNOWN, NULL, NULL);
    CHECK (sim.got_count == from + 1 && sim.got [from].msg.kind == WIRE_HEARTBEAT);
    CHECK (!sim.got [from].msg.body.report.hypervisor_connected);
    CHECK (!agent_core_hv_connected (sim.core));
    s_note (&sim, HV_NOTE_EVENT, EVENT_STARTED, S_UUID_A, "vm-a");     // not looked up
    s_send_report_request (&sim);                                       // not listed
    CHECK (sim.job_count == 0);
    s_advance (&sim, lost + 250);
    CHECK (s_jobs (&sim, HV_JOB_CONNECT) == 1);
    s_advance (&sim, lost + 3 * S_REPORT_MS);                  // the CONNECT hangs
    CHECK (s_jobs (&sim, HV_JOB_LIST) == 0 && s_jobs (&sim, HV_JOB_CONNECT) == 1);
    CHECK (s_count (&sim, WIRE_REPORT, from) == 0);
    CHECK (s_count (&sim, WIRE_HEARTBEAT, from) == 31);
    for (size_t i = from; i < sim.got_count; i++)
        CHECK (!sim.got [i].msg.body.report.hypervisor_connected);
    //  Back: a resync REPORT at once, heartbeats say connected again.
    CHECK (s_answer (&sim, HV_JOB_CONNECT, 0, NULL, NULL) == 0);
    CHECK (s_jobs (&sim, HV_JOB_LIST) == 1);
    CHECK (s_answer (&sim, HV_JOB_LIST, 0, s_fill_list, NULL) == 0);
    CHECK (s_count (&sim, WIRE_REPORT, from) == 1);
    s_advance (&sim, sim.now + S_HEARTBEAT_MS);
    CHECK (s_last (&sim, WIRE_HEARTBEAT)->msg.body.report.hypervisor_connected);
    s_close (&sim);
    return failures;
}

//  REPORT_REQUEST lists at once; one arriving while a LIST is out gets a fresh LIST after
//  it; a failing LIST reports nothing and reconnects; an outcome from before the
//  reconnection is ignored.
static int
s_case_report_on_request (void)
{
    int failures = 0;
    s_sim_t sim;
    agent_core_config_t config = s_config ();
    CHECK (s_registered (&sim, &config) == 0);
    sim.now += 10;
    s_send_report_request (&sim);
    CHECK (s_jobs (&sim, HV_JOB_LIST) == 1);
    s_send_report_request (&sim);                   // while that LIST is out
    CHECK (s_jobs (&sim, HV_JOB_LIST) == 1);
    size_t from = sim.got_count;
    CHECK (s_answer (&sim, HV_JOB_LIST, 0, s_fill_list, NULL) == 0);
    CHECK (s_count (&sim, WIRE_REPORT, from) == 1);
    CHECK (s_jobs (&sim, HV_JOB_LIST) == 1);        // the second request's own LIST
    CHECK (s_answer (&sim, HV_JOB_LIST, 0, s_fill_list, NULL) == 0);
    CHECK (s_count (&sim, WIRE_REPORT, from) == 2);
    CHECK (s_jobs (&sim, HV_JOB_LIST) == 0);
    CHECK (agent_core_stats (sim.core)->reports == 3);

    //  A failing LIST: no REPORT (it would claim every domain gone), reconnect after 250.
    s_send_report_request (&sim);
    from = sim.got_count;
    int64_t failed = sim.now;
    CHECK (s_answer (&sim, HV_JOB_LIST, -1, NULL, NULL) == 0);
    CHECK (s_count (&sim, WIRE_REPORT, from) == 0);
    CHECK (!agent_core_hv_connected (sim.core));
    s_advance (&sim, failed + 249);
    CHECK (s_jobs (&sim, HV_JOB_CONNECT) == 0);
    CHECK (s_count (&sim, WIRE_HEARTBEAT, from) >= 2);
    CHECK (!s_last (&sim, WIRE_HEARTBEAT)->msg.body.report.hypervisor_connected);
    s_advance (&sim, failed + 250);
    CHECK (s_jobs (&sim, HV_JOB_CONNECT) == 1);

    //  A LIST asked for before a reconnection answers after it: ignored.
    hv_job_t old = { .kind = HV_JOB_LIST, .link = 1 };
    CHECK (s_answer (&sim, HV_JOB_CONNECT, 0, NULL, NULL) == 0);
    CHECK (s_jobs (&sim, HV_JOB_LIST) == 1 && sim.jobs [s_job (&sim, HV_JOB_LIST)].link == 2);
    hv_done_t done = { .job = old };
    s_fill_list (&done, NULL);
    from = sim.got_count;
    agent_core_on_done (sim.core, &done, sim.now, sim.fx);
    hv_done_reset (&done);
    s_take (&sim);
    CHECK (s_count (&sim, WIRE_REPORT, from) == 0);
    CHECK (s_answer (&sim, HV_JOB_LIST, 0, s_fill_list, NULL) == 0);
    CHECK (s_count (&sim, WIRE_REPORT, from) == 1);

    //  Not registered: a request is ignored.
    wire_msg_t reject;
    wire_msg_init (&reject, WIRE_REJECT);
    reject.body.reject.reregister = true;
    s_message (&sim, &reject);
    CHECK (agent_core_generation (sim.core) == 0);
    CHECK (s_last (&sim, WIRE_HELLO) && s_last (&sim, WIRE_HELLO)->at == sim.now);
    s_send_report_request (&sim);
    CHECK (s_jobs (&sim, HV_JOB_LIST) == 0);
    s_close (&sim);
    return failures;
}

//  Lifecycle notes become LOOKUP jobs and then EVENTs with the state looked up; a domain
//  gone is UNDEFINED; a failed lookup sends nothing; too many lookups out: a report instead.
static void
s_fill_domain_a (hv_done_t *done, void *arg)
{
    (void) arg;
    snprintf (done->domain.uuid, WIRE_ID_SIZE, "%s", S_UUID_A);
    snprintf (done->domain.name, WIRE_NAME_SIZE, "vm-a");
    done->domain.state = DOMAIN_RUNNING;
    done->domain.vcpus = 2;
}

static int
s_case_events (void)
{
    int failures = 0;
    s_sim_t sim;
    agent_core_config_t config = s_config ();
    CHECK (s_registered (&sim, &config) == 0);
    size_t from = sim.got_count;
    s_note (&sim, HV_NOTE_EVENT, EVENT_STARTED, S_UUID_A, "vm-a");
    s_note (&sim, HV_NOTE_EVENT, EVENT_UNDEFINED, S_UUID_B, "vm-b");
    s_note (&sim, HV_NOTE_EVENT, EVENT_UNDEFINED, S_UUID_A, "vm-a");
    CHECK (s_jobs (&sim, HV_JOB_LOOKUP) == 3 && sim.got_count == from);
    CHECK (s_answer (&sim, HV_JOB_LOOKUP, 1, s_fill_domain_a, NULL) == 0);
    CHECK (s_answer (&sim, HV_JOB_LOOKUP, 0, NULL, NULL) == 0);
    CHECK (s_answer (&sim, HV_JOB_LOOKUP, 1, s_fill_domain_a, NULL) == 0);
    CHECK (s_count (&sim, WIRE_EVENT, from) == 3);
    const wire_event_t *started = &sim.got [from].msg.body.event;
    const wire_event_t *gone = &sim.got [from + 1].msg.body.event;
    const wire_event_t *transient = &sim.got [from + 2].msg.body.event;
    CHECK (started->kind == EVENT_STARTED && started->domain.state == DOMAIN_RUNNING
           && started->domain.vcpus == 2);
    CHECK (gone->kind == EVENT_UNDEFINED && strcmp (gone->domain.uuid, S_UUID_B) == 0
           && strcmp (gone->domain.name, "vm-b") == 0 && gone->domain.state == DOMAIN_SHUTOFF);
    CHECK (transient->kind == EVENT_DEFINED);       // undefined but running: still there
    CHECK (agent_core_stats (sim.core)->events == 3);

    from = sim.got_count;
    s_note (&sim, HV_NOTE_EVENT, EVENT_STOPPED, S_UUID_A, "vm-a");
    CHECK (s_answer (&sim, HV_JOB_LOOKUP, -1, NULL, NULL) == 0);
    CHECK (sim.got_count == from);

    //  A hung hypervisor: lookups pile up to a bound, then the core asks for a report.
    for (int i = 0; i < 300; i++)
        s_note (&sim, HV_NOTE_EVENT, EVENT_STARTED, S_UUID_A, "vm-a");
    CHECK (s_jobs (&sim, HV_JOB_LOOKUP) == 256);
    CHECK (s_jobs (&sim, HV_JOB_LIST) == 1);
    CHECK (agent_core_stats (sim.core)->lookups_dropped == 44);
    s_close (&sim);
    return failures;
}

//  Fencing: another host generation, an older leader epoch or an older VM generation is
//  STALE and never becomes a job; a newer epoch is obeyed and makes the old one stale.
static int
s_case_stale_generation (void)
{
    int failures = 0;
    s_sim_t sim;
    agent_core_config_t config = s_config ();
    CHECK (s_open (&sim, &config) == 0 && s_connect (&sim) == 0);
    wire_command_t command = s_command (400, COMMAND_START, S_UUID_A, 1);
    s_send_command (&sim, &command);                // before WELCOME
    const wire_command_result_t *result = s_result (&sim, 400);
    CHECK (result && result->status == RESULT_STALE
           && strcmp (result->message, "stale: this agent is not registered") == 0);
    CHECK (s_last (&sim, WIRE_COMMAND_RESULT)->msg.generation == 0);
    s_send_welcome (&sim, s_last (&sim, WIRE_HELLO)->msg.seq, S_GENERATION, 0);
    CHECK (s_answer (&sim, HV_JOB_LIST, 0, s_fill_list, NULL) == 0);

    command = s_command (401, COMMAND_START, S_UUID_A, 1);
    command.host_generation = 2;
    s_send_command (&sim, &command);
    result = s_result (&sim, 401);
    CHECK (result && result->status == RESULT_STALE && strcmp (result->message,
           "stale: meant for host generation 2, this agent is generation 3") == 0);
    command = s_command (402, COMMAND_START, S_UUID_A, 1);
    command.leader_epoch = S_EPOCH - 1;
    s_send_command (&sim, &command);
    result = s_result (&sim, 402);
    CHECK (result && result->status == RESULT_STALE
           && strcmp (result->message, "stale: leader epoch 4 is older than 5") == 0);
    CHECK (sim.job_count == 0);

    command = s_command (403, COMMAND_START, S_UUID_A, 5);
    s_send_command (&sim, &command);
    CHECK (s_result (&sim, 403) && s_result (&sim, 403)->status == RESULT_ACCEPTED);
    CHECK (s_jobs (&sim, HV_JOB_COMMAND) == 1);
    CHECK (s_answer (&sim, HV_JOB_COMMAND, 0, NULL, NULL) == 0);
    CHECK (s_result (&sim, 403)->status == RESULT_DONE);
    command = s_command (404, COMMAND_STOP, S_UUID_A, 4);
    s_send_command (&sim, &command);
    result = s_result (&sim, 404);
    CHECK (result && result->status == RESULT_STALE && result->vm_generation == 4
           && strcmp (result->message, "stale: vm generation 4 is older than 5") == 0);
    command = s_command (405, COMMAND_START, S_UUID_B, 1);     // per VM: B's 1 is fine
    s_send_command (&sim, &command);
    CHECK (s_result (&sim, 405)->status == RESULT_ACCEPTED);
    CHECK (s_answer (&sim, HV_JOB_COMMAND, 0, NULL, NULL) == 0);

    command = s_command (406, COMMAND_STOP, S_UUID_A, 5);
    command.leader_epoch = S_EPOCH + 1;
    s_send_command (&sim, &command);
    CHECK (s_result (&sim, 406)->status == RESULT_ACCEPTED);
    CHECK (s_answer (&sim, HV_JOB_COMMAND, 0, NULL, NULL) == 0);
    command = s_command (407, COMMAND_START, S_UUID_A, 6);
    s_send_command (&sim, &command);
    result = s_result (&sim, 407);
    CHECK (result && result->status == RESULT_STALE
           && strcmp (result->message, "stale: leader epoch 5 is older than 6") == 0);
    CHECK (sim.job_count == 0);
    //  Many VMs: the generation table grows and keeps every entry.
    for (uint64_t i = 0; i < 500; i++) {
        char uuid [WIRE_ID_SIZE];
        snprintf (uuid, sizeof uuid, "dddddddd-0000-4000-8000-%012" PRIu64, i);
        command = s_command (1000 + i, COMMAND_ABORT, uuid, 10);
        command.leader_epoch = S_EPOCH + 1;
        s_send_command (&sim, &command);
    }
    size_t stale = 0;
    for (uint64_t i = 0; i < 500; i++) {
        char uuid [WIRE_ID_SIZE];
        snprintf (uuid, sizeof uuid, "dddddddd-0000-4000-8000-%012" PRIu64, i);
        command = s_command (2000 + i, COMMAND_ABORT, uuid, 9);
        command.leader_epoch = S_EPOCH + 1;
        s_send_command (&sim, &command);
        result = s_result (&sim, 2000 + i);
        stale += result && result->status == RESULT_STALE;
    }
    CHECK (stale == 500);
    s_close (&sim);
    return failures;
}

//  A command sent again is acknowledged again and runs once: "running" while on a worker,
//  "queued" behind another command of its VM, its own result again once finished.
static int
s_case_duplicate_command (void)
{
    int failures = 0;
    s_sim_t sim;
    agent_core_config_t config = s_config ();
    CHECK (s_registered (&sim, &config) == 0);
    wire_command_t start = s_command (10, COMMAND_START, S_UUID_A, 1);
    start.domain_xml = "<domain/>";
    s_send_command (&sim, &start);
    CHECK (s_result (&sim, 10) && s_result (&sim, 10)->status == RESULT_ACCEPTED
           && strcmp (s_result (&sim, 10)->message, "accepted") == 0);
    CHECK (s_jobs (&sim, HV_JOB_COMMAND) == 1);
    int index = s_job (&sim, HV_JOB_COMMAND);
    CHECK (sim.jobs [index].command.domain_xml
           && strcmp (sim.jobs [index].command.domain_xml, "<domain/>") == 0
           && sim.jobs [index].command.domain_xml != start.domain_xml);     // a copy
    s_send_command (&sim, &start);
    CHECK (strcmp (s_result (&sim, 10)->message, "running") == 0);
    CHECK (s_jobs (&sim, HV_JOB_COMMAND) == 1);

    wire_command_t stop = s_command (11, COMMAND_STOP, S_UUID_A, 1);
    s_send_command (&sim, &stop);
    CHECK (strcmp (s_result (&sim, 11)->message, "accepted") == 0);
    CHECK (s_jobs (&sim, HV_JOB_COMMAND) == 1);     // one at a time per VM
    s_send_command (&sim, &stop);
    CHECK (strcmp (s_result (&sim, 11)->message, "queued") == 0);
    CHECK (agent_core_pending (sim.core) == 2);

    size_t from = sim.got_count;
    CHECK (s_answer (&sim, HV_JOB_COMMAND, 0, NULL, NULL) == 0);
    CHECK (s_result (&sim, 10)->status == RESULT_DONE
           && strcmp (s_result (&sim, 10)->message, "did it") == 0);
    CHECK (s_jobs (&sim, HV_JOB_COMMAND) == 1);     // now the STOP
    CHECK (sim.jobs [s_job (&sim, HV_JOB_COMMAND)].command.id == 11);
    CHECK (s_answer (&sim, HV_JOB_COMMAND, 0, NULL, NULL) == 0);
    CHECK (s_count (&sim, WIRE_COMMAND_RESULT, from) == 2);

    //  Finished: the same results again, nothing runs.
    from = sim.got_count;
    s_send_command (&sim, &start);
    s_send_command (&sim, &stop);
    CHECK (s_count (&sim, WIRE_COMMAND_RESULT, from) == 2);
    CHECK (s_result (&sim, 10)->status == RESULT_DONE && s_result (&sim, 10)->elapsed_ms == 7);
    CHECK (s_result (&sim, 11)->status == RESULT_DONE);
    CHECK (sim.job_count == 0 && agent_core_pending (sim.core) == 0);

    //  Two workers: a third VM's command waits for a free one.
    wire_command_t a = s_command (20, COMMAND_MIGRATE, S_UUID_A, 1);
    wire_command_t b = s_command (21, COMMAND_MIGRATE, S_UUID_B, 1);
    wire_command_t c = s_command (22, COMMAND_START, "cccccccc-0000-4000-8000-00000000000c", 1);
    s_send_command (&sim, &a);
    s_send_command (&sim, &b);
    s_send_command (&sim, &c);
    CHECK (s_jobs (&sim, HV_JOB_COMMAND) == 2);
    CHECK (sim.jobs [0].worker != sim.jobs [1].worker);
    CHECK (s_answer (&sim, HV_JOB_COMMAND, 0, NULL, NULL) == 0);
    CHECK (s_jobs (&sim, HV_JOB_COMMAND) == 2);
    s_close (&sim);
    return failures;
}

//  A migration past its timeout: ABORT jobs until one took, then the failure says why;
//  PROGRESS every 500 ms while it runs (one job out at a time).
static void
s_fill_progress (hv_done_t *done, void *arg)
{
    (void) arg;
    done->progress = (hv_progress_t) { 1000, 400, 600, 0 };
}

static int
s_case_migration_timeout (void)
{
    int failures = 0;
    s_sim_t sim;
    agent_core_config_t config = s_config ();
    CHECK (s_registered (&sim, &config) == 0);
    wire_command_t migrate = s_command (30, COMMAND_MIGRATE, S_UUID_A, 1);
    migrate.timeout_ms = 1200;
    int64_t sent = sim.now;
    s_send_command (&sim, &migrate);
    CHECK (s_jobs (&sim, HV_JOB_COMMAND) == 1);
    s_advance (&sim, sent + 500);
    CHECK (s_jobs (&sim, HV_JOB_PROGRESS) == 1);
    s_advance (&sim, sent + 1100);                  // the first PROGRESS still out
    CHECK (s_jobs (&sim, HV_JOB_PROGRESS) == 1);
    CHECK (s_answer (&sim, HV_JOB_PROGRESS, 1, s_fill_progress, NULL) == 0);
    const wire_command_result_t *progress = s_result (&sim, 30);
    CHECK (progress && progress->status == RESULT_PROGRESS && progress->data_processed == 400
           && progress->elapsed_ms == 1100
           && strcmp (progress->message, "migrating to 'h2'") == 0);
    CHECK (s_jobs (&sim, HV_JOB_ABORT) == 0);
    s_advance (&sim, sent + 1200);
    CHECK (s_jobs (&sim, HV_JOB_ABORT) == 0);       // "after" means after
    s_advance (&sim, sent + 1201);
    CHECK (s_jobs (&sim, HV_JOB_ABORT) == 1);
    s_advance (&sim, sent + 1300);
    CHECK (s_jobs (&sim, HV_JOB_ABORT) == 1);       // one at a time
    CHECK (s_answer (&sim, HV_JOB_ABORT, 0, NULL, NULL) == 0);     // not begun yet
    CHECK (s_jobs (&sim, HV_JOB_ABORT) == 0);
    s_advance (&sim, sim.now + 20);
    CHECK (s_jobs (&sim, HV_JOB_ABORT) == 1);       // again, 20 ms later
    CHECK (s_answer (&sim, HV_JOB_ABORT, 1, NULL, NULL) == 0);
    s_advance (&sim, sim.now + 200);
    CHECK (s_jobs (&sim, HV_JOB_ABORT) == 0);       // it took
    CHECK (s_answer (&sim, HV_JOB_COMMAND, -1, NULL, NULL) == 0);
    const wire_command_result_t *failed = s_result (&sim, 30);
    CHECK (failed && failed->status == RESULT_FAILED && strcmp (failed->message,
           "timed out after 1200 ms and aborted: operation aborted") == 0);
    //  A PROGRESS answer that crossed the result is ignored.
    size_t from = sim.got_count;
    while (s_answer (&sim, HV_JOB_PROGRESS, 1, s_fill_progress, NULL) == 0)
        ;
    CHECK (sim.got_count == from);
    CHECK (agent_core_next_deadline (sim.core) == s_last (&sim, WIRE_HEARTBEAT)->at
                                                  + S_HEARTBEAT_MS);
    s_close (&sim);
    return failures;
}

//  Stopping: queued commands dropped, the running one looked after to its end, nothing
//  else (no heartbeats, no HELLO, no reports).
static int
s_case_stop (void)
{
    int failures = 0;
    s_sim_t sim;
    agent_core_config_t config = s_config ();
    CHECK (s_registered (&sim, &config) == 0);
    wire_command_t migrate = s_command (40, COMMAND_MIGRATE, S_UUID_A, 1);
    migrate.timeout_ms = 300;
    wire_command_t stop = s_command (41, COMMAND_STOP, S_UUID_A, 1);
    s_send_command (&sim, &migrate);
    s_send_command (&sim, &stop);
    CHECK (agent_core_pending (sim.core) == 2);
    size_t from = sim.got_count;
    agent_core_stop (sim.core, sim.now, sim.fx);
    s_take (&sim);
    CHECK (agent_core_pending (sim.core) == 1);
    s_advance (&sim, sim.now + 301);
    CHECK (s_jobs (&sim, HV_JOB_ABORT) == 1);
    CHECK (s_answer (&sim, HV_JOB_ABORT, 1, NULL, NULL) == 0);
    CHECK (s_answer (&sim, HV_JOB_COMMAND, -1, NULL, NULL) == 0);
    CHECK (agent_core_pending (sim.core) == 0);
    CHECK (s_result (&sim, 40)->status == RESULT_FAILED);
    s_advance (&sim, sim.now + 5000);
    CHECK (s_count (&sim, WIRE_HEARTBEAT, from) == 0);
    CHECK (s_count (&sim, WIRE_COMMAND_RESULT, from) == 1);
    CHECK (sim.got_count == from + 1);
    CHECK (agent_core_next_deadline (sim.core) == INT64_MAX);
    s_close (&sim);
    return failures;
}

//  One fixed script of inputs into a fresh core; what it said stays in sim.
static void
s_script (s_sim_t *sim)
{
    agent_core_config_t config = s_config ();
    if (s_registered (sim, &config))
        return;
    wire_command_t start = s_command (50, COMMAND_START, S_UUID_B, 2);
    s_send_command (sim, &start);
    s_advance (sim, sim->now + 777);
    s_note (sim, HV_NOTE_EVENT, EVENT_STARTED, S_UUID_B, "vm-b");
    s_answer (sim, HV_JOB_COMMAND, 0, NULL, NULL);
    s_answer (sim, HV_JOB_LOOKUP, 0, NULL, NULL);
    s_advance (sim, sim->now + 3333);
    s_answer (sim, HV_JOB_LIST, 0, s_fill_list, NULL);
}

//  Determinism: two cores fed the same inputs emit byte-identical messages.
static int
s_case_deterministic (void)
{
    int failures = 0;
    s_sim_t one, two;
    s_script (&one);
    s_script (&two);
    CHECK (one.got_count > 40 && one.got_count == two.got_count);
    for (size_t i = 0; i < one.got_count && i < two.got_count; i++) {
        uint8_t *a = NULL, *b = NULL;
        size_t a_size = 0, b_size = 0;
        char err [256];
        CHECK (wire_encode (&one.got [i].msg, &a, &a_size, err, sizeof err) == 0);
        if (!a)
            fprintf (stderr, "  message %zu (%s): %s\n", i,
                     wire_kind_name (one.got [i].msg.kind), err);
        CHECK (wire_encode (&two.got [i].msg, &b, &b_size, err, sizeof err) == 0);
        CHECK (a && b && a_size == b_size && memcmp (a, b, a_size) == 0);
        CHECK (one.got [i].at == two.got [i].at);
        free (a);
        free (b);
    }
    s_close (&one);
    s_close (&two);
    return failures;
}

//  --------------------------------------------------------------------------

static const check_case_t s_cases [] = {
    { "hello_retry", s_case_hello_retry },
    { "connect_backoff", s_case_connect_backoff },
    { "welcome_newest", s_case_welcome_newest },
    { "heartbeat_deadline", s_case_heartbeat_deadline },
    { "report_on_request", s_case_report_on_request },
    { "events", s_case_events },
    { "stale_generation", s_case_stale_generation },
    { "duplicate_command", s_case_duplicate_command },
    { "migration_timeout", s_case_migration_timeout },
    { "stop", s_case_stop },
    { "deterministic", s_case_deterministic },
};

int
main (int argc, char **argv)
{
    setvbuf (stdout, NULL, _IOLBF, 0);
    log_init ("test_agent_core", getenv ("VMSCHED_TEST_LOG")? LOG_LEVEL_DEBUG: LOG_LEVEL_NONE);
    return CHECK_RUN_ALL ("agent_core", s_cases, argc, argv)? 1: 0;
}
