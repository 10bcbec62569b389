/*
 * timefmt.h — times in human units (ns, µs, ms, s) for the ruler, labels
 * and status lines, and parsing them back from the command line.
 */
#ifndef GILTRACE_TIMEFMT_H
#define GILTRACE_TIMEFMT_H

#include <stdbool.h>
#include <stddef.h>

/* "12.3 ms", "850 ns", "1.25 s": three significant digits. */
void timefmt_duration(char *buf, size_t cap, double ns);

/* The ruler's tick step for pixels of `ns_per_px`: 1, 2 or 5 x 10^k ns
 * (k may be negative), at least `min_px` pixels apart. */
double timefmt_tick_step(double ns_per_px, double min_px);

/* A tick's label: `t` in the unit that suits `step`, with the decimals the
 * step needs ("1.5 ms", "250 µs", "12 ns"). */
void timefmt_tick(char *buf, size_t cap, double t, double step);

/* The origin tick labels count from, so that labels stay short when
 * zoomed far into a long trace: 0, or a multiple of step * 1000 at or
 * before t0. */
double timefmt_anchor(double t0, double step);

/* Parse a time: a number with an optional unit ns, us, µs, ms, s (none: ns).
 * Returns false if `s` is anything else. */
bool timefmt_parse(const char *s, double *ns);

#endif
