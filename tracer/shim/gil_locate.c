/*
 * gil_locate.c — the main GIL of a running interpreter, found at once, and
 * its holder. See gil_locate.h.
 */
#include "gil_locate.h"

#include <assert.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "gil_midrun.h"
#include "glibc_sync.h"

/* _Py_DebugOffsets (3.13+), the start of _PyRuntime: after the 8-byte
 * "xdebugpy" cookie, a row of uint64 words. Words 1, 2 and 5 are the same in
 * every version: the PY_VERSION_HEX of the build, whether it is
 * free-threaded, and the offset of the interpreter list's head in
 * _PyRuntime. The sections that follow grew between versions (3.14 added
 * interpreter_state.threads_main, code_object_generation and
 * tlbc_generation; 3.15 three thread_state fields before thread_id), so
 * where each version keeps the fields read here is a word index, from
 * CPython's Include/internal/pycore_debug_offsets.h, checked against
 * 3.13.0 (pyenv), 3.13.5 (Debian 13), 3.14.10 and 3.15.2 (Debian sid).
 * The offsets themselves are the running build's, read from the struct;
 * and a row is used only if what it points at agrees (debug_layout_ok). */
struct debug_layout {
    uint8_t minor;
    uint8_t words;      /* words read: up to the last one named here */
    uint8_t next;       /* interpreter_state.next */
    uint8_t ceval_gil;  /* interpreter_state.ceval_gil: the GIL pointer */
    uint8_t gil_state;  /* interpreter_state.gil_runtime_state: its own GIL */
    uint8_t gil_locked; /* interpreter_state.gil_runtime_state_locked */
    uint8_t gil_holder; /* interpreter_state.gil_runtime_state_holder */
    uint8_t native_tid; /* thread_state.native_thread_id */
};

#define DEBUG_WORD_VERSION 1
#define DEBUG_WORD_FREE_THREADED 2
#define DEBUG_WORD_INTERPRETERS_HEAD 5
#define DEBUG_WORDS_MAX 32

static const struct debug_layout debug_layouts[] = {
    {13, 26, 8, 14, 15, 17, 18, 25},
    {14, 29, 8, 15, 16, 18, 19, 28},
    {15, 32, 8, 15, 16, 18, 19, 31},
};

/* The debug offsets of the running build, once they located its GILs. */
static struct debug_offsets {
    uint64_t interpreters_head, next, ceval_gil, native_tid;
} debug_offsets;
static bool have_debug_offsets;

#define MAX_INTERPRETERS 64u
#define TSTATE_SCAN_BYTES 512u

/* Offset of the GIL mutex inside _PyRuntime as these versions usually have
 * it (checked on this machine's builds; only a first guess). */
static const struct {
    uint32_t minor;
    uint32_t offset;
} usual_offset[] = {{7, 1344}, {8, 1232}, {9, 432}, {10, 432}, {11, 440}, {12, 77512}, {13, 96184},
                    {14, 98616}, {15, 128144}};

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

/* The row of `debug_layouts` for the build whose _Py_DebugOffsets words
 * are `w` (read up to `n`), if its cookie, version and the GIL fields'
 * relations agree: in struct _gil_runtime_state `last_holder` lies 8 bytes
 * in and `locked` 16. */
static const struct debug_layout *debug_layout_ok(const uint64_t *w, size_t n, const struct python_info *py)
{
    if (n < 6 || memcmp(w, "xdebugpy", 8) != 0 || w[DEBUG_WORD_FREE_THREADED] ||
        w[DEBUG_WORD_VERSION] >> 16 != py->hexversion >> 16)
        return NULL;
    for (size_t i = 0; i < sizeof debug_layouts / sizeof debug_layouts[0]; i++) {
        const struct debug_layout *l = &debug_layouts[i];
        if ((w[DEBUG_WORD_VERSION] >> 16 & 0xff) != l->minor || w[DEBUG_WORD_VERSION] >> 24 != 3 || n < l->words)
            continue;
        assert(l->words <= DEBUG_WORDS_MAX && l->native_tid < l->words);
        return w[l->gil_holder] == w[l->gil_state] + 8 && w[l->gil_locked] == w[l->gil_state] + 16 ? l : NULL;
    }
    return NULL;
}

/* 3.13+: register the GILs of every interpreter, main first. */
static bool from_debug_offsets(const struct python_info *py)
{
    uint64_t w[DEBUG_WORDS_MAX];
    size_t n = py->runtime_hi - py->runtime_lo < sizeof w ? 0 : DEBUG_WORDS_MAX;
    if (n)
        memcpy(w, (const void *)py->runtime_lo, sizeof w);
    const struct debug_layout *l = debug_layout_ok(w, n, py);
    if (!l)
        return false;
    struct debug_offsets d = {w[DEBUG_WORD_INTERPRETERS_HEAD], w[l->next], w[l->ceval_gil], w[l->native_tid]};
    uintptr_t interp = 0, gils[MAX_INTERPRETERS];
    unsigned n_sub = 0;
    uintptr_t main_gil = 0;
    bool main_own = false; /* some interpreter's GIL is its own _gil, as the main one's is */
    if (!gil_safe_read(&interp, py->runtime_lo + d.interpreters_head, sizeof interp))
        return false;
    while (interp && n_sub < MAX_INTERPRETERS) {
        uintptr_t gil = 0;
        struct gil_image g;
        if (!gil_safe_read(&gil, interp + d.ceval_gil, sizeof gil) || !gil ||
            !gil_image_read(gil + GIL_IMAGE_MUTEX, &g) || !gil_image_plausible(&g, py->hexversion))
            return false;
        if (in_runtime(py, gil + GIL_IMAGE_MUTEX)) {
            main_gil = gil; /* the main interpreter's, or shared with it by a legacy subinterpreter */
            main_own |= gil == interp + w[l->gil_state];
        } else {
            gils[n_sub++] = gil;
        }
        if (!gil_safe_read(&interp, interp + d.next, sizeof interp))
            return false;
    }
    struct gil_image g;
    if (!main_gil || !main_own || !runtime_gil_at(py, main_gil + GIL_IMAGE_MUTEX, &g))
        return false;
    if (!gil_registry_add_runtime_gil(main_gil + GIL_IMAGE_MUTEX, gil_image_clock(&g), false))
        return false;
    debug_offsets = d;
    have_debug_offsets = true;
    for (unsigned i = 0; i < n_sub; i++)
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
    if (have_debug_offsets) {
        unsigned long tid = 0;
        return gil_safe_read(&tid, tstate + debug_offsets.native_tid, sizeof tid) && tid
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
