/*  test_security.c - who may talk to a running scheduler, and what each key may do.

    Forks a real scheduler (temporary SQLite file, loopback TCP, its own CURVE key pair, the
    test's admin key as admin_key; its log goes to s_dir/scheduler.log), then talks to it
    over DEALER sockets as the parties of DESIGN.md §7 would: the admin, operators and
    viewers it allows, hosts whose keys it allows, and strangers. Each case checks what the
    scheduler answers (or that it says nothing), what it logs, what its audit log holds and
    that the cluster state a refused party aimed at is unchanged. Refused handshakes are
    checked as "no reply within 500 ms" plus the scheduler's log line, and the counters of
    status's security object (test_auth.c checks auth.c's counters on auth.c itself). A last case calls scheduler_new in-process with
    unusable keys.

    Prints one `PASS unit/security/CASE` or `FAIL unit/security/CASE: ...` line per case;
    the failed checks themselves are on stderr just above. `test_security CASE...` runs
    only those cases (each case sets up the users and hosts it needs).
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

#include <ctype.h>
#include <czmq.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define S_AGENT_EP      "tcp://127.0.0.1:17510"
#define S_CTL_EP        "tcp://127.0.0.1:17511"
#define S_SPARE_AGENT_EP "tcp://127.0.0.1:17512"   // scheduler_new cases (never bound)
#define S_SPARE_CTL_EP  "tcp://127.0.0.1:17513"
#define S_SILENCE_MS    500         // "no reply" means none within this long
#define S_REPLY_MS      5000        // an answer that must come (valgrind is slow)

//  An answer to a ctl request.
typedef struct {
    int status;                     // 0, 1, 2; -1 when no answer came
    char error [WIRE_TEXT_SIZE * 4];    // the scheduler's message
    char *json;                     // owned result document, or NULL
} s_reply_t;

//  A test agent: its connection and what it stamps on its messages.
typedef struct {
    zsock_t *sock;                  // DEALER to the agents endpoint
    char host_id [WIRE_ID_SIZE];    // its host id
    char name [64];                 // its host name
    uint64_t session;               // its session
    uint64_t seq;                   // last seq sent
    uint64_t generation;            // from WELCOME
} s_agent_t;

static char s_dir [64];             // the temporary directory: keys, database, log
static char s_log [128];            // the scheduler's log (its stderr)
static fixture_keys_t s_scheduler_key;  // the scheduler's key pair
static fixture_keys_t s_admin_key;      // admin_key: allowed at start as user 'admin'
static zsock_t *s_admin;            // the admin's ctl connection

static const char *s_xml_format = "<domain type='kvm'><name>%s</name>"
    "<memory unit='MiB'>256</memory><vcpu>1</vcpu><os><type>hvm</type></os></domain>";

//  --------------------------------------------------------------------------
//  Keys and sockets

//  A DEALER to endpoint retrying once in 10 s (the scheduler is up, and a refused client's
//  every retry would be another refused handshake in its log, which it logs only 20 times
//  in full): a CURVE client with key (knowing the scheduler by server_key, or by
//  s_scheduler_key when NULL), or a plaintext client when key is NULL.
static zsock_t *
s_client (const char *endpoint, const fixture_keys_t *key, const char *server_key)
{
    return fixture_keys_client (endpoint, key,
                                server_key? server_key: s_scheduler_key.public_key, 10000);
}

//  The next frame within timeout_ms (caller destroys), or NULL.
static zframe_t *
s_frame (zsock_t *sock, int timeout_ms)
{
    zsock_set_rcvtimeo (sock, timeout_ms);
    return zframe_recv (sock);
}

//  True when nothing arrives on sock within S_SILENCE_MS but the lease configs the
//  scheduler sends every registered host (DESIGN.md §5.2) whatever it says.
static bool
s_silent (zsock_t *sock)
{
    int64_t end = zclock_mono () + S_SILENCE_MS;
    while (zclock_mono () < end) {
        zframe_t *frame = s_frame (sock, (int) (end - zclock_mono ()));
        if (!frame)
            return true;
        wire_msg_t msg;
        char err [256];
        bool lease = wire_decode (zframe_data (frame), zframe_size (frame), &msg, err,
                                  sizeof err) == 0 && msg.kind == WIRE_LEASE_CONFIG;
        zframe_destroy (&frame);
        if (!lease) {
            wire_msg_reset (&msg);
            return false;
        }
        wire_msg_reset (&msg);
    }
    return true;
}

static void
s_send_bytes (zsock_t *sock, const void *data, size_t size)
{
    zmq_send (zsock_resolve (sock), data, size, 0);
}

//  Receives one message within timeout_ms; its kind, or WIRE_NONE (msg then empty).
static wire_kind_t
s_recv_msg (zsock_t *sock, int timeout_ms, wire_msg_t *msg)
{
    wire_msg_init (msg, WIRE_NONE);
    zframe_t *frame = s_frame (sock, timeout_ms);
    if (!frame)
        return WIRE_NONE;
    char err [256];
    int rc = wire_decode (zframe_data (frame), zframe_size (frame), msg, err, sizeof err);
    zframe_destroy (&frame);
    if (rc)
        fprintf (stderr, "  undecodable message from the scheduler: %s\n", err);
    return rc? WIRE_NONE: msg->kind;
}

//  --------------------------------------------------------------------------
//  clusterctl requests

//  Sends verb with the argument object json_pack makes of format and args (format NULL: no
//  arguments) and waits up to timeout_ms for the answer.
static s_reply_t
s_ask_within (zsock_t *sock, int timeout_ms, const char *verb, const char *format,
              va_list args)
{
    s_reply_t reply = { -1, "", NULL };
    wire_msg_t msg;
    wire_msg_init (&msg, WIRE_CTL_REQUEST);
    msg.seq = 1;
    snprintf (msg.body.request.verb, sizeof msg.body.request.verb, "%s", verb);
    json_t *object = format? json_vpack_ex (NULL, 0, format, args): NULL;
    msg.body.request.args_json = object? json_dumps (object, JSON_COMPACT): NULL;
    json_decref (object);
    fixture_wire_send (sock, &msg);
    if (s_recv_msg (sock, timeout_ms, &msg) == WIRE_CTL_REPLY) {
        reply.status = msg.body.reply.status;
        snprintf (reply.error, sizeof reply.error, "%s", msg.body.reply.error);
        reply.json = msg.body.reply.json? strdup (msg.body.reply.json): NULL;
    }
    wire_msg_reset (&msg);
    return reply;
}

//  A ctl request that must be answered: s_ask (sock, "vm.start", "{s:s}", "name", "web").
static s_reply_t
s_ask (zsock_t *sock, const char *verb, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    s_reply_t reply = s_ask_within (sock, S_REPLY_MS, verb, format, args);
    va_end (args);
    return reply;
}

//  A ctl request expected to get no answer: waits only S_SILENCE_MS.
static s_reply_t
s_ask_briefly (zsock_t *sock, const char *verb, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    s_reply_t reply = s_ask_within (sock, S_SILENCE_MS, verb, format, args);
    va_end (args);
    return reply;
}

static void
s_reply_free (s_reply_t *reply)
{
    free (reply->json);
    reply->json = NULL;
}

//  The status of a request, freeing the answer; prints the error when it is not want.
static int
s_status (s_reply_t reply, int want)
{
    if (reply.status != want)
        fprintf (stderr, "  expected status %d, got %d: %s\n", want, reply.status,
                 reply.error);
    s_reply_free (&reply);
    return reply.status;
}

//  An admin request about name (with key and role unless NULL) that must succeed; 0 or 1
//  (a failed check).
static int
s_admin_does (const char *verb, const char *name, const char *key, const char *role)
{
    s_reply_t reply = key && role
        ? s_ask (s_admin, verb, "{s:s, s:s, s:s}", "name", name, "key", key, "role", role)
        : key? s_ask (s_admin, verb, "{s:s, s:s}", "name", name, "key", key)
        : s_ask (s_admin, verb, "{s:s}", "name", name);
    if (reply.status != 0)
        fprintf (stderr, "  admin %s %s: status %d: %s\n", verb, name, reply.status,
                 reply.error);
    int failed = reply.status != 0;
    s_reply_free (&reply);
    return failed;
}

//  The "rejected" counter of status (agent messages refused), or -1.
static long
s_rejected (void)
{
    s_reply_t reply = s_ask (s_admin, "status", NULL);
    const char *at = reply.json? strstr (reply.json, "\"rejected\":"): NULL;
    long rejected = at? atol (at + strlen ("\"rejected\":")): -1;
    s_reply_free (&reply);
    return rejected;
}

//  A counter of status's security object ("handshakes_not_curve", ...), or -1.
static long
s_security (const char *field)
{
    s_reply_t reply = s_ask (s_admin, "status", NULL);
    json_t *root = reply.json? json_loads (reply.json, 0, NULL): NULL;
    s_reply_free (&reply);
    json_t *value = json_object_get (json_object_get (root, "security"), field);
    long count = json_is_integer (value)? (long) json_integer_value (value): -1;
    if (count < 0)
        fprintf (stderr, "  status has no integer security.%s\n", field);
    json_decref (root);
    return count;
}

//  What the cluster's hosts are (name, id, state, generation, capacity, maintenance, in
//  list order), from host.list; caller frees; NULL when the scheduler did not answer.
static char *
s_hosts (void)
{
    s_reply_t reply = s_ask (s_admin, "host.list", NULL);
    json_t *root = reply.json? json_loads (reply.json, 0, NULL): NULL;
    s_reply_free (&reply);
    json_t *hosts = json_object_get (root, "hosts");
    if (!json_is_array (hosts)) {
        json_decref (root);
        return NULL;
    }
    char *digest = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&digest, &size);
    size_t index;
    json_t *host;
    json_array_foreach (hosts, index, host)
        fprintf (out, "%s %s %s gen=%" JSON_INTEGER_FORMAT " cpus=%" JSON_INTEGER_FORMAT
                 " mem=%" JSON_INTEGER_FORMAT " maint=%d;",
                 json_string_value (json_object_get (host, "name")),
                 json_string_value (json_object_get (host, "id")),
                 json_string_value (json_object_get (host, "state")),
                 json_integer_value (json_object_get (host, "generation")),
                 json_integer_value (json_object_get (host, "cpus")),
                 json_integer_value (json_object_get (host, "memory_mib")),
                 json_is_true (json_object_get (host, "maintenance")));
    fclose (out);
    json_decref (root);
    return digest;
}

//  The field of the object in array (a JSON document's member list) whose key is value.
static json_t *
s_find (json_t *array, const char *key, const char *value)
{
    size_t index;
    json_t *item;
    json_array_foreach (array, index, item)
        if (json_is_string (json_object_get (item, key))
        &&  streq (json_string_value (json_object_get (item, key)), value))
            return item;
    return NULL;
}

//  --------------------------------------------------------------------------
//  The scheduler's log

//  Where the log ends now.
static long
s_log_mark (void)
{
    struct stat info;
    return stat (s_log, &info)? 0: (long) info.st_size;
}

//  True when a line written after from holds both texts (b may be NULL); waits up to 2 s.
static bool
s_log_has (long from, const char *a, const char *b)
{
    for (int tries = 0; tries < 20; tries++) {
        FILE *file = fopen (s_log, "r");
        bool found = false;
        if (file && fseek (file, from, SEEK_SET) == 0) {
            char line [4096];
            while (!found && fgets (line, sizeof line, file))
                found = strstr (line, a) && (!b || strstr (line, b));
        }
        if (file)
            fclose (file);
        if (found)
            return true;
        zclock_sleep (100);
    }
    fprintf (stderr, "  no line with '%s'%s%s%s in %s\n", a, b? " and '": "", b? b: "",
             b? "'": "", s_log);
    return false;
}

//  --------------------------------------------------------------------------
//  Agents

static void
s_agent_open (s_agent_t *agent, const fixture_keys_t *key, const char *host_id, const char *name)
{
    memset (agent, 0, sizeof *agent);
    agent->sock = s_client (S_AGENT_EP, key, NULL);
    snprintf (agent->host_id, sizeof agent->host_id, "%s", host_id);
    snprintf (agent->name, sizeof agent->name, "%s", name);
    agent->session = ((uint64_t) randof (0x7fffffff) << 32) | (uint64_t) randof (0x7fffffff);
}

static void
s_agent_close (s_agent_t *agent)
{
    zsock_destroy (&agent->sock);
}

//  A message from agent, stamped with its identity and the next seq.
static void
s_agent_msg (s_agent_t *agent, wire_msg_t *msg, wire_kind_t kind)
{
    wire_msg_init (msg, kind);
    snprintf (msg->host_id, sizeof msg->host_id, "%s", agent->host_id);
    msg->seq = ++agent->seq;
    msg->session = agent->session;
    msg->generation = agent->generation;
}

//  Sends a HELLO for host (host_id, name) over agent's connection.
static void
s_send_hello (s_agent_t *agent, const char *host_id, const char *name)
{
    wire_msg_t msg;
    s_agent_msg (agent, &msg, WIRE_HELLO);
    snprintf (msg.host_id, sizeof msg.host_id, "%s", host_id);
    snprintf (msg.body.hello.host_id, sizeof msg.body.hello.host_id, "%s", host_id);
    snprintf (msg.body.hello.name, sizeof msg.body.hello.name, "%s", name);
    snprintf (msg.body.hello.agent_version, sizeof msg.body.hello.agent_version, "test");
    msg.body.hello.capacity.cpus = 4;
    msg.body.hello.capacity.memory_mib = 8192;
    fixture_wire_send (agent->sock, &msg);
}

static void
s_send_heartbeat (s_agent_t *agent)
{
    wire_msg_t msg;
    s_agent_msg (agent, &msg, WIRE_HEARTBEAT);
    msg.body.report.hypervisor_connected = true;
    fixture_wire_send (agent->sock, &msg);
}

//  The next message of kind within timeout_ms, skipping what the scheduler sends on its own
//  (REPORT_REQUEST, COMMAND); its kind or WIRE_NONE. msg holds it (caller resets).
static wire_kind_t
s_expect (zsock_t *sock, wire_kind_t kind, int timeout_ms, wire_msg_t *msg)
{
    int64_t end = zclock_mono () + timeout_ms;
    while (zclock_mono () < end) {
        wire_kind_t got = s_recv_msg (sock, (int) (end - zclock_mono ()), msg);
        if (got == kind)
            return got;
        if (got != WIRE_REPORT_REQUEST && got != WIRE_COMMAND && got != WIRE_NONE) {
            fprintf (stderr, "  expected a %s, got a %s%s%s\n", wire_kind_name (kind),
                     wire_kind_name (got), got == WIRE_REJECT? ": ": "",
                     got == WIRE_REJECT? msg->body.reject.reason: "");
            wire_msg_reset (msg);
            return got;
        }
        wire_msg_reset (msg);
    }
    return WIRE_NONE;
}

//  Registers agent under its own name; 0, or -1.
static int
s_agent_register (s_agent_t *agent)
{
    s_send_hello (agent, agent->host_id, agent->name);
    wire_msg_t reply;
    if (s_expect (agent->sock, WIRE_WELCOME, S_REPLY_MS, &reply) != WIRE_WELCOME) {
        fprintf (stderr, "  host '%s' could not register\n", agent->name);
        return -1;
    }
    agent->generation = reply.body.welcome.generation;
    wire_msg_reset (&reply);
    return 0;
}

//  A heartbeat that the scheduler must take: the first after a registration is answered
//  with a REPORT_REQUEST (no report yet). True when that came.
static bool
s_heartbeat_taken (s_agent_t *agent)
{
    s_send_heartbeat (agent);
    wire_msg_t reply;
    wire_kind_t kind = s_recv_msg (agent->sock, S_REPLY_MS, &reply);
    wire_msg_reset (&reply);
    return kind == WIRE_REPORT_REQUEST;
}

//  True when nothing but REPORT_REQUESTs arrive on sock within S_SILENCE_MS (a message
//  the scheduler took: no REJECT, no WELCOME).
static bool
s_no_answer_but_requests (zsock_t *sock)
{
    int64_t end = zclock_mono () + S_SILENCE_MS;
    while (zclock_mono () < end) {
        wire_msg_t msg;
        wire_kind_t kind = s_recv_msg (sock, (int) (end - zclock_mono ()), &msg);
        if (kind != WIRE_NONE && kind != WIRE_REPORT_REQUEST && kind != WIRE_LEASE_CONFIG) {
            fprintf (stderr, "  unexpected %s%s%s\n", wire_kind_name (kind),
                     kind == WIRE_REJECT? ": ": "",
                     kind == WIRE_REJECT? msg.body.reject.reason: "");
            wire_msg_reset (&msg);
            return false;
        }
        wire_msg_reset (&msg);
    }
    return true;
}

//  A fresh lowercase uuid.
static void
s_uuid (char *out)
{
    zuuid_t *uuid = zuuid_new ();
    snprintf (out, WIRE_ID_SIZE, "%s", zuuid_str_canonical (uuid));
    zuuid_destroy (&uuid);
    for (char *c = out; *c; c++)
        *c = (char) tolower ((unsigned char) *c);
}

//  --------------------------------------------------------------------------
//  Cases

//  The admin key of admin_key connects and may use the scheduler; it is user 'admin'.
static int
s_case_known_key (void)
{
    int failures = 0;
    s_reply_t reply = s_ask (s_admin, "status", NULL);
    CHECK (reply.status == 0 && reply.json && strstr (reply.json, "\"epoch\":"));
    s_reply_free (&reply);
    reply = s_ask (s_admin, "user.list", NULL);
    CHECK (reply.status == 0 && reply.json);
    json_t *root = reply.json? json_loads (reply.json, 0, NULL): NULL;
    json_t *admin = s_find (json_object_get (root, "users"), "name", "admin");
    CHECK (admin && streq (json_string_value (json_object_get (admin, "role")), "admin"));
    CHECK (admin && streq (json_string_value (json_object_get (admin, "key")),
                           s_admin_key.public_key));
    json_decref (root);
    s_reply_free (&reply);
    return failures;
}

//  A key nobody allowed: the handshake is refused (no answer, logged with the key), on
//  either endpoint; the scheduler carries on.
static int
s_case_unknown_key (void)
{
    int failures = 0;
    fixture_keys_t stranger;
    if (fixture_keys_make (&stranger, s_dir, "stranger"))
        return 1;
    char *hosts = s_hosts ();
    long mark = s_log_mark ();
    zsock_t *ctl = s_client (S_CTL_EP, &stranger, NULL);
    s_reply_t reply = s_ask_briefly (ctl, "status", NULL);
    CHECK (reply.status == -1);
    s_reply_free (&reply);
    CHECK (s_log_has (mark, "refused a connection", "to the operators endpoint: unknown key"));
    CHECK (s_log_has (mark, "the refused key is", stranger.public_key));
    zsock_destroy (&ctl);

    mark = s_log_mark ();
    s_agent_t agent;
    char host_id [WIRE_ID_SIZE];
    s_uuid (host_id);
    s_agent_open (&agent, &stranger, host_id, "stranger");
    s_send_hello (&agent, host_id, "stranger");
    CHECK (s_silent (agent.sock));
    CHECK (s_log_has (mark, "refused a connection", "to the agents endpoint: unknown key"));
    s_agent_close (&agent);

    char *after = s_hosts ();
    CHECK (hosts && after && streq (hosts, after));         // and it still answers
    CHECK (after && !strstr (after, "stranger"));
    free (hosts);
    free (after);
    return failures;
}

//  A client without CURVE (plaintext) or that takes another key for the scheduler's: no
//  answer on either endpoint, and the scheduler keeps running.
static int
s_case_plaintext_client (void)
{
    int failures = 0;
    char *hosts = s_hosts ();
    zsock_t *ctl = s_client (S_CTL_EP, NULL, NULL);
    s_reply_t reply = s_ask_briefly (ctl, "status", NULL);
    CHECK (reply.status == -1);
    s_reply_free (&reply);
    zsock_destroy (&ctl);

    s_agent_t agent;
    char host_id [WIRE_ID_SIZE];
    s_uuid (host_id);
    s_agent_open (&agent, NULL, host_id, "plain");
    s_send_hello (&agent, host_id, "plain");
    CHECK (s_silent (agent.sock));
    s_agent_close (&agent);

    //  The admin's own key, but a stranger's public key taken for the scheduler's.
    fixture_keys_t other;
    if (fixture_keys_make (&other, s_dir, "not-the-scheduler"))
        return failures + 1;
    ctl = s_client (S_CTL_EP, &s_admin_key, other.public_key);
    reply = s_ask_briefly (ctl, "status", NULL);
    CHECK (reply.status == -1);
    s_reply_free (&reply);
    zsock_destroy (&ctl);

    reply = s_ask (s_admin, "status", NULL);
    CHECK (reply.status == 0);
    s_reply_free (&reply);
    char *after = s_hosts ();
    CHECK (hosts && after && streq (hosts, after) && !strstr (after, "plain"));
    free (hosts);
    free (after);
    return failures;
}

//  Clients that are not CURVE at all (NULL mechanism, PLAIN mechanism) fail in libzmq before
//  the ZAP handler is asked: the socket monitor counts them (security.handshakes_failed) and
//  logs them with the endpoint; so is a CURVE client taking another key for the scheduler's.
//  None of them is a ZAP refusal (security.handshakes_refused stays).
static int
s_case_non_curve_clients (void)
{
    int failures = 0;
    long failed = s_security ("handshakes_failed");
    long refused = s_security ("handshakes_refused");
    CHECK (failed >= 0 && refused >= 0);

    //  NULL mechanism, at the agents endpoint. libzmq sees a mechanism mismatch, or, when
    //  the client hung up first, a connection that ended during the handshake.
    long mark = s_log_mark ();
    zsock_t *plaintext = s_client (S_AGENT_EP, NULL, NULL);
    zstr_send (plaintext, "hello?");
    CHECK (s_silent (plaintext));
    CHECK (s_log_has (mark, "refused a connection to the agents endpoint at "
                      S_AGENT_EP, "refused before the allow list so far"));
    zsock_destroy (&plaintext);
    long after_null = s_security ("handshakes_failed");
    CHECK (after_null > failed);

    //  PLAIN mechanism, at the operators (ctl) endpoint.
    mark = s_log_mark ();
    zsock_t *plain = zsock_new (ZMQ_DEALER);
    zsock_set_linger (plain, 0);
    zsock_set_reconnect_ivl (plain, 10000);
    zsock_set_plain_username (plain, "admin");
    zsock_set_plain_password (plain, "secret");
    zsock_connect (plain, "%s", S_CTL_EP);
    s_reply_t reply = s_ask_briefly (plain, "status", NULL);
    CHECK (reply.status == -1);
    s_reply_free (&reply);
    CHECK (s_log_has (mark, "refused a connection to the operators endpoint at "
                      S_CTL_EP, "refused before the allow list so far"));
    zsock_destroy (&plain);
    long after_plain = s_security ("handshakes_failed");
    CHECK (after_plain > after_null);

    //  CURVE with the admin's key, but a stranger's public key taken for the scheduler's.
    fixture_keys_t other;
    if (fixture_keys_make (&other, s_dir, "not-the-scheduler-either"))
        return failures + 1;
    mark = s_log_mark ();
    zsock_t *ctl = s_client (S_CTL_EP, &s_admin_key, other.public_key);
    reply = s_ask_briefly (ctl, "status", NULL);
    CHECK (reply.status == -1);
    s_reply_free (&reply);
    CHECK (s_log_has (mark, "refused a connection to the operators endpoint", NULL));
    zsock_destroy (&ctl);
    CHECK (s_security ("handshakes_failed") > after_plain);
    CHECK (s_security ("handshakes_refused") == refused);       // ZAP was never asked
    return failures;
}

//  Revocation works at once: the next request on a connection opened before is refused,
//  and so is a new connection; the same for a host's next message.
static int
s_case_revoked_key (void)
{
    int failures = 0;
    fixture_keys_t rita_key, host_key;
    if (fixture_keys_make (&rita_key, s_dir, "rita")
    ||  fixture_keys_make (&host_key, s_dir, "h-revoked"))
        return 1;
    failures += s_admin_does ("user.add", "rita", rita_key.public_key, "viewer");
    zsock_t *rita = s_client (S_CTL_EP, &rita_key, NULL);
    CHECK (s_status (s_ask (rita, "status", NULL), 0) == 0);
    failures += s_admin_does ("user.delete", "rita", NULL, NULL);
    s_reply_t reply = s_ask (rita, "status", NULL);             // same connection
    CHECK (reply.status == 1 && strstr (reply.error, "no longer) allowed"));
    CHECK (reply.json == NULL);
    s_reply_free (&reply);
    reply = s_ask (rita, "host.list", NULL);
    CHECK (reply.status == 1 && reply.json == NULL);
    s_reply_free (&reply);
    zsock_destroy (&rita);
    long mark = s_log_mark ();
    rita = s_client (S_CTL_EP, &rita_key, NULL);                // a new connection
    reply = s_ask_briefly (rita, "status", NULL);
    CHECK (reply.status == -1);
    s_reply_free (&reply);
    CHECK (s_log_has (mark, "to the operators endpoint: unknown key", NULL));
    zsock_destroy (&rita);

    //  A host: registered and heard, then removed; its next heartbeat is refused.
    failures += s_admin_does ("host.add", "h-revoked", host_key.public_key, NULL);
    s_agent_t agent;
    char host_id [WIRE_ID_SIZE];
    s_uuid (host_id);
    s_agent_open (&agent, &host_key, host_id, "h-revoked");
    CHECK (s_agent_register (&agent) == 0);
    CHECK (s_heartbeat_taken (&agent));
    failures += s_admin_does ("host.remove", "h-revoked", NULL, NULL);
    long rejected = s_rejected ();
    s_send_heartbeat (&agent);
    wire_msg_t msg;
    CHECK (s_expect (agent.sock, WIRE_REJECT, S_REPLY_MS, &msg) == WIRE_REJECT);
    CHECK (strstr (msg.body.reject.reason, "not (or no longer) allowed"));
    wire_msg_reset (&msg);
    s_send_hello (&agent, host_id, "h-revoked");                // nor may it register
    CHECK (s_expect (agent.sock, WIRE_REJECT, S_REPLY_MS, &msg) == WIRE_REJECT);
    wire_msg_reset (&msg);
    CHECK (s_rejected () == rejected + 2);
    s_agent_close (&agent);
    return failures;
}

//  A revoked key stays revoked when its name is allowed again with a new key (the usual
//  answer to a stolen key): the old key's open connection must not come back, let alone
//  with the new grant's role; the same for a host.
static int
s_case_revoked_key_readded (void)
{
    int failures = 0;
    fixture_keys_t old_key, new_key, old_host, new_host;
    if (fixture_keys_make (&old_key, s_dir, "mallory-old")
    ||  fixture_keys_make (&new_key, s_dir, "mallory-new")
    ||  fixture_keys_make (&old_host, s_dir, "h-stolen-old")
    ||  fixture_keys_make (&new_host, s_dir, "h-stolen-new"))
        return 1;
    failures += s_admin_does ("user.add", "mallory", old_key.public_key, "viewer");
    zsock_t *stolen = s_client (S_CTL_EP, &old_key, NULL);
    CHECK (s_status (s_ask (stolen, "status", NULL), 0) == 0);
    failures += s_admin_does ("user.delete", "mallory", NULL, NULL);
    CHECK (s_status (s_ask (stolen, "status", NULL), 1) == 1);
    failures += s_admin_does ("user.add", "mallory", new_key.public_key, "admin");
    s_reply_t reply = s_ask (stolen, "user.list", NULL);     // the old key, same connection
    CHECK (reply.status == 1 && !reply.json);
    if (reply.status == 0)
        fprintf (stderr, "  the revoked key's connection is user 'mallory' again, as admin\n");
    s_reply_free (&reply);
    zsock_t *fresh = s_client (S_CTL_EP, &new_key, NULL);
    CHECK (s_status (s_ask (fresh, "user.list", NULL), 0) == 0);
    zsock_destroy (&fresh);
    zsock_destroy (&stolen);
    failures += s_admin_does ("user.delete", "mallory", NULL, NULL);

    //  A host: removed, then allowed again with a new key; the old key's connection is
    //  still refused.
    failures += s_admin_does ("host.add", "h-stolen", old_host.public_key, NULL);
    s_agent_t agent;
    char host_id [WIRE_ID_SIZE];
    s_uuid (host_id);
    s_agent_open (&agent, &old_host, host_id, "h-stolen");
    CHECK (s_agent_register (&agent) == 0);
    failures += s_admin_does ("host.remove", "h-stolen", NULL, NULL);
    failures += s_admin_does ("host.add", "h-stolen", new_host.public_key, NULL);
    s_send_heartbeat (&agent);
    wire_msg_t msg;
    CHECK (s_expect (agent.sock, WIRE_REJECT, 2000, &msg) == WIRE_REJECT);
    wire_msg_reset (&msg);
    s_agent_close (&agent);
    return failures;
}

//  Roles: a viewer reads only; an operator runs VMs but may not change users, hosts or
//  rules; an admin may do everything. A refused request changes nothing.
static int
s_case_roles (void)
{
    int failures = 0;
    fixture_keys_t vera_key, otto_key;
    if (fixture_keys_make (&vera_key, s_dir, "vera")
    ||  fixture_keys_make (&otto_key, s_dir, "otto"))
        return 1;
    failures += s_admin_does ("user.add", "vera", vera_key.public_key, "viewer");
    failures += s_admin_does ("user.add", "otto", otto_key.public_key, "operator");
    zsock_t *vera = s_client (S_CTL_EP, &vera_key, NULL);
    zsock_t *otto = s_client (S_CTL_EP, &otto_key, NULL);
    char xml_web [256], xml_db [256];
    snprintf (xml_web, sizeof xml_web, s_xml_format, "sec-web");
    snprintf (xml_db, sizeof xml_db, s_xml_format, "sec-db");

    //  The viewer: reads, but nothing else.
    CHECK (s_status (s_ask (vera, "status", NULL), 0) == 0);
    CHECK (s_status (s_ask (vera, "vm.list", NULL), 0) == 0);
    s_reply_t reply = s_ask (vera, "vm.create", "{s:s, s:s}", "name", "sec-vera", "xml", xml_web);
    CHECK (reply.status == 1 && strstr (reply.error, "needs role operator")
           && strstr (reply.error, "user 'vera' is viewer"));
    s_reply_free (&reply);
    reply = s_ask (vera, "user.list", NULL);
    CHECK (reply.status == 1 && strstr (reply.error, "needs role admin") && !reply.json);
    s_reply_free (&reply);

    //  The operator: VMs yes.
    CHECK (s_status (s_ask (otto, "vm.create", "{s:s, s:s}", "name", "sec-web", "xml",
                            xml_web), 0) == 0);
    CHECK (s_status (s_ask (otto, "vm.create", "{s:s, s:s}", "name", "sec-db", "xml",
                            xml_db), 0) == 0);
    reply = s_ask (otto, "vm.start", "{s:s}", "name", "sec-web");
    CHECK (reply.status == 0 && reply.json && strstr (reply.json, "\"want\":\"running\""));
    s_reply_free (&reply);
    reply = s_ask (otto, "vm.stop", "{s:s}", "name", "sec-web");
    CHECK (reply.status == 0 && reply.json && strstr (reply.json, "\"want\":\"stopped\""));
    s_reply_free (&reply);
    //  ... and the viewer still cannot start it.
    reply = s_ask (vera, "vm.start", "{s:s}", "name", "sec-web");
    CHECK (reply.status == 1 && strstr (reply.error, "'vm start NAME' needs role operator"));
    s_reply_free (&reply);
    reply = s_ask (s_admin, "vm.show", "{s:s}", "name", "sec-web");
    CHECK (reply.status == 0 && reply.json && strstr (reply.json, "\"want\":\"stopped\""));
    s_reply_free (&reply);

    //  The operator: users, hosts and rules no.
    fixture_keys_t extra;
    if (fixture_keys_make (&extra, s_dir, "otto-friend"))
        failures++;
    reply = s_ask (otto, "user.add", "{s:s, s:s, s:s}", "name", "otto-friend", "key",
                   extra.public_key, "role", "admin");
    CHECK (reply.status == 1 && strstr (reply.error, "needs role admin")
           && strstr (reply.error, "user 'otto' is operator"));
    s_reply_free (&reply);
    reply = s_ask (otto, "host.add", "{s:s, s:s}", "name", "otto-host", "key", extra.public_key);
    CHECK (reply.status == 1 && strstr (reply.error, "needs role admin"));
    s_reply_free (&reply);
    reply = s_ask (otto, "rule.add", "{s:s, s:s, s:[s, s]}", "name", "sec-apart", "kind",
                   "anti-affinity", "vms", "sec-web", "sec-db");
    CHECK (reply.status == 1 && strstr (reply.error, "needs role admin"));
    s_reply_free (&reply);
    reply = s_ask (otto, "user.delete", "{s:s}", "name", "vera");
    CHECK (reply.status == 1 && strstr (reply.error, "needs role admin"));
    s_reply_free (&reply);
    reply = s_ask (otto, "audit", NULL);
    CHECK (reply.status == 1 && !reply.json);
    s_reply_free (&reply);
    //  Nothing of it happened.
    reply = s_ask (s_admin, "user.list", NULL);
    CHECK (reply.status == 0 && reply.json && !strstr (reply.json, "otto-friend")
           && !strstr (reply.json, "otto-host") && strstr (reply.json, "\"vera\""));
    s_reply_free (&reply);
    reply = s_ask (s_admin, "rule.list", NULL);
    CHECK (reply.status == 0 && reply.json && !strstr (reply.json, "sec-apart"));
    s_reply_free (&reply);
    CHECK (s_status (s_ask (vera, "status", NULL), 0) == 0);       // vera is still there

    //  The admin: all of it.
    CHECK (s_status (s_ask (s_admin, "rule.add", "{s:s, s:s, s:[s, s], s:b}", "name",
                            "sec-apart", "kind", "anti-affinity", "vms", "sec-web", "sec-db",
                            "soft", true), 0) == 0);
    reply = s_ask (s_admin, "rule.list", NULL);
    CHECK (reply.status == 0 && reply.json && strstr (reply.json, "sec-apart"));
    s_reply_free (&reply);
    CHECK (s_status (s_ask (s_admin, "rule.delete", "{s:s}", "name", "sec-apart"), 0) == 0);
    CHECK (s_status (s_ask (s_admin, "vm.start", "{s:s}", "name", "sec-db"), 0) == 0);
    CHECK (s_status (s_ask (s_admin, "vm.stop", "{s:s}", "name", "sec-db"), 0) == 0);
    CHECK (s_status (s_ask (s_admin, "user.add", "{s:s, s:s, s:s}", "name", "otto-friend",
                            "key", extra.public_key, "role", "viewer"), 0) == 0);
    CHECK (s_status (s_ask (s_admin, "user.delete", "{s:s}", "name", "otto-friend"), 0) == 0);
    //  An admin cannot delete itself (the cluster would have no admin left to ask).
    reply = s_ask (s_admin, "user.delete", "{s:s}", "name", "admin");
    CHECK (reply.status == 1 && strstr (reply.error, "cannot delete yourself"));
    s_reply_free (&reply);
    zsock_destroy (&vera);
    zsock_destroy (&otto);
    return failures;
}

//  A host key speaks only for its own host: a HELLO or heartbeat naming another host is
//  refused, and the other host's record is untouched.
static int
s_case_impersonation (void)
{
    int failures = 0;
    fixture_keys_t a_key, b_key;
    if (fixture_keys_make (&a_key, s_dir, "h-alice") || fixture_keys_make (&b_key, s_dir, "h-bob"))
        return 1;
    failures += s_admin_does ("host.add", "h-alice", a_key.public_key, NULL);
    failures += s_admin_does ("host.add", "h-bob", b_key.public_key, NULL);
    char a_id [WIRE_ID_SIZE], b_id [WIRE_ID_SIZE];
    s_uuid (a_id);
    s_uuid (b_id);
    s_agent_t alice, bob;
    s_agent_open (&alice, &a_key, a_id, "h-alice");
    s_agent_open (&bob, &b_key, b_id, "h-bob");
    CHECK (s_agent_register (&bob) == 0);
    CHECK (s_heartbeat_taken (&bob));
    char *before = s_hosts ();
    CHECK (before && strstr (before, b_id) && !strstr (before, "h-alice"));
    long rejected = s_rejected ();

    //  Alice's key says it is bob (bob's name and id), then bob's name with its own id.
    wire_msg_t msg;
    s_send_hello (&alice, b_id, "h-bob");
    CHECK (s_expect (alice.sock, WIRE_REJECT, S_REPLY_MS, &msg) == WIRE_REJECT);
    CHECK (strstr (msg.body.reject.reason, "belongs to another host"));
    CHECK (!msg.body.reject.reregister);
    wire_msg_reset (&msg);
    s_send_hello (&alice, a_id, "h-bob");
    CHECK (s_expect (alice.sock, WIRE_REJECT, S_REPLY_MS, &msg) == WIRE_REJECT);
    CHECK (strstr (msg.body.reject.reason, "belongs to another host"));
    wire_msg_reset (&msg);
    //  A heartbeat in bob's name (his id, generation and a seq beyond his).
    s_agent_msg (&alice, &msg, WIRE_HEARTBEAT);
    snprintf (msg.host_id, sizeof msg.host_id, "%s", b_id);
    msg.generation = bob.generation;
    msg.session = bob.session;
    msg.seq = bob.seq + 100;
    fixture_wire_send (alice.sock, &msg);
    CHECK (s_expect (alice.sock, WIRE_REJECT, S_REPLY_MS, &msg) == WIRE_REJECT);
    CHECK (strstr (msg.body.reject.reason, "belongs to another host"));
    wire_msg_reset (&msg);
    CHECK (s_rejected () == rejected + 3);

    char *after = s_hosts ();
    CHECK (before && after && streq (before, after));
    if (before && after && !streq (before, after))
        fprintf (stderr, "  before: %s\n  after:  %s\n", before, after);
    //  Bob's session is intact: his next heartbeat (seq + 1) is taken without a REJECT.
    s_send_heartbeat (&bob);
    CHECK (s_no_answer_but_requests (bob.sock));
    CHECK (s_rejected () == rejected + 3);
    //  And alice may still register as herself.
    CHECK (s_agent_register (&alice) == 0);
    free (before);
    free (after);
    s_agent_close (&alice);
    s_agent_close (&bob);
    return failures;
}

//  A host key may not use HELLO's name check to take over another host's record by its
//  id: alice (not registered yet) says "I am h-alice" with bob's host id. Refused; bob's
//  record keeps its name and generation.
static int
s_case_impersonation_by_id (void)
{
    int failures = 0;
    fixture_keys_t a_key, b_key;
    if (fixture_keys_make (&a_key, s_dir, "h-carol") || fixture_keys_make (&b_key, s_dir, "h-dave"))
        return 1;
    failures += s_admin_does ("host.add", "h-carol", a_key.public_key, NULL);
    failures += s_admin_does ("host.add", "h-dave", b_key.public_key, NULL);
    char a_id [WIRE_ID_SIZE], b_id [WIRE_ID_SIZE];
    s_uuid (a_id);
    s_uuid (b_id);
    s_agent_t carol, dave;
    s_agent_open (&carol, &a_key, a_id, "h-carol");
    s_agent_open (&dave, &b_key, b_id, "h-dave");
    CHECK (s_agent_register (&dave) == 0);
    char *before = s_hosts ();

    s_send_hello (&carol, b_id, "h-carol");
    wire_msg_t msg;
    wire_kind_t kind = s_expect (carol.sock, WIRE_REJECT, S_REPLY_MS, &msg);
    CHECK (kind == WIRE_REJECT);
    wire_msg_reset (&msg);
    char *after = s_hosts ();
    CHECK (before && after && streq (before, after));
    if (before && after && !streq (before, after))
        fprintf (stderr, "  before: %s\n  after:  %s\n", before, after);
    free (before);
    free (after);
    s_agent_close (&carol);
    s_agent_close (&dave);
    return failures;
}

//  ZAP domains: a host key on the operators endpoint and a user key on the agents
//  endpoint are refused at the handshake.
static int
s_case_domains (void)
{
    int failures = 0;
    fixture_keys_t host_key;
    if (fixture_keys_make (&host_key, s_dir, "h-domain"))
        return 1;
    failures += s_admin_does ("host.add", "h-domain", host_key.public_key, NULL);
    char *hosts = s_hosts ();
    long mark = s_log_mark ();
    zsock_t *ctl = s_client (S_CTL_EP, &host_key, NULL);
    s_reply_t reply = s_ask_briefly (ctl, "status", NULL);
    CHECK (reply.status == -1);
    s_reply_free (&reply);
    zsock_destroy (&ctl);
    CHECK (s_log_has (mark, "to the operators endpoint: the key belongs to the other endpoint",
                      NULL));

    //  The admin's key as an agent named "admin".
    mark = s_log_mark ();
    s_agent_t agent;
    char host_id [WIRE_ID_SIZE];
    s_uuid (host_id);
    s_agent_open (&agent, &s_admin_key, host_id, "admin");
    s_send_hello (&agent, host_id, "admin");
    CHECK (s_silent (agent.sock));
    s_agent_close (&agent);
    CHECK (s_log_has (mark, "to the agents endpoint: the key belongs to the other endpoint",
                      NULL));
    char *after = s_hosts ();
    CHECK (hosts && after && streq (hosts, after) && !strstr (after, "\"admin\""));
    free (hosts);
    free (after);

    //  The same host key on its own endpoint is fine.
    s_uuid (host_id);
    s_agent_open (&agent, &host_key, host_id, "h-domain");
    CHECK (s_agent_register (&agent) == 0);
    s_agent_close (&agent);
    return failures;
}

//  Every request that changes something or is refused is in the audit log, with who asked
//  and how it ended; plain reads are not.
static int
s_case_audit (void)
{
    int failures = 0;
    fixture_keys_t viewer_key, operator_key;
    if (fixture_keys_make (&viewer_key, s_dir, "aud-viewer")
    ||  fixture_keys_make (&operator_key, s_dir, "aud-operator"))
        return 1;
    failures += s_admin_does ("user.add", "aud-viewer", viewer_key.public_key, "viewer");
    failures += s_admin_does ("user.add", "aud-operator", operator_key.public_key, "operator");
    zsock_t *viewer = s_client (S_CTL_EP, &viewer_key, NULL);
    zsock_t *operator = s_client (S_CTL_EP, &operator_key, NULL);
    char xml [256];
    snprintf (xml, sizeof xml, s_xml_format, "aud-vm");
    CHECK (s_status (s_ask (viewer, "vm.list", NULL), 0) == 0);             // a read
    CHECK (s_status (s_ask (viewer, "vm.stop", "{s:s}", "name", "aud-vm"), 1) == 1);  // role
    CHECK (s_status (s_ask (operator, "user.delete", "{s:s}", "name", "aud-viewer"), 1) == 1);
    CHECK (s_status (s_ask (operator, "vm.create", "{s:s, s:s}", "name", "aud-vm", "xml",
                            xml), 0) == 0);
    CHECK (s_status (s_ask (operator, "vm.start", "{s:s}", "name", "aud-nosuch"), 1) == 1);
    failures += s_admin_does ("user.delete", "aud-viewer", NULL, NULL);
    CHECK (s_status (s_ask (viewer, "status", NULL), 1) == 1);             // revoked

    s_reply_t reply = s_ask (s_admin, "audit", "{s:i}", "limit", 100000);
    CHECK (reply.status == 0 && reply.json);
    json_t *root = reply.json? json_loads (reply.json, 0, NULL): NULL;
    json_t *rows = json_object_get (root, "audit");
    CHECK (json_is_array (rows));
    static const struct {
        const char *who, *verb, *arg;   // arg: the "name" argument
        int status;
        const char *message;            // part of it
    } expected [] = {
        { "user:admin", "user.add", "aud-viewer", 0, "ok" },
        { "user:admin", "user.add", "aud-operator", 0, "ok" },
        { "user:aud-viewer", "vm.stop", "aud-vm", 1, "needs role operator" },
        { "user:aud-operator", "user.delete", "aud-viewer", 1, "needs role admin" },
        { "user:aud-operator", "vm.create", "aud-vm", 0, "ok" },
        { "user:aud-operator", "vm.start", "aud-nosuch", 1, "no vm named 'aud-nosuch'" },
        { "user:admin", "user.delete", "aud-viewer", 0, "ok" },
        { "user:aud-viewer", "status", NULL, 1, "no longer) allowed" },
    };
    size_t from = 0;
    for (size_t e = 0; e < sizeof expected / sizeof expected [0]; e++) {
        bool found = false;
        size_t index;
        json_t *row;
        //  In order, each after the previous one.
        json_array_foreach (rows, index, row) {
            if (index < from || found)
                continue;
            json_t *args = json_object_get (row, "args");
            const char *first = json_string_value (json_object_get (args, "name"));
            const char *message = json_string_value (json_object_get (row, "message"));
            if (streq (json_string_value (json_object_get (row, "who")), expected [e].who)
            &&  streq (json_string_value (json_object_get (row, "verb")), expected [e].verb)
            &&  (expected [e].arg? first && streq (first, expected [e].arg): !first)
            &&  json_integer_value (json_object_get (row, "status")) == expected [e].status
            &&  message && strstr (message, expected [e].message)
            &&  json_is_string (json_object_get (row, "at"))) {
                found = true;
                from = index + 1;
            }
        }
        if (!found)
            fprintf (stderr, "  not in the audit log (in order): %s %s %s -> %d\n",
                     expected [e].who, expected [e].verb, expected [e].arg? expected [e].arg: "",
                     expected [e].status);
        CHECK (found);
    }
    //  A read is not audited.
    size_t index;
    json_t *row;
    json_array_foreach (rows, index, row)
        CHECK (!(streq (json_string_value (json_object_get (row, "who")), "user:aud-viewer")
                 && streq (json_string_value (json_object_get (row, "verb")), "vm.list")));
    json_decref (root);
    s_reply_free (&reply);
    zsock_destroy (&viewer);
    zsock_destroy (&operator);
    return failures;
}

//  Appends a protobuf varint.
static size_t
s_varint (uint8_t *out, uint64_t value)
{
    size_t used = 0;
    do {
        out [used] = (uint8_t) (value & 0x7f);
        value >>= 7;
        if (value)
            out [used] |= 0x80;
        used++;
    } while (value);
    return used;
}

//  An envelope (version 1, seq, host_id, generation, session) whose body field holds count
//  empty repeated sub-messages with tag inner: a few MiB that unpack into far more memory.
static uint8_t *
s_many_empty (const char *host_id, uint64_t seq, uint64_t generation, uint64_t session,
              uint32_t body_field, uint8_t inner, size_t count, size_t *size)
{
    size_t body = count * 2;
    uint8_t *data = malloc (body + 128);
    size_t used = 0;
    data [used++] = 0x08;                           // version = 1
    data [used++] = 1;
    data [used++] = 0x1a;                           // host_id
    data [used++] = (uint8_t) strlen (host_id);
    memcpy (data + used, host_id, strlen (host_id));
    used += strlen (host_id);
    data [used++] = 0x20;                           // generation
    used += s_varint (data + used, generation);
    data [used++] = 0x10;                           // seq
    used += s_varint (data + used, seq);
    data [used++] = 0x28;                           // session
    used += s_varint (data + used, session);
    used += s_varint (data + used, (uint64_t) body_field << 3 | 2);
    used += s_varint (data + used, body);
    for (size_t i = 0; i < count; i++) {
        data [used++] = inner;
        data [used++] = 0;
    }
    *size = used;
    return data;
}

//  Hostile input from an allowed agent (and an allowed operator): each message is refused
//  and counted, nothing reaches the model, the scheduler keeps answering, and the agent's
//  registration is intact.
static int
s_case_hostile_agent (void)
{
    int failures = 0;
    fixture_keys_t key;
    if (fixture_keys_make (&key, s_dir, "h-hostile"))
        return 1;
    failures += s_admin_does ("host.add", "h-hostile", key.public_key, NULL);
    char host_id [WIRE_ID_SIZE];
    s_uuid (host_id);
    s_agent_t agent;
    s_agent_open (&agent, &key, host_id, "h-hostile");
    CHECK (s_agent_register (&agent) == 0);
    CHECK (s_heartbeat_taken (&agent));
    char *before = s_hosts ();
    long rejected = s_rejected ();
    CHECK (before && rejected >= 0);

    long mark = s_log_mark ();
    //  1 garbage, 2 a wrong protocol version, 3 two body frames.
    zstr_send (agent.sock, "this is not a protobuf envelope at all");
    Vmsched__Envelope envelope = VMSCHED__ENVELOPE__INIT;
    Vmsched__Heartbeat heartbeat = VMSCHED__HEARTBEAT__INIT;
    envelope.has_version = true;
    envelope.version = 77;
    envelope.host_id = agent.host_id;
    envelope.has_generation = true;
    envelope.generation = agent.generation;
    envelope.body_case = VMSCHED__ENVELOPE__BODY_HEARTBEAT;
    envelope.heartbeat = &heartbeat;
    uint8_t packed [256];
    s_send_bytes (agent.sock, packed, vmsched__envelope__pack (&envelope, packed));
    zstr_sendm (agent.sock, "one");
    zstr_send (agent.sock, "two");

    //  4 an unknown event kind, 5 an unknown domain state; from here on in the agent's
    //  session with new seqs, so that only the decoder can refuse them.
    envelope.version = WIRE_PROTOCOL_VERSION;
    envelope.has_seq = envelope.has_session = true;
    envelope.session = agent.session;
    envelope.seq = ++agent.seq;
    Vmsched__Event event = VMSCHED__EVENT__INIT;
    Vmsched__Domain domain = VMSCHED__DOMAIN__INIT;
    domain.uuid = "aaaaaaaa-0000-4000-8000-00000000000f";
    domain.name = "hostile-vm";
    event.has_kind = true;
    event.kind = 1000;
    event.domain = &domain;
    envelope.body_case = VMSCHED__ENVELOPE__BODY_EVENT;
    envelope.event = &event;
    s_send_bytes (agent.sock, packed, vmsched__envelope__pack (&envelope, packed));
    Vmsched__Report report = VMSCHED__REPORT__INIT;
    Vmsched__Domain *one [1] = { &domain };
    domain.has_state = true;
    domain.state = 99;
    report.n_domains = 1;
    report.domains = one;
    envelope.body_case = VMSCHED__ENVELOPE__BODY_REPORT;
    envelope.report = &report;
    envelope.seq = ++agent.seq;
    s_send_bytes (agent.sock, packed, vmsched__envelope__pack (&envelope, packed));

    //  6 more domains than a report may hold (each valid on its own).
    size_t many = WIRE_MAX_DOMAINS + 100;
    Vmsched__Domain *domains = calloc (many, sizeof *domains);
    Vmsched__Domain **pointers = calloc (many, sizeof *pointers);
    char (*uuids) [WIRE_ID_SIZE] = calloc (many, WIRE_ID_SIZE);
    for (size_t i = 0; i < many; i++) {
        domains [i] = (Vmsched__Domain) VMSCHED__DOMAIN__INIT;
        snprintf (uuids [i], WIRE_ID_SIZE, "aaaaaaaa-0000-4000-8000-%012zx", i);
        domains [i].uuid = uuids [i];
        domains [i].name = "d";
        domains [i].has_state = true;
        domains [i].state = VMSCHED__DOMAIN_STATE__DOMAIN_STATE_SHUTOFF;
        pointers [i] = &domains [i];
    }
    report.n_domains = many;
    report.domains = pointers;
    envelope.seq = ++agent.seq;
    size_t size = vmsched__envelope__get_packed_size (&envelope);
    uint8_t *big = malloc (size);
    vmsched__envelope__pack (&envelope, big);
    s_send_bytes (agent.sock, big, size);
    free (big);
    free (domains);
    free (pointers);
    free (uuids);

    //  7 a HELLO (its own name) with more NUMA cells than a host may have.
    Vmsched__Hello hello = VMSCHED__HELLO__INIT;
    Vmsched__Capacity capacity = VMSCHED__CAPACITY__INIT;
    Vmsched__NumaCell cells [WIRE_MAX_NUMA * 4];
    Vmsched__NumaCell *cell_pointers [WIRE_MAX_NUMA * 4];
    for (size_t i = 0; i < WIRE_MAX_NUMA * 4; i++) {
        cells [i] = (Vmsched__NumaCell) VMSCHED__NUMA_CELL__INIT;
        cells [i].has_id = cells [i].has_cpus = true;
        cells [i].id = (uint32_t) i;
        cells [i].cpus = 1;
        cell_pointers [i] = &cells [i];
    }
    capacity.has_cpus = capacity.has_memory_mib = true;
    capacity.cpus = 4;
    capacity.memory_mib = 8192;
    capacity.n_numa = WIRE_MAX_NUMA * 4;
    capacity.numa = cell_pointers;
    hello.host_id = agent.host_id;
    hello.name = agent.name;
    hello.capacity = &capacity;
    envelope.seq = 1;
    envelope.session = agent.session + 1;           // a new session: would re-register
    envelope.body_case = VMSCHED__ENVELOPE__BODY_HELLO;
    envelope.hello = &hello;
    size = vmsched__envelope__get_packed_size (&envelope);
    big = malloc (size);
    vmsched__envelope__pack (&envelope, big);
    s_send_bytes (agent.sock, big, size);
    free (big);

    //  8 a report of 1.5 million empty domains: 3 MiB that would unpack into hundreds.
    big = s_many_empty (agent.host_id, ++agent.seq, agent.generation, agent.session, 13, 0x0a,
                        1500000, &size);
    CHECK (size < WIRE_MAX_MESSAGE);
    s_send_bytes (agent.sock, big, size);
    free (big);

    //  9 a ctl request and 10 a WELCOME: kinds agents do not send.
    wire_msg_t msg;
    s_agent_msg (&agent, &msg, WIRE_CTL_REQUEST);
    snprintf (msg.body.request.verb, sizeof msg.body.request.verb, "user.list");
    fixture_wire_send (agent.sock, &msg);
    s_agent_msg (&agent, &msg, WIRE_WELCOME);
    msg.body.welcome.generation = 99;
    fixture_wire_send (agent.sock, &msg);

    //  11 more than WIRE_MAX_MESSAGE on a second connection: libzmq drops that connection.
    zsock_t *second = s_client (S_AGENT_EP, &key, NULL);
    size = WIRE_MAX_MESSAGE + 1024;
    big = calloc (1, size);
    s_send_bytes (second, big, size);
    free (big);
    zclock_sleep (300);
    zsock_destroy (&second);

    //  None of it was answered, each was counted (the oversized one never arrived), and
    //  the decoder is what refused the malformed ones.
    CHECK (s_silent (agent.sock));
    CHECK (s_rejected () == rejected + 10);
    CHECK (s_log_has (mark, "refused message from an agent", "protocol version 77"));
    CHECK (s_log_has (mark, "refused message from an agent", "more than one body frame"));
    CHECK (s_log_has (mark, "'event.kind' has unknown value 1000", NULL));
    CHECK (s_log_has (mark, "'domain.state' has unknown value 99", NULL));
    CHECK (s_log_has (mark, "'report.domains count' is out of range", NULL));
    CHECK (s_log_has (mark, "'capacity.numa count' is out of range", NULL));
    CHECK (s_log_has (mark, "refused message from an agent: not a valid envelope (300", NULL));
    CHECK (s_log_has (mark, "refused a message of a kind agents do not send", NULL));
    char *after = s_hosts ();
    CHECK (before && after && streq (before, after));
    if (before && after && !streq (before, after))
        fprintf (stderr, "  before: %s\n  after:  %s\n", before, after);
    s_reply_t reply = s_ask (s_admin, "vm.list", NULL);
    CHECK (reply.status == 0 && reply.json && !strstr (reply.json, "hostile-vm")
           && !strstr (reply.json, "aaaaaaaa-0000-4000-8000-000000000001"));
    s_reply_free (&reply);
    //  The agent's registration and session are intact: a heartbeat is taken silently.
    s_send_heartbeat (&agent);
    CHECK (s_no_answer_but_requests (agent.sock));
    CHECK (s_rejected () == rejected + 10);

    //  The admin sends hostile requests too: garbage and a million empty arguments.
    zstr_send (s_admin, "garbage for the ctl endpoint");
    wire_msg_t answer;
    CHECK (s_recv_msg (s_admin, S_SILENCE_MS, &answer) == WIRE_NONE);
    big = s_many_empty ("", 2, 0, 1, 20, 0x12, 1000000, &size);
    s_send_bytes (s_admin, big, size);
    free (big);
    CHECK (s_recv_msg (s_admin, S_SILENCE_MS, &answer) == WIRE_NONE);
    reply = s_ask (s_admin, "status", NULL);
    CHECK (reply.status == 0);
    s_reply_free (&reply);
    free (before);
    free (after);
    s_agent_close (&agent);
    return failures;
}

//  scheduler_new refuses unusable keys with a clear message.
static int
s_case_scheduler_keys (void)
{
    int failures = 0;
    scheduler_config_t config;
    scheduler_config_defaults (&config);
    strcpy (config.agent_endpoint, S_SPARE_AGENT_EP);
    strcpy (config.ctl_endpoint, S_SPARE_CTL_EP);
    snprintf (config.database, sizeof config.database, "%s/spare.db", s_dir);
    snprintf (config.secret_key, sizeof config.secret_key, "%s/nosuch.key_secret", s_dir);
    char err [1024] = "", want [1100];
    scheduler_t *scheduler = scheduler_new (&config, err, sizeof err);
    CHECK (scheduler == NULL);
    snprintf (want, sizeof want, "cannot read secret key '%s'", config.secret_key);
    CHECK (strstr (err, want) && strstr (err, "--keygen"));
    scheduler_destroy (&scheduler);

    fixture_keys_t open_key;
    if (fixture_keys_make (&open_key, s_dir, "open-scheduler"))
        return failures + 1;
    CHECK (chmod (open_key.secret, 0644) == 0);
    snprintf (config.secret_key, sizeof config.secret_key, "%s", open_key.secret);
    err [0] = 0;
    scheduler = scheduler_new (&config, err, sizeof err);
    CHECK (scheduler == NULL);
    snprintf (want, sizeof want, "run: chmod 600 %s", open_key.secret);
    CHECK (strstr (err, "readable by others (mode 0644)") && strstr (err, want));
    scheduler_destroy (&scheduler);

    //  Group-readable is refused as well.
    CHECK (chmod (open_key.secret, 0640) == 0);
    err [0] = 0;
    scheduler = scheduler_new (&config, err, sizeof err);
    CHECK (scheduler == NULL && strstr (err, "chmod 600"));
    scheduler_destroy (&scheduler);

    //  A missing admin_key file.
    CHECK (chmod (open_key.secret, 0600) == 0);
    snprintf (config.secret_key, sizeof config.secret_key, "%s", open_key.secret);
    snprintf (config.admin_key, sizeof config.admin_key, "%s/nosuch-admin.key", s_dir);
    err [0] = 0;
    scheduler = scheduler_new (&config, err, sizeof err);
    CHECK (scheduler == NULL);
    snprintf (want, sizeof want, "cannot read public key '%s'", config.admin_key);
    CHECK (strstr (err, want));
    scheduler_destroy (&scheduler);
    if (failures)
        fprintf (stderr, "  last error: %s\n", err);
    return failures;
}


//  --------------------------------------------------------------------------

static void
s_run_scheduler (void)
{
    int fd = open (s_log, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd >= 0) {
        dup2 (fd, 2);
        close (fd);
    }
    scheduler_config_t config;
    scheduler_config_defaults (&config);
    strcpy (config.agent_endpoint, S_AGENT_EP);
    strcpy (config.ctl_endpoint, S_CTL_EP);
    snprintf (config.database, sizeof config.database, "%s/vmsched.db", s_dir);
    config.heartbeat_ms = 1000;
    config.suspect_after_ms = 60000;
    config.down_after_ms = 120000;
    snprintf (config.secret_key, sizeof config.secret_key, "%s", s_scheduler_key.secret);
    snprintf (config.admin_key, sizeof config.admin_key, "%s", s_admin_key.path);
    log_init ("scheduler-under-test", LOG_LEVEL_INFO);
    char err [1024];
    scheduler_t *scheduler = scheduler_new (&config, err, sizeof err);
    if (!scheduler) {
        fprintf (stderr, "cannot start the scheduler: %s\n", err);
        _exit (3);
    }
    scheduler_run (scheduler);
    scheduler_destroy (&scheduler);
    _exit (0);
}

static const check_case_t s_cases [] = {
    { "known_key", s_case_known_key },
    { "unknown_key", s_case_unknown_key },
    { "plaintext_client", s_case_plaintext_client },
    { "non_curve_clients", s_case_non_curve_clients },
    { "revoked_key", s_case_revoked_key },
    { "revoked_key_readded", s_case_revoked_key_readded },
    { "roles", s_case_roles },
    { "impersonation", s_case_impersonation },
    { "impersonation_by_id", s_case_impersonation_by_id },
    { "domains", s_case_domains },
    { "audit", s_case_audit },
    { "hostile_agent", s_case_hostile_agent },
    { "scheduler_keys", s_case_scheduler_keys },
};

int
main (int argc, char **argv)
{
    setvbuf (stdout, NULL, _IOLBF, 0);              // verdicts between the stderr details
    log_init ("test_security", LOG_LEVEL_NONE);
    if (fixture_files_tempdir (s_dir, sizeof s_dir, "security")) {
        printf ("FAIL unit/security: cannot create a temporary directory\n");
        return 1;
    }
    snprintf (s_log, sizeof s_log, "%s/scheduler.log", s_dir);
    //  Keys and the fork before any ZeroMQ context exists (the child makes its own).
    if (fixture_keys_make (&s_scheduler_key, s_dir, "scheduler")
    ||  fixture_keys_make (&s_admin_key, s_dir, "admin")) {
        printf ("FAIL unit/security: cannot make the test keys\n");
        return 1;
    }
    fflush (stdout);
    fflush (stderr);
    pid_t child = fork ();
    if (child == 0)
        s_run_scheduler ();
    zsys_init ();
    zsys_set_logstream (NULL);

    s_admin = fixture_keys_client (S_CTL_EP, &s_admin_key, s_scheduler_key.public_key, 100);
    int status = -1;
    for (int i = 0; i < 20 && status != 0; i++) {
        s_reply_t reply = s_ask_briefly (s_admin, "status", NULL);
        status = reply.status;
        s_reply_free (&reply);
        if (status == -1 && waitpid (child, NULL, WNOHANG) == child)
            break;
    }
    //  Answers to the earlier tries may still come: take them out of the way.
    zframe_t *late;
    while (status == 0 && (late = s_frame (s_admin, 300)))
        zframe_destroy (&late);
    int failed = 0;
    if (status != 0) {
        printf ("FAIL unit/security: the scheduler does not answer (see %s)\n", s_log);
        failed++;
    }
    if (status == 0)
        failed += CHECK_RUN_ALL ("security", s_cases, argc, argv);
    zsock_destroy (&s_admin);
    kill (child, SIGTERM);
    int exit_status = 0;
    waitpid (child, &exit_status, 0);
    if (!WIFEXITED (exit_status) || WEXITSTATUS (exit_status) != 0) {
        printf ("FAIL unit/security/scheduler_exit: the scheduler ended with status %d "
                "(see %s)\n", exit_status, s_log);
        failed++;
    }
    if (failed && getenv ("VMSCHED_KEEP_TEST_DIR"))
        fprintf (stderr, "kept %s\n", s_dir);
    else
        fixture_files_remove_dir (s_dir);
    return failed? 1: 0;
}
