/*  transport.c - the scheduler's ROUTER sockets (see transport.h).

    Owns no state beyond the sockets it creates (returned to the caller) and the counters the
    caller passes in. Uses libzmq directly for receive/send so that every call can be
    ZMQ_DONTWAIT and every frame length checked.
*/
#include "transport.h"
#include "log.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#define S_ZAP_ENFORCE_DOMAIN 93     // ZMQ_ZAP_ENFORCE_DOMAIN (draft API name; stable number)

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
