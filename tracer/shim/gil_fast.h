/*
 * gil_fast.h — the work the wrappers do while the GIL's mutex M is held,
 * when lock(M)'s prepare (gil_events.c), run before the real lock, has
 * foreseen the call: a few thread-local compares and stores, inlined into
 * the exported wrappers (shim_intercept.c) so that no function of the slow
 * path is entered inside M. Anything these do not recognise goes to the
 * slow paths of gil.h, which decide exactly.
 */
#ifndef GILTRACE_GIL_FAST_H
#define GILTRACE_GIL_FAST_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "gil.h"
#include "gil_experiment.h"
#include "shim_thread.h"

/* lock(m) is take_gil's lock(SM) with M held: nothing to record. */
static inline bool gil_fast_switch_lock(const pthread_mutex_t *m)
{
    return shim_self.taking_sm == (uintptr_t)m;
}

/* signal(c) inside M needs no more than this: drop_gil's signal(C) after
 * its RELEASE was recorded before lock(M) (nothing left to do), or
 * take_gil's signal(SC), whose ACQUIRE is noted here for unlock(M) to
 * record. False: the slow path (gil_before_cond_signal) decides. */
static inline bool gil_fast_signal(const pthread_cond_t *c)
{
    struct shim_thread *t = &shim_self;
    if (t->released_cond == (uintptr_t)c) {
        t->released_cond = 0;
        return true;
    }
    if (!t->taking_sm)
        return false;
    const struct gil *g = t->locked_gil;
    const pthread_mutex_t *m = (const pthread_mutex_t *)g->mutex;
    if ((uintptr_t)c != g->switch_cond || t->tid == 0 ||
        (uint32_t)__atomic_load_n(&m->__data.__owner, __ATOMIC_RELAXED) != t->tid ||
        g->locked == &g->shadow_locked || g->announce_enabled ||
        !__atomic_load_n(&gil_unlock_hooked, __ATOMIC_RELAXED) || __builtin_expect(gil_experiment_on, 0))
        return false;
    t->taking_sm = 0;
    t->acquire_gil = g->index;
    t->acquire_mutex = g->mutex;
    return true;
}

#endif
