/*
 * shim_real.c — resolution of the real libc functions behind the wrappers.
 * See shim_real.h.
 *
 * Condition variables are resolved by version first: binaries link
 * pthread_cond_*@GLIBC_2.3.2, and the unversioned default of an old glibc
 * could be the incompatible 2.2.5 ABI.
 */
#include "shim_real.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *resolve_one(const char *name, const char *version)
{
    void *fn = NULL;
    if (version)
        fn = dlvsym(RTLD_NEXT, name, version);
    if (!fn)
        fn = dlsym(RTLD_NEXT, name);
    if (!fn) {
        static const char msg[] = "giltrace: cannot find the real libc function ";
        (void)!write(2, msg, sizeof msg - 1);
        (void)!write(2, name, strlen(name));
        (void)!write(2, "; aborting\n", 11);
        abort();
    }
    return fn;
}

/* Each pointer is replaced by one atomic store: a wrapper running in another
 * thread sees either the stub or the real function, both of which work. */
#define RESOLVE(field, name, version) \
    __atomic_store_n((void **)&shim_real.field, resolve_one(name, version), __ATOMIC_RELEASE)

void shim_real_resolve(void)
{
    RESOLVE(mutex_lock, "pthread_mutex_lock", NULL);
    RESOLVE(mutex_unlock, "pthread_mutex_unlock", NULL);
    RESOLVE(mutex_init, "pthread_mutex_init", NULL);
    RESOLVE(cond_init, "pthread_cond_init", "GLIBC_2.3.2");
    RESOLVE(cond_signal, "pthread_cond_signal", "GLIBC_2.3.2");
    RESOLVE(cond_timedwait, "pthread_cond_timedwait", "GLIBC_2.3.2");
    RESOLVE(sem_init, "sem_init", NULL);
    RESOLVE(sem_wait, "sem_wait", NULL);
    RESOLVE(sem_trywait, "sem_trywait", NULL);
    RESOLVE(sem_post, "sem_post", NULL);
    RESOLVE(exit_now, "_exit", NULL);
    RESOLVE(pthread_create, "pthread_create", NULL);
    RESOLVE(dlclose, "dlclose", NULL);
}

/* Stubs used until resolution: resolve everything, then forward. */
static int lazy_mutex_lock(pthread_mutex_t *m)
{
    shim_real_resolve();
    return shim_real.mutex_lock(m);
}

static int lazy_mutex_unlock(pthread_mutex_t *m)
{
    shim_real_resolve();
    return shim_real.mutex_unlock(m);
}

static int lazy_mutex_init(pthread_mutex_t *m, const pthread_mutexattr_t *a)
{
    shim_real_resolve();
    return shim_real.mutex_init(m, a);
}

static int lazy_cond_init(pthread_cond_t *c, const pthread_condattr_t *a)
{
    shim_real_resolve();
    return shim_real.cond_init(c, a);
}

static int lazy_cond_signal(pthread_cond_t *c)
{
    shim_real_resolve();
    return shim_real.cond_signal(c);
}

static int lazy_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *t)
{
    shim_real_resolve();
    return shim_real.cond_timedwait(c, m, t);
}

static int lazy_sem_init(sem_t *s, int pshared, unsigned value)
{
    shim_real_resolve();
    return shim_real.sem_init(s, pshared, value);
}

static int lazy_sem_wait(sem_t *s)
{
    shim_real_resolve();
    return shim_real.sem_wait(s);
}

static int lazy_sem_trywait(sem_t *s)
{
    shim_real_resolve();
    return shim_real.sem_trywait(s);
}

static int lazy_sem_post(sem_t *s)
{
    shim_real_resolve();
    return shim_real.sem_post(s);
}

__attribute__((noreturn)) static void lazy_exit_now(int status)
{
    shim_real_resolve();
    shim_real.exit_now(status);
}

static int lazy_pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *), void *arg)
{
    shim_real_resolve();
    return shim_real.pthread_create(t, a, fn, arg);
}

static int lazy_dlclose(void *h)
{
    shim_real_resolve();
    return shim_real.dlclose(h);
}

struct shim_real shim_real = {
    .mutex_lock = lazy_mutex_lock,
    .mutex_unlock = lazy_mutex_unlock,
    .mutex_init = lazy_mutex_init,
    .cond_init = lazy_cond_init,
    .cond_signal = lazy_cond_signal,
    .cond_timedwait = lazy_cond_timedwait,
    .sem_init = lazy_sem_init,
    .sem_wait = lazy_sem_wait,
    .sem_trywait = lazy_sem_trywait,
    .sem_post = lazy_sem_post,
    .exit_now = lazy_exit_now,
    .pthread_create = lazy_pthread_create,
    .dlclose = lazy_dlclose,
};
