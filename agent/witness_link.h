/*  witness_link.h - the agent-to-agent transport of witness leases (DESIGN.md §5.2).

    Bytes in, bytes out, and who sent them: the lease protocol on top (its Envelopes, its
    timing) is someone else's. Each link binds one ROUTER, a CURVE server with the host's
    own key pair, on which other hosts' requests arrive and through which they are answered,
    and keeps one DEALER per peer it asks (a CURVE client that knows the peer by its public
    key), on which that peer's replies come back. Every send is ZMQ_DONTWAIT: a peer that
    cannot take a message now loses it (counted); nothing is queued for later, because the
    protocol re-sends current state anyway (DESIGN.md §3).

    Who may connect is decided by the link's own ZAP handler (RFC 27, witness_zap_t): a client
    is accepted only if its key is in the link's current accept_from set, and the connection's
    User-Id then names the host and its key ("<host id>#<Z85 key>"). Every message received on
    the ROUTER is checked against the current set again, so a host removed from the set (or
    given another key) is refused from its next message on, also on a connection opened
    before; a host added back with the same key is accepted again on the same connection.
    Replies on a DEALER are authenticated by CURVE itself (the server proved it holds the key
    we pinned) and are handed up with that peer's host id.

    The ZAP handler is an object of its own because a process has one ZAP endpoint
    (inproc://zeromq.zap.01) per ZeroMQ context: links made with the same witness_zap_t each
    get a ZAP domain ("witness-<host id>"), so a test or a simulator can run several links in
    one process. The scheduler's auth.c binds the same endpoint: the two must never be made in
    one process (the agent and the scheduler never share one; no unit test mixes them).

    Receiving is zloop-based: witness_link_attach registers the link's sockets with the
    owner's loop and keeps the registration right when witness_link_set_peers opens and
    closes DEALERs; the owner also registers witness_zap_socket and calls witness_zap_handle
    when it is readable (handshakes wait for that loop). Single-threaded: every function is
    called from the loop's thread.
*/
#ifndef VMSCHED_WITNESS_LINK_H
#define VMSCHED_WITNESS_LINK_H

#include "keys.h"
#include "wire.h"

#include <czmq.h>
#include <stddef.h>
#include <stdint.h>

#define WITNESS_ENDPOINT_SIZE   256     // "tcp://10.77.0.1:7110"
#define WITNESS_ROUTE_SIZE      256     // ZeroMQ routing ids are at most 255 bytes

typedef struct witness_zap witness_zap_t;
typedef struct witness_link witness_link_t;

//  A peer host. Host ids are 1 to 36 characters of letters, digits, '.', '-' and '_' (the
//  agents use their uuid).
typedef struct {
    char host_id [WIRE_ID_SIZE];            // who
    char endpoint [WITNESS_ENDPOINT_SIZE];  // its witness ROUTER (send_to only)
    char public_key [KEYS_Z85_SIZE];        // its CURVE public key (Z85)
} witness_peer_t;

//  Where a message came from, kept by value (a reply can be sent after the callback).
typedef struct {
    char host_id [WIRE_ID_SIZE];            // the authenticated peer
    uint8_t route [WITNESS_ROUTE_SIZE];     // requests: the ROUTER's routing id to reply to
    size_t route_size;                      // its length; 0 for replies
} witness_from_t;

typedef enum {
    WITNESS_REQUEST = 1,                    // arrived on our ROUTER: answer with _reply
    WITNESS_REPLY = 2                       // arrived on our DEALER to from.host_id
} witness_kind_t;

//  One message, as the callback sees it.
typedef struct {
    witness_kind_t kind;                    // request or reply
    witness_from_t from;                    // authenticated sender
    const uint8_t *data;                    // the bytes: borrowed, valid during the callback
    size_t size;                            // their length
} witness_msg_t;

//  Counters of one link.
typedef struct {
    uint64_t sent;                  // requests and replies handed to ZeroMQ
    uint64_t dropped;               // sends refused: unknown peer, no connection, full, gone
    uint64_t received;              // messages handed to the callback
    uint64_t refused;               // messages refused: sender not (or no longer) allowed,
                                    // bad framing
    uint64_t handshakes_accepted;   // ZAP: clients of this link's ROUTER accepted
    uint64_t handshakes_refused;    // ZAP: clients refused (key not in accept_from)
    uint64_t reopened;              // DEALERs opened anew after a second of refused sends
} witness_link_stats_t;

//  Called for every authenticated message. May send, reply and call set_peers; must not
//  destroy the link. Returning -1 ends zloop_start (as a zloop handler does), 0 goes on.
typedef int (witness_on_msg_fn) (witness_link_t *link, const witness_msg_t *msg, void *arg);

//  --------------------------------------------------------------------------
//  The ZAP handler (one per process, shared by its links)

//  Bind the ZAP handler on inproc://zeromq.zap.01 (before any link exists; waits up to 1 s
//  for an endpoint a handler destroyed a moment ago still holds). NULL with reason in err.
witness_zap_t *witness_zap_new (char *err, size_t err_size);

//  NULL-safe; sets *self_p = NULL. Destroy the links first: a link left over no longer
//  accepts anyone (its ROUTER enforces its ZAP domain, so it fails closed).
void witness_zap_destroy (witness_zap_t **self_p);

//  The handler's socket, for the owner's loop: when readable, call witness_zap_handle,
//  which answers one handshake question.
zsock_t *witness_zap_socket (witness_zap_t *self);
void witness_zap_handle (witness_zap_t *self);

//  --------------------------------------------------------------------------
//  Links

//  A link for own_host_id: binds its ROUTER on bind_endpoint ("tcp://10.77.0.1:7110",
//  "tcp://*:7110") as a CURVE server with own_cert (borrowed: the link keeps a copy, and
//  uses it for its DEALERs too), taking messages of up to max_message bytes; a larger one
//  makes ZeroMQ drop the connection. No peers yet: nobody may connect, nobody is asked.
//  NULL with the reason (which endpoint, what ZeroMQ said) in err.
witness_link_t *witness_link_new (witness_zap_t *zap, const char *own_host_id,
                                  zcert_t *own_cert, const char *bind_endpoint,
                                  size_t max_message, char *err, size_t err_size);

//  NULL-safe; sets *self_p = NULL. Detaches from the loop first (which must still exist, or
//  detach before destroying the loop). Not from inside the link's own callback.
void witness_link_destroy (witness_link_t **self_p);

//  Replaces both peer sets (copied). send_to: the hosts this one asks; a DEALER is opened
//  for a new peer, reopened for one whose endpoint or key changed, closed for one that is
//  gone, kept otherwise (messages queued on a closed DEALER are lost, replies that were due
//  on it too). accept_from: the hosts that may send requests (endpoint unused); the
//  ZAP handler and the per-message check use it from now on. All or nothing: -1 with the
//  reason in err (bad host id or key, duplicate host id or key, this host itself, an
//  endpoint ZeroMQ refuses) and nothing changed.
int witness_link_set_peers (witness_link_t *self, const witness_peer_t *send_to,
                            size_t n_send_to, const witness_peer_t *accept_from,
                            size_t n_accept_from, char *err, size_t err_size);

//  Registers the link's sockets with loop (the ROUTER and every DEALER, re-registered by
//  set_peers as DEALERs come and go) and calls on_msg (with arg) for every authenticated
//  message. Replaces an earlier attachment; a NULL loop detaches. 0, or -1 when zloop could
//  not register a socket (out of memory; then detached).
int witness_link_attach (witness_link_t *self, zloop_t *loop, witness_on_msg_fn *on_msg,
                         void *arg);

//  Sends data as a request to peer_host_id (one of send_to) on its DEALER, never blocking.
//  0, or -1 (counted in dropped, logged at debug) when the peer is unknown, not connected
//  (yet), its queue is full, or size exceeds max_message (the peer, configured alike, would
//  drop the connection). When sends to a peer have been refused for a second, this call
//  also replaces its DEALER by a new one (libzmq never reconnects after the peer refused
//  the handshake, e.g. because it did not accept this host yet; counted in reopened).
int witness_link_send (witness_link_t *self, const char *peer_host_id, const void *data,
                       size_t size);

//  Sends data as the reply to a request from `from` (a REQUEST's from, kept by value), via
//  the ROUTER, never blocking. 0, or -1 (counted in dropped) when that connection is gone,
//  its queue is full, from is a reply's, or size exceeds max_message.
int witness_link_reply (witness_link_t *self, const witness_from_t *from, const void *data,
                        size_t size);

//  This link's host id and ZAP domain (borrowed).
const char *witness_link_host_id (const witness_link_t *self);
const char *witness_link_zap_domain (const witness_link_t *self);

//  The counters (borrowed, live).
const witness_link_stats_t *witness_link_stats (const witness_link_t *self);

#endif
