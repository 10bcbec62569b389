/*
 * tdb_read.c — opening trace databases for reading. See tdb_read.h.
 */
#include "tdb_read.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ring.h"
#include "tdb_pystacks.h"
#include "tdb_schema.h"

static int64_t query_int(sqlite3 *db, const char *sql, int64_t fallback, int *ok)
{
    sqlite3_stmt *st;
    int64_t v = fallback;
    *ok = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return fallback;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW || rc == SQLITE_DONE)
        *ok = 1;
    if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

sqlite3 *tdb_open_read(const char *path, char *err, size_t n)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        snprintf(err, n, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, n, "%s is not a regular file", path);
        return NULL;
    }
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        snprintf(err, n, "cannot open %s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return NULL;
    }
    int ok;
    int64_t app = query_int(db, "PRAGMA application_id", 0, &ok);
    if (!ok) {
        /* SQLite's own reason: a damaged trace is not "not a database" */
        if (sqlite3_errcode(db) == SQLITE_NOTADB)
            snprintf(err, n, "%s is not a giltrace trace (not an SQLite database)", path);
        else
            snprintf(err, n, "cannot read %s as a trace: %s", path, sqlite3_errmsg(db));
        goto fail;
    }
    int64_t version = query_int(db, "SELECT value FROM meta WHERE key = 'schema_version'", -1, &ok);
    if (app != TDB_APPLICATION_ID || !ok || version < 1) {
        snprintf(err, n, "%s is not a giltrace trace", path);
        goto fail;
    }
    if (version < TDB_SCHEMA_OLDEST) {
        snprintf(err, n, "%s was written by an older giltrace (trace schema %lld; this one reads %d to %d)", path,
                 (long long)version, TDB_SCHEMA_OLDEST, TDB_SCHEMA_VERSION);
        goto fail;
    }
    if (version > TDB_SCHEMA_VERSION) {
        snprintf(err, n, "%s was written by a newer giltrace (trace schema %lld; this one reads up to %d)",
                 path, (long long)version, TDB_SCHEMA_VERSION);
        goto fail;
    }
    return db;
fail:
    sqlite3_close(db);
    return NULL;
}

int tdb_meta_int(sqlite3 *db, const char *key, int64_t *value)
{
    sqlite3_stmt *st;
    int found = 0;
    if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = ?", -1, &st, NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
        /* the writer stores meta values as text */
        const char *text = (const char *)sqlite3_column_text(st, 0);
        char *end;
        errno = 0;
        long long v = text ? strtoll(text, &end, 10) : 0;
        if (text && *text && *end == '\0' && errno == 0) {
            *value = v;
            found = 1;
        }
    }
    sqlite3_finalize(st);
    return found;
}

int64_t tdb_base_ns(sqlite3 *db)
{
    int ok;
    return query_int(db, "SELECT value FROM meta WHERE key = 'base_ns'", 0, &ok);
}

int tdb_read_lanes(sqlite3 *db, struct tdb_lane **lanes, size_t *count, char *err, size_t n)
{
    *lanes = NULL;
    *count = 0;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT id, pid, tid, gil FROM lane ORDER BY pid, gil, tid", -1, &st, NULL) != SQLITE_OK) {
        snprintf(err, n, "cannot read lanes: %s", sqlite3_errmsg(db));
        return -1;
    }
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*count == cap) {
            cap = cap ? cap * 2 : 16;
            struct tdb_lane *more = realloc(*lanes, cap * sizeof *more);
            if (!more) {
                rc = SQLITE_NOMEM;
                break;
            }
            *lanes = more;
        }
        (*lanes)[(*count)++] = (struct tdb_lane){
            .id = sqlite3_column_int64(st, 0),
            .pid = sqlite3_column_int(st, 1),
            .tid = (uint32_t)sqlite3_column_int64(st, 2),
            .gil = (uint32_t)sqlite3_column_int(st, 3),
        };
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        snprintf(err, n, "cannot read lanes: %s", sqlite3_errstr(rc));
        free(*lanes);
        *lanes = NULL;
        *count = 0;
        return -1;
    }
    return 0;
}

enum tdb_event_layout tdb_event_layout(sqlite3 *db, const char *schema)
{
    sqlite3_stmt *st;
    enum tdb_event_layout l = TDB_LAYOUT_UNKNOWN;
    if (sqlite3_prepare_v2(db, "SELECT name FROM pragma_table_info('event', ?1)", -1, &st, NULL) != SQLITE_OK)
        return l;
    sqlite3_bind_text(st, 1, schema, -1, SQLITE_STATIC);
    int ts = 0, t = 0, kc = 0, k0 = 0, o3 = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *c = (const char *)sqlite3_column_text(st, 0);
        if (!c)
            continue;
        ts |= strcmp(c, "ts") == 0;
        t |= strcmp(c, "t") == 0;
        kc |= strcmp(c, "kc") == 0;
        k0 |= strcmp(c, "k0") == 0;
        o3 |= strcmp(c, "o3") == 0;
    }
    sqlite3_finalize(st);
    return ts && kc ? TDB_LAYOUT_ABS : t && k0 && o3 ? TDB_LAYOUT_FOUR : t && kc ? TDB_LAYOUT_ONE : l;
}

/* Hand one stored event to `fn`: `ts` absolute, `kc` packed. */
static int emit(tdb_event_fn fn, void *ctx, int64_t ts, long long kc, int64_t gil)
{
    int cpu = tdb_kc_cpu(kc);
    struct trace_event e = {
        .ts_ns = ts,
        .kind = (uint8_t)tdb_kc_kind(kc),
        .gil = (uint8_t)gil,
        .cpu = cpu < 0 ? RING_CPU_UNKNOWN : (uint16_t)cpu,
        .stack = tdb_kc_stack(kc),
    };
    return fn(ctx, &e);
}

int tdb_read_lane_events(sqlite3 *db, int64_t lane, int64_t from_ns, int64_t to_ns, tdb_event_fn fn, void *ctx,
                         char *err, size_t n)
{
    enum tdb_event_layout layout = tdb_event_layout(db, "main");
    /* stored times are absolute (ABS) or since base_ns */
    int64_t base = layout == TDB_LAYOUT_ABS ? 0 : tdb_base_ns(db), from, to;
    if (__builtin_sub_overflow(from_ns, base, &from))
        from = from_ns < 0 ? INT64_MIN : INT64_MAX;
    if (__builtin_sub_overflow(to_ns, base, &to))
        to = to_ns < 0 ? INT64_MIN : INT64_MAX;
    int ok;
    char q[64];
    snprintf(q, sizeof q, "SELECT gil FROM lane WHERE id = %lld", (long long)lane);
    int64_t gil = query_int(db, q, -1, &ok);
    if (gil < 0) {
        snprintf(err, n, "the trace has no lane %lld", (long long)lane);
        return -1;
    }
    /* Four a row: rows are keyed by their first event, so start at the
     * last row that begins at or before `from`, as it may hold events
     * after it. */
    const char *sql =
        layout == TDB_LAYOUT_ABS ? "SELECT ts, kc FROM event WHERE lane = ?1 AND ts >= ?2 AND ts < ?3 ORDER BY ts"
        : layout == TDB_LAYOUT_ONE
            ? "SELECT t, kc FROM event WHERE lane = ?1 AND t >= ?2 AND t < ?3 ORDER BY t"
            : "SELECT t, k0, o1, k1, o2, k2, o3, k3 FROM event WHERE lane = ?1 AND t < ?3 AND"
              " t >= coalesce((SELECT max(t) FROM event WHERE lane = ?1 AND t <= ?2), ?2) ORDER BY t";
    int per_row = layout == TDB_LAYOUT_FOUR ? TDB_EVENTS_PER_ROW : 1;
    sqlite3_stmt *st;
    if (layout == TDB_LAYOUT_UNKNOWN || sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        snprintf(err, n, "cannot read events: %s",
                 layout == TDB_LAYOUT_UNKNOWN ? "the event table has a layout this giltrace does not know"
                                              : sqlite3_errmsg(db));
        return -1;
    }
    sqlite3_bind_int64(st, 1, lane);
    sqlite3_bind_int64(st, 2, from);
    sqlite3_bind_int64(st, 3, to);
    int rc, stop = 0;
    while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t t0 = sqlite3_column_int64(st, 0);
        for (int k = 0; k < per_row && !stop; k++) {
            int kind_col = 2 * k + 1; /* kc or k0, k1, ... ; o1, o2, ... just before */
            if (sqlite3_column_type(st, kind_col) == SQLITE_NULL)
                break;
            int64_t t = t0, ts;
            if (k && __builtin_add_overflow(t0, sqlite3_column_int64(st, kind_col - 1), &t))
                continue; /* a corrupt offset: no such time */
            if (t < from || t >= to || __builtin_add_overflow(t, base, &ts))
                continue;
            stop = emit(fn, ctx, ts, sqlite3_column_int64(st, kind_col), gil);
        }
    }
    sqlite3_finalize(st);
    if (!stop && rc != SQLITE_DONE) {
        snprintf(err, n, "cannot read events: %s", sqlite3_errstr(rc));
        return -1;
    }
    return 0;
}

int tdb_read_images(sqlite3 *db, int64_t **ids, size_t *count, char *err, size_t n)
{
    *ids = NULL;
    *count = 0;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT id FROM process ORDER BY start_ns, id", -1, &st, NULL) != SQLITE_OK) {
        snprintf(err, n, "cannot read processes: %s", sqlite3_errmsg(db));
        return -1;
    }
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*count == cap) {
            cap = cap ? cap * 2 : 8;
            int64_t *more = realloc(*ids, cap * sizeof *more);
            if (!more) {
                rc = SQLITE_NOMEM;
                break;
            }
            *ids = more;
        }
        (*ids)[(*count)++] = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        snprintf(err, n, "cannot read processes: %s", sqlite3_errstr(rc));
        free(*ids);
        *ids = NULL;
        *count = 0;
        return -1;
    }
    return 0;
}

static char *column_dup(sqlite3_stmt *st, int col)
{
    const unsigned char *s = sqlite3_column_text(st, col);
    return s ? strdup((const char *)s) : NULL;
}

/* Process row `id` (one image of its pid): identity and argv. */
static int read_process_row(sqlite3 *db, int64_t id, struct trace_process *p)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT ppid, exe, python_version, python_hexversion, gil_kind, switch_interval_us,"
                           " start_ns, end_ns, exited, lost_events, dropped_records, overwritten_events, pid"
                           " FROM process WHERE id = ?",
                           -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        p->pid = sqlite3_column_int(st, 12);
        p->ppid = sqlite3_column_int(st, 0);
        p->exe = column_dup(st, 1);
        p->python_version = column_dup(st, 2);
        p->python_hexversion = (uint32_t)sqlite3_column_int64(st, 3);
        p->gil_kind = (uint32_t)sqlite3_column_int(st, 4);
        p->switch_interval_us = sqlite3_column_type(st, 5) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 5);
        p->start_ns = trace_time_clamp(sqlite3_column_int64(st, 6)); /* damaged ones are clamped */
        p->end_ns = trace_time_clamp(sqlite3_column_int64(st, 7));
        p->exited = sqlite3_column_int(st, 8) != 0;
        p->lost_events = (uint64_t)sqlite3_column_int64(st, 9);
        p->dropped_records = (uint64_t)sqlite3_column_int64(st, 10);
        p->overwritten_events = (uint64_t)sqlite3_column_int64(st, 11);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW)
        return -1;

    /* argv: the JSON array, element by element. */
    if (sqlite3_prepare_v2(db,
                           "SELECT j.value FROM process p, json_each(p.argv) j WHERE p.id = ? ORDER BY j.key",
                           -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    size_t cap = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (p->argc == cap) {
            cap = cap ? cap * 2 : 8;
            char **more = realloc(p->argv, cap * sizeof *more);
            if (!more)
                break;
            p->argv = more;
        }
        p->argv[p->argc++] = column_dup(st, 0);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

static int read_gils(sqlite3 *db, int32_t pid, struct trace_process *p)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT gil, kind, address, subinterpreter FROM gil WHERE pid = ? ORDER BY gil", -1,
                           &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int(st, 1, pid);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct trace_gil *more = realloc(p->gils, (p->gil_count + 1) * sizeof *more);
        if (!more)
            break;
        p->gils = more;
        p->gils[p->gil_count++] = (struct trace_gil){
            .index = (uint32_t)sqlite3_column_int(st, 0),
            .kind = (uint32_t)sqlite3_column_int(st, 1),
            .address = (uint64_t)sqlite3_column_int64(st, 2),
            .subinterpreter = sqlite3_column_int(st, 3) != 0,
        };
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

struct event_vec {
    struct trace_event *v;
    size_t n, cap;
};

static int append_event(void *ctx, const struct trace_event *e)
{
    struct event_vec *vec = ctx;
    if (vec->n == vec->cap) {
        size_t cap = vec->cap ? vec->cap * 2 : 256;
        struct trace_event *more = realloc(vec->v, cap * sizeof *more);
        if (!more)
            return 1;
        vec->v = more;
        vec->cap = cap;
    }
    vec->v[vec->n++] = *e;
    return 0;
}

static int by_time(const void *a, const void *b)
{
    const struct trace_event *x = a, *y = b;
    return x->ts_ns < y->ts_ns ? -1 : x->ts_ns > y->ts_ns;
}

/* The time range of process row `id`'s events. A pid that exec'd has a row
 * per image and shares its lanes among them: an image owns the events from
 * its start to the next image's start (the first one also those before its
 * start, the last one those after its end). */
struct image_window {
    int64_t from_ns, to_ns;
};

static struct image_window image_window(sqlite3 *db, int64_t id, int64_t start_ns)
{
    struct image_window w = {INT64_MIN / 2, INT64_MAX / 2};
    static const char *const sql[2] = {
        "SELECT max(q.start_ns) FROM process p JOIN process q ON q.pid = p.pid AND q.id <> p.id"
        " AND (q.start_ns < p.start_ns OR (q.start_ns = p.start_ns AND q.id < p.id)) WHERE p.id = ?",
        "SELECT min(q.start_ns) FROM process p JOIN process q ON q.pid = p.pid AND q.id <> p.id"
        " AND (q.start_ns > p.start_ns OR (q.start_ns = p.start_ns AND q.id > p.id)) WHERE p.id = ?",
    };
    for (int i = 0; i < 2; i++) {
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(db, sql[i], -1, &st, NULL) != SQLITE_OK)
            continue;
        sqlite3_bind_int64(st, 1, id);
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
            int64_t t = trace_time_clamp(sqlite3_column_int64(st, 0));
            if (i == 0) /* an earlier image exists: this one starts at its own start */
                w.from_ns = start_ns;
            else
                w.to_ns = t;
        }
        sqlite3_finalize(st);
    }
    return w;
}

/* The threads of `p->pid` that have events in `win`, with those events. */
static int read_threads(sqlite3 *db, struct image_window win, struct trace_process *p, char *err, size_t n)
{
    int32_t pid = p->pid;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT tid, name FROM thread WHERE pid = ? ORDER BY tid", -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int(st, 1, pid);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct trace_thread *more = realloc(p->threads, (p->thread_count + 1) * sizeof *more);
        if (!more)
            break;
        p->threads = more;
        struct trace_thread *t = &p->threads[p->thread_count++];
        memset(t, 0, sizeof *t);
        t->tid = (uint32_t)sqlite3_column_int64(st, 0);
        t->name = column_dup(st, 1);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return -1;

    struct tdb_lane *lanes;
    size_t nlanes;
    if (tdb_read_lanes(db, &lanes, &nlanes, err, n))
        return -1;
    bool whole = win.from_ns == INT64_MIN / 2 && win.to_ns == INT64_MAX / 2; /* the pid's only image */
    int r = 0;
    size_t kept = 0;
    for (size_t i = 0; i < p->thread_count; i++) {
        struct event_vec vec = {0};
        for (size_t k = 0; k < nlanes && r == 0; k++)
            if (lanes[k].pid == pid && lanes[k].tid == p->threads[i].tid)
                r = tdb_read_lane_events(db, lanes[k].id, win.from_ns, win.to_ns, append_event, &vec, err, n);
        if (vec.n > 1)
            qsort(vec.v, vec.n, sizeof *vec.v, by_time);
        p->threads[i].events = vec.v;
        p->threads[i].count = vec.n;
        if (r == 0 && !whole && vec.n == 0) { /* a thread of another image of this pid */
            free(vec.v);
            free(p->threads[i].name);
            continue;
        }
        p->threads[kept++] = p->threads[i];
    }
    p->thread_count = kept;
    free(lanes);
    return r;
}

static int has_column(sqlite3 *db, const char *table, const char *column)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT 1 FROM pragma_table_info('%s') WHERE name = '%s'", table, column);
    int ok;
    return query_int(db, sql, 0, &ok) == 1;
}

/* Modules, stacks and frames of `pid`, whether image `id` recorded stacks
 * (traces written with stacks on; none in traces from before stacks existed). */
static int read_stacks(sqlite3 *db, int64_t id, int32_t pid, struct trace_process *p)
{
    if (!has_column(db, "process", "lost_stacks"))
        return 0;
    char sql[256];
    int ok;
    snprintf(sql, sizeof sql, "SELECT stacks FROM process WHERE id = %lld", (long long)id);
    p->stacks_recorded = query_int(db, sql, 0, &ok) != 0;
    snprintf(sql, sizeof sql, "SELECT lost_stacks FROM process WHERE id = %lld", (long long)id);
    p->lost_stacks = (uint64_t)query_int(db, sql, 0, &ok);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM stack_module WHERE pid = %d", pid);
    int64_t nmod = query_int(db, sql, 0, &ok);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM stack WHERE pid = %d", pid);
    int64_t nstack = query_int(db, sql, 0, &ok);
    if (nmod <= 0 && nstack <= 0)
        return 0;
    sqlite3_stmt *st;
    int rc;
    if (nmod > 0) {
        p->modules = calloc((size_t)nmod, sizeof *p->modules);
        if (!p->modules ||
            sqlite3_prepare_v2(db, "SELECT module, path, bias, lo, hi, build_id FROM stack_module WHERE pid = ?"
                                   " ORDER BY module", -1, &st, NULL) != SQLITE_OK)
            return -1;
        sqlite3_bind_int(st, 1, pid);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW && p->module_count < (size_t)nmod) {
            if (sqlite3_column_int64(st, 0) != (int64_t)p->module_count)
                break; /* modules are numbered 0.. in order */
            struct trace_module *m = &p->modules[p->module_count++];
            m->path = column_dup(st, 1);
            m->bias = (uint64_t)sqlite3_column_int64(st, 2);
            m->lo = (uint64_t)sqlite3_column_int64(st, 3);
            m->hi = (uint64_t)sqlite3_column_int64(st, 4);
            m->build_id = column_dup(st, 5);
        }
        sqlite3_finalize(st);
    }
    if (nstack <= 0)
        return 0;
    p->stacks = calloc((size_t)nstack, sizeof *p->stacks);
    uint32_t *declared = calloc((size_t)nstack, sizeof *declared);
    if (!declared) {
        free(p->stacks);
        p->stacks = NULL;
        return -1;
    }
    if (!p->stacks ||
        sqlite3_prepare_v2(db, "SELECT stack, depth, truncated FROM stack WHERE pid = ? ORDER BY stack", -1, &st,
                           NULL) != SQLITE_OK) {
        free(declared);
        return -1;
    }
    sqlite3_bind_int(st, 1, pid);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && p->stack_count < (size_t)nstack) {
        if (sqlite3_column_int64(st, 0) != (int64_t)p->stack_count + 1)
            break; /* stacks are numbered 1.. in order */
        int depth = sqlite3_column_int(st, 1);
        if (depth < 0 || depth > 4096)
            depth = 0;
        declared[p->stack_count] = (uint32_t)depth;
        struct trace_stack *s = &p->stacks[p->stack_count++];
        s->truncated = sqlite3_column_int(st, 2) != 0;
        s->frames = calloc(depth > 0 ? (size_t)depth : 1, sizeof *s->frames);
        if (!s->frames) {
            sqlite3_finalize(st);
            free(declared);
            return -1;
        }
    }
    sqlite3_finalize(st);
    if (sqlite3_prepare_v2(db, "SELECT stack, frame, address, module, symbol, symbol_offset FROM stack_frame"
                               " WHERE pid = ? ORDER BY stack, frame", -1, &st, NULL) != SQLITE_OK) {
        free(declared);
        return -1;
    }
    sqlite3_bind_int(st, 1, pid);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        if (id < 1 || id > (int64_t)p->stack_count)
            continue;
        struct trace_stack *s = &p->stacks[id - 1];
        if (sqlite3_column_int64(st, 1) != (int64_t)s->depth || s->depth >= declared[id - 1])
            continue; /* frames come in order 0, 1, ... */
        struct trace_frame *f = &s->frames[s->depth++];
        f->address = (uint64_t)sqlite3_column_int64(st, 2);
        f->module = sqlite3_column_type(st, 3) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 3);
        if (f->module >= (int32_t)p->module_count)
            f->module = -1;
        f->symbol = column_dup(st, 4);
        f->symbol_offset = (uint64_t)sqlite3_column_int64(st, 5);
    }
    sqlite3_finalize(st);
    free(declared);
    return rc == SQLITE_DONE ? 0 : -1;
}

int tdb_read_image(sqlite3 *db, int64_t id, struct trace_process *out, char *err, size_t n)
{
    memset(out, 0, sizeof *out);
    if (n)
        err[0] = '\0';
    int found = read_process_row(db, id, out);
    int32_t pid = out->pid;
    if (found || read_gils(db, pid, out)) {
        if (found)
            snprintf(err, n, "the trace has no process row %lld", (long long)id);
        else
            snprintf(err, n, "cannot read process %d: %s", pid, sqlite3_errmsg(db));
        trace_process_free(out);
        return -1;
    }
    if (read_stacks(db, id, pid, out)) {
        snprintf(err, n, "cannot read the stacks of process %d: %s", pid, sqlite3_errmsg(db));
        trace_process_free(out);
        return -1;
    }
    if (read_threads(db, image_window(db, id, out->start_ns), out, err, n)) {
        if (!*err)
            snprintf(err, n, "cannot read the threads of process %d: %s", pid, sqlite3_errmsg(db));
        trace_process_free(out);
        return -1;
    }
    if (tdb_pystacks_read(db, out)) {
        snprintf(err, n, "cannot read the Python stacks of process %d: %s", pid, sqlite3_errmsg(db));
        trace_process_free(out);
        return -1;
    }
    return 0;
}

int tdb_read_process(sqlite3 *db, int32_t pid, struct trace_process *out, char *err, size_t n)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(db, "SELECT id FROM process WHERE pid = ? ORDER BY start_ns, id LIMIT 1", -1, &st,
                                NULL);
    int64_t id = 0;
    if (rc == SQLITE_OK) {
        sqlite3_bind_int(st, 1, pid);
        rc = sqlite3_step(st);
        id = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    if (rc != SQLITE_ROW) {
        memset(out, 0, sizeof *out);
        snprintf(err, n, rc == SQLITE_DONE ? "the trace has no process %d" : "cannot read process %d", pid);
        return -1;
    }
    return tdb_read_image(db, id, out, err, n);
}
