/*
 * clock_map.h — mapping a ring's raw timestamps to CLOCK_MONOTONIC ns.
 *
 * Built from calibration pairs (both clocks read at one moment): sorted,
 * thinned to pairs at least 1 ms apart, and joined by straight lines; before
 * the first and after the last pair the nearest line is extended. The map is
 * monotonic, so the order of events survives conversion.
 */
#ifndef GILTRACE_CLOCK_MAP_H
#define GILTRACE_CLOCK_MAP_H

#include <stddef.h>
#include <stdint.h>

#include "ring.h"

struct clock_map {
    unsigned clock; /* enum ring_clock */
    size_t count;
    struct ring_calibration *pairs; /* owned */
};

/* Build a map for `clock` from `n` pairs (copied). Returns 0, or -1 when the
 * clock is RING_CLOCK_TSC and fewer than two distinct usable pairs exist. */
int clock_map_build(struct clock_map *m, unsigned clock, const struct ring_calibration *pairs, size_t n);

/* Raw timestamp -> CLOCK_MONOTONIC ns. `hint` (may be NULL) keeps the last
 * segment used, which makes converting a sorted run O(1) per value. */
int64_t clock_map_ns(const struct clock_map *m, uint64_t raw, size_t *hint);

void clock_map_free(struct clock_map *m);

#endif
