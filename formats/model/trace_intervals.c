/*
 * trace_intervals.c — deriving holds and waits from events. See
 * trace_intervals.h for the rules.
 */
#include "trace_intervals.h"

#include <stdlib.h>

#include "ring.h"

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

void trace_intervals(const struct trace_process *p, const struct trace_thread *t, unsigned gil, const int64_t *drops,
                     size_t ndrops, const struct trace_interval_sink *sink)
{
    int64_t last_ns = 0;
    bool holding = false, waiting = false;
    size_t cursor = 0;
    struct trace_hold hold = {0};
    struct trace_wait wait = {0};
    for (size_t i = 0; i < t->count; i++) {
        const struct trace_event *e = &t->events[i];
        if (e->gil != gil)
            continue;
        last_ns = e->ts_ns;
        if (holding && (e->kind == RING_EV_RELEASE || e->kind == RING_EV_ACQUIRE)) {
            holding = false;
            hold.end_ns = e->ts_ns;
            hold.forced = requested_during(drops, ndrops, &cursor, hold.start_ns, hold.end_ns);
            sink->hold(sink->ctx, &hold);
        }
        if (waiting && (e->kind == RING_EV_ACQUIRE || e->kind == RING_EV_BUSY)) {
            waiting = false;
            wait.end_ns = e->ts_ns;
            sink->wait(sink->ctx, &wait);
        }
        switch (e->kind) {
        case RING_EV_ACQUIRE:
            holding = true;
            hold.start_ns = e->ts_ns;
            break;
        case RING_EV_BUSY:
            waiting = true;
            wait = (struct trace_wait){.start_ns = e->ts_ns};
            break;
        case RING_EV_RETRY:
            wait.retries += waiting;
            break;
        case RING_EV_TIMEOUT:
            wait.timeouts += waiting;
            break;
        default:
            break;
        }
    }
    int64_t end_ns = trace_open_end(p, last_ns);
    if (holding) {
        hold.end_ns = end_ns;
        hold.open = true;
        hold.forced = requested_during(drops, ndrops, &cursor, hold.start_ns, hold.end_ns);
        sink->hold(sink->ctx, &hold);
    }
    if (waiting) {
        wait.end_ns = end_ns;
        wait.open = true;
        sink->wait(sink->ctx, &wait);
    }
}
