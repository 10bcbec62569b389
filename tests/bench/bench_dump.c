/*
 * bench_dump.c — rings -> SQLite: how fast a ring file of N events (laid out
 * exactly as the shim writes it, rdtscp clock and all) is decoded and stored,
 * and how many bytes of database each event costs; and what a live view's
 * refresh costs when it follows the ring (formats/ring_follow.h: only what
 * is new) instead of decoding it all again.
 *
 * usage: bench_dump [--quick] [EVENTS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ring_clock.h"
#include "ring_follow.h"
#include "ring_read.h"
#include "tdb_write.h"
#include "bench_ring.h"
#include "bench_util.h"

#define RUNS 3

static void count_events(void *ctx, uint32_t tid, const struct ring_follow_event *ev, size_t n)
{
    (void)tid;
    (void)ev;
    *(uint64_t *)ctx += n;
}

/* Milliseconds of a full decode, of the first poll and of a poll with
 * nothing new, following `ring`; the events the first poll handed over. */
static uint64_t follow_costs(const char *ring, double *full_ms, double *first_ms, double *again_ms)
{
    char err[256];
    struct trace_process p;
    uint64_t t0 = ring_clock_monotonic_ns();
    if (ring_read_file(ring, &p, err, sizeof err))
        exit(1);
    uint64_t t1 = ring_clock_monotonic_ns();
    trace_process_free(&p);
    struct ring_follow *f;
    uint64_t n = 0;
    struct ring_follow_sink sink = {.events = count_events, .ctx = &n};
    if (ring_follow_open(ring, &f, err, sizeof err) || ring_follow_poll(f, &sink, err, sizeof err))
        exit(1);
    uint64_t t2 = ring_clock_monotonic_ns();
    if (ring_follow_poll(f, &sink, err, sizeof err))
        exit(1);
    uint64_t t3 = ring_clock_monotonic_ns();
    ring_follow_close(f);
    *full_ms = (double)(t1 - t0) / 1e6;
    *first_ms = (double)(t2 - t1) / 1e6;
    *again_ms = (double)(t3 - t2) / 1e6;
    return n;
}

int main(int argc, char **argv)
{
    int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    uint64_t events = quick ? 200000 : 10000000;
    if (argc > 1 + quick)
        events = strtoull(argv[1 + quick], NULL, 10);
    char ring[] = "/dev/shm/giltrace-bench-ring-XXXXXX";
    int fd = mkstemp(ring);
    if (fd < 0)
        return 1;
    close(fd);
    bench_ring_write(ring, events);

    double read_rate[RUNS], write_rate[RUNS], total_rate[RUNS], bytes_per_event = 0;
    for (int r = 0; r < RUNS; r++) {
        char db[] = "/tmp/giltrace-bench-db-XXXXXX";
        fd = mkstemp(db);
        close(fd);
        char err[256];
        struct trace_process p;
        uint64_t t0 = ring_clock_monotonic_ns();
        if (ring_read_file(ring, &p, err, sizeof err)) {
            fprintf(stderr, "bench_dump: %s\n", err);
            return 1;
        }
        uint64_t t1 = ring_clock_monotonic_ns();
        struct tdb_writer *w;
        if (tdb_writer_open(db, TDB_CREATE, &w, err, sizeof err) || tdb_writer_add_process(w, &p, err, sizeof err) ||
            tdb_writer_close(w, err, sizeof err)) {
            fprintf(stderr, "bench_dump: %s\n", err);
            return 1;
        }
        uint64_t t2 = ring_clock_monotonic_ns();
        uint64_t n = trace_process_event_count(&p);
        read_rate[r] = (double)n / ((double)(t1 - t0) / 1e9) / 1e6;
        write_rate[r] = (double)n / ((double)(t2 - t1) / 1e9) / 1e6;
        total_rate[r] = (double)n / ((double)(t2 - t0) / 1e9) / 1e6;
        struct stat st;
        stat(db, &st);
        bytes_per_event = (double)st.st_size / (double)n;
        trace_process_free(&p);
        unlink(db);
    }
    double full_ms[RUNS], first_ms[RUNS], again_ms[RUNS];
    uint64_t followed = 0;
    for (int r = 0; r < RUNS; r++)
        followed = follow_costs(ring, &full_ms[r], &first_ms[r], &again_ms[r]);
    unlink(ring);
    printf("events: %llu in %d threads\n", (unsigned long long)events, BENCH_RING_THREADS);
    bench_report("ring decode rate", bench_median(read_rate, RUNS), "M ev/s", "-");
    bench_report("SQLite insert rate", bench_median(write_rate, RUNS), "M ev/s", "-");
    bench_report("rings -> SQLite throughput", bench_median(total_rate, RUNS), "M ev/s", ">= 3 M events/s");
    /* issue 15: with holds and waits stored and indexed (schema 3), at most 32 */
    bench_report("database bytes per event", bytes_per_event, "B", "<= 32");
    printf("live refresh (giltrace top), following the same ring: %llu events handed over by the first poll\n",
           (unsigned long long)followed);
    bench_report("full decode of the ring (a refresh that reads it all)", bench_median(full_ms, RUNS), "ms", "-");
    bench_report("first poll of the follower (every event)", bench_median(first_ms, RUNS), "ms", "-");
    bench_report("poll with nothing new", bench_median(again_ms, RUNS), "ms", "<= 1% of a full decode");
    return 0;
}
