/*  fuzz_command.c - the command message validator (envelope field 16). See fuzz_body.h. */
#include "fuzz_body.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    return fuzz_body (16, data, size);
}
