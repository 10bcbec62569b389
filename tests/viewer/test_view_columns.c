/*
 * test_view_columns.c — per-pixel lane summaries (tdb_view_columns): exact
 * from raw events when zoomed in, whole-pixel states exact and totals kept
 * when zoomed out, and a pixel's value independent of the window around it.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "ring.h"
#include "tdb_view.h"
#include "trace_gen.h"

#define BASE 1000000000LL /* process start = meta.base_ns */
#define P 10000           /* period of thread A, ns */
#define PERIODS 2000

/* Thread A: held [kP, kP+6000), idle, waiting [kP+7000, (k+1)P).
 * Thread B: held [1 ms, 5 ms) once, with RETRY marks nowhere. */
static double exact_a(double a, double b, int held)
{
    double sum = 0;
    long k0 = (long)floor(a / P) - 1, k1 = (long)ceil(b / P) + 1;
    for (long k = k0 < 0 ? 0 : k0; k <= k1 && k < PERIODS; k++) {
        double s = held ? (double)k * P : (double)k * P + 7000, e = held ? (double)k * P + 6000 : (double)(k + 1) * P;
        double lo = s > a ? s : a, hi = e < b ? e : b;
        if (hi > lo)
            sum += hi - lo;
    }
    return sum;
}

static void make_trace(const char *path)
{
    struct trace_process p;
    CHECK(trace_gen_process_init(&p, 42, BASE, BASE + (int64_t)PERIODS * P + 1000) == 0);
    struct trace_thread *a = trace_gen_thread(&p, 42, "MainThread");
    CHECK(a);
    for (int k = 0; k < PERIODS; k++) {
        int64_t t = BASE + (int64_t)k * P;
        CHECK(trace_gen_event(a, t, RING_EV_ACQUIRE) == 0);
        CHECK(trace_gen_event(a, t + 6000, RING_EV_RELEASE) == 0);
        CHECK(trace_gen_event(a, t + 7000, RING_EV_BUSY) == 0);
        CHECK(trace_gen_event(a, t + 8000, RING_EV_RETRY) == 0);
    }
    /* the last wait ends with an ACQUIRE at PERIODS*P, released at once */
    CHECK(trace_gen_event(a, BASE + (int64_t)PERIODS * P, RING_EV_ACQUIRE) == 0);
    CHECK(trace_gen_event(a, BASE + (int64_t)PERIODS * P, RING_EV_RELEASE) == 0);
    struct trace_thread *b = trace_gen_thread(&p, 43, NULL);
    CHECK(b);
    CHECK(trace_gen_event(b, BASE + 1000000, RING_EV_ACQUIRE) == 0);
    CHECK(trace_gen_event(b, BASE + 5000000, RING_EV_RELEASE) == 0);
    /* thread C: one long hold [2 ms, 12 ms) full of events that change no state */
    struct trace_thread *c = trace_gen_thread(&p, 44, "busy");
    CHECK(c);
    CHECK(trace_gen_event(c, BASE + 2000000, RING_EV_ACQUIRE) == 0);
    for (int64_t t = 2000000 + 5000; t < 12000000; t += 5000)
        CHECK(trace_gen_event(c, BASE + t, RING_EV_DROP_REQUEST) == 0);
    CHECK(trace_gen_event(c, BASE + 12000000, RING_EV_RELEASE) == 0);
    char err[256];
    if (trace_gen_write_processes(path, &p, 1, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        exit(1);
    }
    trace_process_free(&p);
}

static size_t lane_of(struct tdb_view *v, uint32_t tid)
{
    for (size_t i = 0; i < tdb_view_lane_count(v); i++)
        if (tdb_view_lane(v, i)->tid == tid)
            return i;
    CHECK(!"lane not found");
    return 0;
}

int main(void)
{
    char path[] = "/tmp/test-columns-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    make_trace(path);
    if (getenv("KEEP_TRACE"))
        fprintf(stderr, "trace: %s\n", path);
    char err[256];
    struct tdb_view *v = tdb_view_open(path, NULL, err, sizeof err);
    if (!v) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    CHECK_EQ_INT(tdb_view_lane_count(v), 3);
    CHECK_EQ_INT(tdb_view_base_ns(v), BASE);
    size_t la = lane_of(v, 42), lb = lane_of(v, 43);
    CHECK_STR(tdb_view_lane(v, la)->name, "MainThread");
    CHECK(tdb_view_lane(v, lb)->name == NULL);
    enum { N = 400 };
    struct tdb_column cols[N], other[N];

    /* zoomed in (raw events): every pixel exact */
    double w = 64;
    CHECK(tdb_view_is_raw(v, la, w));
    double t0 = 123 * P - 3000;
    CHECK(tdb_view_columns(v, la, t0, w, N, cols) == 0);
    for (int i = 0; i < N; i++) {
        double a = t0 + i * w, b = a + w;
        CHECK(fabs(cols[i].held - exact_a(a, b, 1) / w) < 1e-5);
        CHECK(fabs(cols[i].wait - exact_a(a, b, 0) / w) < 1e-5);
    }
    /* a RETRY at kP+8000 is counted in its pixel */
    int retry_px = (int)((124.0 * P + 8000 - t0) / w);
    CHECK_EQ_INT(cols[retry_px].n[TDB_N_RETRY], 1);
    CHECK_EQ_INT(cols[retry_px - 1].n[TDB_N_RETRY] + cols[retry_px + 1].n[TDB_N_RETRY], 0);

    /* zoomed out (summaries): totals kept over the whole lane */
    int64_t s0, s1;
    tdb_view_span(v, &s0, &s1);
    CHECK_EQ_INT(s0, 0);
    w = 1 << 16;
    CHECK(!tdb_view_is_raw(v, la, w));
    int n = (int)ceil((double)s1 / w);
    CHECK(n <= N);
    CHECK(tdb_view_columns(v, la, 0, w, n, cols) == 0);
    double held = 0, wait = 0;
    uint64_t retries = 0, acquires = 0;
    for (int i = 0; i < n; i++) {
        held += cols[i].held * w;
        wait += cols[i].wait * w;
        retries += cols[i].n[TDB_N_RETRY];
        acquires += cols[i].n[TDB_N_ACQUIRE];
        double eh = exact_a(i * w, (i + 1) * w, 1) / w;
        CHECK(fabs(cols[i].held - eh) < 0.02); /* only the middles of edge buckets are spread */
    }
    /* coarse levels keep times to 1/4096 of a bucket */
    CHECK(fabs(held - 6000.0 * PERIODS) < 6000.0 * PERIODS * 5e-4);
    CHECK(fabs(wait - 3000.0 * PERIODS) < 3000.0 * PERIODS * 5e-4);
    CHECK_EQ_INT(retries, PERIODS);
    CHECK_EQ_INT(acquires, PERIODS + 1);

    /* lane B: whole pixels inside its hold are exactly 1, outside exactly 0 */
    struct tdb_column *big = calloc(1 << 16, sizeof *big);
    CHECK(big);
    for (double wb = 128; wb <= 65536; wb *= 2) {
        int nb = (int)ceil(6000000.0 / wb);
        CHECK(tdb_view_columns(v, lb, 0, wb, nb, big) == 0);
        for (int i = 0; i < nb; i++) {
            double a = i * wb, b = a + wb;
            if (a >= 1000000 && b <= 5000000)
                CHECK(big[i].held == 1.0f);
            else if (b <= 1000000 || a >= 5000000)
                CHECK(big[i].held == 0.0f);
            CHECK(big[i].wait == 0.0f);
        }
    }
    /* lane C, drawn from summaries: the same, pixel for pixel */
    size_t lc = lane_of(v, 44);
    for (double wc = 1 << 17; wc <= 1 << 20; wc *= 2) {
        CHECK(!tdb_view_is_raw(v, lc, wc));
        int nc = (int)ceil(20000000.0 / wc);
        CHECK(tdb_view_columns(v, lc, 0, wc, nc, big) == 0);
        int full = 0;
        for (int i = 0; i < nc; i++) {
            double a = i * wc, b = a + wc;
            if (a >= 2000000 && b <= 12000000) {
                CHECK(big[i].held == 1.0f);
                full++;
            } else if (b <= 2000000 || a >= 12000000) {
                CHECK(big[i].held == 0.0f);
                CHECK_EQ_INT(big[i].n[TDB_N_EVENTS], 0);
            }
        }
        CHECK(full >= 5);
    }
    free(big);

    /* a pixel's value does not depend on the window around it */
    for (double ww = 1.0 / 16; ww <= 1 << 20; ww *= 4) {
        double base = floor(7777777.0 / ww) * ww;
        CHECK(tdb_view_columns(v, la, base, ww, N, cols) == 0);
        CHECK(tdb_view_columns(v, la, base + 137 * ww, ww, N - 137, other) == 0);
        CHECK(memcmp(cols + 137, other, (N - 137) * sizeof *cols) == 0);
        CHECK(tdb_view_columns(v, la, base, ww, N, other) == 0);
        CHECK(memcmp(cols, other, sizeof cols) == 0);
    }

    /* a second view (another thread's) draws the same */
    struct tdb_view *v2 = tdb_view_reopen(v, err, sizeof err);
    CHECK(v2);
    CHECK(tdb_view_columns(v, la, 1000, 1 << 12, N, cols) == 0);
    CHECK(tdb_view_columns(v2, la, 1000, 1 << 12, N, other) == 0);
    CHECK(memcmp(cols, other, sizeof cols) == 0);
    tdb_view_close(v2);

    /* range statistics */
    struct tdb_range_stats rs;
    CHECK(tdb_view_stats(v, la, 0, (double)PERIODS * P, &rs) == 0);
    CHECK(fabs(rs.held_ns - 6000.0 * PERIODS) < 6000.0 * PERIODS * 1e-3);
    CHECK(fabs(rs.wait_ns - 3000.0 * PERIODS) < 3000.0 * PERIODS * 1e-3);
    CHECK_EQ_INT(rs.longest_wait_ns, 3000);
    CHECK(tdb_view_stats(v, la, 50 * P, 60 * P, &rs) == 0);
    CHECK(fabs(rs.held_ns - 6000.0 * 10) < 1);
    CHECK_EQ_INT(rs.n[TDB_N_ACQUIRE], 10);

    /* hover: zoomed in, the hold under the cursor */
    struct tdb_probe pr;
    CHECK(tdb_view_probe(v, la, 300.0 * P + 2500, 16, &pr) == 0);
    CHECK(pr.raw);
    CHECK_EQ_INT(pr.state, TDB_STATE_HELD);
    CHECK_EQ_INT(pr.start_t, 300 * P);
    CHECK_EQ_INT(pr.end_t, 300 * P + 6000);
    CHECK(tdb_view_probe(v, la, 300.0 * P + 8010, 16, &pr) == 0);
    CHECK_EQ_INT(pr.state, TDB_STATE_WAIT);
    CHECK_EQ_INT(pr.start_t, 300 * P + 7000);
    CHECK_EQ_INT(pr.end_t, 301 * P);
    CHECK(pr.has_event);
    CHECK_EQ_INT(pr.event_kind, RING_EV_RETRY);
    CHECK_EQ_INT(pr.event_t, 300 * P + 8000);

    /* the longest waits */
    size_t nw;
    const struct tdb_wait_span *ws = tdb_view_longest_waits(v, &nw);
    CHECK(nw > 0);
    CHECK_EQ_INT(ws[0].end_t - ws[0].start_t, 3000);
    CHECK_EQ_INT(ws[0].lane, (int64_t)la);
    CHECK_EQ_INT(ws[0].retries, 1);

    tdb_view_close(v);
    unlink(path);
    printf("ok\n");
    return 0;
}
