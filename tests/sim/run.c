/*  run.c - runs one simulator scenario and compares its log with the expected one.

    usage: sim_run DIR      DIR holds README, cluster.json, script and expect.log.
    Prints "PASS sim/NAME" or "FAIL sim/NAME" (with the first differing lines); exits 1 on
    failure. SIM_REGEN=1 writes the produced log to DIR/expect.log instead, for review.
*/
#include "fixture_files.h"
#include "log.h"
#include "sim.h"

#include <libgen.h>
#include <stdlib.h>
#include <string.h>

//  Prints the first lines where produced and expected differ.
static void
s_show_difference (const char *produced, const char *expected)
{
    int line = 1, shown = 0;
    while (*produced || *expected) {
        size_t a = strcspn (produced, "\n"), b = strcspn (expected, "\n");
        if (a != b || strncmp (produced, expected, a)) {
            fprintf (stderr, "  line %d:\n    expected: %.*s\n    produced: %.*s\n", line,
                     (int) b, expected, (int) a, produced);
            if (++shown == 3)
                return;
        }
        produced += a + (produced [a] == '\n');
        expected += b + (expected [b] == '\n');
        line++;
    }
}

int
main (int argc, char **argv)
{
    if (argc != 2) {
        fprintf (stderr, "usage: sim_run SCENARIO_DIR\n");
        return 2;
    }
    const char *dir = argv [1];
    char copy [512];
    snprintf (copy, sizeof copy, "%s", dir);
    const char *name = basename (copy);
    char cluster [600], script [600], expect [600], scratch [256];
    snprintf (cluster, sizeof cluster, "%s/cluster.json", dir);
    snprintf (script, sizeof script, "%s/script", dir);
    snprintf (expect, sizeof expect, "%s/expect.log", dir);
    log_init ("sim", LOG_LEVEL_INFO);
    if (fixture_files_tempdir (scratch, sizeof scratch, "sim")) {
        fprintf (stderr, "sim: cannot make a scratch directory\n");
        return 2;
    }
    char *produced = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&produced, &size);
    sim_t *sim = out? sim_new (scratch, out): NULL;
    int rc = sim? sim_run_scenario (sim, cluster, script): -1;
    int violations = sim? sim_violations (sim): 0;
    sim_destroy (&sim);
    if (out)
        fclose (out);
    fixture_files_remove_dir (scratch);
    if (rc || !produced) {
        printf ("FAIL sim/%s (the scenario could not run; see above)\n", name);
        free (produced);
        return 1;
    }
    const char *regen = getenv ("SIM_REGEN");
    if (regen && strcmp (regen, "1") == 0) {
        int written = fixture_files_write (expect, produced);
        printf ("%s sim/%s (expect.log rewritten: review it with git diff)\n",
                written? "FAIL": "PASS", name);
        free (produced);
        return written? 1: 0;
    }
    char *expected = fixture_files_read (expect);
    bool same = expected && strcmp (expected, produced) == 0;
    if (!expected)
        fprintf (stderr, "  no %s: run SIM_REGEN=1 %s %s and review it\n", expect, argv [0],
                 dir);
    else
    if (!same)
        s_show_difference (produced, expected);
    if (violations)
        fprintf (stderr, "  %d invariant violations (VIOLATION lines in the log)\n", violations);
    bool passed = same && violations == 0;
    printf ("%s sim/%s\n", passed? "PASS": "FAIL", name);
    free (expected);
    free (produced);
    return passed? 0: 1;
}
