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

/* How the event table stores events (storage under the contract views; the
 * one place readers tell its layouts apart):
 *   TDB_LAYOUT_ABS   event(lane, ts, kc), one a row at absolute times (schema 4);
 *   TDB_LAYOUT_FOUR  event(lane, t, k0, o1, k1, o2, k2, o3, k3), up to four a
 *                    row, t in ns since meta.base_ns, oN offsets from t (2-3);
 *   TDB_LAYOUT_ONE   event(lane, t, kc), one a row since meta.base_ns (1).
 * kc packs kind, CPU and stack (tdb_schema.h). `schema` names the attached
 * database ("main"). */
enum tdb_event_layout { TDB_LAYOUT_UNKNOWN, TDB_LAYOUT_ABS, TDB_LAYOUT_FOUR, TDB_LAYOUT_ONE };
enum tdb_event_layout tdb_event_layout(sqlite3 *db, const char *schema);

/* Called for each event; a non-zero return stops the walk. */
typedef int (*tdb_event_fn)(void *ctx, const struct trace_event *e);

/* The events of `lane` with from_ns <= ts_ns < to_ns, in time order. Costs
 * one index seek plus the events returned. Returns 0 (also when stopped by
 * `fn`), or -1 with `err`. */
int tdb_read_lane_events(sqlite3 *db, int64_t lane, int64_t from_ns, int64_t to_ns, tdb_event_fn fn, void *ctx,
                         char *err, size_t err_len);

/* The process rows of the trace, in the order they started: one per
 * process, and one per image of a process that exec'd (its pid repeats).
 * `*ids` is malloc'd. Returns 0, or -1 with `err`. */
int tdb_read_images(sqlite3 *db, int64_t **ids, size_t *count, char *err, size_t err_len);

/* Everything stored about process row `id`, as written: identity, GILs,
 * threads and their events. Of a pid with several images (exec), each row
 * gets the events from its start to the next image's start, and only the
 * threads with events there. */
int tdb_read_image(sqlite3 *db, int64_t id, struct trace_process *out, char *err, size_t err_len);

/* tdb_read_image() of the first image of `pid`. */
int tdb_read_process(sqlite3 *db, int32_t pid, struct trace_process *out, char *err, size_t err_len);

#endif
