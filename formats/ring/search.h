/*
 * search.h — the project's one binary search: where, in a sorted range, a
 * condition that is false and then true along it starts to hold. Every
 * lookup in a sorted array (symbols, relocations, clock pairs, summary
 * buckets, event packs, holds, blame rows, memory maps, CFI tables) is a
 * search_first with its own condition. Header-only and libc-free, so the
 * shim and the injected attach library use it as well as the tools.
 */
#ifndef GILTRACE_SEARCH_H
#define GILTRACE_SEARCH_H

#include <stdbool.h>
#include <stddef.h>

/* The first i in [0, n) for which past(ctx, i) is true; n when none.
 * past() must be monotone along the range: false for every i below the
 * answer, true from it on (e.g. "element i's key >= x" on an array sorted
 * by key). O(log n) calls; inlined with the condition where it is a
 * constant function. */
static inline size_t search_first(size_t n, bool (*past)(const void *ctx, size_t i), const void *ctx)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (past(ctx, mid))
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

#endif
