/*
 * top_sites.h — `giltrace top`'s release and wait sites: counts kept by
 * the raw stack ids of formats/ring_follow.h (a Python stack where the
 * event has one, else the native one), labelled only when shown, with the
 * report's labels (report_py.h for Python frames, report_stacks.h for
 * native ones) and merged by label.
 */
#ifndef GILTRACE_TOP_SITES_H
#define GILTRACE_TOP_SITES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ring_follow.h"
#include "top_figures.h"

struct top_sites;

/* The key of an event's site: its Python stack (raw id `py`) when it has
 * one, else its native stack (`native`); 0 when it has neither. */
static inline uint64_t top_sites_key(uint32_t native, uint32_t py)
{
    return py ? UINT64_C(1) << 32 | py : native;
}

struct top_sites *top_sites_new(void);
void top_sites_free(struct top_sites *s);

/* Add to the site `key` (non-zero). Returns 0, or -1 when out of memory. */
int top_sites_add(struct top_sites *s, uint64_t key, uint64_t count, uint64_t forced, int64_t ns);

/* The sites, labelled from `f`'s stacks and merged by label, most first
 * (by time when `by_ns`, else by count), at most `max` into `out`; returns
 * how many. */
size_t top_sites_top(struct top_sites *s, struct ring_follow *f, bool by_ns, struct top_site *out, size_t max);

#endif
