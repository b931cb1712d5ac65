/*  fuzz_heartbeat.c - the heartbeat message validator (envelope field 12). See fuzz_body.h. */
#include "fuzz_body.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    return fuzz_body (12, data, size);
}
