/*
 * bench_dump.c — rings -> SQLite: how fast a ring file of N events (laid out
 * exactly as the shim writes it, rdtscp clock and all) is decoded and stored,
 * and how many bytes of database each event costs; and what a live view's
 * refresh costs when it follows the ring (formats/ring_follow.h: only what
 * is new) instead of decoding it all again.
 *
 * usage: bench_dump [--quick] [EVENTS]
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ring.h"
#include "ring_clock.h"
#include "ring_follow.h"
#include "ring_read.h"
#include "tdb_write.h"
#include "bench_util.h"

#define THREADS 4
#define RUNS 3

/* A GIL battle among THREADS threads: the repeating sequence of one forced
 * handoff, 2-20 us apart, with the TSC running at 3 ticks per ns. */
static void write_ring(const char *path, uint64_t events)
{
    uint64_t per_thread = events / THREADS;
    uint64_t chunks_per_thread = (per_thread + RING_RECORDS_PER_CHUNK - 1) / RING_RECORDS_PER_CHUNK;
    uint32_t chunks = (uint32_t)(chunks_per_thread * THREADS);
    size_t size = (size_t)ring_chunk_offset(chunks);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || ftruncate(fd, (off_t)size) != 0)
        exit(1);
    unsigned char *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (m == MAP_FAILED)
        exit(1);
    struct ring_header *h = (void *)m;
    ring_header_init(h, chunks, RING_CLOCK_TSC);
    h->pid = 1000;
    h->gil_kind = RING_GIL_CONDVAR;
    h->gil_count = 1;
    h->start = (struct ring_calibration){.raw = 3000000000000u, .mono_ns = 1000000000000u};
    static const unsigned pattern[] = {RING_EV_ACQUIRE, RING_EV_RELEASE, RING_EV_FORCED_SWITCH, RING_EV_BUSY,
                                       RING_EV_TIMEOUT, RING_EV_DROP_REQUEST, RING_EV_RETRY};
    uint64_t seq = 0, last_raw = 0;
    for (uint32_t t = 0; t < THREADS; t++) {
        uint64_t raw = h->start.raw + t * 1000;
        uint64_t left = per_thread;
        for (uint64_t c = 0; c < chunks_per_thread; c++) {
            seq++;
            struct ring_chunk_header *ch = (void *)(m + ring_chunk_offset((uint32_t)(seq - 1)));
            ch->seq = seq;
            ch->tid = 2000 + t;
            ch->claimed = (struct ring_calibration){.raw = raw, .mono_ns = 1000000000000u + (raw - h->start.raw) / 3};
            struct ring_record *r = (void *)((char *)ch + RING_CHUNK_HEADER_SIZE);
            for (uint32_t i = 0; i < RING_RECORDS_PER_CHUNK && left; i++, left--) {
                raw += 6000 + (raw * 2654435761u >> 20) % 54000;
                r[i].raw_ts = raw;
                r[i].tail = ring_record_tail(pattern[(per_thread - left) % 7], 0, t % 2, ring_record_check(seq, i));
            }
        }
        if (raw > last_raw)
            last_raw = raw;
    }
    h->next_chunk = seq;
    h->end = (struct ring_calibration){.raw = last_raw, .mono_ns = 1000000000000u + (last_raw - h->start.raw) / 3};
    h->state = RING_STATE_EXITED;
    munmap(m, size);
}

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
    write_ring(ring, events);

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
    printf("events: %llu in %d threads\n", (unsigned long long)events, THREADS);
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
