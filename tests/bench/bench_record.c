/*
 * bench_record.c — the recording path alone: what rec_event() costs per
 * event, on memory already touched (the path itself: TLS, the timestamp, two
 * stores) and on fresh ring memory (adding the page faults a new chunk
 * costs, which on this kind of VM are expensive, paid in rec_prepare()
 * outside the critical sections); and with --stacks, what
 * a RELEASE or BUSY costs with its native stack (unwound from 12 frames
 * down, interned in the stack table) beside the cost without, once the
 * unwind rules are cached (a running program) and with every rule looked
 * up afresh from the CFI (the first time code runs).
 *
 * usage: bench_record [--quick]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ring_clock.h"
#include "../../tracer/shim/recorder.h"
#include "../../tracer/shim/ring_writer.h"
#include "../../tracer/shim/stack_unwind.h"
#include "bench_util.h"

#define RUNS 9

/* ---- with stacks ---- */

static long stack_rounds;
static int stack_flush;
static double stack_result;

/* The handoff mix, with RELEASE and BUSY carrying stacks as in the shim. */
__attribute__((noinline)) static void handoff_with_stacks(long rounds, bool stacks)
{
    uintptr_t from = (uintptr_t)__builtin_return_address(0);
    struct shim_entered self = shim_thread_enter();
    struct shim_thread *t = self.t;
    struct ring_record *chunk_start = t->pos;
    uint32_t check_start = t->next_check;
    uint64_t t0 = ring_clock_monotonic_ns();
    for (long i = 0; i < rounds; i++) {
        if (t->end - t->pos < 16) {
            t->pos = chunk_start;
            t->next_check = check_start;
        }
        if (stack_flush)
            stack_unwind_flush();
        rec_event(self, RING_EV_BUSY, 0);
        if (stacks)
            rec_stack_store(self, rec_stack_capture(from));
        rec_event(self, RING_EV_TIMEOUT, 0);
        rec_event(self, RING_EV_DROP_REQUEST, 0);
        rec_event(self, RING_EV_RETRY, 0);
        rec_event(self, RING_EV_RELEASE, 0);
        if (stacks)
            rec_stack_store(self, rec_stack_capture(from));
        rec_event(self, RING_EV_FORCED_SWITCH, 0);
        rec_event(self, RING_EV_ACQUIRE, 0);
    }
    stack_result = (double)(ring_clock_monotonic_ns() - t0) / (double)(rounds * 7);
}

/* Call the handoff 12 frames down, for stacks of a realistic depth. */
__attribute__((noinline)) static void deep(int depth, bool stacks)
{
    if (depth == 0)
        handoff_with_stacks(stack_rounds, stacks);
    else
        deep(depth - 1, stacks);
    __asm__ volatile("" ::: "memory");
}

static void stack_bench(int quick)
{
    stack_unwind_init();
    shim_self.stack_top = stack_unwind_main_top();
    rec_stacks_on = true;
    struct shim_entered self = shim_thread_enter();
    rec_prepare(self);
    rec_event(self, RING_EV_ACQUIRE, 0);
    double without[RUNS], with[RUNS], cold[RUNS];
    stack_rounds = quick ? 2000 : 200000;
    for (int r = 0; r < RUNS; r++) {
        deep(12, false);
        without[r] = stack_result;
        deep(12, true);
        with[r] = stack_result;
    }
    stack_flush = 1;
    stack_rounds = quick ? 200 : 20000;
    for (int r = 0; r < RUNS; r++) {
        deep(12, true);
        cold[r] = stack_result;
    }
    stack_flush = 0;
    struct ring_aux *a = ring_writer_aux(true);
    double w = bench_median(without, RUNS), s = bench_median(with, RUNS), c = bench_median(cold, RUNS);
    bench_report("recording cost per GIL event, handoff mix, no stacks", w, "ns", "<= 25 ns");
    bench_report("recording cost per GIL event, handoff mix, --stacks", s, "ns", "(none set)");
    bench_report("  = per RELEASE/BUSY with its stack (2 of 7 events)", w + (s - w) * 7 / 2, "ns", "-");
    bench_report("recording cost per GIL event, --stacks, unwind rules not cached", c, "ns", "-");
    printf("stacks lost: %llu\n", (unsigned long long)(a ? a->lost_stacks : 0));
}

int main(int argc, char **argv)
{
    int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    char dir[] = "/tmp/giltrace-bench-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    rec_clock_setup();
    struct ring_writer_identity id = {.python_hexversion = 0x030b07f0};
    struct ring_writer_config config = {
        .dir = dir, .size_mb = quick ? 16 : 1024, .mode = RING_MODE_APPEND, .stacks_mb = 16};
    ring_writer_configure(&config, &id);
    char why[256];
    if (!ring_writer_open(false, why, sizeof why)) {
        fprintf(stderr, "bench_record: %s\n", why);
        return 1;
    }
    static const char *const modes[] = {"clock_gettime(CLOCK_MONOTONIC)", "rdtscp",
                                        "rdtsc (lfence+rdtsc after a lock) + rdpid",
                                        "rdtsc (lfence+rdtsc after a lock) + rseq cpu_id"};
    printf("clock: %s\n", modes[rec_clock_mode]);

        /* Warm: rewrite one chunk over and over, so only the path itself counts:
     * an event that follows a lock (ordered timestamp), one that does not,
     * and the mix of one CPU-bound handoff (BUSY TIMEOUT DROP_REQUEST RETRY
     * RELEASE FORCED_SWITCH ACQUIRE: 3 of 7 ordered). */
    const long per_run = quick ? 100000 : 2000000;
    struct shim_entered self = shim_thread_enter();
    rec_prepare(self); /* claims the first chunk, as lock(M) would */
    rec_event(self, RING_EV_ACQUIRE, 0);
    struct shim_thread *t = self.t;
    struct ring_record *chunk_start = t->pos - 1;
    uint32_t check_start = t->next_check - 1;
#define WARM_LOOP(result, body)                                                                        \
    for (int r = 0; r < RUNS; r++) {                                                                   \
        uint64_t t0 = ring_clock_monotonic_ns();                                                                  \
        for (long i = 0; i < per_run; i += 7) {                                                        \
            if (t->end - t->pos < 8) {                                                                 \
                t->pos = chunk_start;                                                                  \
                t->next_check = check_start;                                                           \
            }                                                                                          \
            body;                                                                                      \
        }                                                                                              \
        result[r] = (double)(ring_clock_monotonic_ns() - t0) / (double)per_run;                                   \
    }
    double ordered[RUNS], unordered[RUNS], handoff[RUNS], cold[RUNS];
    WARM_LOOP(ordered, for (int k = 0; k < 7; k++) rec_event(self, RING_EV_ACQUIRE, 0))
    WARM_LOOP(unordered, for (int k = 0; k < 7; k++) rec_event(self, RING_EV_RELEASE, 0))
    WARM_LOOP(handoff, {
        rec_event(self, RING_EV_BUSY, 0);
        rec_event(self, RING_EV_TIMEOUT, 0);
        rec_event(self, RING_EV_DROP_REQUEST, 0);
        rec_event(self, RING_EV_RETRY, 0);
        rec_event(self, RING_EV_RELEASE, 0);
        rec_event(self, RING_EV_FORCED_SWITCH, 0);
        rec_event(self, RING_EV_ACQUIRE, 0);
    })
    /* Cold: fresh chunks, as an append-mode ring fills (RELEASE/ACQUIRE
     * pairs, each after the rec_prepare() its lock(M) makes). */
    long cold_per_run = quick ? 20000 : (long)RING_RECORDS_PER_CHUNK * 24;
    t->pos = t->end; /* next event moves on to a new chunk */
    for (int r = 0; r < RUNS; r++) {
        uint64_t t0 = ring_clock_monotonic_ns();
        for (long i = 0; i < cold_per_run; i += 2) {
            rec_prepare(self);
            rec_event(self, RING_EV_RELEASE, 0);
            rec_event(self, RING_EV_ACQUIRE, 0);
        }
        cold[r] = (double)(ring_clock_monotonic_ns() - t0) / (double)cold_per_run;
    }
    bench_report("recording, event after a lock (ordered timestamp)", bench_median(ordered, RUNS), "ns", "-");
    bench_report("recording, other events", bench_median(unordered, RUNS), "ns", "-");
    bench_report("recording cost per GIL event, CPU-bound handoff mix", bench_median(handoff, RUNS), "ns",
                 "<= 25 ns");
    bench_report("recording cost per GIL event, I/O pairs, fresh ring memory", bench_median(cold, RUNS), "ns",
                 "<= 25 ns (adds first-touch page faults)");
    stack_bench(quick);
    ring_writer_finish();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : 1;
}
