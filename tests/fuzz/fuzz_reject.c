/*  fuzz_reject.c - the reject message validator (envelope field 15). See fuzz_body.h. */
#include "fuzz_body.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    return fuzz_body (15, data, size);
}
