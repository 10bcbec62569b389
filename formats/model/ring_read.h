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
#include <stdint.h>

#include "clock_map.h"
#include "ring.h"
#include "trace_model.h"

/* Decode the ring at `path` into `out` (free with trace_process_free).
 * Returns 0, or -1 with a reason in `err`. */
int ring_read_file(const char *path, struct trace_process *out, char *err, size_t err_len);

/* Decode a ring already in memory (`size` bytes at `base`); same contract. */
int ring_read_memory(const void *base, size_t size, struct trace_process *out, char *err, size_t err_len);

/* The pieces of the reader that a follower of a live ring (ring_follow.h)
 * shares with it. */

/* Refuse a header that is not a ring's this reader understands (`size`:
 * bytes mapped). Returns 0, or -1 with a reason in `err`. */
int ring_read_check_header(const struct ring_header *h, size_t size, char *err, size_t n);

/* Copy the process's identity from header `h` into `p` (pid, exe, argv,
 * Python version, GILs, state, lost and overwritten counts). Returns 0, or
 * -1 when out of memory (`p` then holds what was copied: free it). */
int ring_read_identity(const struct ring_header *h, struct trace_process *p);

/* The clock map of ring `h` from its header's pairs, the `nclaimed` pairs
 * of its claimed chunks and, on the writer's boot, a pair taken now.
 * Returns 0, or -1 when out of memory or the map cannot be built. */
int ring_read_clock(const struct ring_header *h, const struct ring_calibration *claimed, size_t nclaimed,
                    struct clock_map *map);

/* The committed records of `chunk` (claimed as `seq`, in a process with
 * `ngil` GILs) from index `from` on, copied into out[from..]: returns the
 * index of the first record that is not (yet) committed. `out` has room
 * for RING_RECORDS_PER_CHUNK records. A torn or invalid record there is
 * counted in *dropped. The caller checks seq again afterwards (seqlock). */
size_t ring_read_records(const char *chunk, uint64_t seq, unsigned ngil, size_t from, struct ring_record *out,
                         uint64_t *dropped);

/* Which chunks of the ring file `fd` (`size` bytes) have their header in
 * data, not in a hole (reading a hole of a full file system through a
 * shared mapping raises SIGBUS): one byte per chunk, malloc'd; NULL when
 * the file system cannot tell or memory is short. */
uint8_t *ring_read_backed_chunks(int fd, size_t size);

#endif
