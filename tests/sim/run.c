/*  run.c - runs one simulator scenario and compares its log with the expected one.

    usage: sim_run DIR      DIR holds README, cluster.json, script and expect.log.
           sim_run --random FIRST COUNT [-v]   seeded random fault schedules (sim.h)
           sim_run --random-real FIRST COUNT [-v]   the same with the real agent core
           sim_run --random-ha FIRST COUNT [-v]   seeded random HA fault schedules
                                (the random modes take -j N: N processes, seeds by stride)
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
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
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

//  The seeds first + k, first + k + stride, ... below first + count, into scratch: counts
//  the failed ones and the virtual ms simulated. A failing seed prints its log tail and the
//  command that replays it.
static void
s_random_stride (const char *program, const char *scratch, uint64_t first, uint64_t count,
                 uint64_t k, uint64_t stride, bool verbose, bool real, bool ha,
                 uint64_t *failed, int64_t *simulated)
{
    for (uint64_t seed = first + k; seed < first + count; seed += stride) {
        char dir [300], *log = NULL;
        size_t size = 0;
        snprintf (dir, sizeof dir, "%s/%" PRIu64, scratch, seed);
        mkdir (dir, 0700);
        FILE *out = open_memstream (&log, &size);
        sim_t *sim = out? sim_new (dir, out): NULL;
        int rc = !sim? -1: ha? sim_run_random_ha (sim, seed, S_HA_FAULT_MS, S_HA_QUIET_MS)
                         : sim_run_random (sim, seed, 60000, 60000, real);
        int violations = sim? sim_violations (sim): 1;
        *simulated += sim? sim_now (sim): 0;
        sim_destroy (&sim);
        if (out)
            fclose (out);
        if (rc || violations) {
            (*failed)++;
            const char *tail = log? log + (size > 6000 && !verbose? size - 6000: 0): "";
            fprintf (stderr, "%s\n  seed %" PRIu64 ": %d violations; replay: %s %s %"
                     PRIu64 " 1 -v\n", tail, seed, violations, program,
                     ha? "--random-ha": real? "--random-real": "--random", seed);
        }
        else
        if (verbose && log)
            fputs (log, stdout);
        free (log);
        fixture_files_remove_dir (dir);
    }
}

//  Seeded random schedules: seeds first .. first + count - 1, over jobs processes (each
//  takes every jobs-th seed).
static int
s_random_runs (const char *program, uint64_t first, uint64_t count, bool verbose, bool real,
               bool ha, int jobs)
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
    if (jobs <= 1)
        s_random_stride (program, scratch, first, count, 0, 1, verbose, real, ha, &failed,
                         &simulated);
    else {
        fflush (NULL);
        int fds [64][2];
        pid_t pids [64];
        for (int j = 0; j < jobs; j++) {
            if (pipe (fds [j]) || (pids [j] = fork ()) < 0) {
                fprintf (stderr, "sim: cannot start worker %d\n", j);
                return 2;
            }
            if (pids [j] == 0) {
                uint64_t my_failed = 0;
                int64_t my_simulated = 0;
                s_random_stride (program, scratch, first, count, (uint64_t) j, (uint64_t) jobs,
                                 verbose, real, ha, &my_failed, &my_simulated);
                int64_t result [2] = { (int64_t) my_failed, my_simulated };
                ssize_t written = write (fds [j][1], result, sizeof result);
                fflush (NULL);
                _exit (written == sizeof result? 0: 3);
            }
            close (fds [j][1]);
        }
        for (int j = 0; j < jobs; j++) {
            int64_t result [2] = { 1, 0 };
            int status = 0;
            if (read (fds [j][0], result, sizeof result) != sizeof result)
                result [0] = 1;             // a worker that died counts as a failure
            close (fds [j][0]);
            waitpid (pids [j], &status, 0);
            if (!WIFEXITED (status) || WEXITSTATUS (status))
                result [0] = result [0]? result [0]: 1;
            failed += (uint64_t) result [0];
            simulated += result [1];
        }
    }
    clock_gettime (CLOCK_MONOTONIC, &end);
    double seconds = (double) (end.tv_sec - start.tv_sec)
                   + (double) (end.tv_nsec - start.tv_nsec) / 1e9;
    struct rusage self_usage, child_usage;
    getrusage (RUSAGE_SELF, &self_usage);
    getrusage (RUSAGE_CHILDREN, &child_usage);
    double cpu = (double) (self_usage.ru_utime.tv_sec + self_usage.ru_stime.tv_sec
                         + child_usage.ru_utime.tv_sec + child_usage.ru_stime.tv_sec)
               + (double) (self_usage.ru_utime.tv_usec + self_usage.ru_stime.tv_usec
                         + child_usage.ru_utime.tv_usec + child_usage.ru_stime.tv_usec) / 1e6;
    fixture_files_remove_dir (scratch);
    printf ("%s sim/random%s (%" PRIu64 " schedules from seed %" PRIu64 ", %" PRIu64
            " failed; %.1f s, %.0f schedules/s, %.0fx real time; %.1f s of CPU in %d "
            "process%s)\n", failed? "FAIL": "PASS", ha? "-ha": real? "-real-agents": "",
            count, first, failed, seconds, (double) count / seconds,
            (double) simulated / 1000 / seconds, cpu, jobs > 1? jobs: 1,
            jobs > 1? "es": "");
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
    if (argc >= 4 && (real || ha || strcmp (argv [1], "--random") == 0)) {
        bool verbose = false;
        int jobs = 1;
        for (int i = 4; i < argc; i++)
            if (strcmp (argv [i], "-v") == 0)
                verbose = true;
            else
            if (strcmp (argv [i], "-j") == 0 && i + 1 < argc)
                jobs = atoi (argv [++i]);
        if (jobs < 1 || jobs > 64 || verbose)
            jobs = 1;                       // -v: one process, in seed order
        return s_random_runs (argv [0], strtoull (argv [2], NULL, 10),
                              strtoull (argv [3], NULL, 10), verbose, real || ha, ha, jobs);
    }
    if (argc != 2) {
        fprintf (stderr, "usage: sim_run SCENARIO_DIR | sim_run --random[-real|-ha] FIRST_SEED "
                 "COUNT [-v] [-j N] | sim_run --scale[-real] HOSTS VMS_PER_HOST SECONDS\n");
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
