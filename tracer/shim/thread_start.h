/*
 * thread_start.h — what the shim does when the process starts a thread
 * (pthread_create is interposed): the new thread runs a trampoline that
 * notes the top of its stack (how far stack unwinding may read) and its
 * Python name (py_names.h), then calls the real start routine. In a process
 * the shim does not trace, pthread_create goes straight to libc.
 */
#ifndef GILTRACE_THREAD_START_H
#define GILTRACE_THREAD_START_H

#include <pthread.h>
#include <stdbool.h>

/* Wrap thread starts from now on (`names`: read Python names too;
 * `stacks`: refresh the module table at each start). */
void thread_start_enable(bool names, bool stacks);

/* The interposed pthread_create's work when enabled. */
int thread_start_create(pthread_t *thread, const pthread_attr_t *attr, void *(*fn)(void *), void *arg);

/* Whether thread starts are wrapped (the wrapper's one compare). */
extern bool thread_start_on;

#endif
