/*  check.h - the unit tests' assertion macro and runner.

    Each tests/unit/test_MODULE.c is its own program: its checks use CHECK, and its main
    returns check_report ("config", failures), which prints one `PASS unit/config` or
    `FAIL unit/config` line for tests/run to count.
*/
#ifndef VMSCHED_CHECK_H
#define VMSCHED_CHECK_H

#include <stdio.h>

//  Count a failed condition in the enclosing function's `int failures` and say where.
#define CHECK(cond) do { \
        if (!(cond)) { \
            fprintf (stderr, "  check failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
            failures++; \
        } \
    } while (0)

//  Print the verdict line and turn it into an exit status.
static inline int
check_report (const char *name, int failures)
{
    printf ("%s unit/%s%s\n", failures? "FAIL": "PASS", name, failures? "": "");
    if (failures)
        fprintf (stderr, "unit/%s: %d check(s) failed\n", name, failures);
    return failures? 1: 0;
}

#endif
