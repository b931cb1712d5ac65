/*  lab_tool.h - what the lab's C tools (copycount.c, watchdog_standin.c) share: a stop flag
    that SIGINT and SIGTERM set, and clock readings in nanoseconds. Header only; each tool
    is one program, so each has its own flag.
*/
#ifndef VMSCHED_LAB_TOOL_H
#define VMSCHED_LAB_TOOL_H

#include <signal.h>
#include <stdint.h>
#include <time.h>

static volatile sig_atomic_t lab_tool_stop = 0;     // set by the signal handler below

//  The handler for SIGINT and SIGTERM: the tool's loop ends at its next check.
static inline void
lab_tool_on_signal (int sig)
{
    (void) sig;
    lab_tool_stop = 1;
}

//  Clock id's time in nanoseconds.
static inline int64_t
lab_tool_now_ns (clockid_t id)
{
    struct timespec ts;
    clock_gettime (id, &ts);
    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

#endif
