/*
 * ring_follow.h — following the ring of a running traced process
 * incrementally: each poll hands over only the events committed since the
 * last one, thread by thread in the order each thread recorded them, for
 * live views that keep running figures (`giltrace top`; gilview --live can
 * adopt it) instead of decoding the whole ring, or writing a database, on
 * every refresh.
 *
 *   struct ring_follow *f;
 *   if (ring_follow_open(path, &f, err, n) == 0) {
 *       while (...) { ring_follow_poll(f, &sink, err, n); ... }
 *       ring_follow_close(f);
 *   }
 *
 * What it reads is what ring_read.h reads, with the same checks (commit
 * check of every record, the chunk seqlock, the exit cut), one chunk
 * position at a time: a chunk keeps the seq and the count of records
 * already handed over; a chunk taken over (overwrite mode) starts again
 * at its first record under its new seq. Timestamps use a clock map
 * rebuilt on every poll from the pairs known then, so an event is stamped
 * by the map of the poll that read it.
 *
 * Stacks: an event's `stack` and `py_stack` are the ring's raw stack ids
 * (slot + 1), stable for the whole run; ring_follow_stack() and
 * ring_follow_py_stack() give the stack a raw id names as of the last poll.
 * A RELEASE or BUSY that is the last committed record of its chunk, in a
 * ring that records stacks, is handed over at the next poll, with the stack
 * records its thread writes right after it.
 */
#ifndef GILTRACE_RING_FOLLOW_H
#define GILTRACE_RING_FOLLOW_H

#include <stddef.h>
#include <stdint.h>

#include "trace_model.h"

struct ring_follow;

/* One event handed over: ev.stack is the raw native stack id (0: none);
 * py_stack the raw Python stack id (0: none). */
struct ring_follow_event {
    struct trace_event ev;
    uint32_t py_stack;
};

/* Receives, per poll, each thread's new events (`n` >= 1, in order). */
struct ring_follow_sink {
    void (*events)(void *ctx, uint32_t tid, const struct ring_follow_event *ev, size_t n);
    void *ctx;
};

/* Map the ring file at `path` for following. Returns 0, or -1 with a
 * one-line reason in `err`. */
int ring_follow_open(const char *path, struct ring_follow **out, char *err, size_t n);

/* Hand the events committed since the last poll to `sink`, and refresh the
 * process's identity, names and stacks. Returns 0, or -1 with a reason in
 * `err` (out of memory, or a clock that cannot be mapped). */
int ring_follow_poll(struct ring_follow *f, const struct ring_follow_sink *sink, char *err, size_t n);

/* The process as of the last poll: identity (pid, argv, Python version,
 * switch interval, exited, lost and overwritten events, dropped records),
 * start_ns, end_ns (its exit, or the latest event read), modules, stacks
 * and Python codes and stacks. It has no threads: events go to the sink.
 * The caller may name its frames (stack_symbols_apply); the next poll
 * replaces it. */
struct trace_process *ring_follow_process(struct ring_follow *f);

/* The name recorded for thread `tid`, or NULL (valid until the next poll). */
const char *ring_follow_name(const struct ring_follow *f, uint32_t tid);

/* The native or Python stack a raw id names, or NULL (valid until the next poll). */
const struct trace_stack *ring_follow_stack(const struct ring_follow *f, uint32_t raw);
const struct trace_py_stack *ring_follow_py_stack(const struct ring_follow *f, uint32_t raw);

void ring_follow_close(struct ring_follow *f);

#endif
