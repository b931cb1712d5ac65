/*  rpc.c - one clusterctl request to the scheduler and its reply (see rpc.h).

    Owns the socket and its monitor for the duration of one call. The request carries a
    random session and seq 1; a reply is accepted only if it decodes and is a ctl reply.
*/
#include "rpc.h"

#include <inttypes.h>
#include <string.h>

#define S_FAILED_HANDSHAKE (ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL \
                            | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)

//  Reads one monitor event; returns its id (0 when none could be read).
static uint16_t
s_event (zsock_t *monitor)
{
    zframe_t *frame = zframe_recv (monitor);
    uint16_t event = 0;
    if (frame && zframe_size (frame) >= 2)
        memcpy (&event, zframe_data (frame), 2);
    bool more = frame && zframe_more (frame);
    zframe_destroy (&frame);
    while (more && (frame = zframe_recv (monitor))) {
        more = zframe_more (frame);
        zframe_destroy (&frame);
    }
    return event;
}

//  Waits for the reply; 0 with *reply, or -1 with err.
static int
s_await (zsock_t *sock, zsock_t *monitor, const char *endpoint, int timeout_ms,
         wire_msg_t *reply, char *err, size_t err_size)
{
    zmq_pollitem_t items [] = {
        { zsock_resolve (sock), 0, ZMQ_POLLIN, 0 },
        { zsock_resolve (monitor), 0, ZMQ_POLLIN, 0 } };
    int64_t deadline = zclock_mono () + timeout_ms;
    while (zclock_mono () < deadline) {
        if (zmq_poll (items, 2, deadline - zclock_mono ()) < 0)
            break;
        if (items [1].revents & ZMQ_POLLIN) {
            uint16_t event = s_event (monitor);
            if (event & ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
                snprintf (err, err_size, "the scheduler at '%s' refused this key: it is not "
                          "(or no longer) allowed (an admin adds it with 'clusterctl user add')",
                          endpoint);
                return -1;
            }
            if (event & (ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)) {
                snprintf (err, err_size, "no secure connection to '%s': is scheduler_key the "
                          "scheduler's public key, and is it a vmsched scheduler?", endpoint);
                return -1;
            }
        }
        if (items [0].revents & ZMQ_POLLIN) {
            zframe_t *frame = zframe_recv (sock);
            char reason [256];
            int rc = -1;
            if (!frame)
                snprintf (err, err_size, "no answer from '%s'", endpoint);
            else
            if (zframe_more (frame))
                snprintf (err, err_size, "malformed answer from '%s' (several frames)", endpoint);
            else
            if (wire_decode (zframe_data (frame), zframe_size (frame), reply, reason,
                             sizeof reason))
                snprintf (err, err_size, "malformed answer from '%s': %s", endpoint, reason);
            else
            if (reply->kind != WIRE_CTL_REPLY) {
                snprintf (err, err_size, "unexpected %s message from '%s'",
                          wire_kind_name (reply->kind), endpoint);
                wire_msg_reset (reply);
            }
            else
                rc = 0;
            zframe_destroy (&frame);
            return rc;
        }
    }
    snprintf (err, err_size, "no answer from the scheduler at '%s' within %d ms: is "
              "vmsched-scheduler running there (see -s and the [clusterctl] server key)?",
              endpoint, timeout_ms);
    return -1;
}

int
rpc_call (const char *endpoint, zcert_t *cert, const char *server_key, int timeout_ms,
          const wire_ctl_request_t *request, wire_msg_t *reply, char *err, size_t err_size)
{
    wire_msg_t msg;
    wire_msg_init (&msg, WIRE_CTL_REQUEST);
    msg.seq = 1;
    msg.session = ((uint64_t) randof (0x7fffffff) << 32) ^ (uint64_t) randof (0x7fffffff);
    msg.body.request = *request;            // borrowed: not reset below
    uint8_t *data;
    size_t size;
    char reason [256];
    if (wire_encode (&msg, &data, &size, reason, sizeof reason)) {
        snprintf (err, err_size, "cannot encode the request: %s", reason);
        return -1;
    }
    zsock_t *sock = zsock_new (ZMQ_DEALER);
    zsock_t *monitor = zsock_new (ZMQ_PAIR);
    char monitor_endpoint [64];
    snprintf (monitor_endpoint, sizeof monitor_endpoint, "inproc://rpc-monitor-%016" PRIx64,
              msg.session);                 // random: inproc names are freed lazily
    int rc = -1;
    if (!sock || !monitor)
        snprintf (err, err_size, "cannot create a socket");
    else {
        zsock_set_linger (sock, 0);
        zsock_set_maxmsgsize (sock, WIRE_MAX_MESSAGE);
        zcert_apply (cert, sock);
        zsock_set_curve_serverkey (sock, server_key);
        if (zmq_socket_monitor (zsock_resolve (sock), monitor_endpoint, S_FAILED_HANDSHAKE)
        ||  zsock_connect (monitor, "%s", monitor_endpoint) < 0)
            snprintf (err, err_size, "cannot watch the connection: %s",
                      zmq_strerror (zmq_errno ()));
        else
        if (zsock_connect (sock, "%s", endpoint) < 0)
            snprintf (err, err_size, "invalid scheduler endpoint '%s': %s (expected "
                      "tcp://HOST:PORT)", endpoint, zmq_strerror (zmq_errno ()));
        else
        if (zmq_send (zsock_resolve (sock), data, size, 0) < 0)
            snprintf (err, err_size, "cannot send to '%s': %s", endpoint,
                      zmq_strerror (zmq_errno ()));
        else
            rc = s_await (sock, monitor, endpoint, timeout_ms, reply, err, err_size);
        if (sock)
            zmq_socket_monitor (zsock_resolve (sock), NULL, 0);
    }
    zsock_destroy (&monitor);
    zsock_destroy (&sock);
    free (data);
    return rc;
}
