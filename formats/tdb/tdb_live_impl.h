/*
 * tdb_live_impl.h — what tdb_live.c and tdb_live_rows.c share: the live
 * database, its lanes and threads, and the row writers. Not for users of
 * tdb_live.h.
 */
#ifndef GILTRACE_TDB_LIVE_IMPL_H
#define GILTRACE_TDB_LIVE_IMPL_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tdb_live.h"
#include "tdb_summary.h"
#include "tdb_summary_impl.h"

/* An event: t (absolute ns while queued, trace time once taken) and kc. */
struct live_event {
    int64_t t, kc;
};

/* A queued event: the event, and its raw Python stack id (0: none). */
struct live_queued {
    struct live_event e;
    uint32_t py_stack;
};

/* A summary row a commit stored for the copy of a lane's builder. */
struct live_key {
    int level; /* TDB_SUMMARY_EVENTS_LEVEL: an event pack */
    int64_t chunk;
};

struct live_lane {
    int64_t id; /* lane.id; 0 until its first commit */
    uint32_t tid;
    unsigned gil;
    struct chunk_ctx cctx; /* where its builder's finished chunks go */
    struct live_queued *queue; /* added since the last commit */
    size_t nqueue, cap_queue;
    int64_t prev_ts;          /* last absolute time taken (after moves) */
    uint64_t count;           /* events taken */
    int64_t first_t, last_t, end_t;
    bool young;               /* base level not fixed: `hist` holds its events */
    struct live_event *hist;
    size_t nhist, cap_hist;
    struct tdb_sum_builder *b; /* once grown up */
    struct live_key *prov;    /* rows of the last copy, replaced next time */
    size_t nprov, cap_prov;
    int64_t written_end;      /* end_t its rows were written for */
};

struct live_thread {
    uint32_t tid;
    int64_t first_ns, last_ns; /* absolute, as the writer's thread rows */
};

struct tdb_live {
    sqlite3 *db;
    struct sum_store store; /* summary rows, INSERT OR REPLACE */
    sqlite3_stmt *insert_lane, *upsert_thread, *drop_chunk, *drop_pack, *drop_waits;
    sqlite3_stmt *py_event, *py_stack, *py_frame, *py_code;
    uint8_t *py_stored;     /* per raw Python stack id: its rows are stored */
    size_t cap_py_stored;
    int64_t py_codes;       /* py_code rows stored */
    int64_t base_ns;
    bool have_base, broken;
    uint64_t young, events;
    struct live_lane **lanes;
    size_t nlanes, cap_lanes, last_lane;
    struct live_thread *threads;
    size_t nthreads, cap_threads;
};

/* Make the schema in the new database and prepare the statements; 0, or -1 with `err`. */
int tdb_live_rows_init(struct tdb_live *l, char *err, size_t n);

/* Finalize the statements. */
void tdb_live_rows_finalize(struct tdb_live *l);

/* Begin a commit's transaction; the process's and its GILs' rows (and
 * meta.base_ns the first time). 0, or -1 with `err`. */
int tdb_live_rows_begin(struct tdb_live *l, const struct trace_process *p, char *err, size_t n);

/* The lane row of a lane seen for the first time: sets ln->id. 0 or -1. */
int tdb_live_rows_new_lane(struct tdb_live *l, int32_t pid, struct live_lane *ln);

/* Delete the rows the last commit stored for the copy of lane `ln`'s builder. 0 or -1. */
int tdb_live_rows_drop_provisional(struct tdb_live *l, struct live_lane *ln);

/* Replace lane `ln`'s summary_lane row and longest waits. 0 or -1. */
int tdb_live_rows_lane(struct tdb_live *l, struct live_lane *ln, const struct tdb_lane_summary *s,
                       const struct tdb_wait_span *w, size_t nw);

/* The py_event row of lane `ln`'s event at trace time t with raw Python
 * stack `raw`, and that stack's rows the first time (named by `names`,
 * its codes those of `p`). 0 or -1. */
int tdb_live_rows_py_event(struct tdb_live *l, const struct trace_process *p, const struct tdb_live_names *names,
                           const struct live_lane *ln, int64_t t, unsigned kind, uint32_t raw);

/* The threads' rows (names from `names`), then commit. 0, or -1 with `err`. */
int tdb_live_rows_end(struct tdb_live *l, const struct trace_process *p, const struct tdb_live_names *names, char *err,
                      size_t n);

#endif
