/*
 * py_names.h — Python thread names (threading.Thread.name) for programs that
 * know nothing of the tracer, read where it is safe to read them: inside
 * CPython's own thread start (_thread.start_new_thread and friends), when
 * it calls pthread_create holding the GIL.
 *
 * There, without running any Python code and without allocating any object
 * the garbage collector tracks, the shim reads
 *   - the name of the Thread being started: pthread_create's argument is
 *     CPython's bootstate (behind its pythread callback on 3.7+), whose
 *     second word is the bound method Thread._bootstrap, whose __self__ is
 *     the Thread;
 *   - the names of all running threads, from threading._active (ident ->
 *     Thread), with their native ids (3.8+) or their idents mapped to
 *     kernel tids by the shim's own thread start trampoline; at most every
 *     50 ms, so that starting many threads stays cheap.
 * Attributes are read with the generic attribute lookup only when the
 * thread's class has no attribute or descriptor of that name (so no
 * property, __getattribute__ or __getattr__ can run), through the instance
 * dict (2.7-3.10) or a lookup that raises nothing (3.11+). Every C-API
 * function is found with dlsym; if any is missing, or the interpreter is a
 * free-threaded or Py_TRACE_REFS build, names are off and nothing else
 * changes. See tracer/analysis/REPORT.md ("Thread names") for where this works.
 */
#ifndef GILTRACE_PY_NAMES_H
#define GILTRACE_PY_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "python_probe.h"

/* Resolve the C-API for the interpreter `py`. Returns whether names will be read. */
bool py_names_init(const struct python_info *py);

/* In pthread_create, before the thread starts: if this is CPython starting
 * a Python thread and the caller holds the GIL, put the new thread's name in
 * `name` (else "") and record the names of the running threads. */
void py_names_thread_start(void *(*fn)(void *), void *arg, char *name, size_t cap);

/* In the new thread: remember which kernel tid has this pthread_t (for
 * interpreters whose threads have no native_id), and record its name. */
void py_names_thread_started(uintptr_t pthread_self_id, uint32_t tid, const char *name);

/* In a fork child: the thread that forked is the child's main thread. */
void py_names_after_fork_child(uint32_t old_tid, uint32_t new_tid);

#endif
