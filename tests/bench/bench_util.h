/*
 * bench_util.h — what the C benchmarks share: a clock, medians, and the
 * "figure beside its goal" line every benchmark prints.
 */
#ifndef GILTRACE_BENCH_UTIL_H
#define GILTRACE_BENCH_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Median of `n` values (sorts them in place). */
double bench_median(double *v, size_t n);

/* "name: 12.3 unit (goal <= 25 unit) [n runs]" on stdout. */
void bench_report(const char *name, double value, const char *unit, const char *goal);

#endif
