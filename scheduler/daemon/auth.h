/*  auth.h - who may talk to the scheduler: the allow list of CURVE keys and its ZAP handler.

    The scheduler's own ZAP handler (RFC 27) on inproc://zeromq.zap.01, answering libzmq's
    handshake questions from the in-memory allow list (loaded from, and changed together
    with, the database): a key in the "agents" domain must belong to a host, in the
    "operators" domain to a user. The handler names the grant in the connection's User-Id
    ("host:h1#3", "user:alice#7": kind, name, grant number); the scheduler checks that grant
    against the allow list again for every message, so a revoked key's next message is
    refused even on a connection opened before, also when the name is allowed again with
    another key (a new grant). Not czmq's zauth: it ignores ZAP domains and reads a directory.
*/
#ifndef VMSCHED_AUTH_H
#define VMSCHED_AUTH_H

#include "records.h"

#include <czmq.h>

#define AUTH_DOMAIN_AGENTS    "agents"
#define AUTH_DOMAIN_OPERATORS "operators"

typedef struct auth auth_t;

//  Bind the ZAP handler (before any CURVE server socket exists). NULL with reason in err.
auth_t *auth_new (char *err, size_t err_size);
void auth_destroy (auth_t **self_p);

//  The handler's socket, for the scheduler's loop; auth_handle answers one request.
zsock_t *auth_socket (auth_t *self);
void auth_handle (auth_t *self);

//  The allow list. auth_allow copies; -1 when the name (for its kind) or the key is taken.
int auth_allow (auth_t *self, const principal_record_t *principal);
void auth_revoke (auth_t *self, principal_kind_t kind, const char *name);
const principal_record_t *auth_find (auth_t *self, principal_kind_t kind, const char *name);
size_t auth_count (const auth_t *self);
const principal_record_t *auth_at (const auth_t *self, size_t index);

//  The principal a connection's User-Id names ("host:h1#3"), if that grant still stands;
//  NULL otherwise (unknown, revoked, re-granted, or no User-Id).
const principal_record_t *auth_principal (auth_t *self, const char *user_id);

//  Handshakes answered so far: accepted, refused (tests, status).
uint64_t auth_accepted (const auth_t *self);
uint64_t auth_refused (const auth_t *self);

#endif
