/*
 * test_glibc_sync.c — glibc's condvar flag word is found where the running
 * glibc keeps it (tracer/shim/glibc_sync.h), and the GIL checks of
 * gil_midrun.h read it there. Both layouts are fed as raw 48-byte images:
 *   glibc <= 2.40   flag word (__wrefs) is 32-bit word 9 (byte 36)
 *   glibc >= 2.41   word 7 (byte 28): the condvar rework dropped __g_refs[2]
 * A GIL image in each layout is plausible, with CLOCK_MONOTONIC, only when
 * the probe taught that layout; read with the other layout's place it is not
 * (the bug of issue 11: attach on glibc 2.41 found no GIL). This process's
 * own glibc is probed too, and the place found must be the one its version
 * implies. Mutex words are read at bytes 0, 8, 16 on a mutex locked here.
 */
#include <gnu/libc-version.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../../tracer/shim/gil_midrun.h"
#include "../../tracer/shim/glibc_sync.h"
#include "check.h"

#define WORD_2_36 9 /* __wseq 0-1, __g1_start 2-3, __g_refs 4-5, __g_size 6-7, __g1_orig_size 8, __wrefs 9 */
#define WORD_2_41 7 /* __wseq 0-1, __g1_start 2-3, __g_size 4-5, __g1_orig_size 6, __wrefs 7 */

/* A condvar image whose flag word (32-bit word `at`) is `flags`, with the
 * sequence counter of a condvar that has seen waits. */
static pthread_cond_t cond_image(int at, uint32_t flags)
{
    uint32_t w[12] = {0};
    w[0] = 6; /* __wseq: three waiters so far */
    w[at] = flags;
    pthread_cond_t c;
    memcpy(&c, w, sizeof c);
    return c;
}

static pthread_mutex_t mutex_image(int lock, int owner)
{
    int32_t w[10] = {0};
    w[0] = lock;
    w[2] = owner;
    pthread_mutex_t m;
    memcpy(&m, w, sizeof m);
    return m;
}

/* A 3.x GIL held by tid 4242 with one thread waiting, its condvars in the
 * layout whose flag word is word `at`, on `clock` (0 or monotonic). */
static struct gil_image gil_in_layout(int at, uint32_t clock)
{
    struct gil_image g = {.interval = 5000, .last_holder = 0x7f0000001000, .locked = 1, .switch_number = 17};
    g.cond = cond_image(at, clock | 8u); /* one waiter: the count sits above the 3 flag bits */
    g.mutex = mutex_image(0, 0);
    g.switch_cond = cond_image(at, clock);
    g.switch_mutex = mutex_image(0, 0);
    return g;
}

static void learn_layout(int at)
{
    pthread_cond_t probe = cond_image(at, GLIBC_COND_MONOTONIC);
    memset(&probe, 0, 4); /* a fresh condvar: nothing but the flag word */
    CHECK(glibc_cond_learn(&probe));
}

/* Layout `at` learnt: its GILs pass, the other layout's do not. */
static void check_layout(int at, int other)
{
    learn_layout(at);
    struct gil_image g = gil_in_layout(at, GLIBC_COND_MONOTONIC);
    CHECK(gil_image_plausible(&g, 0x030d00f0));
    CHECK(gil_image_clock(&g) == CLOCK_MONOTONIC);

    struct gil_image realtime = gil_in_layout(at, 0); /* 3.7 waits on CLOCK_REALTIME */
    CHECK(gil_image_plausible(&realtime, 0x030710f0));
    CHECK(gil_image_clock(&realtime) == CLOCK_REALTIME);
    CHECK(!gil_image_plausible(&realtime, 0x030d00f0)); /* 3.8+ must be monotonic */

    struct gil_image shared = gil_in_layout(at, GLIBC_COND_MONOTONIC | GLIBC_COND_SHARED);
    CHECK(!gil_image_plausible(&shared, 0x030d00f0));

    struct gil_image foreign = gil_in_layout(other, GLIBC_COND_MONOTONIC);
    CHECK(!gil_image_plausible(&foreign, 0x030d00f0));
    CHECK(gil_image_clock(&foreign) == CLOCK_REALTIME);
}

/* Probes that do not look like a fresh monotonic condvar teach nothing,
 * and nothing is then a GIL. */
static void check_unknown_probe(void)
{
    pthread_cond_t zero;
    memset(&zero, 0, sizeof zero);
    CHECK(!glibc_cond_learn(&zero));
    struct gil_image g = gil_in_layout(WORD_2_41, GLIBC_COND_MONOTONIC);
    CHECK(!gil_image_plausible(&g, 0x030d00f0));
    CHECK(glibc_cond_flags(&g.cond) == -1);

    pthread_cond_t two = cond_image(WORD_2_41, GLIBC_COND_MONOTONIC); /* word 0 is set too */
    CHECK(!glibc_cond_learn(&two));
    pthread_cond_t odd = cond_image(WORD_2_41, GLIBC_COND_MONOTONIC | GLIBC_COND_SHARED);
    memset(&odd, 0, 4);
    CHECK(!glibc_cond_learn(&odd));
}

/* This process's glibc: the probe finds the word its version implies. */
static void check_this_glibc(void)
{
    int major = 0, minor = 0;
    CHECK(sscanf(gnu_get_libc_version(), "%d.%d", &major, &minor) == 2);
    int want = major > 2 || (major == 2 && minor >= 41) ? WORD_2_41 : WORD_2_36;
    CHECK(glibc_cond_probe());
    pthread_cond_t c = cond_image(want, 5);
    CHECK_EQ_INT(glibc_cond_flags(&c), 5);
    printf("glibc %s: condvar flag word at byte %d\n", gnu_get_libc_version(), want * 4);

    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    CHECK_EQ_INT(glibc_mutex_owner(&m), 0);
    pthread_mutex_lock(&m);
    CHECK_EQ_INT(glibc_mutex_owner(&m), gettid());
    CHECK_EQ_INT(glibc_mutex_lock_word(&m), 1);
    CHECK_EQ_INT(glibc_mutex_kind(&m), PTHREAD_MUTEX_NORMAL);
    pthread_mutex_unlock(&m);
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_t r;
    pthread_mutex_init(&r, &a);
    CHECK_EQ_INT(glibc_mutex_kind(&r) & 0x7f, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_destroy(&r);
    pthread_mutexattr_destroy(&a);
}

int main(void)
{
    check_layout(WORD_2_36, WORD_2_41);
    check_layout(WORD_2_41, WORD_2_36);
    check_unknown_probe();
    check_this_glibc();
    return 0;
}
