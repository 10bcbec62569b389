/*
 * bench_live.c — what one `gilview --live` refresh costs with 1 M and with
 * 10 M events already in the ring (--quick: 10^5 and 10^6), timed through
 * the code gilview runs (viewer/gilview_live.c), on synthetic rings laid out
 * as the shim writes them (tests/bench/bench_ring.h). The figure of issue 13:
 * a refresh whose cost does not grow with the trace keeps the ratio of the
 * two near 1; one that rebuilds from the whole ring shows about 10.
 *
 * usage: bench_live [--quick]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_ring.h"
#include "bench_util.h"
#include "gilview.h"
#include "ring_clock.h"
#include "tdb_view.h"

#define RUNS 3

/* Median ms of a refresh of a live view following a ring of `events`
 * events (its first view, made on open, is not counted). */
static double refresh_ms(uint64_t events)
{
    char ring[] = "/dev/shm/giltrace-bench-live-XXXXXX";
    int fd = mkstemp(ring);
    if (fd < 0)
        exit(1);
    close(fd);
    bench_ring_write(ring, events);
    char err[256];
    struct gv_live *l = gv_live_open_ring(ring, 1000, err, sizeof err);
    if (!l) {
        fprintf(stderr, "bench_live: %s\n", err);
        unlink(ring);
        exit(1);
    }
    uint64_t shown = tdb_view_event_count(gv_live_view(l));
    if (shown != events / BENCH_RING_THREADS * BENCH_RING_THREADS) {
        fprintf(stderr, "bench_live: the view shows %llu events of %llu\n", (unsigned long long)shown,
                (unsigned long long)events);
        exit(1);
    }
    double ms[RUNS];
    for (int r = 0; r < RUNS; r++) {
        uint64_t t0 = ring_clock_monotonic_ns();
        if (gv_live_refresh(l, err, sizeof err)) {
            fprintf(stderr, "bench_live: %s\n", err);
            exit(1);
        }
        ms[r] = (double)(ring_clock_monotonic_ns() - t0) / 1e6;
    }
    gv_live_close(l);
    unlink(ring);
    return bench_median(ms, RUNS);
}

int main(int argc, char **argv)
{
    int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    uint64_t small = quick ? 100000 : 1000000, large = small * 10;
    double a = refresh_ms(small), b = refresh_ms(large);
    char name[96];
    printf("gilview --live: one refresh of a view following a ring of %d threads\n", BENCH_RING_THREADS);
    snprintf(name, sizeof name, "refresh with %llu events in the ring", (unsigned long long)small);
    bench_report(name, a, "ms", "-");
    snprintf(name, sizeof name, "refresh with %llu events in the ring", (unsigned long long)large);
    bench_report(name, b, "ms", "-");
    bench_report("ratio of the two (10x the events)", b / a, "x", "~1: cost independent of the trace");
    return 0;
}
