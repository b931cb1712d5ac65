/*  fuzz_welcome.c - the welcome message validator (envelope field 11). See fuzz_body.h. */
#include "fuzz_body.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    return fuzz_body (11, data, size);
}
