/*
 * bench_record.c — the recording path alone: what rec_event() costs per
 * event, on memory already touched (the path itself: TLS, the timestamp, two
 * stores) and on fresh ring memory (adding the page faults a new chunk
 * costs, which on this kind of VM are expensive).
 *
 * usage: bench_record [--quick]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../formats/ring_clock.h"
#include "../../tracer/shim/recorder.h"
#include "../../tracer/shim/ring_writer.h"
#include "bench_util.h"

#define RUNS 9

int main(int argc, char **argv)
{
    int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    char dir[] = "/tmp/giltrace-bench-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    rec_clock_setup();
    struct ring_writer_identity id = {.python_hexversion = 0x030b07f0};
    struct ring_writer_config config = {.dir = dir, .size_mb = quick ? 16 : 1024, .mode = RING_MODE_APPEND};
    ring_writer_configure(&config, &id);
    char why[256];
    if (!ring_writer_open(false, why, sizeof why)) {
        fprintf(stderr, "bench_record: %s\n", why);
        return 1;
    }
    static const char *const modes[] = {"clock_gettime(CLOCK_MONOTONIC)", "rdtscp", "rdtsc (lfence+rdtsc after a lock) + rdpid"};
    printf("clock: %s\n", modes[rec_clock_mode]);

        /* Warm: rewrite one chunk over and over, so only the path itself counts:
     * an event that follows a lock (ordered timestamp), one that does not,
     * and the mix of one CPU-bound handoff (BUSY TIMEOUT DROP_REQUEST RETRY
     * RELEASE FORCED_SWITCH ACQUIRE: 3 of 7 ordered). */
    const long per_run = quick ? 100000 : 2000000;
    rec_event(RING_EV_ACQUIRE, 0); /* claims the first chunk */
    struct shim_thread *t = &shim_self;
    struct ring_record *chunk_start = t->pos - 1;
    uint32_t check_start = t->next_check - 1;
#define WARM_LOOP(result, body)                                                                        \
    for (int r = 0; r < RUNS; r++) {                                                                   \
        uint64_t t0 = bench_now_ns();                                                                  \
        for (long i = 0; i < per_run; i += 7) {                                                        \
            if (t->end - t->pos < 8) {                                                                 \
                t->pos = chunk_start;                                                                  \
                t->next_check = check_start;                                                           \
            }                                                                                          \
            body;                                                                                      \
        }                                                                                              \
        result[r] = (double)(bench_now_ns() - t0) / (double)per_run;                                   \
    }
    double ordered[RUNS], unordered[RUNS], handoff[RUNS], cold[RUNS];
    WARM_LOOP(ordered, for (int k = 0; k < 7; k++) rec_event(RING_EV_ACQUIRE, 0))
    WARM_LOOP(unordered, for (int k = 0; k < 7; k++) rec_event(RING_EV_RELEASE, 0))
    WARM_LOOP(handoff, {
        rec_event(RING_EV_BUSY, 0);
        rec_event(RING_EV_TIMEOUT, 0);
        rec_event(RING_EV_DROP_REQUEST, 0);
        rec_event(RING_EV_RETRY, 0);
        rec_event(RING_EV_RELEASE, 0);
        rec_event(RING_EV_FORCED_SWITCH, 0);
        rec_event(RING_EV_ACQUIRE, 0);
    })
    /* Cold: fresh chunks, as an append-mode ring fills (RELEASE/ACQUIRE pairs). */
    long cold_per_run = quick ? 20000 : (long)RING_RECORDS_PER_CHUNK * 24;
    t->pos = t->end; /* next event claims a new chunk */
    for (int r = 0; r < RUNS; r++) {
        uint64_t t0 = bench_now_ns();
        for (long i = 0; i < cold_per_run; i += 2) {
            rec_event(RING_EV_RELEASE, 0);
            rec_event(RING_EV_ACQUIRE, 0);
        }
        cold[r] = (double)(bench_now_ns() - t0) / (double)cold_per_run;
    }
    bench_report("recording, event after a lock (ordered timestamp)", bench_median(ordered, RUNS), "ns", "-");
    bench_report("recording, other events", bench_median(unordered, RUNS), "ns", "-");
    bench_report("recording cost per GIL event, CPU-bound handoff mix", bench_median(handoff, RUNS), "ns",
                 "<= 25 ns");
    bench_report("recording cost per GIL event, I/O pairs, fresh ring memory", bench_median(cold, RUNS), "ns",
                 "<= 25 ns (adds first-touch page faults)");
    ring_writer_finish();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : 1;
}
