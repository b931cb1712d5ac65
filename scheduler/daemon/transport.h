/*  transport.h - the scheduler's ROUTER sockets: options, validated receive, non-blocking send.

    Every socket gets the options of DESIGN.md §3 (ROUTER_MANDATORY, MAXMSGSIZE, no linger)
    and is a CURVE server in a ZAP domain with ZAP_ENFORCE_DOMAIN, so that without a ZAP
    handler nothing connects (fail closed); each message carries the User-Id the handler gave;
    every receive decodes and validates through common/wire.c; every send is ZMQ_DONTWAIT so
    a slow or vanished peer can never block the scheduler's loop. Malformed messages are
    logged (rate-limited) and counted, never fatal.

    A handshake libzmq fails before it asks the ZAP handler (a NULL or PLAIN client, a client
    that takes another key for the scheduler's, a broken handshake) reaches neither auth.c nor
    transport_recv; the socket monitor (transport_monitor_new, a PAIR socket read in the
    scheduler's loop) counts and logs those.
*/
#ifndef VMSCHED_TRANSPORT_H
#define VMSCHED_TRANSPORT_H

#include "wire.h"

#include <czmq.h>

#define TRANSPORT_ROUTE_SIZE 256    // ZeroMQ routing ids are at most 255 bytes

//  A peer's routing id and authenticated name, kept by value.
typedef struct {
    uint8_t bytes [TRANSPORT_ROUTE_SIZE];   // routing id
    size_t size;                            // used bytes
    char user_id [WIRE_NAME_SIZE + 32];     // User-Id from the ZAP handler ("host:h1#3"), "" none
} transport_route_t;

//  Counters of one socket.
typedef struct {
    uint64_t received;      // messages decoded and validated
    uint64_t malformed;     // messages refused by the decoder (or framing)
    uint64_t send_failed;   // sends dropped (peer gone, queue full)
    uint64_t handshake_failed;  // handshakes failed before ZAP: not CURVE, wrong server key
} transport_stats_t;

//  Bind a ROUTER socket at endpoint with vmsched's options, as a CURVE server with the
//  scheduler's key pair in ZAP domain zap_domain. NULL with reason in err.
zsock_t *transport_router_bind (const char *endpoint, zcert_t *cert, const char *zap_domain,
                                char *err, size_t err_size);

//  Receive one message without blocking. Returns 1 with *route and *msg filled (caller
//  wire_msg_reset()s msg), 0 when nothing is pending, -1 when a malformed message was
//  consumed (logged as coming from `what`, counted; msg is empty).
int transport_recv (zsock_t *sock, const char *what, transport_stats_t *stats,
                    transport_route_t *route, wire_msg_t *msg);

//  Encode and send msg to route without blocking. 0, or -1 (logged at debug, counted).
int transport_send (zsock_t *sock, const transport_route_t *route, const wire_msg_t *msg,
                    transport_stats_t *stats);

//  Send already-encoded bytes (see wire_encode) to route without blocking. 0 or -1.
int transport_send_raw (zsock_t *sock, const transport_route_t *route, const uint8_t *data,
                        size_t size, transport_stats_t *stats);

//  Watches sock's handshakes: returns a PAIR socket that receives libzmq's monitor events
//  of sock (ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL, _NO_DETAIL, _AUTH), for the caller's loop
//  to read with transport_monitor_recv; release it with transport_monitor_destroy while sock
//  is still open. NULL with reason in err.
zsock_t *transport_monitor_new (zsock_t *sock, char *err, size_t err_size);

//  Stops watching sock and destroys *monitor_p. NULL-safe; sets *monitor_p = NULL.
void transport_monitor_destroy (zsock_t **monitor_p, zsock_t *sock);

//  Handles the events pending on monitor without blocking (a bounded number per call):
//  counts the handshakes that failed before the ZAP handler was asked in stats and logs
//  them (rate-limited) as refused at the `what` endpoint ("agents", "operators") with the
//  address the event names. Refusals of the ZAP handler are auth.c's to count and log
//  (with the peer's address); they are only logged here at debug. Returns events taken.
int transport_monitor_recv (zsock_t *monitor, const char *what, transport_stats_t *stats);

#endif
