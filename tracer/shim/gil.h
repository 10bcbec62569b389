/*
 * gil.h — the GILs of this process: how they were identified, the fast-path
 * filters every wrapper consults, and the handlers that turn the interposed
 * calls on a GIL into events.
 *
 * A condvar GIL (CPython 3.2+) is four objects: mutex M, switch mutex SM,
 * cond C, switch cond SC. It is identified by create_gil()'s signature: one
 * thread calls mutex_init(M), mutex_init(SM), cond_init(C), cond_init(SC) in
 * a row. On 3.7+ the four also have fixed relative positions inside
 * struct _gil_runtime_state (SM = M+88, C = M-48, SC = M+40), and the main
 * GIL lies inside the exported _PyRuntime; on 3.2-3.6 they are static
 * variables of the interpreter's own object. A semaphore GIL (2.7) is the
 * sem_t that `interpreter_lock` points to, whose address is decoded from
 * PyEval_ReleaseLock. Nothing else is ever taken for a GIL.
 */
#ifndef GILTRACE_GIL_H
#define GILTRACE_GIL_H

#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "python_probe.h"

struct gil {
    uintptr_t mutex, switch_mutex, cond, switch_cond; /* condvar GIL */
    uintptr_t sem;                                     /* semaphore GIL */
    /* CPython's own `locked` and `switch_number` (3.7+), or shadows kept from
     * our events (3.2-3.6), read after a timed-out wait exactly as take_gil
     * does to decide on a drop request. */
    const volatile int *locked;
    const volatile unsigned long *switch_number;
    const volatile unsigned long *interval_us; /* 3.7+, else NULL */
    const volatile int *enabled;               /* free-threaded builds only, else NULL */
    clockid_t cond_clock;                      /* clock of C's timed waits */
    int shadow_locked;
    unsigned long shadow_switch_number;
    uint32_t shadow_holder;
    uint8_t index;            /* ring/database gil number */
    uint8_t announce_enabled; /* free-threaded build, GIL off: GIL_ENABLED at the next acquire */
    uint8_t interval_noted;   /* 3.2-3.6: the switch interval was worked out from a deadline */
    uint8_t exp_drop_requested; /* --experiment: a drop request since the last ACQUIRE (under M) */
};

/* An address filter: a bitmap over a hash of the address. A GIL object's
 * bit is set when the GIL is registered, and bits are never cleared while a
 * filter is in use, so a wrapper reading any version of it never misses a
 * GIL object it already covered; another address whose bit is set (one in
 * 2^15 per registered object) takes the slow path, which looks it up
 * exactly and finds nothing. The cost for every other lock call is the same
 * with one GIL or 64: a multiply, a load and a bit test. */
#define GIL_FILTER_BITS 15u
struct gil_filter {
    uint64_t word[(1u << GIL_FILTER_BITS) / 64u];
};

/* What the wrappers filter on: each GIL's mutex and switch mutex (lock(M)
 * prepares the recording outside the critical section; lock(SM) may be a
 * forced switch), its two condvars, and the 2.7 semaphore. */
extern const struct gil_filter *gil_filter_mutex;
extern const struct gil_filter *gil_filter_cond;
extern sem_t *gil_watch_sem; /* the 2.7 GIL, or the candidate for it */

/* Filters that match everything (identification at attach time) and nothing. */
extern const struct gil_filter gil_filter_all;
extern const struct gil_filter gil_filter_none;

static inline unsigned gil_filter_hash(uintptr_t p)
{
    return (unsigned)(((uint64_t)p * 0x9e3779b97f4a7c15ull) >> (64u - GIL_FILTER_BITS));
}

/* The wrappers' fast path. The filter pointer is read relaxed: the bitmap
 * it points to is reached through it (an address dependency). */
static inline bool gil_watched(const struct gil_filter *const *filter, const void *p)
{
    const struct gil_filter *f = __atomic_load_n(filter, __ATOMIC_RELAXED);
    unsigned h = gil_filter_hash((uintptr_t)p);
    return (f->word[h / 64u] >> (h % 64u)) & 1u;
}

/* Start identifying GILs in a process described by `py`. */
void gil_registry_start(const struct python_info *py);

/* In a fork child: the interpreter re-creates its GIL at the same address. */
void gil_registry_after_fork_child(void);

/* Register the 3.7+ GIL whose mutex is `m` (struct _gil_runtime_state
 * layout), found some other way than by its creation (gil_midrun.h); or
 * find it again. Returns it, or NULL when the table is full. */
struct gil *gil_registry_add_runtime_gil(uintptr_t m, clockid_t clock, bool subinterpreter);

/* How many GILs are registered, and the main one (index 0) or NULL. */
unsigned gil_registry_count(void);
struct gil *gil_registry_main(void);

/* Identification hooks, called after the real init function returned 0. */
void gil_note_mutex_init(pthread_mutex_t *m);
void gil_note_cond_init(pthread_cond_t *c, const pthread_condattr_t *attr);
void gil_note_sem_init(sem_t *s);

/* Record GIL_DISABLED for a free-threaded build, which starts without a GIL.
 * When it switches its GIL on (PYTHON_GIL=1, an extension without
 * Py_mod_gil) the next ACQUIRE is preceded by GIL_ENABLED, and a RELEASE
 * that leaves `enabled` at 0 is followed by GIL_DISABLED. */
void gil_note_free_threaded(void);

/* unlock(M) reaches gil_mutex_unlock: true under LD_PRELOAD, and under
 * attach once the interpreter's pthread_mutex_unlock slot is redirected.
 * Until then an ACQUIRE is recorded inside M, as it is seen. Set before
 * any GIL is registered or after the hooks are in place. */
extern bool gil_unlock_hooked;

/* Which of a condvar GIL's four objects an address is. */
enum gil_role { GIL_MUTEX, GIL_SWITCH_MUTEX, GIL_COND, GIL_SWITCH_COND };

/* The GIL one of whose objects is at `addr`, or NULL. */
struct gil *gil_lookup(uintptr_t addr, enum gil_role *role);

/* The semaphore GIL if `s` is it (identifying it on first sight), or NULL. */
struct gil *gil_lookup_sem(sem_t *s);

/* Slow paths of the wrappers, entered only when the filter matched. Each
 * calls the real function where it returns an int, records what the call
 * means, and saves errno once on entry and restores it after its own work
 * (the real function's errno is the caller's).
 * `from` is the interposed call's return address: where a RELEASE's or
 * BUSY's native stack starts (giltrace run --stacks). */
int gil_mutex_lock(pthread_mutex_t *m, uintptr_t from);
/* After the real unlock of the GIL mutex M by a thread with an ACQUIRE
 * pending on it: record that ACQUIRE. */
int gil_mutex_unlock(pthread_mutex_t *m);
void gil_before_cond_signal(pthread_cond_t *c, uintptr_t from);
int gil_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *abstime, uintptr_t from);
int gil_sem_wait(sem_t *s, uintptr_t from);
int gil_sem_trywait(sem_t *s);
int gil_sem_post(sem_t *s, uintptr_t from);

#endif
