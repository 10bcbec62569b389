/*
 * gil_registry.c — identifying GILs and publishing the fast-path filters.
 * See gil.h for the signatures that are recognised.
 *
 * Identification runs in the init wrappers (rare calls), serialised by a
 * spin flag; the recording path only reads the table, whose entries are
 * complete before the filter that lets a wrapper reach them is published.
 */
#include "gil.h"

#include <sched.h>
#include <string.h>

#include "ring.h"
#include "recorder.h"
#include "ring_writer.h"
#include "shim_thread.h"
#include "spin_lock.h"

/* Offsets inside struct _gil_runtime_state (3.7-3.14), relative to the GIL
 * mutex: interval, last_holder, locked, switch_number (8 bytes each with
 * padding), then cond, mutex, switch_cond, switch_mutex. */
#define RT_COND (-(intptr_t)sizeof(pthread_cond_t))
#define RT_SWITCH_NUMBER (RT_COND - 8)
#define RT_LOCKED (RT_COND - 16)
#define RT_INTERVAL (RT_COND - 32)
#define RT_ENABLED (RT_COND - 40) /* free-threaded builds: int enabled, before interval */
#define RT_SWITCH_COND ((intptr_t)sizeof(pthread_mutex_t))
#define RT_SWITCH_MUTEX ((intptr_t)(sizeof(pthread_mutex_t) + sizeof(pthread_cond_t)))

const struct gil_filter gil_filter_none;
const struct gil_filter gil_filter_all = {{[0 ...(1u << GIL_FILTER_BITS) / 64u - 1u] = ~0ull}};
/* The bitmaps the filters point to once a GIL is registered: bits are only
 * ever added (gil.h). */
static struct gil_filter live_mutex, live_cond;

const struct gil_filter *gil_filter_mutex = &gil_filter_none;
const struct gil_filter *gil_filter_cond = &gil_filter_none;
sem_t *gil_watch_sem;

static struct python_info py;
static struct gil gils[RING_MAX_GILS];
static unsigned gil_count; /* published with release order */
static bool sem_gil_identified;
static bool free_threaded;
static int registry_busy;

static void registry_lock(void)
{
    spin_lock(&registry_busy);
}

static void registry_unlock(void)
{
    spin_unlock(&registry_busy);
}

void gil_registry_start(const struct python_info *info)
{
    py = *info;
    free_threaded = info->free_threaded;
}

struct gil *gil_lookup(uintptr_t addr, enum gil_role *role)
{
    unsigned n = __atomic_load_n(&gil_count, __ATOMIC_ACQUIRE);
    for (unsigned i = 0; i < n; i++) {
        struct gil *g = &gils[i];
        if (!g->mutex)
            continue;
        if (addr == g->mutex)
            *role = GIL_MUTEX;
        else if (addr == g->switch_mutex)
            *role = GIL_SWITCH_MUTEX;
        else if (addr == g->cond)
            *role = GIL_COND;
        else if (addr == g->switch_cond)
            *role = GIL_SWITCH_COND;
        else
            continue;
        return g;
    }
    return NULL;
}

/* Let filter `*published` (backed by `live`) pass address `addr`. A filter
 * that passes everything (attach-time identification) stays as it is. Called
 * with the registry held, before the GIL is used. */
static void filter_add(struct gil_filter *live, const struct gil_filter **published, uintptr_t addr)
{
    unsigned h = gil_filter_hash(addr);
    __atomic_fetch_or(&live->word[h / 64u], 1ull << (h % 64u), __ATOMIC_RELEASE);
    if (__atomic_load_n(published, __ATOMIC_RELAXED) != &gil_filter_all)
        __atomic_store_n(published, live, __ATOMIC_RELEASE);
}

static void reset_call_state(struct gil *g)
{
    g->shadow_locked = 0;
    g->shadow_holder = 0;
}

/* Add (or, when re-created at the same address, reset) a condvar GIL.
 * Returns it, or NULL when the table is full. */
static struct gil *register_condvar_gil(const uintptr_t a[4], clockid_t clock, bool runtime_layout,
                                        bool subinterpreter)
{
    registry_lock();
    enum gil_role role;
    struct gil *g = gil_lookup(a[0], &role);
    if (g && role == GIL_MUTEX && g->switch_mutex == a[1] && g->cond == a[2] &&
        g->switch_cond == a[3]) {
        reset_call_state(g);
        registry_unlock();
        return g;
    }
    unsigned n = gil_count;
    if (n == RING_MAX_GILS) {
        registry_unlock();
        return NULL;
    }
    int index = ring_writer_add_gil(a[0], RING_GIL_CONDVAR, subinterpreter);
    if (index < 0 || (unsigned)index != n) {
        registry_unlock();
        return NULL;
    }
    g = &gils[n];
    memset(g, 0, sizeof *g);
    g->mutex = a[0];
    g->switch_mutex = a[1];
    g->cond = a[2];
    g->switch_cond = a[3];
    g->cond_clock = clock;
    g->index = (uint8_t)n;
    if (runtime_layout) {
        g->locked = (const volatile int *)(a[0] + RT_LOCKED);
        g->switch_number = (const volatile unsigned long *)(a[0] + RT_SWITCH_NUMBER);
        g->interval_us = (const volatile unsigned long *)(a[0] + RT_INTERVAL);
    } else {
        g->locked = &g->shadow_locked;
        g->switch_number = &g->shadow_switch_number;
    }
    if (free_threaded) {
        g->announce_enabled = 1;
        if (runtime_layout)
            g->enabled = (const volatile int *)(a[0] + RT_ENABLED);
    }
    else if (!subinterpreter)
        ring_writer_set_gil_kind(RING_GIL_CONDVAR);
    __atomic_store_n(&gil_count, n + 1, __ATOMIC_RELEASE);
    filter_add(&live_mutex, &gil_filter_mutex, g->mutex);
    filter_add(&live_mutex, &gil_filter_mutex, g->switch_mutex);
    filter_add(&live_cond, &gil_filter_cond, g->cond);
    filter_add(&live_cond, &gil_filter_cond, g->switch_cond);
    registry_unlock();
    return g;
}

struct gil *gil_registry_add_runtime_gil(uintptr_t m, clockid_t clock, bool subinterpreter)
{
    const uintptr_t a[4] = {m, m + RT_SWITCH_MUTEX, m + RT_COND, m + RT_SWITCH_COND};
    return register_condvar_gil(a, clock, true, subinterpreter);
}

unsigned gil_registry_count(void)
{
    return __atomic_load_n(&gil_count, __ATOMIC_ACQUIRE);
}

struct gil *gil_registry_main(void)
{
    return gil_registry_count() ? &gils[0] : NULL;
}

/* Decide whether create_gil()'s signature belongs to a GIL, and which. */
static void consider_condvar_gil(const uintptr_t a[4], clockid_t clock)
{
    if (!py.present || !ring_writer_tracing())
        return;
    uintptr_t m = a[0];
    bool runtime_layout = a[1] == m + RT_SWITCH_MUTEX && a[2] == m + RT_COND &&
                          a[3] == m + RT_SWITCH_COND;
    bool in_runtime = py.runtime_lo && m >= py.runtime_lo && m < py.runtime_hi;
    bool subinterpreter = false;
    if (runtime_layout) {
        if (py.hexversion < 0x03070000)
            return;
        if (!in_runtime && py.runtime_lo) {
            /* A heap GIL: only an own-GIL subinterpreter (3.12+) has one, and
             * only after the main GIL exists. */
            if (py.hexversion < 0x030c0000 || __atomic_load_n(&gil_count, __ATOMIC_ACQUIRE) == 0)
                return;
            subinterpreter = true;
        } else if (!in_runtime && !python_owns_address(&py, m)) {
            return;
        }
    } else {
        if (py.hexversion < 0x03020000 || py.hexversion >= 0x03070000)
            return;
        for (int i = 0; i < 4; i++)
            if (!python_owns_address(&py, a[i]))
                return;
    }
    register_condvar_gil(a, clock, runtime_layout, subinterpreter);
}

void gil_note_mutex_init(pthread_mutex_t *m)
{
    struct shim_thread *t = shim_thread_enter().t;
    if (t->init_len >= 2) { /* keep the last two: an unrelated mutex made just before the GIL's must not hide it */
        t->init_addr[0] = t->init_addr[1];
        t->init_len = t->init_len == 2 ? 1 : 0;
    }
    t->init_addr[t->init_len++] = (uintptr_t)m;
}

void gil_note_cond_init(pthread_cond_t *c, const pthread_condattr_t *attr)
{
    struct shim_thread *t = shim_thread_enter().t;
    if (t->init_len < 2) {
        t->init_len = 0;
        return;
    }
    if (t->init_len == 2) {
        t->init_cond_clock = CLOCK_REALTIME;
        if (attr)
            pthread_condattr_getclock(attr, &t->init_cond_clock);
    }
    t->init_addr[t->init_len++] = (uintptr_t)c;
    if (t->init_len == 4) {
        t->init_len = 0;
        consider_condvar_gil(t->init_addr, t->init_cond_clock);
    }
}

/* 2.7 allocates the GIL and assigns interpreter_lock, then (in a fork child)
 * allocates pending_lock, then takes the GIL. So the candidate is the lock
 * being made, unless interpreter_lock already points at another one: that
 * one is the new GIL about to be taken. */
void gil_note_sem_init(sem_t *s)
{
    if (!py.py2_lock_slot || __atomic_load_n(&sem_gil_identified, __ATOMIC_ACQUIRE) || !ring_writer_tracing())
        return;
    sem_t *current = *(sem_t *const volatile *)py.py2_lock_slot;
    __atomic_store_n(&gil_watch_sem, current && current != s ? current : s, __ATOMIC_RELEASE);
}

struct gil *gil_lookup_sem(sem_t *s)
{
    /* Acquire: gils[0] is complete once the flag is seen set. */
    if (__atomic_load_n(&sem_gil_identified, __ATOMIC_ACQUIRE))
        return gils[0].sem == (uintptr_t)s ? &gils[0] : NULL;
    if (!py.py2_lock_slot || *(sem_t *const volatile *)py.py2_lock_slot != s)
        return NULL;
    registry_lock();
    if (gil_count == 0) {
        if (ring_writer_add_gil((uintptr_t)s, RING_GIL_SEMAPHORE, false) != 0) {
            registry_unlock();
            return NULL;
        }
        ring_writer_set_gil_kind(RING_GIL_SEMAPHORE);
        memset(&gils[0], 0, sizeof gils[0]);
        __atomic_store_n(&gil_count, 1, __ATOMIC_RELEASE);
    }
    gils[0].sem = (uintptr_t)s;
    gils[0].locked = &gils[0].shadow_locked;
    gils[0].switch_number = &gils[0].shadow_switch_number;
    __atomic_store_n(&sem_gil_identified, true, __ATOMIC_RELEASE);
    registry_unlock();
    return &gils[0];
}

void gil_note_free_threaded(void)
{
    struct shim_entered self = shim_thread_enter();
    rec_prepare(self);
    rec_event(self, RING_EV_GIL_DISABLED, 0);
}

void gil_registry_after_fork_child(void)
{
    registry_busy = 0;
    sem_gil_identified = false;
    unsigned n = gil_count;
    for (unsigned i = 0; i < n; i++)
        reset_call_state(&gils[i]);
}
