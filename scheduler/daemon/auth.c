/*  auth.c - the allow list and the ZAP handler (see auth.h).

    Owns the REP socket on inproc://zeromq.zap.01 and the list of principals (small: one
    per host and operator, searched linearly). A refused handshake is logged with the key,
    rate-limited, so an operator can add a key that was meant to be allowed.
*/
#include "auth.h"
#include "log.h"
#include "vec.h"
#include "zap.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#define S_ZAP_ENDPOINT "inproc://zeromq.zap.01"

//  One allowed key and the grant that allowed it.
typedef struct {
    principal_record_t principal;   // first: a principal pointer is its entry's pointer
    uint64_t grant;                 // number of the grant (in User-Ids)
} s_entry_t;

struct auth {
    zsock_t *handler;               // REP, bound to the ZAP endpoint
    vec_t entries;                  // s_entry_t, in the order they were allowed
    uint64_t last_grant;            // grants handed out so far (numbers them)
    uint64_t accepted;              // handshakes accepted
    uint64_t refused;               // handshakes refused
};

auth_t *
auth_new (char *err, size_t err_size)
{
    auth_t *self = calloc (1, sizeof *self);
    if (!self) {
        snprintf (err, err_size, "out of memory");
        return NULL;
    }
    self->entries = VEC_OF (s_entry_t);
    self->handler = zsock_new (ZMQ_REP);
    //  A handler closed a moment ago (tests make several) frees the endpoint asynchronously.
    int rc = self->handler? zsock_bind (self->handler, S_ZAP_ENDPOINT): -1;
    for (int tries = 0; rc < 0 && self->handler && zmq_errno () == EADDRINUSE && tries < 100;
         tries++) {
        zclock_sleep (10);
        rc = zsock_bind (self->handler, S_ZAP_ENDPOINT);
    }
    if (rc < 0) {
        snprintf (err, err_size, "cannot bind the ZAP handler on %s: %s", S_ZAP_ENDPOINT,
                  zmq_strerror (zmq_errno ()));
        auth_destroy (&self);
        return NULL;
    }
    return self;
}

void
auth_destroy (auth_t **self_p)
{
    auth_t *self = *self_p;
    if (!self)
        return;
    zsock_destroy (&self->handler);
    vec_free (&self->entries);
    free (self);
    *self_p = NULL;
}

zsock_t *
auth_socket (auth_t *self)
{
    return self->handler;
}

//  --------------------------------------------------------------------------
//  Allow list

static const principal_record_t *
s_by_key (const auth_t *self, const char *key)
{
    for (size_t i = 0; i < self->entries.count; i++)
        if (strcmp (auth_at (self, i)->key, key) == 0)
            return auth_at (self, i);
    return NULL;
}

const principal_record_t *
auth_find (auth_t *self, principal_kind_t kind, const char *name)
{
    for (size_t i = 0; i < self->entries.count; i++) {
        const principal_record_t *principal = auth_at (self, i);
        if (principal->kind == kind && strcmp (principal->name, name) == 0)
            return principal;
    }
    return NULL;
}

int
auth_allow (auth_t *self, const principal_record_t *principal)
{
    if (auth_find (self, principal->kind, principal->name) || s_by_key (self, principal->key))
        return -1;
    s_entry_t entry = { *principal, self->last_grant + 1 };
    if (!vec_push (&self->entries, &entry))
        return -1;
    self->last_grant++;
    return 0;
}

void
auth_revoke (auth_t *self, principal_kind_t kind, const char *name)
{
    for (size_t i = 0; i < self->entries.count; i++) {
        const principal_record_t *principal = auth_at (self, i);
        if (principal->kind == kind && strcmp (principal->name, name) == 0) {
            vec_remove (&self->entries, i);
            return;
        }
    }
}

size_t
auth_count (const auth_t *self)
{
    return self->entries.count;
}

const principal_record_t *
auth_at (const auth_t *self, size_t index)
{
    return index < self->entries.count?
           &((const s_entry_t *) vec_at (&self->entries, index))->principal: NULL;
}

//  User-Ids name the grant, not just the name: "host:h1#7". A key revoked and a name allowed
//  again with another key is a new grant, so connections made with the old key stay refused.
const principal_record_t *
auth_principal (auth_t *self, const char *user_id)
{
    const char *grant = user_id? strrchr (user_id, '#'): NULL;
    if (!grant)
        return NULL;
    char *end;
    uint64_t number = strtoull (grant + 1, &end, 10);
    if (*end)
        return NULL;
    for (size_t i = 0; i < self->entries.count; i++) {
        const s_entry_t *entry = vec_at (&self->entries, i);
        if (entry->grant != number)
            continue;
        const principal_record_t *principal = &entry->principal;
        char expected [PRINCIPAL_NAME_SIZE + 32];
        snprintf (expected, sizeof expected, "%s:%s#%" PRIu64, principal->kind == PRINCIPAL_HOST
                  ? "host": "user", principal->name, number);
        return strcmp (expected, user_id) == 0? principal: NULL;
    }
    return NULL;
}

uint64_t
auth_accepted (const auth_t *self)
{
    return self->accepted;
}

uint64_t
auth_refused (const auth_t *self)
{
    return self->refused;
}

//  --------------------------------------------------------------------------
//  ZAP (RFC 27; common/zap.c reads the request and writes the reply)

void
auth_handle (auth_t *self)
{
    zap_request_t request;
    if (zap_request_recv (self->handler, &request))
        return;
    const principal_record_t *principal = request.curve? s_by_key (self, request.key): NULL;
    bool agents = strcmp (request.domain, AUTH_DOMAIN_AGENTS) == 0;
    bool operators = strcmp (request.domain, AUTH_DOMAIN_OPERATORS) == 0;
    bool allowed = principal && ((agents && principal->kind == PRINCIPAL_HOST)
                              || (operators && principal->kind == PRINCIPAL_USER));
    if (allowed) {
        char user_id [PRINCIPAL_NAME_SIZE + 32];
        snprintf (user_id, sizeof user_id, "%s:%s#%" PRIu64,
                  principal->kind == PRINCIPAL_HOST? "host": "user", principal->name,
                  ((const s_entry_t *) principal)->grant);
        self->accepted++;
        zap_reply (self->handler, &request, "200", "OK", user_id);
    }
    else {
        self->refused++;
        bool logged = log_sampled (self->refused);
        if (logged)
            log_warn ("refused a connection from %s to the %s endpoint: %s (%" PRIu64
                      " refused so far)", request.address,
                      request.domain [0]? request.domain: "?",
                      !request.curve? "not a CURVE client"
                      : !principal? "unknown key"
                      : "the key belongs to the other endpoint", self->refused);
        if (request.curve && !principal && logged)
            log_info ("the refused key is %s; allow it with 'clusterctl %s add NAME --key FILE%s'",
                      request.key, agents? "host": "user", agents? "": " --role ROLE");
        zap_reply (self->handler, &request, "400", "not allowed", "");
    }
    zap_request_free (&request);
}
