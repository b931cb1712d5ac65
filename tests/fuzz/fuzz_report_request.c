/*  fuzz_report_request.c - the report_request message validator (envelope field 18). See fuzz_body.h. */
#include "fuzz_body.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    return fuzz_body (18, data, size);
}
