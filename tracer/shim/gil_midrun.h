/*
 * gil_midrun.h — finding a GIL whose create_gil() ran before the shim was
 * there (`giltrace attach`). The init signature of gil.h is long gone, so a
 * 3.7+ GIL is recognised by how CPython uses it, on the first call that
 * reaches a wrapper:
 *
 *   timedwait(c, m)  take_gil waiting: c == m-48, this thread owns m (glibc
 *                    keeps the owner's tid in the mutex), `locked` (m-64) is 1
 *   signal(c)        drop_gil: the mutex at c+48 is owned by this thread and
 *                    `locked` is 0; or take_gil: c is the switch cond at m+40,
 *                    this thread owns m and the switch mutex m+88, locked is 1
 *
 * and, in every case, the rest of struct _gil_runtime_state around m looks
 * right (gil_image_plausible). The memory around a condvar may belong to
 * anything, so it is copied out with a read that cannot fault; an address
 * that is not a GIL goes into a small negative cache. A GIL inside
 * _PyRuntime is the main one; a heap GIL is an own-GIL subinterpreter's
 * (3.12+), taken only once the main GIL is known so that it keeps index 0.
 *
 * Nothing here runs under LD_PRELOAD: the identify functions return NULL at
 * once unless gil_midrun_start() was called.
 */
#ifndef GILTRACE_GIL_MIDRUN_H
#define GILTRACE_GIL_MIDRUN_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "gil.h"
#include "python_probe.h"

/* A copy of struct _gil_runtime_state (3.7-3.14, x86-64), mutex at 80. */
struct gil_image {
    unsigned long interval;
    uintptr_t last_holder;
    int locked;
    int padding;
    unsigned long switch_number;
    pthread_cond_t cond;
    pthread_mutex_t mutex;
    pthread_cond_t switch_cond;
    pthread_mutex_t switch_mutex;
};

#define GIL_IMAGE_MUTEX 80u

/* Copy `n` bytes at `src` of this process into `dst`; false (and nothing
 * faults) if any of it is not mapped. One syscall. */
bool gil_safe_read(void *dst, uintptr_t src, size_t n);

/* Copy the GIL state whose mutex is at `m`. */
bool gil_image_read(uintptr_t m, struct gil_image *out);

/* Does `g` look like a GIL of an interpreter of version `hexversion`: sane
 * interval and `locked`, two private condvars on the same clock (monotonic
 * from 3.8), two mutexes of the same ordinary kind, consistent lock words.
 * glibc's words are read where this process's glibc keeps them
 * (glibc_sync.h): false while glibc_cond_probe() has not succeeded. */
bool gil_image_plausible(const struct gil_image *g, uint32_t hexversion);

/* The clock of the GIL's timed waits (CLOCK_REALTIME if the condvar layout
 * is not known). */
clockid_t gil_image_clock(const struct gil_image *g);

/* Start / stop identifying GILs at their first call: while started, every
 * condvar call of the interpreter reaches the slow path. Start probes
 * glibc's condvar layout (glibc_cond_probe) first. */
void gil_midrun_start(const struct python_info *py);
void gil_midrun_stop(void);

/* A wrapper's filter matched an object that is no known GIL: is it one?
 * Returns the GIL (now registered) with `role` set, or NULL. */
struct gil *gil_midrun_identify_wait(pthread_cond_t *c, pthread_mutex_t *m, enum gil_role *role);
struct gil *gil_midrun_identify_signal(pthread_cond_t *c, enum gil_role *role);

#endif
