/*
 * glibc_sync.c — glibc's mutex and condvar words, placed at run time. See
 * glibc_sync.h.
 */
#include "glibc_sync.h"

#include <assert.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "shim_real.h"

#define COND_WORDS (sizeof(pthread_cond_t) / sizeof(uint32_t))
#define UNKNOWN (-1)

_Static_assert(sizeof(pthread_cond_t) == 48, "x86-64 glibc condvar size (ABI)");
_Static_assert(sizeof(pthread_mutex_t) == 40, "x86-64 glibc mutex size (ABI)");

/* The index of the flag word, or UNKNOWN. */
static int flags_word = UNKNOWN;

bool glibc_cond_learn(const pthread_cond_t *probe)
{
    uint32_t w[COND_WORDS];
    memcpy(w, probe, sizeof w);
    int found = UNKNOWN;
    for (int i = 0; i < (int)COND_WORDS; i++) {
        if (w[i] == 0)
            continue;
        if (found != UNKNOWN || w[i] != GLIBC_COND_MONOTONIC) {
            found = UNKNOWN;
            break;
        }
        found = i;
    }
    __atomic_store_n(&flags_word, found, __ATOMIC_RELAXED);
    return found != UNKNOWN;
}

bool glibc_cond_probe(void)
{
    pthread_condattr_t attr;
    pthread_cond_t probe;
    memset(&probe, 0xa5, sizeof probe); /* a word init leaves alone is not mistaken for zero */
    if (pthread_condattr_init(&attr) != 0)
        return glibc_cond_learn(&probe); /* not understood: forgets */
    bool made = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0 && shim_real.cond_init(&probe, &attr) == 0;
    pthread_condattr_destroy(&attr);
    bool learnt = glibc_cond_learn(&probe);
    if (made)
        pthread_cond_destroy(&probe);
    return learnt;
}

long glibc_cond_flags(const pthread_cond_t *c)
{
    int i = __atomic_load_n(&flags_word, __ATOMIC_RELAXED);
    if (i == UNKNOWN)
        return -1;
    assert(i >= 0 && i < (int)COND_WORDS);
    uint32_t w;
    memcpy(&w, (const unsigned char *)c + (size_t)i * sizeof w, sizeof w);
    return w;
}

/* The int at byte `at` of mutex image `m`. */
static int mutex_word(const pthread_mutex_t *m, size_t at)
{
    int v;
    memcpy(&v, (const unsigned char *)m + at, sizeof v);
    return v;
}

int glibc_mutex_lock_word(const pthread_mutex_t *m)
{
    return mutex_word(m, 0);
}

int glibc_mutex_owner(const pthread_mutex_t *m)
{
    return mutex_word(m, 8);
}

int glibc_mutex_kind(const pthread_mutex_t *m)
{
    return mutex_word(m, 16);
}
