/*  fuzz_envelope.c - the envelope decoder on arbitrary bytes (what any peer can send).

    Whatever decodes must also encode again (we never hold a message we could not send) and
    decode to the same kind.
*/
#include "fuzz.h"
#include "log.h"
#include "wire.h"

#include <stdlib.h>

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
    (void) argc, (void) argv;
    log_init ("fuzz", LOG_LEVEL_NONE);
    return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    wire_msg_t msg, again;
    char err [256];
    if (wire_decode (data, size, &msg, err, sizeof err))
        return 0;
    uint8_t *encoded;
    size_t length;
    if (wire_encode (&msg, &encoded, &length, err, sizeof err))
        abort ();                           // decoded but cannot be sent: a validator gap
    if (wire_decode (encoded, length, &again, err, sizeof err) || again.kind != msg.kind)
        abort ();
    wire_msg_reset (&again);
    free (encoded);
    wire_msg_reset (&msg);
    return 0;
}
