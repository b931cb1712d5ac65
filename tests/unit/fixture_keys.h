/*  fixture_keys.h - the unit tests' CURVE key pairs and the sockets that use them.

    Every socket in the tests is CURVE, as in production: clients hold a key pair made by
    keys_generate in the test's temporary directory and know their server by its public
    key; a fake server (a ROUTER the test plays the scheduler on) may keep its key pair in
    memory and write only the public half for its clients to read. A fake server has no
    ZAP handler, so it accepts any client key; tests that check who may connect run the
    real auth.c.
*/
#ifndef VMSCHED_FIXTURE_KEYS_H
#define VMSCHED_FIXTURE_KEYS_H

#include "keys.h"

#include <czmq.h>

//  One key pair on disk: DIR/NAME.key and DIR/NAME.key_secret.
typedef struct {
    char path [128];                    // public key file
    char secret [160];                  // secret key file (path + "_secret")
    char public_key [KEYS_Z85_SIZE];    // the public key, Z85
    char key_arg [64];                  // "key=<Z85>", for host.add / user.add
} fixture_keys_t;

//  Makes the key pair dir/NAME.key (owner NAME) and fills self. 0, or -1 after saying why
//  on stderr.
int fixture_keys_make (fixture_keys_t *self, const char *dir, const char *name);

//  A new key pair kept in memory, of which only the public key is written to path (a fake
//  server's: its secret never touches the disk). Caller destroys; NULL on failure.
zcert_t *fixture_keys_server_cert (const char *path);

//  A ROUTER bound to endpoint as a CURVE server with cert (borrowed), linger 0, taking
//  messages up to max_message bytes (-1: no limit). Caller destroys; NULL when it cannot
//  be made or bound.
zsock_t *fixture_keys_router (const char *endpoint, zcert_t *cert, int64_t max_message);

//  A DEALER connected to endpoint (linger 0, reconnecting every reconnect_ms, messages up
//  to WIRE_MAX_MESSAGE): a CURVE client with the key pair key that knows the server by
//  server_key (Z85), or a plaintext client when key is NULL. A key whose secret cannot be
//  loaded is reported on stderr and the socket goes without it. Caller destroys.
zsock_t *fixture_keys_client (const char *endpoint, const fixture_keys_t *key,
                              const char *server_key, int reconnect_ms);

#endif
