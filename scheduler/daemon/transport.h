/*  transport.h - the scheduler's ROUTER sockets: options, validated receive, non-blocking send.

    Every socket gets the options of DESIGN.md §3 (ROUTER_MANDATORY, MAXMSGSIZE, no linger)
    and is a CURVE server in a ZAP domain with ZAP_ENFORCE_DOMAIN, so that without a ZAP
    handler nothing connects (fail closed); each message carries the User-Id the handler gave;
    every receive decodes and validates through common/wire.c; every send is ZMQ_DONTWAIT so
    a slow or vanished peer can never block the scheduler's loop. Malformed messages are
    logged (rate-limited) and counted, never fatal.
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

#endif
