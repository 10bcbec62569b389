/*
 * tdb_live_rows.c — the rows of a live trace database: its schema, the
 * process, GIL, lane and thread rows, a lane's summary rows, the Python
 * stacks of its events, and each commit's transaction. See tdb_live_impl.h.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fmt_error.h"
#include "tdb_live_impl.h"
#include "tdb_pystacks.h"
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
        sqlite3_exec(l->db, tdb_pystacks_schema_sql, NULL, NULL, NULL) ||
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
    l->py_event = prep(l, "INSERT OR REPLACE INTO py_event VALUES (?,?,?,?,?,?)");
    l->py_stack = prep(l, "INSERT OR REPLACE INTO py_stack VALUES (?,?,?,?)");
    l->py_frame = prep(l, "INSERT OR REPLACE INTO py_stack_frame VALUES (?,?,?,?,?,?)");
    l->py_code = prep(l, "INSERT INTO py_code VALUES (?,?,?,?,?,?)");
    if (!l->store.chunk || !l->store.lane || !l->store.wait || !l->store.events || !l->insert_lane ||
        !l->upsert_thread || !l->drop_chunk || !l->drop_pack || !l->drop_waits || !l->py_event || !l->py_stack ||
        !l->py_frame || !l->py_code)
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
    sqlite3_finalize(l->py_event);
    sqlite3_finalize(l->py_stack);
    sqlite3_finalize(l->py_frame);
    sqlite3_finalize(l->py_code);
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
    if (r || !p->py_stacks_recorded)
        return r;
    if (sqlite3_prepare_v2(l->db, "INSERT OR REPLACE INTO py_process VALUES (?, 1, ?)", -1, &st, NULL))
        return -1;
    sqlite3_bind_int(st, 1, p->pid);
    sqlite3_bind_int64(st, 2, (int64_t)p->lost_py_stacks);
    r = done(st);
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

/* Python stack `raw` with its frames, each naming a py_code row of its own
 * (code indexes of a follower's process are not stable across polls). */
static int store_py_stack(struct tdb_live *l, const struct trace_process *p, const struct trace_py_stack *s,
                          uint32_t raw)
{
    sqlite3_bind_int(l->py_stack, 1, p->pid);
    sqlite3_bind_int64(l->py_stack, 2, raw);
    sqlite3_bind_int(l->py_stack, 3, (int)s->depth);
    sqlite3_bind_int(l->py_stack, 4, s->truncated);
    if (done(l->py_stack))
        return -1;
    for (uint32_t k = 0; k < s->depth; k++) {
        const struct trace_py_frame *f = &s->frames[k];
        const struct trace_py_code *c = f->code && f->code <= p->py_code_count ? &p->py_codes[f->code - 1] : NULL;
        if (c) {
            sqlite3_bind_int(l->py_code, 1, p->pid);
            sqlite3_bind_int64(l->py_code, 2, ++l->py_codes);
            sqlite3_bind_text(l->py_code, 3, c->qualname, -1, SQLITE_STATIC);
            sqlite3_bind_text(l->py_code, 4, c->name ? c->name : c->qualname, -1, SQLITE_STATIC);
            sqlite3_bind_text(l->py_code, 5, c->filename ? c->filename : "", -1, SQLITE_STATIC);
            sqlite3_bind_int(l->py_code, 6, c->first_line);
            if (done(l->py_code))
                return -1;
        }
        sqlite3_bind_int(l->py_frame, 1, p->pid);
        sqlite3_bind_int64(l->py_frame, 2, raw);
        sqlite3_bind_int(l->py_frame, 3, (int)k);
        if (c)
            sqlite3_bind_int64(l->py_frame, 4, l->py_codes);
        else
            sqlite3_bind_null(l->py_frame, 4);
        sqlite3_bind_int64(l->py_frame, 5, f->offset);
        if (f->line >= 0)
            sqlite3_bind_int(l->py_frame, 6, f->line);
        else
            sqlite3_bind_null(l->py_frame, 6);
        if (done(l->py_frame))
            return -1;
    }
    return 0;
}

int tdb_live_rows_py_event(struct tdb_live *l, const struct trace_process *p, const struct tdb_live_names *names,
                           const struct live_lane *ln, int64_t t, unsigned kind, uint32_t raw)
{
    if (raw >= l->cap_py_stored) {
        size_t cap = l->cap_py_stored ? l->cap_py_stored : 256;
        while (cap <= raw)
            cap *= 2;
        uint8_t *more = realloc(l->py_stored, cap);
        if (!more)
            return -1;
        memset(more + l->cap_py_stored, 0, cap - l->cap_py_stored);
        l->py_stored = more;
        l->cap_py_stored = cap;
    }
    if (!l->py_stored[raw]) {
        const struct trace_py_stack *s = names && names->py_stack ? names->py_stack(names->ctx, raw) : NULL;
        if (!s)
            return 0; /* a stack the ring no longer names: the event goes without */
        if (store_py_stack(l, p, s, raw))
            return -1;
        l->py_stored[raw] = 1;
    }
    sqlite3_bind_int(l->py_event, 1, p->pid);
    sqlite3_bind_int64(l->py_event, 2, ln->tid);
    sqlite3_bind_int(l->py_event, 3, (int)ln->gil);
    sqlite3_bind_int64(l->py_event, 4, t);
    sqlite3_bind_int(l->py_event, 5, (int)kind);
    sqlite3_bind_int64(l->py_event, 6, raw);
    return done(l->py_event);
}

int tdb_live_rows_end(struct tdb_live *l, const struct trace_process *p, const struct tdb_live_names *names, char *err,
                      size_t n)
{
    int r = 0;
    int32_t pid = p->pid;
    for (size_t i = 0; i < l->nthreads && r == 0; i++) {
        const struct live_thread *t = &l->threads[i];
        sqlite3_stmt *st = l->upsert_thread;
        sqlite3_bind_int(st, 1, pid);
        sqlite3_bind_int64(st, 2, t->tid);
        bind_text_or_null(st, 3, names && names->thread ? names->thread(names->ctx, t->tid) : NULL);
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
