/*  fixture_wire.h - wire messages onto the unit tests' sockets.

    The tests speak the real protocol (wire.c) to the code under test. These helpers encode
    a test's message and put it on a socket; an encoding failure is a bug in the test, said
    on stderr, and what goes out instead is empty (which the receiver refuses).
*/
#ifndef VMSCHED_FIXTURE_WIRE_H
#define VMSCHED_FIXTURE_WIRE_H

#include "wire.h"

#include <czmq.h>

//  msg encoded into a new frame (caller destroys; an empty frame when msg cannot be
//  encoded).
zframe_t *fixture_wire_frame (const wire_msg_t *msg);

//  Encodes msg and sends it on sock as one frame, then resets msg (wire_msg_reset).
void fixture_wire_send (zsock_t *sock, wire_msg_t *msg);

#endif
