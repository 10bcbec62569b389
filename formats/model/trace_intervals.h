/*
 * trace_intervals.h — holds and waits from a lane's events, in C, with the
 * same rules as the holds and waits views of the trace database
 * (tdb_schema.c):
 *   - a hold runs from ACQUIRE to the lane's next RELEASE (or ACQUIRE); it
 *     is forced when some thread made a DROP_REQUEST on that GIL while it
 *     was held (start < t <= end);
 *   - a wait runs from BUSY to the lane's next ACQUIRE (or BUSY) and counts
 *     the RETRY and TIMEOUT events between;
 *   - an interval still open when the lane ends lasts until the process's
 *     end; but in a process that lost events (its ring filled: lost_events),
 *     what a thread did after its last recorded event is unknown, and an
 *     unknown stretch is never counted as held or waited: the interval
 *     ends at the lane's last event (trace_open_end). The summaries
 *     (tdb_summary.h) end a lane's state by the same rule.
 * tests/unit checks that the views and this code agree.
 */
#ifndef GILTRACE_TRACE_INTERVALS_H
#define GILTRACE_TRACE_INTERVALS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trace_model.h"

struct trace_hold {
    int64_t start_ns, end_ns;
    bool forced;
    bool open; /* still held when the lane ended: end_ns is trace_open_end() */
};

struct trace_wait {
    int64_t start_ns, end_ns;
    uint32_t retries, timeouts;
    bool open; /* still waiting when the lane ended */
};

/* Receives each interval of the lane in start order. */
struct trace_interval_sink {
    void (*hold)(void *ctx, const struct trace_hold *h);
    void (*wait)(void *ctx, const struct trace_wait *w);
    void *ctx;
};

/* The DROP_REQUEST times of GIL `gil` in process `p`, sorted; `*out` is
 * malloc'd (NULL when there are none). Returns the count, or -1 if out of memory. */
ptrdiff_t trace_drop_requests(const struct trace_process *p, unsigned gil, int64_t **out);

/* Where an interval still open at the end of a lane of process `p` ends,
 * the lane's last event being at `lane_last_ns`: the process's end, or when
 * the process lost events, that last event (the rule above). The one place
 * this rule is decided in C; the holds and waits views (tdb_schema.c) and
 * the summaries' rebuild (tdb_summary.c list_lanes) say it in SQL. */
static inline int64_t trace_open_end(const struct trace_process *p, int64_t lane_last_ns)
{
    return p->lost_events ? lane_last_ns : p->end_ns;
}

/* Walk the events of thread `t` of process `p` on GIL `gil` and report its
 * holds and waits. `drops` is trace_drop_requests() of `p` and that GIL. */
void trace_intervals(const struct trace_process *p, const struct trace_thread *t, unsigned gil, const int64_t *drops,
                     size_t ndrops, const struct trace_interval_sink *sink);

#endif
