/*
 * trace_figures.h — the one definition of the figures giltrace shows about a
 * trace: `giltrace run`'s summary, `giltrace report` (text, JSON, charts),
 * gilview's selection panel and the queries of formats/tdb/SCHEMA.md all compute
 * their shares and rates with these, over the denominators named here.
 * tracer/analysis/REPORT.md ("Which denominator") says the same for people.
 *
 *   - A thread's **life** runs from its first event to its last, or to the
 *     end of an interval still open when the trace ended (its process's end).
 *     held % and waited % are shares of it: held + waited <= life.
 *   - A GIL's **utilisation** is its held time over its **process's
 *     duration** (end_ns - start_ns, processes view); every per-second rate
 *     (handoffs, forced releases) is over that duration too.
 *   - **handoffs**: holds of a GIL whose previous hold (by start) on it was
 *     another thread's. Acquisitions of a thread are `acquires`, not handoffs.
 *   - **forced releases**: holds that ended in a RELEASE while another thread
 *     had made a DROP_REQUEST during them; not the count of FORCED_SWITCH
 *     events (see SCHEMA.md for what those record).
 */
#ifndef GILTRACE_TRACE_FIGURES_H
#define GILTRACE_TRACE_FIGURES_H

#include <stdint.h>

/* The life of a thread whose first event is at `first_ns` and whose last
 * event, or open interval, ends at `end_ns`; 0 if that is not after it. */
static inline int64_t trace_life_ns(int64_t first_ns, int64_t end_ns)
{
    return end_ns > first_ns ? end_ns - first_ns : 0;
}

/* part / whole, 0..1 for a part of the whole; 0 when the whole is empty. */
static inline double trace_share(int64_t part_ns, int64_t whole_ns)
{
    return whole_ns > 0 ? (double)part_ns / (double)whole_ns : 0;
}

/* `count` per second of `duration_ns`; 0 for an empty duration. */
static inline double trace_per_s(uint64_t count, int64_t duration_ns)
{
    return duration_ns > 0 ? (double)count * 1e9 / (double)duration_ns : 0;
}

#endif
