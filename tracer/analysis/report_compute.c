/*
 * report_compute.c — the figures of `giltrace report`. See report.h and
 * tracer/analysis/REPORT.md for what each one means.
 *
 * One pass over each thread's events per GIL (trace_intervals) collects the
 * holds and waits of every GIL with the thread they belong to; the per-GIL
 * figures (utilisation, handoffs, blame) then come from those lists sorted
 * by start time. Holds of one GIL never overlap (the tracer records a
 * RELEASE before the next ACQUIRE), which the blame sweep relies on only to
 * be exact, never to be safe: each instant of a wait is blamed once.
 */
#include <stdlib.h>
#include <string.h>

#include "ring.h"
#include "search.h"
#include "trace_intervals.h"
#include "report.h"
#include "report_stacks.h"

/* qsort, for arrays that may be empty (and NULL). */
static void sort_n(void *v, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
    if (n > 1)
        qsort(v, n, size, cmp);
}

struct hold_ref {
    int64_t start, end;
    uint32_t thread; /* index into report_process.threads */
    bool forced, open;
};

struct wait_ref {
    int64_t start, end;
    uint32_t thread;
};

struct gil_lists {
    struct hold_ref *holds;
    size_t nholds, cap_holds;
    struct wait_ref *waits;
    size_t nwaits, cap_waits;
};

/* State of the walk over one thread's intervals on one GIL. */
struct walk {
    struct report_process *r;
    struct report_thread *t;
    uint32_t thread;
    struct gil_lists *lists;
    bool after_voluntary; /* the last interval was a hold ended by a voluntary release */
    int64_t released_at;  /* ... at this time */
    bool oom;
};

static bool grow(void **v, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return true;
    size_t c = *cap ? *cap * 2 : 256;
    void *more = realloc(*v, c * size);
    if (!more)
        return false;
    *v = more;
    *cap = c;
    return true;
}

static void on_hold(void *ctx, const struct trace_hold *h)
{
    struct walk *w = ctx;
    struct report_thread *t = w->t;
    t->held_ns += h->end_ns - h->start_ns;
    if (!h->open) {
        if (h->forced)
            t->releases_forced++;
        else
            t->releases_voluntary++;
    }
    if (h->end_ns > t->end_ns)
        t->end_ns = h->end_ns;
    w->after_voluntary = !h->open && !h->forced;
    w->released_at = h->end_ns;
    struct gil_lists *l = w->lists;
    if (!grow((void **)&l->holds, &l->cap_holds, l->nholds, sizeof *l->holds)) {
        w->oom = true;
        return;
    }
    l->holds[l->nholds++] =
        (struct hold_ref){.start = h->start_ns, .end = h->end_ns, .thread = w->thread, .forced = h->forced, .open = h->open};
}

static void on_wait(void *ctx, const struct trace_wait *wt)
{
    struct walk *w = ctx;
    struct report_thread *t = w->t;
    int64_t d = wt->end_ns - wt->start_ns;
    t->waited_ns += d;
    histogram_add(&t->wait, d);
    if (wt->end_ns > t->end_ns)
        t->end_ns = wt->end_ns;
    if (w->after_voluntary && wt->start_ns - w->released_at >= REPORT_YIELD_NS) {
        t->waits_after_voluntary++;
        if (d >= w->r->convoy_threshold_ns) {
            t->convoys++;
            t->convoy_wait_ns += d;
            if (d > t->convoy_max_ns)
                t->convoy_max_ns = d;
        }
    }
    w->after_voluntary = false;
    struct gil_lists *l = w->lists;
    if (!grow((void **)&l->waits, &l->cap_waits, l->nwaits, sizeof *l->waits)) {
        w->oom = true;
        return;
    }
    l->waits[l->nwaits++] = (struct wait_ref){.start = wt->start_ns, .end = wt->end_ns, .thread = w->thread};
}

static int hold_by_start(const void *a, const void *b)
{
    const struct hold_ref *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

static int i64_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* search_first conditions: value i, or hold i's start, at or past `x`. */
struct time_key {
    const void *v;
    int64_t x;
};

static bool value_from(const void *ctx, size_t i)
{
    const struct time_key *c = ctx;
    return ((const int64_t *)c->v)[i] >= c->x;
}

static bool hold_from(const void *ctx, size_t i)
{
    const struct time_key *c = ctx;
    return ((const struct hold_ref *)c->v)[i].start >= c->x;
}

/* Index of the first value in sorted v[0..n) that is >= x. */
static size_t lower_bound(const int64_t *v, size_t n, int64_t x)
{
    return search_first(n, value_from, &(struct time_key){v, x});
}

/* Index of the first hold (sorted by start) starting at or after x. */
static size_t first_hold_from(const struct hold_ref *h, size_t n, int64_t x)
{
    return search_first(n, hold_from, &(struct time_key){h, x});
}

/* Blame being summed: open addressing on (waiter, holder). */
struct blame_map {
    struct report_blame *v;
    size_t cap, n; /* cap a power of two; 0: nothing yet */
};

static int blame_add(struct blame_map *m, uint32_t waiter, uint32_t holder, int64_t ns)
{
    if (ns <= 0)
        return 0;
    if (2 * (m->n + 1) > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        struct report_blame *v = malloc(cap * sizeof *v);
        if (!v)
            return -1;
        for (size_t i = 0; i < cap; i++)
            v[i].ns = -1;
        for (size_t i = 0; i < m->cap; i++) {
            if (m->v[i].ns < 0)
                continue;
            size_t k = ((size_t)m->v[i].waiter * 2654435761u ^ m->v[i].holder) & (cap - 1);
            while (v[k].ns >= 0)
                k = (k + 1) & (cap - 1);
            v[k] = m->v[i];
        }
        free(m->v);
        m->v = v;
        m->cap = cap;
    }
    size_t k = ((size_t)waiter * 2654435761u ^ holder) & (m->cap - 1);
    while (m->v[k].ns >= 0 && (m->v[k].waiter != waiter || m->v[k].holder != holder))
        k = (k + 1) & (m->cap - 1);
    if (m->v[k].ns < 0) {
        m->v[k] = (struct report_blame){waiter, holder, 0};
        m->n++;
    }
    m->v[k].ns += ns;
    return 0;
}

static int by_waiter_holder(const void *a, const void *b)
{
    const struct report_blame *x = a, *y = b;
    if (x->waiter != y->waiter)
        return x->waiter < y->waiter ? -1 : 1;
    return x->holder < y->holder ? -1 : x->holder > y->holder;
}

/* The map's entries as report_process.blame, sorted. */
static void blame_finish(struct report_process *r, struct blame_map *m)
{
    size_t n = 0;
    for (size_t i = 0; i < m->cap; i++)
        if (m->v[i].ns >= 0)
            m->v[n++] = m->v[i];
    sort_n(m->v, n, sizeof *m->v, by_waiter_holder);
    r->blame = m->v;
    r->nblame = n;
    m->v = NULL;
}

struct pair_key {
    const struct report_process *r;
    size_t waiter, holder;
};

/* Is blame row i at or past (waiter, holder) (search_first)? */
static bool blame_from(const void *ctx, size_t i)
{
    const struct pair_key *c = ctx;
    const struct report_blame *b = &c->r->blame[i];
    return b->waiter > c->waiter || (b->waiter == c->waiter && b->holder >= c->holder);
}

int64_t report_blame_ns(const struct report_process *r, size_t waiter, size_t holder)
{
    size_t lo = search_first(r->nblame, blame_from, &(struct pair_key){r, waiter, holder});
    return lo < r->nblame && r->blame[lo].waiter == waiter && r->blame[lo].holder == holder ? r->blame[lo].ns : 0;
}

/* Blame each instant of each wait on the thread holding the GIL then, or on
 * nobody. Returns 0, or -1 when out of memory. */
static int blame_waits(struct report_process *r, struct blame_map *m, const struct gil_lists *l)
{
    for (size_t i = 0; i < l->nwaits; i++) {
        const struct wait_ref *w = &l->waits[i];
        int64_t covered = w->start, blamed = 0;
        size_t k = first_hold_from(l->holds, l->nholds, w->start);
        if (k > 0)
            k--; /* the hold in progress when the wait began */
        for (; k < l->nholds && l->holds[k].start < w->end; k++) {
            const struct hold_ref *h = &l->holds[k];
            int64_t a = h->start > covered ? h->start : covered;
            int64_t b = h->end < w->end ? h->end : w->end;
            if (b <= a)
                continue;
            if (blame_add(m, w->thread, h->thread, b - a))
                return -1;
            blamed += b - a;
            covered = b;
        }
        if (blame_add(m, w->thread, (uint32_t)r->nthreads, (w->end - w->start) - blamed))
            return -1;
    }
    return 0;
}

/* Utilisation, handoffs and handoff latency of one GIL. */
static int gil_figures(struct report_process *r, struct report_gil *g, const struct gil_lists *l, size_t bins)
{
    const struct trace_process *p = r->p;
    g->bins = bins;
    g->bin_ns = (r->duration_ns + (int64_t)bins - 1) / (int64_t)bins;
    if (g->bin_ns < 1)
        g->bin_ns = 1;
    g->utilisation = calloc(bins, sizeof *g->utilisation);
    int64_t *starts = malloc((l->nwaits ? l->nwaits : 1) * sizeof *starts);
    int64_t *ends = malloc((l->nwaits ? l->nwaits : 1) * sizeof *ends);
    if (!g->utilisation || !starts || !ends) {
        free(starts);
        free(ends);
        return -1;
    }
    for (size_t i = 0; i < l->nwaits; i++) {
        starts[i] = l->waits[i].start;
        ends[i] = l->waits[i].end;
    }
    sort_n(starts, l->nwaits, sizeof *starts, i64_cmp);
    sort_n(ends, l->nwaits, sizeof *ends, i64_cmp);

    for (size_t i = 0; i < l->nholds; i++) {
        const struct hold_ref *h = &l->holds[i];
        g->holds++;
        g->held_ns += h->end - h->start;
        g->forced_releases += h->forced && !h->open;
        if (i > 0 && h->thread != l->holds[i - 1].thread)
            g->handoffs++;
        if (i + 1 < l->nholds && !h->open) {
            /* someone was waiting when this hold was released? */
            size_t began = lower_bound(starts, l->nwaits, h->end);
            size_t ended = lower_bound(ends, l->nwaits, h->end);
            if (began > ended)
                histogram_add(&g->handoff, l->holds[i + 1].start - h->end);
        }
        /* spread the hold over the bins it covers */
        int64_t a = h->start - p->start_ns, b = h->end - p->start_ns;
        if (a < 0)
            a = 0;
        if (b > r->duration_ns)
            b = r->duration_ns;
        for (int64_t x = a; x < b;) {
            size_t bin = (size_t)(x / g->bin_ns);
            if (bin >= bins)
                break;
            int64_t bin_end = (int64_t)(bin + 1) * g->bin_ns;
            int64_t y = b < bin_end ? b : bin_end;
            g->utilisation[bin] += (double)(y - x);
            x = y;
        }
    }
    for (size_t k = 0; k < bins; k++) {
        int64_t bin_start = (int64_t)k * g->bin_ns;
        int64_t width = r->duration_ns - bin_start < g->bin_ns ? r->duration_ns - bin_start : g->bin_ns;
        g->utilisation[k] = width > 0 ? g->utilisation[k] / (double)width : 0;
        if (g->utilisation[k] > 1)
            g->utilisation[k] = 1;
    }
    free(starts);
    free(ends);
    return 0;
}

static int thread_by_first(const void *a, const void *b)
{
    const struct report_thread *x = a, *y = b;
    if (x->first_ns != y->first_ns)
        return x->first_ns < y->first_ns ? -1 : 1;
    return x->tid < y->tid ? -1 : x->tid > y->tid;
}

int report_compute(const struct trace_process *p, const struct report_options *o, struct report_process *r)
{
    struct blame_map blame = {0};
    memset(r, 0, sizeof *r);
    r->p = p;
    size_t bins = o && o->bins ? o->bins : 100;
    r->duration_ns = p->end_ns - p->start_ns;
    if (r->duration_ns < 0)
        r->duration_ns = 0;
    r->convoy_threshold_ns =
        p->switch_interval_us > 0 ? p->switch_interval_us * 1000 : (int64_t)REPORT_DEFAULT_INTERVAL_NS;

    /* Threads with events, ordered by their first event; `order` maps back. */
    r->threads = calloc(p->thread_count ? p->thread_count : 1, sizeof *r->threads);
    size_t *source = calloc(p->thread_count ? p->thread_count : 1, sizeof *source);
    if (!r->threads || !source)
        goto oom;
    for (size_t i = 0; i < p->thread_count; i++) {
        const struct trace_thread *tt = &p->threads[i];
        if (tt->count == 0)
            continue;
        struct report_thread *t = &r->threads[r->nthreads++];
        t->tid = tt->tid;
        t->name = tt->name;
        t->first_ns = tt->events[0].ts_ns;
        t->end_ns = tt->events[tt->count - 1].ts_ns;
        for (size_t k = 0; k < tt->count; k++)
            t->events[tt->events[k].kind & 15]++;
        t->acquires = t->events[RING_EV_ACQUIRE];
    }
    sort_n(r->threads, r->nthreads, sizeof *r->threads, thread_by_first);
    for (size_t i = 0; i < r->nthreads; i++)
        for (size_t k = 0; k < p->thread_count; k++)
            if (p->threads[k].tid == r->threads[i].tid)
                source[i] = k;

    /* GILs: those the process declared, and any an event names. */
    unsigned ngil = (unsigned)p->gil_count;
    for (size_t i = 0; i < p->thread_count; i++)
        for (size_t k = 0; k < p->threads[i].count; k++)
            if ((unsigned)p->threads[i].events[k].gil + 1 > ngil)
                ngil = (unsigned)p->threads[i].events[k].gil + 1;
    r->ngils = ngil;
    r->gils = calloc(ngil ? ngil : 1, sizeof *r->gils);
    if (!r->gils)
        goto oom;

    for (unsigned g = 0; g < ngil; g++) {
        struct report_gil *rg = &r->gils[g];
        rg->index = g;
        rg->subinterpreter = g < p->gil_count && p->gils[g].subinterpreter;
        uint32_t kind = g < p->gil_count ? p->gils[g].kind : p->gil_kind;
        rg->forced_observable = kind != RING_GIL_SEMAPHORE;
        int64_t *drops;
        ptrdiff_t nd = trace_drop_requests(p, g, &drops);
        if (nd < 0)
            goto oom;
        struct gil_lists lists = {0};
        bool oom = false;
        for (size_t i = 0; i < r->nthreads && !oom; i++) {
            struct walk w = {.r = r, .t = &r->threads[i], .thread = (uint32_t)i, .lists = &lists};
            struct trace_interval_sink sink = {on_hold, on_wait, &w};
            trace_intervals(p, &p->threads[source[i]], g, drops, (size_t)nd, &sink);
            oom = w.oom;
        }
        free(drops);
        if (!oom) {
            sort_n(lists.holds, lists.nholds, sizeof *lists.holds, hold_by_start);
            oom = blame_waits(r, &blame, &lists) != 0 || gil_figures(r, rg, &lists, bins) != 0;
        }
        free(lists.holds);
        free(lists.waits);
        if (oom)
            goto oom;
    }
    blame_finish(r, &blame);

    for (size_t i = 0; i < r->nthreads; i++) {
        struct report_thread *t = &r->threads[i];
        t->convoy = t->convoys >= REPORT_CONVOY_MIN_EPISODES && 2 * t->convoys >= t->waits_after_voluntary;
        r->convoys += t->convoys;
    }
    free(source);
    if (report_stack_sites(r, o ? o->sites : 0))
        goto oom_nosource;
    return 0;

oom:
    free(source);
    free(blame.v);
oom_nosource:
    report_free(r);
    return -1;
}

void report_free(struct report_process *r)
{
    for (size_t g = 0; g < r->ngils; g++)
        free(r->gils[g].utilisation);
    free(r->gils);
    free(r->threads);
    free(r->blame);
    report_sites_free(r);
    memset(r, 0, sizeof *r);
}
