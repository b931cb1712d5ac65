/*  fuzz_event.c - the event message validator (envelope field 14). See fuzz_body.h. */
#include "fuzz_body.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    return fuzz_body (14, data, size);
}
