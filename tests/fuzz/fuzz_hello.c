/*  fuzz_hello.c - the hello message validator (envelope field 10). See fuzz_body.h. */
#include "fuzz_body.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    return fuzz_body (10, data, size);
}
