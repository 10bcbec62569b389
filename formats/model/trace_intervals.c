/*
 * trace_intervals.c — deriving holds and waits from events. See
 * trace_intervals.h for the rules.
 */
#include "trace_intervals.h"

#include <stdlib.h>


static int by_value(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

ptrdiff_t trace_drop_requests(const struct trace_process *p, unsigned gil, int64_t **out)
{
    size_t n = 0;
    *out = NULL;
    for (size_t i = 0; i < p->thread_count; i++)
        for (size_t k = 0; k < p->threads[i].count; k++)
            n += p->threads[i].events[k].kind == RING_EV_DROP_REQUEST && p->threads[i].events[k].gil == gil;
    if (n == 0)
        return 0;
    int64_t *v = malloc(n * sizeof *v);
    if (!v)
        return -1;
    size_t j = 0;
    for (size_t i = 0; i < p->thread_count; i++)
        for (size_t k = 0; k < p->threads[i].count; k++) {
            const struct trace_event *e = &p->threads[i].events[k];
            if (e->kind == RING_EV_DROP_REQUEST && e->gil == gil)
                v[j++] = e->ts_ns;
        }
    qsort(v, n, sizeof *v, by_value);
    *out = v;
    return (ptrdiff_t)n;
}

/* Is there a drop request in (start, end]? `cursor` only moves forward, as
 * holds of one lane come in time order. */
static bool requested_during(const int64_t *drops, size_t n, size_t *cursor, int64_t start, int64_t end)
{
    while (*cursor < n && drops[*cursor] <= start)
        (*cursor)++;
    return *cursor < n && drops[*cursor] <= end;
}

void trace_walker_init(struct trace_walker *w, const int64_t *drops, size_t ndrops)
{
    *w = (struct trace_walker){.drops = drops, .ndrops = ndrops};
}

static void end_hold(struct trace_walker *w, const struct trace_interval_sink *sink, int64_t end_ns, size_t index)
{
    w->hold.end_ns = end_ns;
    w->hold.end_event = index;
    w->hold.open = index == TRACE_NO_EVENT;
    w->hold.forced = requested_during(w->drops, w->ndrops, &w->cursor, w->hold.start_ns, end_ns);
    if (sink->hold)
        sink->hold(sink->ctx, &w->hold);
}

static void end_wait(struct trace_walker *w, const struct trace_interval_sink *sink, int64_t end_ns, size_t index)
{
    w->wait.end_ns = end_ns;
    w->wait.end_event = index;
    w->wait.open = index == TRACE_NO_EVENT;
    if (sink->wait)
        sink->wait(sink->ctx, &w->wait);
}

void trace_walker_event(struct trace_walker *w, const struct trace_interval_sink *sink, int64_t ts_ns, unsigned kind,
                        size_t index)
{
    w->last_ns = ts_ns;
    w->events++;
    if (trace_ends_hold(w->state, kind))
        end_hold(w, sink, ts_ns, index);
    if (trace_ends_wait(w->state, kind))
        end_wait(w, sink, ts_ns, index);
    if (kind == RING_EV_ACQUIRE)
        w->hold = (struct trace_hold){.start_ns = ts_ns, .start_event = index};
    else if (kind == RING_EV_BUSY)
        w->wait = (struct trace_wait){.start_ns = ts_ns, .start_event = index};
    else if (kind == RING_EV_RETRY)
        w->wait.retries += (w->state & TRACE_STATE_WAIT) != 0;
    else if (kind == RING_EV_TIMEOUT)
        w->wait.timeouts += (w->state & TRACE_STATE_WAIT) != 0;
    w->state = trace_state_next(w->state, kind);
}

void trace_walker_end(struct trace_walker *w, const struct trace_interval_sink *sink, int64_t end_ns)
{
    if (w->state & TRACE_STATE_HELD)
        end_hold(w, sink, end_ns, TRACE_NO_EVENT);
    if (w->state & TRACE_STATE_WAIT)
        end_wait(w, sink, end_ns, TRACE_NO_EVENT);
    w->state = 0;
}

void trace_intervals(const struct trace_process *p, const struct trace_thread *t, unsigned gil, const int64_t *drops,
                     size_t ndrops, const struct trace_interval_sink *sink)
{
    struct trace_walker w;
    trace_walker_init(&w, drops, ndrops);
    for (size_t i = 0; i < t->count; i++)
        if (t->events[i].gil == gil)
            trace_walker_event(&w, sink, t->events[i].ts_ns, t->events[i].kind, i);
    if (w.events)
        trace_walker_end(&w, sink, trace_open_end(p, w.last_ns));
}
