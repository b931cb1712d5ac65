/*  fixture_agent.h - a real agent on the fake hypervisor, with the test as its scheduler.

    The test binds a ROUTER where the scheduler would be (fixture_agent_env_t: a CURVE
    server with its own key pair, in a temporary directory that also holds the agents' key
    pair and state) and drives each agent single-threaded (fixture_agent_t): agent_run_for
    a short slice, collect whatever arrived on the ROUTER (decoded with wire_decode, stamped
    with the time it was seen), answer, change the fake hypervisor, repeat. Used by
    test_agent.c and test_commands.c; each keeps the checks on what the agent sent.
*/
#ifndef VMSCHED_FIXTURE_AGENT_H
#define VMSCHED_FIXTURE_AGENT_H

#include "agent.h"
#include "check.h"
#include "hv.h"
#include "hv_fake.h"
#include "wire.h"

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FIXTURE_AGENT_SLICE_MS  10      // agent_run_for slice between two looks at the ROUTER
#define FIXTURE_AGENT_MAX_GOT   1024    // messages one agent's fixture may collect
//  A new agent's first HELLO is dropped when it leaves before the CURVE handshake is done
//  (ZMQ_IMMEDIATE; slow under valgrind): wait for the retry, hello_retry_ms later.
#define FIXTURE_AGENT_FIRST_HELLO_MS 3000

//  What every agent of one test program shares: the directory, the keys, the ROUTER.
typedef struct {
    char dir [64];              // temporary directory: agent state dirs and key files
    char agent_key [128];       // dir/agent.key: every agent's public key (+ "_secret")
    char scheduler_key [128];   // dir/scheduler.key: the fake scheduler's public key
    char endpoint [64];         // where the ROUTER is bound
    zsock_t *router;            // the fake scheduler every agent connects to (non-blocking)
    char program [64];          // "test_SUITE": the name for log_init (which keeps it)
} fixture_agent_env_t;

//  One message the agent sent, as the scheduler saw it.
typedef struct {
    wire_msg_t msg;             // decoded (owns report domains)
    int64_t at;                 // zclock_mono () when the test received it
} fixture_agent_got_t;

//  One agent under test, its hypervisor and everything it sent.
typedef struct {
    fixture_agent_env_t *env;   // borrowed: the fake scheduler it talks to
    agent_config_t config;      // set up by fixture_agent_setup, adjusted by the case
    wire_capacity_t capacity;   // what fixture_agent_start_fake's hypervisor reports
    agent_t *agent;             // under test
    hv_t *hv;                   // borrowed (the agent owns it): fault injection
    hv_fake_t *fake;            // the fake hypervisor's control handle, or NULL
    zframe_t *peer;             // the agent's routing id, from its first message
    fixture_agent_got_t *got;   // FIXTURE_AGENT_MAX_GOT entries
    size_t got_count;           // used entries of got
    size_t cursor;              // fixture_agent_wait looks from here
} fixture_agent_t;

//  --------------------------------------------------------------------------
//  The environment

//  Clears self and makes the directory /tmp/vmsched-SUITE-test-XXXXXX, the agents' key
//  pair (as vmsched-agent --keygen makes it, owner "test_SUITE") and the fake scheduler's
//  (kept in memory; only its public key is written), and binds the ROUTER to endpoint.
//  0, or -1 with what failed in err ("cannot ..."), nothing left behind.
int fixture_agent_env_open (fixture_agent_env_t *self, const char *suite, const char *endpoint,
                            char *err, size_t err_size);

//  Closes the ROUTER and removes the directory; does nothing more on an env that is closed
//  already or failed to open.
void fixture_agent_env_close (fixture_agent_env_t *self);

//  Throws away everything the ROUTER holds.
void fixture_agent_env_drain (fixture_agent_env_t *self);

//  The whole main of a test program of agents: stdout line-buffered (verdicts between the
//  stderr details), czmq quiet, env (the program's own, for its cases) opened on endpoint,
//  log_init ("test_SUITE", everything when VMSCHED_TEST_LOG is set, else nothing), the
//  cases run (all, or those named in argv), env closed. Prints "FAIL unit/SUITE: ..." when
//  env cannot be opened. The exit status: 0 when every case passed, else 1.
int fixture_agent_main (fixture_agent_env_t *env, const char *suite, const char *endpoint,
                        const check_case_t *cases, size_t count, int argc, char **argv);

//  --------------------------------------------------------------------------
//  One agent

//  Clears self and sets up the config of an agent called name whose state lives in
//  env->dir/subdir: the env's scheduler and keys, libvirt_uri "fake:///", report_ms
//  60000, hello_retry_ms 1000, log_level "error"; and a capacity of 8 cpus, 16384 MiB,
//  cpu_model "fake-model" (nothing else). The case adjusts the rest.
void fixture_agent_setup (fixture_agent_t *self, fixture_agent_env_t *env, const char *name,
                          const char *subdir);

//  Drains the ROUTER and starts the agent on hv (taken, also on failure; NULL counts as a
//  failure). 0, or -1 after saying why on stderr (fixture_agent_stop cleans up either way).
int fixture_agent_start (fixture_agent_t *self, hv_t *hv);

//  fixture_agent_start on a new fake hypervisor (not yet connected) reporting
//  self->capacity; its control handle goes to self->fake. 0, or -1.
int fixture_agent_start_fake (fixture_agent_t *self);

//  Destroys the agent and what it sent, drains the ROUTER and clears self.
void fixture_agent_stop (fixture_agent_t *self);

//  Takes everything the ROUTER holds; keeps the messages of this agent (those of a
//  previous case's agent are dropped).
void fixture_agent_collect (fixture_agent_t *self);

//  Runs the agent for about ms, collecting what it sends.
void fixture_agent_pump (fixture_agent_t *self, int ms);

//  The first message of kind at or after the cursor, waiting up to timeout_ms for it; moves
//  the cursor past it. Borrowed; NULL on timeout.
const fixture_agent_got_t *fixture_agent_wait (fixture_agent_t *self, wire_kind_t kind,
                                               int timeout_ms);

//  Collects, then moves the cursor to the end: later waits see only what arrives from now
//  on. Returns the index the next message will get (for counts "from now").
size_t fixture_agent_mark (fixture_agent_t *self);

//  How many messages of kind were collected from index from on.
size_t fixture_agent_count (const fixture_agent_t *self, wire_kind_t kind, size_t from);

//  The newest message of kind (borrowed), or NULL.
const fixture_agent_got_t *fixture_agent_last (const fixture_agent_t *self, wire_kind_t kind);

//  The domain uuid of report (borrowed), or NULL.
const wire_domain_t *fixture_agent_find_domain (const wire_report_t *report, const char *uuid);

//  Sends first and, unless NULL, second (both taken) to the agent, after its routing id.
//  Says so on stderr, and sends nothing, when the agent has not sent anything yet.
void fixture_agent_send_frames (fixture_agent_t *self, zframe_t *first, zframe_t *second);

//  Sends msg (encoded; stays the caller's) to the agent as one frame.
void fixture_agent_send (fixture_agent_t *self, const wire_msg_t *msg);

//  Sends a WELCOME (seq 1) answering the HELLO hello_seq.
void fixture_agent_send_welcome (fixture_agent_t *self, uint64_t hello_seq, uint64_t generation,
                                 uint64_t epoch, uint32_t heartbeat_ms);

//  Answers the agent's newest HELLO with WELCOMEs until it is registered with generation
//  (tries for 3 s). 0, or -1 after saying so on stderr.
int fixture_agent_register (fixture_agent_t *self, uint64_t generation, uint64_t epoch,
                            uint32_t heartbeat_ms);

#endif
