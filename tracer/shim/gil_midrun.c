/*
 * gil_midrun.c — identifying a GIL at its first call after `giltrace attach`.
 * See gil_midrun.h.
 *
 * While identification is on, the condvar filter covers every address: the
 * wrappers are reached only through the interpreter's own GOT slots
 * (got_patch.h), and nearly every condvar call CPython makes is on a GIL.
 */
#include "gil_midrun.h"

#include <errno.h>
#include <sys/uio.h>
#include <unistd.h>

#include "glibc_sync.h"
#include "shim_thread.h"

_Static_assert(__builtin_offsetof(struct gil_image, mutex) == GIL_IMAGE_MUTEX, "GIL mutex offset");
_Static_assert(__builtin_offsetof(struct gil_image, cond) == GIL_IMAGE_MUTEX - 48, "GIL cond offset");
_Static_assert(__builtin_offsetof(struct gil_image, locked) == GIL_IMAGE_MUTEX - 64, "GIL locked offset");

#define INTERVAL_MAX_US 1000000000000ul
#define NEGATIVE_SLOTS 64u

static struct python_info py;
static bool enabled;
static uintptr_t negative[NEGATIVE_SLOTS];
static unsigned negative_next;

bool gil_safe_read(void *dst, uintptr_t src, size_t n)
{
    int saved_errno = errno;
    struct iovec local = {dst, n};
    struct iovec remote = {(void *)src, n};
    bool ok = process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == (ssize_t)n;
    errno = saved_errno;
    return ok;
}

bool gil_image_read(uintptr_t m, struct gil_image *out)
{
    return m > GIL_IMAGE_MUTEX && gil_safe_read(out, m - GIL_IMAGE_MUTEX, sizeof *out);
}

static bool mutex_plausible(const pthread_mutex_t *m)
{
    int lock = glibc_mutex_lock_word(m);
    return lock >= 0 && lock <= 2 && (lock != 0 || glibc_mutex_owner(m) == 0) && (glibc_mutex_kind(m) & 0x7f) <= 3;
}

/* A private condvar waiting on `want_clock` (0 or GLIBC_COND_MONOTONIC). */
static bool cond_plausible(const pthread_cond_t *c, unsigned want_clock)
{
    long flags = glibc_cond_flags(c);
    return flags >= 0 && !(flags & GLIBC_COND_SHARED) && (flags & GLIBC_COND_MONOTONIC) == want_clock;
}

bool gil_image_plausible(const struct gil_image *g, uint32_t hexversion)
{
    unsigned want_clock = hexversion >= 0x03080000 ? GLIBC_COND_MONOTONIC : 0;
    return g->interval <= INTERVAL_MAX_US && (g->locked == 0 || g->locked == 1) &&
           cond_plausible(&g->cond, want_clock) && cond_plausible(&g->switch_cond, want_clock) &&
           mutex_plausible(&g->mutex) && mutex_plausible(&g->switch_mutex) &&
           (glibc_mutex_kind(&g->mutex) & 0x7f) == (glibc_mutex_kind(&g->switch_mutex) & 0x7f);
}

clockid_t gil_image_clock(const struct gil_image *g)
{
    long flags = glibc_cond_flags(&g->cond);
    return flags >= 0 && (flags & GLIBC_COND_MONOTONIC) ? CLOCK_MONOTONIC : CLOCK_REALTIME;
}

void gil_midrun_start(const struct python_info *info)
{
    py = *info;
    glibc_cond_probe();
    __atomic_store_n(&enabled, true, __ATOMIC_RELEASE);
    __atomic_store_n(&gil_filter_cond, &gil_filter_all, __ATOMIC_RELEASE);
}

void gil_midrun_stop(void)
{
    __atomic_store_n(&enabled, false, __ATOMIC_RELEASE);
    __atomic_store_n(&gil_filter_cond, &gil_filter_none, __ATOMIC_RELEASE);
}

static bool known_not_gil(uintptr_t c)
{
    for (unsigned i = 0; i < NEGATIVE_SLOTS; i++)
        if (__atomic_load_n(&negative[i], __ATOMIC_RELAXED) == c)
            return true;
    return false;
}

static void remember_not_gil(uintptr_t c)
{
    unsigned i = __atomic_fetch_add(&negative_next, 1, __ATOMIC_RELAXED) % NEGATIVE_SLOTS;
    __atomic_store_n(&negative[i], c, __ATOMIC_RELAXED);
}

enum verdict { NOT_GIL, GIL, NOT_YET };

/* Is the struct around mutex `m`, seen from a call by a thread that owns
 * it, a GIL in the state that call implies? `owns_switch`: the call also
 * holds the switch mutex (take_gil's signal). Registers it if so. */
static enum verdict judge(uintptr_t m, int locked, bool owns_switch, struct gil **out)
{
    struct gil_image g;
    if (!gil_image_read(m, &g) || !gil_image_plausible(&g, py.hexversion) || g.locked != locked)
        return NOT_GIL;
    uint32_t self = shim_thread_tid(shim_thread_enter().t);
    if ((uint32_t)glibc_mutex_owner(&g.mutex) != self ||
        (owns_switch && (uint32_t)glibc_mutex_owner(&g.switch_mutex) != self))
        return NOT_GIL;
    bool in_runtime = m >= py.runtime_lo && m < py.runtime_hi;
    bool main_known = gil_registry_main() != NULL;
    if (in_runtime && main_known)
        return NOT_GIL; /* the main GIL is registered already, and this is not it */
    if (!in_runtime) {
        if (py.hexversion < 0x030c0000)
            return NOT_GIL; /* only 3.12+ subinterpreters have heap GILs */
        if (!main_known)
            return NOT_YET;
    }
    *out = gil_registry_add_runtime_gil(m, gil_image_clock(&g), !in_runtime);
    return *out ? GIL : NOT_YET;
}

static struct gil *identify(uintptr_t c, uintptr_t m_wait, enum gil_role *role)
{
    if (!__atomic_load_n(&enabled, __ATOMIC_ACQUIRE) || known_not_gil(c))
        return NULL;
    struct gil *g = NULL;
    enum verdict v;
    if (m_wait) {
        v = m_wait == c + 48 ? judge(m_wait, 1, false, &g) : NOT_GIL;
    } else {
        v = judge(c + 48, 0, false, &g); /* drop_gil: signal(cond) */
        if (v == NOT_GIL)
            v = judge(c - 40, 1, true, &g); /* take_gil: signal(switch_cond) */
    }
    if (v == NOT_GIL)
        remember_not_gil(c);
    return v == GIL ? gil_lookup(c, role) : NULL;
}

struct gil *gil_midrun_identify_wait(pthread_cond_t *c, pthread_mutex_t *m, enum gil_role *role)
{
    return identify((uintptr_t)c, (uintptr_t)m, role);
}

struct gil *gil_midrun_identify_signal(pthread_cond_t *c, enum gil_role *role)
{
    return identify((uintptr_t)c, 0, role);
}
