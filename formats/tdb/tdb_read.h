/*
 * tdb_read.h — opening trace databases for reading, with the checks every
 * reader needs: the file exists, is SQLite, is a giltrace trace, and its
 * schema is one this build understands.
 */
#ifndef GILTRACE_TDB_READ_H
#define GILTRACE_TDB_READ_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "trace_model.h"

/* Open `path` read-only. Returns the handle, or NULL with a one-line reason
 * in `err` ("cannot open ...", "... is not a giltrace trace", "cannot read
 * ... as a trace: database disk image is malformed" (SQLite's reason), "... was
 * written by a newer giltrace (schema N; this one reads up to M)"). */
sqlite3 *tdb_open_read(const char *path, char *err, size_t err_len);

/* An integer meta value: 1 with *value set, or 0 when the trace has none
 * (or not an integer). */
int tdb_meta_int(sqlite3 *db, const char *key, int64_t *value);

/* meta.base_ns of an open trace (0 if absent). */
int64_t tdb_base_ns(sqlite3 *db);

/* A lane: one thread on one GIL, the unit events are stored and drawn by. */
struct tdb_lane {
    int64_t id;
    int32_t pid;
    uint32_t tid;
    uint32_t gil;
};

/* Every lane of the trace, by pid, gil, tid; `*lanes` is malloc'd.
 * Returns 0, or -1 with `err`. */
int tdb_read_lanes(sqlite3 *db, struct tdb_lane **lanes, size_t *count, char *err, size_t err_len);

/* Called for each event; a non-zero return stops the walk. */
typedef int (*tdb_event_fn)(void *ctx, const struct trace_event *e);

/* The events of `lane` with from_ns <= ts_ns < to_ns, in time order. Costs
 * one index seek plus the events returned. Returns 0 (also when stopped by
 * `fn`), or -1 with `err`. */
int tdb_read_lane_events(sqlite3 *db, int64_t lane, int64_t from_ns, int64_t to_ns, tdb_event_fn fn, void *ctx,
                         char *err, size_t err_len);

/* The pids of every process in the trace, in the order they started
 * (a reused pid once); `*pids` is malloc'd. Returns 0, or -1 with `err`. */
int tdb_read_pids(sqlite3 *db, int32_t **pids, size_t *count, char *err, size_t err_len);

/* Everything stored about process `pid` (its first row, if the pid was
 * reused), as written: identity, GILs, threads and their events. */
int tdb_read_process(sqlite3 *db, int32_t pid, struct trace_process *out, char *err, size_t err_len);

#endif
