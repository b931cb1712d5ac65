/*  fixture_keys.c - the unit tests' CURVE key pairs and the sockets that use them.

    Key files come from keys.c, exactly as the programs' --keygen makes them; sockets are
    plain czmq ones with the CURVE options set before bind or connect. Asserts only that
    czmq could make a socket at all (a broken test machine, not a test failure).
*/
#include "fixture_keys.h"
#include "wire.h"

#include <stdio.h>
#include <string.h>

int
fixture_keys_make (fixture_keys_t *self, const char *dir, const char *name)
{
    char err [512] = "";
    memset (self, 0, sizeof *self);
    snprintf (self->path, sizeof self->path, "%s/%s.key", dir, name);
    snprintf (self->secret, sizeof self->secret, "%s_secret", self->path);
    if (keys_generate (self->path, name, err, sizeof err)
    ||  keys_load_public (self->path, self->public_key, err, sizeof err)) {
        fprintf (stderr, "  cannot make key '%s': %s\n", name, err);
        return -1;
    }
    snprintf (self->key_arg, sizeof self->key_arg, "key=%s", self->public_key);
    return 0;
}

zcert_t *
fixture_keys_server_cert (const char *path)
{
    zcert_t *cert = zcert_new ();
    if (cert && zcert_save_public (cert, path))
        zcert_destroy (&cert);
    return cert;
}

zsock_t *
fixture_keys_router (const char *endpoint, zcert_t *cert, int64_t max_message)
{
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    if (!router)
        return NULL;
    zsock_set_linger (router, 0);
    if (max_message >= 0)
        zsock_set_maxmsgsize (router, (int) max_message);
    zcert_apply (cert, router);
    zsock_set_curve_server (router, 1);
    if (zsock_bind (router, "%s", endpoint) < 0)
        zsock_destroy (&router);
    return router;
}

zsock_t *
fixture_keys_client (const char *endpoint, const fixture_keys_t *key, const char *server_key,
                     int reconnect_ms)
{
    zsock_t *sock = zsock_new (ZMQ_DEALER);
    assert (sock);
    zsock_set_linger (sock, 0);
    zsock_set_reconnect_ivl (sock, reconnect_ms);
    zsock_set_maxmsgsize (sock, WIRE_MAX_MESSAGE);
    if (key) {
        char err [512];
        zcert_t *cert = keys_load_secret (key->secret, err, sizeof err);
        if (!cert)
            fprintf (stderr, "  %s\n", err);
        else
            zcert_apply (cert, sock);
        zcert_destroy (&cert);
        zsock_set_curve_serverkey (sock, server_key);
    }
    zsock_connect (sock, "%s", endpoint);
    return sock;
}
