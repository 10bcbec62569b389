/*
 * test_walker_agreement.c — every reader of a trace says the same holds and
 * waits as the one walker (formats/trace_intervals.h): the stored hold and
 * wait tables (the holds/waits views), the summary builder's lane totals,
 * the viewer's raw replay, the report's per-thread totals and the stack
 * sites' attribution (report_stacks.c). Run on traces whose answers are
 * known by construction (a hand-made lane with every edge of the rule), on
 * generated ones (random kinds at often equal times, ping-pong, convoy),
 * and on any trace databases given as arguments (recorded ones: the
 * integration tests pass one made by a real interpreter).
 */
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ring.h"
#include "tdb_read.h"
#include "tdb_view.h"
#include "trace_gen.h"
#include "trace_intervals.h"
#include "report.h"
#include "check.h"
#include "db_round_trip.h"

/* What the walker says of one lane. */
struct lane_sum {
    int64_t held_ns, wait_ns;
    int64_t nholds, nwaits, nforced;
    /* waits whose BUSY has a stack; forced holds that a RELEASE with a stack ends */
    int64_t site_wait_ns, site_waits, site_forced;
    const struct trace_thread *t;
};

static void on_hold(void *ctx, const struct trace_hold *h)
{
    struct lane_sum *s = ctx;
    s->held_ns += h->end_ns - h->start_ns;
    s->nholds++;
    s->nforced += h->forced && !h->open;
    if (!h->open && s->t->events[h->end_event].kind == RING_EV_RELEASE && s->t->events[h->end_event].stack)
        s->site_forced += h->forced;
}

static void on_wait(void *ctx, const struct trace_wait *w)
{
    struct lane_sum *s = ctx;
    s->wait_ns += w->end_ns - w->start_ns;
    s->nwaits++;
    if (s->t->events[w->start_event].stack) {
        s->site_wait_ns += w->end_ns - w->start_ns;
        s->site_waits++;
    }
}

static struct lane_sum walk(const struct trace_process *p, const struct trace_thread *t, unsigned gil)
{
    int64_t *drops;
    ptrdiff_t nd = trace_drop_requests(p, gil, &drops);
    CHECK(nd >= 0);
    struct lane_sum s = {.t = t};
    const struct trace_interval_sink sink = {on_hold, on_wait, &s};
    trace_intervals(p, t, gil, drops, (size_t)nd, &sink);
    free(drops);
    return s;
}

static int64_t query(sqlite3 *db, const char *sql, int32_t pid, uint32_t tid, unsigned gil)
{
    sqlite3_stmt *st;
    CHECK(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK);
    sqlite3_bind_int(st, 1, pid);
    sqlite3_bind_int64(st, 2, tid);
    sqlite3_bind_int(st, 3, (int)gil);
    CHECK(sqlite3_step(st) == SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

#define CHECK_LANE(what, a, b)                                                                         \
    do {                                                                                               \
        if ((a) != (b)) {                                                                              \
            fprintf(stderr, "%s: pid %d tid %u gil %u: walker %lld, %s %lld\n", label, p->pid, t->tid, \
                    gil, (long long)(a), what, (long long)(b));                                        \
            exit(1);                                                                                   \
        }                                                                                              \
    } while (0)

/* The stored tables (views) against the walker, lane by lane. */
static void check_tables(const char *label, sqlite3 *db, const struct trace_process *p, const struct trace_thread *t,
                         unsigned gil, const struct lane_sum *s)
{
    const char *w = " WHERE pid = ?1 AND tid = ?2 AND gil = ?3";
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT coalesce(sum(end_ns - start_ns), 0) FROM holds%s", w);
    CHECK_LANE("holds view time", s->held_ns, query(db, sql, p->pid, t->tid, gil));
    snprintf(sql, sizeof sql, "SELECT count(*) FROM holds%s", w);
    CHECK_LANE("holds view count", s->nholds, query(db, sql, p->pid, t->tid, gil));
    snprintf(sql, sizeof sql, "SELECT coalesce(sum(forced), 0) FROM holds%s", w);
    CHECK_LANE("holds view forced", s->nforced, query(db, sql, p->pid, t->tid, gil));
    snprintf(sql, sizeof sql, "SELECT coalesce(sum(end_ns - start_ns), 0) FROM waits%s", w);
    CHECK_LANE("waits view time", s->wait_ns, query(db, sql, p->pid, t->tid, gil));
    snprintf(sql, sizeof sql, "SELECT count(*) FROM waits%s", w);
    CHECK_LANE("waits view count", s->nwaits, query(db, sql, p->pid, t->tid, gil));
}

/* The viewer's lane `pid/tid/gil`, which must exist when the walker saw any interval. */
static long find_lane(struct tdb_view *v, int32_t pid, uint32_t tid, unsigned gil)
{
    for (size_t i = 0; i < tdb_view_lane_count(v); i++) {
        const struct tdb_view_lane *l = tdb_view_lane(v, i);
        if (l->pid == pid && l->tid == tid && l->gil == gil)
            return (long)i;
    }
    return -1;
}

/* The summary builder's lane totals and the viewer's raw replay of the
 * whole lane against the walker. The replay's columns are floats: it
 * agrees within a float's rounding per column. */
static void check_view(const char *label, struct tdb_view *v, const struct trace_process *p,
                       const struct trace_thread *t, unsigned gil, const struct lane_sum *s)
{
    long li = find_lane(v, p->pid, t->tid, gil);
    if (li < 0) {
        CHECK_LANE("lanes with intervals", s->nholds + s->nwaits, 0);
        return;
    }
    const struct tdb_view_lane *l = tdb_view_lane(v, (size_t)li);
    CHECK_LANE("summary held", s->held_ns, l->sum.total.held_ns);
    CHECK_LANE("summary waited", s->wait_ns, l->sum.total.wait_ns);
    double span = (double)(l->sum.end_t - l->sum.first_t) + 1;
    double w = span / 64;
    while (!tdb_view_is_raw(v, (size_t)li, w) && w > 1)
        w /= 2;
    CHECK(tdb_view_is_raw(v, (size_t)li, w));
    int n = (int)ceil(span / w) + 1;
    struct tdb_column *c = calloc((size_t)n, sizeof *c);
    CHECK(c);
    CHECK(tdb_view_columns(v, (size_t)li, (double)l->sum.first_t, w, n, c) == 0);
    double held = 0, wait = 0;
    for (int i = 0; i < n; i++) {
        held += (double)c[i].held * w;
        wait += (double)c[i].wait * w;
    }
    free(c);
    double tol = 1e-6 * span * n / 64 + 2;
    if (fabs(held - (double)s->held_ns) > tol || fabs(wait - (double)s->wait_ns) > tol) {
        fprintf(stderr, "%s: pid %d tid %u gil %u: walker held %lld waited %lld, replay %.0f %.0f (tolerance %.0f)\n",
                label, p->pid, t->tid, gil, (long long)s->held_ns, (long long)s->wait_ns, held, wait, tol);
        exit(1);
    }
}

static unsigned gil_count(const struct trace_process *p)
{
    unsigned n = 1;
    for (size_t i = 0; i < p->thread_count; i++)
        for (size_t k = 0; k < p->threads[i].count; k++)
            if (p->threads[i].events[k].gil >= n)
                n = p->threads[i].events[k].gil + 1u;
    return n;
}

/* The report's thread totals (all GILs) and stack sites against the walker. */
static void check_report(const char *label, const struct trace_process *p)
{
    struct report_process r;
    const struct report_options o = {.sites = 1u << 20};
    CHECK(report_compute(p, &o, &r) == 0);
    struct lane_sum want = {0};
    for (size_t i = 0; i < p->thread_count; i++) {
        const struct trace_thread *t = &p->threads[i];
        unsigned gil = gil_count(p); /* all of them */
        int64_t held = 0, waited = 0;
        for (unsigned g = 0; g < gil; g++) {
            struct lane_sum s = walk(p, t, g);
            held += s.held_ns;
            waited += s.wait_ns;
            want.site_wait_ns += s.site_wait_ns;
            want.site_waits += s.site_waits;
            want.site_forced += s.site_forced;
        }
        for (size_t k = 0; k < r.nthreads; k++)
            if (r.threads[k].tid == t->tid) {
                CHECK_LANE("report held", held, r.threads[k].held_ns);
                CHECK_LANE("report waited", waited, r.threads[k].waited_ns);
            }
    }
    struct lane_sum got = {0};
    for (size_t i = 0; i < r.nwait_sites; i++) {
        got.site_wait_ns += r.wait_sites[i].wait_ns;
        got.site_waits += (int64_t)r.wait_sites[i].count;
    }
    for (size_t i = 0; i < r.nrelease_sites; i++)
        got.site_forced += (int64_t)r.release_sites[i].forced;
    if (got.site_wait_ns != want.site_wait_ns || got.site_waits != want.site_waits ||
        got.site_forced != want.site_forced) {
        fprintf(stderr,
                "%s: pid %d: walker: %lld waits with a stack (%lld ns), %lld forced releases with a stack; "
                "stack sites: %lld (%lld ns), %lld\n",
                label, p->pid, (long long)want.site_waits, (long long)want.site_wait_ns, (long long)want.site_forced,
                (long long)got.site_waits, (long long)got.site_wait_ns, (long long)got.site_forced);
        exit(1);
    }
    report_free(&r);
}

/* Every reader against the walker, on process `p` as read back from `db`
 * (the database at `path`). Returns the lanes compared. */
static size_t check_process(const char *label, sqlite3 *db, struct tdb_view *v, const struct trace_process *p)
{
    unsigned ngils = gil_count(p);
    for (size_t i = 0; i < p->thread_count; i++)
        for (unsigned gil = 0; gil < ngils; gil++) {
            const struct trace_thread *t = &p->threads[i];
            struct lane_sum s = walk(p, t, gil);
            check_tables(label, db, p, t, gil, &s);
            check_view(label, v, p, t, gil, &s);
        }
    check_report(label, p);
    return p->thread_count * ngils;
}

/* Every process of the database at `path`. */
static size_t check_database(const char *label, const char *path)
{
    char err[256];
    sqlite3 *db = tdb_open_read(path, err, sizeof err);
    if (!db) {
        fprintf(stderr, "%s: %s\n", path, err);
        exit(1);
    }
    struct tdb_view *v = tdb_view_open(path, &(struct tdb_view_options){0}, err, sizeof err);
    if (!v) {
        fprintf(stderr, "%s: %s\n", path, err);
        exit(1);
    }
    size_t lanes = 0;
    for (size_t i = 0; i < tdb_view_process_count(v); i++) {
        struct trace_process p;
        CHECK(tdb_read_process(db, tdb_view_process(v, i)->pid, &p, err, sizeof err) == 0);
        lanes += check_process(label, db, v, &p);
        trace_process_free(&p);
    }
    tdb_view_close(v);
    sqlite3_close(db);
    return lanes;
}

/* Give RELEASE and BUSY events one of two stacks (and some none), so that
 * the stack sites have something to attribute. */
static void add_stacks(struct trace_process *p)
{
    static const char *const names[] = {"time.sleep", "sock_recv"};
    p->stacks_recorded = true;
    p->stack_count = 2;
    p->stacks = calloc(2, sizeof *p->stacks);
    CHECK(p->stacks);
    for (size_t i = 0; i < 2; i++) {
        p->stacks[i].depth = 2;
        p->stacks[i].frames = calloc(2, sizeof *p->stacks[i].frames);
        CHECK(p->stacks[i].frames);
        p->stacks[i].frames[0] = (struct trace_frame){.address = 0x1000, .module = -1, .symbol = strdup("drop_gil")};
        p->stacks[i].frames[1] = (struct trace_frame){.address = 0x2000 + i, .module = -1, .symbol = strdup(names[i])};
        CHECK(p->stacks[i].frames[0].symbol && p->stacks[i].frames[1].symbol);
    }
    for (size_t i = 0; i < p->thread_count; i++)
        for (size_t k = 0; k < p->threads[i].count; k++) {
            struct trace_event *e = &p->threads[i].events[k];
            if (e->kind == RING_EV_RELEASE || e->kind == RING_EV_BUSY)
                e->stack = (uint32_t)(k % 3); /* 0: none */
        }
}

/* Write `p`, read it back and check every reader on what came back: the
 * writer moves an event at its lane's previous time 1 ns later (lane times
 * strictly increase in the database), so the stored trace, not `p`, is
 * what they all read. */
static size_t check_written(const char *label, struct trace_process *p)
{
    char path[64];
    struct trace_process back;
    sqlite3 *db = db_round_trip(p, p->pid, &back, path);
    char err[256];
    struct tdb_view *v = tdb_view_open(path, &(struct tdb_view_options){0}, err, sizeof err);
    if (!v) {
        fprintf(stderr, "%s: %s\n", label, err);
        exit(1);
    }
    CHECK_EQ_INT(back.stack_count, p->stack_count);
    size_t lanes = check_process(label, db, v, &back);
    tdb_view_close(v);
    sqlite3_close(db);
    unlink(path);
    trace_process_free(&back);
    return lanes;
}

/* One lane with every edge of the rule: a release the trace never saw
 * begin, BUSY while held, a wait ended by a new BUSY, retries and timeouts
 * outside a wait, an ACQUIRE ending a hold, a forced hold, and a hold and a
 * wait both open at the end. */
static void hand_made(struct trace_process *p)
{
    CHECK(trace_gen_process_init(p, 300, 1000000, 9000000) == 0);
    struct trace_thread *a = trace_gen_thread(p, 301, "a");
    CHECK(a);
    static const struct {
        int64_t t;
        unsigned kind;
    } ev[] = {
        {1100000, RING_EV_RELEASE}, {1200000, RING_EV_RETRY},   {1300000, RING_EV_BUSY},
        {1400000, RING_EV_TIMEOUT}, {1500000, RING_EV_BUSY},    {1600000, RING_EV_RETRY},
        {1700000, RING_EV_ACQUIRE}, {1800000, RING_EV_BUSY},    {1900000, RING_EV_RELEASE},
        {2000000, RING_EV_ACQUIRE}, {2100000, RING_EV_ACQUIRE}, {2200000, RING_EV_RELEASE},
        {2300000, RING_EV_ACQUIRE}, {2400000, RING_EV_BUSY},
    };
    for (size_t i = 0; i < sizeof ev / sizeof ev[0]; i++)
        CHECK(trace_gen_event(a, ev[i].t, ev[i].kind) == 0);
    struct trace_thread *b = trace_gen_thread(p, 302, "b");
    CHECK(b);
    CHECK(trace_gen_event(b, 2150000, RING_EV_DROP_REQUEST) == 0);
}

int main(int argc, char **argv)
{
    size_t lanes = 0;
    struct trace_process p;
    hand_made(&p);
    /* the walker's answers for this lane, by construction */
    struct lane_sum s = walk(&p, &p.threads[0], 0);
    CHECK_EQ_INT(s.nholds, 4);            /* 1.7-1.9, 2.0-2.1, 2.1-2.2 (forced), 2.3-end */
    CHECK_EQ_INT(s.held_ns, 400000 + 6700000);
    CHECK_EQ_INT(s.nforced, 1);
    CHECK_EQ_INT(s.nwaits, 4);            /* 1.3-1.5, 1.5-1.7, 1.8-2.0, 2.4-end */
    CHECK_EQ_INT(s.wait_ns, 600000 + 6600000);
    add_stacks(&p);
    lanes += check_written("hand-made", &p);
    trace_process_free(&p);

    static const enum trace_gen_pattern patterns[] = {TRACE_GEN_RANDOM, TRACE_GEN_PINGPONG, TRACE_GEN_CONVOY};
    static const char *const names[] = {"random", "pingpong", "convoy"};
    for (size_t k = 0; k < 3; k++)
        for (uint64_t seed = 1; seed <= 3; seed++) {
            struct trace_gen_options o = {.pattern = patterns[k], .events = 4000, .threads = 4, .seed = seed};
            CHECK(trace_gen_process(&o, 0, &p) == 0);
            add_stacks(&p);
            lanes += check_written(names[k], &p);
            trace_process_free(&p);
        }
    for (int i = 1; i < argc; i++)
        lanes += check_database(argv[i], argv[i]);
    printf("walker agreement: %zu lanes, %d recorded traces: tables, summaries, replay, report, stack sites agree\n",
           lanes, argc - 1);
    return 0;
}
