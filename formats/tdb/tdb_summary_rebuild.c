/*
 * tdb_summary_rebuild.c — summaries built from a trace's event table (a
 * trace written without them, or into a separate summary file). See
 * tdb_summary.h.
 */

#include <stdlib.h>

#include "fmt_error.h"
#include "tdb_read.h"
#include "tdb_summary_impl.h"

/* ------------------------------------------- building from the event table */

/* Summaries count time from meta.base_ns; schema 4 stores absolute times
 * (tdb_read.h's layouts). */
#define BASE_NS "coalesce((SELECT value FROM main.meta WHERE key = 'base_ns'), 0)"

struct lane_todo {
    int64_t lane, end_t, events, first_t, last_t;
};

static int list_lanes(sqlite3 *db, const char *s, enum tdb_event_layout layout, struct lane_todo **out, size_t *count,
                      uint64_t *total)
{
    sqlite3_stmt *st = tdb_summary_prepare_fmt(db,
                                   /* a lane of a process that lost events ends at its last
                                    * event (NULL here): trace_open_end's rule */
                                   "SELECT l.id, (SELECT CASE WHEN max(lost_events) > 0 THEN NULL ELSE max(end_ns) END"
                                   " FROM main.process p WHERE p.pid = l.pid)"
                                   " - coalesce((SELECT value FROM main.meta WHERE key = 'base_ns'), 0)"
                                   " FROM main.lane l WHERE l.id NOT IN (SELECT lane FROM \"%w\".summary_lane)"
                                   " ORDER BY l.id",
                                   s);
    /* counts alone are a fast scan; first and last as index look-ups */
    sqlite3_stmt *cnt = tdb_summary_prepare_fmt(
        db, layout == TDB_LAYOUT_ABS
                ? "SELECT count(*), (SELECT ts FROM main.event WHERE lane = ?1 ORDER BY ts LIMIT 1) - " BASE_NS ","
                  " (SELECT ts FROM main.event WHERE lane = ?1 ORDER BY ts DESC LIMIT 1) - " BASE_NS
                  " FROM main.event WHERE lane = ?1"
            : layout == TDB_LAYOUT_ONE
                ? "SELECT count(*), (SELECT t FROM main.event WHERE lane = ?1 ORDER BY t LIMIT 1),"
                  " (SELECT t FROM main.event WHERE lane = ?1 ORDER BY t DESC LIMIT 1)"
                  " FROM main.event WHERE lane = ?1"
                : "SELECT count(*) + count(k1) + count(k2) + count(k3),"
                  " (SELECT t FROM main.event WHERE lane = ?1 ORDER BY t LIMIT 1),"
                  " (SELECT t + coalesce(o3, o2, o1, 0) FROM main.event WHERE lane = ?1 ORDER BY t DESC LIMIT 1)"
                  " FROM main.event WHERE lane = ?1");
    size_t n = 0, cap = 0;
    struct lane_todo *v = NULL;
    int rc = st && cnt ? SQLITE_ROW : SQLITE_ERROR;
    *total = 0;
    while (rc == SQLITE_ROW && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            struct lane_todo *p = realloc(v, cap * sizeof *p);
            if (!p) {
                rc = SQLITE_NOMEM;
                break;
            }
            v = p;
        }
        struct lane_todo *l = &v[n];
        l->lane = sqlite3_column_int64(st, 0);
        l->end_t = sqlite3_column_type(st, 1) == SQLITE_NULL ? INT64_MIN : sqlite3_column_int64(st, 1);
        sqlite3_bind_int64(cnt, 1, l->lane);
        if (sqlite3_step(cnt) != SQLITE_ROW) {
            rc = SQLITE_ERROR;
            break;
        }
        l->events = sqlite3_column_int64(cnt, 0);
        l->first_t = sqlite3_column_int64(cnt, 1);
        l->last_t = sqlite3_column_int64(cnt, 2);
        sqlite3_reset(cnt);
        if (l->events > 0) {
            *total += (uint64_t)l->events;
            n++;
        }
    }
    sqlite3_finalize(st);
    sqlite3_finalize(cnt);
    if (rc != SQLITE_DONE) {
        free(v);
        return -1;
    }
    *out = v;
    *count = n;
    return 0;
}

/* The aggregate that feeds one lane's events, in (t, kc) order, to a builder. */
struct feed_ctx {
    struct tdb_sum_builder *b;
    int64_t prev;
    uint64_t k, done, total;
    tdb_summary_progress_fn progress;
    void *pctx;
    int failed; /* 1: the builder failed, 2: rows out of order */
};

static int feed_one(sqlite3_context *ctx, struct feed_ctx *f, int64_t t, int64_t kc)
{
    if (t < f->prev) {
        f->failed = 2;
        sqlite3_result_error(ctx, "events out of order", -1);
        return -1;
    }
    f->prev = t;
    if (tdb_sum_builder_event(f->b, t, kc)) {
        f->failed = 1;
        sqlite3_result_error(ctx, "cannot store summaries", -1);
        return -1;
    }
    if ((++f->k & 0xfffff) == 0 && f->progress)
        f->progress(f->pctx, f->done + f->k, f->total);
    return 0;
}

/* Arguments: (t, kc) for one event a row, or (t, k0, o1, k1, o2, k2, o3, k3). */
static void feed_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    struct feed_ctx *f = sqlite3_user_data(ctx);
    if (f->failed)
        return;
    int64_t t = sqlite3_value_int64(argv[0]);
    if (feed_one(ctx, f, t, sqlite3_value_int64(argv[1])))
        return;
    for (int k = 2; k + 1 < argc; k += 2)
        if (sqlite3_value_type(argv[k + 1]) != SQLITE_NULL &&
            feed_one(ctx, f, t + sqlite3_value_int64(argv[k]), sqlite3_value_int64(argv[k + 1])))
            return;
}

static void feed_final(sqlite3_context *ctx)
{
    sqlite3_result_null(ctx);
}

int tdb_summary_build(sqlite3 *db, const char *s, tdb_summary_progress_fn progress, void *pctx, char *err,
                      size_t n)
{
    if (tdb_summary_exec_fmt(db, err, n, "BEGIN IMMEDIATE"))
        return -1;
    struct lane_todo *todo = NULL;
    size_t ntodo = 0;
    uint64_t total = 0, done = 0;
    struct sum_store store = {0};
    sqlite3_stmt *scan = NULL;
    struct tdb_sum_builder *b = NULL;

    /* summaries of another version (or a partial set of tables): start afresh */
    if ((!tdb_summary_has_tables(db, s) ||
         tdb_summary_query_int(db, -1, "SELECT value FROM \"%w\".summary_meta WHERE key = 'version'", s) !=
             TDB_SUMMARY_VERSION) &&
        tdb_summary_exec_fmt(db, err, n,
                 "DROP TABLE IF EXISTS \"%w\".summary_meta; DROP TABLE IF EXISTS \"%w\".summary_lane;"
                 " DROP TABLE IF EXISTS \"%w\".summary_chunk; DROP TABLE IF EXISTS \"%w\".summary_wait;"
                 " DROP TABLE IF EXISTS \"%w\".summary_events;",
                 s, s, s, s, s))
        goto fail;
    if (tdb_summary_create_tables(db, s, err, n))
        goto fail;
    /* chunks or waits of a lane without its lane row are left-overs of an
     * interrupted build: drop them */
    if (tdb_summary_exec_fmt(db, err, n,
                 "DELETE FROM \"%w\".summary_chunk WHERE lane NOT IN (SELECT lane FROM \"%w\".summary_lane);"
                 "DELETE FROM \"%w\".summary_wait WHERE lane NOT IN (SELECT lane FROM \"%w\".summary_lane);"
                 "DELETE FROM \"%w\".summary_events WHERE lane NOT IN (SELECT lane FROM \"%w\".summary_lane);",
                 s, s, s, s, s, s))
        goto fail;
    enum tdb_event_layout layout = tdb_event_layout(db, "main");
    if (layout == TDB_LAYOUT_UNKNOWN) {
        fmt_error(err, n, "cannot summarise the trace: its event table has a layout this giltrace does not know");
        goto fail;
    }
    if (list_lanes(db, s, layout, &todo, &ntodo, &total)) {
        fmt_error(err, n, "cannot read the trace's lanes: %s", sqlite3_errmsg(db));
        goto fail;
    }
    if (tdb_summary_store_prepare(&store, db, s)) {
        fmt_error(err, n, "trace summaries: %s", sqlite3_errmsg(db));
        goto fail;
    }
    /* the events go to the builder from inside SQLite's scan (an aggregate),
     * which costs about half of stepping through them row by row */
    struct feed_ctx feed = {0};
    if (sqlite3_create_function_v2(db, "giltrace_summary_feed", -1, SQLITE_UTF8 | SQLITE_DIRECTONLY, &feed, NULL,
                                   feed_step, feed_final, NULL) != SQLITE_OK) {
        fmt_error(err, n, "cannot summarise the trace: %s", sqlite3_errmsg(db));
        goto fail;
    }
    /* the primary key gives each lane's rows in (t, kc) order; the feed
     * checks it and fails rather than build from rows out of order */
    scan = tdb_summary_prepare_fmt(db, layout == TDB_LAYOUT_ABS
                               ? "SELECT giltrace_summary_feed(ts - " BASE_NS ", kc) FROM main.event WHERE lane = ?"
                           : layout == TDB_LAYOUT_ONE
                               ? "SELECT giltrace_summary_feed(t, kc) FROM main.event WHERE lane = ?"
                               : "SELECT giltrace_summary_feed(t, k0, o1, k1, o2, k2, o3, k3) FROM main.event"
                                 " WHERE lane = ?");
    if (!scan) {
        fmt_error(err, n, "cannot read the trace's events: %s", sqlite3_errmsg(db));
        goto fail;
    }
    for (size_t i = 0; i < ntodo; i++) {
        struct lane_todo *l = &todo[i];
        struct chunk_ctx cctx = {&store, l->lane};
        b = tdb_sum_builder_new(l->lane, (uint64_t)l->events, l->first_t, l->last_t, l->end_t,
                                tdb_summary_store_chunk, &cctx);
        if (!b) {
            fmt_error(err, n, "out of memory");
            goto fail;
        }
        sqlite3_bind_int64(scan, 1, l->lane);
        feed = (struct feed_ctx){.b = b, .prev = INT64_MIN, .progress = progress, .pctx = pctx, .done = done,
                                 .total = total};
        int rc = sqlite3_step(scan);
        if (rc == SQLITE_ROW)
            rc = sqlite3_step(scan);
        sqlite3_reset(scan);
        if (rc != SQLITE_DONE || feed.failed) {
            fmt_error(err, n, "cannot summarise the trace: %s",
                 feed.failed == 2 ? "events out of order" : sqlite3_errmsg(db));
            goto fail;
        }
        struct tdb_lane_summary ls;
        const struct tdb_wait_span *w;
        size_t nw;
        if (tdb_sum_builder_finish(b, &ls, &w, &nw) || tdb_summary_store_lane(&store, &ls, w, nw)) {
            fmt_error(err, n, "cannot store trace summaries: %s", sqlite3_errmsg(db));
            goto fail;
        }
        tdb_sum_builder_free(b);
        b = NULL;
        done += (uint64_t)l->events;
        if (progress)
            progress(pctx, done, total);
    }
    sqlite3_finalize(scan);
    sqlite3_create_function_v2(db, "giltrace_summary_feed", -1, SQLITE_UTF8, NULL, NULL, NULL, NULL, NULL);
    tdb_summary_store_finalize(&store);
    free(todo);
    return tdb_summary_exec_fmt(db, err, n, "COMMIT");

fail:
    tdb_sum_builder_free(b);
    sqlite3_finalize(scan);
    sqlite3_create_function_v2(db, "giltrace_summary_feed", -1, SQLITE_UTF8, NULL, NULL, NULL, NULL, NULL);
    tdb_summary_store_finalize(&store);
    free(todo);
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}
