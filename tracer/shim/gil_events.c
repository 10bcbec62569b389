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
 * A handoff leaves the critical sections of M with nothing to record:
 * lock(M) itself is interposed, and a holder's RELEASE (clock, record,
 * stacks) is recorded before the real lock, so that its signal(C) inside M
 * finds a thread-local word saying so; take_gil's lock(SM) and signal(SC)
 * inside M are recognised from what that prepare left (gil_fast.h), and
 * the ACQUIRE seen at signal(SC) is stamped and stored after the real
 * unlock(M). Timestamps so put a RELEASE before the next ACQUIRE
 * (recorder.h). Only a waiter's BUSY (stamped before its lock(M)), RETRY,
 * TIMEOUT and DROP_REQUEST are stored inside M, where the waiting happens;
 * and a RELEASE there where the GIL needs state kept under M (3.2-3.6's
 * shadows, a free-threaded build, an experiment) or where the shim did not
 * see the holder's ACQUIRE (attach). 2.7 records before the semaphore is
 * posted. Under
 * `giltrace attach` a GIL created before the shim arrived is identified at
 * its first condvar call (gil_midrun.h).
 *
 * Under giltrace run --experiment, the timed wait's deadline is the one
 * gil_experiment.h decides (the only thing an experiment changes).
 *
 * errno: each slow path saves it once on entry and restores it after its
 * own work, before and after the real call.
 */
#include <errno.h>

#include "gil.h"
#include "gil_experiment.h"
#include "gil_midrun.h"
#include "py_stack.h"
#include "recorder.h"
#include "ring_writer.h"
#include "shim_real.h"
#include "wait_trigger.h"

/* Does the calling thread hold GIL mutex `m`? */
static inline bool holds(const struct gil *g, struct shim_entered self)
{
    const pthread_mutex_t *m = (const pthread_mutex_t *)g->mutex;
    return (uint32_t)__atomic_load_n(&m->__data.__owner, __ATOMIC_RELAXED) == shim_thread_tid(self.t);
}

static void note_interval(struct gil *g, const struct timespec *abstime)
{
    if (g->interval_us) {
        ring_writer_note_interval((uint32_t)*g->interval_us);
        return;
    }
    /* 3.2-3.6: the deadline is now + interval on the condvar's clock. A
     * clock read inside M: done at the GIL's first wait only, so a later
     * sys.setswitchinterval() goes unnoticed on these versions. */
    struct timespec now;
    if (g->interval_noted || !abstime || clock_gettime(g->cond_clock, &now) != 0)
        return;
    g->interval_noted = 1;
    int64_t ns = (int64_t)(abstime->tv_sec - now.tv_sec) * 1000000000 + (abstime->tv_nsec - now.tv_nsec);
    if (ns > 0 && ns < (int64_t)1000000000 * 3600)
        ring_writer_note_interval((uint32_t)((ns + 500) / 1000));
}

/* Stacks are recorded at all: native (--stacks) or Python ones. */
static inline bool any_stacks(void)
{
    return rec_stacks() || __builtin_expect(__atomic_load_n(&py_stacks_on, __ATOMIC_RELAXED), 0);
}

/* Capture the calling thread's stacks (native from `from`) into `s`. */
static void capture(struct shim_stacks *s, uintptr_t from)
{
    s->native = rec_stacks() ? rec_stack_capture(from) : 0;
    s->python = __atomic_load_n(&py_stacks_on, __ATOMIC_RELAXED) ? py_stack_capture_id() : 0;
    s->ready = 1;
}

/* Record the stacks of the event just recorded, right after it: those
 * captured before the lock, or, where that guess missed (the GIL was taken
 * by another thread between the check and the lock: a BUSY nobody
 * foresaw), captured now, inside the critical section. */
static void store(struct shim_entered self, struct shim_stacks *s, uintptr_t from)
{
    if (!s->ready)
        capture(s, from);
    if (rec_stacks())
        rec_stack_store(self, s->native);
    if (__atomic_load_n(&py_stacks_on, __ATOMIC_RELAXED))
        py_stack_record_id(self, s->python);
    s->ready = 0;
}

bool gil_unlock_hooked;

/* Record the ACQUIRE seen inside M (signal(SC)), now that M is let go of:
 * stamped after the unlock, it still follows the RELEASE before it (stamped
 * before that holder's unlock, which preceded our lock) and precedes this
 * thread's next RELEASE (stamped before its next lock). */
static void acquire_record(struct shim_entered self)
{
    struct shim_thread *t = self.t;
    unsigned gil = t->acquire_gil;
    bool waited = t->waits != 0;
    t->acquire_mutex = 0;
    t->waits = 0;
    t->stacks_busy.ready = 0;
    t->stamp_busy.set = 0;
    t->holds_gil = 1;
    uint64_t ts = rec_event(self, RING_EV_ACQUIRE, gil);
    if (waited)
        wait_trigger_check(t, ts);
}

/* Before any other event of the thread: an ACQUIRE whose unlock(M) was not
 * seen (it cannot be missed while unlock is interposed) goes first. */
static inline void acquire_settle(struct shim_entered self)
{
    if (__builtin_expect(self.t->acquire_mutex != 0, 0))
        acquire_record(self);
}

/* The GIL one of whose condvars or switch mutex is at `addr`: first the one
 * whose M the thread locked last (no table scan inside the critical
 * section), else the registry's. */
static inline struct gil *lookup_near(struct shim_thread *t, uintptr_t addr, enum gil_role *role)
{
    struct gil *g = t->locked_gil;
    if (g) {
        if (addr == g->cond) {
            *role = GIL_COND;
            return g;
        }
        if (addr == g->switch_cond) {
            *role = GIL_SWITCH_COND;
            return g;
        }
        if (addr == g->switch_mutex) {
            *role = GIL_SWITCH_MUTEX;
            return g;
        }
    }
    return gil_lookup(addr, role);
}

/* Whether a RELEASE must be recorded inside M, at signal(C): where the
 * shadows of 3.2-3.6 are kept, where a free-threaded build may switch its
 * GIL off, and under an experiment, which reads state kept under M. */
static inline bool release_inside(const struct gil *g)
{
    return g->locked == &g->shadow_locked || g->enabled || __builtin_expect(gil_experiment_on, 0);
}

/* Before the real lock(M): what the critical section will need. A thread
 * that holds the GIL is in drop_gil: its RELEASE (clock, record, stacks)
 * is recorded here, leaving signal(C) nothing to do inside M, or, where
 * release_inside() says so, its clock and stacks are taken here for the
 * RELEASE recorded there. One that does not hold it is in take_gil and
 * will wait if the GIL is held now (its BUSY's clock and stacks). */
static void prepare(struct shim_entered self, struct gil *g, uintptr_t from)
{
    struct shim_thread *t = self.t;
    acquire_settle(self);
    t->locked_gil = g;
    rec_prepare(self);
    wait_trigger_prepare();
    t->released_cond = 0;
    t->taking_sm = 0;
    if (t->holds_gil && !release_inside(g)) {
        struct shim_stamp now = rec_stamp(); /* fenced, as a stamp for inside M would be */
        rec_event_stamped(self, RING_EV_RELEASE, g->index, &now);
        t->holds_gil = 0;
        if (any_stacks()) {
            t->stacks_release.ready = 0;
            store(self, &t->stacks_release, from); /* right after its RELEASE */
        }
        t->released_cond = g->cond;
        return;
    }
    if (t->holds_gil) {
        t->stamp_release = rec_stamp();
        if (any_stacks())
            capture(&t->stacks_release, from);
        return;
    }
    t->taking_sm = g->switch_mutex;
    if (*g->locked) {
        t->stamp_busy = rec_stamp();
        if (any_stacks() && !t->stacks_busy.ready)
            capture(&t->stacks_busy, from);
    }
}

int gil_mutex_lock(pthread_mutex_t *m, uintptr_t from)
{
    enum gil_role role;
    struct shim_entered self = shim_thread_enter();
    struct gil *g = lookup_near(self.t, (uintptr_t)m, &role);
    if (!g || (role != GIL_MUTEX && role != GIL_SWITCH_MUTEX))
        return shim_real.mutex_lock(m);
    /* lock(SM) inside take_gil (holding M): nothing to record. */
    if (role == GIL_SWITCH_MUTEX && holds(g, self))
        return shim_real.mutex_lock(m);
    int saved_errno = errno;
    if (role == GIL_MUTEX) {
        prepare(self, g, from);
        errno = saved_errno;
        return shim_real.mutex_lock(m);
    }
    /* lock(SM) by a thread outside take_gil (not holding M): a holder that
     * dropped on request. Whether it holds M cannot change meanwhile. */
    acquire_settle(self);
    struct shim_stamp forced = rec_stamp();
    errno = saved_errno;
    int r = shim_real.mutex_lock(m);
    if (r == 0) {
        saved_errno = errno;
        rec_event_stamped(self, RING_EV_FORCED_SWITCH, g->index, &forced);
        errno = saved_errno;
    }
    return r;
}

int gil_mutex_unlock(pthread_mutex_t *m)
{
    int r = shim_real.mutex_unlock(m);
    int saved_errno = errno;
    struct shim_entered self = shim_thread_enter(); /* an earlier session's pending ACQUIRE is dropped here */
    if (self.t->acquire_mutex == (uintptr_t)m)
        acquire_record(self);
    errno = saved_errno;
    return r;
}

void gil_before_cond_signal(pthread_cond_t *c, uintptr_t from)
{
    enum gil_role role;
    struct shim_entered self = shim_thread_enter();
    struct shim_thread *t = self.t;
    struct gil *g = lookup_near(t, (uintptr_t)c, &role);
    if (!g)
        g = gil_midrun_identify_signal(c, &role);
    if (!g)
        return;
    int saved_errno = errno;
    if (!holds(g, self)) {
        errno = saved_errno;
        return;
    }
    acquire_settle(self);
    if (role == GIL_COND) {
        t->taking_sm = 0; /* a holder prepare did not know of (attach) */
        rec_event_stamped(self, RING_EV_RELEASE, g->index, &t->stamp_release);
        if (g->locked == &g->shadow_locked)
            g->shadow_locked = 0;
        t->holds_gil = 0;
        if (__builtin_expect(gil_experiment_on, 0))
            gil_experiment_note_release(t, g);
        if (any_stacks())
            store(self, &t->stacks_release, from); /* right after its RELEASE */
        if (g->enabled && *g->enabled == 0) {
            /* A free-threaded build switching its GIL off drops it last. */
            rec_event(self, RING_EV_GIL_DISABLED, g->index);
            ring_writer_set_gil_kind(RING_GIL_NONE);
            g->announce_enabled = 1;
        }
    } else if (role == GIL_SWITCH_COND) {
        if (g->announce_enabled) {
            g->announce_enabled = 0;
            ring_writer_set_gil_kind(RING_GIL_CONDVAR);
            rec_event(self, RING_EV_GIL_ENABLED, g->index);
        }
        t->taking_sm = 0;
        t->acquire_mutex = g->mutex;
        t->acquire_gil = g->index;
        if (!__atomic_load_n(&gil_unlock_hooked, __ATOMIC_RELAXED))
            acquire_record(self); /* no unlock(M) to wait for: recorded inside */
        if (__builtin_expect(gil_experiment_on, 0))
            gil_experiment_note_acquire(g);
        if (g->locked == &g->shadow_locked) {
            /* 3.2-3.6 only: 3.7+'s own fields are read instead, and the
             * shadows would be a shared line written at every handoff. */
            g->shadow_locked = 1;
            if (g->shadow_holder != t->tid) {
                g->shadow_holder = t->tid;
                g->shadow_switch_number++;
            }
        }
    }
    errno = saved_errno;
}

int gil_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *abstime, uintptr_t from)
{
    enum gil_role role;
    struct gil *g = gil_lookup((uintptr_t)c, &role);
    if (!g)
        g = gil_midrun_identify_wait(c, m, &role);
    if (!g || role != GIL_COND || (uintptr_t)m != g->mutex)
        return shim_real.cond_timedwait(c, m, abstime);

    int saved_errno = errno;
    struct shim_entered self = shim_thread_enter();
    struct shim_thread *t = self.t;
    unsigned long switches = *g->switch_number;
    acquire_settle(self);
    t->stamp_release.set = 0; /* M retaken inside the wait: a stamp of before is stale */
    if (t->waits++ == 0) {
        note_interval(g, abstime);
        uint64_t ts = rec_event_stamped(self, RING_EV_BUSY, g->index, &t->stamp_busy);
        if (any_stacks())
            store(self, &t->stacks_busy, from);
        wait_trigger_began(t, ts);
    } else {
        wait_trigger_check(t, rec_event(self, RING_EV_RETRY, g->index));
    }
    struct timespec deadline;
    const struct timespec *until =
        __builtin_expect(gil_experiment_on, 0) ? gil_experiment_deadline(t, g, abstime, &deadline) : abstime;
    errno = saved_errno;
    int r = shim_real.cond_timedwait(c, m, until);
    if (r == ETIMEDOUT) {
        saved_errno = errno;
        rec_event(self, RING_EV_TIMEOUT, g->index);
        if (*g->locked && *g->switch_number == switches) {
            rec_event(self, RING_EV_DROP_REQUEST, g->index);
            if (__builtin_expect(gil_experiment_on, 0))
                gil_experiment_note_drop_request(g);
        }
        errno = saved_errno;
    }
    return r;
}

/* 2.7 ------------------------------------------------------------------
 * No mutex: the GIL is the semaphore. The work a critical section would
 * avoid is done while the thread does not hold the GIL: before its
 * sem_trywait/sem_wait, and after its sem_post (the RELEASE's stack). */

int gil_sem_wait(sem_t *s, uintptr_t from)
{
    struct gil *g = gil_lookup_sem(s);
    if (!g)
        return shim_real.sem_wait(s);
    int saved_errno = errno;
    struct shim_entered self = shim_thread_enter();
    struct shim_thread *t = self.t;
    rec_prepare(self);
    wait_trigger_prepare();
    if (shim_real.sem_trywait(s) == 0) {
        t->sem_waiting = 0;
        rec_event(self, RING_EV_ACQUIRE, g->index);
        t->holds_gil = 1;
        errno = saved_errno;
        return 0;
    }
    if (!t->sem_waiting) {
        /* Not again when the interpreter retries after EINTR. */
        t->sem_waiting = 1;
        uint64_t ts = rec_event(self, RING_EV_BUSY, g->index);
        if (any_stacks()) {
            t->stacks_busy.ready = 0; /* no lock held: captured here */
            store(self, &t->stacks_busy, from);
        }
        wait_trigger_began(t, ts);
    }
    errno = saved_errno;
    int r = shim_real.sem_wait(s);
    if (r == 0) {
        saved_errno = errno;
        t->sem_waiting = 0;
        wait_trigger_check(t, rec_event(self, RING_EV_ACQUIRE, g->index));
        t->holds_gil = 1;
        errno = saved_errno;
    }
    return r;
}

int gil_sem_trywait(sem_t *s)
{
    int r = shim_real.sem_trywait(s);
    struct gil *g = r == 0 ? gil_lookup_sem(s) : NULL;
    if (g) {
        int saved_errno = errno;
        struct shim_entered self = shim_thread_enter();
        self.t->sem_waiting = 0;
        rec_event(self, RING_EV_ACQUIRE, g->index);
        self.t->holds_gil = 1;
        errno = saved_errno;
    }
    return r;
}

int gil_sem_post(sem_t *s, uintptr_t from)
{
    struct gil *g = gil_lookup_sem(s);
    if (!g)
        return shim_real.sem_post(s);
    int saved_errno = errno;
    struct shim_entered self = shim_thread_enter();
    rec_event(self, RING_EV_RELEASE, g->index);
    self.t->holds_gil = 0;
    errno = saved_errno;
    int r = shim_real.sem_post(s);
    if (any_stacks()) {
        saved_errno = errno;
        self.t->stacks_release.ready = 0; /* the GIL is posted: captured now */
        store(self, &self.t->stacks_release, from); /* the thread's next record: right after its RELEASE */
        errno = saved_errno;
    }
    return r;
}
