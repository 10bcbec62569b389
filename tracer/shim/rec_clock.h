/*
 * rec_clock.h — the clock this process records in, chosen once at start
 * (formats/ring_clock.h says how each clock is read).
 */
#ifndef GILTRACE_REC_CLOCK_H
#define GILTRACE_REC_CLOCK_H

#include "../../formats/ring_clock.h"

/* enum ring_clock; set by the constructor before any ring exists. */
extern unsigned rec_clock_kind;

static inline uint64_t rec_clock_now(unsigned *cpu)
{
    return ring_clock_read(rec_clock_kind, cpu);
}

static inline struct ring_calibration rec_clock_calibrate(void)
{
    return ring_clock_pair(rec_clock_kind);
}

#endif
