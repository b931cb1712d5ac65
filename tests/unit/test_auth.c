/*  test_auth.c - auth.c, transport.c and keys.c in-process: the allow list, the ZAP
    handler, the User-Id a connection gets, malformed framing, key files.

    No scheduler: the test binds auth.c's ZAP handler and a transport_router_bind ROUTER
    (CURVE server, domain "agents", ZAP_ENFORCE_DOMAIN) itself and drives both from one
    loop (s_unit_pump), with DEALER clients holding key pairs made by keys_generate. This is
    where the handshake counters (auth_accepted, auth_refused), which no ctl answer shows,
    are checked; test_security.c runs the same code inside a real scheduler.

    Prints one `PASS unit/auth/CASE` or `FAIL unit/auth/CASE: ...` line per case; the
    failed checks themselves are on stderr just above. `test_auth CASE...` runs only those.
*/
#include "auth.h"
#include "check.h"
#include "fixture_files.h"
#include "fixture_keys.h"
#include "fixture_wire.h"
#include "keys.h"
#include "log.h"
#include "transport.h"
#include "wire.h"

#include <czmq.h>
#include <inttypes.h>
#include <sys/stat.h>

#define S_UNIT_PORT     17520       // the first case's port; each case binds the next one
#define S_SILENCE_MS    500         // "nothing arrives" means nothing within this long
#define S_ARRIVE_MS     10000       // an expected message: the pump returns when it is there;
                                    // generous for valgrind's slow CURVE handshake

static char s_dir [64];             // the temporary directory: key pairs
static fixture_keys_t s_server_key; // the ROUTER's key pair

//  A DEALER to endpoint: a CURVE client with key that knows the server by s_server_key, or
//  a plaintext client when key is NULL. A refused client retries only every 10 s.
static zsock_t *
s_client (const char *endpoint, const fixture_keys_t *key)
{
    return fixture_keys_client (endpoint, key, s_server_key.public_key, 10000);
}


//  --------------------------------------------------------------------------
//  Cases

//  In-process: auth.c's ZAP handler and a transport.c ROUTER, driven by the test.
typedef struct {
    auth_t *auth;               // the allow list and its ZAP handler
    zcert_t *cert;              // the "scheduler's" key pair
    zsock_t *router;            // transport_router_bind, domain "agents"
    char endpoint [64];         // where it is bound: a port of its own per case (libzmq
                                // releases a closed socket's port only a moment later)
    transport_stats_t stats;    // its counters
} s_unit_t;

static int
s_unit_open (s_unit_t *unit)
{
    static int opened;
    memset (unit, 0, sizeof *unit);
    snprintf (unit->endpoint, sizeof unit->endpoint, "tcp://127.0.0.1:%d",
              S_UNIT_PORT + opened++);
    char err [512] = "";
    unit->auth = auth_new (err, sizeof err);
    unit->cert = keys_load_secret (s_server_key.secret, err, sizeof err);
    unit->router = unit->auth && unit->cert
                 ? transport_router_bind (unit->endpoint, unit->cert, AUTH_DOMAIN_AGENTS, err,
                                          sizeof err): NULL;
    if (!unit->router)
        fprintf (stderr, "  cannot set up auth and transport: %s\n", err);
    return unit->router? 0: -1;
}

static void
s_unit_close (s_unit_t *unit)
{
    zsock_destroy (&unit->router);          // before the ZAP handler it depends on
    auth_destroy (&unit->auth);
    zcert_destroy (&unit->cert);
}

//  Answers handshakes and receives for up to ms (or until one message or malformed message
//  was taken, when stop_at_message). Returns transport_recv's last non-zero result, or 0.
static int
s_unit_pump (s_unit_t *unit, int ms, bool stop_at_message, transport_route_t *route,
             wire_msg_t *msg)
{
    zmq_pollitem_t items [] = {
        { zsock_resolve (auth_socket (unit->auth)), 0, ZMQ_POLLIN, 0 },
        { zsock_resolve (unit->router), 0, ZMQ_POLLIN, 0 } };
    int64_t end = zclock_mono () + ms;
    int result = 0;
    while (zclock_mono () < end) {
        if (zmq_poll (items, 2, end - zclock_mono ()) <= 0)
            continue;
        if (items [0].revents & ZMQ_POLLIN)
            auth_handle (unit->auth);
        if (items [1].revents & ZMQ_POLLIN) {
            int rc = transport_recv (unit->router, "a test agent", &unit->stats, route, msg);
            if (rc)
                result = rc;
            if (rc && stop_at_message)
                return rc;
            if (rc == 1)
                wire_msg_reset (msg);
        }
    }
    return result;
}

//  auth.c and transport.c themselves: the handshake counters, the User-Id a connection gets
//  and the domain check, without a scheduler around them.
static int
s_case_auth_handler (void)
{
    int failures = 0;
    s_unit_t unit;
    memset (&unit, 0, sizeof unit);
    fixture_keys_t host_key, user_key, stranger;
    if (fixture_keys_make (&host_key, s_dir, "unit-host")
    ||  fixture_keys_make (&user_key, s_dir, "unit-user")
    ||  fixture_keys_make (&stranger, s_dir, "unit-stranger") || s_unit_open (&unit)) {
        s_unit_close (&unit);
        return 1;
    }
    principal_record_t host = { .kind = PRINCIPAL_HOST }, user = { .kind = PRINCIPAL_USER,
                                                                   .role = ROLE_ADMIN };
    snprintf (host.name, sizeof host.name, "unit-host");
    snprintf (host.key, sizeof host.key, "%s", host_key.public_key);
    snprintf (user.name, sizeof user.name, "unit-user");
    snprintf (user.key, sizeof user.key, "%s", user_key.public_key);
    CHECK (auth_allow (unit.auth, &host) == 0 && auth_allow (unit.auth, &user) == 0);
    CHECK (auth_allow (unit.auth, &host) == -1);                // the name is taken
    principal_record_t twin = host;
    snprintf (twin.name, sizeof twin.name, "unit-twin");
    CHECK (auth_allow (unit.auth, &twin) == -1);                // and so is the key
    CHECK (auth_count (unit.auth) == 2);
    transport_route_t route;
    wire_msg_t msg;

    //  The allowed host: accepted, its messages carry its grant, "host:unit-host#1".
    zsock_t *client = s_client (unit.endpoint, &host_key);
    zstr_send (client, "x");                                    // malformed: fine here
    s_unit_pump (&unit, S_ARRIVE_MS, true, &route, &msg);
    CHECK (auth_accepted (unit.auth) == 1 && auth_refused (unit.auth) == 0);
    CHECK (streq (route.user_id, "host:unit-host#1"));
    CHECK (auth_principal (unit.auth, route.user_id) == auth_find (unit.auth, PRINCIPAL_HOST,
                                                                   "unit-host"));
    wire_msg_init (&msg, WIRE_HEARTBEAT);
    msg.seq = 1;
    strcpy (msg.host_id, "aaaaaaaa-0000-4000-8000-00000000000e");
    fixture_wire_send (client, &msg);
    CHECK (s_unit_pump (&unit, S_ARRIVE_MS, true, &route, &msg) == 1
           && msg.kind == WIRE_HEARTBEAT);
    wire_msg_reset (&msg);
    CHECK (streq (route.user_id, "host:unit-host#1"));
    //  Revoked: the connection stays, but its User-Id no longer names anyone, also after
    //  the name is allowed again with another key (a new grant).
    auth_revoke (unit.auth, PRINCIPAL_HOST, "unit-host");
    CHECK (auth_principal (unit.auth, route.user_id) == NULL);
    principal_record_t again = { .kind = PRINCIPAL_HOST };
    strcpy (again.name, "unit-host");
    strcpy (again.key, "0000000000000000000000000000000000000000");
    CHECK (auth_allow (unit.auth, &again) == 0);
    CHECK (auth_principal (unit.auth, route.user_id) == NULL);
    CHECK (auth_principal (unit.auth, "host:unit-host#3") != NULL);
    auth_revoke (unit.auth, PRINCIPAL_HOST, "unit-host");
    CHECK (auth_principal (unit.auth, "user:unit-user#2") != NULL);
    CHECK (auth_principal (unit.auth, "user:unit-user") == NULL);
    CHECK (auth_principal (unit.auth, "unit-user") == NULL);
    CHECK (auth_principal (unit.auth, NULL) == NULL);
    zsock_destroy (&client);

    //  A stranger, a user key in the agents domain, a plaintext client: nothing arrives;
    //  the first two are refused handshakes, the plaintext one never gets that far.
    const fixture_keys_t *refused [] = { &stranger, &user_key, NULL };
    for (int i = 0; i < 3; i++) {
        client = s_client (unit.endpoint, refused [i]);
        wire_msg_init (&msg, WIRE_HEARTBEAT);
        msg.seq = 1;
        strcpy (msg.host_id, "aaaaaaaa-0000-4000-8000-00000000000e");
        fixture_wire_send (client, &msg);
        CHECK (s_unit_pump (&unit, S_SILENCE_MS, false, &route, &msg) == 0);
        zsock_destroy (&client);
    }
    CHECK (auth_accepted (unit.auth) == 1);
    CHECK (auth_refused (unit.auth) == 2);
    CHECK (unit.stats.received == 1 && unit.stats.malformed == 1);
    s_unit_close (&unit);
    return failures;
}

//  transport_recv's contract (transport.h): after -1 "msg is empty", so that the caller's
//  wire_msg_reset is safe. A two-frame message must not leave msg as it was.
static int
s_case_transport_malformed_empty (void)
{
    int failures = 0;
    s_unit_t unit;
    memset (&unit, 0, sizeof unit);
    fixture_keys_t host_key;
    if (fixture_keys_make (&host_key, s_dir, "unit-frames") || s_unit_open (&unit)) {
        s_unit_close (&unit);
        return 1;
    }
    principal_record_t host = { .kind = PRINCIPAL_HOST };
    snprintf (host.name, sizeof host.name, "unit-frames");
    snprintf (host.key, sizeof host.key, "%s", host_key.public_key);
    CHECK (auth_allow (unit.auth, &host) == 0);
    zsock_t *client = s_client (unit.endpoint, &host_key);
    zstr_sendm (client, "one");
    zstr_send (client, "two");
    transport_route_t route;
    wire_msg_t msg;
    memset (&msg, 0x5a, sizeof msg);                    // what a stack slot may hold
    CHECK (s_unit_pump (&unit, S_ARRIVE_MS, true, &route, &msg) == -1);
    wire_msg_t empty;
    memset (&empty, 0, sizeof empty);
    bool is_empty = memcmp (&msg, &empty, sizeof msg) == 0;
    CHECK (is_empty);
    if (!is_empty)
        fprintf (stderr, "  transport_recv returned -1 and left msg as it was (kind %d); "
                 "s_on_agents/s_on_ctl then wire_msg_reset it\n", (int) msg.kind);
    zsock_destroy (&client);
    s_unit_close (&unit);
    return failures;
}

//  secret_key naming a pair's public file (mode 0600) whose PATH_secret is world-readable:
//  the file actually read must pass the mode check, so this must be refused.
static int
s_case_secret_key_sibling (void)
{
    int failures = 0;
    fixture_keys_t key;
    if (fixture_keys_make (&key, s_dir, "sibling"))
        return 1;
    CHECK (chmod (key.path, 0600) == 0);
    CHECK (chmod (key.secret, 0644) == 0);
    char err [1024] = "";
    zcert_t *cert = keys_load_secret (key.path, err, sizeof err);
    CHECK (cert == NULL);
    if (cert)
        fprintf (stderr, "  keys_load_secret ('%s') accepted the key pair; the secret key "
                 "it holds came from '%s' (mode 0644)\n", key.path, key.secret);
    zcert_destroy (&cert);
    return failures;
}


//  --------------------------------------------------------------------------

static const check_case_t s_cases [] = {
    { "auth_handler", s_case_auth_handler },
    { "transport_malformed_empty", s_case_transport_malformed_empty },
    { "secret_key_sibling", s_case_secret_key_sibling },
};

int
main (int argc, char **argv)
{
    setvbuf (stdout, NULL, _IOLBF, 0);              // verdicts between the stderr details
    log_init ("test_auth", getenv ("VMSCHED_TEST_LOG")? LOG_LEVEL_DEBUG: LOG_LEVEL_NONE);
    zsys_init ();
    zsys_set_logstream (NULL);
    if (fixture_files_tempdir (s_dir, sizeof s_dir, "auth")
    ||  fixture_keys_make (&s_server_key, s_dir, "server")) {
        printf ("FAIL unit/auth: cannot create a temporary directory and key pair\n");
        return 1;
    }

    int failed = CHECK_RUN_ALL ("auth", s_cases, argc, argv);
    fixture_files_remove_dir (s_dir);
    return failed? 1: 0;
}
