/*
 * test_report.c — giltrace report's figures against traces whose answers are
 * known: a hand-made two-thread trace (every figure worked out by hand in the
 * comments), and random traces from a simulated GIL, where holds, waits,
 * blame, handoffs and percentiles are recomputed by brute force. Both go
 * through a real trace database (tdb_write, then analysis_trace_load), and the JSON
 * form is parsed back and compared.
 */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ring.h"
#include "tdb_write.h"
#include "export_chrome.h"
#include "histogram.h"
#include "report.h"
#include "report_json.h"
#include "report_png.h"
#include "png_io.h"
#include "render.h"
#include "analysis_trace_load.h"
#include "check.h"

#define US 1000LL
#define MS 1000000LL
#define T0 9000000000LL

static char *write_db(struct trace_process *procs, size_t n)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/giltrace-report-XXXXXX");
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    char err[512];
    struct tdb_writer *w;
    CHECK(tdb_writer_open(path, TDB_CREATE, &w, err, sizeof err) == 0);
    for (size_t i = 0; i < n; i++)
        CHECK(tdb_writer_add_process(w, &procs[i], err, sizeof err) == 0);
    CHECK(tdb_writer_close(w, err, sizeof err) == 0);
    return path;
}

struct evb {
    struct trace_event v[256];
    size_t n;
};

/* Add an event at `ms` milliseconds (fractions allowed) after T0. */
static void at(struct evb *b, double ms, unsigned kind)
{
    CHECK(b->n < 256);
    b->v[b->n++] = (struct trace_event){.ts_ns = T0 + (int64_t)llround(ms * MS), .kind = (uint8_t)kind, .cpu = 0};
}

static int64_t within(int64_t reported, int64_t exact)
{
    /* histogram_quantile: never below the value, above it by less than 1/32 */
    return reported >= exact && reported <= exact + exact / 32 + 1;
}

/* Timeline (ms after T0; process ends at 100), one GIL, switch interval 5 ms:
 *   A (100, MainThread): hold [0,10) vol; wait [12,20) (drop 17); hold [20,22) vol;
 *       wait [23,24); hold [24,30) vol; wait [31,40) (drop 36); hold [40,90) forced
 *       (B's drop at 60); wait [91,100) still open at the end.
 *   B (101, Thread-1): wait [1,10.5) (retry 3); hold [10.5,20) forced (A's drop 17);
 *       wait [20.5,22.5); hold [22.5,23.5) vol; wait [29,30.5); hold [30.5,40) forced
 *       (A's drop 36); wait [41,90.5) (drop 60); hold [90.5,95) vol. */
static void build_known(struct trace_process *p, struct evb *a, struct evb *b)
{
    a->n = b->n = 0;
    at(a, 0, RING_EV_ACQUIRE);
    at(a, 10, RING_EV_RELEASE);
    at(a, 12, RING_EV_BUSY);
    at(a, 17, RING_EV_TIMEOUT);
    at(a, 17.001, RING_EV_DROP_REQUEST);
    at(a, 20, RING_EV_ACQUIRE);
    at(a, 22, RING_EV_RELEASE);
    at(a, 23, RING_EV_BUSY);
    at(a, 24, RING_EV_ACQUIRE);
    at(a, 30, RING_EV_RELEASE);
    at(a, 31, RING_EV_BUSY);
    at(a, 36, RING_EV_TIMEOUT);
    at(a, 36.001, RING_EV_DROP_REQUEST);
    at(a, 40, RING_EV_ACQUIRE);
    at(a, 90, RING_EV_RELEASE);
    at(a, 90.001, RING_EV_FORCED_SWITCH);
    at(a, 91, RING_EV_BUSY);
    at(a, 96, RING_EV_TIMEOUT);
    at(a, 96.5, RING_EV_RETRY);

    at(b, 1, RING_EV_BUSY);
    at(b, 3, RING_EV_RETRY);
    at(b, 10.5, RING_EV_ACQUIRE);
    at(b, 20, RING_EV_RELEASE);
    at(b, 20.001, RING_EV_FORCED_SWITCH);
    at(b, 20.5, RING_EV_BUSY);
    at(b, 22.5, RING_EV_ACQUIRE);
    at(b, 23.5, RING_EV_RELEASE);
    at(b, 29, RING_EV_BUSY);
    at(b, 30.5, RING_EV_ACQUIRE);
    at(b, 40, RING_EV_RELEASE);
    at(b, 40.001, RING_EV_FORCED_SWITCH);
    at(b, 41, RING_EV_BUSY);
    at(b, 60, RING_EV_TIMEOUT);
    at(b, 60.001, RING_EV_DROP_REQUEST);
    at(b, 90.5, RING_EV_ACQUIRE);
    at(b, 95, RING_EV_RELEASE);

    static struct trace_thread threads[2];
    threads[0] = (struct trace_thread){.tid = 100, .name = "MainThread", .count = a->n, .events = a->v};
    threads[1] = (struct trace_thread){.tid = 101, .name = "Thread-1 (spin)", .count = b->n, .events = b->v};
    static struct trace_gil gil = {.index = 0, .kind = RING_GIL_CONDVAR, .address = 0x1000};
    static char *argv[] = {"python3", "known.py"};
    *p = (struct trace_process){.pid = 100, .ppid = 1, .exe = "/usr/bin/python3", .argv = argv, .argc = 2,
                                .python_version = "3.11.2", .python_hexversion = 0x030b02f0,
                                .gil_kind = RING_GIL_CONDVAR, .switch_interval_us = 5000, .start_ns = T0,
                                .end_ns = T0 + 100 * MS, .exited = true, .gil_count = 1, .gils = &gil,
                                .thread_count = 2, .threads = threads};
}

static int64_t blame(const struct report_process *r, size_t w, size_t h)
{
    return report_blame_ns(r, w, h);
}

/* The charts of the known trace: the utilisation bars cover what the ten
 * bins say (in the renderer's held green), both threads' histograms are
 * drawn (waiting red), and the switch interval is marked. */
static void check_png(const struct report_process *r, const char *db)
{
    char png[] = "/tmp/giltrace-report-png-XXXXXX";
    int fd = mkstemp(png);
    CHECK(fd >= 0);
    close(fd);
    char err[256];
    if (report_png(png, true, r, 1, db, err, sizeof err) != 0) { /* over mkstemp's empty file */
        /* only a missing font may stop it: fonts-dejavu-core */
        CHECK(strstr(err, "font") != NULL);
        printf("report --png not checked: %s\n", err);
        unlink(png);
        return;
    }
    uint32_t *px;
    int w, h;
    CHECK(png_io_read_argb(png, &px, &w, &h, err, sizeof err) == 0);
    CHECK_EQ_INT(w, 1000);
    const uint32_t *pal = render_palette();
    uint32_t held = pal[render_blend_index(1, 0)], waiting = pal[render_blend_index(0, 1)];
    long green = 0, red = 0, blue = 0;
    for (long i = 0; i < (long)w * h; i++) {
        green += (px[i] | 0xff000000u) == held;
        red += (px[i] | 0xff000000u) == waiting;
        blue += (px[i] | 0xff000000u) == 0xff1f77b4u;
    }
    /* ten bins over ~930 px, 88 px tall at 100%: sum of the utilisations
     * (9.25) x 93 px x 88 px, give or take the rounding of bar edges */
    double want = 9.25 * 93 * 88;
    CHECK(green > want * 0.9 && green < want * 1.1);
    CHECK(red > 0 && blue > 0);
    free(px);
    unlink(png);
}

static void check_known(void)
{
    struct trace_process p;
    struct evb a, b;
    build_known(&p, &a, &b);
    char *path = write_db(&p, 1);
    struct trace_process *procs;
    size_t n;
    char err[512];
    CHECK(analysis_trace_load(path, &procs, &n, err, sizeof err) == 0);
    CHECK_EQ_INT(n, 1);
    struct report_process r;
    struct report_options o = {.bins = 10};
    CHECK(report_compute(&procs[0], &o, &r) == 0);

    CHECK_EQ_INT(r.duration_ns, 100 * MS);
    CHECK_EQ_INT(r.nthreads, 2);
    const struct report_thread *A = &r.threads[0], *B = &r.threads[1];
    CHECK_EQ_INT(A->tid, 100);
    CHECK_STR(A->name, "MainThread");
    CHECK_STR(B->name, "Thread-1 (spin)");
    /* A: holds 10 + 2 + 6 + 50; waits 8 + 1 + 9 + 9 (open); life 0..100 */
    CHECK_EQ_INT(A->held_ns, 68 * MS);
    CHECK_EQ_INT(A->waited_ns, 27 * MS);
    CHECK_EQ_INT(A->first_ns, T0);
    CHECK_EQ_INT(A->end_ns, T0 + 100 * MS);
    CHECK_EQ_INT(A->acquires, 4);
    CHECK_EQ_INT(A->releases_voluntary, 3);
    CHECK_EQ_INT(A->releases_forced, 1);
    CHECK_EQ_INT(A->events[RING_EV_BUSY], 4);
    CHECK_EQ_INT(A->events[RING_EV_TIMEOUT], 3);
    CHECK_EQ_INT(A->events[RING_EV_RETRY], 1);
    CHECK_EQ_INT(A->wait.count, 4);
    CHECK_EQ_INT(A->wait.max, 9 * MS);
    CHECK_EQ_INT(A->wait.min, 1 * MS);
    CHECK(within(histogram_quantile(&A->wait, 0.5), 8 * MS));
    CHECK(within(histogram_quantile(&A->wait, 0.25), 1 * MS));
    CHECK_EQ_INT(histogram_quantile(&A->wait, 0.99), 9 * MS);
    /* convoys: waits after a voluntary release are [12,20) 8 ms, [23,24) 1 ms,
     * [31,40) 9 ms; two reach the 5 ms switch interval */
    CHECK_EQ_INT(r.convoy_threshold_ns, 5 * MS);
    CHECK_EQ_INT(A->waits_after_voluntary, 3);
    CHECK_EQ_INT(A->convoys, 2);
    CHECK_EQ_INT(A->convoy_wait_ns, 17 * MS);
    CHECK_EQ_INT(A->convoy_max_ns, 9 * MS);
    CHECK(!A->convoy); /* too few to flag */
    /* B: holds 9.5 + 1 + 9.5 + 4.5; waits 9.5 + 2 + 1.5 + 49.5; life 1..95 */
    CHECK_EQ_INT(B->held_ns, 24500 * US);
    CHECK_EQ_INT(B->waited_ns, 62500 * US);
    CHECK_EQ_INT(B->end_ns - B->first_ns, 94 * MS);
    CHECK_EQ_INT(B->releases_voluntary, 2);
    CHECK_EQ_INT(B->releases_forced, 2);
    CHECK_EQ_INT(B->waits_after_voluntary, 1);
    CHECK_EQ_INT(B->convoys, 0);
    CHECK_EQ_INT(r.convoys, 2);

    /* blame: A waited on B 8 + 0.5 + 9 + 4, on nobody 0.5 + 5 (the open end);
     * B waited on A 9 + 1.5 + 1 + 49, on nobody 4 x 0.5 */
    CHECK_EQ_INT(blame(&r, 0, 0), 0);
    CHECK_EQ_INT(blame(&r, 0, 1), 21500 * US);
    CHECK_EQ_INT(blame(&r, 0, 2), 5500 * US);
    CHECK_EQ_INT(blame(&r, 1, 0), 60500 * US);
    CHECK_EQ_INT(blame(&r, 1, 1), 0);
    CHECK_EQ_INT(blame(&r, 1, 2), 2 * MS);

    /* the GIL: 8 holds, 7 handoffs, 3 forced; held 92.5 of 100 ms */
    CHECK_EQ_INT(r.ngils, 1);
    const struct report_gil *g = &r.gils[0];
    CHECK_EQ_INT(g->holds, 8);
    CHECK_EQ_INT(g->handoffs, 7);
    CHECK_EQ_INT(g->forced_releases, 3);
    CHECK(g->forced_observable);
    CHECK_EQ_INT(g->held_ns, 92500 * US);
    /* handoff latency: 7 releases with a waiter, 5 x 0.5 ms and 2 x 0 */
    CHECK_EQ_INT(g->handoff.count, 7);
    CHECK_EQ_INT(g->handoff.min, 0);
    CHECK_EQ_INT(g->handoff.max, 500 * US);
    CHECK_EQ_INT(histogram_quantile(&g->handoff, 0.5), 500 * US);
    CHECK_EQ_INT(histogram_quantile(&g->handoff, 0.2), 0);
    /* utilisation per 10 ms */
    static const double want[10] = {1, .95, .9, .95, 1, 1, 1, 1, 1, .45};
    CHECK_EQ_INT(g->bins, 10);
    CHECK_EQ_INT(g->bin_ns, 10 * MS);
    for (int k = 0; k < 10; k++)
        CHECK(fabs(g->utilisation[k] - want[k]) < 1e-9);

    /* the same through JSON */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    CHECK(report_json(f, &r, 1, path) == 0);
    fclose(f);
    json_error_t je;
    json_t *root = json_loads(buf, 0, &je);
    CHECK(root != NULL);
    CHECK_EQ_INT(json_integer_value(json_object_get(root, "report_version")), 1);
    json_t *jp = json_array_get(json_object_get(root, "processes"), 0);
    CHECK_EQ_INT(json_integer_value(json_object_get(jp, "pid")), 100);
    CHECK_EQ_INT(json_integer_value(json_object_get(jp, "convoys")), 2);
    json_t *ja = json_array_get(json_object_get(jp, "threads"), 0);
    CHECK_STR(json_string_value(json_object_get(ja, "name")), "MainThread");
    CHECK_EQ_INT(json_integer_value(json_object_get(ja, "held_ns")), 68 * MS);
    CHECK(fabs(json_real_value(json_object_get(ja, "held_share")) - 0.68) < 1e-6);
    CHECK_EQ_INT(json_integer_value(json_object_get(json_object_get(ja, "wait_latency_ns"), "max")), 9 * MS);
    CHECK_EQ_INT(json_integer_value(json_object_get(json_object_get(ja, "releases"), "forced")), 1);
    CHECK_EQ_INT(json_integer_value(json_object_get(json_object_get(ja, "events"), "BUSY")), 4);
    json_t *jg = json_array_get(json_object_get(jp, "gils"), 0);
    CHECK_EQ_INT(json_integer_value(json_object_get(jg, "forced_switches")), 3);
    CHECK(fabs(json_real_value(json_object_get(jg, "forced_switches_per_s")) - 30.0) < 1e-6);
    CHECK_EQ_INT(json_array_size(json_object_get(json_object_get(jg, "utilisation_over_time"), "values")), 10);
    /* blame rows sum to the wait totals, the free share has holder null */
    json_t *jb = json_object_get(jp, "blame");
    int64_t sum_a = 0, free_a = 0;
    for (size_t i = 0; i < json_array_size(jb); i++) {
        json_t *e = json_array_get(jb, i);
        if (json_integer_value(json_object_get(e, "waiter")) != 100)
            continue;
        sum_a += json_integer_value(json_object_get(e, "ns"));
        if (json_is_null(json_object_get(e, "holder")))
            free_a += json_integer_value(json_object_get(e, "ns"));
    }
    CHECK_EQ_INT(sum_a, 27 * MS);
    CHECK_EQ_INT(free_a, 5500 * US);
    CHECK(json_is_null(json_object_get(jp, "release_sites")));
    json_decref(root);
    free(buf);

    /* the Chrome export of the same trace: 16 slices (8 holds, 8 waits) as
     * begin/end pairs, a handoff arrow (s, f) per handoff, the GIL's
     * utilisation as counter samples, 12
     * instants (A: 3 TIMEOUT, 2 DROP_REQUEST, 1 FORCED_SWITCH, 1 RETRY; B: 1
     * RETRY, 2 FORCED_SWITCH, 1 TIMEOUT, 1 DROP_REQUEST), and as metadata the
     * process's name and labels and each thread's name and sort index */
    buf = NULL;
    len = 0;
    f = open_memstream(&buf, &len);
    uint64_t written;
    CHECK(export_chrome(f, procs, n, path, NULL, &written) == 0);
    fclose(f);
    root = json_loads(buf, 0, &je);
    CHECK(root != NULL);
    json_t *evs = json_object_get(root, "traceEvents");
    int begins = 0, ends = 0, inst = 0, meta = 0, flow_s = 0, flow_f = 0, counters = 0;
    for (size_t i = 0; i < json_array_size(evs); i++) {
        const char *ph = json_string_value(json_object_get(json_array_get(evs, i), "ph"));
        begins += strcmp(ph, "B") == 0;
        ends += strcmp(ph, "E") == 0;
        inst += strcmp(ph, "i") == 0;
        meta += strcmp(ph, "M") == 0;
        flow_s += strcmp(ph, "s") == 0;
        flow_f += strcmp(ph, "f") == 0;
        counters += strcmp(ph, "C") == 0;
    }
    CHECK_EQ_INT(json_array_size(evs), written);
    CHECK_EQ_INT(begins, 16);
    CHECK_EQ_INT(ends, 16);
    CHECK_EQ_INT(inst, 7 + 5);
    CHECK_EQ_INT(meta, 2 + 2 * 2);
    CHECK_EQ_INT(flow_s, (int64_t)r.gils[0].handoffs);
    CHECK_EQ_INT(flow_f, (int64_t)r.gils[0].handoffs);
    CHECK(counters > 0);
    /* A's first hold: 0..10 ms from the trace's start, in microseconds */
    json_t *first = NULL, *end = NULL;
    for (size_t i = 0; i < json_array_size(evs) && !end; i++) {
        json_t *e = json_array_get(evs, i);
        const char *ph = json_string_value(json_object_get(e, "ph"));
        if (!first && strcmp(ph, "B") == 0)
            first = e;
        else if (first && strcmp(ph, "E") == 0)
            end = e;
    }
    CHECK_STR(json_string_value(json_object_get(first, "name")), "holds GIL");
    CHECK_EQ_INT(json_integer_value(json_object_get(first, "tid")), 100);
    CHECK(fabs(json_number_value(json_object_get(first, "ts"))) < 1e-9);
    CHECK_STR(json_string_value(json_object_get(end, "name")), "holds GIL");
    CHECK(fabs(json_number_value(json_object_get(end, "ts")) - 10000.0) < 1e-9);
    json_decref(root);
    free(buf);

    check_png(&r, path);
    report_free(&r);
    analysis_trace_load_free(procs, n);
    unlink(path);
}

/* ---- random traces from a simulated GIL ---- */

static uint64_t rng = 88172645463325252ull;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}
static int64_t rand_between(int64_t lo, int64_t hi)
{
    return lo + (int64_t)(next_rand() % (uint64_t)(hi - lo + 1));
}

#define SIM_THREADS 5
#define SIM_STEPS 4000

struct sim_thread {
    struct trace_event *ev;
    size_t n, cap;
    int state; /* 0 off the GIL, 1 waiting, 2 holding */
    int64_t ready_at;
};

static void sim_add(struct sim_thread *t, int64_t ts, unsigned kind)
{
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 64;
        t->ev = realloc(t->ev, t->cap * sizeof *t->ev);
        CHECK(t->ev != NULL);
    }
    t->ev[t->n++] = (struct trace_event){.ts_ns = ts, .kind = (uint8_t)kind};
}

/* A GIL passed between threads: holders run for a while and either release
 * (voluntarily, or forced after a waiter's drop request), waiters are picked
 * at random; releases and acquires are a few us apart. */
static void simulate(struct trace_process *p, struct sim_thread *th)
{
    memset(th, 0, SIM_THREADS * sizeof *th);
    int64_t now = T0 + 1000;
    int holder = -1;
    for (int step = 0; step < SIM_STEPS; step++) {
        now += rand_between(1, 3000) * US / 10;
        /* threads done with I/O want the GIL */
        for (int i = 0; i < SIM_THREADS; i++)
            if (th[i].state == 0 && th[i].ready_at <= now) {
                if (holder < 0 && rand_between(0, 1)) {
                    sim_add(&th[i], now, RING_EV_ACQUIRE);
                    th[i].state = 2;
                    holder = i;
                } else {
                    sim_add(&th[i], now, RING_EV_BUSY);
                    th[i].state = 1;
                }
                now += 1000;
            }
        if (holder >= 0) {
            /* a waiter may ask for a drop; the holder may release */
            int waiter = -1;
            for (int i = 0; i < SIM_THREADS; i++)
                if (th[i].state == 1 && (waiter < 0 || rand_between(0, 1)))
                    waiter = i;
            if (waiter >= 0 && rand_between(0, 3) == 0) {
                sim_add(&th[waiter], now, RING_EV_TIMEOUT);
                sim_add(&th[waiter], now + 100, RING_EV_DROP_REQUEST);
                now += 500;
            }
            if (rand_between(0, 2) == 0) {
                sim_add(&th[holder], now, RING_EV_RELEASE);
                bool io = rand_between(0, 2) == 0;
                th[holder].state = io ? 0 : 1;
                if (io)
                    th[holder].ready_at = now + rand_between(100, 20000) * US / 10;
                else
                    sim_add(&th[holder], now + 200, RING_EV_BUSY);
                holder = -1;
                now += rand_between(300, 3000);
            }
        }
        if (holder < 0) {
            int pick = -1;
            for (int i = 0; i < SIM_THREADS; i++)
                if (th[i].state == 1 && (pick < 0 || rand_between(0, 2) == 0))
                    pick = i;
            if (pick >= 0) {
                if (rand_between(0, 4) == 0)
                    sim_add(&th[pick], now, RING_EV_RETRY);
                now += rand_between(1, 500);
                sim_add(&th[pick], now, RING_EV_ACQUIRE);
                th[pick].state = 2;
                holder = pick;
            }
        }
    }
    static struct trace_thread threads[SIM_THREADS];
    for (int i = 0; i < SIM_THREADS; i++)
        threads[i] = (struct trace_thread){.tid = (uint32_t)(200 + i), .count = th[i].n, .events = th[i].ev};
    static struct trace_gil gil = {.index = 0, .kind = RING_GIL_CONDVAR};
    *p = (struct trace_process){.pid = 200, .gil_kind = RING_GIL_CONDVAR, .switch_interval_us = 500,
                                .start_ns = T0, .end_ns = now + 5 * MS, .gil_count = 1, .gils = &gil,
                                .thread_count = SIM_THREADS, .threads = threads};
}

struct iv {
    int64_t s, e;
    int thread;
};

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Brute-force holds and waits of one thread, by the views' rules. */
static size_t brute(const struct trace_thread *t, int64_t end, int which, struct iv *out, int thread)
{
    size_t n = 0;
    int64_t open = -1;
    for (size_t k = 0; k < t->count; k++) {
        unsigned kind = t->events[k].kind;
        int64_t ts = t->events[k].ts_ns;
        bool closes = which == 0 ? kind == RING_EV_RELEASE || kind == RING_EV_ACQUIRE
                                 : kind == RING_EV_ACQUIRE || kind == RING_EV_BUSY;
        if (open >= 0 && closes) {
            out[n++] = (struct iv){open, ts, thread};
            open = -1;
        }
        if ((which == 0 && kind == RING_EV_ACQUIRE) || (which == 1 && kind == RING_EV_BUSY))
            open = ts;
    }
    if (open >= 0)
        out[n++] = (struct iv){open, end, thread};
    return n;
}

static void check_random(int round)
{
    struct trace_process p;
    struct sim_thread th[SIM_THREADS];
    simulate(&p, th);
    char *path = write_db(&p, 1);
    struct trace_process *procs;
    size_t n;
    char err[512];
    CHECK(analysis_trace_load(path, &procs, &n, err, sizeof err) == 0);
    const struct trace_process *q = &procs[0];
    struct report_process r;
    CHECK(report_compute(q, NULL, &r) == 0);

    static struct iv holds[SIM_STEPS * 4], waits[SIM_STEPS * 4];
    size_t nh = 0, nw = 0;
    for (size_t i = 0; i < r.nthreads; i++) {
        const struct trace_thread *t = NULL;
        for (size_t k = 0; k < q->thread_count; k++)
            if (q->threads[k].tid == r.threads[i].tid)
                t = &q->threads[k];
        CHECK(t != NULL);
        size_t h0 = nh, w0 = nw;
        nh += brute(t, q->end_ns, 0, holds + nh, (int)i);
        nw += brute(t, q->end_ns, 1, waits + nw, (int)i);
        int64_t held = 0, waited = 0;
        int64_t *lens = malloc((nw - w0 + 1) * sizeof *lens);
        for (size_t k = h0; k < nh; k++)
            held += holds[k].e - holds[k].s;
        for (size_t k = w0; k < nw; k++) {
            waited += waits[k].e - waits[k].s;
            lens[k - w0] = waits[k].e - waits[k].s;
        }
        const struct report_thread *rt = &r.threads[i];
        CHECK_EQ_INT(rt->held_ns, held);
        CHECK_EQ_INT(rt->waited_ns, waited);
        /* holds and waits never exceed the thread's life */
        CHECK(rt->held_ns + rt->waited_ns <= rt->end_ns - rt->first_ns);
        /* percentiles against the sorted lengths */
        size_t c = nw - w0;
        CHECK_EQ_INT(rt->wait.count, c);
        if (c) {
            qsort(lens, c, sizeof *lens, cmp_i64);
            static const double qs[] = {0.5, 0.9, 0.99};
            for (int k = 0; k < 3; k++) {
                size_t rank = (size_t)ceil(qs[k] * (double)c);
                CHECK(within(histogram_quantile(&rt->wait, qs[k]), lens[rank ? rank - 1 : 0]));
            }
            CHECK_EQ_INT(rt->wait.max, lens[c - 1]);
        }
        free(lens);
        /* blame: each row sums to the wait total, and matches the overlap
         * of every wait with every other thread's holds */
        int64_t row = 0;
        for (size_t h = 0; h <= r.nthreads; h++)
            row += blame(&r, i, h);
        CHECK_EQ_INT(row, rt->waited_ns);
    }
    for (size_t i = 0; i < r.nthreads; i++) {
        int64_t by[SIM_THREADS + 1] = {0};
        for (size_t k = 0; k < nw; k++) {
            if (waits[k].thread != (int)i)
                continue;
            int64_t covered = 0;
            for (size_t h = 0; h < nh; h++) {
                int64_t a = holds[h].s > waits[k].s ? holds[h].s : waits[k].s;
                int64_t b = holds[h].e < waits[k].e ? holds[h].e : waits[k].e;
                if (b > a) {
                    by[holds[h].thread] += b - a;
                    covered += b - a;
                }
            }
            by[r.nthreads] += waits[k].e - waits[k].s - covered;
        }
        for (size_t h = 0; h <= r.nthreads; h++)
            CHECK_EQ_INT(blame(&r, i, h), by[h]);
    }
    /* handoffs: ACQUIREs in time order that change the holder */
    struct iv *sorted = malloc(nh * sizeof *sorted);
    memcpy(sorted, holds, nh * sizeof *sorted);
    int64_t total_held = 0;
    for (size_t k = 0; k < nh; k++)
        total_held += holds[k].e - holds[k].s;
    for (size_t a = 1; a < nh; a++)
        for (size_t b = a; b > 0 && sorted[b - 1].s > sorted[b].s; b--) {
            struct iv t = sorted[b];
            sorted[b] = sorted[b - 1];
            sorted[b - 1] = t;
        }
    uint64_t handoffs = 0;
    for (size_t k = 1; k < nh; k++) {
        CHECK(sorted[k].s >= sorted[k - 1].e); /* the simulation's holds never overlap */
        handoffs += sorted[k].thread != sorted[k - 1].thread;
    }
    free(sorted);
    CHECK_EQ_INT(r.gils[0].handoffs, handoffs);
    CHECK_EQ_INT(r.gils[0].held_ns, total_held);
    double mean = 0;
    for (size_t k = 0; k < r.gils[0].bins; k++)
        mean += r.gils[0].utilisation[k] * (double)(k + 1 < r.gils[0].bins ? r.gils[0].bin_ns
                                                     : r.duration_ns - (int64_t)k * r.gils[0].bin_ns);
    CHECK(fabs(mean - (double)total_held) < 1e-6 * (double)r.duration_ns);
    if (round == 0)
        printf("random trace: %zu holds, %zu waits, %llu handoffs, %llu convoys\n", nh, nw,
               (unsigned long long)handoffs, (unsigned long long)r.convoys);
    report_free(&r);
    analysis_trace_load_free(procs, n);
    for (int i = 0; i < SIM_THREADS; i++)
        free(th[i].ev);
    unlink(path);
}

static void check_single_thread(void)
{
    /* one thread sleeping in a loop: holds and releases, never waits */
    struct evb a = {.n = 0};
    for (int i = 0; i < 50; i++) {
        at(&a, i * 2, RING_EV_ACQUIRE);
        at(&a, i * 2 + 1, RING_EV_RELEASE);
    }
    struct trace_thread t = {.tid = 300, .name = "MainThread", .count = a.n, .events = a.v};
    struct trace_gil gil = {.index = 0, .kind = RING_GIL_SEMAPHORE};
    struct trace_process p = {.pid = 300, .gil_kind = RING_GIL_SEMAPHORE, .switch_interval_us = -1, .start_ns = T0,
                              .end_ns = T0 + 100 * MS, .gil_count = 1, .gils = &gil, .thread_count = 1, .threads = &t};
    struct report_process r;
    CHECK(report_compute(&p, NULL, &r) == 0);
    CHECK_EQ_INT(r.threads[0].waited_ns, 0);
    CHECK_EQ_INT(r.threads[0].wait.count, 0);
    CHECK_EQ_INT(r.threads[0].held_ns, 50 * MS);
    CHECK_EQ_INT(r.threads[0].releases_voluntary, 50);
    CHECK_EQ_INT(r.gils[0].handoffs, 0);
    CHECK_EQ_INT(r.gils[0].handoff.count, 0);
    CHECK(!r.gils[0].forced_observable); /* 2.7: no drop requests to see */
    CHECK_EQ_INT(r.convoy_threshold_ns, REPORT_DEFAULT_INTERVAL_NS);
    CHECK_EQ_INT(r.convoys, 0);
    report_free(&r);
}

static void check_histogram(void)
{
    struct histogram h;
    memset(&h, 0, sizeof h);
    for (int64_t v = 0; v < 40; v++) {
        size_t b = histogram_bucket_of(v);
        int64_t lo, hi;
        histogram_bucket_range(b, &lo, &hi);
        CHECK(lo <= v && v <= hi);
    }
    for (int64_t v = 1; v < (1ll << 62); v = v * 3 + 7) {
        int64_t lo, hi;
        histogram_bucket_range(histogram_bucket_of(v), &lo, &hi);
        CHECK(lo <= v && v <= hi && hi - lo <= lo / 32);
    }
    for (int i = 1; i <= 100; i++)
        histogram_add(&h, i * 1000);
    CHECK(within(histogram_quantile(&h, 0.5), 50000));
    CHECK(within(histogram_quantile(&h, 0.9), 90000));
    CHECK_EQ_INT(histogram_quantile(&h, 1.0), 100000);
    CHECK_EQ_INT(histogram_quantile(&h, 0.001), 1000);
}

int main(void)
{
    check_histogram();
    check_known();
    check_single_thread();
    for (int round = 0; round < 20; round++)
        check_random(round);
    printf("report: known answers, single thread, 20 random traces: ok\n");
    return 0;
}
