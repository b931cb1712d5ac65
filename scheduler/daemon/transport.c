/*  transport.c - the scheduler's ROUTER sockets (see transport.h).

    Owns no state beyond the sockets it creates (returned to the caller) and the counters the
    caller passes in. Uses libzmq directly for receive/send so that every call can be
    ZMQ_DONTWAIT and every frame length checked.

    The monitor is libzmq's own (zmq_socket_monitor, version 1 events) on an inproc PAIR
    that the caller's loop reads: no thread of ours. libzmq's I/O thread sends the events
    blocking, so the PAIR must be read while it exists and released (monitoring stopped)
    before it is closed. A version 1 event names the local endpoint of the connection, not
    the peer (libzmq 4.3.4 exports no version 2 monitor), so the log says where, not who.
*/
#include "transport.h"
#include "log.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#define S_ZAP_ENFORCE_DOMAIN 93     // ZMQ_ZAP_ENFORCE_DOMAIN (draft API name; stable number)
#define S_MONITOR_EVENTS (ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL \
                        | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
#define S_MONITOR_DRAIN 256         // events handled per call

zsock_t *
transport_router_bind (const char *endpoint, zcert_t *cert, const char *zap_domain,
                       char *err, size_t err_size)
{
    zsock_t *sock = zsock_new (ZMQ_ROUTER);
    if (!sock) {
        snprintf (err, err_size, "cannot create a socket for '%s'", endpoint);
        return NULL;
    }
    zsock_set_router_mandatory (sock, 1);
    zsock_set_maxmsgsize (sock, WIRE_MAX_MESSAGE);
    zsock_set_linger (sock, 0);
    zsock_set_sndhwm (sock, 10000);
    zsock_set_rcvhwm (sock, 10000);
    int one = 1;
    zcert_apply (cert, sock);
    zsock_set_curve_server (sock, 1);
    zsock_set_zap_domain (sock, zap_domain);
    if (zmq_setsockopt (zsock_resolve (sock), S_ZAP_ENFORCE_DOMAIN, &one, sizeof one)) {
        snprintf (err, err_size, "cannot enforce ZAP on '%s': %s", endpoint,
                  zmq_strerror (zmq_errno ()));
        zsock_destroy (&sock);
        return NULL;
    }
    if (zsock_bind (sock, "%s", endpoint) < 0) {
        snprintf (err, err_size, "cannot bind '%s': %s", endpoint, zmq_strerror (zmq_errno ()));
        zsock_destroy (&sock);
        return NULL;
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
        if (zmq_msg_recv (&part, handle, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close (&part);
            break;
        }
        zmq_msg_close (&part);
    }
}

static void
s_log_malformed (const char *what, transport_stats_t *stats, const char *reason)
{
    stats->malformed++;
    if (log_sampled (stats->malformed))
        log_warn ("refused message from %s: %s (%" PRIu64 " refused so far)",
                  what, reason, stats->malformed);
}

int
transport_recv (zsock_t *sock, const char *what, transport_stats_t *stats,
                transport_route_t *route, wire_msg_t *msg)
{
    void *handle = zsock_resolve (sock);
    memset (msg, 0, sizeof *msg);           // empty on every path that does not fill it
    zmq_msg_t part;
    zmq_msg_init (&part);
    if (zmq_msg_recv (&part, handle, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close (&part);
        return 0;
    }
    size_t size = zmq_msg_size (&part);
    if (size == 0 || size > TRANSPORT_ROUTE_SIZE - 1 || !zmq_msg_more (&part)) {
        zmq_msg_close (&part);
        s_drain (handle);
        s_log_malformed (what, stats, "bad framing (routing id)");
        return -1;
    }
    memcpy (route->bytes, zmq_msg_data (&part), size);
    route->size = size;
    zmq_msg_close (&part);

    zmq_msg_init (&part);
    if (zmq_msg_recv (&part, handle, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close (&part);
        s_log_malformed (what, stats, "bad framing (no body)");
        return -1;
    }
    bool more = zmq_msg_more (&part);
    const char *user_id = zmq_msg_gets (&part, "User-Id");
    snprintf (route->user_id, sizeof route->user_id, "%s", user_id? user_id: "");
    char reason [256];
    int rc = more? -1: wire_decode (zmq_msg_data (&part), zmq_msg_size (&part), msg,
                                    reason, sizeof reason);
    zmq_msg_close (&part);
    if (more) {
        s_drain (handle);
        s_log_malformed (what, stats, "bad framing (more than one body frame)");
        return -1;
    }
    if (rc) {
        s_log_malformed (what, stats, reason);
        return -1;
    }
    stats->received++;
    return 1;
}

int
transport_send_raw (zsock_t *sock, const transport_route_t *route, const uint8_t *data,
                    size_t size, transport_stats_t *stats)
{
    void *handle = zsock_resolve (sock);
    if (zmq_send (handle, route->bytes, route->size, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0
    ||  zmq_send (handle, data, size, ZMQ_DONTWAIT) < 0) {
        stats->send_failed++;
        log_debug ("cannot send %zu bytes: %s", size, zmq_strerror (zmq_errno ()));
        return -1;
    }
    return 0;
}

int
transport_send (zsock_t *sock, const transport_route_t *route, const wire_msg_t *msg,
                transport_stats_t *stats)
{
    uint8_t *data;
    size_t size;
    char err [256];
    if (wire_encode (msg, &data, &size, err, sizeof err)) {
        log_error ("cannot send a %s message: %s", wire_kind_name (msg->kind), err);
        return -1;
    }
    int rc = transport_send_raw (sock, route, data, size, stats);
    free (data);
    return rc;
}

//  --------------------------------------------------------------------------
//  Socket monitor: handshakes that never reach the ZAP handler

zsock_t *
transport_monitor_new (zsock_t *sock, char *err, size_t err_size)
{
    char endpoint [64];
    snprintf (endpoint, sizeof endpoint, "inproc://vmsched-monitor-%p", (void *) sock);
    if (zmq_socket_monitor (zsock_resolve (sock), endpoint, S_MONITOR_EVENTS)) {
        snprintf (err, err_size, "cannot monitor a socket on '%s': %s", endpoint,
                  zmq_strerror (zmq_errno ()));
        return NULL;
    }
    zsock_t *monitor = zsock_new (ZMQ_PAIR);
    if (monitor) {
        zsock_set_linger (monitor, 0);
        zsock_set_rcvhwm (monitor, 10000);  // room for a burst while the loop is busy
    }
    if (!monitor || zsock_connect (monitor, "%s", endpoint) < 0) {
        snprintf (err, err_size, "cannot connect to the socket monitor '%s': %s", endpoint,
                  zmq_strerror (zmq_errno ()));
        zmq_socket_monitor (zsock_resolve (sock), NULL, 0);
        zsock_destroy (&monitor);
        return NULL;
    }
    return monitor;
}

void
transport_monitor_destroy (zsock_t **monitor_p, zsock_t *sock)
{
    if (!*monitor_p)
        return;
    //  Take what is queued first: an I/O thread blocked on a full PAIR holds the lock that
    //  stopping the monitor needs.
    zmq_msg_t part;
    zmq_msg_init (&part);
    while (zmq_msg_recv (&part, zsock_resolve (*monitor_p), ZMQ_DONTWAIT) >= 0)
        ;
    zmq_msg_close (&part);
    if (sock)
        zmq_socket_monitor (zsock_resolve (sock), NULL, 0);
    zsock_destroy (monitor_p);
}

//  Reads one event without blocking: 1 with its id, value and address ("" when absent), 0
//  when none is pending, -1 when it was not a version 1 event (16-bit id and 32-bit value
//  in 6 bytes, then the address).
static int
s_monitor_event (void *handle, uint16_t *event, uint32_t *value, char *address,
                 size_t address_size)
{
    zmq_msg_t part;
    zmq_msg_init (&part);
    if (zmq_msg_recv (&part, handle, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close (&part);
        return 0;
    }
    bool valid = zmq_msg_size (&part) == sizeof *event + sizeof *value && zmq_msg_more (&part);
    if (valid) {
        const uint8_t *data = zmq_msg_data (&part);
        memcpy (event, data, sizeof *event);            // host byte order, maybe unaligned
        memcpy (value, data + sizeof *event, sizeof *value);
    }
    bool more = zmq_msg_more (&part);
    zmq_msg_close (&part);
    address [0] = 0;
    if (more) {
        zmq_msg_init (&part);
        if (zmq_msg_recv (&part, handle, ZMQ_DONTWAIT) >= 0)
            snprintf (address, address_size, "%.*s", (int) zmq_msg_size (&part),
                      (const char *) zmq_msg_data (&part));
        more = zmq_msg_more (&part);
        zmq_msg_close (&part);
        if (more)
            s_drain (handle);
    }
    return valid? 1: -1;
}

int
transport_monitor_recv (zsock_t *monitor, const char *what, transport_stats_t *stats)
{
    void *handle = zsock_resolve (monitor);
    int taken = 0;
    for (; taken < S_MONITOR_DRAIN; taken++) {
        uint16_t event = 0;
        uint32_t value = 0;
        char address [256];
        int rc = s_monitor_event (handle, &event, &value, address, sizeof address);
        if (rc == 0)
            break;
        if (rc < 0 || (event != ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
                   &&  event != ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)) {
            //  Refused by the ZAP handler (_AUTH, value the status code): auth.c has counted
            //  and logged it already. Or MONITOR_STOPPED, or not an event.
            log_debug ("the %s endpoint: monitor event 0x%x (value %" PRIu32 ") at '%s'",
                       what, (unsigned) event, value, address);
            continue;
        }
        //  A client that is not CURVE fails as a mechanism mismatch, or, when it closes the
        //  connection before libzmq here has read its greeting, as a broken connection.
        char reason [160];
        if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
        &&  value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH)
            snprintf (reason, sizeof reason, "not a CURVE client (NULL or PLAIN mechanism)");
        else
        if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
        &&  value == ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC)
            snprintf (reason, sizeof reason, "the CURVE handshake failed (a client that takes "
                      "another key for the scheduler's?)");
        else
        if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL)
            snprintf (reason, sizeof reason, "handshake protocol error 0x%08" PRIx32, value);
        else                                            // _NO_DETAIL: value is an errno
            snprintf (reason, sizeof reason, "the connection ended during the handshake (%s): "
                      "not a CURVE client, or one that gave up", value? strerror ((int) value)
                      : "no error given");
        uint64_t count = ++stats->handshake_failed;
        if (log_sampled (count))
            log_warn ("refused a connection to the %s endpoint at %s (libzmq names no peer "
                      "address): %s (%" PRIu64 " refused before the allow list so far)",
                      what, address [0]? address: "?", reason, count);
    }
    return taken;
}
