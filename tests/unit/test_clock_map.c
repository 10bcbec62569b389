/*
 * test_clock_map.c — raw TSC ticks to ns: exact at calibration points,
 * linear between them, extended beyond them, monotonic, and refused when
 * there is nothing to measure a rate from.
 */
#include "clock_map.h"
#include "check.h"

int main(void)
{
    /* 3 ticks per ns, with one noisy pair 100 ns after another (thinned). */
    struct ring_calibration pairs[] = {
        {.raw = 3000000000u, .mono_ns = 1000000000u},
        {.raw = 3000000300u, .mono_ns = 1000000100u},
        {.raw = 3030000000u, .mono_ns = 1010000000u},
        {.raw = 3060000000u, .mono_ns = 1020000000u},
    };
    struct clock_map m;
    CHECK(clock_map_build(&m, RING_CLOCK_TSC, pairs, 4) == 0);
    CHECK_EQ_INT(m.count, 3);
    CHECK_EQ_INT(clock_map_ns(&m, 3000000000u, NULL), 1000000000);
    CHECK_EQ_INT(clock_map_ns(&m, 3015000000u, NULL), 1005000000);
    CHECK_EQ_INT(clock_map_ns(&m, 3060000000u, NULL), 1020000000);
    CHECK_EQ_INT(clock_map_ns(&m, 3090000000u, NULL), 1030000000); /* after the last pair */
    CHECK_EQ_INT(clock_map_ns(&m, 2970000000u, NULL), 990000000);  /* before the first */
    size_t hint = 0;
    int64_t prev = INT64_MIN;
    for (uint64_t raw = 2990000000u; raw < 3070000000u; raw += 9999991u) {
        int64_t ns = clock_map_ns(&m, raw, &hint);
        CHECK(ns >= prev);
        prev = ns;
    }
    clock_map_free(&m);

    struct clock_map one;
    CHECK(clock_map_build(&one, RING_CLOCK_TSC, pairs, 1) == -1);
    struct clock_map mono;
    CHECK(clock_map_build(&mono, RING_CLOCK_MONOTONIC, NULL, 0) == 0);
    CHECK_EQ_INT(clock_map_ns(&mono, 12345, NULL), 12345);
    clock_map_free(&mono);
    return 0;
}
