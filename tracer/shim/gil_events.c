/*
 * gil_events.c — what an interposed call on a GIL means, as events.
 *
 * CPython 3.2+:
 *   take_gil:  lock(M); [timedwait(C, M)...]; lock(SM); signal(SC); unlock(SM); unlock(M)
 *   drop_gil:  lock(M); signal(C); unlock(M); [lock(SM); wait(SC, SM); unlock(SM)]
 * so that, with "holding M" read from the mutex's owner field (glibc keeps
 * the owner's tid there), no lock or unlock of M needs watching:
 *   ACQUIRE        = signal(SC) while holding M
 *   RELEASE        = signal(C) while holding M
 *   BUSY / RETRY   = the first / a later timedwait(C, M) since the thread's
 *                    last ACQUIRE
 *   TIMEOUT        = that wait returned ETIMEDOUT
 *   DROP_REQUEST   = ...and, as take_gil checks, the GIL is still locked and
 *                    no switch happened meanwhile: the waiter asks the holder
 *   FORCED_SWITCH  = lock(SM) while not holding M: a holder that dropped on
 *                    request waits for the taker's acknowledgement
 * CPython 2.7 (a sem_t): sem_wait is split into sem_trywait (success:
 * ACQUIRE) and, if that fails, BUSY + sem_wait + ACQUIRE; sem_post is RELEASE.
 *
 * Events are recorded while M is held (3.x) or before the semaphore is
 * posted (2.7), so a RELEASE is always recorded before the next ACQUIRE.
 * Under `giltrace attach` a GIL created before the shim arrived is
 * identified at its first condvar call (gil_midrun.h).
 */
#include <errno.h>

#include "gil.h"
#include "gil_midrun.h"
#include "py_stack.h"
#include "recorder.h"
#include "ring_writer.h"
#include "shim_real.h"

/* With a trigger set (giltrace run --trigger-wait-ms), a thread's wait for
 * the GIL is timed on CLOCK_MONOTONIC: at BUSY, and whenever the waiter
 * wakes (RETRY, TIMEOUT, ACQUIRE). A wait that passes the threshold asks
 * for a snapshot, once. Without a trigger this costs one compare. */
static void wait_began(struct shim_thread *t)
{
    if (__builtin_expect(ring_writer_trigger_ns() != 0, 0)) {
        t->wait_start_ns = ring_clock_monotonic_ns();
        t->triggered = 0;
    }
}

static void wait_goes_on(struct shim_thread *t)
{
    uint64_t limit = ring_writer_trigger_ns();
    if (__builtin_expect(limit == 0, 1) || t->triggered || t->wait_start_ns == 0)
        return;
    uint64_t waited = ring_clock_monotonic_ns() - t->wait_start_ns;
    if (waited > limit) {
        t->triggered = 1;
        ring_writer_trigger(shim_thread_tid(t), waited);
    }
}

static void wait_ended(struct shim_thread *t)
{
    wait_goes_on(t);
    t->wait_start_ns = 0;
}

/* Does the calling thread hold GIL mutex `m`? */
static inline bool holds(const struct gil *g, struct shim_thread *t)
{
    const pthread_mutex_t *m = (const pthread_mutex_t *)g->mutex;
    return (uint32_t)__atomic_load_n(&m->__data.__owner, __ATOMIC_RELAXED) == shim_thread_tid(t);
}

static void note_interval(const struct gil *g, const struct timespec *abstime)
{
    if (g->interval_us) {
        ring_writer_note_interval((uint32_t)*g->interval_us);
        return;
    }
    /* 3.2-3.6: the deadline is now + interval on the condvar's clock. */
    struct timespec now;
    if (!abstime || clock_gettime(g->cond_clock, &now) != 0)
        return;
    int64_t ns = (int64_t)(abstime->tv_sec - now.tv_sec) * 1000000000 + (abstime->tv_nsec - now.tv_nsec);
    if (ns > 0 && ns < (int64_t)1000000000 * 3600)
        ring_writer_note_interval((uint32_t)((ns + 500) / 1000));
}

int gil_mutex_lock(pthread_mutex_t *m)
{
    int r = shim_real.mutex_lock(m);
    enum gil_role role;
    struct gil *g = gil_lookup((uintptr_t)m, &role);
    if (r == 0 && g && role == GIL_SWITCH_MUTEX && !holds(g, shim_thread_enter()))
        rec_event(RING_EV_FORCED_SWITCH, g->index);
    return r;
}

void gil_before_cond_signal(pthread_cond_t *c, uintptr_t from)
{
    enum gil_role role;
    struct gil *g = gil_lookup((uintptr_t)c, &role);
    if (!g)
        g = gil_midrun_identify_signal(c, &role);
    struct shim_thread *t = shim_thread_enter();
    if (!g || !holds(g, t))
        return;
    if (role == GIL_SWITCH_COND && t->waits)
        wait_ended(t);
    t->waits = 0;
    if (role == GIL_COND) {
        g->shadow_locked = 0;
        rec_event(RING_EV_RELEASE, g->index);
        t->holds_gil = 0;
        if (rec_stacks_on)
            rec_stack(from); /* right after its RELEASE: the stack record refers to it */
        if (py_stacks_on)
            py_stack_record();
        if (g->enabled && *g->enabled == 0) {
            /* A free-threaded build switching its GIL off drops it last. */
            rec_event(RING_EV_GIL_DISABLED, g->index);
            ring_writer_set_gil_kind(RING_GIL_NONE);
            g->announce_enabled = 1;
        }
    } else if (role == GIL_SWITCH_COND) {
        if (g->announce_enabled) {
            g->announce_enabled = 0;
            ring_writer_set_gil_kind(RING_GIL_CONDVAR);
            rec_event(RING_EV_GIL_ENABLED, g->index);
        }
        rec_event(RING_EV_ACQUIRE, g->index);
        t->holds_gil = 1;
        g->shadow_locked = 1;
        if (g->shadow_holder != t->tid) {
            g->shadow_holder = t->tid;
            g->shadow_switch_number++;
        }
    }
}

int gil_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *abstime, uintptr_t from)
{
    enum gil_role role;
    struct gil *g = gil_lookup((uintptr_t)c, &role);
    if (!g)
        g = gil_midrun_identify_wait(c, m, &role);
    struct shim_thread *t = shim_thread_enter();
    if (!g || role != GIL_COND || (uintptr_t)m != g->mutex)
        return shim_real.cond_timedwait(c, m, abstime);

    int saved_errno = errno;
    unsigned long switches = *g->switch_number;
    if (t->waits++ == 0) {
        note_interval(g, abstime);
        rec_event(RING_EV_BUSY, g->index);
        if (rec_stacks_on)
            rec_stack(from);
        if (py_stacks_on)
            py_stack_record();
        wait_began(t);
    } else {
        rec_event(RING_EV_RETRY, g->index);
        wait_goes_on(t);
    }
    errno = saved_errno;
    int r = shim_real.cond_timedwait(c, m, abstime);
    if (r == ETIMEDOUT) {
        saved_errno = errno;
        rec_event(RING_EV_TIMEOUT, g->index);
        if (*g->locked && *g->switch_number == switches)
            rec_event(RING_EV_DROP_REQUEST, g->index);
        errno = saved_errno;
    }
    return r;
}

/* 2.7 ------------------------------------------------------------------ */

int gil_sem_wait(sem_t *s, uintptr_t from)
{
    struct gil *g = gil_lookup_sem(s);
    if (!g)
        return shim_real.sem_wait(s);
    struct shim_thread *t = shim_thread_enter();
    int saved_errno = errno;
    if (shim_real.sem_trywait(s) == 0) {
        errno = saved_errno;
        t->sem_waiting = 0;
        rec_event(RING_EV_ACQUIRE, g->index);
        t->holds_gil = 1;
        return 0;
    }
    errno = saved_errno;
    if (!t->sem_waiting) {
        /* Not again when the interpreter retries after EINTR. */
        t->sem_waiting = 1;
        rec_event(RING_EV_BUSY, g->index);
        if (rec_stacks_on)
            rec_stack(from);
        if (py_stacks_on)
            py_stack_record();
        wait_began(t);
    }
    int r = shim_real.sem_wait(s);
    if (r == 0) {
        saved_errno = errno;
        t->sem_waiting = 0;
        rec_event(RING_EV_ACQUIRE, g->index);
        t->holds_gil = 1;
        wait_ended(t);
        errno = saved_errno;
    }
    return r;
}

int gil_sem_trywait(sem_t *s)
{
    int r = shim_real.sem_trywait(s);
    struct gil *g = r == 0 ? gil_lookup_sem(s) : NULL;
    if (g) {
        shim_thread_enter()->sem_waiting = 0;
        rec_event(RING_EV_ACQUIRE, g->index);
        shim_self.holds_gil = 1;
    }
    return r;
}

void gil_before_sem_post(sem_t *s, uintptr_t from)
{
    struct gil *g = gil_lookup_sem(s);
    if (g) {
        rec_event(RING_EV_RELEASE, g->index);
        shim_self.holds_gil = 0;
        if (rec_stacks_on)
            rec_stack(from);
        if (py_stacks_on)
            py_stack_record();
    }
}
