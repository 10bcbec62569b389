/*
 * fake_gil.c — CPython's GIL algorithm (new GIL, 3.2+) re-implemented on the
 * same pthread calls, for tests and benchmarks. See fake_gil.h.
 */
#include "fake_gil.h"

#include <errno.h>
#include <time.h>

__attribute__((visibility("default"))) struct fake_runtime _PyRuntime;
struct fake_gil_counts fake_gil_counts;

#define COUNT(field) __atomic_fetch_add(&fake_gil_counts.field, 1, __ATOMIC_RELAXED)

__attribute__((visibility("default"))) const char *Py_GetVersion(void)
{
    return "3.11.7 (fake CPython for giltrace tests)";
}

void fake_gil_create(unsigned long interval_us, int scrambled)
{
    struct fake_gil *g = &_PyRuntime.gil;
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (scrambled) {
        pthread_cond_init(&g->cond, &attr);
        pthread_cond_init(&g->switch_cond, &attr);
    }
    pthread_mutex_init(&g->mutex, NULL);
    pthread_mutex_init(&g->switch_mutex, NULL);
    if (!scrambled) {
        pthread_cond_init(&g->cond, &attr);
        pthread_cond_init(&g->switch_cond, &attr);
    }
    pthread_condattr_destroy(&attr);
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

void fake_gil_take(uintptr_t tstate)
{
    struct fake_gil *g = &_PyRuntime.gil;
    pthread_mutex_lock(&g->mutex);
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
    pthread_mutex_unlock(&g->mutex);
}

void fake_gil_drop(uintptr_t tstate)
{
    struct fake_gil *g = &_PyRuntime.gil;
    pthread_mutex_lock(&g->mutex);
    COUNT(releases);
    __atomic_store_n(&g->locked, 0, __ATOMIC_RELAXED);
    pthread_cond_signal(&g->cond);
    pthread_mutex_unlock(&g->mutex);
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
