/*  rpc.h - one clusterctl request to the scheduler and its reply, over CURVE, with a timeout.

    A DEALER socket per call (clusterctl makes one call per request): connect with the
    operator's key pair to the scheduler's public key, send the envelope, wait up to the
    timeout, decode and validate the reply. A handshake the scheduler refuses (unknown or
    revoked key, wrong scheduler key) is reported as such instead of as a timeout.
*/
#ifndef VMSCHED_RPC_H
#define VMSCHED_RPC_H

#include "wire.h"

#include <czmq.h>

//  Send request to the scheduler's ctl endpoint as cert (the operator's key pair) to the
//  scheduler with public key server_key (Z85); wait up to timeout_ms. Returns 0 with *reply
//  filled (caller wire_msg_reset()s it), or -1 with a message in err that names the endpoint
//  and what to check.
int rpc_call (const char *endpoint, zcert_t *cert, const char *server_key, int timeout_ms,
              const wire_ctl_request_t *request, wire_msg_t *reply, char *err,
              size_t err_size);

#endif
