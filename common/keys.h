/*  keys.h - CURVE key pairs on disk (czmq's zcert text format).

    A key pair is two files: PATH holds the public key (shareable) and PATH_secret the
    secret key (mode 0600, refused when group or others can read it). Every program makes
    its own pair (`--keygen` / `clusterctl keygen`); only public keys move between machines.
*/
#ifndef VMSCHED_KEYS_H
#define VMSCHED_KEYS_H

#include <czmq.h>
#include <stddef.h>

#define KEYS_Z85_SIZE 41                // 40 Z85 characters + NUL

//  Create PATH and PATH_secret for owner (written into the files as metadata). Refuses to
//  overwrite existing files. 0, or -1 with the reason in err.
int keys_generate (const char *path, const char *owner, char *err, size_t err_size);

//  Load a secret key file (a path ending in "_secret"). Refuses a missing file, a file that
//  group or others may read, or one without a secret key. NULL with the reason in err.
zcert_t *keys_load_secret (const char *path, char *err, size_t err_size);

//  The public key (Z85) of a key file (public or secret). 0, or -1 with the reason in err.
int keys_load_public (const char *path, char *public_key, char *err, size_t err_size);

//  True when text is a Z85 CURVE public key (40 characters of the Z85 alphabet).
bool keys_valid_z85 (const char *text);

#endif
