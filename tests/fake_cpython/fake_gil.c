/*
 * fake_gil.c — CPython's GIL algorithm (new GIL, 3.2+) re-implemented on the
 * same pthread calls, for tests and benchmarks. See fake_gil.h.
 */
#include "fake_gil.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "ring_clock.h"

__attribute__((visibility("default"))) struct fake_runtime _PyRuntime;
struct fake_gil_counts fake_gil_counts;

int fake_gil_time_critical;
uint64_t fake_gil_critical_ns;
void (*fake_gil_inside)(enum fake_gil_point where);

static uint64_t critical_clock(void)
{
    return fake_gil_time_critical ? ring_clock_monotonic_ns() : 0;
}

/* Lock M, noting when; unlock M, adding the time it was held. */
static uint64_t critical_enter(pthread_mutex_t *m)
{
    pthread_mutex_lock(m);
    if (fake_gil_inside)
        fake_gil_inside(FAKE_GIL_ENTERED);
    return critical_clock();
}

static void critical_leave(pthread_mutex_t *m, uint64_t since)
{
    if (fake_gil_time_critical)
        __atomic_fetch_add(&fake_gil_critical_ns, critical_clock() - since, __ATOMIC_RELAXED);
    if (fake_gil_inside)
        fake_gil_inside(FAKE_GIL_LEAVING);
    pthread_mutex_unlock(m);
}

#define COUNT(field) __atomic_fetch_add(&fake_gil_counts.field, 1, __ATOMIC_RELAXED)

/* FAKE_CPYTHON_VERSION=3.12 makes it claim 3.12, whose own-GIL
 * subinterpreters have heap GILs (fake_gil_create_heap). */
__attribute__((visibility("default"))) const char *Py_GetVersion(void)
{
    const char *v = getenv("FAKE_CPYTHON_VERSION");
    if (v && v[0] == '3' && v[1] == '.' && v[2] == '1' && v[3] == '2' && v[4] == '\0')
        return "3.12.1 (fake CPython for giltrace tests)";
    return "3.11.7 (fake CPython for giltrace tests)";
}

/* Initialise `g` in create_gil()'s order with a monotonic condvar clock. */
static void init_in_order(struct fake_gil *g)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_mutex_init(&g->mutex, NULL);
    pthread_mutex_init(&g->switch_mutex, NULL);
    pthread_cond_init(&g->cond, &attr);
    pthread_cond_init(&g->switch_cond, &attr);
    pthread_condattr_destroy(&attr);
}

struct fake_gil *fake_gil_create_heap(void)
{
    struct fake_gil *g = calloc(1, sizeof *g);
    if (g)
        init_in_order(g);
    return g;
}

void fake_gil_create(unsigned long interval_us, int scrambled)
{
    struct fake_gil *g = &_PyRuntime.gil;
    if (scrambled) {
        pthread_condattr_t attr;
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&g->cond, &attr);
        pthread_cond_init(&g->switch_cond, &attr);
        pthread_mutex_init(&g->mutex, NULL);
        pthread_mutex_init(&g->switch_mutex, NULL);
        pthread_condattr_destroy(&attr);
    } else {
        init_in_order(g);
    }
    g->interval_us = interval_us;
    g->last_holder = 0;
    __atomic_store_n(&g->locked, 0, __ATOMIC_RELEASE);
}

int fake_gil_drop_requested(void)
{
    return __atomic_load_n(&_PyRuntime.drop_request, __ATOMIC_RELAXED);
}

static struct timespec deadline_after(unsigned long us)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    t.tv_sec += (time_t)(us / 1000000);
    t.tv_nsec += (long)(us % 1000000) * 1000;
    if (t.tv_nsec >= 1000000000) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000;
    }
    return t;
}

/* take_gil's critical section, M held. A function of its own (never
 * inlined) so that `valgrind --tool=callgrind --toggle-collect=fake_gil_inside_*`
 * counts exactly the instructions run while M is held (bench_shim.py). */
__attribute__((noinline)) void fake_gil_inside_take(struct fake_gil *g, uintptr_t tstate)
{
    COUNT(takes);
    if (__atomic_load_n(&g->locked, __ATOMIC_RELAXED))
        COUNT(busy);
    while (__atomic_load_n(&g->locked, __ATOMIC_RELAXED)) {
        unsigned long switches = g->switch_number;
        struct timespec deadline = deadline_after(g->interval_us ? g->interval_us : 1);
        COUNT(waits);
        int timed_out = pthread_cond_timedwait(&g->cond, &g->mutex, &deadline) == ETIMEDOUT;
        if (timed_out)
            COUNT(timeouts);
        if (timed_out && __atomic_load_n(&g->locked, __ATOMIC_RELAXED) && g->switch_number == switches) {
            COUNT(drop_requests);
            __atomic_store_n(&_PyRuntime.drop_request, 1, __ATOMIC_RELAXED);
        }
    }
    pthread_mutex_lock(&g->switch_mutex);
    __atomic_store_n(&g->locked, 1, __ATOMIC_RELAXED);
    if (g->last_holder != tstate) {
        g->last_holder = tstate;
        g->switch_number++;
    }
    pthread_cond_signal(&g->switch_cond);
    pthread_mutex_unlock(&g->switch_mutex);
    if (fake_gil_drop_requested())
        __atomic_store_n(&_PyRuntime.drop_request, 0, __ATOMIC_RELAXED);
}

void fake_gil_take(uintptr_t tstate)
{
    struct fake_gil *g = &_PyRuntime.gil;
    uint64_t since = critical_enter(&g->mutex);
    fake_gil_inside_take(g, tstate);
    critical_leave(&g->mutex, since);
}

/* drop_gil's critical section, M held (see fake_gil_inside_take). */
__attribute__((noinline)) void fake_gil_inside_drop(struct fake_gil *g)
{
    COUNT(releases);
    __atomic_store_n(&g->locked, 0, __ATOMIC_RELAXED);
    pthread_cond_signal(&g->cond);
}

void fake_gil_drop(uintptr_t tstate)
{
    struct fake_gil *g = &_PyRuntime.gil;
    uint64_t since = critical_enter(&g->mutex);
    fake_gil_inside_drop(g);
    critical_leave(&g->mutex, since);
    if (fake_gil_drop_requested()) {
        COUNT(forced_paths);
        pthread_mutex_lock(&g->switch_mutex);
        if (g->last_holder == tstate) {
            __atomic_store_n(&_PyRuntime.drop_request, 0, __ATOMIC_RELAXED);
            pthread_cond_wait(&g->switch_cond, &g->switch_mutex);
        }
        pthread_mutex_unlock(&g->switch_mutex);
    }
}
