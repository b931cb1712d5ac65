/*  log.h - one-line log messages on stderr, journald-friendly.

    Every program logs through here: `<N>` syslog priority prefix (journald strips it and
    keeps the level), program name, level word, message. The identity and threshold are set
    once at start-up by log_init and are read-only afterwards.
*/
#ifndef VMSCHED_LOG_H
#define VMSCHED_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    LOG_LEVEL_NONE = 0,     // print nothing (tests that provoke errors on purpose)
    LOG_LEVEL_ERROR = 3,    // syslog priority err
    LOG_LEVEL_WARN = 4,     // warning
    LOG_LEVEL_INFO = 6,     // info
    LOG_LEVEL_DEBUG = 7     // debug
} log_level_t;

//  Set the program name shown in every line and the most verbose level printed.
void log_init (const char *program, log_level_t threshold);

//  Parse "error", "warn", "info" or "debug"; returns -1 for anything else.
int log_level_parse (const char *text, log_level_t *out);

//  For configuration checks: 0, or -1 with "invalid log_level 'x': expected ..." in err.
int log_level_check (const char *text, char *err, size_t err_size);

//  Where lines go instead of stderr: the simulator prefixes virtual time. Set once at
//  start-up like log_init (NULL: back to stderr). The sink gets the formatted message.
typedef void (log_sink_fn) (void *arg, log_level_t level, const char *message);
void log_set_sink (log_sink_fn *sink, void *arg);

//  Print one message (printf format) at the given level.
void log_msg (log_level_t level, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

//  Rate limit for messages that repeat (refused messages, failed handshakes): true for the
//  nth occurrence when it should be logged: the first ten, then every thousandth. The
//  message should carry the count, so the log says how many were left out.
static inline bool
log_sampled (uint64_t nth)
{
    return nth <= 10 || nth % 1000 == 0;
}

#define log_error(...) log_msg (LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg (LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg (LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg (LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif
