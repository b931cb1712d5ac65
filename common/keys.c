/*  keys.c - CURVE key pairs on disk (see keys.h).

    czmq's zcert reads and writes the files; this file adds what zcert does not: file modes,
    no overwriting, and messages that say what to do.
*/
#include "keys.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

bool
keys_valid_z85 (const char *text)
{
    static const char alphabet [] = "0123456789abcdefghijklmnopqrstuvwxyz"
        "ABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
    return text && strlen (text) == 40 && strspn (text, alphabet) == 40;
}

int
keys_generate (const char *path, const char *owner, char *err, size_t err_size)
{
    char secret [1024];
    snprintf (secret, sizeof secret, "%s_secret", path);
    if (access (path, F_OK) == 0 || access (secret, F_OK) == 0) {
        snprintf (err, err_size, "'%s' or '%s' exists already; remove them first to replace "
                  "the key pair", path, secret);
        return -1;
    }
    zcert_t *cert = zcert_new ();
    if (!cert) {
        snprintf (err, err_size, "cannot generate a key pair");
        return -1;
    }
    zcert_set_meta (cert, "owner", "%s", owner);
    //  The secret file is created private: no moment where others could read it.
    mode_t old = umask (077);
    int rc = zcert_save_secret (cert, secret);
    umask (old);
    if (rc == 0)
        rc = zcert_save_public (cert, path);
    if (rc == 0)
        rc = chmod (secret, 0600) || chmod (path, 0644)? -1: 0;
    if (rc)
        snprintf (err, err_size, "cannot write the key pair '%s': %s", path, strerror (errno));
    zcert_destroy (&cert);
    return rc;
}

zcert_t *
keys_load_secret (const char *path, char *err, size_t err_size)
{
    size_t length = strlen (path);
    if (length < 7 || strcmp (path + length - 7, "_secret")) {
        //  zcert would read PATH_secret instead, whose mode we would not have checked.
        snprintf (err, err_size, "secret key '%s' must be the _secret file of a key pair "
                  "(made with --keygen)", path);
        return NULL;
    }
    struct stat info;
    if (stat (path, &info)) {
        snprintf (err, err_size, "cannot read secret key '%s': %s (make a key pair with "
                  "--keygen, or 'clusterctl keygen' for operators)", path, strerror (errno));
        return NULL;
    }
    if (info.st_mode & 077) {
        snprintf (err, err_size, "secret key '%s' is readable by others (mode %04o); "
                  "run: chmod 600 %s", path, (unsigned) (info.st_mode & 07777), path);
        return NULL;
    }
    zcert_t *cert = zcert_load (path);
    if (!cert || !keys_valid_z85 (zcert_secret_txt (cert))
    ||  strcmp (zcert_secret_txt (cert), "0000000000000000000000000000000000000000") == 0) {
        snprintf (err, err_size, "'%s' is not a secret key file (expected the _secret file "
                  "of a pair made with --keygen)", path);
        zcert_destroy (&cert);
        return NULL;
    }
    return cert;
}

int
keys_load_public (const char *path, char *public_key, char *err, size_t err_size)
{
    if (access (path, R_OK)) {
        snprintf (err, err_size, "cannot read public key '%s': %s", path, strerror (errno));
        return -1;
    }
    zcert_t *cert = zcert_load (path);
    if (!cert || !keys_valid_z85 (zcert_public_txt (cert))) {
        snprintf (err, err_size, "'%s' is not a key file (make one with --keygen)", path);
        zcert_destroy (&cert);
        return -1;
    }
    snprintf (public_key, KEYS_Z85_SIZE, "%s", zcert_public_txt (cert));
    zcert_destroy (&cert);
    return 0;
}
