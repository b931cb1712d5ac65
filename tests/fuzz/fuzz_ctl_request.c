/*  fuzz_ctl_request.c - the ctl_request message validator (envelope field 20). See fuzz_body.h. */
#include "fuzz_body.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    return fuzz_body (20, data, size);
}
