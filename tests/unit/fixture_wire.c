/*  fixture_wire.c - wire messages onto the unit tests' sockets.

    Keeps no state; never receives (each test reads its answers in its own way).
*/
#include "fixture_wire.h"

#include <stdio.h>
#include <stdlib.h>

zframe_t *
fixture_wire_frame (const wire_msg_t *msg)
{
    uint8_t *data;
    size_t size;
    char err [256];
    if (wire_encode (msg, &data, &size, err, sizeof err)) {
        fprintf (stderr, "  cannot encode a test message: %s\n", err);
        return zframe_new ("", 0);
    }
    zframe_t *frame = zframe_new (data, size);
    free (data);
    return frame;
}

void
fixture_wire_send (zsock_t *sock, wire_msg_t *msg)
{
    uint8_t *data;
    size_t size;
    char err [256];
    if (wire_encode (msg, &data, &size, err, sizeof err) == 0) {
        zmq_send (zsock_resolve (sock), data, size, 0);
        free (data);
    }
    else
        fprintf (stderr, "  cannot encode a test message: %s\n", err);
    wire_msg_reset (msg);
}
