/*
 * histogram.h — log-bucketed histograms of durations (ns) for percentiles.
 *
 * Values below 32 ns have a bucket each; above, every power of two is split
 * into 32 equal buckets, so a bucket is at most 1/32 of its values wide. A
 * percentile is reported as the upper bound of the bucket it falls in,
 * clamped to the exact minimum and maximum: never below the true value, and
 * above it by less than 3.2%. Count, minimum, maximum and sum are exact.
 */
#ifndef GILTRACE_HISTOGRAM_H
#define GILTRACE_HISTOGRAM_H

#include <stddef.h>
#include <stdint.h>

#define HIST_SUB_BITS 5
#define HIST_SUB (1 << HIST_SUB_BITS)
/* 32 exact buckets, then 32 per power of two from 2^5 to 2^62. */
#define HIST_BUCKETS (HIST_SUB + (63 - HIST_SUB_BITS) * HIST_SUB)

struct hist {
    uint64_t count;
    int64_t min, max; /* exact; 0 when empty */
    double sum;       /* of all values, for the mean */
    uint64_t bucket[HIST_BUCKETS];
};

/* Add one value (negative values count as 0). */
void hist_add(struct hist *h, int64_t v);

/* The value at quantile q (0 < q <= 1; 0.5 is the median), per the rule
 * above; 0 when empty. */
int64_t hist_quantile(const struct hist *h, double q);

/* Bucket i's range of values, [*lo, *hi]. */
void hist_bucket_range(size_t i, int64_t *lo, int64_t *hi);

/* The bucket a value falls in. */
size_t hist_bucket_of(int64_t v);

#endif
