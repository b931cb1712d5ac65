/*  fuzz.h - what every fuzz target provides (libFuzzer's entry points).

    Each tests/fuzz/fuzz_NAME.c feeds untrusted bytes to one decoder or parser. Built with
    clang's libFuzzer by `make fuzz`; built with replay.c's main by `make` so that `make test`
    replays the committed corpus in tests/fuzz/corpus/NAME (every input must pass without a
    crash, a sanitizer report or a leak under valgrind).
*/
#ifndef VMSCHED_FUZZ_H
#define VMSCHED_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#endif
