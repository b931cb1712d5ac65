/*  cli.h - clusterctl: command line, verb table, request, rendering.

    cli_main is the whole program with its streams passed in, so that tests run it in-process.
    Exit codes (DESIGN.md §8): 0 success, 1 refused or failed operation (including "scheduler
    unreachable"), 2 bad usage.
*/
#ifndef VMSCHED_CLI_H
#define VMSCHED_CLI_H

#include <stdio.h>

#define CLI_OK      0
#define CLI_FAILED  1
#define CLI_USAGE   2

//  Run clusterctl with argv (argv[0] is the program name); output to out, errors to err.
int cli_main (int argc, char **argv, FILE *out, FILE *err);

#endif
