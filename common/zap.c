/*  zap.c - one ZAP (RFC 27) request and its reply (see zap.h).

    Request frames: version, request id, domain, address, identity, mechanism,
    credentials... (CURVE: the client's 32-byte public key). Reply frames: version, request
    id, status code, status text, user id, metadata.
*/
#include "zap.h"

#include <string.h>

int
zap_request_recv (zsock_t *handler, zap_request_t *out)
{
    memset (out, 0, sizeof *out);
    zmsg_t *request = zmsg_recv (handler);
    if (!request)
        return -1;
    zframe_t *version = zmsg_pop (request);
    out->id = zmsg_pop (request);
    out->domain = zmsg_popstr (request);
    out->address = zmsg_popstr (request);
    zframe_t *identity = zmsg_pop (request);
    char *mechanism = zmsg_popstr (request);
    zframe_t *credentials = zmsg_pop (request);
    out->curve = mechanism && strcmp (mechanism, "CURVE") == 0 && credentials
              && zframe_size (credentials) == 32;
    if (out->curve)
        zmq_z85_encode (out->key, zframe_data (credentials), 32);
    if (!out->domain)
        out->domain = strdup ("");
    if (!out->address)
        out->address = strdup ("?");
    zframe_destroy (&version);
    zframe_destroy (&identity);
    zframe_destroy (&credentials);
    zstr_free (&mechanism);
    zmsg_destroy (&request);
    if (!out->domain || !out->address) {
        zap_request_free (out);
        return -1;
    }
    return 0;
}

void
zap_reply (zsock_t *handler, const zap_request_t *request, const char *code,
           const char *text, const char *user_id)
{
    zmsg_t *reply = zmsg_new ();
    zmsg_addstr (reply, "1.0");
    zmsg_addmem (reply, request->id? zframe_data (request->id): NULL,
                 request->id? zframe_size (request->id): 0);
    zmsg_addstr (reply, code);
    zmsg_addstr (reply, text);
    zmsg_addstr (reply, user_id);
    zmsg_addmem (reply, NULL, 0);
    zmsg_send (&reply, handler);
}

void
zap_request_free (zap_request_t *request)
{
    if (!request)
        return;
    zframe_destroy (&request->id);
    free (request->domain);
    free (request->address);
    memset (request, 0, sizeof *request);
}
