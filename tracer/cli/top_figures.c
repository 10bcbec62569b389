/*
 * top_figures.c — the running per-thread figures of `giltrace top`. See
 * top_figures.h.
 */
#include "top_figures.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ring.h"
#include "trace_figures.h"
#include "trace_intervals.h"
#include "report.h"
#include "top_sites.h"

/* A closed interval of the last second. */
struct span {
    int64_t start, end;
    bool wait, forced;
};

struct thread {
    struct top_row row;
    char name[RING_NAME_MAX];
    int64_t first_ns, last_ns;
    int64_t held_ns, waited_ns;  /* closed intervals */
    uint64_t waits, forced;
    uint64_t waits_after_voluntary, convoys;
    bool after_voluntary;
    int64_t released_at;
    int64_t hold_start, wait_start; /* open intervals (-1: none) */
    int64_t last_hold[RING_MAX_GILS], last_wait[RING_MAX_GILS]; /* starts reported closed last */
    uint64_t gils;               /* GILs its pending events use */
    struct span *spans;
    size_t span_head, nspans, cap_spans;
    int64_t max_wait[TOP_RECENT_S], max_wait_sec[TOP_RECENT_S];
    /* events from the start of its oldest open interval on */
    struct trace_event *ev;
    uint32_t *py;
    size_t nev, cap_ev;
};

struct drop {
    int64_t ts;
    unsigned gil;
};

struct top_figures {
    struct thread *threads;
    size_t nthreads, cap_threads;
    struct top_row *rows;
    size_t cap_rows;
    struct drop *drops;
    size_t ndrops, cap_drops;
    struct top_sites *releases, *waits;
    bool oom;
};

static bool grow(void **v, size_t *cap, size_t want, size_t size)
{
    if (want <= *cap)
        return true;
    size_t c = *cap ? *cap : 64;
    while (c < want)
        c *= 2;
    void *more = realloc(*v, c * size);
    if (!more)
        return false;
    *v = more;
    *cap = c;
    return true;
}

struct top_figures *top_figures_new(void)
{
    struct top_figures *t = calloc(1, sizeof *t);
    if (t && (!(t->releases = top_sites_new()) || !(t->waits = top_sites_new()))) {
        top_figures_free(t);
        return NULL;
    }
    return t;
}

void top_figures_free(struct top_figures *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->nthreads; i++) {
        free(t->threads[i].spans);
        free(t->threads[i].ev);
        free(t->threads[i].py);
    }
    free(t->threads);
    free(t->rows);
    free(t->drops);
    top_sites_free(t->releases);
    top_sites_free(t->waits);
    free(t);
}

static struct thread *thread_of(struct top_figures *t, uint32_t tid)
{
    for (size_t i = 0; i < t->nthreads; i++)
        if (t->threads[i].row.tid == tid)
            return &t->threads[i];
    if (!grow((void **)&t->threads, &t->cap_threads, t->nthreads + 1, sizeof *t->threads))
        return NULL;
    struct thread *th = &t->threads[t->nthreads++];
    memset(th, 0, sizeof *th);
    th->row.tid = tid;
    th->first_ns = -1;
    th->hold_start = th->wait_start = -1;
    for (unsigned g = 0; g < RING_MAX_GILS; g++)
        th->last_hold[g] = th->last_wait[g] = -1;
    return th;
}

static void on_events(void *ctx, uint32_t tid, const struct ring_follow_event *ev, size_t n)
{
    struct top_figures *t = ctx;
    struct thread *th = thread_of(t, tid);
    size_t cap_py = th ? th->cap_ev : 0;
    if (!th || !grow((void **)&th->py, &cap_py, th->nev + n, sizeof *th->py) ||
        !grow((void **)&th->ev, &th->cap_ev, th->nev + n, sizeof *th->ev)) {
        t->oom = true;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        th->ev[th->nev] = ev[i].ev;
        th->py[th->nev++] = ev[i].py_stack;
        th->gils |= UINT64_C(1) << (ev[i].ev.gil % RING_MAX_GILS);
        if (ev[i].ev.kind == RING_EV_DROP_REQUEST) {
            if (!grow((void **)&t->drops, &t->cap_drops, t->ndrops + 1, sizeof *t->drops)) {
                t->oom = true;
                return;
            }
            t->drops[t->ndrops++] = (struct drop){.ts = ev[i].ev.ts_ns, .gil = ev[i].ev.gil};
        }
    }
    if (th->first_ns < 0)
        th->first_ns = ev[0].ev.ts_ns;
    th->last_ns = ev[n - 1].ev.ts_ns;
}

struct ring_follow_sink top_figures_sink(struct top_figures *t)
{
    return (struct ring_follow_sink){.events = on_events, .ctx = t};
}

/* The walk of one thread's pending events on one GIL. */
struct walk {
    struct top_figures *t;
    struct thread *th;
    unsigned gil;
    int64_t convoy_ns;
    size_t cursor; /* events before it are matched to intervals already */
};

/* The key of the site of the pending event of `kind` at `ts` (0: none). */
static uint64_t site_at(struct walk *w, unsigned kind, int64_t ts)
{
    const struct thread *th = w->th;
    for (size_t i = w->cursor; i < th->nev; i++) {
        if (th->ev[i].ts_ns > ts)
            break;
        if (th->ev[i].kind == kind && th->ev[i].ts_ns == ts && th->ev[i].gil == w->gil) {
            w->cursor = i;
            return top_sites_key(th->ev[i].stack, th->py[i]);
        }
    }
    return 0;
}

static void add_span(struct walk *w, struct span s)
{
    struct thread *th = w->th;
    if (th->span_head > 0 && th->span_head * 2 >= th->nspans) {
        memmove(th->spans, th->spans + th->span_head, (th->nspans - th->span_head) * sizeof *th->spans);
        th->nspans -= th->span_head;
        th->span_head = 0;
    }
    if (!grow((void **)&th->spans, &th->cap_spans, th->nspans + 1, sizeof *th->spans)) {
        w->t->oom = true;
        return;
    }
    th->spans[th->nspans++] = s;
}

static void on_hold(void *ctx, const struct trace_hold *h)
{
    struct walk *w = ctx;
    struct thread *th = w->th;
    if (h->open) {
        if (th->hold_start < 0 || h->start_ns < th->hold_start)
            th->hold_start = h->start_ns;
        return;
    }
    if (h->start_ns <= th->last_hold[w->gil])
        return; /* closed at an earlier update */
    th->last_hold[w->gil] = h->start_ns;
    th->held_ns += h->end_ns - h->start_ns;
    th->forced += h->forced;
    th->after_voluntary = !h->forced;
    th->released_at = h->end_ns;
    add_span(w, (struct span){.start = h->start_ns, .end = h->end_ns, .forced = h->forced});
    uint64_t key = site_at(w, RING_EV_RELEASE, h->end_ns);
    if (key && top_sites_add(w->t->releases, key, 1, h->forced, 0))
        w->t->oom = true;
}

static void on_wait(void *ctx, const struct trace_wait *wt)
{
    struct walk *w = ctx;
    struct thread *th = w->th;
    if (wt->open) {
        if (th->wait_start < 0 || wt->start_ns < th->wait_start)
            th->wait_start = wt->start_ns;
        return;
    }
    if (wt->start_ns <= th->last_wait[w->gil])
        return;
    th->last_wait[w->gil] = wt->start_ns;
    int64_t d = wt->end_ns - wt->start_ns;
    th->waited_ns += d;
    th->waits++;
    if (th->after_voluntary && wt->start_ns - th->released_at >= REPORT_YIELD_NS) {
        th->waits_after_voluntary++;
        th->convoys += d >= w->convoy_ns;
    }
    th->after_voluntary = false;
    int64_t sec = wt->end_ns / TOP_WINDOW_NS, slot = sec % TOP_RECENT_S;
    if (th->max_wait_sec[slot] != sec || th->max_wait[slot] < d) {
        th->max_wait[slot] = th->max_wait_sec[slot] == sec && th->max_wait[slot] > d ? th->max_wait[slot] : d;
        th->max_wait_sec[slot] = sec;
    }
    add_span(w, (struct span){.start = wt->start_ns, .end = wt->end_ns, .wait = true});
    uint64_t key = site_at(w, RING_EV_BUSY, wt->start_ns);
    if (key && top_sites_add(w->t->waits, key, 1, 0, d))
        w->t->oom = true;
}

static int by_ts(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* The drop requests on `gil` kept, sorted, into `*out` (malloc'd). */
static ptrdiff_t drops_of(const struct top_figures *t, unsigned gil, int64_t **out)
{
    *out = malloc((t->ndrops ? t->ndrops : 1) * sizeof **out);
    if (!*out)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < t->ndrops; i++)
        if (t->drops[i].gil == gil)
            (*out)[n++] = t->drops[i].ts;
    qsort(*out, n, sizeof **out, by_ts);
    return (ptrdiff_t)n;
}

/* Keep the pending events from the start of the oldest open interval on. */
static void trim(struct thread *th)
{
    int64_t keep = th->hold_start;
    if (th->wait_start >= 0 && (keep < 0 || th->wait_start < keep))
        keep = th->wait_start;
    size_t from = th->nev;
    if (keep >= 0)
        for (from = 0; from < th->nev && th->ev[from].ts_ns < keep; from++)
            ;
    memmove(th->ev, th->ev + from, (th->nev - from) * sizeof *th->ev);
    memmove(th->py, th->py + from, (th->nev - from) * sizeof *th->py);
    th->nev -= from;
    th->gils = 0;
    for (size_t i = 0; i < th->nev; i++)
        th->gils |= UINT64_C(1) << (th->ev[i].gil % RING_MAX_GILS);
}

/* Drop requests no open or later interval can contain. */
static void prune_drops(struct top_figures *t)
{
    int64_t oldest = INT64_MAX;
    for (size_t i = 0; i < t->nthreads; i++)
        if (t->threads[i].nev && t->threads[i].ev[0].ts_ns < oldest)
            oldest = t->threads[i].ev[0].ts_ns;
    size_t k = 0;
    for (size_t i = 0; i < t->ndrops; i++)
        if (t->drops[i].ts >= oldest)
            t->drops[k++] = t->drops[i];
    t->ndrops = k;
}

/* Last-second figures of `th` at `now`: over the part of the last second
 * since its first event (so that the shares of threads sum to at most
 * one GIL's second, whether they hold, wait, run without it or ended). */
static void window_figures(struct thread *th, int64_t now)
{
    int64_t from = now - TOP_WINDOW_NS;
    while (th->span_head < th->nspans && th->spans[th->span_head].end < from)
        th->span_head++;
    int64_t lo = th->first_ns > from ? th->first_ns : from;
    int64_t len = now > lo ? now - lo : 0;
    int64_t held = 0, waited = 0;
    uint64_t waits = 0, forced = 0;
    for (size_t i = th->span_head; i < th->nspans; i++) {
        const struct span *s = &th->spans[i];
        int64_t a = s->start > from ? s->start : from;
        int64_t ov = s->end > a ? s->end - a : 0;
        if (s->wait) {
            waited += ov;
            waits++;
        } else {
            held += ov;
            forced += s->forced;
        }
    }
    if (th->hold_start >= 0)
        held += now - (th->hold_start > from ? th->hold_start : from);
    if (th->wait_start >= 0) {
        waited += now - (th->wait_start > from ? th->wait_start : from);
        waits += th->wait_start >= from;
    }
    th->row.held_share_1s = trace_share(held, len);
    th->row.waited_share_1s = trace_share(waited, len);
    th->row.waits_per_s = trace_per_s(waits, len);
    th->row.forced_per_s = trace_per_s(forced, len);
}

static void fill_row(struct thread *th, int64_t now, const char *name)
{
    if (name)
        snprintf(th->name, sizeof th->name, "%s", name);
    struct top_row *r = &th->row;
    r->name = th->name[0] ? th->name : NULL;
    r->holding = th->hold_start >= 0;
    r->waiting = th->wait_start >= 0;
    int64_t end = r->holding || r->waiting ? now : th->last_ns;
    r->life_ns = trace_life_ns(th->first_ns, end);
    int64_t held = th->held_ns + (r->holding ? now - th->hold_start : 0);
    int64_t open_wait = r->waiting ? now - th->wait_start : 0;
    r->held_share = trace_share(held, r->life_ns);
    r->waited_share = trace_share(th->waited_ns + open_wait, r->life_ns);
    r->waits = th->waits;
    r->forced = th->forced;
    r->longest_wait_ns = open_wait;
    int64_t sec = now / TOP_WINDOW_NS;
    for (unsigned i = 0; i < TOP_RECENT_S; i++)
        if (th->max_wait_sec[i] > sec - TOP_RECENT_S && th->max_wait[i] > r->longest_wait_ns)
            r->longest_wait_ns = th->max_wait[i];
    r->convoys = th->convoys;
    r->convoy = th->convoys >= REPORT_CONVOY_MIN_EPISODES && 2 * th->convoys >= th->waits_after_voluntary;
    window_figures(th, now);
}

int top_figures_update(struct top_figures *t, struct ring_follow *f, int64_t now_ns)
{
    const struct trace_process *p = ring_follow_process(f);
    /* the rules of trace_intervals for a process that ends now */
    struct trace_process q = {.end_ns = now_ns, .lost_events = p->lost_events};
    int64_t convoy_ns =
        p->switch_interval_us > 0 ? p->switch_interval_us * 1000 : (int64_t)REPORT_DEFAULT_INTERVAL_NS;
    for (size_t i = 0; i < t->nthreads && !t->oom; i++) {
        struct thread *th = &t->threads[i];
        th->hold_start = th->wait_start = -1;
        struct trace_thread tt = {.tid = th->row.tid, .count = th->nev, .events = th->ev};
        for (unsigned g = 0; g < RING_MAX_GILS; g++) {
            if (!(th->gils >> g & 1))
                continue;
            int64_t *drops;
            ptrdiff_t nd = drops_of(t, g, &drops);
            if (nd < 0) {
                t->oom = true;
                break;
            }
            struct walk w = {.t = t, .th = th, .gil = g, .convoy_ns = convoy_ns};
            struct trace_interval_sink sink = {.hold = on_hold, .wait = on_wait, .ctx = &w};
            trace_intervals(&q, &tt, g, drops, (size_t)nd, &sink);
            free(drops);
        }
        trim(th);
    }
    prune_drops(t);
    if (t->oom || !grow((void **)&t->rows, &t->cap_rows, t->nthreads ? t->nthreads : 1, sizeof *t->rows))
        return -1;
    for (size_t i = 0; i < t->nthreads; i++) {
        struct thread *th = &t->threads[i];
        const char *name = ring_follow_name(f, th->row.tid);
        fill_row(th, now_ns, name);
        t->rows[i] = th->row;
    }
    return 0;
}

const struct top_row *top_figures_rows(const struct top_figures *t, size_t *n)
{
    *n = t->nthreads;
    return t->rows;
}

size_t top_figures_sites(struct top_figures *t, struct ring_follow *f, bool waits, struct top_site *out, size_t max)
{
    return top_sites_top(waits ? t->waits : t->releases, f, waits, out, max);
}
