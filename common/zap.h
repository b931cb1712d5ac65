/*  zap.h - one ZAP (ZeroMQ RFC 27) request as the CURVE handlers see it, and its reply.

    The scheduler's handler (scheduler/daemon/auth.c) and the agents' witness links
    (agent/witness_link.c) decide differently whom to let in; reading a request off the
    handler socket and answering it is the same, and lives here. No policy: this module
    only parses and replies.
*/
#ifndef VMSCHED_ZAP_H
#define VMSCHED_ZAP_H

#include "keys.h"

#include <czmq.h>
#include <stdbool.h>

typedef struct {
    zframe_t *id;               // owned: the request id the reply must echo (may be NULL)
    char *domain;               // owned: the ZAP domain of the socket ("" when absent)
    char *address;              // owned: the peer's address ("?" when absent)
    bool curve;                 // a CURVE client with a 32-byte public key
    char key [KEYS_Z85_SIZE];   // that key in Z85 ("" unless curve)
} zap_request_t;

//  Receives one request from handler (a REP socket bound on inproc://zeromq.zap.01) into
//  out. 0, or -1 when nothing could be received (out is then empty). The caller answers
//  with zap_reply and frees out with zap_request_free.
int zap_request_recv (zsock_t *handler, zap_request_t *out);

//  Answers request on handler: code "200" (with user_id, the identity the sockets then
//  see) or "400"/"500" with text.
void zap_reply (zsock_t *handler, const zap_request_t *request, const char *code,
                const char *text, const char *user_id);

//  Frees what request owns. NULL-safe; request is empty afterwards.
void zap_request_free (zap_request_t *request);

#endif
