/*
 * glibc_sync.h — the few words of glibc's pthread_mutex_t and pthread_cond_t
 * the shim reads, placed by what this process's glibc does rather than by
 * the build machine's headers (a shim built on Debian 12 runs on every newer
 * glibc).
 *
 * Mutex (x86-64, every glibc from 2.3 to 2.43): int words `__lock` at byte
 * 0, `__owner` (the holder's kernel tid, 0 when free) at byte 8, `__kind` at
 * byte 16. `__kind` must stay there for static initializers
 * (PTHREAD_MUTEX_INITIALIZER is compiled into programs), and `__lock` /
 * `__owner` precede it in struct __pthread_mutex_s unchanged since NPTL's
 * start; checked on glibc 2.36, 2.41 (Debian 13) and 2.43 (Debian sid) by
 * tests/integration's chroot matrix. gil_events.c's holds() reads `__owner`
 * through pthread.h: the same byte 8.
 *
 * Condvar: its flag word `__wrefs` (bit 0 process-shared, bit 1 waits on
 * CLOCK_MONOTONIC) moved: byte 36 up to glibc 2.40, byte 28 from 2.41,
 * whose condvar rework removed `__g_refs[2]`. A CLOCK_MONOTONIC condvar
 * just initialised, as 32-bit words:
 *   glibc 2.36   0 0 0 0 0 0 0 0 0 2 0 0
 *   glibc 2.41+  0 0 0 0 0 0 0 2 0 0 0 0
 * So the place is learnt from a probe: a condvar this process's glibc
 * initialises with CLOCK_MONOTONIC, whose only non-zero word is the flag
 * word.
 */
#ifndef GILTRACE_GLIBC_SYNC_H
#define GILTRACE_GLIBC_SYNC_H

#include <pthread.h>
#include <stdbool.h>

#define GLIBC_COND_SHARED 1u    /* flag word: process-shared condvar */
#define GLIBC_COND_MONOTONIC 2u /* flag word: timed waits on CLOCK_MONOTONIC */

/* Learn where the condvar flag word lies from `probe`, the image of a
 * condvar freshly initialised with CLOCK_MONOTONIC by the glibc in question.
 * Returns false, and forgets any earlier answer, unless exactly one word of
 * it is non-zero and that word is GLIBC_COND_MONOTONIC. */
bool glibc_cond_learn(const pthread_cond_t *probe);

/* Learn it from this process's glibc: a condvar of its own, initialised
 * with CLOCK_MONOTONIC by the real pthread_cond_init (not the shim's
 * wrapper, which would take it for part of a GIL's init). Call before
 * anything needs glibc_cond_flags(), outside the recording path. */
bool glibc_cond_probe(void);

/* The flag word of condvar image `c`, or -1 if its place is not known
 * (nothing learnt, or a probe not understood): callers then see no GIL. */
long glibc_cond_flags(const pthread_cond_t *c);

/* The mutex words described above, of mutex image `m`. */
int glibc_mutex_lock_word(const pthread_mutex_t *m);
int glibc_mutex_owner(const pthread_mutex_t *m);
int glibc_mutex_kind(const pthread_mutex_t *m);

#endif
