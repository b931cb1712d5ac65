/*  fuzz_ctl_reply.c - the ctl_reply message validator (envelope field 21). See fuzz_body.h. */
#include "fuzz_body.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    return fuzz_body (21, data, size);
}
