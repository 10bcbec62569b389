/*
 * tdb_view_impl.h — what the tdb_view_*.c files share: the view itself,
 * its chunk cache's entries, and their helpers. Not for users of tdb_view.h.
 */
#ifndef GILTRACE_TDB_VIEW_IMPL_H
#define GILTRACE_TDB_VIEW_IMPL_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tdb_summary.h"
#include "tdb_view.h"

#define CACHE_DEFAULT_BYTES (64u << 20)
#define HASH_SIZE 4096u
#define STATS_COLUMNS 2048
#define PROBE_EVENT_PX 4.0

struct chunk_entry {
    size_t lane;
    int level;
    int64_t chunk;
    bool present;
    uint8_t start_state, end_state; /* absent: both are the carried state */
    int nb;
    struct tdb_bucket *b;
    int nev;         /* event packs (level TDB_SUMMARY_EVENTS_LEVEL): decoded events */
    int64_t *ev_t;
    uint32_t *ev_kc;
    size_t bytes;
    struct chunk_entry *hnext, *prev, *next;
};

struct raw_event {
    int64_t t, kc;
};

struct tdb_view {
    char *path;
    char *name; /* NULL: the file's base name */
    char *summary_path; /* NULL: the summaries are in the trace itself */
    bool owns_summary, built;
    sqlite3 *db;
    const char *schema; /* of the summary tables: "main" or "sum" */
    int64_t base_ns;
    struct tdb_view_process *procs;
    size_t nproc;
    struct tdb_view_lane *lanes;
    size_t nlanes;
    char **strings;
    size_t nstrings;
    int64_t span_start, span_end;
    uint64_t events;
    sqlite3_stmt *st_chunk, *st_pack, *st_pack_before, *st_pack_after;
    /* decoded chunks */
    struct chunk_entry **htab;
    struct chunk_entry *lru_head, *lru_tail;
    size_t cache_bytes, cache_limit;
    /* scratch */
    double *acc;
    size_t acc_cap;
    struct raw_event *ev;
    size_t nev, ev_cap;
    struct tdb_wait_span *waits;
    size_t nwaits;
    bool waits_loaded;
    char err[256];
};

/* search_first conditions on a chunk: bucket i at or past bucket index
 * `key`; event i at or past time `key`; event i after time `key`. */
struct chunk_key {
    const struct chunk_entry *e;
    int64_t key;
};

/* The message tdb_view_error() returns, printf-style. */
void tdb_view_set_err(struct tdb_view *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A statement from `fmt` with %s the summary tables' schema; NULL (and the
 * view's error set) if SQLite refuses it. */
sqlite3_stmt *tdb_view_prep(struct tdb_view *v, const char *fmt);

/* Drop every decoded chunk. */
void tdb_view_cache_clear(struct tdb_view *v);

/* Chunk `chunk` of level `level` of lane index `li`, decoded (level
 * TDB_SUMMARY_EVENTS_LEVEL: an event pack); NULL (and the view's error set)
 * on a database error. Valid until the next tdb_view_get_chunk. */
struct chunk_entry *tdb_view_get_chunk(struct tdb_view *v, size_t li, int level, int64_t chunk);

/* First bucket of `e` with idx >= bidx. */
int tdb_view_lower_bound(const struct chunk_entry *e, int64_t bidx);

/* tdb_view_columns() from the lane's raw events, replayed exactly; 0, or -1
 * with the view's error set. */
int tdb_view_columns_raw(struct tdb_view *v, size_t li, double t0, double w, int n, struct tdb_column *out);

#endif
