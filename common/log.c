/*  log.c - one-line log messages on stderr, journald-friendly.

    Owns the program identity and the level threshold (written once by log_init, before any
    thread starts). Writes each message with a single fprintf so lines from the agent's
    hypervisor thread and its main loop never interleave inside a line.
*/
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *s_program = "vmsched";
static log_level_t s_threshold = LOG_LEVEL_INFO;
static log_sink_fn *s_sink;             // replaces stderr when set (the simulator)
static void *s_sink_arg;                // its argument

void
log_init (const char *program, log_level_t threshold)
{
    s_program = program;
    s_threshold = threshold;
}

int
log_level_parse (const char *text, log_level_t *out)
{
    static const struct { const char *name; log_level_t level; } levels[] = {
        { "error", LOG_LEVEL_ERROR }, { "warn", LOG_LEVEL_WARN },
        { "info", LOG_LEVEL_INFO }, { "debug", LOG_LEVEL_DEBUG },
    };
    for (size_t i = 0; i < sizeof levels / sizeof levels [0]; i++)
        if (strcmp (text, levels [i].name) == 0) {
            *out = levels [i].level;
            return 0;
        }
    return -1;
}

static const char *
s_level_word (log_level_t level)
{
    switch (level) {
        case LOG_LEVEL_ERROR: return "error";
        case LOG_LEVEL_WARN:  return "warn";
        case LOG_LEVEL_INFO:  return "info";
        case LOG_LEVEL_DEBUG: return "debug";
        case LOG_LEVEL_NONE:  break;
    }
    return "?";
}

void
log_set_sink (log_sink_fn *sink, void *arg)
{
    s_sink = sink;
    s_sink_arg = arg;
}

void
log_msg (log_level_t level, const char *fmt, ...)
{
    if (level > s_threshold)
        return;
    char text [2048];
    va_list args;
    va_start (args, fmt);
    vsnprintf (text, sizeof text, fmt, args);
    va_end (args);
    if (s_sink) {
        s_sink (s_sink_arg, level, text);
        return;
    }

    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r (&ts.tv_sec, &tm);
    char stamp [32];
    strftime (stamp, sizeof stamp, "%H:%M:%S", &tm);
    fprintf (stderr, "<%d>%s.%03ld %s[%d] %s: %s\n", (int) level, stamp,
             ts.tv_nsec / 1000000, s_program, (int) getpid (), s_level_word (level), text);
}

int
log_level_check (const char *text, char *err, size_t err_size)
{
    log_level_t level;
    if (log_level_parse (text, &level) == 0)
        return 0;
    snprintf (err, err_size, "invalid log_level '%s': expected error, warn, info or debug", text);
    return -1;
}
