/*
 * got_target.c — a library that locks a mutex through its GOT, built twice
 * for test_got_patch: with lazy binding (a JUMP_SLOT in writable .got.plt)
 * and with -fno-plt -z now (a GLOB_DAT inside read-only RELRO).
 */
#include <pthread.h>

__attribute__((visibility("default"))) int got_target_lock(pthread_mutex_t *m)
{
    return pthread_mutex_lock(m);
}
