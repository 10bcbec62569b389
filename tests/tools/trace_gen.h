/*
 * trace_gen.h — synthetic traces for tests and benchmarks: in-memory
 * processes built event by event (tests that need known holds and waits),
 * or whole trace databases of 10^3 ... 10^8 events in a chosen pattern,
 * written through the normal writer (so they carry summaries, like real
 * traces).
 *
 *   struct trace_process p;
 *   trace_gen_process_init(&p, 100, 0, 10000);
 *   struct trace_thread *t = trace_gen_thread(&p, 101, "worker");
 *   trace_gen_event(t, 1000, RING_EV_ACQUIRE); ...
 *   trace_gen_write_processes("x.db", &p, 1, err, sizeof err);
 *   trace_process_free(&p);
 */
#ifndef GILTRACE_TRACE_GEN_H
#define GILTRACE_TRACE_GEN_H

#include <stddef.h>
#include <stdint.h>

#include "trace_model.h"

enum trace_gen_pattern {
    /* CPU-bound threads passing the GIL round-robin by forced switches, as
     * Python 3 does: BUSY, TIMEOUT, DROP_REQUEST, RELEASE, FORCED_SWITCH,
     * ACQUIRE, with RETRY wake-ups. */
    TRACE_GEN_PINGPONG,
    /* Beazley's convoy: thread 0 computes; the others do short I/O, then
     * wait a whole switch interval to get the GIL back. */
    TRACE_GEN_CONVOY,
    /* Random kinds at random (often equal) times: for checking that every
     * reader applies the same rules, not for looking at. */
    TRACE_GEN_RANDOM,
};

struct trace_gen_options {
    enum trace_gen_pattern pattern;
    uint64_t events;      /* about this many events in all (at least one handoff) */
    unsigned processes;   /* 1 if 0 */
    unsigned threads;     /* threads per process; 2 if 0 */
    int64_t interval_ns;  /* switch interval; 5 ms if 0 */
    uint64_t seed;
    int64_t start_ns;     /* CLOCK_MONOTONIC of the first process's start; 1 s if 0 */
};

/* Parse "pingpong" | "convoy" | "random"; -1 if none. */
int trace_gen_pattern_from_name(const char *name);

/* Empty process `pid` running [start_ns, end_ns] with one condvar GIL. */
int trace_gen_process_init(struct trace_process *p, int32_t pid, int64_t start_ns, int64_t end_ns);

/* Add a thread (name may be NULL). Returns it, or NULL if out of memory.
 * The pointer is valid until the next trace_gen_thread on `p`. */
struct trace_thread *trace_gen_thread(struct trace_process *p, uint32_t tid, const char *name);

/* Append an event on the main GIL (ts must not decrease). Returns 0 or -1. */
int trace_gen_event(struct trace_thread *t, int64_t ts_ns, unsigned kind);

/* Process number `index` of the pattern `o` (its share of o->events). */
int trace_gen_process(const struct trace_gen_options *o, unsigned index, struct trace_process *out);

/* Write processes into a new database at `path` (replaced if it exists). Returns 0 or -1 with `err`. */
int trace_gen_write_processes(const char *path, const struct trace_process *procs, size_t n, char *err,
                              size_t err_len);

/* Generate and write a whole trace, one process in memory at a time.
 * `events_out` (may be NULL) receives the number of events written. */
int trace_gen_write(const char *path, const struct trace_gen_options *o, uint64_t *events_out, char *err,
                    size_t err_len);

#endif
