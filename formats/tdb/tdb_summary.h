/*
 * tdb_summary.h — level-of-detail summaries of a trace database, so that a
 * viewer draws any time window in O(pixels x lanes) whatever the trace size.
 * Tables and encoding are documented in formats/tdb/SUMMARY.md.
 *
 * A lane's time, counted from the trace's base (`origin`: t = 0, so that
 * buckets line up with the pixels of tiles and of windows starting at 0),
 * is cut into buckets of 2^level ns at every level from `base_level` (about
 * TDB_SUMMARY_EVENTS_PER_BUCKET events per bucket on average) up to
 * `top_level` (one bucket holds the whole lane). A bucket records the ns the
 * lane held the GIL and waited for it, its event counts, the longest wait
 * that ended in it and the lane's state at its end. Only buckets with an
 * event (or the lane's end) in them are stored: between two stored buckets
 * the lane's state cannot change, so it is the earlier one's end state.
 * Stored buckets are packed 2^TDB_SUMMARY_CHUNK_BITS bucket slots to a row.
 *
 * States follow the holds and waits views (tdb_schema.c): ACQUIRE starts a
 * hold and ends a hold or wait; RELEASE ends a hold; BUSY ends a wait and
 * starts one; events of one ns apply in (t, kc) order, the order of the
 * event table; after the lane's end (its process's end, or its last event
 * if later) the lane is idle.
 *
 * Two ways to build: tdb_summary_lane_* while events are being written (the
 * writer does this, so new traces carry summaries), or tdb_summary_build()
 * over an existing database's event table (first open of an older trace).
 * Both feed the same builder, so they store the same rows. A live trace
 * (tdb_live.h) keeps a growing builder per lane across polls and shows it
 * so far by finishing a copy (tdb_sum_builder_new_growing, _copy).
 */
#ifndef GILTRACE_TDB_SUMMARY_H
#define GILTRACE_TDB_SUMMARY_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trace_intervals.h"

#define TDB_SUMMARY_VERSION 2
#define TDB_SUMMARY_CHUNK_BITS 10
#define TDB_SUMMARY_CHUNK_SLOTS (1 << TDB_SUMMARY_CHUNK_BITS)
#define TDB_SUMMARY_EVENTS_PER_BUCKET 16
/* Above this level, times in a stored bucket are kept in 1/2^TDB_SUMMARY_FRACTION_BITS of the bucket. */
#define TDB_SUMMARY_FRACTION_BITS 12
#define TDB_SUMMARY_MAX_LEVEL 60
#define TDB_SUMMARY_TOP_WAITS 256 /* longest waits kept per lane */

/* A lane's state: bit set = holding / waiting (both can be set when a
 * thread asks again while holding): the walker's states (trace_intervals.h,
 * the one rule of what a hold and a wait are). */
enum { TDB_STATE_HELD = TRACE_STATE_HELD, TDB_STATE_WAIT = TRACE_STATE_WAIT };

/* Event counters of a bucket. */
enum tdb_count {
    TDB_N_EVENTS,  /* every event */
    TDB_N_ACQUIRE, /* acquisitions: the lane's handoffs */
    TDB_N_RETRY,
    TDB_N_TIMEOUT,
    TDB_N_DROP,   /* DROP_REQUEST */
    TDB_N_FORCED, /* FORCED_SWITCH */
    TDB_N_TOGGLE, /* GIL_DISABLED / GIL_ENABLED */
    TDB_N_COUNTS
};

/* One bucket: lane-relative time [idx << level, (idx + 1) << level). Its
 * first and last events are at offsets lo <= hi from its start: before lo
 * the lane is in start_state, from hi on in end_state, so a bucket with a
 * single change of state is exact at any zoom. */
struct tdb_bucket {
    int64_t idx;
    int64_t lo, hi;
    int64_t held_ns, wait_ns;
    int64_t max_wait_ns; /* longest wait that ended in the bucket; 0 if none */
    uint32_t n[TDB_N_COUNTS];
    uint8_t start_state, end_state;
};

/* A lane's summary header (one summary_lane row). Times are trace times
 * (ns since meta.base_ns, where the event table stores absolute ts). */
struct tdb_lane_summary {
    int64_t lane;
    int64_t origin;  /* bucket 0 of every level starts here: 0 (the trace's base), or the
                      * first event's t if that is earlier */
    int base_level, top_level;
    int64_t first_t; /* first event's t */
    int64_t last_t;  /* last event's t */
    int64_t end_t;   /* the lane is idle from here on */
    struct tdb_bucket total; /* the top bucket: totals of the whole lane */
};

/* A wait (BUSY until ACQUIRE), kept for "jump to the longest waits". */
struct tdb_wait_span {
    int64_t lane;
    int64_t start_t, end_t;
    uint32_t retries, timeouts;
};

/* Raw events are also kept in packs on the base level's chunk grid: pack c
 * of a lane holds its events in base-level buckets [c*1024, (c+1)*1024),
 * in (t, kc) order, each as varint(t - previous t), varint(kc), the first
 * t relative to the pack's start. Viewers read raw events only from packs,
 * so they do not depend on how the event table stores them. The chunk
 * callback receives packs with level TDB_SUMMARY_EVENTS_LEVEL. */
#define TDB_SUMMARY_EVENTS_LEVEL (-1)

/* Decode an event pack whose first slot starts at trace time `pack_start_t`
 * into t[] and kc[] (room for `max`). Returns the number of events, or -1
 * if malformed. */
int tdb_summary_decode_events(const uint8_t *blob, size_t len, int64_t pack_start_t, int64_t *t, uint32_t *kc,
                              int max);

/* The counter (enum tdb_count, besides TDB_N_EVENTS) an event kind bumps, or -1. */
static inline int tdb_count_of_kind(unsigned kind)
{
    switch (kind) {
    case 1: return TDB_N_ACQUIRE;
    case 4: return TDB_N_RETRY;
    case 5: return TDB_N_TIMEOUT;
    case 6: return TDB_N_DROP;
    case 7: return TDB_N_FORCED;
    case 8: case 9: return TDB_N_TOGGLE;
    default: return -1;
    }
}

/* ---- the builder: events in, chunks out (no SQLite) ---- */

struct tdb_sum_builder;

/* Receives each finished chunk: `nrec` stored buckets of `level` in slot
 * range chunk << TDB_SUMMARY_CHUNK_BITS ..., encoded in `blob`. Returns 0,
 * or -1 to make the builder fail. */
typedef int (*tdb_sum_chunk_fn)(void *ctx, int level, int64_t chunk, int start_state, int end_state,
                                uint32_t nrec, const uint8_t *blob, size_t len);

/* A builder for lane `lane` whose `events` events span [first_t, last_t]
 * and whose process ended at `end_t` (clamped up to last_t). Returns NULL
 * when out of memory. */
struct tdb_sum_builder *tdb_sum_builder_new(int64_t lane, uint64_t events, int64_t first_t, int64_t last_t,
                                            int64_t end_t, tdb_sum_chunk_fn fn, void *ctx);

/* Feed one event; t must not decrease (a smaller t is taken as the
 * previous one). Events of equal t may come in any order: they are applied
 * in kc order. Returns 0, or -1 if the chunk callback failed or memory ran out. */
int tdb_sum_builder_event(struct tdb_sum_builder *b, int64_t t, int64_t kc);

/* Close the lane: every remaining chunk goes to the callback. Fills `out`
 * and points `*waits` at the builder's longest waits (valid until free).
 * Returns 0 or -1. */
int tdb_sum_builder_finish(struct tdb_sum_builder *b, struct tdb_lane_summary *out,
                           const struct tdb_wait_span **waits, size_t *nwaits);

void tdb_sum_builder_free(struct tdb_sum_builder *b);

/* ---- builders of lanes still being recorded (tdb_summary_live.c) ---- */

/* A builder for lane `lane` whose events are still coming (a live trace,
 * tdb_live.h): its buckets start at level `base_level` (pick it with
 * tdb_summary_base_level from what is known so far), its first event is at
 * `first_t`, and levels are added on top as time passes, so it needs
 * neither the count nor the end in advance. Every bucket it stores at a
 * level L >= base_level is the bucket a builder of tdb_sum_builder_new()
 * over the same events and end stores at L: only the levels below
 * base_level and the event packs' grid depend on base_level. Returns NULL
 * when out of memory. */
struct tdb_sum_builder *tdb_sum_builder_new_growing(int64_t lane, int base_level, int64_t first_t,
                                                    tdb_sum_chunk_fn fn, void *ctx);

/* A copy of `b` (not finished) whose chunks go to `fn` instead, with the
 * lane's end at `end_t` (clamped up to its last event): finishing it hands
 * over what finishing `b` there would hand over that `b` has not handed
 * over yet (its open chunks, at most one per level, and its open event
 * pack), while `b` goes on taking events. Costs O(levels + the bytes of
 * the open chunks), not O(events). Returns NULL when out of memory. */
struct tdb_sum_builder *tdb_sum_builder_copy(const struct tdb_sum_builder *b, int64_t end_t, tdb_sum_chunk_fn fn,
                                             void *ctx);

/* The base level the builder picks for a lane of `events` events over
 * `span_ns` ns: about TDB_SUMMARY_EVENTS_PER_BUCKET events per bucket. */
int tdb_summary_base_level(uint64_t events, int64_t span_ns);

/* Decode a chunk of `level` into `out` (room for `max` buckets). Times
 * come back in ns, exact below level TDB_SUMMARY_FRACTION_BITS and to
 * 1/4096 of a bucket above. Returns the number of buckets, or -1 if the
 * blob is malformed or holds more than `max`. */
int tdb_summary_decode(const uint8_t *blob, size_t len, int level, int64_t chunk, int start_state,
                       struct tdb_bucket *out, int max);

/* ---- the tables ---- */

/* Create the summary tables in schema `schema` ("main", or an attached
 * database) if they are missing. Returns 0 or -1 with `err`. */
int tdb_summary_create_tables(sqlite3 *db, const char *schema, char *err, size_t err_len);

/* Do the summary tables in `schema` cover every lane of the trace, at this
 * build's TDB_SUMMARY_VERSION? 1 yes, 0 no (missing, stale or partial), -1
 * on a database error (`err`). */
int tdb_summary_is_complete(sqlite3 *db, const char *schema, char *err, size_t err_len);

/* Called now and then while building, with events summarised so far out of `total`. */
typedef void (*tdb_summary_progress_fn)(void *ctx, uint64_t done, uint64_t total);

/* Build the missing summaries of trace `db` (opened read-write, or with the
 * summary tables in the attached schema `schema`) from its event table, in
 * one transaction. Lanes already summarised at this version are kept;
 * anything else in the summary tables is dropped first. Returns 0 or -1 with `err`. */
int tdb_summary_build(sqlite3 *db, const char *schema, tdb_summary_progress_fn progress, void *ctx, char *err,
                      size_t err_len);

/* ---- building while writing (used by tdb_write.c) ---- */

struct tdb_summary_lane;

/* Start summarising lane `lane` of `db` (the writer's connection, inside
 * its transaction): its `events` events span [first_t, last_t], its process
 * ends at `end_t`. If the lane already has a summary (a database appended
 * to twice with one thread), that summary is dropped and *out is NULL:
 * the lane is rebuilt from the event table on first open. Returns 0 or -1. */
int tdb_summary_lane_begin(sqlite3 *db, int64_t lane, uint64_t events, int64_t first_t, int64_t last_t,
                           int64_t end_t, struct tdb_summary_lane **out, char *err, size_t err_len);

/* Feed one stored event (t, kc as in the event table). NULL `s` is a no-op. Returns 0 or -1. */
int tdb_summary_lane_event(struct tdb_summary_lane *s, int64_t t, int64_t kc);

/* Store the rest and the lane's summary_lane row; frees `s` (NULL: no-op). Returns 0 or -1. */
int tdb_summary_lane_end(struct tdb_summary_lane *s, char *err, size_t err_len);

/* Free without storing the lane row (after an error). */
void tdb_summary_lane_abort(struct tdb_summary_lane *s);

#endif
