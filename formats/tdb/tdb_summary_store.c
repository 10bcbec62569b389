/*
 * tdb_summary_store.c — the summary tables: creating them, checking they
 * are complete, storing chunks and lanes, and building a lane's summaries
 * while its events are written. See tdb_summary.h.
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "fmt_error.h"
#include "tdb_summary_impl.h"

/* ---------------------------------------------------------------- tables */

int tdb_summary_exec_fmt(sqlite3 *db, char *err, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *sql = sqlite3_vmprintf(fmt, ap);
    va_end(ap);
    if (!sql)
        return fmt_error(err, n, "out of memory");
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    sqlite3_free(sql);
    if (rc == SQLITE_OK)
        return 0;
    fmt_error(err, n, "trace summaries: %s", msg ? msg : sqlite3_errmsg(db));
    sqlite3_free(msg);
    return -1;
}

sqlite3_stmt *tdb_summary_prepare_fmt(sqlite3 *db, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *sql = sqlite3_vmprintf(fmt, ap);
    va_end(ap);
    sqlite3_stmt *st = NULL;
    if (sql && sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK)
        st = NULL;
    sqlite3_free(sql);
    return st;
}

/* One integer from `sql` (formatted with %w / %Q for the schema), or `fallback`. */
int64_t tdb_summary_query_int(sqlite3 *db, int64_t fallback, const char *fmt, const char *schema)
{
    sqlite3_stmt *st = tdb_summary_prepare_fmt(db, fmt, schema, schema, schema);
    if (!st)
        return fallback;
    int64_t v = fallback;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

int tdb_summary_create_tables(sqlite3 *db, const char *s, char *err, size_t n)
{
    return tdb_summary_exec_fmt(db, err, n,
                    "CREATE TABLE IF NOT EXISTS \"%w\".summary_meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;"
                    "INSERT OR IGNORE INTO \"%w\".summary_meta VALUES ('version', %d);"
                    "CREATE TABLE IF NOT EXISTS \"%w\".summary_lane(lane INTEGER PRIMARY KEY,"
                    " origin INTEGER NOT NULL, base_level INTEGER NOT NULL, top_level INTEGER NOT NULL,"
                    " first_t INTEGER NOT NULL,"
                    " last_t INTEGER NOT NULL, end_t INTEGER NOT NULL, events INTEGER NOT NULL,"
                    " held_ns INTEGER NOT NULL, wait_ns INTEGER NOT NULL, acquires INTEGER NOT NULL,"
                    " retries INTEGER NOT NULL, timeouts INTEGER NOT NULL, drop_requests INTEGER NOT NULL,"
                    " forced_switches INTEGER NOT NULL, toggles INTEGER NOT NULL,"
                    " longest_wait_ns INTEGER NOT NULL);"
                    "CREATE TABLE IF NOT EXISTS \"%w\".summary_chunk(lane INTEGER NOT NULL,"
                    " level INTEGER NOT NULL, chunk INTEGER NOT NULL, start_state INTEGER NOT NULL,"
                    " end_state INTEGER NOT NULL, buckets INTEGER NOT NULL, data BLOB NOT NULL,"
                    " PRIMARY KEY(lane, level, chunk));"
                    "CREATE TABLE IF NOT EXISTS \"%w\".summary_wait(lane INTEGER NOT NULL,"
                    " start_t INTEGER NOT NULL, end_t INTEGER NOT NULL, retries INTEGER NOT NULL,"
                    " timeouts INTEGER NOT NULL);"
                    "CREATE TABLE IF NOT EXISTS \"%w\".summary_events(lane INTEGER NOT NULL,"
                    " chunk INTEGER NOT NULL, events INTEGER NOT NULL, data BLOB NOT NULL,"
                    " PRIMARY KEY(lane, chunk));",
                    s, s, TDB_SUMMARY_VERSION, s, s, s, s);
}

bool tdb_summary_has_tables(sqlite3 *db, const char *s)
{
    return tdb_summary_query_int(db, 0,
                     "SELECT count(*) FROM \"%w\".sqlite_schema WHERE type = 'table' AND name IN"
                     " ('summary_meta', 'summary_lane', 'summary_chunk', 'summary_wait', 'summary_events')",
                     s) == 5;
}

int tdb_summary_is_complete(sqlite3 *db, const char *s, char *err, size_t n)
{
    if (!tdb_summary_has_tables(db, s))
        return 0;
    if (tdb_summary_query_int(db, -1, "SELECT value FROM \"%w\".summary_meta WHERE key = 'version'", s) !=
        TDB_SUMMARY_VERSION)
        return 0;
    int64_t missing = tdb_summary_query_int(db, -1,
                                "SELECT count(*) FROM main.lane WHERE id NOT IN"
                                " (SELECT lane FROM \"%w\".summary_lane)",
                                s);
    if (missing < 0)
        return fmt_error(err, n, "cannot read the trace's lanes: %s", sqlite3_errmsg(db));
    return missing == 0;
}

int tdb_summary_store_prepare(struct sum_store *st, sqlite3 *db, const char *s)
{
    st->db = db;
    st->chunk = tdb_summary_prepare_fmt(db, "INSERT INTO \"%w\".summary_chunk VALUES (?,?,?,?,?,?,?)", s);
    st->lane = tdb_summary_prepare_fmt(db, "INSERT INTO \"%w\".summary_lane"
                                           " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", s);
    st->wait = tdb_summary_prepare_fmt(db, "INSERT INTO \"%w\".summary_wait VALUES (?,?,?,?,?)", s);
    st->events = tdb_summary_prepare_fmt(db, "INSERT INTO \"%w\".summary_events VALUES (?,?,?,?)", s);
    return st->chunk && st->lane && st->wait && st->events ? 0 : -1;
}

void tdb_summary_store_finalize(struct sum_store *st)
{
    sqlite3_finalize(st->chunk);
    sqlite3_finalize(st->lane);
    sqlite3_finalize(st->wait);
    sqlite3_finalize(st->events);
}

int tdb_summary_store_chunk(void *ctx, int level, int64_t chunk, int start_state, int end_state, uint32_t nrec,
                            const uint8_t *blob, size_t len)
{
    struct chunk_ctx *c = ctx;
    if (level == TDB_SUMMARY_EVENTS_LEVEL) {
        sqlite3_stmt *ev = c->store->events;
        sqlite3_bind_int64(ev, 1, c->lane);
        sqlite3_bind_int64(ev, 2, chunk);
        sqlite3_bind_int64(ev, 3, nrec);
        sqlite3_bind_blob(ev, 4, blob, (int)len, SQLITE_STATIC);
        int rc = sqlite3_step(ev);
        sqlite3_reset(ev);
        return rc == SQLITE_DONE ? 0 : -1;
    }
    sqlite3_stmt *st = c->store->chunk;
    sqlite3_bind_int64(st, 1, c->lane);
    sqlite3_bind_int(st, 2, level);
    sqlite3_bind_int64(st, 3, chunk);
    sqlite3_bind_int(st, 4, start_state);
    sqlite3_bind_int(st, 5, end_state);
    sqlite3_bind_int64(st, 6, nrec);
    sqlite3_bind_blob(st, 7, blob, (int)len, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int tdb_summary_store_lane(struct sum_store *s, const struct tdb_lane_summary *ls, const struct tdb_wait_span *w,
                           size_t nw)
{
    sqlite3_stmt *st = s->lane;
    const struct tdb_bucket *t = &ls->total;
    sqlite3_bind_int64(st, 1, ls->lane);
    sqlite3_bind_int64(st, 2, ls->origin);
    sqlite3_bind_int(st, 3, ls->base_level);
    sqlite3_bind_int(st, 4, ls->top_level);
    sqlite3_bind_int64(st, 5, ls->first_t);
    sqlite3_bind_int64(st, 6, ls->last_t);
    sqlite3_bind_int64(st, 7, ls->end_t);
    sqlite3_bind_int64(st, 8, t->n[TDB_N_EVENTS]);
    sqlite3_bind_int64(st, 9, t->held_ns);
    sqlite3_bind_int64(st, 10, t->wait_ns);
    sqlite3_bind_int64(st, 11, t->n[TDB_N_ACQUIRE]);
    sqlite3_bind_int64(st, 12, t->n[TDB_N_RETRY]);
    sqlite3_bind_int64(st, 13, t->n[TDB_N_TIMEOUT]);
    sqlite3_bind_int64(st, 14, t->n[TDB_N_DROP]);
    sqlite3_bind_int64(st, 15, t->n[TDB_N_FORCED]);
    sqlite3_bind_int64(st, 16, t->n[TDB_N_TOGGLE]);
    sqlite3_bind_int64(st, 17, t->max_wait_ns);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    for (size_t i = 0; i < nw && rc == SQLITE_DONE; i++) {
        sqlite3_bind_int64(s->wait, 1, w[i].lane);
        sqlite3_bind_int64(s->wait, 2, w[i].start_t);
        sqlite3_bind_int64(s->wait, 3, w[i].end_t);
        sqlite3_bind_int64(s->wait, 4, w[i].retries);
        sqlite3_bind_int64(s->wait, 5, w[i].timeouts);
        rc = sqlite3_step(s->wait);
        sqlite3_reset(s->wait);
    }
    return rc == SQLITE_DONE ? 0 : -1;
}

/* ------------------------------------------------- building while writing */

struct tdb_summary_lane {
    struct sum_store store;
    struct chunk_ctx cctx;
    struct tdb_sum_builder *b;
};

int tdb_summary_lane_begin(sqlite3 *db, int64_t lane, uint64_t events, int64_t first_t, int64_t last_t,
                           int64_t end_t, struct tdb_summary_lane **out, char *err, size_t n)
{
    *out = NULL;
    if (tdb_summary_create_tables(db, "main", err, n))
        return -1;
    if (tdb_summary_query_int(db, -1, "SELECT value FROM \"%w\".summary_meta WHERE key = 'version'", "main") !=
        TDB_SUMMARY_VERSION)
        return 0; /* summaries of another version: the next open rebuilds them all */
    sqlite3_stmt *st = tdb_summary_prepare_fmt(db, "SELECT 1 FROM summary_lane WHERE lane = ?");
    if (!st)
        return fmt_error(err, n, "trace summaries: %s", sqlite3_errmsg(db));
    sqlite3_bind_int64(st, 1, lane);
    bool exists = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    if (exists) {
        char sql[256];
        snprintf(sql, sizeof sql,
                 "DELETE FROM summary_lane WHERE lane = %lld; DELETE FROM summary_chunk WHERE lane = %lld;"
                 "DELETE FROM summary_wait WHERE lane = %lld; DELETE FROM summary_events WHERE lane = %lld;",
                 (long long)lane, (long long)lane, (long long)lane, (long long)lane);
        return tdb_summary_exec_fmt(db, err, n, "%s", sql);
    }
    struct tdb_summary_lane *s = calloc(1, sizeof *s);
    if (!s)
        return fmt_error(err, n, "out of memory");
    if (tdb_summary_store_prepare(&s->store, db, "main")) {
        fmt_error(err, n, "trace summaries: %s", sqlite3_errmsg(db));
        goto fail_prepare;
    }
    s->cctx = (struct chunk_ctx){&s->store, lane};
    s->b = tdb_sum_builder_new(lane, events, first_t, last_t, end_t, tdb_summary_store_chunk, &s->cctx);
    if (!s->b) {
        fmt_error(err, n, "out of memory");
        goto fail_prepare;
    }
    *out = s;
    return 0;

fail_prepare:
    tdb_summary_store_finalize(&s->store);
    free(s);
    return -1;
}

int tdb_summary_lane_event(struct tdb_summary_lane *s, int64_t t, int64_t kc)
{
    return s ? tdb_sum_builder_event(s->b, t, kc) : 0;
}

void tdb_summary_lane_abort(struct tdb_summary_lane *s)
{
    if (!s)
        return;
    tdb_sum_builder_free(s->b);
    tdb_summary_store_finalize(&s->store);
    free(s);
}

int tdb_summary_lane_end(struct tdb_summary_lane *s, char *err, size_t n)
{
    if (!s)
        return 0;
    struct tdb_lane_summary ls;
    const struct tdb_wait_span *w;
    size_t nw;
    int r = 0;
    if (tdb_sum_builder_finish(s->b, &ls, &w, &nw) || tdb_summary_store_lane(&s->store, &ls, w, nw))
        r = fmt_error(err, n, "cannot store trace summaries: %s", sqlite3_errmsg(s->store.db));
    tdb_summary_lane_abort(s);
    return r;
}
