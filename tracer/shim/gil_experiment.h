/*
 * gil_experiment.h — giltrace run --experiment: scheduling policies applied
 * to an unmodified CPython through its GIL's timed wait (GILTRACE_EXPERIMENT).
 *
 * The only thing ever changed is the deadline of take_gil's timed wait on
 * the GIL condvar C, which is the switch interval: how long a thread that
 * wants the GIL waits before it asks the holder to drop it. A wait that is
 * shortened returns ETIMEDOUT (or 0 when signalled), exactly what CPython
 * handles after any wait, and take_gil then sets the drop request as it
 * would after a switch interval. Nothing else changes: same calls, same
 * objects, same return values for what CPython can tell apart.
 *
 * Policies (the grammar: experiment_spec.h):
 *   priority-gil      a thread whose last RELEASE was voluntary (no drop
 *                     request was pending: it gave the GIL up for I/O) and
 *                     now waits for it: its first timed wait times out at
 *                     once (the drop request is made within microseconds),
 *                     its later waits in the same take_gil last at most
 *                     EXPERIMENT_PRIORITY_RETRY_US (a CPU thread that won
 *                     the race is asked again). CPU-bound threads (forced
 *                     releases) keep the switch interval.
 *   switch-interval=WHO:MS,...
 *                     thread WHO waits MS ms before asking for a drop,
 *                     instead of the switch interval (0: asks at once).
 *                     Names match where giltrace reads thread names.
 * Only condvar GILs (CPython 3.2+); a 2.7 process (semaphore GIL) runs the
 * experiment-free way with one line on stderr, and so does env-only mode
 * (only giltrace run labels its trace). Never under giltrace attach.
 */
#ifndef GILTRACE_GIL_EXPERIMENT_H
#define GILTRACE_GIL_EXPERIMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "shim_thread.h"

struct gil;


/* Any policy is active (read on the wrappers' slow paths only). */
extern bool gil_experiment_on;

/* Parse `spec` (GILTRACE_EXPERIMENT's value). Returns false with a one-line
 * reason in `why` when it is not valid. Does not enable. */
bool gil_experiment_parse(const char *spec, char *why, size_t why_len);

/* Enable the policies last parsed. */
void gil_experiment_enable(void);

/* A Python thread named `name` starts on the calling thread. */
void gil_experiment_thread_named(struct shim_thread *t, const char *name);

/* Under M, after its RELEASE: whether `t` gave `g` up voluntarily. */
void gil_experiment_note_release(struct shim_thread *t, struct gil *g);

/* Under M: a waiter asked the holder to drop `g` / `g` was acquired. */
void gil_experiment_note_drop_request(struct gil *g);
void gil_experiment_note_acquire(struct gil *g);

/* Under M, before the real timed wait on `g`'s condvar (`t->waits` already
 * counts it): the deadline to wait until, `abstime` itself or `buf` filled
 * in. Never allocates, never takes a lock; may read the clock; keeps errno. */
const struct timespec *gil_experiment_deadline(struct shim_thread *t, const struct gil *g,
                                               const struct timespec *abstime, struct timespec *buf);

#endif
