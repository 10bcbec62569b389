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
 * This is the ONE place the rule is written: the writer's hold and wait
 * tables (tdb_write_intervals.c), the summary builder (tdb_summary.c), the
 * viewer's raw replay (tdb_view_raw.c) and the stack sites (report_stacks.c)
 * all step a struct trace_walker. tests/unit/test_walker_agreement.c
 * checks that what each of them derives agrees.
 */
#ifndef GILTRACE_TRACE_INTERVALS_H
#define GILTRACE_TRACE_INTERVALS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ring.h"
#include "trace_model.h"

/* A lane's state between two events: bits of held and waiting (a thread
 * can wait for a GIL while it still holds it: BUSY while held). */
enum trace_lane_state { TRACE_STATE_HELD = 1, TRACE_STATE_WAIT = 2 };

/* Does an event of `kind` (enum ring_event_kind) in `state` end a hold? A wait? */
static inline bool trace_ends_hold(unsigned state, unsigned kind)
{
    return (state & TRACE_STATE_HELD) && (kind == RING_EV_ACQUIRE || kind == RING_EV_RELEASE);
}

static inline bool trace_ends_wait(unsigned state, unsigned kind)
{
    return (state & TRACE_STATE_WAIT) && (kind == RING_EV_ACQUIRE || kind == RING_EV_BUSY);
}

/* The state after an event of `kind` in `state`. */
static inline unsigned trace_state_next(unsigned state, unsigned kind)
{
    switch (kind) {
    case RING_EV_ACQUIRE: /* a new hold; ends any wait */
        return TRACE_STATE_HELD;
    case RING_EV_RELEASE:
        return state & ~(unsigned)TRACE_STATE_HELD;
    case RING_EV_BUSY: /* a new wait (ending any wait in progress) */
        return state | TRACE_STATE_WAIT;
    default:
        return state;
    }
}

/* An event index of an interval's end that is no event: the interval was
 * still open when the lane ended. */
#define TRACE_NO_EVENT SIZE_MAX

struct trace_hold {
    int64_t start_ns, end_ns;
    size_t start_event, end_event; /* the events (their caller-given index) that began and ended it */
    bool forced;
    bool open; /* still held when the lane ended: end_ns is trace_open_end(), end_event TRACE_NO_EVENT */
};

struct trace_wait {
    int64_t start_ns, end_ns;
    size_t start_event, end_event;
    uint32_t retries, timeouts;
    bool open; /* still waiting when the lane ended */
};

/* Receives each interval of the lane as it ends; either callback may be NULL. */
struct trace_interval_sink {
    void (*hold)(void *ctx, const struct trace_hold *h);
    void (*wait)(void *ctx, const struct trace_wait *w);
    void *ctx;
};

/* The walker: one lane's holds and waits, fed its events one at a time in
 * lane order. Plain data; zero it or use trace_walker_init. */
struct trace_walker {
    unsigned state; /* enum trace_lane_state bits after the last event */
    struct trace_hold hold; /* the hold in progress (state & HELD) */
    struct trace_wait wait; /* the wait in progress (state & WAIT) */
    const int64_t *drops;   /* sorted DROP_REQUEST times deciding `forced`; may be NULL */
    size_t ndrops, cursor;
    int64_t last_ns;        /* the last event's time */
    size_t events;          /* events fed */
};

/* A walker at a lane's start; `drops` (sorted, may be NULL when forced does
 * not matter) must outlive it. */
void trace_walker_init(struct trace_walker *w, const int64_t *drops, size_t ndrops);

/* Feed one event (time `ts_ns`, in lane order: not checked, as a damaged
 * ring can hold times that step back; kind; an
 * index the sink gets back in start_event/end_event). Calls the sink for
 * the hold and/or wait it ends. */
void trace_walker_event(struct trace_walker *w, const struct trace_interval_sink *sink, int64_t ts_ns, unsigned kind,
                        size_t index);

/* The lane ends at `end_ns` (>= the last event): report the hold and wait
 * still open, as open, and leave the walker idle. */
void trace_walker_end(struct trace_walker *w, const struct trace_interval_sink *sink, int64_t end_ns);

/* The DROP_REQUEST times of GIL `gil` in process `p`, sorted; `*out` is
 * malloc'd (NULL when there are none). Returns the count, or -1 if out of memory. */
ptrdiff_t trace_drop_requests(const struct trace_process *p, unsigned gil, int64_t **out);

/* Where an interval still open at the end of a lane of process `p` ends,
 * the lane's last event being at `lane_last_ns`: the process's end, or when
 * the process lost events, that last event (the rule above). The one place
 * this rule is decided in C; the holds and waits views (tdb_schema.c) and
 * the summaries' rebuild (tdb_summary_rebuild.c list_lanes) say it in SQL. */
static inline int64_t trace_open_end(const struct trace_process *p, int64_t lane_last_ns)
{
    return p->lost_events ? lane_last_ns : p->end_ns;
}

/* Walk the events of thread `t` of process `p` on GIL `gil` and report its
 * holds and waits (event indexes into t->events), open ones ending at
 * trace_open_end(). `drops` is trace_drop_requests() of `p` and that GIL. */
void trace_intervals(const struct trace_process *p, const struct trace_thread *t, unsigned gil, const int64_t *drops,
                     size_t ndrops, const struct trace_interval_sink *sink);

#endif
