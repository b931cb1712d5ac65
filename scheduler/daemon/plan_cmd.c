/*  plan_cmd.c - `vmsched-scheduler plan --cluster FILE.json [options]`.

    The command line of the offline planner: options, loading (cluster_v1.c), planning
    (balance.c), printing (plan_v1.c). Owns nothing past its return. Errors go to stderr
    once, prefixed "vmsched-scheduler plan: ".
*/
#include "plan_cmd.h"

#include "balance.h"
#include "cluster_v1.h"
#include "plan_v1.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *s_usage =
    "usage: vmsched-scheduler plan --cluster FILE.json [--level N] [--max-moves N]\n"
    "           [--max-in N] [--max-out N] [--cooldown SECONDS] [--now SECONDS] [-o json|text]\n"
    "  Prints the balancing plan for the vm-cluster-v1 file: live migrations in execution\n"
    "  order, in batches.\n"
    "  --level N      aggressiveness 1 (only large gains) .. 5 (small ones too); default 3\n"
    "  --max-moves N  at most N moves (0: no limit, the default)\n"
    "  --max-in N, --max-out N   migrations into / out of one host per batch (default 1, 1)\n"
    "  --cooldown S   vms migrated less than S seconds before now stay (default 3600)\n"
    "  --now S        the time the cooldown counts from (default: the file's \"time\")\n"
    "  -o json|text   vm-plan-v1 JSON, or text for people (the default)\n";

static int
s_usage_error (const char *fmt, const char *arg)
{
    fprintf (stderr, "vmsched-scheduler plan: ");
    fprintf (stderr, fmt, arg);
    fprintf (stderr, "\n%s", s_usage);
    return 2;
}

//  Parse a number option's value into *out within [min, max]; 0 or -1.
static int
s_number (const char *text, double min, double max, double *out)
{
    char *end;
    errno = 0;
    double value = strtod (text, &end);
    if (errno || end == text || *end || !(value >= min) || !(value <= max))
        return -1;
    *out = value;
    return 0;
}

static double
s_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

//  Options of one run.
typedef struct {
    const char *path;           // --cluster
    bool json;                  // -o json
    bool has_now;               // --now given
    balance_options_t balance;  // level, limits, cooldown, now
} s_args_t;

//  One option with a numeric value: name, range, and where it goes.
typedef struct {
    const char *name;           // "--level"
    double min, max;            // accepted range
    bool integer;               // must be a whole number
} s_numeric_t;

static const s_numeric_t s_numerics [] = {
    { "--level", BALANCE_LEVEL_MIN, BALANCE_LEVEL_MAX, true },
    { "--max-moves", 0, 1e9, true },
    { "--max-in", 1, 1e6, true },
    { "--max-out", 1, 1e6, true },
    { "--cooldown", 0, 1e12, false },
    { "--now", 0, 1e12, false },
};

static void
s_store (s_args_t *args, size_t option, double value)
{
    switch (option) {
        case 0: args->balance.level = (int) value; break;
        case 1: args->balance.max_moves = (size_t) value; break;
        case 2: args->balance.max_in = (uint32_t) value; break;
        case 3: args->balance.max_out = (uint32_t) value; break;
        case 4: args->balance.cooldown_s = value; break;
        default: args->balance.now = value; args->has_now = true; break;
    }
}

//  Parse argv; returns 0, or the usage exit status (printed).
static int
s_parse (int argc, char **argv, s_args_t *args)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv [i];
        if (strcmp (arg, "-h") == 0 || strcmp (arg, "--help") == 0) {
            fputs (s_usage, stdout);
            return -1;
        }
        if (i + 1 >= argc)
            return s_usage_error ("option '%s' needs a value (or is not an option)", arg);
        const char *value = argv [++i];
        if (strcmp (arg, "--cluster") == 0) {
            args->path = value;
            continue;
        }
        if (strcmp (arg, "-o") == 0) {
            if (strcmp (value, "json") && strcmp (value, "text"))
                return s_usage_error ("-o '%s': expected json or text", value);
            args->json = strcmp (value, "json") == 0;
            continue;
        }
        size_t option = 0, count = sizeof s_numerics / sizeof s_numerics [0];
        while (option < count && strcmp (arg, s_numerics [option].name))
            option++;
        if (option == count)
            return s_usage_error ("unknown option '%s'", arg);
        const s_numeric_t *numeric = &s_numerics [option];
        double number;
        if (s_number (value, numeric->min, numeric->max, &number)
        ||  (numeric->integer && number != (double) (long long) number)) {
            fprintf (stderr, "vmsched-scheduler plan: %s '%s': expected %s from %g to %g\n",
                     arg, value, numeric->integer? "a whole number": "a number",
                     numeric->min, numeric->max);
            return 2;
        }
        s_store (args, option, number);
    }
    if (!args->path)
        return s_usage_error ("%s", "--cluster FILE is required");
    return 0;
}

int
plan_cmd_main (int argc, char **argv)
{
    s_args_t args = { NULL, false, false, balance_options_default () };
    int rc = s_parse (argc, argv, &args);
    if (rc)
        return rc < 0? 0: rc;
    char err [512];
    cluster_v1_t *file = cluster_v1_load (args.path, err, sizeof err);
    if (!file) {
        fprintf (stderr, "vmsched-scheduler plan: %s\n", err);
        return 1;
    }
    if (!args.has_now)
        args.balance.now = cluster_v1_time (file);
    place_cluster_t *cluster = cluster_v1_place (file);
    balance_plan_t plan;
    double started = s_now_ms ();
    rc = balance_plan (cluster, cluster_v1_load_figures (file), &args.balance, &plan, err,
                       sizeof err);
    double elapsed = s_now_ms () - started;
    if (rc) {
        fprintf (stderr, "vmsched-scheduler plan: %s: %s\n", args.path, err);
        cluster_v1_destroy (&file);
        return 1;
    }
    char *text = args.json? plan_v1_json (cluster, &plan, elapsed)
                          : plan_v1_text (cluster, &plan, args.balance.level, elapsed);
    if (text) {
        fputs (text, stdout);
        free (text);
    }
    else
        fprintf (stderr, "vmsched-scheduler plan: cannot format the plan: out of memory\n");
    balance_plan_clear (&plan);
    cluster_v1_destroy (&file);
    return text? 0: 1;
}
