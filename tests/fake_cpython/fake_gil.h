/*
 * fake_gil.h — a stand-in for CPython 3.7+'s GIL, for tests and benchmarks
 * that need exact, repeatable GIL traffic without an interpreter.
 *
 * It has the same memory layout (struct _gil_runtime_state inside an
 * exported `_PyRuntime`), creates its objects in create_gil()'s order, and
 * takes/drops the lock with the same sequence of pthread calls as CPython's
 * take_gil()/drop_gil(), including the switch interval, drop requests and
 * forced switches. A program linked with it also exports Py_GetVersion(),
 * so the shim treats it as a CPython 3.11.
 */
#ifndef GILTRACE_FAKE_GIL_H
#define GILTRACE_FAKE_GIL_H

#include <pthread.h>
#include <stdint.h>

/* Same field order and sizes as CPython's struct _gil_runtime_state. */
struct fake_gil {
    unsigned long interval_us;
    uintptr_t last_holder;
    int locked;
    unsigned long switch_number;
    pthread_cond_t cond;
    pthread_mutex_t mutex;
    pthread_cond_t switch_cond;
    pthread_mutex_t switch_mutex;
};

/* The GIL lives inside this exported object, as in CPython 3.7-3.11. */
struct fake_runtime {
    char before_gil[440];
    struct fake_gil gil;
    int drop_request;
};

extern struct fake_runtime _PyRuntime;

/* How often each path of the algorithm ran, for tests to compare with the
 * events the shim recorded. */
struct fake_gil_counts {
    unsigned long takes, busy, waits, timeouts, drop_requests, releases, forced_paths;
};

extern struct fake_gil_counts fake_gil_counts;

/* With fake_gil_time_critical set, the time spent inside the GIL mutex M
 * (from lock(M) returning to just before unlock(M)), summed over every
 * take and drop: what a tracer adds there delays every other thread. */
extern int fake_gil_time_critical;
extern uint64_t fake_gil_critical_ns;

/* If set, called inside M: right after lock(M) returns (FAKE_GIL_ENTERED)
 * and right before unlock(M) (FAKE_GIL_LEAVING), in take and drop alike:
 * tests see there what the shim did before and after the critical section. */
enum fake_gil_point { FAKE_GIL_ENTERED, FAKE_GIL_LEAVING };
extern void (*fake_gil_inside)(enum fake_gil_point where);

/* create_gil(): initialise in CPython's order; monotonic condvar clock.
 * `scrambled` initialises the conds first, which no CPython does: the shim
 * must then fail to identify the GIL (and say so). */
void fake_gil_create(unsigned long interval_us, int scrambled);

/* An own-GIL subinterpreter's GIL (3.12+): a heap struct initialised in
 * create_gil()'s order (run with FAKE_CPYTHON_VERSION=3.12 for the shim to
 * take it for one). Never used to take anything; NULL if out of memory. */
struct fake_gil *fake_gil_create_heap(void);

/* take_gil()/drop_gil() for the thread state `tstate` (any non-zero id). */
void fake_gil_take(uintptr_t tstate);
void fake_gil_drop(uintptr_t tstate);

/* The critical sections of take and drop, M held: functions of their own
 * so that callgrind can count what runs inside M (bench_shim.py). */
void fake_gil_inside_take(struct fake_gil *g, uintptr_t tstate);
void fake_gil_inside_drop(struct fake_gil *g);

/* What eval_breaker would see: has another thread asked the holder to drop? */
int fake_gil_drop_requested(void);

#endif
