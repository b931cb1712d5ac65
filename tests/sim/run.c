/*  run.c - runs one simulator scenario and compares its log with the expected one.

    usage: sim_run DIR      DIR holds README, cluster.json, script and expect.log.
           sim_run --random FIRST COUNT [-v]   seeded random fault schedules (sim.h)
           sim_run --random-real FIRST COUNT [-v]   the same with the real agent core
           sim_run --random-ha FIRST COUNT [-v]   seeded random HA fault schedules
           sim_run --scale[-real] HOSTS VMS_PER_HOST SECONDS   speed of a big healthy
                                cluster (scripted agents, or the real agent core)
    Prints "PASS sim/NAME" or "FAIL sim/NAME" (with the first differing lines); exits 1 on
    failure. SIM_REGEN=1 writes the produced log to DIR/expect.log instead, for review.
*/
#include "fixture_files.h"
#include "log.h"
#include "sim.h"

#include <inttypes.h>
#include <libgen.h>
#include <sys/stat.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#define S_HA_FAULT_MS 30000          // --random-ha: faults for this long,
#define S_HA_QUIET_MS 50000          // then healed but for power, then all booted

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

//  Seeded random schedules: seeds first .. first + count - 1. A failing seed prints its log
//  tail and the command that replays it.
static int
s_random_runs (const char *program, uint64_t first, uint64_t count, bool verbose, bool real,
               bool ha)
{
    //  Thousands of small databases: on tmpfs when there is one (fsync costs nothing there).
    char scratch [256];
    snprintf (scratch, sizeof scratch, "/dev/shm/vmsched-sim-random-XXXXXX");
    if (!mkdtemp (scratch) && fixture_files_tempdir (scratch, sizeof scratch, "sim-random")) {
        fprintf (stderr, "sim: cannot make a scratch directory\n");
        return 2;
    }
    struct timespec start, end;
    clock_gettime (CLOCK_MONOTONIC, &start);
    uint64_t failed = 0;
    int64_t simulated = 0;
    for (uint64_t seed = first; seed < first + count; seed++) {
        char dir [300], *log = NULL;
        size_t size = 0;
        snprintf (dir, sizeof dir, "%s/%" PRIu64, scratch, seed);
        mkdir (dir, 0700);
        FILE *out = open_memstream (&log, &size);
        sim_t *sim = out? sim_new (dir, out): NULL;
        int rc = !sim? -1: ha? sim_run_random_ha (sim, seed, S_HA_FAULT_MS, S_HA_QUIET_MS)
                         : sim_run_random (sim, seed, 60000, 60000, real);
        int violations = sim? sim_violations (sim): 1;
        simulated += sim? sim_now (sim): 0;
        sim_destroy (&sim);
        if (out)
            fclose (out);
        if (rc || violations) {
            failed++;
            const char *tail = log? log + (size > 6000 && !verbose? size - 6000: 0): "";
            fprintf (stderr, "%s\n  seed %" PRIu64 ": %d violations; replay: %s %s %"
                     PRIu64 " 1 -v\n", tail, seed, violations, program,
                     ha? "--random-ha": real? "--random-real": "--random", seed);
        }
        else
        if (verbose && log)
            fputs (log, stdout);
        free (log);
        char command [400];
        snprintf (command, sizeof command, "rm -rf '%s'", dir);
        if (system (command) != 0)
            fprintf (stderr, "sim: cannot remove %s\n", dir);
    }
    clock_gettime (CLOCK_MONOTONIC, &end);
    double seconds = (double) (end.tv_sec - start.tv_sec)
                   + (double) (end.tv_nsec - start.tv_nsec) / 1e9;
    fixture_files_remove_dir (scratch);
    printf ("%s sim/random%s (%" PRIu64 " schedules from seed %" PRIu64 ", %" PRIu64
            " failed; %.0f schedules/s, %.0fx real time)\n", failed? "FAIL": "PASS",
            ha? "-ha": real? "-real-agents": "", count, first, failed,
            (double) count / seconds, (double) simulated / 1000 / seconds);
    return failed? 1: 0;
}

//  Scale: how much faster than real time the core runs a big healthy cluster.
static int
s_scale_run (int hosts, int per_host, int64_t seconds, bool real)
{
    char scratch [256];
    snprintf (scratch, sizeof scratch, "/dev/shm/vmsched-sim-scale-XXXXXX");
    if (!mkdtemp (scratch) && fixture_files_tempdir (scratch, sizeof scratch, "sim-scale")) {
        fprintf (stderr, "sim: cannot make a scratch directory\n");
        return 2;
    }
    FILE *out = fopen ("/dev/null", "w");
    struct timespec start, end;
    clock_gettime (CLOCK_MONOTONIC, &start);
    sim_t *sim = out? sim_new (scratch, out): NULL;
    int rc = sim? sim_run_scale (sim, hosts, per_host, seconds * 1000, real): -1;
    int violations = sim? sim_violations (sim): 1;
    int64_t simulated = sim? sim_now (sim): 0;
    sim_destroy (&sim);
    clock_gettime (CLOCK_MONOTONIC, &end);
    if (out)
        fclose (out);
    fixture_files_remove_dir (scratch);
    double wall = (double) (end.tv_sec - start.tv_sec)
                + (double) (end.tv_nsec - start.tv_nsec) / 1e9;
    printf ("%s sim/scale%s (%d hosts x %d vms, %.0f s simulated in %.1f s: %.1fx real time, "
            "%d violations)\n", rc || violations? "FAIL": "PASS", real? "-real-agents": "",
            hosts, per_host,
            (double) simulated / 1000, wall, (double) simulated / 1000 / wall, violations);
    return rc || violations? 1: 0;
}

int
main (int argc, char **argv)
{
    log_init ("sim", LOG_LEVEL_INFO);
    if (argc == 5 && (!strcmp (argv [1], "--scale") || !strcmp (argv [1], "--scale-real")))
        return s_scale_run (atoi (argv [2]), atoi (argv [3]), atoll (argv [4]),
                            strcmp (argv [1], "--scale-real") == 0);
    bool real = argc >= 4 && strcmp (argv [1], "--random-real") == 0;
    bool ha = argc >= 4 && strcmp (argv [1], "--random-ha") == 0;
    if (argc >= 4 && (real || ha || strcmp (argv [1], "--random") == 0))
        return s_random_runs (argv [0], strtoull (argv [2], NULL, 10),
                              strtoull (argv [3], NULL, 10),
                              argc > 4 && strcmp (argv [4], "-v") == 0, real || ha, ha);
    if (argc != 2) {
        fprintf (stderr, "usage: sim_run SCENARIO_DIR | sim_run --random[-real] FIRST_SEED COUNT "
                 "[-v] | sim_run --scale HOSTS VMS_PER_HOST SECONDS\n");
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
        if (violations)
            fprintf (stderr, "  %d invariant violations (VIOLATION lines in the log)\n",
                     violations);
        printf ("%s sim/%s (expect.log rewritten: review it with git diff)\n",
                written || violations? "FAIL": "PASS", name);
        free (produced);
        return written || violations? 1: 0;
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
