/*  fuzz_command_result.c - the command_result message validator (envelope field 17). See fuzz_body.h. */
#include "fuzz_body.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    return fuzz_body (17, data, size);
}
