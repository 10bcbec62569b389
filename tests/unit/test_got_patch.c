/*
 * test_got_patch.c — redirecting an object's imported calls through its
 * GOT (tracer/shim/got_patch.h), on a lazily bound library whose slot is
 * not even resolved yet (a JUMP_SLOT holding its PLT stub) and on a
 * -fno-plt -z now one (GLOB_DAT inside read-only RELRO): the hook is
 * reached, calls the real function resolved by the slot's symbol version
 * (never the stub), and is gone once the slots are put back.
 *
 * usage: test_got_patch LAZY_SO NOW_SO
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

#include "../../tracer/shim/got_patch.h"
#include "check.h"

static int (*real_lock)(pthread_mutex_t *);
static int hook_calls;

static int counting_lock(pthread_mutex_t *m)
{
    hook_calls++;
    return real_lock(m);
}

static void check_library(const char *path, int binding)
{
    void *h = dlopen(path, binding | RTLD_LOCAL);
    CHECK(h != NULL);
    int (*lock)(pthread_mutex_t *) = (int (*)(pthread_mutex_t *))dlsym(h, "got_target_lock");
    CHECK(lock != NULL);
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;

    real_lock = NULL;
    hook_calls = 0;
    struct got_hook hooks[] = {{"pthread_mutex_lock", (void *)counting_lock, (void **)&real_lock}};
    char why[256];
    int slots = got_patch_install((const void *)lock, hooks, 1, why, sizeof why);
    if (slots != 1)
        fprintf(stderr, "%s: %d slots (%s)\n", path, slots, slots < 0 ? why : "");
    CHECK_EQ_INT(slots, 1);
    CHECK(real_lock == dlvsym(RTLD_DEFAULT, "pthread_mutex_lock", "GLIBC_2.2.5"));

    CHECK_EQ_INT(lock(&m), 0);
    CHECK_EQ_INT(hook_calls, 1);
    pthread_mutex_unlock(&m);

    got_patch_remove();
    CHECK_EQ_INT(lock(&m), 0);
    CHECK_EQ_INT(hook_calls, 1);
    pthread_mutex_unlock(&m);
    fprintf(stderr, "%s: redirected and put back\n", path);
}

int main(int argc, char **argv)
{
    CHECK(argc == 3);
    check_library(argv[1], RTLD_LAZY);
    check_library(argv[2], RTLD_NOW);
    return 0;
}
