/*  fuzz_report.c - the report message validator (envelope field 13). See fuzz_body.h. */
#include "fuzz_body.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    return fuzz_body (13, data, size);
}
