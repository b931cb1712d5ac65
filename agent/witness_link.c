/*  witness_link.c - the agent-to-agent transport of witness leases (see witness_link.h).

    Owns the ZAP handler's REP socket and, per link, the ROUTER, the DEALERs to the peers it
    asks, a copy of the host's key pair and the two peer sets (small: k witnesses and the
    hosts witnessed, searched linearly). It never interprets the bytes it moves and never
    blocks: every send and receive is ZMQ_DONTWAIT, refusals are counted and logged
    rate-limited (log_sampled), never fatal.

    The User-Id a handshake gets is "<host id>#<Z85 key>", not a grant number as in the
    scheduler's auth.c: the per-message check needs (host, key) to be in accept_from now, so
    a removed host or a replaced key is refused at once, while a host removed and added back
    with the same key (the leader reshuffling witnesses) is accepted again on the connection
    it already has; with grant numbers that connection would stay refused until it broke.

    libzmq (4.3.4, session_base.cpp) does not reconnect a connecting socket after a protocol
    error, and a handshake the server's ZAP handler refused is one: a DEALER refused once
    (A was told to ask B a moment before B was told to accept A) would stay dead, every
    send refused. So a DEALER whose sends have been refused for S_REOPEN_MS (the longest
    reconnect interval) is closed and opened anew at its next send; that also ends a
    connection stuck behind a full queue to a hung peer, and costs a dead peer one new
    socket a second while the protocol keeps asking it.

    zloop hands a reader's socket pointer to its handler even in the iteration in which the
    reader was ended (its poll set is rebuilt only on the next turn). So every reader is
    registered with the link as its argument and the handler looks the socket up among the
    link's live sockets by address, without dereferencing it: a DEALER closed by set_peers
    (from a timer, another reader or our own callback) is never touched again.
*/
#include "witness_link.h"
#include "clock.h"
#include "log.h"
#include "vec.h"
#include "zap.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <string.h>

#define S_ZAP_ENDPOINT          "inproc://zeromq.zap.01"
#define S_ZAP_ENFORCE_DOMAIN    93      // ZMQ_ZAP_ENFORCE_DOMAIN (draft API name; stable number)
#define S_DOMAIN_PREFIX         "witness-"
#define S_DOMAIN_SIZE           (sizeof S_DOMAIN_PREFIX + WIRE_ID_SIZE)
#define S_USER_ID_SIZE          (WIRE_ID_SIZE + KEYS_Z85_SIZE + 1)     // "host#key"
#define S_ZERO_KEY              "0000000000000000000000000000000000000000"
#define S_RECV_PER_WAKE         64      // messages taken from one socket per wake-up
#define S_DEALER_SNDHWM         4       // requests queued per peer before sends are dropped
#define S_RECONNECT_MS          250     // DEALER reconnect interval, doubling up to:
#define S_RECONNECT_MAX_MS      1000
#define S_HEARTBEAT_MS          1000    // ZMTP heartbeats: clean up dead TCP connections
#define S_HEARTBEAT_TIMEOUT_MS  3000
#define S_REOPEN_MS             1000    // sends refused this long: open the DEALER anew

struct witness_zap {
    zsock_t *handler;               // REP, bound to the ZAP endpoint
    vec_t links;                    // witness_link_t *, the links answered for
    uint64_t refused;               // handshakes for a domain no link has
};

//  A peer we ask, and the DEALER we ask it on.
typedef struct {
    witness_peer_t peer;            // as set_peers gave it
    zsock_t *dealer;                // CURVE client connected to peer.endpoint (owned)
    int64_t failing_since;          // first refused send since the last one taken, 0 none
} s_dealer_t;

//  A host that may send us requests.
typedef struct {
    char host_id [WIRE_ID_SIZE];    // who
    char key [KEYS_Z85_SIZE];       // with which key
} s_allowed_t;

struct witness_link {
    witness_zap_t *zap;             // answers our handshakes (NULL once it is destroyed)
    char host_id [WIRE_ID_SIZE];    // this host
    char domain [S_DOMAIN_SIZE];    // our ZAP domain, "witness-<host id>"
    char endpoint [WITNESS_ENDPOINT_SIZE];  // where the ROUTER is bound
    zcert_t *cert;                  // this host's key pair (our copy)
    size_t max_message;             // MAXMSGSIZE of every socket; larger sends refused
    zsock_t *router;                // CURVE server: requests in, replies out
    vec_t dealers;                  // s_dealer_t, one per send_to peer
    vec_t allowed;                  // s_allowed_t, the accept_from set
    zloop_t *loop;                  // where our sockets are registered, or NULL
    witness_on_msg_fn *on_msg;      // the owner's callback
    void *arg;                      // its argument
    bool in_callback;               // on_msg is running (destroy is misuse then)
    bool stop;                      // on_msg returned -1: end zloop_start
    witness_link_stats_t stats;     // counters
};

//  --------------------------------------------------------------------------
//  Checks

static bool
s_host_id_valid (const char *host_id)
{
    size_t length = strnlen (host_id, WIRE_ID_SIZE);
    return length > 0 && length < WIRE_ID_SIZE
        && strspn (host_id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_")
           == length;
}

//  A fixed-size text field that holds a NUL-terminated, non-empty string.
static bool
s_text_valid (const char *text, size_t size)
{
    return text [0] && memchr (text, 0, size) != NULL;
}

//  --------------------------------------------------------------------------
//  The ZAP handler

witness_zap_t *
witness_zap_new (char *err, size_t err_size)
{
    witness_zap_t *self = calloc (1, sizeof *self);
    if (!self) {
        snprintf (err, err_size, "out of memory");
        return NULL;
    }
    self->links = VEC_OF (witness_link_t *);
    self->handler = zsock_new (ZMQ_REP);
    if (self->handler)
        zsock_set_rcvtimeo (self->handler, 0);      // witness_zap_handle never blocks
    //  A handler closed a moment ago (tests make several) frees the endpoint asynchronously.
    int rc = self->handler? zsock_bind (self->handler, S_ZAP_ENDPOINT): -1;
    for (int tries = 0; rc < 0 && self->handler && zmq_errno () == EADDRINUSE && tries < 100;
         tries++) {
        zclock_sleep (10);
        rc = zsock_bind (self->handler, S_ZAP_ENDPOINT);
    }
    if (rc < 0) {
        snprintf (err, err_size, "cannot bind the witness ZAP handler on %s: %s%s",
                  S_ZAP_ENDPOINT, zmq_strerror (zmq_errno ()), zmq_errno () == EADDRINUSE
                  ? " (another ZAP handler runs in this process)": "");
        witness_zap_destroy (&self);
        return NULL;
    }
    return self;
}

void
witness_zap_destroy (witness_zap_t **self_p)
{
    witness_zap_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->links.count; i++)
        (*(witness_link_t **) vec_at (&self->links, i))->zap = NULL;
    zsock_destroy (&self->handler);
    vec_free (&self->links);
    free (self);
    *self_p = NULL;
}

zsock_t *
witness_zap_socket (witness_zap_t *self)
{
    return self->handler;
}

static witness_link_t *
s_link_by_domain (const witness_zap_t *self, const char *domain)
{
    for (size_t i = 0; domain && i < self->links.count; i++) {
        witness_link_t *link = *(witness_link_t **) vec_at (&self->links, i);
        if (strcmp (link->domain, domain) == 0)
            return link;
    }
    return NULL;
}

static const s_allowed_t *
s_allowed_by_key (const witness_link_t *self, const char *key)
{
    for (size_t i = 0; i < self->allowed.count; i++) {
        const s_allowed_t *allowed = vec_at (&self->allowed, i);
        if (strcmp (allowed->key, key) == 0)
            return allowed;
    }
    return NULL;
}

void
witness_zap_handle (witness_zap_t *self)
{
    zap_request_t request;
    if (zap_request_recv (self->handler, &request))
        return;
    witness_link_t *link = s_link_by_domain (self, request.domain);
    const s_allowed_t *allowed = link && request.curve? s_allowed_by_key (link, request.key)
                                                      : NULL;
    if (allowed) {
        char user_id [S_USER_ID_SIZE];
        snprintf (user_id, sizeof user_id, "%s#%s", allowed->host_id, allowed->key);
        link->stats.handshakes_accepted++;
        log_debug ("witness link of host '%s': accepted host '%s' from %s", link->host_id,
                   allowed->host_id, request.address);
        zap_reply (self->handler, &request, "200", "OK", user_id);
    }
    else if (link) {
        link->stats.handshakes_refused++;
        if (log_sampled (link->stats.handshakes_refused))
            log_warn ("witness link of host '%s' refused a connection from %s: %s%s (%" PRIu64
                      " refused so far)", link->host_id, request.address,
                      request.curve? "key not among the hosts it witnesses: "
                                   : "not a CURVE client",
                      request.key, link->stats.handshakes_refused);
        zap_reply (self->handler, &request, "400", "not allowed", "");
    }
    else {
        self->refused++;
        if (log_sampled (self->refused))
            log_warn ("refused a connection from %s to ZAP domain '%s': no witness link has "
                      "it (%" PRIu64 " refused so far)", request.address, request.domain,
                      self->refused);
        zap_reply (self->handler, &request, "400", "no such domain", "");
    }
    zap_request_free (&request);
}

//  --------------------------------------------------------------------------
//  Sockets

//  Options every socket of a link shares (DESIGN.md §3).
static void
s_common_options (witness_link_t *self, zsock_t *sock)
{
    int64_t max_message = (int64_t) self->max_message;
    zmq_setsockopt (zsock_resolve (sock), ZMQ_MAXMSGSIZE, &max_message, sizeof max_message);
    zsock_set_linger (sock, 0);
    zsock_set_heartbeat_ivl (sock, S_HEARTBEAT_MS);
    zsock_set_heartbeat_timeout (sock, S_HEARTBEAT_TIMEOUT_MS);
    zcert_apply (self->cert, sock);
}

static zsock_t *
s_router_bind (witness_link_t *self, char *err, size_t err_size)
{
    zsock_t *sock = zsock_new (ZMQ_ROUTER);
    if (!sock) {
        snprintf (err, err_size, "cannot create the witness socket for '%s'", self->endpoint);
        return NULL;
    }
    s_common_options (self, sock);
    zsock_set_router_mandatory (sock, 1);
    zsock_set_curve_server (sock, 1);
    zsock_set_zap_domain (sock, self->domain);
    int one = 1;
    if (zmq_setsockopt (zsock_resolve (sock), S_ZAP_ENFORCE_DOMAIN, &one, sizeof one)) {
        snprintf (err, err_size, "cannot enforce ZAP on the witness endpoint '%s': %s",
                  self->endpoint, zmq_strerror (zmq_errno ()));
        zsock_destroy (&sock);
        return NULL;
    }
    if (zsock_bind (sock, "%s", self->endpoint) < 0) {
        snprintf (err, err_size, "cannot bind the witness endpoint '%s': %s", self->endpoint,
                  zmq_strerror (zmq_errno ()));
        zsock_destroy (&sock);
    }
    return sock;
}

static zsock_t *
s_dealer_connect (witness_link_t *self, const witness_peer_t *peer, char *err, size_t err_size)
{
    zsock_t *sock = zsock_new (ZMQ_DEALER);
    if (!sock) {
        snprintf (err, err_size, "cannot create a socket for witness peer '%s'", peer->host_id);
        return NULL;
    }
    s_common_options (self, sock);
    zsock_set_curve_serverkey (sock, peer->public_key);
    zsock_set_immediate (sock, 1);
    zsock_set_sndhwm (sock, S_DEALER_SNDHWM);
    zsock_set_reconnect_ivl (sock, S_RECONNECT_MS);
    zsock_set_reconnect_ivl_max (sock, S_RECONNECT_MAX_MS);
    if (zsock_connect (sock, "%s", peer->endpoint) < 0) {
        snprintf (err, err_size, "cannot connect to the witness endpoint '%s' of host '%s': %s",
                  peer->endpoint, peer->host_id, zmq_strerror (zmq_errno ()));
        zsock_destroy (&sock);
    }
    return sock;
}

//  Reads and discards the remaining frames of a multi-part message.
static void
s_drain (void *handle)
{
    int more = 1;
    size_t more_size = sizeof more;
    while (zmq_getsockopt (handle, ZMQ_RCVMORE, &more, &more_size) == 0 && more) {
        zmq_msg_t part;
        zmq_msg_init (&part);
        int rc = zmq_msg_recv (&part, handle, ZMQ_DONTWAIT);
        zmq_msg_close (&part);
        if (rc < 0)
            break;
    }
}

static int s_on_socket (zloop_t *loop, zsock_t *sock, void *arg);

//  --------------------------------------------------------------------------
//  Life cycle

witness_link_t *
witness_link_new (witness_zap_t *zap, const char *own_host_id, zcert_t *own_cert,
                  const char *bind_endpoint, size_t max_message, char *err, size_t err_size)
{
    assert (zap && own_host_id && own_cert && bind_endpoint);
    if (!s_host_id_valid (own_host_id)) {
        snprintf (err, err_size, "invalid witness host id '%.64s': use 1 to %d letters, "
                  "digits, '.', '-' and '_'", own_host_id, WIRE_ID_SIZE - 1);
        return NULL;
    }
    if (!bind_endpoint [0] || strlen (bind_endpoint) >= WITNESS_ENDPOINT_SIZE) {
        snprintf (err, err_size, "invalid witness endpoint '%.64s': expected tcp://HOST:PORT",
                  bind_endpoint);
        return NULL;
    }
    if (max_message == 0 || max_message > INT64_MAX) {
        snprintf (err, err_size, "invalid witness message limit %zu", max_message);
        return NULL;
    }
    if (!keys_valid_z85 (zcert_public_txt (own_cert))
    ||  !keys_valid_z85 (zcert_secret_txt (own_cert))
    ||  strcmp (zcert_secret_txt (own_cert), S_ZERO_KEY) == 0) {
        snprintf (err, err_size, "the key pair of witness host '%s' has no secret key",
                  own_host_id);
        return NULL;
    }
    char domain [S_DOMAIN_SIZE];
    snprintf (domain, sizeof domain, S_DOMAIN_PREFIX "%s", own_host_id);
    if (s_link_by_domain (zap, domain)) {
        snprintf (err, err_size, "a witness link for host '%s' already exists", own_host_id);
        return NULL;
    }
    witness_link_t *self = calloc (1, sizeof *self);
    if (!self) {
        snprintf (err, err_size, "out of memory");
        return NULL;
    }
    self->dealers = VEC_OF (s_dealer_t);
    self->allowed = VEC_OF (s_allowed_t);
    snprintf (self->host_id, sizeof self->host_id, "%s", own_host_id);
    snprintf (self->domain, sizeof self->domain, "%s", domain);
    snprintf (self->endpoint, sizeof self->endpoint, "%s", bind_endpoint);
    self->max_message = max_message;
    self->cert = zcert_dup (own_cert);
    if (!self->cert) {
        snprintf (err, err_size, "out of memory");
        witness_link_destroy (&self);
        return NULL;
    }
    self->router = s_router_bind (self, err, err_size);
    if (!self->router) {
        witness_link_destroy (&self);
        return NULL;
    }
    if (!vec_push (&zap->links, &self)) {
        snprintf (err, err_size, "out of memory");
        witness_link_destroy (&self);
        return NULL;
    }
    self->zap = zap;
    log_info ("witness link of host '%s' bound on %s", self->host_id, self->endpoint);
    return self;
}

static void
s_detach (witness_link_t *self)
{
    if (!self->loop)
        return;
    if (self->router)
        zloop_reader_end (self->loop, self->router);
    for (size_t i = 0; i < self->dealers.count; i++)
        zloop_reader_end (self->loop, ((s_dealer_t *) vec_at (&self->dealers, i))->dealer);
    self->loop = NULL;
    self->on_msg = NULL;
    self->arg = NULL;
}

void
witness_link_destroy (witness_link_t **self_p)
{
    witness_link_t *self = *self_p;
    if (!self)
        return;
    assert (!self->in_callback);
    s_detach (self);
    for (size_t i = 0; i < self->dealers.count; i++)
        zsock_destroy (&((s_dealer_t *) vec_at (&self->dealers, i))->dealer);
    vec_free (&self->dealers);
    vec_free (&self->allowed);
    zsock_destroy (&self->router);
    zcert_destroy (&self->cert);
    for (size_t i = 0; self->zap && i < self->zap->links.count; i++)
        if (*(witness_link_t **) vec_at (&self->zap->links, i) == self) {
            vec_remove (&self->zap->links, i);
            break;
        }
    free (self);
    *self_p = NULL;
}

//  --------------------------------------------------------------------------
//  Peers

//  Checks one set: host ids and keys well-formed, none twice, not this host; endpoints
//  present when needed. 0, or -1 with the reason in err.
static int
s_check_peers (const witness_link_t *self, const char *what, const witness_peer_t *peers,
               size_t count, bool need_endpoint, char *err, size_t err_size)
{
    for (size_t i = 0; i < count; i++) {
        const witness_peer_t *peer = &peers [i];
        if (!s_host_id_valid (peer->host_id)) {
            snprintf (err, err_size, "%s: invalid host id '%.*s'", what, WIRE_ID_SIZE - 1,
                      peer->host_id);
            return -1;
        }
        if (strcmp (peer->host_id, self->host_id) == 0) {
            snprintf (err, err_size, "%s: host '%s' is this host", what, peer->host_id);
            return -1;
        }
        if (!keys_valid_z85 (peer->public_key)) {
            snprintf (err, err_size, "%s: host '%s' has an invalid public key '%.*s'", what,
                      peer->host_id, KEYS_Z85_SIZE - 1, peer->public_key);
            return -1;
        }
        if (need_endpoint && !s_text_valid (peer->endpoint, sizeof peer->endpoint)) {
            snprintf (err, err_size, "%s: host '%s' has no witness endpoint", what,
                      peer->host_id);
            return -1;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp (peers [j].host_id, peer->host_id) == 0) {
                snprintf (err, err_size, "%s: host '%s' is listed twice", what, peer->host_id);
                return -1;
            }
            if (strcmp (peers [j].public_key, peer->public_key) == 0) {
                snprintf (err, err_size, "%s: hosts '%s' and '%s' have the same key", what,
                          peers [j].host_id, peer->host_id);
                return -1;
            }
        }
    }
    return 0;
}

//  The index of send_to peer host_id in self->dealers, or -1.
static ssize_t
s_dealer_index (const witness_link_t *self, const char *host_id)
{
    for (size_t i = 0; i < self->dealers.count; i++)
        if (strcmp (((s_dealer_t *) vec_at (&self->dealers, i))->peer.host_id, host_id) == 0)
            return (ssize_t) i;
    return -1;
}

static bool
s_same_peer (const witness_peer_t *a, const witness_peer_t *b)
{
    return strcmp (a->host_id, b->host_id) == 0 && strcmp (a->endpoint, b->endpoint) == 0
        && strcmp (a->public_key, b->public_key) == 0;
}

int
witness_link_set_peers (witness_link_t *self, const witness_peer_t *send_to,
                        size_t n_send_to, const witness_peer_t *accept_from,
                        size_t n_accept_from, char *err, size_t err_size)
{
    if (s_check_peers (self, "send_to", send_to, n_send_to, true, err, err_size)
    ||  s_check_peers (self, "accept_from", accept_from, n_accept_from, false, err, err_size))
        return -1;
    //  First everything that can fail, changing nothing: the new sets, the new DEALERs.
    vec_t dealers = VEC_OF (s_dealer_t), allowed = VEC_OF (s_allowed_t);
    bool ok = vec_reserve (&dealers, n_send_to) == 0
           && vec_reserve (&allowed, n_accept_from) == 0;
    if (!ok)
        snprintf (err, err_size, "out of memory");
    size_t opened = 0;
    for (size_t i = 0; ok && i < n_send_to; i++) {
        s_dealer_t entry = { send_to [i], NULL, 0 };
        ssize_t old = s_dealer_index (self, send_to [i].host_id);
        if (old < 0 || !s_same_peer (&((s_dealer_t *) vec_at (&self->dealers, (size_t) old))
                                      ->peer, &send_to [i])) {
            entry.dealer = s_dealer_connect (self, &send_to [i], err, err_size);
            ok = entry.dealer != NULL;
            opened += ok;
        }
        vec_push (&dealers, &entry);            // reserved: cannot fail
    }
    if (!ok) {
        for (size_t i = 0; i < dealers.count; i++)
            zsock_destroy (&((s_dealer_t *) vec_at (&dealers, i))->dealer);
        vec_free (&dealers);
        vec_free (&allowed);
        return -1;
    }
    //  Then the switch: kept DEALERs move over, the others close.
    for (size_t i = 0; i < dealers.count; i++) {
        s_dealer_t *entry = vec_at (&dealers, i);
        if (entry->dealer) {
            if (self->loop && zloop_reader (self->loop, entry->dealer, s_on_socket, self))
                log_error ("witness link of host '%s': cannot watch the connection to host "
                           "'%s': out of memory", self->host_id, entry->peer.host_id);
            continue;
        }
        s_dealer_t *old = vec_at (&self->dealers, (size_t) s_dealer_index (self,
                                                                           entry->peer.host_id));
        entry->dealer = old->dealer;
        entry->failing_since = old->failing_since;
        old->dealer = NULL;
    }
    size_t closed = 0;
    for (size_t i = 0; i < self->dealers.count; i++) {
        s_dealer_t *old = vec_at (&self->dealers, i);
        if (!old->dealer)
            continue;
        if (self->loop)
            zloop_reader_end (self->loop, old->dealer);
        zsock_destroy (&old->dealer);
        closed++;
    }
    vec_free (&self->dealers);
    self->dealers = dealers;
    for (size_t i = 0; i < n_accept_from; i++) {
        s_allowed_t entry = { "", "" };         // zeroed: the sets are compared bytewise
        snprintf (entry.host_id, sizeof entry.host_id, "%s", accept_from [i].host_id);
        snprintf (entry.key, sizeof entry.key, "%s", accept_from [i].public_key);
        vec_push (&allowed, &entry);            // reserved: cannot fail
    }
    bool same_allowed = allowed.count == self->allowed.count
                     && (allowed.count == 0 || memcmp (allowed.items, self->allowed.items,
                                                      allowed.count * sizeof (s_allowed_t)) == 0);
    vec_free (&self->allowed);
    self->allowed = allowed;
    if (opened || closed || !same_allowed)
        log_info ("witness link of host '%s': asks %zu host(s) (%zu connection(s) opened, %zu "
                  "closed), accepts %zu host(s)", self->host_id, self->dealers.count, opened,
                  closed, self->allowed.count);
    return 0;
}

//  --------------------------------------------------------------------------
//  Sending

//  Replaces the DEALER of entry by a new one to the same peer (see the top of the file).
static void
s_reopen (witness_link_t *self, s_dealer_t *entry)
{
    char err [512];
    zsock_t *dealer = s_dealer_connect (self, &entry->peer, err, sizeof err);
    if (!dealer) {
        log_error ("witness link of host '%s': %s", self->host_id, err);
        return;
    }
    if (self->loop) {
        zloop_reader_end (self->loop, entry->dealer);
        if (zloop_reader (self->loop, dealer, s_on_socket, self))
            log_error ("witness link of host '%s': cannot watch the connection to host '%s': "
                       "out of memory", self->host_id, entry->peer.host_id);
    }
    zsock_destroy (&entry->dealer);
    entry->dealer = dealer;
    entry->failing_since = 0;
    self->stats.reopened++;
    if (log_sampled (self->stats.reopened))
        log_info ("witness link of host '%s': no connection to host '%s' at %s for %d ms; "
                  "opened a new one (%" PRIu64 " times so far)", self->host_id,
                  entry->peer.host_id, entry->peer.endpoint, S_REOPEN_MS, self->stats.reopened);
}

int
witness_link_send (witness_link_t *self, const char *peer_host_id, const void *data,
                   size_t size)
{
    ssize_t index = s_dealer_index (self, peer_host_id);
    const char *reason = index < 0? "not a peer it sends to"
                       : size > self->max_message? "message too large": NULL;
    if (!reason) {
        s_dealer_t *entry = vec_at (&self->dealers, (size_t) index);
        if (zmq_send (zsock_resolve (entry->dealer), data, size, ZMQ_DONTWAIT) >= 0) {
            entry->failing_since = 0;
            self->stats.sent++;
            return 0;
        }
        reason = zmq_errno () == EAGAIN? "not connected or queue full"
                                       : zmq_strerror (zmq_errno ());
        int64_t now = clock_boottime_ms ();
        if (!entry->failing_since)
            entry->failing_since = now;
        else if (now - entry->failing_since >= S_REOPEN_MS)
            s_reopen (self, entry);
    }
    self->stats.dropped++;
    log_debug ("witness link of host '%s': request of %zu bytes to host '%.*s' not sent: %s",
               self->host_id, size, WIRE_ID_SIZE - 1, peer_host_id, reason);
    return -1;
}

int
witness_link_reply (witness_link_t *self, const witness_from_t *from, const void *data,
                    size_t size)
{
    void *handle = zsock_resolve (self->router);
    const char *reason = from->route_size == 0 || from->route_size >= WITNESS_ROUTE_SIZE
                       ? "not a request's sender"
                       : size > self->max_message? "message too large": NULL;
    if (!reason) {
        if (zmq_send (handle, from->route, from->route_size, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0
        &&  zmq_send (handle, data, size, ZMQ_DONTWAIT) >= 0) {
            self->stats.sent++;
            return 0;
        }
        reason = zmq_errno () == EHOSTUNREACH? "connection gone"
               : zmq_errno () == EAGAIN? "queue full": zmq_strerror (zmq_errno ());
    }
    self->stats.dropped++;
    log_debug ("witness link of host '%s': reply of %zu bytes to host '%.*s' not sent: %s",
               self->host_id, size, WIRE_ID_SIZE - 1, from->host_id, reason);
    return -1;
}

//  --------------------------------------------------------------------------
//  Receiving

//  Hands msg to the owner's callback (when attached).
static void
s_deliver (witness_link_t *self, const witness_msg_t *msg)
{
    self->stats.received++;
    if (!self->on_msg)
        return;
    self->in_callback = true;
    int rc = self->on_msg (self, msg, self->arg);
    self->in_callback = false;
    if (rc == -1)
        self->stop = true;
}

static void
s_refuse (witness_link_t *self, const char *who, const char *address, const char *reason)
{
    self->stats.refused++;
    if (log_sampled (self->stats.refused))
        log_warn ("witness link of host '%s' refused a message from %s (%s): %s (%" PRIu64
                  " refused so far)", self->host_id, who, address? address: "?", reason,
                  self->stats.refused);
}

//  The allowed host a User-Id ("host#key") names, if it is still allowed with that key.
static const s_allowed_t *
s_allowed_by_user_id (const witness_link_t *self, const char *user_id)
{
    const char *hash = user_id? strchr (user_id, '#'): NULL;
    if (!hash)
        return NULL;
    const s_allowed_t *allowed = s_allowed_by_key (self, hash + 1);
    size_t length = (size_t) (hash - user_id);
    return allowed && strlen (allowed->host_id) == length
        && memcmp (allowed->host_id, user_id, length) == 0? allowed: NULL;
}

//  One request from the ROUTER: routing id, then one body frame. 1 when a message was
//  taken (delivered or refused), 0 when none was pending.
static int
s_recv_request (witness_link_t *self)
{
    void *handle = zsock_resolve (self->router);
    zmq_msg_t route, body;
    zmq_msg_init (&route);
    if (zmq_msg_recv (&route, handle, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close (&route);
        return 0;
    }
    zmq_msg_init (&body);
    size_t route_size = zmq_msg_size (&route);
    bool framed = route_size > 0 && route_size < WITNESS_ROUTE_SIZE && zmq_msg_more (&route)
               && zmq_msg_recv (&body, handle, ZMQ_DONTWAIT) >= 0 && !zmq_msg_more (&body);
    s_drain (handle);
    //  Metadata of the connection: on every frame, the body's if we have it.
    zmq_msg_t *any = framed? &body: &route;
    const char *user_id = zmq_msg_gets (any, "User-Id");
    const char *address = zmq_msg_gets (any, "Peer-Address");
    const s_allowed_t *allowed = s_allowed_by_user_id (self, user_id);
    char who [S_USER_ID_SIZE + 16] = "an unnamed peer";
    if (user_id && user_id [0])
        snprintf (who, sizeof who, "host '%.*s'", (int) strcspn (user_id, "#"), user_id);
    if (!framed)
        s_refuse (self, who, address, "bad framing (expected one frame)");
    else if (!allowed)
        s_refuse (self, who, address, "not among the hosts it witnesses (any more), or with "
                  "another key");
    else {
        witness_msg_t msg = { .kind = WITNESS_REQUEST, .data = zmq_msg_data (&body),
                              .size = zmq_msg_size (&body) };
        snprintf (msg.from.host_id, sizeof msg.from.host_id, "%s", allowed->host_id);
        memcpy (msg.from.route, zmq_msg_data (&route), route_size);
        msg.from.route_size = route_size;
        s_deliver (self, &msg);
    }
    zmq_msg_close (&body);
    zmq_msg_close (&route);
    return 1;
}

//  One reply from the DEALER sock (if it is still one of ours). 1 when a message was taken,
//  0 when none was pending or sock is no longer ours.
static int
s_recv_reply (witness_link_t *self, zsock_t *sock)
{
    ssize_t index = -1;
    for (size_t i = 0; i < self->dealers.count && index < 0; i++)
        if (((s_dealer_t *) vec_at (&self->dealers, i))->dealer == sock)
            index = (ssize_t) i;
    if (index < 0)
        return 0;
    void *handle = zsock_resolve (sock);
    zmq_msg_t body;
    zmq_msg_init (&body);
    if (zmq_msg_recv (&body, handle, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close (&body);
        return 0;
    }
    //  Copied now: the callback may call set_peers, which rebuilds self->dealers.
    witness_msg_t msg = { .kind = WITNESS_REPLY, .data = zmq_msg_data (&body),
                          .size = zmq_msg_size (&body) };
    const witness_peer_t *peer = &((s_dealer_t *) vec_at (&self->dealers, (size_t) index))->peer;
    snprintf (msg.from.host_id, sizeof msg.from.host_id, "%s", peer->host_id);
    if (zmq_msg_more (&body)) {
        s_drain (handle);
        char who [WIRE_ID_SIZE + 16];
        snprintf (who, sizeof who, "host '%s'", peer->host_id);
        s_refuse (self, who, peer->endpoint, "bad framing (expected one frame)");
    }
    else
        s_deliver (self, &msg);
    zmq_msg_close (&body);
    return 1;
}

//  Every reader of the link: sock is compared by address only (see the top of the file).
static int
s_on_socket (zloop_t *loop, zsock_t *sock, void *arg)
{
    (void) loop;
    witness_link_t *self = arg;
    self->stop = false;
    for (int i = 0; i < S_RECV_PER_WAKE && !self->stop; i++)
        if ((sock == self->router? s_recv_request (self): s_recv_reply (self, sock)) == 0)
            break;
    return self->stop? -1: 0;
}

int
witness_link_attach (witness_link_t *self, zloop_t *loop, witness_on_msg_fn *on_msg,
                     void *arg)
{
    s_detach (self);
    if (!loop)
        return 0;
    self->loop = loop;
    self->on_msg = on_msg;
    self->arg = arg;
    bool ok = zloop_reader (loop, self->router, s_on_socket, self) == 0;
    for (size_t i = 0; ok && i < self->dealers.count; i++)
        ok = zloop_reader (loop, ((s_dealer_t *) vec_at (&self->dealers, i))->dealer,
                           s_on_socket, self) == 0;
    if (!ok) {
        log_error ("witness link of host '%s': cannot register its sockets: out of memory",
                   self->host_id);
        s_detach (self);
        return -1;
    }
    return 0;
}

//  --------------------------------------------------------------------------
//  Accessors

const char *
witness_link_host_id (const witness_link_t *self)
{
    return self->host_id;
}

const char *
witness_link_zap_domain (const witness_link_t *self)
{
    return self->domain;
}

const witness_link_stats_t *
witness_link_stats (const witness_link_t *self)
{
    return &self->stats;
}
