/*  rpc.c - one clusterctl request to the scheduler and its reply (see rpc.h).

    Owns the socket for the duration of one call. The request carries a random session and
    seq 1; a reply is accepted only if it decodes and is a ctl reply.
*/
#include "rpc.h"

#include <czmq.h>
#include <string.h>

int
rpc_call (const char *endpoint, int timeout_ms, const wire_ctl_request_t *request,
          wire_msg_t *reply, char *err, size_t err_size)
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
    if (!sock) {
        free (data);
        snprintf (err, err_size, "cannot create a socket");
        return -1;
    }
    zsock_set_linger (sock, 0);
    zsock_set_maxmsgsize (sock, WIRE_MAX_MESSAGE);
    int rc = -1;
    if (zsock_connect (sock, "%s", endpoint) < 0)
        snprintf (err, err_size, "invalid scheduler endpoint '%s': %s (expected "
                  "tcp://HOST:PORT)", endpoint, zmq_strerror (zmq_errno ()));
    else
    if (zmq_send (zsock_resolve (sock), data, size, 0) < 0)
        snprintf (err, err_size, "cannot send to '%s': %s", endpoint, zmq_strerror (zmq_errno ()));
    else {
        zmq_pollitem_t item = { zsock_resolve (sock), 0, ZMQ_POLLIN, 0 };
        int ready = zmq_poll (&item, 1, timeout_ms);
        zframe_t *frame = ready > 0? zframe_recv (sock): NULL;
        if (!frame)
            snprintf (err, err_size, "no answer from the scheduler at '%s' within %d ms: is "
                      "vmsched-scheduler running there (see -s and the [clusterctl] server "
                      "key)?", endpoint, timeout_ms);
        else
        if (zframe_more (frame))
            snprintf (err, err_size, "malformed answer from '%s' (several frames)", endpoint);
        else
        if (wire_decode (zframe_data (frame), zframe_size (frame), reply, reason, sizeof reason))
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
    }
    zsock_destroy (&sock);
    free (data);
    return rc;
}
