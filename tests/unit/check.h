/*  check.h - the unit tests' assertion macro and runner.

    Each tests/unit/test_MODULE.c is its own program: its checks use CHECK, and its main
    returns check_report ("config", failures), which prints one `PASS unit/config` or
    `FAIL unit/config` line for tests/run to count.
*/
#ifndef VMSCHED_CHECK_H
#define VMSCHED_CHECK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

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

//  One named case of a test program: returns its failed checks.
typedef struct {
    const char *name;           // shown in the PASS/FAIL line
    int (*run) (void);          // the case
} check_case_t;

//  Runs the cases (all, or only those named in argv [1..]) and prints one line each:
//  "PASS unit/SUITE/CASE (N ms)" or "FAIL unit/SUITE/CASE: N check(s) failed (listed above)".
//  Returns how many cases failed.
static inline int
check_run_cases (const char *suite, const check_case_t *cases, size_t count, int argc,
                 char **argv)
{
    int failed = 0;
    for (size_t i = 0; i < count; i++) {
        bool wanted = argc < 2;
        for (int a = 1; a < argc; a++)
            wanted |= strcmp (argv [a], cases [i].name) == 0;
        if (!wanted)
            continue;
        struct timespec start, end;
        clock_gettime (CLOCK_MONOTONIC, &start);
        int failures = cases [i].run ();
        clock_gettime (CLOCK_MONOTONIC, &end);
        long ms = (end.tv_sec - start.tv_sec) * 1000 + (end.tv_nsec - start.tv_nsec) / 1000000;
        if (failures)
            printf ("FAIL unit/%s/%s: %d check(s) failed (listed above)\n", suite,
                    cases [i].name, failures);
        else
            printf ("PASS unit/%s/%s (%ld ms)\n", suite, cases [i].name, ms);
        failed += failures > 0;
    }
    return failed;
}

//  check_run_cases over a whole static array of cases.
#define CHECK_RUN_ALL(suite, cases, argc, argv) \
    check_run_cases (suite, cases, sizeof cases / sizeof cases [0], argc, argv)

#endif
