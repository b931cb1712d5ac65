/*  replay.c - runs a fuzz target over corpus directories without libFuzzer (make test).

    usage: fuzz_NAME DIR... - feeds every file of every DIR to the target once and prints
    "PASS fuzz/NAME (N inputs)". A crash ends the program (tests/run counts it as a failure);
    an empty corpus is a failure too, so a missing corpus cannot pass silently.
*/
#include "fuzz.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Feeds one file; returns 0, or -1 when it cannot be read.
static int
s_feed (const char *path)
{
    FILE *file = fopen (path, "rb");
    if (!file)
        return -1;
    fseek (file, 0, SEEK_END);
    long size = ftell (file);
    fseek (file, 0, SEEK_SET);
    uint8_t *data = malloc (size > 0? (size_t) size: 1);
    size_t got = data? fread (data, 1, (size_t) size, file): 0;
    fclose (file);
    if (!data || got != (size_t) size) {
        free (data);
        return -1;
    }
    LLVMFuzzerTestOneInput (data, got);
    free (data);
    return 0;
}

int
main (int argc, char **argv)
{
    const char *name = strrchr (argv [0], '/')? strrchr (argv [0], '/') + 1: argv [0];
    LLVMFuzzerInitialize (&argc, &argv);
    size_t inputs = 0;
    for (int i = 1; i < argc; i++) {
        DIR *dir = opendir (argv [i]);
        if (!dir) {
            printf ("FAIL fuzz/%s: cannot open corpus '%s'\n", name, argv [i]);
            return 1;
        }
        struct dirent *entry;
        while ((entry = readdir (dir))) {
            if (entry->d_name [0] == '.')
                continue;
            char path [4096];
            snprintf (path, sizeof path, "%s/%s", argv [i], entry->d_name);
            if (s_feed (path)) {
                printf ("FAIL fuzz/%s: cannot read '%s'\n", name, path);
                closedir (dir);
                return 1;
            }
            inputs++;
        }
        closedir (dir);
    }
    if (inputs == 0) {
        printf ("FAIL fuzz/%s: no corpus inputs (run make fuzz-seeds)\n", name);
        return 1;
    }
    printf ("PASS fuzz/%s (%zu inputs replayed)\n", name, inputs);
    return 0;
}
