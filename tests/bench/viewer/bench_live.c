/*
 * bench_live.c — what one `gilview --live` refresh costs with 1 M and with
 * 10 M events already in the ring (--quick: 10^5 and 10^6), timed through
 * the code gilview runs (viewer/gilview_live.c), on synthetic rings laid out
 * as the shim writes them (tests/bench/bench_ring.h). The figure of issue 13:
 * a refresh whose cost does not grow with the trace keeps the ratio of the
 * two near 1; one that rebuilds from the whole ring shows about 10.
 *
 * Two refreshes are timed at each size: one that takes a batch of new
 * events (the last chunk of every thread's, hidden from the view's first
 * poll and shown before the refresh: 4 x 4092 events, what a busy process
 * records in a fraction of a second) and one with nothing new. The first
 * view, made on open from all the rest of the ring, is not counted. (With
 * --quick's 10^5 events the lanes are still young when the batch comes, so
 * that refresh summarises them whole: formats/tdb/tdb_live.h.)
 *
 * usage: bench_live [--quick]
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench_ring.h"
#include "bench_util.h"
#include "gilview.h"
#include "ring.h"
#include "ring_clock.h"
#include "tdb_view.h"

#define RUNS 3

struct refresh_ms {
    double fresh, idle; /* with a batch of new events; with nothing new */
};

/* Hide (seq 0) or show again the last `RUNS` chunks of every thread of the
 * ring `m` of `events` events as bench_ring_write lays it out (thread t's
 * chunks are consecutive; chunk i has seq i + 1). */
static void set_tail(unsigned char *m, uint64_t events, int run, bool show)
{
    uint64_t per_thread = events / BENCH_RING_THREADS;
    uint64_t cpt = (per_thread + RING_RECORDS_PER_CHUNK - 1) / RING_RECORDS_PER_CHUNK;
    for (uint64_t t = 0; t < BENCH_RING_THREADS; t++)
        for (int r = show ? run : 0; r < (show ? run + 1 : RUNS); r++) {
            uint64_t i = (t + 1) * cpt - RUNS + (uint64_t)r;
            struct ring_chunk_header *ch = (void *)(m + ring_chunk_offset((uint32_t)i));
            __atomic_store_n(&ch->seq, show ? i + 1 : 0, __ATOMIC_RELEASE);
        }
}

/* Median ms of refreshes of a live view following a ring of `events` events. */
static struct refresh_ms refresh_ms(uint64_t events)
{
    char ring[] = "/dev/shm/giltrace-bench-live-XXXXXX";
    int fd = mkstemp(ring);
    if (fd < 0)
        exit(1);
    close(fd);
    bench_ring_write(ring, events);
    fd = open(ring, O_RDWR);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0)
        exit(1);
    unsigned char *m = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (m == MAP_FAILED)
        exit(1);
    set_tail(m, events, 0, false);
    char err[256];
    struct gv_live *l = gv_live_open_ring(ring, 1000, err, sizeof err);
    if (!l) {
        fprintf(stderr, "bench_live: %s\n", err);
        unlink(ring);
        exit(1);
    }
    double fresh[RUNS], idle[RUNS];
    for (int r = 0; r < RUNS; r++) {
        set_tail(m, events, r, true);
        for (int k = 0; k < 2; k++) {
            uint64_t t0 = ring_clock_monotonic_ns();
            if (gv_live_refresh(l, err, sizeof err)) {
                fprintf(stderr, "bench_live: %s\n", err);
                exit(1);
            }
            (k ? idle : fresh)[r] = (double)(ring_clock_monotonic_ns() - t0) / 1e6;
        }
    }
    uint64_t shown = tdb_view_event_count(gv_live_view(l));
    if (shown != events / BENCH_RING_THREADS * BENCH_RING_THREADS) {
        fprintf(stderr, "bench_live: the view shows %llu events of %llu\n", (unsigned long long)shown,
                (unsigned long long)events);
        exit(1);
    }
    gv_live_close(l);
    munmap(m, (size_t)st.st_size);
    unlink(ring);
    return (struct refresh_ms){bench_median(fresh, RUNS), bench_median(idle, RUNS)};
}

int main(int argc, char **argv)
{
    int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    uint64_t small = quick ? 100000 : 1000000, large = small * 10;
    struct refresh_ms a = refresh_ms(small), b = refresh_ms(large);
    char name[128];
    printf("gilview --live: one refresh of a view following a ring of %d threads\n", BENCH_RING_THREADS);
    snprintf(name, sizeof name, "refresh taking %u new events, %llu in the ring",
             BENCH_RING_THREADS * RING_RECORDS_PER_CHUNK, (unsigned long long)small);
    bench_report(name, a.fresh, "ms", "-");
    snprintf(name, sizeof name, "refresh taking %u new events, %llu in the ring",
             BENCH_RING_THREADS * RING_RECORDS_PER_CHUNK, (unsigned long long)large);
    bench_report(name, b.fresh, "ms", "-");
    bench_report("ratio of the two (10x the events)", b.fresh / a.fresh, "x", "~1: cost independent of the trace");
    snprintf(name, sizeof name, "refresh with nothing new, %llu in the ring", (unsigned long long)small);
    bench_report(name, a.idle, "ms", "-");
    snprintf(name, sizeof name, "refresh with nothing new, %llu in the ring", (unsigned long long)large);
    bench_report(name, b.idle, "ms", "-");
    bench_report("ratio of the two (10x the events)", b.idle / a.idle, "x", "~1: cost independent of the trace");
    return 0;
}
