/*
 * histogram.c — log-bucketed histograms. See histogram.h.
 */
#include "histogram.h"

size_t histogram_bucket_of(int64_t v)
{
    if (v < HISTOGRAM_SUB)
        return v < 0 ? 0 : (size_t)v;
    unsigned e = 63u - (unsigned)__builtin_clzll((unsigned long long)v); /* 2^e <= v, e >= 4 */
    unsigned shift = e - HISTOGRAM_SUB_BITS;
    size_t sub = (size_t)(((unsigned long long)v >> shift) & (HISTOGRAM_SUB - 1));
    return HISTOGRAM_SUB + (size_t)shift * HISTOGRAM_SUB + sub;
}

void histogram_bucket_range(size_t i, int64_t *lo, int64_t *hi)
{
    if (i < HISTOGRAM_SUB) {
        *lo = *hi = (int64_t)i;
        return;
    }
    size_t shift = (i - HISTOGRAM_SUB) / HISTOGRAM_SUB, sub = (i - HISTOGRAM_SUB) % HISTOGRAM_SUB;
    unsigned long long base = (unsigned long long)(HISTOGRAM_SUB + sub) << shift;
    *lo = (int64_t)base;
    *hi = (int64_t)(base + (1ull << shift) - 1);
}

void histogram_add(struct histogram *h, int64_t v)
{
    if (v < 0)
        v = 0;
    if (h->count == 0 || v < h->min)
        h->min = v;
    if (h->count == 0 || v > h->max)
        h->max = v;
    h->count++;
    h->sum += (double)v;
    h->bucket[histogram_bucket_of(v)]++;
}

int64_t histogram_quantile(const struct histogram *h, double q)
{
    if (h->count == 0)
        return 0;
    if (q >= 1)
        return h->max;
    /* rank of the value wanted, 1-based: ceil(q * count), at least 1 */
    double r = q * (double)h->count;
    uint64_t rank = (uint64_t)r;
    if ((double)rank < r || rank == 0)
        rank++;
    if (rank == 1)
        return h->min;
    uint64_t seen = 0;
    for (size_t i = 0; i < HISTOGRAM_BUCKETS; i++) {
        seen += h->bucket[i];
        if (seen >= rank) {
            int64_t lo, hi;
            histogram_bucket_range(i, &lo, &hi);
            if (hi > h->max)
                hi = h->max;
            if (hi < h->min)
                hi = h->min;
            return hi;
        }
    }
    return h->max;
}
