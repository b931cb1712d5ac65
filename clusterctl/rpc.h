/*  rpc.h - one clusterctl request to the scheduler and its reply, with a timeout.

    A DEALER socket per call (clusterctl makes one call per run): connect, send the envelope,
    wait up to the timeout, decode and validate the reply.
*/
#ifndef VMSCHED_RPC_H
#define VMSCHED_RPC_H

#include "wire.h"

//  Send request to the scheduler's ctl endpoint and wait up to timeout_ms for the reply.
//  Returns 0 with *reply filled (caller wire_msg_reset()s it), or -1 with a message in err
//  that names the endpoint and what to check.
int rpc_call (const char *endpoint, int timeout_ms, const wire_ctl_request_t *request,
              wire_msg_t *reply, char *err, size_t err_size);

#endif
