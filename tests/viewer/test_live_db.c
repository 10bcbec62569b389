/*
 * test_live_db.c — a live trace database fed poll by poll (tdb_live.h)
 * draws what a trace written in one go from the same events draws: after
 * every poll, its processes, lanes, lane totals, longest waits, pixel
 * columns at every zoom and Python sites equal those of a database the
 * writer (tdb_write.h) writes from the events so far. Synthetic threads, cut at random times
 * (a ring read while it grows), some appearing midway, one on a second
 * GIL, clashing times, a density that changes, and a process that exits
 * (or loses events, so open intervals end at each lane's last event).
 *
 * Columns read from the same representation (both views' buckets of one
 * level, or both replaying raw events) must be equal exactly. Where a lane
 * whose base level was fixed early reads buckets and the one-go trace
 * replays raw events (or the reverse), the pixels are whole buckets at
 * power-of-two widths: counts and longest waits are still exact, held and
 * waiting shares equal within rounding (1e-3 above level 12, where bucket
 * times are kept in 1/4096 of the bucket).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "ring.h"
#include "tdb_live.h"
#include "tdb_view.h"
#include "tdb_write.h"

#define THREADS 5 /* the last one ticks every ~10 ms till the end */
#define PIXELS 96
#define START_NS INT64_C(1000000000000)

/* What was compared, for the last line: pixels drawn the same way by both
 * views, pixels drawn from buckets by one and raw events by the other,
 * lanes whose base levels differ, and Python sites. */
static long long same_px, mixed_px, other_base, sites;

struct gen {
    uint64_t s;
};

/* Python codes and stacks; raw stack id i + 1 (as a follower names them)
 * is stack i, as the writer numbers them too. */
static struct trace_py_code codes[] = {{"App.run", "run", "/srv/app.py", 10},
                                       {"worker", "worker", "/srv/jobs.py", 40},
                                       {"sleep", "sleep", "<built-in>", 0}};
static struct trace_py_frame frames[][2] = {{{1, 6, 12}, {0, 0, -1}},
                                            {{2, 10, 44}, {1, 20, 15}},
                                            {{3, 0, -1}, {2, 30, 47}}};
static struct trace_py_stack stacks[] = {{1, false, frames[0]}, {2, false, frames[1]}, {2, true, frames[2]}};
#define NSTACKS (sizeof stacks / sizeof *stacks)

static uint64_t rnd(struct gen *g)
{
    g->s ^= g->s << 13;
    g->s ^= g->s >> 7;
    g->s ^= g->s << 17;
    return g->s;
}

static uint64_t below(struct gen *g, uint64_t n)
{
    return rnd(g) % n;
}

/* The threads' events: thread k starts at a random time (two of them
 * midway), with gaps that shrink and grow so that lanes' densities change;
 * thread 0 holds the GIL for 3 s from *held_from on, while the last thread
 * ticks now and then till the end (so polls meanwhile end lanes there). */
static void make_threads(struct gen *g, struct trace_thread *th, size_t per_thread, int64_t *held_from)
{
    static const uint8_t kinds[] = {RING_EV_ACQUIRE, RING_EV_RELEASE, RING_EV_BUSY, RING_EV_RETRY,
                                    RING_EV_TIMEOUT, RING_EV_DROP_REQUEST, RING_EV_FORCED_SWITCH, RING_EV_ACQUIRE,
                                    RING_EV_RELEASE, RING_EV_BUSY};
    int64_t last = 0;
    for (int k = 0; k < THREADS; k++) {
        struct trace_thread *t = &th[k];
        memset(t, 0, sizeof *t);
        t->tid = 100 + (uint32_t)k;
        t->name = k == 1 ? strdup("worker") : NULL;
        t->count = k == THREADS - 1 ? (size_t)((last - START_NS) / 10000000) : per_thread / (k >= 2 ? 2 : 1);
        t->events = calloc(t->count, sizeof *t->events);
        int64_t ts = START_NS + (k >= 2 ? (int64_t)below(g, 3000000) + 1000000 : (int64_t)below(g, 5000));
        for (size_t i = 0; i < t->count; i++) {
            int phase = (int)(i * 4 / t->count); /* dense, sparse, dense, very sparse */
            uint64_t gap = phase == 0 || phase == 2 ? 200 + below(g, 2000) : phase == 1 ? below(g, 40000) :
                                                                                             below(g, 400000);
            if (below(g, 50) == 0)
                gap = 0; /* a clash: moved to 1 ns after the previous */
            if (k == THREADS - 1)
                gap = 5000000 + below(g, 10000000);
            if (k == 0 && i == t->count / 2 + 1) {
                *held_from = ts; /* thread 0 holds for 3 s, over whole chunks of buckets */
                gap = 3000000000;
            }
            ts += (int64_t)gap;
            struct trace_event *e = &t->events[i];
            e->ts_ns = ts;
            e->kind = k == 0 && i == t->count / 2 ? RING_EV_ACQUIRE : kinds[below(g, sizeof kinds)];
            e->gil = k == 0 && i != t->count / 2 && below(g, 5) == 0 ? 1 : 0;
            e->cpu = below(g, 3) ? (uint16_t)below(g, 8) : RING_CPU_UNKNOWN;
            if ((e->kind == RING_EV_RELEASE || e->kind == RING_EV_BUSY) && below(g, 3) == 0)
                CHECK(trace_thread_add_py_mark(t, i, 1 + (uint32_t)below(g, NSTACKS)) == 0);
        }
        if (ts > last)
            last = ts;
    }
}

static void make_temp(char *path)
{
    strcpy(path, "/tmp/test-live-db-XXXXXX");
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
}

static void remove_db(const char *path)
{
    char side[64];
    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
}

static const char *name_of(void *ctx, uint32_t tid)
{
    const struct trace_thread *th = ctx;
    for (int k = 0; k < THREADS; k++)
        if (th[k].tid == tid)
            return th[k].name;
    return NULL;
}

static const struct trace_py_stack *py_stack_of(void *ctx, uint32_t raw)
{
    (void)ctx;
    return raw >= 1 && raw <= NSTACKS ? &stacks[raw - 1] : NULL;
}

/* Event `i` of `t`'s raw Python stack id, 0 if none. */
static uint32_t py_stack_at(const struct trace_thread *t, size_t i)
{
    for (size_t m = 0; m < t->py_mark_count && t->py_marks[m].event <= i; m++)
        if (t->py_marks[m].event == i)
            return t->py_marks[m].stack;
    return 0;
}

/* The Python site of every marked event so far is the same in both views
 * (at the lane times the writer gives events: clashes moved). */
static long long same_sites(struct tdb_view *a, struct tdb_view *b, const struct trace_thread *th, const size_t *upto)
{
    long long found = 0;
    for (int k = 0; k < THREADS; k++) {
        int64_t prev[2] = {INT64_MIN, INT64_MIN};
        size_t m = 0;
        for (size_t i = 0; i < upto[k]; i++) {
            const struct trace_event *e = &th[k].events[i];
            int64_t t = e->ts_ns - START_NS;
            if (t <= prev[e->gil])
                t = prev[e->gil] + 1;
            prev[e->gil] = t;
            for (; m < th[k].py_mark_count && th[k].py_marks[m].event < i; m++)
                ;
            if (m == th[k].py_mark_count || th[k].py_marks[m].event != i)
                continue;
            size_t li = SIZE_MAX;
            for (size_t j = 0; j < tdb_view_lane_count(a); j++)
                if (tdb_view_lane(a, j)->tid == th[k].tid && tdb_view_lane(a, j)->gil == e->gil)
                    li = j;
            CHECK(li != SIZE_MAX);
            char sa[256], sb[256];
            bool fa = tdb_view_py_site(a, li, t, sa, sizeof sa), fb = tdb_view_py_site(b, li, t, sb, sizeof sb);
            CHECK(fa && fb);
            CHECK_STR(sa, sb);
            found++;
        }
    }
    return found;
}

static void same_columns(struct tdb_view *a, struct tdb_view *b, size_t li, double t0, double w, int level)
{
    struct tdb_column ca[PIXELS], cb[PIXELS];
    CHECK(tdb_view_columns(a, li, t0, w, PIXELS, ca) == 0);
    CHECK(tdb_view_columns(b, li, t0, w, PIXELS, cb) == 0);
    bool same_way = tdb_view_is_raw(a, li, w) == tdb_view_is_raw(b, li, w);
    bool aligned = w == ldexp(1, level) && fmod(t0, w) == 0;
    if (!same_way && !aligned)
        return;
    *(same_way ? &same_px : &mixed_px) += PIXELS;
    double tol = same_way ? 0 : level > 12 ? 1e-3 : 1e-6;
    for (int i = 0; i < PIXELS; i++) {
        /* buckets place their events at their first and last event's offsets, which
         * above level 12 are rounded and may fall on the next pixel's edge */
        for (int c = 0; c < TDB_N_COUNTS && (same_way || level <= 12); c++)
            if (ca[i].n[c] != cb[i].n[c]) {
                fprintf(stderr, "lane %zu level %d t0 %.1f w %.2f px %d: count %d %u/%u (raw %d/%d; base %d/%d)\n", li,
                        level, t0, w, i, c, ca[i].n[c], cb[i].n[c], tdb_view_is_raw(a, li, w),
                        tdb_view_is_raw(b, li, w), tdb_view_lane(a, li)->sum.base_level,
                        tdb_view_lane(b, li)->sum.base_level);
                exit(1);
            }
        /* above level 12, bucket times are in units of 2^(level - 12) ns */
        int64_t unit = same_way ? 0 : level > 12 ? INT64_C(1) << (level - 12) : 0;
        if (llabs((long long)(ca[i].max_wait_ns - cb[i].max_wait_ns)) > unit) {
            fprintf(stderr, "lane %zu level %d px %d: longest wait %lld/%lld (%s)\n", li, level, i,
                    (long long)ca[i].max_wait_ns, (long long)cb[i].max_wait_ns,
                    same_way ? "same way" : "raw vs buckets");
            exit(1);
        }
        if (fabs(ca[i].held - cb[i].held) > tol || fabs(ca[i].wait - cb[i].wait) > tol) {
            fprintf(stderr, "lane %zu level %d t0 %.0f px %d: held %.9f/%.9f wait %.9f/%.9f (%s)\n", li, level, t0,
                    i, ca[i].held, cb[i].held, ca[i].wait, cb[i].wait, same_way ? "same way" : "raw vs buckets");
            exit(1);
        }
    }
}

/* Everything a drawing reads of live view `a` equals one-go view `b`: at
 * every zoom, a random window and windows around the earlier polls' cut
 * times (where earlier commits ended the lanes for a while). */
static void same_view(struct gen *g, struct tdb_view *a, struct tdb_view *b, const int64_t *cuts, int ncuts)
{
    CHECK_EQ_INT(tdb_view_event_count(a), tdb_view_event_count(b));
    int64_t a0, a1, b0, b1;
    tdb_view_span(a, &a0, &a1);
    tdb_view_span(b, &b0, &b1);
    CHECK_EQ_INT(a0, b0);
    CHECK_EQ_INT(a1, b1);
    CHECK_EQ_INT(tdb_view_process_count(a), tdb_view_process_count(b));
    for (size_t i = 0; i < tdb_view_process_count(a); i++) {
        const struct tdb_view_process *p = tdb_view_process(a, i), *q = tdb_view_process(b, i);
        CHECK_EQ_INT(p->pid, q->pid);
        CHECK_EQ_INT(p->start_t, q->start_t);
        CHECK_EQ_INT(p->end_t, q->end_t);
        CHECK_EQ_INT(p->lost_events, q->lost_events);
        CHECK_EQ_INT(p->first_lane, q->first_lane);
        CHECK_EQ_INT(p->lane_count, q->lane_count);
        CHECK_STR(p->gil_kind, q->gil_kind);
    }
    CHECK_EQ_INT(tdb_view_lane_count(a), tdb_view_lane_count(b));
    for (size_t i = 0; i < tdb_view_lane_count(a); i++) {
        const struct tdb_view_lane *x = tdb_view_lane(a, i), *y = tdb_view_lane(b, i);
        CHECK_EQ_INT(x->tid, y->tid);
        CHECK_EQ_INT(x->gil, y->gil);
        CHECK((x->name == NULL) == (y->name == NULL));
        if (x->name)
            CHECK_STR(x->name, y->name);
        const struct tdb_lane_summary *s = &x->sum, *t = &y->sum;
        CHECK_EQ_INT(s->origin, t->origin);
        CHECK_EQ_INT(s->first_t, t->first_t);
        CHECK_EQ_INT(s->last_t, t->last_t);
        CHECK_EQ_INT(s->end_t, t->end_t);
        if (s->base_level == t->base_level)
            CHECK_EQ_INT(s->top_level, t->top_level);
        else
            other_base++;
        CHECK_EQ_INT(s->total.held_ns, t->total.held_ns);
        CHECK_EQ_INT(s->total.wait_ns, t->total.wait_ns);
        CHECK_EQ_INT(s->total.max_wait_ns, t->total.max_wait_ns);
        for (int c = 0; c < TDB_N_COUNTS; c++)
            CHECK_EQ_INT(s->total.n[c], t->total.n[c]);
        /* every zoom: aligned windows (whole buckets) and one that is not */
        int top = s->top_level > t->top_level ? s->top_level : t->top_level;
        for (int level = 0; level <= top + 1; level++) {
            double w = ldexp(1, level);
            double px = floor((double)(s->first_t - PIXELS / 4 * (int64_t)w) / w);
            double span_px = ceil((double)(s->end_t - s->first_t) / w) + 1;
            double t0 = (px + (double)below(g, (uint64_t)span_px)) * w;
            same_columns(a, b, i, t0, w, level);
            same_columns(a, b, i, t0 + 0.37 * w, w * 1.29, level);
            for (int c = 0; c < ncuts; c++)
                same_columns(a, b, i, floor((double)(cuts[c] - START_NS) / w - PIXELS / 2) * w, w, level);
        }
    }
    size_t na, nb;
    const struct tdb_wait_span *wa = tdb_view_longest_waits(a, &na), *wb = tdb_view_longest_waits(b, &nb);
    CHECK_EQ_INT(na, nb);
    for (size_t i = 0; i < na; i++) {
        CHECK_EQ_INT(wa[i].lane, wb[i].lane);
        CHECK_EQ_INT(wa[i].start_t, wb[i].start_t);
        CHECK_EQ_INT(wa[i].end_t, wb[i].end_t);
        CHECK_EQ_INT(wa[i].retries, wb[i].retries);
        CHECK_EQ_INT(wa[i].timeouts, wb[i].timeouts);
    }
}

/* The process as a follower sees it after a poll that read up to `cut`. */
static void process_at(struct trace_process *p, const struct trace_thread *th, const size_t *upto, bool last,
                       bool lossy)
{
    memset(p, 0, sizeof *p);
    p->pid = 4242;
    p->gil_kind = RING_GIL_CONDVAR;
    p->switch_interval_us = 5000;
    p->start_ns = START_NS;
    p->end_ns = START_NS;
    for (int k = 0; k < THREADS; k++)
        if (upto[k] && th[k].events[upto[k] - 1].ts_ns > p->end_ns)
            p->end_ns = th[k].events[upto[k] - 1].ts_ns;
    if (last) {
        p->exited = true;
        p->end_ns += 12345;
    }
    p->lost_events = lossy ? 7 : 0;
    p->py_codes = codes;
    p->py_code_count = sizeof codes / sizeof *codes;
    p->py_stacks = stacks;
    p->py_stack_count = NSTACKS;
    p->py_stacks_recorded = true;
}

/* The same events written in one go by the writer. */
static struct tdb_view *one_go(const char *path, const struct trace_process *at, struct trace_thread *th,
                               const size_t *upto)
{
    struct trace_process p = *at;
    struct trace_thread cut[THREADS];
    p.threads = cut;
    p.thread_count = 0;
    for (int k = 0; k < THREADS; k++)
        if (upto[k]) {
            cut[p.thread_count] = th[k];
            cut[p.thread_count++].count = upto[k];
        }
    char err[256];
    struct tdb_writer *w;
    CHECK(tdb_writer_open(path, TDB_CREATE, &w, err, sizeof err) == 0);
    CHECK(tdb_writer_add_process(w, &p, err, sizeof err) == 0);
    CHECK(tdb_writer_close(w, err, sizeof err) == 0);
    struct tdb_view *v = tdb_view_open(path, NULL, err, sizeof err);
    if (!v)
        fprintf(stderr, "%s\n", err);
    CHECK(v);
    return v;
}

static void run_seed(uint64_t seed, size_t per_thread, int polls, uint64_t young)
{
    struct gen g = {seed * 0x9e3779b97f4a7c15u + 1};
    struct trace_thread th[THREADS];
    int64_t held_from = START_NS;
    make_threads(&g, th, per_thread, &held_from);
    bool lossy = seed % 3 == 2;
    int64_t end = START_NS;
    for (int k = 0; k < THREADS; k++)
        if (th[k].events[th[k].count - 1].ts_ns > end)
            end = th[k].events[th[k].count - 1].ts_ns;
    /* random cut times: what a poll finds committed */
    int64_t cuts[64];
    for (int i = 0; i < polls; i++) /* half of them early on, while lanes are dense */
        cuts[i] = START_NS + (int64_t)below(&g, i % 2 ? 100000000 : (uint64_t)(end - START_NS));
    cuts[0] = held_from + 1500000000; /* a poll while thread 0 holds: its lane ends held, for now */
    for (int i = 1; i < polls; i++)
        for (int j = i; j > 0 && cuts[j - 1] > cuts[j]; j--) {
            int64_t x = cuts[j];
            cuts[j] = cuts[j - 1];
            cuts[j - 1] = x;
        }
    cuts[polls - 1] = end;

    char live_path[64], go_path[64], err[256];
    make_temp(live_path);
    struct tdb_live *l;
    CHECK(tdb_live_open(live_path, &l, err, sizeof err) == 0);
    tdb_live_set_young(l, young);
    size_t upto[THREADS] = {0};
    uint64_t fed = 0;
    for (int i = 0; i < polls; i++) {
        for (int k = 0; k < THREADS; k++)
            for (; upto[k] < th[k].count && th[k].events[upto[k]].ts_ns <= cuts[i]; upto[k]++, fed++)
                CHECK(tdb_live_add(l, th[k].tid, &th[k].events[upto[k]], py_stack_at(&th[k], upto[k])) == 0);
        struct trace_process p;
        process_at(&p, th, upto, i == polls - 1, lossy);
        struct tdb_live_names names = {name_of, py_stack_of, th};
        if (tdb_live_commit(l, &p, &names, err, sizeof err) != 0)
            fprintf(stderr, "%s\n", err);
        CHECK_EQ_INT(tdb_live_events(l), fed);
        struct tdb_view_options opt = {.no_build = true};
        struct tdb_view *a = tdb_view_open(live_path, &opt, err, sizeof err);
        if (!a)
            fprintf(stderr, "%s\n", err);
        CHECK(a);
        make_temp(go_path);
        struct tdb_view *b = one_go(go_path, &p, th, upto);
        same_view(&g, a, b, cuts, i);
        sites += same_sites(a, b, th, upto);
        tdb_view_close(a);
        tdb_view_close(b);
        unlink(go_path);
    }
    tdb_live_close(l);
    remove_db(live_path);
    for (int k = 0; k < THREADS; k++) {
        free(th[k].name);
        free(th[k].events);
        free(th[k].py_marks);
    }
}

int main(void)
{
    /* small: this runs under ASan on a loaded 2-core machine too */
    for (uint64_t seed = 1; seed <= 3; seed++)
        run_seed(seed, 1500, 7, 300);
    /* lanes that stay young (rebuilt whole at each poll) */
    run_seed(4, 400, 4, 1u << 20);
    printf("ok: live databases fed poll by poll draw what one-go traces draw (%lld pixels drawn the same way,"
           " %lld from buckets in one and raw events in the other; %lld lane views with another base level;"
           " %lld Python sites)\n", same_px, mixed_px, other_base, sites);
    CHECK(same_px > 0 && mixed_px > 0 && other_base > 0 && sites > 0);
    return 0;
}
