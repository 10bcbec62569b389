/*
 * clock_map.c — piecewise-linear raw -> ns conversion. See clock_map.h.
 */
#include "clock_map.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "search.h"

#define MIN_PAIR_SPACING_NS 1000000u

static int by_raw(const void *a, const void *b)
{
    const struct ring_calibration *x = a, *y = b;
    return x->raw < y->raw ? -1 : x->raw > y->raw;
}

int clock_map_build(struct clock_map *m, unsigned clock, const struct ring_calibration *pairs, size_t n)
{
    memset(m, 0, sizeof *m);
    m->clock = clock;
    if (clock != RING_CLOCK_TSC)
        return 0;
    struct ring_calibration *p = malloc((n ? n : 1) * sizeof *p);
    if (!p)
        return -1;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (pairs[i].raw && pairs[i].mono_ns && pairs[i].mono_ns <= INT64_MAX)
            p[k++] = pairs[i];
    qsort(p, k, sizeof *p, by_raw);

    /* Keep pairs that move both clocks forward by at least the spacing; the
     * very last pair is kept if otherwise only one would remain. */
    size_t kept = 0;
    for (size_t i = 0; i < k; i++) {
        if (kept == 0) {
            p[kept++] = p[i];
            continue;
        }
        const struct ring_calibration *last = &p[kept - 1];
        if (p[i].raw > last->raw && p[i].mono_ns >= last->mono_ns + MIN_PAIR_SPACING_NS)
            p[kept++] = p[i];
    }
    if (kept == 1 && k > 1 && p[k - 1].raw > p[0].raw && p[k - 1].mono_ns > p[0].mono_ns)
        p[kept++] = p[k - 1];
    if (kept < 2) {
        free(p);
        return -1;
    }
    m->pairs = p;
    m->count = kept;
    return 0;
}

struct raw_key {
    const struct clock_map *m;
    uint64_t raw;
};

/* Is pair i past the raw value (search_first)? */
static bool pair_after(const void *ctx, size_t i)
{
    const struct raw_key *c = ctx;
    return c->m->pairs[i].raw > c->raw;
}

int64_t clock_map_ns(const struct clock_map *m, uint64_t raw, size_t *hint)
{
    if (m->clock != RING_CLOCK_TSC)
        return (int64_t)raw;
    /* Segment i joins pairs i and i+1. */
    size_t last = m->count - 2;
    size_t i = hint && *hint <= last ? *hint : 0;
    if (!(raw >= m->pairs[i].raw && raw < m->pairs[i + 1].raw)) {
        /* the last pair with raw <= value (pair 0 when none is) */
        size_t after = search_first(m->count, pair_after, &(struct raw_key){m, raw});
        size_t lo = after ? after - 1 : 0;
        i = lo > last ? last : lo;
    }
    if (hint)
        *hint = i;
    /* All in 128 bits and clamped: a damaged file's pairs must not overflow. */
    const struct ring_calibration *a = &m->pairs[i], *b = &m->pairs[i + 1];
    __int128 ns = (__int128)a->mono_ns + ((__int128)raw - (__int128)a->raw) *
                                             ((__int128)b->mono_ns - (__int128)a->mono_ns) /
                                             ((__int128)b->raw - (__int128)a->raw);
    return ns > INT64_MAX ? INT64_MAX : ns < INT64_MIN ? INT64_MIN : (int64_t)ns;
}

void clock_map_free(struct clock_map *m)
{
    free(m->pairs);
    memset(m, 0, sizeof *m);
}
