/*
 * shim_real.h — the libc functions the shim interposes, resolved once.
 *
 * Every wrapper ends by calling the real function through `shim_real`.
 * Until the constructor has run, each pointer refers to a stub that resolves
 * all of them (dlsym/dlvsym on RTLD_NEXT) and then forwards the call, so the
 * wrappers work from the very first relocation and the fast path never tests
 * whether resolution happened.
 */
#ifndef GILTRACE_SHIM_REAL_H
#define GILTRACE_SHIM_REAL_H

#include <pthread.h>
#include <semaphore.h>
#include <time.h>

struct shim_real {
    int (*mutex_lock)(pthread_mutex_t *);
    int (*mutex_unlock)(pthread_mutex_t *);
    int (*mutex_init)(pthread_mutex_t *, const pthread_mutexattr_t *);
    int (*cond_init)(pthread_cond_t *, const pthread_condattr_t *);
    int (*cond_signal)(pthread_cond_t *);
    int (*cond_timedwait)(pthread_cond_t *, pthread_mutex_t *, const struct timespec *);
    int (*sem_init)(sem_t *, int, unsigned);
    int (*sem_wait)(sem_t *);
    int (*sem_trywait)(sem_t *);
    int (*sem_post)(sem_t *);
    void (*exit_now)(int) __attribute__((noreturn));
    int (*pthread_create)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
    int (*dlclose)(void *);
};

extern struct shim_real shim_real;

/* Resolve every real function. Idempotent and thread-safe enough for its
 * callers: the constructor and the lazy stubs (which only run before the
 * constructor, while the process is still single-threaded in practice).
 * If a symbol cannot be found the process cannot run at all, so it writes
 * one line to stderr and aborts. */
void shim_real_resolve(void);

#endif
