/*
 * tdb_write.c — writing trace databases: the file, schema, meta, processes,
 * GILs, stacks and threads; a thread's events are in tdb_write_events.c.
 * See tdb_write.h.
 */
#include "tdb_write.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fmt_error.h"
#include "tdb_pystacks.h"
#include "tdb_schema.h"
#include "tdb_write_impl.h"
#include "tdb_write_intervals.h"
#include "trace_intervals.h"

#ifndef GILTRACE_VERSION
#define GILTRACE_VERSION "unknown"
#endif

int tdb_write_sql_fail(struct tdb_writer *w, char *err, size_t n, const char *what)
{
    return fmt_error(err, n, "%s: %s", what, sqlite3_errmsg(w->db));
}

static int exec(struct tdb_writer *w, const char *sql, char *err, size_t n)
{
    char *msg = NULL;
    if (sqlite3_exec(w->db, sql, NULL, NULL, &msg) == SQLITE_OK)
        return 0;
    fmt_error(err, n, "%s", msg ? msg : sqlite3_errmsg(w->db));
    sqlite3_free(msg);
    return -1;
}

/* The single integer a statement returns, or `fallback`. */
static int64_t query_int(sqlite3 *db, const char *sql, int64_t fallback)
{
    sqlite3_stmt *st;
    int64_t v = fallback;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return fallback;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

int tdb_writer_set_meta(struct tdb_writer *w, const char *key, const char *value, char *err, size_t n)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(w->db, "INSERT OR REPLACE INTO meta VALUES (?, ?)", -1, &st, NULL) != SQLITE_OK)
        return tdb_write_sql_fail(w, err, n, "cannot set trace metadata");
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : tdb_write_sql_fail(w, err, n, "cannot set trace metadata");
}

static int set_meta_int(struct tdb_writer *w, const char *key, int64_t v, char *err, size_t n)
{
    char text[32];
    snprintf(text, sizeof text, "%lld", (long long)v);
    return tdb_writer_set_meta(w, key, text, err, n);
}

/* CLOCK_REALTIME - CLOCK_MONOTONIC now, in ns: what turns the trace's
 * times into wall-clock times (exact unless the clock was stepped since). */
static int64_t unix_minus_monotonic_ns(void)
{
    struct timespec mono, real;
    clock_gettime(CLOCK_MONOTONIC, &mono);
    clock_gettime(CLOCK_REALTIME, &real);
    return ((int64_t)real.tv_sec - (int64_t)mono.tv_sec) * 1000000000 + ((int64_t)real.tv_nsec - (int64_t)mono.tv_nsec);
}

static int create_schema(struct tdb_writer *w, char *err, size_t n)
{
    if (exec(w, tdb_schema_sql, err, n))
        return -1;
    if (set_meta_int(w, "schema_version", TDB_SCHEMA_VERSION, err, n) ||
        tdb_writer_set_meta(w, "giltrace_version", GILTRACE_VERSION, err, n) ||
        tdb_writer_set_meta(w, "clock", "CLOCK_MONOTONIC", err, n) ||
        set_meta_int(w, "created_unix", (int64_t)time(NULL), err, n) ||
        set_meta_int(w, "unix_minus_monotonic_ns", unix_minus_monotonic_ns(), err, n))
        return -1;
    return 0;
}

/* An existing database we may append to: ours, and of our schema version. */
static int check_existing(struct tdb_writer *w, const char *path, char *err, size_t n)
{
    if (query_int(w->db, "PRAGMA application_id", 0) != TDB_APPLICATION_ID)
        return fmt_error(err, n, "%s exists and is not a giltrace trace; not touching it", path);
    int64_t v = query_int(w->db, "SELECT value FROM meta WHERE key = 'schema_version'", -1);
    if (v != TDB_SCHEMA_VERSION)
        return fmt_error(err, n, "%s has trace schema version %lld; this giltrace writes version %d", path,
                    (long long)v, TDB_SCHEMA_VERSION);
    int64_t base = query_int(w->db, "SELECT value FROM meta WHERE key = 'base_ns'", INT64_MIN);
    if (base != INT64_MIN) {
        w->base_ns = base;
        w->have_base = 1;
    }
    return 0;
}

/* "INSERT INTO event VALUES (?,...)[,(?,...)]..." for `rows` rows. */
static void insert_sql(char *buf, size_t cap, int rows)
{
    size_t len = (size_t)snprintf(buf, cap, "INSERT INTO event VALUES ");
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < ROW_COLUMNS; c++)
            len += (size_t)snprintf(buf + len, cap - len, "%s%s%s", c ? "," : r ? ",(" : "(", "?",
                                    c == ROW_COLUMNS - 1 ? ")" : "");
}

static int prepare_all(struct tdb_writer *w, char *err, size_t n)
{
    char one[256], batch[BATCH * ROW_COLUMNS * 3 + 64];
    insert_sql(one, sizeof one, 1);
    insert_sql(batch, sizeof batch, BATCH);
    if (sqlite3_prepare_v3(w->db, one, -1, SQLITE_PREPARE_PERSISTENT, &w->insert_event, NULL) != SQLITE_OK ||
        sqlite3_prepare_v3(w->db, batch, -1, SQLITE_PREPARE_PERSISTENT, &w->insert_event_batch, NULL) !=
            SQLITE_OK ||
        sqlite3_prepare_v3(w->db, "INSERT OR IGNORE INTO lane(pid, tid, gil) VALUES (?, ?, ?)", -1,
                           SQLITE_PREPARE_PERSISTENT, &w->insert_lane, NULL) != SQLITE_OK ||
        sqlite3_prepare_v3(w->db, "SELECT id FROM lane WHERE pid = ? AND tid = ? AND gil = ?", -1,
                           SQLITE_PREPARE_PERSISTENT, &w->select_lane, NULL) != SQLITE_OK)
        return tdb_write_sql_fail(w, err, n, "cannot prepare the trace database");
    return 0;
}

static void finalize_all(struct tdb_writer *w)
{
    sqlite3_finalize(w->insert_event);
    sqlite3_finalize(w->insert_event_batch);
    sqlite3_finalize(w->insert_lane);
    sqlite3_finalize(w->select_lane);
}

int tdb_writer_open(const char *path, enum tdb_open_mode mode, struct tdb_writer **out, char *err, size_t n)
{
    *out = NULL;
    struct tdb_writer *w = calloc(1, sizeof *w);
    if (!w)
        return fmt_error(err, n, "out of memory");
    if (sqlite3_open_v2(path, &w->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        fmt_error(err, n, "cannot open %s: %s", path, w->db ? sqlite3_errmsg(w->db) : "out of memory");
        goto fail_open;
    }
    sqlite3_extended_result_codes(w->db, 1);
    if (mode == TDB_CREATE) {
        if (exec(w, "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA locking_mode = EXCLUSIVE;"
                    "PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY; BEGIN;", err, n))
            goto fail_open;
        if (query_int(w->db, "SELECT count(*) FROM sqlite_schema", -1) != 0) {
            fmt_error(err, n, "%s is not empty; a new trace needs an empty file", path);
            goto fail_open;
        }
        if (create_schema(w, err, n))
            goto fail_open;
    } else {
        sqlite3_busy_timeout(w->db, 30000);
        if (exec(w, "PRAGMA cache_size = -65536; BEGIN IMMEDIATE;", err, n))
            goto fail_open;
        int64_t objects = query_int(w->db, "SELECT count(*) FROM sqlite_schema", -1);
        if (objects < 0) {
            fmt_error(err, n, "%s is not an SQLite database", path);
            goto fail_open;
        }
        if (objects == 0 ? create_schema(w, err, n) : check_existing(w, path, err, n))
            goto fail_open;
    }
    if (prepare_all(w, err, n))
        goto fail_prepare;
    *out = w;
    return 0;

fail_prepare:
    finalize_all(w);
fail_open:
    sqlite3_close(w->db);
    free(w);
    return -1;
}

void tdb_writer_set_progress(struct tdb_writer *w, tdb_progress_fn fn, void *ctx)
{
    w->progress = fn;
    w->progress_ctx = ctx;
}

/* argv as a JSON array, built by SQLite's own JSON functions. */
static char *json_argv(sqlite3 *db, char *const *argv, size_t argc)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT json_insert(?1, '$[#]', ?2)", -1, &st, NULL) != SQLITE_OK)
        return NULL;
    char *json = strdup("[]");
    for (size_t i = 0; json && i < argc; i++) {
        sqlite3_bind_text(st, 1, json, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, argv[i], -1, SQLITE_STATIC);
        char *next = NULL;
        if (sqlite3_step(st) == SQLITE_ROW)
            next = strdup((const char *)sqlite3_column_text(st, 0));
        sqlite3_reset(st);
        free(json);
        json = next;
    }
    sqlite3_finalize(st);
    return json;
}

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

static int insert_process_row(struct tdb_writer *w, const struct trace_process *p, char *err, size_t n)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(w->db,
                           "INSERT INTO process(pid, ppid, exe, argv, python_version, python_hexversion,"
                           " gil_kind, switch_interval_us, start_ns, end_ns, lost_events, overwritten_events,"
                           " dropped_records, exited, stacks, lost_stacks) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                           -1, &st, NULL) != SQLITE_OK)
        return tdb_write_sql_fail(w, err, n, "cannot store a process");
    char *argv = json_argv(w->db, p->argv, p->argc);
    sqlite3_bind_int(st, 1, p->pid);
    sqlite3_bind_int(st, 2, p->ppid);
    bind_text_or_null(st, 3, p->exe && *p->exe ? p->exe : NULL);
    bind_text_or_null(st, 4, argv);
    bind_text_or_null(st, 5, p->python_version && *p->python_version ? p->python_version : NULL);
    if (p->python_hexversion)
        sqlite3_bind_int64(st, 6, p->python_hexversion);
    sqlite3_bind_int(st, 7, (int)p->gil_kind);
    if (p->switch_interval_us >= 0)
        sqlite3_bind_int64(st, 8, p->switch_interval_us);
    sqlite3_bind_int64(st, 9, p->start_ns);
    sqlite3_bind_int64(st, 10, p->end_ns);
    sqlite3_bind_int64(st, 11, (int64_t)p->lost_events);
    sqlite3_bind_int64(st, 12, (int64_t)p->overwritten_events);
    sqlite3_bind_int64(st, 13, (int64_t)p->dropped_records);
    sqlite3_bind_int(st, 14, p->exited);
    sqlite3_bind_int(st, 15, p->stacks_recorded);
    sqlite3_bind_int64(st, 16, (int64_t)p->lost_stacks);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    free(argv);
    return rc == SQLITE_DONE ? 0 : tdb_write_sql_fail(w, err, n, "cannot store a process");
}

static int insert_gils(struct tdb_writer *w, const struct trace_process *p, char *err, size_t n)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(w->db, "INSERT OR REPLACE INTO gil VALUES (?, ?, ?, ?, ?)", -1, &st, NULL) != SQLITE_OK)
        return tdb_write_sql_fail(w, err, n, "cannot store a GIL");
    int rc = SQLITE_DONE;
    for (size_t i = 0; i < p->gil_count && rc == SQLITE_DONE; i++) {
        const struct trace_gil *g = &p->gils[i];
        sqlite3_bind_int(st, 1, p->pid);
        sqlite3_bind_int(st, 2, (int)g->index);
        sqlite3_bind_int(st, 3, (int)g->kind);
        sqlite3_bind_int64(st, 4, (int64_t)g->address);
        sqlite3_bind_int(st, 5, g->subinterpreter);
        rc = sqlite3_step(st);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : tdb_write_sql_fail(w, err, n, "cannot store a GIL");
}

/* The modules, stacks and frames of a process (giltrace run --stacks). */
static int insert_stacks(struct tdb_writer *w, const struct trace_process *p, char *err, size_t n)
{
    if (p->module_count == 0 && p->stack_count == 0)
        return 0;
    sqlite3_stmt *mod = NULL, *stk = NULL, *frm = NULL;
    int rc = SQLITE_DONE;
    if (sqlite3_prepare_v2(w->db, "INSERT OR REPLACE INTO stack_module VALUES (?, ?, ?, ?, ?, ?, ?)", -1, &mod, NULL) ||
        sqlite3_prepare_v2(w->db, "INSERT OR REPLACE INTO stack VALUES (?, ?, ?, ?)", -1, &stk, NULL) ||
        sqlite3_prepare_v2(w->db, "INSERT OR REPLACE INTO stack_frame VALUES (?, ?, ?, ?, ?, ?, ?)", -1, &frm, NULL))
        rc = SQLITE_ERROR;
    for (size_t i = 0; i < p->module_count && rc == SQLITE_DONE; i++) {
        const struct trace_module *m = &p->modules[i];
        sqlite3_bind_int(mod, 1, p->pid);
        sqlite3_bind_int64(mod, 2, w->module_base + (int64_t)i);
        bind_text_or_null(mod, 3, m->path);
        sqlite3_bind_int64(mod, 4, (int64_t)m->bias);
        sqlite3_bind_int64(mod, 5, (int64_t)m->lo);
        sqlite3_bind_int64(mod, 6, (int64_t)m->hi);
        bind_text_or_null(mod, 7, m->build_id);
        rc = sqlite3_step(mod);
        sqlite3_reset(mod);
    }
    for (size_t i = 0; i < p->stack_count && rc == SQLITE_DONE; i++) {
        const struct trace_stack *s = &p->stacks[i];
        sqlite3_bind_int(stk, 1, p->pid);
        sqlite3_bind_int64(stk, 2, w->stack_base + (int64_t)i + 1);
        sqlite3_bind_int(stk, 3, (int)s->depth);
        sqlite3_bind_int(stk, 4, s->truncated);
        rc = sqlite3_step(stk);
        sqlite3_reset(stk);
        for (uint32_t k = 0; k < s->depth && rc == SQLITE_DONE; k++) {
            const struct trace_frame *f = &s->frames[k];
            sqlite3_bind_int(frm, 1, p->pid);
            sqlite3_bind_int64(frm, 2, w->stack_base + (int64_t)i + 1);
            sqlite3_bind_int(frm, 3, (int)k);
            sqlite3_bind_int64(frm, 4, (int64_t)f->address);
            if (f->module >= 0)
                sqlite3_bind_int64(frm, 5, w->module_base + f->module);
            else
                sqlite3_bind_null(frm, 5);
            bind_text_or_null(frm, 6, f->symbol);
            if (f->symbol)
                sqlite3_bind_int64(frm, 7, (int64_t)f->symbol_offset);
            else
                sqlite3_bind_null(frm, 7);
            rc = sqlite3_step(frm);
            sqlite3_reset(frm);
        }
    }
    sqlite3_finalize(mod);
    sqlite3_finalize(stk);
    sqlite3_finalize(frm);
    return rc == SQLITE_DONE ? 0 : tdb_write_sql_fail(w, err, n, "cannot store the stacks");
}

static int insert_thread_row(struct tdb_writer *w, int32_t pid, const struct trace_thread *t, char *err, size_t n)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(w->db,
                           "INSERT INTO thread(pid, tid, name, first_ns, last_ns) VALUES (?, ?, ?, ?, ?) ON CONFLICT(pid, tid) DO UPDATE SET"
                           " name = coalesce(excluded.name, name), first_ns = min(first_ns, excluded.first_ns),"
                           " last_ns = max(last_ns, excluded.last_ns)",
                           -1, &st, NULL) != SQLITE_OK)
        return tdb_write_sql_fail(w, err, n, "cannot store a thread");
    sqlite3_bind_int(st, 1, pid);
    sqlite3_bind_int64(st, 2, t->tid);
    bind_text_or_null(st, 3, t->name);
    sqlite3_bind_int64(st, 4, t->events[0].ts_ns);
    sqlite3_bind_int64(st, 5, t->events[t->count - 1].ts_ns);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : tdb_write_sql_fail(w, err, n, "cannot store a thread");
}

/* The process's threads and their events (times without clashes). */
static int insert_threads(struct tdb_writer *w, const struct trace_process *p, char *err, size_t n)
{
    for (size_t i = 0; i < p->thread_count; i++) {
        const struct trace_thread *t = &p->threads[i];
        if (t->count == 0)
            continue;
        if (insert_thread_row(w, p->pid, t, err, n))
            return -1;
        uint64_t gils_seen[4] = {0}; /* one bit per possible gil number */
        for (size_t k = 0; k < t->count; k++)
            gils_seen[t->events[k].gil / 64] |= 1ull << (t->events[k].gil % 64);
        for (unsigned g = 0; g < 256; g++)
            if (gils_seen[g / 64] >> (g % 64) & 1)
                if (tdb_write_insert_lane_events(w, p, t, g, err, n))
                    return -1;
    }
    return 0;
}

int tdb_writer_add_process(struct tdb_writer *w, const struct trace_process *p, char *err, size_t n)
{
    if (!w->have_base) {
        w->base_ns = p->start_ns;
        w->have_base = 1;
        if (set_meta_int(w, "base_ns", w->base_ns, err, n))
            return -1;
    }
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT max(module) + 1 FROM stack_module WHERE pid = %d", p->pid);
    w->module_base = query_int(w->db, sql, 0);
    snprintf(sql, sizeof sql, "SELECT max(stack) FROM stack WHERE pid = %d", p->pid);
    w->stack_base = query_int(w->db, sql, 0);
    if (insert_process_row(w, p, err, n) || insert_gils(w, p, err, n) || insert_stacks(w, p, err, n) ||
        tdb_pystacks_insert(w->db, w->base_ns, p, err, n))
        return -1;
    struct trace_process copy = *p;
    struct trace_event **fixed;
    const struct trace_process *q = tdb_write_without_clashes(w, p, &copy, &fixed);
    int r = q ? 0 : fmt_error(err, n, "out of memory");
    if (r == 0)
        r = insert_threads(w, q, err, n);
    if (r == 0)
        r = tdb_write_intervals(w->db, q, err, n);
    tdb_write_free_fixed(p, &copy, fixed);
    return r;
}

int tdb_writer_close(struct tdb_writer *w, char *err, size_t n)
{
    int r = 0;
    if (w->adjusted_timestamps)
        r = set_meta_int(w, "adjusted_timestamps", (int64_t)w->adjusted_timestamps, err, n);
    finalize_all(w);
    if (r == 0)
        r = exec(w, tdb_schema_index_sql, err, n);
    if (r == 0)
        r = exec(w, "COMMIT", err, n);
    if (sqlite3_close(w->db) != SQLITE_OK && r == 0)
        r = fmt_error(err, n, "cannot close the trace database: %s", sqlite3_errmsg(w->db));
    free(w);
    return r;
}

void tdb_writer_abort(struct tdb_writer *w)
{
    finalize_all(w);
    sqlite3_exec(w->db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(w->db);
    free(w);
}
