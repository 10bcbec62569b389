/*
 * test_timefmt.c — human time units: ruler steps, tick labels, durations,
 * and parsing --range times.
 */
#include <math.h>
#include <stdio.h>

#include "check.h"
#include "timefmt.h"

int main(void)
{
    char b[64];
    timefmt_duration(b, sizeof b, 850);
    CHECK_STR(b, "850 ns");
    timefmt_duration(b, sizeof b, 12345678);
    CHECK_STR(b, "12.3 ms");
    timefmt_duration(b, sizeof b, 1.25e9);
    CHECK_STR(b, "1.25 s");
    timefmt_duration(b, sizeof b, 5630000);
    CHECK_STR(b, "5.63 ms");
    timefmt_duration(b, sizeof b, 250e3);
    CHECK_STR(b, "250 µs");
    timefmt_duration(b, sizeof b, 0.25);
    CHECK_STR(b, "0.250 ns");

    CHECK(timefmt_tick_step(1, 100) == 100);
    CHECK(timefmt_tick_step(3, 100) == 500);
    CHECK(timefmt_tick_step(1.0 / 64, 100) == 2);
    CHECK(fabs(timefmt_tick_step(1.0 / 1000, 100) - 0.1) < 1e-12);
    CHECK(timefmt_tick_step(1e7, 100) == 1e9);

    timefmt_tick(b, sizeof b, 1.5e6, 5e5);
    CHECK_STR(b, "1.5 ms");
    timefmt_tick(b, sizeof b, 250e3, 50e3);
    CHECK_STR(b, "250 µs");
    timefmt_tick(b, sizeof b, 12, 2);
    CHECK_STR(b, "12 ns");
    timefmt_tick(b, sizeof b, 0, 5e8);
    CHECK_STR(b, "0 ms");
    timefmt_tick(b, sizeof b, 3e9, 1e9);
    CHECK_STR(b, "3 s");
    timefmt_tick(b, sizeof b, 0.5, 0.1);
    CHECK_STR(b, "0.5 ns");

    CHECK(timefmt_anchor(5e5, 1e3) == 0);
    CHECK(timefmt_anchor(5.5e6, 1e3) == 5e6);
    CHECK(timefmt_anchor(12.3456789e9, 10) == 12345670000.0);

    double ns;
    CHECK(timefmt_parse("1.5ms", &ns) && ns == 1.5e6);
    CHECK(timefmt_parse("250 us", &ns) && ns == 250e3);
    CHECK(timefmt_parse("250µs", &ns) && ns == 250e3);
    CHECK(timefmt_parse("2s", &ns) && ns == 2e9);
    CHECK(timefmt_parse("42", &ns) && ns == 42);
    CHECK(timefmt_parse("-3ms", &ns) && ns == -3e6);
    CHECK(!timefmt_parse("", &ns));
    CHECK(!timefmt_parse("abc", &ns));
    CHECK(!timefmt_parse("3 parsecs", &ns));
    CHECK(!timefmt_parse("nan", &ns));
    printf("ok\n");
    return 0;
}
