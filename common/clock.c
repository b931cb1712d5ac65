/*  clock.c - the time sources vmsched uses (see clock.h). */
#include "clock.h"

#include <stdio.h>
#include <time.h>

static int64_t
s_read_ms (clockid_t id)
{
    struct timespec ts;
    clock_gettime (id, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
clock_boottime_ms (void)
{
    return s_read_ms (CLOCK_BOOTTIME);
}

int64_t
clock_wall_ms (void)
{
    return s_read_ms (CLOCK_REALTIME);
}

void
clock_format_wall (int64_t wall_ms, char *buf, int size)
{
    time_t secs = (time_t) (wall_ms / 1000);
    struct tm tm;
    gmtime_r (&secs, &tm);
    char base [32];
    strftime (base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf (buf, (size_t) size, "%s.%03dZ", base, (int) (wall_ms % 1000));
}
