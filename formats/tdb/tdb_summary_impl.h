/*
 * tdb_summary_impl.h — what the tdb_summary_*.c files share: the encoding
 * of a bucket record, the statements that store summaries, the builder's
 * state, and the helpers the builder, the codec, the store, the rebuild and
 * the live builders have in common (the live database, tdb_live*.c, stores
 * through the same statements). Not for users of tdb_summary.h.
 */
#ifndef GILTRACE_TDB_SUMMARY_IMPL_H
#define GILTRACE_TDB_SUMMARY_IMPL_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tdb_summary.h"
#include "trace_intervals.h"

/* Field presence bits of an encoded bucket; the header varint is
 * end_state | mask << 2. */
enum { F_HELD = 1, F_WAIT = 2, F_MAXWAIT = 4, F_LO = 8, F_SPAN = 16, F_COUNT0 = 32 };
#define MAX_RECORD_BYTES (2 * 10 + 10 + 5 * 10 + TDB_N_COUNTS * 5)

/* Times in a bucket of `level` are stored in units of 2^tdb_summary_unit_shift ns. */
static inline int tdb_summary_unit_shift(int level)
{
    return level > TDB_SUMMARY_FRACTION_BITS ? level - TDB_SUMMARY_FRACTION_BITS : 0;
}

/* Rows going into the summary tables of one schema. */
struct sum_store {
    sqlite3 *db;
    sqlite3_stmt *chunk, *lane, *wait, *events;
};

/* Where tdb_summary_store_chunk (a builder's chunk callback) stores. */
struct chunk_ctx {
    struct sum_store *store;
    int64_t lane;
};

/* Run the SQL of printf-style `fmt`; 0, or -1 with the reason in `err`. */
int tdb_summary_exec_fmt(sqlite3 *db, char *err, size_t n, const char *fmt, ...);

/* A statement from printf-style `fmt` (sqlite3_mprintf); NULL if SQLite refuses it. */
sqlite3_stmt *tdb_summary_prepare_fmt(sqlite3 *db, const char *fmt, ...);

/* One integer from `fmt` (formatted with %w / %Q for the schema), or `fallback`. */
int64_t tdb_summary_query_int(sqlite3 *db, int64_t fallback, const char *fmt, const char *schema);

/* Whether schema `s` has the summary tables. */
bool tdb_summary_has_tables(sqlite3 *db, const char *s);

/* Prepare `st`'s statements into schema `s` of `db`; 0, or -1 (SQLite's
 * error on `db`). */
int tdb_summary_store_prepare(struct sum_store *st, sqlite3 *db, const char *s);

/* Finalize `st`'s statements. */
void tdb_summary_store_finalize(struct sum_store *st);

/* A builder's chunk callback: store the chunk for the lane of `ctx`, a
 * struct chunk_ctx. 0, or -1. */
int tdb_summary_store_chunk(void *ctx, int level, int64_t chunk, int start_state, int end_state, uint32_t nrec,
                            const uint8_t *blob, size_t len);

/* Store a finished lane's figures and longest waits; 0, or -1. */
int tdb_summary_store_lane(struct sum_store *s, const struct tdb_lane_summary *ls, const struct tdb_wait_span *w,
                           size_t nw);

/* One level of a builder: its open bucket and the chunk being filled. */
struct sum_level {
    struct tdb_bucket acc; /* the open bucket */
    int64_t cur;           /* lane-relative time accounted up to */
    uint8_t state;         /* the lane's state at `cur` */
    bool open, dirty;      /* dirty: saw an event or a state change */
    /* the chunk being filled */
    bool chunk_open;
    int64_t chunk, last_idx;
    uint8_t chunk_start_state, chunk_end_state;
    uint32_t nrec;
    uint8_t *buf;
    size_t len, cap;
};

/* The pack of raw events being filled (base-level chunk grid). */
struct event_pack {
    bool open;
    int64_t chunk, prev; /* prev: lane-relative time of the last event put in */
    uint32_t n;
    uint8_t *buf;
    size_t len, cap;
};

/* The builder (tdb_summary.c; copied by tdb_summary_live.c). */
struct tdb_sum_builder {
    int64_t lane, origin, first_t, last_t, end_t;
    struct event_pack pack;
    int base, top, nlev;
    struct sum_level *lv;
    tdb_sum_chunk_fn fn;
    void *ctx;
    bool failed, finished;
    /* levels are added on top as time passes (tdb_sum_builder_new_growing):
     * `lv` then has room for every level up to TDB_SUMMARY_MAX_LEVEL */
    bool growing;
    /* the lane's holds and waits (base level), in lane-relative times */
    struct trace_walker walk;
    /* events of one ns, applied in kc order */
    int64_t pend_t, prev_t;
    bool have_pend;
    int64_t *pend;
    size_t npend, cap_pend;
    /* the longest waits: a min-heap on duration, then sorted at finish */
    struct tdb_wait_span *heap;
    size_t nheap;
    struct tdb_bucket total;
};

/* Add a level on top of a growing builder (its `lv` has the room); false
 * when it is not growing or is at TDB_SUMMARY_MAX_LEVEL. */
static inline bool tdb_sum_builder_grow(struct tdb_sum_builder *b)
{
    if (!b->growing || b->top >= TDB_SUMMARY_MAX_LEVEL)
        return false;
    b->top++;
    b->nlev++;
    return true;
}

#endif
