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

#define HISTOGRAM_SUB_BITS 5
#define HISTOGRAM_SUB (1 << HISTOGRAM_SUB_BITS)
/* 32 exact buckets, then 32 per power of two from 2^5 to 2^62. */
#define HISTOGRAM_BUCKETS (HISTOGRAM_SUB + (63 - HISTOGRAM_SUB_BITS) * HISTOGRAM_SUB)

struct histogram {
    uint64_t count;
    int64_t min, max; /* exact; 0 when empty */
    double sum;       /* of all values, for the mean */
    uint64_t bucket[HISTOGRAM_BUCKETS];
};

/* Add one value (negative values count as 0). */
void histogram_add(struct histogram *h, int64_t v);

/* The value at quantile q (0 < q <= 1; 0.5 is the median), per the rule
 * above; 0 when empty. */
int64_t histogram_quantile(const struct histogram *h, double q);

/* Bucket i's range of values, [*lo, *hi]. */
void histogram_bucket_range(size_t i, int64_t *lo, int64_t *hi);

/* The bucket a value falls in. */
size_t histogram_bucket_of(int64_t v);

#endif
