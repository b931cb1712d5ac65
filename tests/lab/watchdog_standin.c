/*  watchdog_standin.c - the lab's stand-in for a host's hardware watchdog (lab_watchdog).

    usage: lab_watchdog --file PATH --timeout-ms W --pidfile HOST_INIT_PIDFILE [--log FILE]
                        [--once]

    A hardware watchdog resets a host that stops petting it, whatever state the host is in.
    The lab has no such device (and softdog would reset the whole machine), so the agent
    pets a file (watchdog = file:PATH) and this program, running outside the host's
    namespaces so that freezing the host does not freeze it, does the reset: when PATH's
    modification time (nanoseconds) is W ms behind CLOCK_REALTIME it SIGKILLs the pid in
    HOST_INIT_PIDFILE, the host's pid 1, and with it everything on that host at once.

    It is armed by the first pet (PATH exists; a file older than the program counts from the
    program's start). After a reset it is disarmed until a pet newer than the reset (the
    host booted again and its agent pets anew), then armed again; --once exits after the
    first reset instead. It kills only a process that is the init of a pid namespace (its
    NSpid ends in 1), never touches PATH or anything else, and exits 0 on SIGTERM or SIGINT.
    Log lines (FILE, else stderr) are "TIME_MS watchdog: ...", TIME_MS wall-clock
    milliseconds since the epoch; a reset is "watchdog: host init PID reset after N ms
    without a pet". File times come from the kernel's coarse clock, so a reset can come up
    to one tick (4 ms) before W has fully passed.
*/
#include "lab_tool.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define CHECK_NS (50 * 1000000LL)   // how often the file is looked at

typedef struct {
    const char *file;               // the pet file
    const char *pidfile;            // holds the host init's pid
    int64_t timeout_ns;             // W
    bool once;                      // exit after the first reset
    FILE *log;                      // log lines go here
    bool armed;                     // a pet has been seen since the start or the last reset
    int64_t since_ns;               // pets older than this do not count (start, last reset)
    int64_t last_pet_ns;            // latest pet seen since armed (wall clock)
    int resets;                     // resets done
} watchdog_t;

static void
s_log (watchdog_t *self, const char *format, ...)
{
    fprintf (self->log, "%lld watchdog: ", (long long) (lab_tool_now_ns (CLOCK_REALTIME) / 1000000));
    va_list args;
    va_start (args, format);
    vfprintf (self->log, format, args);
    va_end (args);
    fputc ('\n', self->log);
    fflush (self->log);
}

//  Sleeps ns or until a signal.
static void
s_sleep (int64_t ns)
{
    if (ns <= 0)
        return;
    struct timespec ts = { (time_t) (ns / 1000000000), (long) (ns % 1000000000) };
    nanosleep (&ts, NULL);
}

//  The pet file's modification time (ns since the epoch), or -1 when it does not exist.
static int64_t
s_pet_time (const watchdog_t *self)
{
    struct stat st;
    if (stat (self->file, &st))
        return -1;
    return (int64_t) st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
}

//  True when pid is alive and the init of a pid namespace below ours (its NSpid ends in 1).
static bool
s_is_namespace_init (pid_t pid)
{
    char path [64], line [256];
    snprintf (path, sizeof path, "/proc/%d/status", (int) pid);
    FILE *file = fopen (path, "r");
    if (!file)
        return false;
    bool init = false;
    while (fgets (line, sizeof line, file))
        if (strncmp (line, "NSpid:", 6) == 0) {
            int fields = 0;
            long last = 0;
            char *cursor = line + 6, *end;
            while (true) {
                long value = strtol (cursor, &end, 10);
                if (end == cursor)
                    break;
                last = value;
                fields++;
                cursor = end;
            }
            init = fields >= 2 && last == 1;
            break;
        }
    fclose (file);
    return init;
}

//  True while pid exists and is not a zombie.
static bool
s_alive (pid_t pid)
{
    char path [64], stat [512];
    snprintf (path, sizeof path, "/proc/%d/stat", (int) pid);
    FILE *file = fopen (path, "r");
    if (!file)
        return false;
    size_t got = fread (stat, 1, sizeof stat - 1, file);
    fclose (file);
    stat [got] = 0;
    char *paren = strrchr (stat, ')');
    return paren && paren [1] == ' ' && paren [2] != 'Z' && paren [2] != 'X';
}

//  The reset: SIGKILL of the host's init, then waits (up to 2 s) to see it gone.
static void
s_reset (watchdog_t *self, int64_t unpetted_ns)
{
    long unpetted_ms = (long) (unpetted_ns / 1000000);
    FILE *file = fopen (self->pidfile, "r");
    long pid = 0;
    if (!file || fscanf (file, "%ld", &pid) != 1 || pid <= 1) {
        s_log (self, "no host init to reset after %ld ms without a pet (pidfile '%s': %s)",
               unpetted_ms, self->pidfile, file? "no pid in it": strerror (errno));
        if (file)
            fclose (file);
        return;
    }
    fclose (file);
    if (!s_is_namespace_init ((pid_t) pid)) {
        s_log (self, "no host init to reset after %ld ms without a pet (pid %ld from '%s' is "
               "not the init of a pid namespace: the host is down or the pidfile stale)",
               unpetted_ms, pid, self->pidfile);
        return;
    }
    int64_t started = lab_tool_now_ns (CLOCK_MONOTONIC);
    if (kill ((pid_t) pid, SIGKILL)) {
        s_log (self, "cannot reset host init %ld after %ld ms without a pet: %s",
               pid, unpetted_ms, strerror (errno));
        return;
    }
    s_log (self, "host init %ld reset after %ld ms without a pet", pid, unpetted_ms);
    self->resets++;
    while (s_alive ((pid_t) pid) && !lab_tool_stop && lab_tool_now_ns (CLOCK_MONOTONIC) - started < 2000000000LL)
        s_sleep (2000000);
    if (s_alive ((pid_t) pid))
        s_log (self, "host init %ld still alive %lld ms after the reset", pid,
               (long long) ((lab_tool_now_ns (CLOCK_MONOTONIC) - started) / 1000000));
    else
        s_log (self, "host init %ld gone %lld ms after the reset", pid,
               (long long) ((lab_tool_now_ns (CLOCK_MONOTONIC) - started) / 1000000));
}

//  One look at the pet file; returns how long to sleep before the next one.
static int64_t
s_check (watchdog_t *self)
{
    int64_t now = lab_tool_now_ns (CLOCK_REALTIME);
    int64_t pet = s_pet_time (self);
    if (!self->armed) {
        //  Before the first pet only the file's existence counts; after a reset, a new pet.
        if (pet < 0 || (self->resets > 0 && pet <= self->since_ns))
            return CHECK_NS;
        self->armed = true;
        self->last_pet_ns = pet > self->since_ns? pet: self->since_ns;
        s_log (self, "%s by a pet of '%s'", self->resets? "re-armed": "armed", self->file);
    }
    //  A file removed after arming is no pet: the time runs on from the last one seen.
    if (pet > self->last_pet_ns)
        self->last_pet_ns = pet;
    int64_t unpetted = now - self->last_pet_ns;
    if (unpetted >= self->timeout_ns) {
        s_reset (self, unpetted);
        self->armed = false;
        self->since_ns = lab_tool_now_ns (CLOCK_REALTIME);
        if (self->once)
            lab_tool_stop = 1;
        return CHECK_NS;
    }
    int64_t left = self->timeout_ns - unpetted;
    return left < CHECK_NS? left: CHECK_NS;
}

static int
s_usage (void)
{
    fprintf (stderr, "usage: lab_watchdog --file PATH --timeout-ms W --pidfile HOST_INIT_PIDFILE "
             "[--log FILE] [--once]\n");
    return 2;
}

int
main (int argc, char **argv)
{
    watchdog_t self = { .log = stderr };
    const char *log_path = NULL;
    long timeout_ms = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp (argv [i], "--once") == 0)
            self.once = true;
        else
        if (strcmp (argv [i], "--file") == 0 && i + 1 < argc)
            self.file = argv [++i];
        else
        if (strcmp (argv [i], "--pidfile") == 0 && i + 1 < argc)
            self.pidfile = argv [++i];
        else
        if (strcmp (argv [i], "--log") == 0 && i + 1 < argc)
            log_path = argv [++i];
        else
        if (strcmp (argv [i], "--timeout-ms") == 0 && i + 1 < argc)
            timeout_ms = strtol (argv [++i], NULL, 10);
        else
            return s_usage ();
    }
    if (!self.file || !self.pidfile || timeout_ms <= 0)
        return s_usage ();
    if (log_path && !(self.log = fopen (log_path, "a"))) {
        fprintf (stderr, "lab_watchdog: cannot open log '%s': %s\n", log_path, strerror (errno));
        return 1;
    }
    self.timeout_ns = timeout_ms * 1000000LL;
    self.since_ns = lab_tool_now_ns (CLOCK_REALTIME);

    struct sigaction action = { .sa_handler = lab_tool_on_signal };    // no SA_RESTART: sleeps end
    sigemptyset (&action.sa_mask);
    sigaction (SIGTERM, &action, NULL);
    sigaction (SIGINT, &action, NULL);

    s_log (&self, "watching '%s' (timeout %ld ms), host init from '%s'", self.file, timeout_ms,
           self.pidfile);
    while (!lab_tool_stop)
        s_sleep (s_check (&self));
    s_log (&self, "stopped after %d reset%s", self.resets, self.resets == 1? "": "s");
    if (self.log != stderr)
        fclose (self.log);
    return 0;
}
