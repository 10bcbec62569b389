/*
 * thread_start.c — the thread start trampoline. See thread_start.h.
 *
 * The trampoline's frame stays at the bottom of the new thread's stack for
 * the thread's life; its address is the highest the unwinder reads. The
 * {fn, arg, name} it needs is malloc'd by the creating thread (not on the
 * recording path); if that fails, the thread starts unwrapped.
 */
#include "thread_start.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ring.h"
#include "gil_experiment.h"
#include "py_names.h"
#include "shim_real.h"
#include "shim_thread.h"
#include "stack_modules.h"
#include "stack_unwind.h"

bool thread_start_on;
static bool names_on, stacks_on;

struct start {
    void *(*fn)(void *);
    void *arg;
    char name[RING_NAME_MAX];
};

void thread_start_enable(bool names, bool stacks)
{
    names_on = names;
    stacks_on = stacks;
    __atomic_store_n(&thread_start_on, names || stacks, __ATOMIC_RELEASE);
}

__attribute__((noinline)) static void *trampoline(void *p)
{
    struct start s = *(struct start *)p;
    free(p);
    volatile char top = 0;
    struct shim_thread *t = &shim_self;
    t->stack_top = (uintptr_t)&top;
    if (names_on)
        py_names_thread_started((uintptr_t)pthread_self(), shim_thread_tid(t), s.name);
    if (gil_experiment_on && s.name[0])
        gil_experiment_thread_named(t, s.name);
    void *r = s.fn(s.arg);
    __asm__ volatile("" : : "r"(&top) : "memory"); /* no tail call: this frame must stay */
    return r;
}

int thread_start_create(pthread_t *thread, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
    struct start *s = malloc(sizeof *s);
    if (!s)
        return shim_real.pthread_create(thread, attr, fn, arg);
    s->fn = fn;
    s->arg = arg;
    s->name[0] = '\0';
    if (names_on)
        py_names_thread_start(fn, arg, s->name, sizeof s->name);
    if (stacks_on && stack_unwind_have_find_object())
        stack_modules_refresh(); /* objects loaded since, in the ring in case the process dies */
    int r = shim_real.pthread_create(thread, attr, trampoline, s);
    if (r != 0)
        free(s);
    return r;
}
