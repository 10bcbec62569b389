/*
 * spin_lock.h — the shim's lock for rare work off the recording path (GIL
 * identification, the module table): a flag taken by atomic exchange,
 * yielding while another thread holds it. Never held across a call that
 * could wait for the GIL. A fork child resets it (spin_lock_reset), since
 * the thread that held it is gone.
 */
#ifndef GILTRACE_SPIN_LOCK_H
#define GILTRACE_SPIN_LOCK_H

#include <sched.h>

static inline void spin_lock(int *flag)
{
    while (__atomic_exchange_n(flag, 1, __ATOMIC_ACQUIRE))
        sched_yield();
}

static inline void spin_unlock(int *flag)
{
    __atomic_store_n(flag, 0, __ATOMIC_RELEASE);
}

static inline void spin_lock_reset(int *flag)
{
    __atomic_store_n(flag, 0, __ATOMIC_RELAXED);
}

#endif
