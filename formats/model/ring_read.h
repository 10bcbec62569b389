/*
 * ring_read.h — decoding a ring file (formats/ring/ring.h) into a trace_process.
 *
 * Works on the ring of a process that exited, that died mid-write, or that is
 * still running (a snapshot of what it committed so far). Every record must
 * pass its commit check and carry a known kind and GIL; anything else is
 * dropped and counted in trace_process.dropped_records, never misread.
 * A file that is not a ring, or whose header is inconsistent, is refused
 * with a one-line reason.
 */
#ifndef GILTRACE_RING_READ_H
#define GILTRACE_RING_READ_H

#include <stddef.h>

#include "trace_model.h"

/* Decode the ring at `path` into `out` (free with trace_process_free).
 * Returns 0, or -1 with a reason in `err`. */
int ring_read_file(const char *path, struct trace_process *out, char *err, size_t err_len);

/* Decode a ring already in memory (`size` bytes at `base`); same contract. */
int ring_read_memory(const void *base, size_t size, struct trace_process *out, char *err, size_t err_len);

#endif
