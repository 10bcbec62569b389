/*
 * tdb_live_rows.c — the rows of a live trace database: its schema, the
 * process, GIL, lane and thread rows, a lane's summary rows, and each
 * commit's transaction. See tdb_live_impl.h.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fmt_error.h"
#include "tdb_live_impl.h"
#include "tdb_schema.h"

#ifndef GILTRACE_VERSION
#define GILTRACE_VERSION "unknown"
#endif

static int sql_fail(struct tdb_live *l, char *err, size_t n, const char *what)
{
    return fmt_error(err, n, "%s: %s", what, sqlite3_errmsg(l->db));
}

static int done(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

static sqlite3_stmt *prep(struct tdb_live *l, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v3(l->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK)
        return NULL;
    return st;
}

/* meta `key` = `text`. */
static int set_meta(struct tdb_live *l, const char *key, const char *text)
{
    char *sql = sqlite3_mprintf("INSERT OR REPLACE INTO meta VALUES (%Q, %Q)", key, text);
    int rc = sql ? sqlite3_exec(l->db, sql, NULL, NULL, NULL) : SQLITE_NOMEM;
    sqlite3_free(sql);
    return rc == SQLITE_OK ? 0 : -1;
}

static int set_meta_int(struct tdb_live *l, const char *key, long long v)
{
    char text[32];
    snprintf(text, sizeof text, "%lld", v);
    return set_meta(l, key, text);
}

int tdb_live_rows_init(struct tdb_live *l, char *err, size_t n)
{
    sqlite3_extended_result_codes(l->db, 1);
    sqlite3_stmt *st;
    int objects = -1;
    if (sqlite3_prepare_v2(l->db, "SELECT count(*) FROM sqlite_schema", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        objects = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (objects != 0)
        return fmt_error(err, n, "a live trace needs a new, empty file");
    /* WAL: views read the last commit while the next one is written */
    struct timespec mono, real;
    clock_gettime(CLOCK_MONOTONIC, &mono);
    clock_gettime(CLOCK_REALTIME, &real);
    long long unix_minus_mono = ((long long)real.tv_sec - mono.tv_sec) * 1000000000 + (real.tv_nsec - mono.tv_nsec);
    if (sqlite3_exec(l->db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF; BEGIN", NULL, NULL, NULL) ||
        sqlite3_exec(l->db, tdb_schema_sql, NULL, NULL, NULL) ||
        sqlite3_exec(l->db, tdb_schema_index_sql, NULL, NULL, NULL) ||
        set_meta_int(l, "schema_version", TDB_SCHEMA_VERSION) ||
        set_meta(l, "giltrace_version", GILTRACE_VERSION) || set_meta(l, "clock", "CLOCK_MONOTONIC") ||
        set_meta_int(l, "live", 1) || set_meta_int(l, "created_unix", (long long)time(NULL)) ||
        set_meta_int(l, "unix_minus_monotonic_ns", unix_minus_mono))
        return sql_fail(l, err, n, "cannot make the live trace database");
    if (tdb_summary_create_tables(l->db, "main", err, n))
        return -1;
    if (sqlite3_exec(l->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        return sql_fail(l, err, n, "cannot make the live trace database");
    l->store.db = l->db;
    l->store.chunk = prep(l, "INSERT OR REPLACE INTO summary_chunk VALUES (?,?,?,?,?,?,?)");
    l->store.lane = prep(l, "INSERT OR REPLACE INTO summary_lane VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    l->store.wait = prep(l, "INSERT INTO summary_wait VALUES (?,?,?,?,?)");
    l->store.events = prep(l, "INSERT OR REPLACE INTO summary_events VALUES (?,?,?,?)");
    l->insert_lane = prep(l, "INSERT INTO lane(pid, tid, gil) VALUES (?, ?, ?)");
    l->upsert_thread = prep(l, "INSERT OR REPLACE INTO thread(pid, tid, name, first_ns, last_ns) VALUES (?,?,?,?,?)");
    l->drop_chunk = prep(l, "DELETE FROM summary_chunk WHERE lane = ? AND level = ? AND chunk = ?");
    l->drop_pack = prep(l, "DELETE FROM summary_events WHERE lane = ? AND chunk = ?");
    l->drop_waits = prep(l, "DELETE FROM summary_wait WHERE lane = ?");
    if (!l->store.chunk || !l->store.lane || !l->store.wait || !l->store.events || !l->insert_lane ||
        !l->upsert_thread || !l->drop_chunk || !l->drop_pack || !l->drop_waits)
        return sql_fail(l, err, n, "cannot prepare the live trace database");
    return 0;
}

void tdb_live_rows_finalize(struct tdb_live *l)
{
    tdb_summary_store_finalize(&l->store);
    sqlite3_finalize(l->insert_lane);
    sqlite3_finalize(l->upsert_thread);
    sqlite3_finalize(l->drop_chunk);
    sqlite3_finalize(l->drop_pack);
    sqlite3_finalize(l->drop_waits);
}

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *s)
{
    if (s && *s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

/* The process row, replaced: argv as a JSON array, as tdb_write.c stores it. */
static int process_row(struct tdb_live *l, const struct trace_process *p)
{
    sqlite3_stmt *st;
    if (sqlite3_exec(l->db, "DELETE FROM process", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(l->db,
                           "INSERT INTO process(pid, ppid, exe, argv, python_version, python_hexversion,"
                           " gil_kind, switch_interval_us, start_ns, end_ns, lost_events, overwritten_events,"
                           " dropped_records, exited) VALUES (?,?,?,json('[]'),?,?,?,?,?,?,?,?,?,?)",
                           -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int(st, 1, p->pid);
    sqlite3_bind_int(st, 2, p->ppid);
    bind_text_or_null(st, 3, p->exe);
    bind_text_or_null(st, 4, p->python_version);
    if (p->python_hexversion)
        sqlite3_bind_int64(st, 5, p->python_hexversion);
    sqlite3_bind_int(st, 6, (int)p->gil_kind);
    if (p->switch_interval_us >= 0)
        sqlite3_bind_int64(st, 7, p->switch_interval_us);
    sqlite3_bind_int64(st, 8, p->start_ns);
    sqlite3_bind_int64(st, 9, p->end_ns);
    sqlite3_bind_int64(st, 10, (int64_t)p->lost_events);
    sqlite3_bind_int64(st, 11, (int64_t)p->overwritten_events);
    sqlite3_bind_int64(st, 12, (int64_t)p->dropped_records);
    sqlite3_bind_int(st, 13, p->exited);
    int r = done(st);
    sqlite3_finalize(st);
    if (r || sqlite3_prepare_v2(l->db, "UPDATE process SET argv = json_insert(argv, '$[#]', ?)", -1, &st, NULL))
        return -1;
    for (size_t i = 0; i < p->argc && r == 0; i++) {
        sqlite3_bind_text(st, 1, p->argv[i], -1, SQLITE_STATIC);
        r = done(st);
    }
    sqlite3_finalize(st);
    if (r || sqlite3_prepare_v2(l->db, "INSERT OR REPLACE INTO gil VALUES (?, ?, ?, ?, ?)", -1, &st, NULL))
        return -1;
    for (size_t i = 0; i < p->gil_count && r == 0; i++) {
        const struct trace_gil *g = &p->gils[i];
        sqlite3_bind_int(st, 1, p->pid);
        sqlite3_bind_int(st, 2, (int)g->index);
        sqlite3_bind_int(st, 3, (int)g->kind);
        sqlite3_bind_int64(st, 4, (int64_t)g->address);
        sqlite3_bind_int(st, 5, g->subinterpreter);
        r = done(st);
    }
    sqlite3_finalize(st);
    return r;
}

int tdb_live_rows_begin(struct tdb_live *l, const struct trace_process *p, char *err, size_t n)
{
    if (sqlite3_exec(l->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return sql_fail(l, err, n, "cannot write the live trace");
    if (set_meta_int(l, "base_ns", l->base_ns) || process_row(l, p)) {
        sql_fail(l, err, n, "cannot store the live process");
        sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    return 0;
}

int tdb_live_rows_new_lane(struct tdb_live *l, int32_t pid, struct live_lane *ln)
{
    sqlite3_bind_int(l->insert_lane, 1, pid);
    sqlite3_bind_int64(l->insert_lane, 2, ln->tid);
    sqlite3_bind_int(l->insert_lane, 3, (int)ln->gil);
    if (done(l->insert_lane))
        return -1;
    ln->id = sqlite3_last_insert_rowid(l->db);
    ln->cctx = (struct chunk_ctx){&l->store, ln->id};
    return 0;
}

int tdb_live_rows_drop_provisional(struct tdb_live *l, struct live_lane *ln)
{
    for (size_t i = 0; i < ln->nprov; i++) {
        const struct live_key *k = &ln->prov[i];
        sqlite3_stmt *st = k->level == TDB_SUMMARY_EVENTS_LEVEL ? l->drop_pack : l->drop_chunk;
        sqlite3_bind_int64(st, 1, ln->id);
        if (st == l->drop_pack) {
            sqlite3_bind_int64(st, 2, k->chunk);
        } else {
            sqlite3_bind_int(st, 2, k->level);
            sqlite3_bind_int64(st, 3, k->chunk);
        }
        if (done(st))
            return -1;
    }
    ln->nprov = 0;
    return 0;
}

int tdb_live_rows_lane(struct tdb_live *l, struct live_lane *ln, const struct tdb_lane_summary *s,
                       const struct tdb_wait_span *w, size_t nw)
{
    sqlite3_bind_int64(l->drop_waits, 1, ln->id);
    if (done(l->drop_waits))
        return -1;
    return tdb_summary_store_lane(&l->store, s, w, nw);
}

int tdb_live_rows_end(struct tdb_live *l, int32_t pid, tdb_live_name_fn name, void *ctx, char *err, size_t n)
{
    int r = 0;
    for (size_t i = 0; i < l->nthreads && r == 0; i++) {
        const struct live_thread *t = &l->threads[i];
        sqlite3_stmt *st = l->upsert_thread;
        sqlite3_bind_int(st, 1, pid);
        sqlite3_bind_int64(st, 2, t->tid);
        bind_text_or_null(st, 3, name ? name(ctx, t->tid) : NULL);
        sqlite3_bind_int64(st, 4, t->first_ns);
        sqlite3_bind_int64(st, 5, t->last_ns);
        r = done(st);
    }
    if (r || sqlite3_exec(l->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        sql_fail(l, err, n, "cannot store the live trace");
        sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    return 0;
}
