/*
 * fake_cpython.c — a program that behaves, as far as the shim can see, like a
 * CPython 3.11 running threads (fake_gil.h). Built twice: with the shim
 * linked in (interposing as LD_PRELOAD would) and without, so tests get
 * exact GIL traffic and benchmarks get the cost of tracing it.
 *
 *   fake_cpython cpu THREADS UNITS INTERVAL_US   CPU-bound threads; forced switches
 *   fake_cpython unidentifiable THREADS UNITS    the same, with a GIL no CPython would make
 *   fake_cpython io THREADS ROUNDS               threads that release the GIL and take it back
 *   fake_cpython uncontended ROUNDS              ns per drop+take on one thread
 *   fake_cpython critical ROUNDS                 the same, and ns spent inside the GIL mutex per
 *                                                event (one RELEASE and one ACQUIRE a round)
 *   fake_cpython mutex PAIRS [GILS]              ns per lock+unlock of an ordinary mutex (fastest of 20 blocks), in a
 *                                                process with GILS GILs (default 1; the others
 *                                                heap GILs: needs FAKE_CPYTHON_VERSION=3.12)
 *   fake_cpython wait MODE ARGS...               the same, after printing "waiting" and reading
 *                                                a line on stdin (time to attach to it); then
 *                                                waits for stdin's end
 *
 * cpu and io print "switch_number=N" (the interpreter's own count of handoffs
 * to a different thread) and how often each path of take/drop ran, for
 * tests to compare with the recorded events.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ring_clock.h"
#include "fake_gil.h"

/* About a microsecond of "bytecode". */
static void one_unit_of_work(void)
{
    volatile unsigned x = 0;
    for (int i = 0; i < 300; i++)
        x += (unsigned)i;
}

struct worker {
    pthread_t thread;
    uintptr_t tstate;
    long amount;
};

static void *cpu_worker(void *arg)
{
    struct worker *w = arg;
    fake_gil_take(w->tstate);
    for (long i = 0; i < w->amount; i++) {
        one_unit_of_work();
        if (fake_gil_drop_requested()) {
            fake_gil_drop(w->tstate);
            fake_gil_take(w->tstate);
        }
    }
    fake_gil_drop(w->tstate);
    return NULL;
}

static void *io_worker(void *arg)
{
    struct worker *w = arg;
    fake_gil_take(w->tstate);
    for (long i = 0; i < w->amount; i++) {
        one_unit_of_work();
        fake_gil_drop(w->tstate);
        struct timespec pause = {0, 20000};
        nanosleep(&pause, NULL);
        fake_gil_take(w->tstate);
    }
    fake_gil_drop(w->tstate);
    return NULL;
}

static int run_threads(int nthreads, long amount, void *(*body)(void *))
{
    struct worker *w = calloc((size_t)nthreads, sizeof *w);
    if (!w)
        return 1;
    /* The main thread holds the GIL while it starts the others, as in CPython. */
    fake_gil_take(1);
    for (int i = 0; i < nthreads; i++) {
        w[i].tstate = (uintptr_t)(i + 2);
        w[i].amount = amount;
        pthread_create(&w[i].thread, NULL, body, &w[i]);
    }
    /* Every thread waits for the GIL before the main thread lets it go, so
     * that the run has its contention (and its waits) however late the
     * scheduler starts the threads. */
    while (__atomic_load_n(&fake_gil_counts.busy, __ATOMIC_RELAXED) < (unsigned long)nthreads)
        sched_yield();
    fake_gil_drop(1);
    for (int i = 0; i < nthreads; i++)
        pthread_join(w[i].thread, NULL);
    fake_gil_take(1);
    unsigned long switches = _PyRuntime.gil.switch_number;
    fake_gil_drop(1);
    const struct fake_gil_counts *c = &fake_gil_counts;
    printf("switch_number=%lu takes=%lu busy=%lu waits=%lu timeouts=%lu drop_requests=%lu releases=%lu"
           " forced_paths=%lu\n",
           switches, c->takes, c->busy, c->waits, c->timeouts, c->drop_requests, c->releases, c->forced_paths);
    free(w);
    return 0;
}

static int run_uncontended(long rounds)
{
    fake_gil_take(1);
    uint64_t t0 = ring_clock_monotonic_ns();
    for (long i = 0; i < rounds; i++) {
        fake_gil_drop(1);
        fake_gil_take(1);
    }
    uint64_t t1 = ring_clock_monotonic_ns();
    fake_gil_drop(1);
    printf("ns_per_round=%.2f\n", (double)(t1 - t0) / (double)rounds);
    return 0;
}

static int run_critical(long rounds)
{
    fake_gil_time_critical = 1;
    fake_gil_take(1);
    __atomic_store_n(&fake_gil_critical_ns, 0, __ATOMIC_RELAXED);
    for (long i = 0; i < rounds; i++) {
        fake_gil_drop(1);
        fake_gil_take(1);
    }
    uint64_t inside = __atomic_load_n(&fake_gil_critical_ns, __ATOMIC_RELAXED);
    fake_gil_drop(1);
    printf("critical_ns_per_event=%.2f\n", (double)inside / (2.0 * (double)rounds));
    return 0;
}

/* The loop of run_mutex, a function of its own so that callgrind can count
 * it alone (--toggle-collect=fake_mutex_pairs, bench_shim.py). */
__attribute__((noinline)) void fake_mutex_pairs(pthread_mutex_t *m, long pairs)
{
    for (long i = 0; i < pairs; i++) {
        pthread_mutex_lock(m);
        pthread_mutex_unlock(m);
    }
}

/* ns per pair in the fastest of 20 blocks of pairs/20: a block that
 * another process on the machine interrupted or slowed does not count. */
static int run_mutex(long pairs)
{
    static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    enum { BLOCKS = 20 };
    long block = pairs / BLOCKS > 0 ? pairs / BLOCKS : 1;
    uint64_t best = UINT64_MAX;
    fake_gil_take(1);
    for (int b = 0; b < BLOCKS; b++) {
        uint64_t t0 = ring_clock_monotonic_ns();
        fake_mutex_pairs(&m, block);
        uint64_t t = ring_clock_monotonic_ns() - t0;
        best = t < best ? t : best;
    }
    fake_gil_drop(1);
    printf("ns_per_pair=%.3f\n", (double)best / (double)block);
    return 0;
}

static long arg(char **argv, int i, int argc)
{
    return i < argc ? strtol(argv[i], NULL, 10) : 0;
}

/* A line from stdin with read(2), not stdio: giltrace attach does not use
 * a thread blocked inside stdio. False at the end of input. */
static bool read_line(void)
{
    char c;
    ssize_t n;
    while ((n = read(0, &c, 1)) == 1)
        if (c == '\n')
            return true;
    return false;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "wait") == 0) {
        printf("waiting\n"); /* running main(): ready to be attached to */
        fflush(stdout);
        read_line();
        int status = main(argc - 1, argv + 1);
        fflush(stdout);
        while (read_line())
            ;
        return status;
    }
    const char *mode = argc > 1 ? argv[1] : "";
    if (strcmp(mode, "cpu") == 0 && argc == 5) {
        fake_gil_create((unsigned long)arg(argv, 4, argc), 0);
        return run_threads((int)arg(argv, 2, argc), arg(argv, 3, argc), cpu_worker);
    }
    if (strcmp(mode, "unidentifiable") == 0 && argc == 4) {
        fake_gil_create(5000, 1);
        return run_threads((int)arg(argv, 2, argc), arg(argv, 3, argc), cpu_worker);
    }
    if (strcmp(mode, "io") == 0 && argc == 4) {
        fake_gil_create(5000, 0);
        return run_threads((int)arg(argv, 2, argc), arg(argv, 3, argc), io_worker);
    }
    if (strcmp(mode, "uncontended") == 0 && argc == 3) {
        fake_gil_create(5000, 0);
        return run_uncontended(arg(argv, 2, argc));
    }
    if (strcmp(mode, "critical") == 0 && argc == 3) {
        fake_gil_create(5000, 0);
        return run_critical(arg(argv, 2, argc));
    }
    if (strcmp(mode, "mutex") == 0 && (argc == 3 || argc == 4)) {
        fake_gil_create(5000, 0);
        for (long i = 1; i < (argc == 4 ? arg(argv, 3, argc) : 1); i++)
            if (!fake_gil_create_heap())
                return 1;
        return run_mutex(arg(argv, 2, argc));
    }
    fprintf(stderr, "usage: fake_cpython [wait] cpu THREADS UNITS INTERVAL_US | unidentifiable THREADS UNITS |"
                    " io THREADS ROUNDS |"
                    " uncontended ROUNDS | critical ROUNDS | mutex PAIRS [GILS]\n");
    return 2;
}
