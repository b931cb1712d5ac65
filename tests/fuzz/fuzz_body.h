/*  fuzz_body.h - fuzz one message validator: the input is the body message's bytes.

    The harness wraps them into an envelope of the current protocol version with the body in
    field FIELD (protobuf wire format: version varint, then the length-delimited body), so
    every input reaches that body's validator instead of being refused at the envelope.
*/
#ifndef VMSCHED_FUZZ_BODY_H
#define VMSCHED_FUZZ_BODY_H

#include "fuzz.h"
#include "log.h"
#include "wire.h"

#include <stdlib.h>
#include <string.h>

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
    (void) argc, (void) argv;
    log_init ("fuzz", LOG_LEVEL_NONE);
    return 0;
}

//  What a target does with a message that decoded (may be NULL).
typedef void (fuzz_then_fn) (const wire_msg_t *msg);

//  Decodes body wrapped as envelope field `field`, hands what decodes to then; aborts when
//  something decodes that cannot be encoded again.
static inline int
fuzz_body_then (int field, const uint8_t *data, size_t size, fuzz_then_fn *then)
{
    if (size > WIRE_MAX_MESSAGE - 16)
        return 0;
    uint8_t *envelope = malloc (size + 16);
    if (!envelope)
        return 0;
    size_t used = 0;
    envelope [used++] = 0x08;               // field 1 (version), varint
    envelope [used++] = WIRE_PROTOCOL_VERSION;
    envelope [used++] = (uint8_t) ((field << 3) | 2);   // field, length-delimited
    if (field >= 16)
        envelope [used - 1] |= 0x80, envelope [used++] = (uint8_t) (field >> 4);
    for (size_t length = size; ; length >>= 7) {
        envelope [used++] = (uint8_t) ((length & 0x7f) | (length > 0x7f? 0x80: 0));
        if (length <= 0x7f)
            break;
    }
    memcpy (envelope + used, data, size);
    wire_msg_t msg;
    char err [256];
    if (wire_decode (envelope, used + size, &msg, err, sizeof err) == 0) {
        if (then)
            then (&msg);
        uint8_t *encoded;
        size_t length;
        if (wire_encode (&msg, &encoded, &length, err, sizeof err))
            abort ();
        free (encoded);
        wire_msg_reset (&msg);
    }
    free (envelope);
    return 0;
}

//  fuzz_body_then without a follow-up.
static inline int
fuzz_body (int field, const uint8_t *data, size_t size)
{
    return fuzz_body_then (field, data, size, NULL);
}

#endif
