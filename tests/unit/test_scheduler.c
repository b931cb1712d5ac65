/*  test_scheduler.c - a running scheduler against hostile and stale agent messages.

    Forks a real scheduler (temporary SQLite file, loopback TCP), then talks to it over
    DEALER sockets: garbage, oversized frames, wrong protocol versions, multi-frame messages,
    valid-but-nonsensical values, stale generations and replayed sequence numbers. After
    each, the scheduler must still answer, count the refusal, and keep its state.

    Every socket is a CURVE client, as in production: the scheduler has its own key pair
    (secret_key) and allows the test's admin key at start (admin_key); the admin then allows
    the test agent's key as host 'hx' (host.add), so that the hostile messages come from an
    authenticated agent and reach the decoder. tests/unit/test_security.c covers who may
    connect and what each key may do.
*/
#include "check.h"
#include "fixture_files.h"
#include "fixture_keys.h"
#include "fixture_wire.h"
#include "keys.h"
#include "log.h"
#include "scheduler.h"
#include "wire.h"
#include "vmsched.pb-c.h"

#include <czmq.h>
#include <jansson.h>
#include <signal.h>
#include <sys/wait.h>

#define S_AGENT_EP  "tcp://127.0.0.1:17190"
#define S_CTL_EP    "tcp://127.0.0.1:17191"

static const char *s_host_id = "33333333-3333-3333-3333-333333333333";

static fixture_keys_t s_scheduler_key;     // the scheduler's key pair

//  A DEALER connected to endpoint as a CURVE client with key, knowing the scheduler by
//  s_scheduler_key; receives wait up to 2 s.
static zsock_t *
s_connect (const char *endpoint, const fixture_keys_t *key)
{
    zsock_t *sock = fixture_keys_client (endpoint, key, s_scheduler_key.public_key, 100);
    zsock_set_rcvtimeo (sock, 2000);
    return sock;
}

//  Receives one message; returns its kind (WIRE_NONE on timeout or error).
static wire_kind_t
s_recv (zsock_t *sock, wire_msg_t *msg)
{
    zframe_t *frame = zframe_recv (sock);
    if (!frame)
        return WIRE_NONE;
    char err [256];
    int rc = wire_decode (zframe_data (frame), zframe_size (frame), msg, err, sizeof err);
    zframe_destroy (&frame);
    return rc? WIRE_NONE: msg->kind;
}

//  A ctl request with the argument JSON text args (NULL: none); returns the reply's JSON
//  (caller frees) or NULL, and the reply's status in *status (-1: no reply) and its error
//  in error (when given).
static char *
s_ctl_text (zsock_t *ctl, const char *verb, const char *args, int *status, char *error,
            size_t error_size)
{
    wire_msg_t msg;
    wire_msg_init (&msg, WIRE_CTL_REQUEST);
    snprintf (msg.body.request.verb, sizeof msg.body.request.verb, "%s", verb);
    wire_request_set_args (&msg.body.request, args);
    fixture_wire_send (ctl, &msg);
    if (status)
        *status = -1;
    if (s_recv (ctl, &msg) != WIRE_CTL_REPLY)
        return NULL;
    if (status)
        *status = msg.body.reply.status;
    if (error)
        snprintf (error, error_size, "%s", msg.body.reply.error);
    if (msg.body.reply.status && !error)
        fprintf (stderr, "  %s: status %d: %s\n", verb, msg.body.reply.status,
                 msg.body.reply.error);
    char *json = msg.body.reply.json? strdup (msg.body.reply.json): NULL;
    wire_msg_reset (&msg);
    return json;
}

//  A ctl request with the argument object args (taken; NULL: none), as s_ctl_text.
static char *
s_ctl_args (zsock_t *ctl, const char *verb, json_t *args, int *status)
{
    char *text = args? json_dumps (args, JSON_COMPACT): NULL;
    json_decref (args);
    char *json = s_ctl_text (ctl, verb, text, status, NULL, 0);
    free (text);
    return json;
}

//  A ctl request without arguments; returns the reply's JSON (caller frees) or NULL.
static char *
s_ctl (zsock_t *ctl, const char *verb)
{
    return s_ctl_args (ctl, verb, NULL, NULL);
}

//  The "rejected" counter from status (-1 when the scheduler does not answer).
static long
s_rejected (zsock_t *ctl)
{
    char *json = s_ctl (ctl, "status");
    if (!json)
        return -1;
    const char *at = strstr (json, "\"rejected\":");
    long rejected = at? atol (at + strlen ("\"rejected\":")): -1;
    free (json);
    return rejected;
}

static void
s_agent_msg (wire_msg_t *msg, wire_kind_t kind, uint64_t seq, uint64_t generation)
{
    wire_msg_init (msg, kind);
    strcpy (msg->host_id, s_host_id);
    msg->seq = seq;
    msg->session = 4242;
    msg->generation = generation;
}

static void
s_run_scheduler (const char *dir)
{
    scheduler_config_t config;
    scheduler_config_defaults (&config);
    strcpy (config.agent_endpoint, S_AGENT_EP);
    strcpy (config.ctl_endpoint, S_CTL_EP);
    snprintf (config.database, sizeof config.database, "%s/vmsched.db", dir);
    config.heartbeat_ms = 100;
    config.suspect_after_ms = 5000;
    config.down_after_ms = 10000;
    snprintf (config.secret_key, sizeof config.secret_key, "%s/scheduler.key_secret", dir);
    snprintf (config.admin_key, sizeof config.admin_key, "%s/admin.key", dir);
    log_init ("scheduler-under-test", LOG_LEVEL_ERROR);
    char err [512];
    scheduler_t *scheduler = scheduler_new (&config, err, sizeof err);
    if (!scheduler) {
        fprintf (stderr, "  cannot start scheduler: %s\n", err);
        _exit (3);
    }
    scheduler_run (scheduler);
    scheduler_destroy (&scheduler);
    _exit (0);
}

int
main (void)
{
    int failures = 0;
    char dir [64];
    if (fixture_files_tempdir (dir, sizeof dir, "sched"))
        return check_report ("scheduler", 1);
    //  Key pairs, before the fork: the scheduler's, the first admin's, host hx's.
    fixture_keys_t admin_key, agent_key;
    if (fixture_keys_make (&s_scheduler_key, dir, "scheduler")
    ||  fixture_keys_make (&admin_key, dir, "admin")
    ||  fixture_keys_make (&agent_key, dir, "hx"))
        return check_report ("scheduler", 1);
    pid_t child = fork ();
    if (child == 0)
        s_run_scheduler (dir);

    zsock_t *ctl = s_connect (S_CTL_EP, &admin_key);
    long rejected = -1;
    for (int i = 0; i < 50 && rejected < 0; i++)
        rejected = s_rejected (ctl);
    CHECK (rejected == 0);

    //  The admin allows the test agent's key as host hx.
    int status = -1;
    char *added = s_ctl_args (ctl, "host.add", json_pack ("{s:s, s:s}", "name", "hx", "key",
                              agent_key.public_key), &status);
    CHECK (status == 0 && added && strstr (added, "\"name\":\"hx\"")
           && strstr (added, agent_key.public_key));
    free (added);

    //  Request arguments are read strictly: a wrong type, an unknown field, a duplicate key
    //  are bad usage naming the field; a clusterctl sending the old key=value strings is
    //  told so.
    static const struct {
        const char *verb, *args, *error;
    } bad [] = {
        { "audit", "{\"limit\":\"5\"}",
          "bad request: field 'limit': expected an integer, got string" },
        { "vm.list", "{\"hots\":[\"h1\"]}",
          "bad request: unknown field 'hots' for verb 'vm list' (it takes no arguments)" },
        { "host.show", "{\"name\":\"hx\",\"name\":\"hy\"}",
          "bad request: field 'name' given twice: expected each field once" },
        { "host.show", "[\"hx\"]", "bad request: arguments: expected a JSON object, got array" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++) {
        char error [1024] = "";
        char *json = s_ctl_text (ctl, bad [i].verb, bad [i].args, &status, error, sizeof error);
        CHECK (status == 2 && !json && streq (error, bad [i].error));
        if (!streq (error, bad [i].error))
            fprintf (stderr, "  %s %s: %s\n", bad [i].verb, bad [i].args, error);
        free (json);
    }
    Vmsched__Envelope old = VMSCHED__ENVELOPE__INIT;
    Vmsched__CtlRequest old_request = VMSCHED__CTL_REQUEST__INIT;
    char *old_args [] = { "hx" };
    old.has_version = true;
    old.version = WIRE_PROTOCOL_VERSION;
    old.body_case = VMSCHED__ENVELOPE__BODY_CTL_REQUEST;
    old.ctl_request = &old_request;
    old_request.verb = "host.show";
    old_request.n_legacy_args = 1;
    old_request.legacy_args = old_args;
    uint8_t old_packed [128];
    size_t old_size = vmsched__envelope__pack (&old, old_packed);
    zmq_send (zsock_resolve (ctl), old_packed, old_size, 0);
    wire_msg_t old_reply;
    CHECK (s_recv (ctl, &old_reply) == WIRE_CTL_REPLY && old_reply.body.reply.status == 2
           && strstr (old_reply.body.reply.error, "arguments as key=value strings"));
    wire_msg_reset (&old_reply);
    zsock_t *agent = s_connect (S_AGENT_EP, &agent_key);

    //  Garbage, a wrong version, two body frames: each refused and counted.
    zstr_send (agent, "this is not a protobuf envelope at all");
    Vmsched__Envelope envelope = VMSCHED__ENVELOPE__INIT;
    Vmsched__Heartbeat heartbeat = VMSCHED__HEARTBEAT__INIT;
    envelope.has_version = true;
    envelope.version = 77;
    envelope.body_case = VMSCHED__ENVELOPE__BODY_HEARTBEAT;
    envelope.heartbeat = &heartbeat;
    uint8_t packed [64];
    size_t size = vmsched__envelope__pack (&envelope, packed);
    zmq_send (zsock_resolve (agent), packed, size, 0);
    zstr_sendm (agent, "one");
    zstr_send (agent, "two");
    zclock_sleep (200);
    CHECK (s_rejected (ctl) == 3);

    //  Valid-but-nonsensical values: unknown enum, absurd vCPU count.
    Vmsched__Event event = VMSCHED__EVENT__INIT;
    Vmsched__Domain domain = VMSCHED__DOMAIN__INIT;
    envelope.version = WIRE_PROTOCOL_VERSION;
    envelope.body_case = VMSCHED__ENVELOPE__BODY_EVENT;
    envelope.event = &event;
    event.has_kind = true;
    event.kind = 1000;
    event.domain = &domain;
    domain.uuid = (char *) s_host_id;
    domain.name = "x";
    size = vmsched__envelope__pack (&envelope, packed);
    zmq_send (zsock_resolve (agent), packed, size, 0);
    event.kind = VMSCHED__EVENT_KIND__EVENT_KIND_STARTED;
    domain.has_vcpus = true;
    domain.vcpus = 4000000000u;
    size = vmsched__envelope__pack (&envelope, packed);
    zmq_send (zsock_resolve (agent), packed, size, 0);
    zclock_sleep (200);
    CHECK (s_rejected (ctl) == 5);

    //  An oversized frame: libzmq drops the connection; the scheduler carries on.
    zsock_t *big = s_connect (S_AGENT_EP, &agent_key);
    size_t huge = WIRE_MAX_MESSAGE + 1024;
    uint8_t *blob = calloc (1, huge);
    zmq_send (zsock_resolve (big), blob, huge, 0);
    free (blob);
    zclock_sleep (200);
    zsock_destroy (&big);
    CHECK (s_rejected (ctl) == 5);

    //  A proper registration still works, and stale messages are refused.
    wire_msg_t msg, reply;
    s_agent_msg (&msg, WIRE_HELLO, 10, 0);
    strcpy (msg.body.hello.host_id, s_host_id);
    strcpy (msg.body.hello.name, "hx");
    msg.body.hello.capacity.cpus = 2;
    msg.body.hello.capacity.memory_mib = 2048;
    fixture_wire_send (agent, &msg);
    CHECK (s_recv (agent, &reply) == WIRE_WELCOME);
    CHECK (reply.body.welcome.generation == 1 && reply.body.welcome.hello_seq == 10);
    wire_msg_reset (&reply);

    s_agent_msg (&msg, WIRE_HEARTBEAT, 11, 7);      // wrong generation
    fixture_wire_send (agent, &msg);
    CHECK (s_recv (agent, &reply) == WIRE_REJECT && reply.body.reject.reregister);
    wire_msg_reset (&reply);
    s_agent_msg (&msg, WIRE_HEARTBEAT, 12, 1);      // current: accepted; no report yet,
    fixture_wire_send (agent, &msg);                // so the scheduler asks for one
    CHECK (s_recv (agent, &reply) == WIRE_REPORT_REQUEST);
    wire_msg_reset (&reply);
    s_agent_msg (&msg, WIRE_HEARTBEAT, 12, 1);      // replayed seq
    fixture_wire_send (agent, &msg);
    s_agent_msg (&msg, WIRE_HELLO, 9, 0);           // a late, older hello
    strcpy (msg.body.hello.host_id, s_host_id);
    strcpy (msg.body.hello.name, "hx");
    msg.body.hello.capacity.cpus = 2;
    msg.body.hello.capacity.memory_mib = 2048;
    fixture_wire_send (agent, &msg);
    zclock_sleep (200);
    CHECK (s_rejected (ctl) == 8);

    //  A different host id may not take the name.
    s_agent_msg (&msg, WIRE_HELLO, 1, 0);
    strcpy (msg.host_id, "44444444-4444-4444-4444-444444444444");
    strcpy (msg.body.hello.host_id, msg.host_id);
    strcpy (msg.body.hello.name, "hx");
    msg.body.hello.capacity.cpus = 2;
    msg.body.hello.capacity.memory_mib = 2048;
    fixture_wire_send (agent, &msg);
    CHECK (s_recv (agent, &reply) == WIRE_REJECT && !reply.body.reject.reregister);
    CHECK (strstr (reply.body.reject.reason, "already registered") != NULL);
    wire_msg_reset (&reply);

    //  State intact: one host, generation 1, up.
    char *hosts = s_ctl (ctl, "host.list");
    CHECK (hosts && strstr (hosts, "\"name\":\"hx\"") && strstr (hosts, "\"generation\":1")
           && strstr (hosts, "\"state\":\"up\"") && !strstr (hosts, "44444444"));
    free (hosts);

    zsock_destroy (&agent);
    zsock_destroy (&ctl);
    kill (child, SIGTERM);
    status = 0;
    waitpid (child, &status, 0);
    CHECK (WIFEXITED (status) && WEXITSTATUS (status) == 0);
    CHECK (fixture_files_remove_dir (dir) == 0);
    return check_report ("scheduler", failures);
}
