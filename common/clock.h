/*  clock.h - the time sources vmsched uses.

    Durations (heartbeat ages, leases, timeouts) use CLOCK_BOOTTIME, which keeps counting
    through suspend and never jumps with wall-clock changes. Wall time is only for records
    shown to people (stored timestamps).
*/
#ifndef VMSCHED_CLOCK_H
#define VMSCHED_CLOCK_H

#include <stdint.h>

//  Milliseconds of CLOCK_BOOTTIME.
int64_t clock_boottime_ms (void);

//  Milliseconds since the Unix epoch (CLOCK_REALTIME).
int64_t clock_wall_ms (void);

//  Format wall-clock milliseconds as ISO 8601 UTC ("2026-11-22T10:00:00.123Z") into buf.
void clock_format_wall (int64_t wall_ms, char *buf, int size);

#endif
