/*
 * shim_intercept.c — the exported functions that LD_PRELOAD puts in front of
 * libc's. Each is a filter: one compare against the GIL filters (for unlock,
 * a thread-local flag), then a tail call to the real function. Only a call on a GIL (or on one of the few
 * objects a filter cannot tell from one) goes to gil_events.c.
 * pthread_mutex_unlock is interposed only so that an ACQUIRE seen inside
 * the GIL mutex can be stamped and stored after it is let go of
 * (gil_events.c).
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>

#include "gil.h"
#include "gil_fast.h"
#include "recorder.h"
#include "shim_real.h"
#include "stack_unwind.h"
#include "thread_start.h"

#define SHIM_EXPORT __attribute__((visibility("default")))
#define UNLIKELY(x) __builtin_expect(!!(x), 0)
/* Where the interposed function returns to: the first frame of a stack. */
#define CALLER ((uintptr_t)__builtin_return_address(0))

SHIM_EXPORT int pthread_mutex_lock(pthread_mutex_t *m)
{
    if (UNLIKELY(gil_watched(&gil_filter_mutex, m)) && !gil_fast_switch_lock(m))
        return gil_mutex_lock(m, CALLER);
    return shim_real.mutex_lock(m);
}

/* Only the unlock of M by a thread with an ACQUIRE pending (between
 * take_gil's signal(SC) and its unlock(M)) looks further: one compare with
 * a thread-local word. */
SHIM_EXPORT int pthread_mutex_unlock(pthread_mutex_t *m)
{
    if (UNLIKELY(shim_self.acquire_mutex == (uintptr_t)m))
        return gil_mutex_unlock(m);
    return shim_real.mutex_unlock(m);
}

SHIM_EXPORT int pthread_cond_signal(pthread_cond_t *c)
{
    if (UNLIKELY(gil_watched(&gil_filter_cond, c)) && !gil_fast_signal(c))
        gil_before_cond_signal(c, CALLER);
    return shim_real.cond_signal(c);
}

SHIM_EXPORT int pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *t)
{
    if (UNLIKELY(gil_watched(&gil_filter_cond, c)))
        return gil_cond_timedwait(c, m, t, CALLER);
    return shim_real.cond_timedwait(c, m, t);
}

SHIM_EXPORT int pthread_mutex_init(pthread_mutex_t *m, const pthread_mutexattr_t *a)
{
    int r = shim_real.mutex_init(m, a);
    if (r == 0) {
        int saved_errno = errno;
        gil_note_mutex_init(m);
        errno = saved_errno;
    }
    return r;
}

SHIM_EXPORT int pthread_cond_init(pthread_cond_t *c, const pthread_condattr_t *a)
{
    int r = shim_real.cond_init(c, a);
    if (r == 0) {
        int saved_errno = errno;
        gil_note_cond_init(c, a);
        errno = saved_errno;
    }
    return r;
}

SHIM_EXPORT int sem_init(sem_t *s, int pshared, unsigned value)
{
    int r = shim_real.sem_init(s, pshared, value);
    if (r == 0) {
        int saved_errno = errno;
        gil_note_sem_init(s);
        errno = saved_errno;
    }
    return r;
}

/* The 2.7 GIL's address is read relaxed: gil_lookup_sem decides. */
#define SEM_WATCHED(s) UNLIKELY((s) == __atomic_load_n(&gil_watch_sem, __ATOMIC_RELAXED))

SHIM_EXPORT int sem_wait(sem_t *s)
{
    if (SEM_WATCHED(s))
        return gil_sem_wait(s, CALLER);
    return shim_real.sem_wait(s);
}

SHIM_EXPORT int sem_trywait(sem_t *s)
{
    if (SEM_WATCHED(s))
        return gil_sem_trywait(s);
    return shim_real.sem_trywait(s);
}

SHIM_EXPORT int sem_post(sem_t *s)
{
    if (SEM_WATCHED(s))
        return gil_sem_post(s, CALLER);
    return shim_real.sem_post(s);
}

SHIM_EXPORT int pthread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
    if (UNLIKELY(__atomic_load_n(&thread_start_on, __ATOMIC_ACQUIRE)))
        return thread_start_create(thread, attr, fn, arg);
    return shim_real.pthread_create(thread, attr, fn, arg);
}

/* An object may be unmapped: unwind rules cached for its addresses go. */
SHIM_EXPORT int dlclose(void *handle)
{
    int r = shim_real.dlclose(handle);
    if (rec_stacks()) {
        int saved_errno = errno;
        stack_unwind_flush();
        errno = saved_errno;
    }
    return r;
}
