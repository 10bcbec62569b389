/*
 * gil_locate.c — the main GIL of a running interpreter, found at once, and
 * its holder. See gil_locate.h.
 */
#include "gil_locate.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

#include "gil_midrun.h"
#include "glibc_sync.h"

/* The start of 3.13's _Py_DebugOffsets: what this file reads of it. The
 * struct is only stable within one minor version, so it is used for 3.13
 * alone. */
struct debug_offsets_313 {
    char cookie[8];
    uint64_t version;
    uint64_t free_threaded;
    struct {
        uint64_t size, finalizing, interpreters_head;
    } runtime_state;
    struct {
        uint64_t size, id, next, threads_head, gc, imports_modules, sysdict, builtins, ceval_gil,
            gil_runtime_state, gil_runtime_state_enabled, gil_runtime_state_locked, gil_runtime_state_holder;
    } interpreter_state;
    struct {
        uint64_t size, prev, next, interp, current_frame, thread_id, native_thread_id;
    } thread_state;
};

#define MAX_INTERPRETERS 64u
#define TSTATE_SCAN_BYTES 512u

/* Offset of the GIL mutex inside _PyRuntime as these versions usually have
 * it (checked on this machine's builds; only a first guess). */
static const struct {
    uint32_t minor;
    uint32_t offset;
} usual_offset[] = {{7, 1344}, {8, 1232}, {9, 432}, {10, 432}, {11, 440}, {12, 77512}, {13, 96184}};

static const struct debug_offsets_313 *debug_offsets;

static bool in_runtime(const struct python_info *py, uintptr_t m)
{
    return m >= py->runtime_lo + GIL_IMAGE_MUTEX &&
           m + sizeof(struct gil_image) - GIL_IMAGE_MUTEX <= py->runtime_hi;
}

/* A GIL state at `m` inside _PyRuntime (read directly: it is the
 * interpreter's own static memory) with a switch interval set. */
static bool runtime_gil_at(const struct python_info *py, uintptr_t m, struct gil_image *g)
{
    if (!in_runtime(py, m))
        return false;
    memcpy(g, (const void *)(m - GIL_IMAGE_MUTEX), sizeof *g);
    return g->interval > 0 && g->padding == 0 && gil_image_plausible(g, py->hexversion);
}

/* 3.13: register the GILs of every interpreter, main first. */
static bool from_debug_offsets(const struct python_info *py)
{
    const struct debug_offsets_313 *d = (const void *)py->runtime_lo;
    if (py->runtime_hi - py->runtime_lo < sizeof *d || memcmp(d->cookie, "xdebugpy", 8) != 0 ||
        d->version >> 16 != 0x030d || d->free_threaded)
        return false;
    uintptr_t interp = 0, gils[MAX_INTERPRETERS];
    unsigned n = 0;
    uintptr_t main_gil = 0;
    if (!gil_safe_read(&interp, py->runtime_lo + d->runtime_state.interpreters_head, sizeof interp))
        return false;
    while (interp && n < MAX_INTERPRETERS) {
        uintptr_t gil = 0;
        struct gil_image g;
        if (!gil_safe_read(&gil, interp + d->interpreter_state.ceval_gil, sizeof gil) || !gil ||
            !gil_image_read(gil + GIL_IMAGE_MUTEX, &g) || !gil_image_plausible(&g, py->hexversion))
            return false;
        if (in_runtime(py, gil + GIL_IMAGE_MUTEX))
            main_gil = gil;
        else
            gils[n++] = gil;
        if (!gil_safe_read(&interp, interp + d->interpreter_state.next, sizeof interp))
            return false;
    }
    struct gil_image g;
    if (!main_gil || !runtime_gil_at(py, main_gil + GIL_IMAGE_MUTEX, &g))
        return false;
    if (!gil_registry_add_runtime_gil(main_gil + GIL_IMAGE_MUTEX, gil_image_clock(&g), false))
        return false;
    debug_offsets = d;
    for (unsigned i = 0; i < n; i++)
        if (gil_image_read(gils[i] + GIL_IMAGE_MUTEX, &g))
            gil_registry_add_runtime_gil(gils[i] + GIL_IMAGE_MUTEX, gil_image_clock(&g), true);
    return true;
}

/* 3.7+: the usual offset, else the one place that looks like a GIL. */
static bool from_runtime_scan(const struct python_info *py)
{
    struct gil_image g;
    uintptr_t found = 0;
    for (size_t i = 0; i < sizeof usual_offset / sizeof usual_offset[0]; i++)
        if (usual_offset[i].minor == (py->hexversion >> 16 & 0xff) &&
            runtime_gil_at(py, py->runtime_lo + usual_offset[i].offset, &g))
            found = py->runtime_lo + usual_offset[i].offset;
    for (uintptr_t m = py->runtime_lo + GIL_IMAGE_MUTEX; !found && in_runtime(py, m); m += 8) {
        if (!runtime_gil_at(py, m, &g))
            continue;
        for (uintptr_t other = m + 8; in_runtime(py, other); other += 8)
            if (runtime_gil_at(py, other, &g))
                return false; /* two candidates: let the first call decide */
        found = m;
    }
    return found && runtime_gil_at(py, found, &g) &&
           gil_registry_add_runtime_gil(found, gil_image_clock(&g), false) != NULL;
}

enum attach_gil_found gil_locate_main(const struct python_info *py)
{
    if (gil_registry_main())
        return ATTACH_GIL_KNOWN;
    if (!py->runtime_lo || py->free_threaded || !glibc_cond_probe())
        return ATTACH_GIL_LATER;
    if (from_debug_offsets(py))
        return ATTACH_GIL_DEBUG_OFFSETS;
    return from_runtime_scan(py) ? ATTACH_GIL_RUNTIME : ATTACH_GIL_LATER;
}

bool gil_locate_freeze(const struct gil *g)
{
    return pthread_mutex_trylock((pthread_mutex_t *)g->mutex) == 0;
}

void gil_locate_thaw(const struct gil *g)
{
    pthread_mutex_unlock((pthread_mutex_t *)g->mutex);
}

/* The kernel tid of the thread whose glibc TCB is at `pd`, or 0. */
static int32_t tid_of_pthread(uintptr_t pd)
{
    uintptr_t tcb[3];
    if (!pd || !gil_safe_read(tcb, pd, sizeof tcb) || tcb[0] != pd || tcb[2] != pd)
        return 0;
    clockid_t clock;
    if (pthread_getcpuclockid((pthread_t)pd, &clock) != 0)
        return 0;
    return (int32_t)((unsigned)~clock >> 3); /* glibc makes it (~tid << 3) | CPUCLOCK_SCHED */
}

/* The thread a PyThreadState belongs to. */
static int32_t tid_of_tstate(uintptr_t tstate)
{
    if (debug_offsets) {
        unsigned long tid = 0;
        return gil_safe_read(&tid, tstate + debug_offsets->thread_state.native_thread_id, sizeof tid) && tid
                   ? (int32_t)tid
                   : -1;
    }
    uintptr_t words[TSTATE_SCAN_BYTES / sizeof(uintptr_t)];
    if (!gil_safe_read(words, tstate, sizeof words))
        return -1;
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        int32_t tid = tid_of_pthread(words[i]);
        if (tid > 0)
            return tid;
    }
    return -1;
}

int32_t gil_locate_holder(const struct gil *g)
{
    struct gil_image img;
    if (!gil_image_read(g->mutex, &img))
        return -1;
    if (!img.locked)
        return 0;
    return img.last_holder ? tid_of_tstate(img.last_holder) : -1;
}
