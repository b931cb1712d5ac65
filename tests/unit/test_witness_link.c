/*  test_witness_link.c - witness_link.c with real CURVE on real sockets (127.0.0.1).

    One witness_zap_t and one zloop for the whole program; each case opens its nodes (a link
    with a key pair made in memory by zcert_new, bound on a port of its own in 7600-7699:
    libzmq releases a closed socket's port only a moment later), sets their peers, and pumps
    the loop until what it waits for has happened or a deadline passed (s_pump): nothing
    sleeps for a fixed time except the "nothing arrives" windows, and no check measures
    time. Nodes record every message their callback gets; an echoing node answers each
    request with "re:" and the request's bytes.

    Prints one `PASS unit/witness_link/CASE` or `FAIL unit/witness_link/CASE: ...` line per
    case; the failed checks themselves are on stderr just above. `test_witness_link CASE...`
    runs only those.
*/
#include "check.h"
#include "keys.h"
#include "log.h"
#include "vec.h"
#include "witness_link.h"

#include <czmq.h>
#include <stdlib.h>
#include <string.h>

#define S_PORT_FIRST    7600        // each node, and each endpoint nobody binds, the next one
#define S_PORT_LAST     7699
#define S_SILENCE_MS    500         // "nothing arrives" means nothing within this long
#define S_ARRIVE_MS     10000       // an expected message: the pump returns when it is there;
                                    // generous for valgrind's slow CURVE handshakes
#define S_RESEND_MS     100         // s_deliver's resend interval when resending
#define S_MAX_MESSAGE   65536       // the nodes' message limit
#define S_SMALL_MAX     1024        // a node that takes only small messages
#define S_DATA_SIZE     64          // bytes of a message a node records

static witness_zap_t *s_zap;        // the process's ZAP handler, shared by every link
static zloop_t *s_loop;             // the one loop
static int s_next_port = S_PORT_FIRST;

//  One message a node's callback got.
typedef struct {
    witness_kind_t kind;            // request or reply
    witness_from_t from;            // its sender
    char data [S_DATA_SIZE];        // its first bytes, NUL-terminated
    size_t size;                    // its full size
} s_got_t;

//  One agent's link and what it received.
typedef struct {
    zcert_t *cert;                  // its key pair, in memory
    witness_link_t *link;           // the link under test
    witness_peer_t peer;            // how the others know it: host id, endpoint, key
    vec_t got;                      // s_got_t, in arrival order
    bool echo;                      // reply "re:<request>" to every request
    int replies_failed;             // echo replies witness_link_reply refused
} s_node_t;

//  --------------------------------------------------------------------------
//  Helpers

static void
s_endpoint (char *endpoint, size_t size)
{
    assert (s_next_port <= S_PORT_LAST);
    snprintf (endpoint, size, "tcp://127.0.0.1:%d", s_next_port++);
}

static int
s_on_msg (witness_link_t *link, const witness_msg_t *msg, void *arg)
{
    s_node_t *node = arg;
    s_got_t got = { .kind = msg->kind, .from = msg->from, .size = msg->size };
    memcpy (got.data, msg->data, msg->size < S_DATA_SIZE - 1? msg->size: S_DATA_SIZE - 1);
    vec_push (&node->got, &got);
    if (node->echo && msg->kind == WITNESS_REQUEST) {
        char reply [S_DATA_SIZE + 3];
        int size = snprintf (reply, sizeof reply, "re:%s", got.data);
        if (witness_link_reply (link, &msg->from, reply, (size_t) size))
            node->replies_failed++;
    }
    return 0;
}

//  A node for host_id with a new key pair, bound and attached to the loop. 0 or -1.
static int
s_node_open (s_node_t *node, const char *host_id, size_t max_message)
{
    memset (node, 0, sizeof *node);
    node->got = VEC_OF (s_got_t);
    node->cert = zcert_new ();
    snprintf (node->peer.host_id, sizeof node->peer.host_id, "%s", host_id);
    s_endpoint (node->peer.endpoint, sizeof node->peer.endpoint);
    snprintf (node->peer.public_key, sizeof node->peer.public_key, "%s",
              node->cert? zcert_public_txt (node->cert): "");
    char err [512] = "";
    node->link = node->cert? witness_link_new (s_zap, host_id, node->cert, node->peer.endpoint,
                                               max_message, err, sizeof err): NULL;
    if (!node->link || witness_link_attach (node->link, s_loop, s_on_msg, node)) {
        fprintf (stderr, "  cannot open witness node '%s': %s\n", host_id, err);
        return -1;
    }
    return 0;
}

static void
s_node_close (s_node_t *node)
{
    witness_link_destroy (&node->link);
    zcert_destroy (&node->cert);
    vec_free (&node->got);
}

static const s_got_t *
s_got (const s_node_t *node, size_t index)
{
    return index < node->got.count? vec_at (&node->got, index): NULL;
}

//  set_peers with send_to and accept_from given as arrays of nodes. 0 or -1.
static int
s_set_peers (s_node_t *node, s_node_t **send_to, size_t n_send_to, s_node_t **accept_from,
             size_t n_accept_from)
{
    witness_peer_t to [8], from [8];
    assert (n_send_to <= 8 && n_accept_from <= 8);
    for (size_t i = 0; i < n_send_to; i++)
        to [i] = send_to [i]->peer;
    for (size_t i = 0; i < n_accept_from; i++)
        from [i] = accept_from [i]->peer;
    char err [512] = "";
    int rc = witness_link_set_peers (node->link, to, n_send_to, from, n_accept_from, err,
                                     sizeof err);
    if (rc)
        fprintf (stderr, "  set_peers of '%s' failed: %s\n", node->peer.host_id, err);
    return rc;
}

//  The pump: runs the loop (the ZAP handler and every link) until until (arg) holds,
//  checked every 5 ms, or ms have passed. 1 when it held, 0 when the time was up, -1 when a
//  link's callback ended the loop.
typedef bool (s_until_fn) (void *arg);

typedef struct {
    s_until_fn *until;              // the condition, or NULL: run for ms
    void *arg;                      // its argument
    int64_t end;                    // deadline (zclock_mono)
    bool met;                       // the condition held
    bool expired;                   // the time was up
} s_pump_t;

static int
s_on_pump_tick (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop, (void) timer_id;
    s_pump_t *pump = arg;
    if (pump->until && pump->until (pump->arg)) {
        pump->met = true;
        return -1;
    }
    pump->expired = zclock_mono () >= pump->end;
    return pump->expired? -1: 0;
}

static int
s_pump (int ms, s_until_fn *until, void *arg)
{
    s_pump_t pump = { until, arg, zclock_mono () + ms, false, false };
    int timer = zloop_timer (s_loop, 5, 0, s_on_pump_tick, &pump);
    assert (timer >= 0);
    zloop_start (s_loop);
    zloop_timer_end (s_loop, timer);        // the loop has stopped: removed at once
    return pump.met? 1: pump.expired? 0: -1;
}

//  A delivery: from sends text to `to` until target has received count messages. A send
//  the link refuses (no connection yet) is retried at every tick; with resend, a message
//  sent is also sent again every S_RESEND_MS (for when a connection may have been lost).
typedef struct {
    s_node_t *from;                 // sender
    const char *to;                 // its peer's host id
    const char *text;               // what to send
    s_node_t *target;               // whose messages to count
    size_t count;                   // how many it must have
    bool resend;                    // resend a sent message every S_RESEND_MS
    int64_t sent_at;                // when it was last sent, 0 never
} s_delivery_t;

static bool
s_until_delivered (void *arg)
{
    s_delivery_t *delivery = arg;
    if (delivery->target->got.count >= delivery->count)
        return true;
    int64_t now = zclock_mono ();
    if ((!delivery->sent_at || (delivery->resend && now - delivery->sent_at >= S_RESEND_MS))
    &&  witness_link_send (delivery->from->link, delivery->to, delivery->text,
                           strlen (delivery->text)) == 0)
        delivery->sent_at = now;
    return false;
}

//  Sends until target has count messages (or S_ARRIVE_MS passed). True when it has.
static bool
s_deliver (s_node_t *from, const char *to, const char *text, s_node_t *target, size_t count,
           bool resend)
{
    s_delivery_t delivery = { from, to, text, target, count, resend, 0 };
    return s_pump (S_ARRIVE_MS, s_until_delivered, &delivery) == 1;
}

//  Keeps trying to send for ms (the link refuses while it has no connection). Returns
//  how many sends the link took.
typedef struct {
    s_node_t *from;                 // sender
    const char *to;                 // its peer's host id
    int taken;                      // sends witness_link_send took
} s_attempts_t;

static bool
s_until_never (void *arg)
{
    s_attempts_t *attempts = arg;
    if (witness_link_send (attempts->from->link, attempts->to, "hello", 5) == 0)
        attempts->taken++;
    return false;
}

static int
s_try_sending (s_node_t *from, const char *to, int ms)
{
    s_attempts_t attempts = { from, to, 0 };
    s_pump (ms, s_until_never, &attempts);
    return attempts.taken;
}

//  A reached condition: node has received count messages.
typedef struct {
    const s_node_t *node;           // whose
    size_t count;                   // how many
} s_count_t;

static bool
s_until_count (void *arg)
{
    const s_count_t *wanted = arg;
    return wanted->node->got.count >= wanted->count;
}

static bool
s_until_refused (void *arg)
{
    const s_count_t *wanted = arg;
    return witness_link_stats (wanted->node->link)->refused >= wanted->count;
}

//  --------------------------------------------------------------------------
//  Cases

//  A asks B and C; each sees a request from "A" and answers; A gets replies naming them.
static int
s_case_request_reply (void)
{
    int failures = 0;
    s_node_t a, b, c;
    if (s_node_open (&a, "A", S_MAX_MESSAGE) || s_node_open (&b, "B", S_MAX_MESSAGE)
    ||  s_node_open (&c, "C", S_MAX_MESSAGE)) {
        s_node_close (&a), s_node_close (&b), s_node_close (&c);
        return 1;
    }
    b.echo = c.echo = true;
    CHECK (s_set_peers (&a, (s_node_t *[]) { &b, &c }, 2, NULL, 0) == 0);
    CHECK (s_set_peers (&b, NULL, 0, (s_node_t *[]) { &a }, 1) == 0);
    CHECK (s_set_peers (&c, NULL, 0, (s_node_t *[]) { &a }, 1) == 0);
    CHECK (streq (witness_link_host_id (b.link), "B"));
    CHECK (streq (witness_link_zap_domain (b.link), "witness-B"));

    CHECK (s_deliver (&a, "B", "ping-b", &a, 1, false));
    const s_got_t *request = s_got (&b, 0), *reply = s_got (&a, 0);
    CHECK (b.got.count == 1 && request && request->kind == WITNESS_REQUEST);
    CHECK (request && streq (request->from.host_id, "A") && streq (request->data, "ping-b")
           && request->size == 6 && request->from.route_size > 0);
    CHECK (a.got.count == 1 && reply && reply->kind == WITNESS_REPLY);
    CHECK (reply && streq (reply->from.host_id, "B") && streq (reply->data, "re:ping-b")
           && reply->from.route_size == 0);

    CHECK (s_deliver (&a, "C", "ping-c", &a, 2, false));
    reply = s_got (&a, 1);
    CHECK (reply && reply->kind == WITNESS_REPLY && streq (reply->from.host_id, "C")
           && streq (reply->data, "re:ping-c"));
    CHECK (c.got.count == 1 && s_got (&c, 0) && streq (s_got (&c, 0)->from.host_id, "A"));

    //  A reply has no routing id: it cannot be answered.
    if (reply)
        CHECK (witness_link_reply (a.link, &reply->from, "x", 1) == -1);
    CHECK (b.replies_failed == 0 && c.replies_failed == 0);
    const witness_link_stats_t *stats = witness_link_stats (b.link);
    CHECK (stats->received == 1 && stats->sent == 1 && stats->refused == 0);
    CHECK (stats->handshakes_accepted == 1 && stats->handshakes_refused == 0);
    stats = witness_link_stats (a.link);
    CHECK (stats->received == 2 && stats->sent == 2 && stats->refused == 0);
    s_node_close (&a), s_node_close (&b), s_node_close (&c);
    return failures;
}

//  C's key is not in B's accept_from: its handshakes are refused and nothing it sends
//  arrives; a plaintext client gets nowhere either. Once B accepts C, C gets through.
static int
s_case_unknown_key_refused (void)
{
    int failures = 0;
    s_node_t a, b, c;
    if (s_node_open (&a, "A", S_MAX_MESSAGE) || s_node_open (&b, "B", S_MAX_MESSAGE)
    ||  s_node_open (&c, "C", S_MAX_MESSAGE)) {
        s_node_close (&a), s_node_close (&b), s_node_close (&c);
        return 1;
    }
    CHECK (s_set_peers (&b, NULL, 0, (s_node_t *[]) { &a }, 1) == 0);
    CHECK (s_set_peers (&c, (s_node_t *[]) { &b }, 1, NULL, 0) == 0);
    //  With ZMQ_IMMEDIATE the link takes no message while it has no connection.
    CHECK (s_try_sending (&c, "B", 2 * S_SILENCE_MS) == 0);
    CHECK (b.got.count == 0);
    CHECK (witness_link_stats (b.link)->handshakes_refused >= 1);
    CHECK (witness_link_stats (b.link)->handshakes_accepted == 0);
    CHECK (witness_link_stats (c.link)->sent == 0 && witness_link_stats (c.link)->dropped > 0);

    zsock_t *plain = zsock_new (ZMQ_DEALER);
    assert (plain);
    zsock_set_linger (plain, 0);
    zsock_connect (plain, "%s", b.peer.endpoint);
    zstr_send (plain, "plaintext");
    s_pump (S_SILENCE_MS, NULL, NULL);
    CHECK (b.got.count == 0 && witness_link_stats (b.link)->refused == 0);
    zsock_destroy (&plain);

    //  libzmq gave up on C's DEALER when B refused it: the link opens a new one.
    CHECK (s_set_peers (&b, NULL, 0, (s_node_t *[]) { &a, &c }, 2) == 0);
    CHECK (s_deliver (&c, "B", "now-allowed", &b, 1, false));
    CHECK (witness_link_stats (c.link)->reopened >= 1);
    CHECK (s_got (&b, 0) && streq (s_got (&b, 0)->from.host_id, "C")
           && streq (s_got (&b, 0)->data, "now-allowed"));
    s_node_close (&a), s_node_close (&b), s_node_close (&c);
    return failures;
}

//  B stops accepting A: A's next message on its open connection is refused. Added back with
//  the same key, A is accepted again on that connection; with another key, refused.
static int
s_case_removed_refused (void)
{
    int failures = 0;
    s_node_t a, b;
    if (s_node_open (&a, "A", S_MAX_MESSAGE) || s_node_open (&b, "B", S_MAX_MESSAGE)) {
        s_node_close (&a), s_node_close (&b);
        return 1;
    }
    b.echo = true;
    CHECK (s_set_peers (&a, (s_node_t *[]) { &b }, 1, NULL, 0) == 0);
    CHECK (s_set_peers (&b, NULL, 0, (s_node_t *[]) { &a }, 1) == 0);
    CHECK (s_deliver (&a, "B", "first", &a, 1, false));
    CHECK (b.got.count == 1);

    CHECK (s_set_peers (&b, NULL, 0, NULL, 0) == 0);
    CHECK (witness_link_send (a.link, "B", "after-removal", 13) == 0);     // still connected
    s_count_t refused = { &b, 1 };
    CHECK (s_pump (S_ARRIVE_MS, s_until_refused, &refused) == 1);
    s_pump (S_SILENCE_MS, NULL, NULL);
    CHECK (b.got.count == 1 && a.got.count == 1);
    CHECK (witness_link_stats (b.link)->refused == 1);

    CHECK (s_set_peers (&b, NULL, 0, (s_node_t *[]) { &a }, 1) == 0);
    CHECK (witness_link_send (a.link, "B", "back", 4) == 0);
    s_count_t wanted = { &b, 2 };
    CHECK (s_pump (S_ARRIVE_MS, s_until_count, &wanted) == 1);
    CHECK (s_got (&b, 1) && streq (s_got (&b, 1)->data, "back"));
    CHECK (witness_link_stats (b.link)->handshakes_accepted == 1);          // same connection

    //  "A" with another key: the connection made with the old one is refused.
    zcert_t *other = zcert_new ();
    witness_peer_t rekeyed = a.peer;
    snprintf (rekeyed.public_key, sizeof rekeyed.public_key, "%s", zcert_public_txt (other));
    zcert_destroy (&other);
    char err [512] = "";
    CHECK (witness_link_set_peers (b.link, NULL, 0, &rekeyed, 1, err, sizeof err) == 0);
    CHECK (witness_link_send (a.link, "B", "old-key", 7) == 0);
    refused.count = 2;
    CHECK (s_pump (S_ARRIVE_MS, s_until_refused, &refused) == 1);
    s_pump (S_SILENCE_MS, NULL, NULL);
    CHECK (b.got.count == 2 && witness_link_stats (b.link)->refused == 2);
    s_node_close (&a), s_node_close (&b);
    return failures;
}

//  A knows B at an endpoint where nothing listens: nothing goes out. set_peers with B's
//  right endpoint reconnects; C, unchanged, keeps its connection throughout.
static int
s_case_endpoint_change (void)
{
    int failures = 0;
    s_node_t a, b, c;
    if (s_node_open (&a, "A", S_MAX_MESSAGE) || s_node_open (&b, "B", S_MAX_MESSAGE)
    ||  s_node_open (&c, "C", S_MAX_MESSAGE)) {
        s_node_close (&a), s_node_close (&b), s_node_close (&c);
        return 1;
    }
    CHECK (s_set_peers (&b, NULL, 0, (s_node_t *[]) { &a }, 1) == 0);
    CHECK (s_set_peers (&c, NULL, 0, (s_node_t *[]) { &a }, 1) == 0);
    witness_peer_t peers [2] = { b.peer, c.peer };
    s_endpoint (peers [0].endpoint, sizeof peers [0].endpoint);            // nobody there
    char err [512] = "";
    CHECK (witness_link_set_peers (a.link, peers, 2, NULL, 0, err, sizeof err) == 0);
    CHECK (s_deliver (&a, "C", "to-c", &c, 1, false));
    CHECK (s_try_sending (&a, "B", S_SILENCE_MS) == 0);
    CHECK (b.got.count == 0);

    peers [0] = b.peer;
    CHECK (witness_link_set_peers (a.link, peers, 2, NULL, 0, err, sizeof err) == 0);
    CHECK (witness_link_send (a.link, "C", "kept", 4) == 0);               // no reconnect
    CHECK (s_deliver (&a, "B", "to-b", &b, 1, false));
    CHECK (s_got (&b, 0) && streq (s_got (&b, 0)->from.host_id, "A")
           && streq (s_got (&b, 0)->data, "to-b"));
    s_count_t wanted = { &c, 2 };
    CHECK (s_pump (S_ARRIVE_MS, s_until_count, &wanted) == 1);
    CHECK (s_got (&c, 1) && streq (s_got (&c, 1)->data, "kept"));
    CHECK (witness_link_stats (c.link)->handshakes_accepted == 1);
    s_node_close (&a), s_node_close (&b), s_node_close (&c);
    return failures;
}

//  Unknown peers, bad peer sets (refused whole, nothing changed), a second link for the same
//  host, an endpoint already bound.
static int
s_case_bad_input (void)
{
    int failures = 0;
    s_node_t a, b;
    if (s_node_open (&a, "A", S_MAX_MESSAGE) || s_node_open (&b, "B", S_MAX_MESSAGE)) {
        s_node_close (&a), s_node_close (&b);
        return 1;
    }
    CHECK (witness_link_send (a.link, "Z", "x", 1) == -1);
    CHECK (witness_link_stats (a.link)->dropped == 1 && witness_link_stats (a.link)->sent == 0);
    CHECK (s_set_peers (&a, (s_node_t *[]) { &b }, 1, NULL, 0) == 0);
    CHECK (s_set_peers (&b, NULL, 0, (s_node_t *[]) { &a }, 1) == 0);
    CHECK (witness_link_send (a.link, "Z", "x", 1) == -1);

    struct {
        const char *what;           // which mistake
        witness_peer_t peer;        // the second send_to peer, after B
        const char *reason;         // part of the error
    } bad [] = {
        { "twice", b.peer, "listed twice" },
        { "itself", a.peer, "is this host" },
        { "bad id", b.peer, "invalid host id" },
        { "bad key", b.peer, "invalid public key" },
        { "no endpoint", b.peer, "no witness endpoint" },
        { "bad endpoint", b.peer, "cannot connect" },
    };
    snprintf (bad [2].peer.host_id, sizeof bad [2].peer.host_id, "no spaces");
    snprintf (bad [3].peer.host_id, sizeof bad [3].peer.host_id, "D");
    snprintf (bad [3].peer.public_key, sizeof bad [3].peer.public_key, "short");
    snprintf (bad [4].peer.host_id, sizeof bad [4].peer.host_id, "D");
    zcert_t *d = zcert_new ();
    snprintf (bad [4].peer.public_key, sizeof bad [4].peer.public_key, "%s",
              zcert_public_txt (d));
    bad [4].peer.endpoint [0] = 0;
    bad [5].peer = bad [4].peer;
    snprintf (bad [5].peer.endpoint, sizeof bad [5].peer.endpoint, "nonsense://here");
    zcert_destroy (&d);
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++) {
        witness_peer_t peers [2] = { b.peer, bad [i].peer };
        char err [512] = "";
        int rc = witness_link_set_peers (a.link, peers, 2, NULL, 0, err, sizeof err);
        CHECK (rc == -1 && strstr (err, bad [i].reason));
        if (rc != -1 || !strstr (err, bad [i].reason))
            fprintf (stderr, "  %s: set_peers returned %d, '%s'\n", bad [i].what, rc, err);
    }
    char err [512] = "";
    witness_peer_t twins [2] = { a.peer, b.peer };
    snprintf (twins [1].public_key, sizeof twins [1].public_key, "%s", a.peer.public_key);
    snprintf (twins [0].host_id, sizeof twins [0].host_id, "E");
    snprintf (twins [1].host_id, sizeof twins [1].host_id, "G");
    CHECK (witness_link_set_peers (b.link, NULL, 0, twins, 2, err, sizeof err) == -1
           && strstr (err, "same key"));
    //  Nothing changed: A still reaches B on its connection.
    CHECK (s_deliver (&a, "B", "still", &b, 1, false));

    zcert_t *cert = zcert_new ();
    char endpoint [64];
    s_endpoint (endpoint, sizeof endpoint);
    witness_link_t *twin = witness_link_new (s_zap, "A", cert, endpoint, S_MAX_MESSAGE, err,
                                             sizeof err);
    CHECK (twin == NULL && strstr (err, "already exists"));
    witness_link_destroy (&twin);
    witness_link_t *clash = witness_link_new (s_zap, "F", cert, b.peer.endpoint, S_MAX_MESSAGE,
                                              err, sizeof err);
    CHECK (clash == NULL && strstr (err, b.peer.endpoint));
    witness_link_destroy (&clash);
    byte no_secret [32] = { 0 };
    zcert_t *public_only = zcert_new_from (zcert_public_key (cert), no_secret);
    clash = witness_link_new (s_zap, "F", public_only, endpoint, S_MAX_MESSAGE, err, sizeof err);
    CHECK (clash == NULL && strstr (err, "no secret key"));
    witness_link_destroy (&clash);
    zcert_destroy (&public_only);
    zcert_destroy (&cert);
    s_node_close (&a), s_node_close (&b);
    return failures;
}

//  B takes messages of up to 1 KiB: a larger one never arrives (libzmq drops the connection
//  instead), and after the reconnect small ones arrive again. A refuses to send beyond its
//  own limit.
static int
s_case_too_large (void)
{
    int failures = 0;
    s_node_t a, b;
    if (s_node_open (&a, "A", S_MAX_MESSAGE) || s_node_open (&b, "B", S_SMALL_MAX)) {
        s_node_close (&a), s_node_close (&b);
        return 1;
    }
    CHECK (s_set_peers (&a, (s_node_t *[]) { &b }, 1, NULL, 0) == 0);
    CHECK (s_set_peers (&b, NULL, 0, (s_node_t *[]) { &a }, 1) == 0);
    CHECK (s_deliver (&a, "B", "small", &b, 1, false));

    size_t big_size = 4 * S_SMALL_MAX;
    char *big = calloc (1, S_MAX_MESSAGE + 1);
    assert (big);
    memset (big, 'x', big_size);
    CHECK (witness_link_send (a.link, "B", big, big_size) == 0);
    s_pump (S_SILENCE_MS, NULL, NULL);
    CHECK (b.got.count == 1);
    CHECK (s_deliver (&a, "B", "small-again", &b, 2, true));
    bool only_small = true;
    for (size_t i = 0; i < b.got.count; i++)
        only_small &= s_got (&b, i)->size < S_SMALL_MAX;
    CHECK (only_small);
    CHECK (witness_link_stats (b.link)->handshakes_accepted >= 2);           // reconnected
    uint64_t dropped = witness_link_stats (a.link)->dropped;
    CHECK (witness_link_send (a.link, "B", big, S_MAX_MESSAGE + 1) == -1);
    CHECK (witness_link_stats (a.link)->dropped == dropped + 1);
    free (big);
    s_node_close (&a), s_node_close (&b);
    return failures;
}

//  A client holding A's key but speaking raw ZeroMQ: one frame is a request from "A", two
//  frames are refused.
static int
s_case_bad_framing (void)
{
    int failures = 0;
    s_node_t a, b;
    if (s_node_open (&a, "A", S_MAX_MESSAGE) || s_node_open (&b, "B", S_MAX_MESSAGE)) {
        s_node_close (&a), s_node_close (&b);
        return 1;
    }
    CHECK (s_set_peers (&b, NULL, 0, (s_node_t *[]) { &a }, 1) == 0);
    zsock_t *raw = zsock_new (ZMQ_DEALER);
    assert (raw);
    zsock_set_linger (raw, 0);
    zcert_apply (a.cert, raw);
    zsock_set_curve_serverkey (raw, b.peer.public_key);
    zsock_connect (raw, "%s", b.peer.endpoint);
    zstr_send (raw, "one");
    s_count_t wanted = { &b, 1 };
    CHECK (s_pump (S_ARRIVE_MS, s_until_count, &wanted) == 1);
    CHECK (s_got (&b, 0) && streq (s_got (&b, 0)->from.host_id, "A")
           && streq (s_got (&b, 0)->data, "one"));
    zstr_sendm (raw, "two");
    zstr_send (raw, "frames");
    s_count_t refused = { &b, 1 };
    CHECK (s_pump (S_ARRIVE_MS, s_until_refused, &refused) == 1);
    CHECK (b.got.count == 1 && witness_link_stats (b.link)->refused == 1);
    zstr_send (raw, "three");
    wanted.count = 2;
    CHECK (s_pump (S_ARRIVE_MS, s_until_count, &wanted) == 1);
    CHECK (s_got (&b, 1) && streq (s_got (&b, 1)->data, "three"));
    zsock_destroy (&raw);
    s_node_close (&a), s_node_close (&b);
    return failures;
}

//  A callback that counts its calls (int *arg), changes the peers to none, closing the
//  DEALER it is being called for while replies are still queued on it, and goes on.
static int
s_on_msg_repeer (witness_link_t *link, const witness_msg_t *msg, void *arg)
{
    (void) msg;
    int *calls = arg;
    (*calls)++;
    char err [256];
    witness_link_set_peers (link, NULL, 0, NULL, 0, err, sizeof err);
    return 0;
}

//  A callback that counts its calls and ends the loop.
static int
s_on_msg_stop (witness_link_t *link, const witness_msg_t *msg, void *arg)
{
    (void) link, (void) msg;
    (*(int *) arg)++;
    return -1;
}

static bool
s_until_called (void *arg)
{
    return *(int *) arg > 0;
}

//  What the callback may do: change the peers (the link must not read the DEALER it closed;
//  valgrind would see it) and end the loop.
static int
s_case_callback (void)
{
    int failures = 0;
    s_node_t a, b;
    if (s_node_open (&a, "A", S_MAX_MESSAGE) || s_node_open (&b, "B", S_MAX_MESSAGE)) {
        s_node_close (&a), s_node_close (&b);
        return 1;
    }
    b.echo = true;
    CHECK (s_set_peers (&a, (s_node_t *[]) { &b }, 1, NULL, 0) == 0);
    CHECK (s_set_peers (&b, NULL, 0, (s_node_t *[]) { &a }, 1) == 0);
    CHECK (s_deliver (&a, "B", "warm-up", &a, 1, false));

    //  Three requests: B answers them in one go, so A's DEALER has replies queued when the
    //  first one's callback closes it. The others are lost with it.
    int calls = 0;
    CHECK (witness_link_attach (a.link, s_loop, s_on_msg_repeer, &calls) == 0);
    s_count_t wanted = { &b, 4 };
    witness_link_attach (b.link, NULL, NULL, NULL);     // hold B back until all are there
    CHECK (witness_link_send (a.link, "B", "one", 3) == 0);
    CHECK (witness_link_send (a.link, "B", "two", 3) == 0);
    CHECK (witness_link_send (a.link, "B", "three", 5) == 0);
    s_pump (S_SILENCE_MS, NULL, NULL);
    CHECK (witness_link_attach (b.link, s_loop, s_on_msg, &b) == 0);
    CHECK (s_pump (S_ARRIVE_MS, s_until_count, &wanted) == 1);
    CHECK (s_pump (S_ARRIVE_MS, s_until_called, &calls) == 1);
    s_pump (S_SILENCE_MS, NULL, NULL);
    CHECK (calls == 1);
    CHECK (witness_link_send (a.link, "B", "gone", 4) == -1);

    //  A callback returning -1 ends zloop_start.
    int stops = 0;
    CHECK (witness_link_attach (b.link, s_loop, s_on_msg_stop, &stops) == 0);
    CHECK (s_set_peers (&a, (s_node_t *[]) { &b }, 1, NULL, 0) == 0);
    s_delivery_t delivery = { &a, "B", "stop", &b, 1000, false, 0 };
    CHECK (s_pump (S_ARRIVE_MS, s_until_delivered, &delivery) == -1);
    CHECK (stops == 1);
    s_node_close (&a), s_node_close (&b);
    return failures;
}

//  --------------------------------------------------------------------------

static const check_case_t s_cases [] = {
    { "request_reply", s_case_request_reply },
    { "unknown_key_refused", s_case_unknown_key_refused },
    { "removed_refused", s_case_removed_refused },
    { "endpoint_change", s_case_endpoint_change },
    { "bad_input", s_case_bad_input },
    { "too_large", s_case_too_large },
    { "bad_framing", s_case_bad_framing },
    { "callback", s_case_callback },
};

static int
s_on_zap (zloop_t *loop, zsock_t *sock, void *arg)
{
    (void) loop, (void) sock;
    witness_zap_handle (arg);
    return 0;
}

int
main (int argc, char **argv)
{
    setvbuf (stdout, NULL, _IOLBF, 0);              // verdicts between the stderr details
    log_init ("test_witness_link", getenv ("VMSCHED_TEST_LOG")? LOG_LEVEL_DEBUG
                                                              : LOG_LEVEL_NONE);
    zsys_init ();
    zsys_set_logstream (NULL);
    char err [512] = "";
    s_zap = witness_zap_new (err, sizeof err);
    s_loop = zloop_new ();
    if (!s_zap || !s_loop || zloop_reader (s_loop, witness_zap_socket (s_zap), s_on_zap, s_zap)) {
        printf ("FAIL unit/witness_link: cannot start the ZAP handler: %s\n", err);
        return 1;
    }
    int failed = CHECK_RUN_ALL ("witness_link", s_cases, argc, argv);
    zloop_destroy (&s_loop);
    witness_zap_destroy (&s_zap);
    return failed? 1: 0;
}
