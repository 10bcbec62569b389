/*
 * tdb_view.c — a trace opened for drawing: its processes and lanes, the
 * span, the summaries found or built. See tdb_view.h.
 *
 * A window's pixels come from the summary level whose buckets are at most
 * a pixel wide (tdb_view_columns.c); when even the base level is too coarse
 * for the pixel width, the lane's raw events in the window are read and
 * replayed exactly (tdb_view_raw.c). Decoded summary chunks stay in an LRU
 * cache (tdb_view_cache.c), so panning and redrawing touch the database only
 * at the window's new edges.
 */
#include "tdb_view.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tdb_read.h"
#include "tdb_view_impl.h"

void tdb_view_set_err(struct tdb_view *v, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->err, sizeof v->err, fmt, ap);
    va_end(ap);
}

const char *tdb_view_error(const struct tdb_view *v)
{
    return v->err;
}

/* ------------------------------------------------------------- small utils */

static const char *keep(struct tdb_view *v, const unsigned char *s)
{
    if (!s)
        return NULL;
    char **p = realloc(v->strings, (v->nstrings + 1) * sizeof *p);
    if (!p)
        return NULL;
    v->strings = p;
    char *c = strdup((const char *)s);
    if (c)
        v->strings[v->nstrings++] = c;
    return c;
}

sqlite3_stmt *tdb_view_prep(struct tdb_view *v, const char *fmt)
{
    char *sql = sqlite3_mprintf(fmt, v->schema, v->schema);
    sqlite3_stmt *st = NULL;
    if (!sql || sqlite3_prepare_v3(v->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
        tdb_view_set_err(v, "cannot read the trace: %s", sqlite3_errmsg(v->db));
        st = NULL;
    }
    sqlite3_free(sql);
    return st;
}

/* ------------------------------------------------------------------ open */

static int load_processes(struct tdb_view *v)
{
    sqlite3_stmt *st = tdb_view_prep(v,
                            "SELECT p.pid, p.exe,"
                            " CASE WHEN json_valid(p.argv) THEN (SELECT group_concat(value, ' ')"
                            "   FROM json_each(p.argv)) END,"
                            " p.python_version, coalesce(k.name, 'unknown'), p.switch_interval_us,"
                            " min(p.start_ns), max(p.end_ns), sum(p.lost_events)"
                            " FROM main.process p LEFT JOIN main.gil_kind k ON k.id = p.gil_kind"
                            " GROUP BY p.pid ORDER BY min(p.id)");
    if (!st)
        return -1;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct tdb_view_process *p = realloc(v->procs, (v->nproc + 1) * sizeof *p);
        if (!p) {
            rc = SQLITE_NOMEM;
            break;
        }
        v->procs = p;
        p = &v->procs[v->nproc++];
        memset(p, 0, sizeof *p);
        p->pid = sqlite3_column_int(st, 0);
        p->exe = keep(v, sqlite3_column_text(st, 1));
        p->command = keep(v, sqlite3_column_text(st, 2));
        p->python_version = keep(v, sqlite3_column_text(st, 3));
        p->gil_kind = keep(v, sqlite3_column_text(st, 4));
        p->switch_interval_us = sqlite3_column_type(st, 5) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 5);
        p->start_t = trace_time_clamp(sqlite3_column_int64(st, 6)) - v->base_ns; /* damaged ones are clamped */
        p->end_t = trace_time_clamp(sqlite3_column_int64(st, 7)) - v->base_ns;
        p->lost_events = (uint64_t)sqlite3_column_int64(st, 8);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        tdb_view_set_err(v, "cannot read the trace's processes: %s", sqlite3_errmsg(v->db));
        return -1;
    }
    return 0;
}

static size_t process_index(struct tdb_view *v, int32_t pid)
{
    for (size_t i = 0; i < v->nproc; i++)
        if (v->procs[i].pid == pid)
            return i;
    /* a lane of a process without its row: give it one */
    struct tdb_view_process *p = realloc(v->procs, (v->nproc + 1) * sizeof *p);
    if (!p)
        return SIZE_MAX;
    v->procs = p;
    p = &v->procs[v->nproc];
    memset(p, 0, sizeof *p);
    p->pid = pid;
    p->gil_kind = "unknown";
    p->switch_interval_us = -1;
    p->start_t = INT64_MAX;
    p->end_t = INT64_MIN;
    return v->nproc++;
}

struct lane_sort {
    struct tdb_view_lane lane;
    int64_t first_ns;
};

static int by_display_order(const void *a, const void *b)
{
    const struct lane_sort *x = a, *y = b;
    if (x->lane.process != y->lane.process)
        return x->lane.process < y->lane.process ? -1 : 1;
    if (x->lane.gil != y->lane.gil)
        return x->lane.gil < y->lane.gil ? -1 : 1;
    if (x->first_ns != y->first_ns)
        return x->first_ns < y->first_ns ? -1 : 1;
    return x->lane.tid < y->lane.tid ? -1 : x->lane.tid > y->lane.tid;
}

static int load_lanes(struct tdb_view *v)
{
    sqlite3_stmt *st = tdb_view_prep(v,
                            "SELECT l.id, l.pid, l.tid, l.gil, t.name, coalesce(t.first_ns, 0),"
                            " s.origin, s.base_level, s.top_level, s.last_t, s.end_t, s.events, s.held_ns,"
                            " s.wait_ns, s.acquires, s.retries, s.timeouts, s.drop_requests,"
                            " s.forced_switches, s.toggles, s.longest_wait_ns, s.first_t"
                            " FROM main.lane l JOIN \"%w\".summary_lane s ON s.lane = l.id"
                            " LEFT JOIN main.thread t ON t.pid = l.pid AND t.tid = l.tid");
    if (!st)
        return -1;
    struct lane_sort *tmp = NULL;
    size_t n = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct lane_sort *p = realloc(tmp, (n + 1) * sizeof *p);
        if (!p) {
            rc = SQLITE_NOMEM;
            break;
        }
        tmp = p;
        struct lane_sort *s = &tmp[n++];
        memset(s, 0, sizeof *s);
        struct tdb_view_lane *l = &s->lane;
        l->id = sqlite3_column_int64(st, 0);
        l->pid = sqlite3_column_int(st, 1);
        l->tid = (uint32_t)sqlite3_column_int64(st, 2);
        l->gil = (unsigned)sqlite3_column_int(st, 3);
        l->name = keep(v, sqlite3_column_text(st, 4));
        s->first_ns = sqlite3_column_int64(st, 5);
        l->process = process_index(v, l->pid);
        if (l->process == SIZE_MAX) {
            rc = SQLITE_NOMEM;
            break;
        }
        struct tdb_lane_summary *ls = &l->sum;
        ls->lane = l->id;
        ls->origin = sqlite3_column_int64(st, 6);
        ls->base_level = sqlite3_column_int(st, 7);
        ls->top_level = sqlite3_column_int(st, 8);
        ls->last_t = sqlite3_column_int64(st, 9);
        ls->end_t = sqlite3_column_int64(st, 10);
        ls->total.n[TDB_N_EVENTS] = (uint32_t)sqlite3_column_int64(st, 11);
        ls->total.held_ns = sqlite3_column_int64(st, 12);
        ls->total.wait_ns = sqlite3_column_int64(st, 13);
        for (int k = 0; k < 6; k++)
            ls->total.n[TDB_N_ACQUIRE + k] = (uint32_t)sqlite3_column_int64(st, 14 + k);
        ls->total.max_wait_ns = sqlite3_column_int64(st, 20);
        ls->first_t = sqlite3_column_int64(st, 21);
        v->events += (uint64_t)sqlite3_column_int64(st, 11);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        free(tmp);
        tdb_view_set_err(v, "cannot read the trace's lanes: %s", sqlite3_errmsg(v->db));
        return -1;
    }
    if (n > 1)
        qsort(tmp, n, sizeof *tmp, by_display_order);
    v->lanes = calloc(n ? n : 1, sizeof *v->lanes);
    if (!v->lanes) {
        free(tmp);
        tdb_view_set_err(v, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        v->lanes[i] = tmp[i].lane;
    v->nlanes = n;
    free(tmp);
    for (size_t i = 0; i < v->nproc; i++)
        v->procs[i].first_lane = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        struct tdb_view_process *p = &v->procs[v->lanes[i].process];
        if (p->first_lane == SIZE_MAX)
            p->first_lane = i;
        p->lane_count++;
        if (v->lanes[i].sum.first_t < p->start_t)
            p->start_t = v->lanes[i].sum.first_t;
        if (v->lanes[i].sum.end_t > p->end_t)
            p->end_t = v->lanes[i].sum.end_t;
    }
    for (size_t i = 0; i < v->nproc; i++)
        if (v->procs[i].first_lane == SIZE_MAX)
            v->procs[i].first_lane = n;
    return 0;
}

static void compute_span(struct tdb_view *v)
{
    bool any = false;
    for (size_t i = 0; i < v->nproc; i++) {
        const struct tdb_view_process *p = &v->procs[i];
        if (p->start_t > p->end_t)
            continue;
        if (!any || p->start_t < v->span_start)
            v->span_start = p->start_t;
        if (!any || p->end_t > v->span_end)
            v->span_end = p->end_t;
        any = true;
    }
    if (!any)
        v->span_start = v->span_end = 0;
}

static struct tdb_view *view_init(const char *path, sqlite3 *db, const char *summary_path, bool owns,
                                  const struct tdb_view_options *opt, char *err, size_t n)
{
    struct tdb_view *v = calloc(1, sizeof *v);
    if (!v) {
        snprintf(err, n, "out of memory");
        sqlite3_close(db);
        if (owns && summary_path)
            unlink(summary_path);
        return NULL;
    }
    v->db = db;
    v->owns_summary = owns;
    v->schema = "main";
    v->path = strdup(path);
    v->name = opt && opt->name ? strdup(opt->name) : NULL;
    v->cache_limit = opt && opt->cache_bytes ? opt->cache_bytes : CACHE_DEFAULT_BYTES;
    v->htab = calloc(HASH_SIZE, sizeof *v->htab);
    if (summary_path)
        v->summary_path = strdup(summary_path);
    if (!v->path || !v->htab || (summary_path && !v->summary_path)) {
        tdb_view_set_err(v, "out of memory");
        goto fail;
    }
    if (summary_path) {
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(db, "ATTACH ?1 AS sum", -1, &st, NULL) != SQLITE_OK) {
            tdb_view_set_err(v, "cannot open the trace's summaries: %s", sqlite3_errmsg(db));
            goto fail;
        }
        sqlite3_bind_text(st, 1, summary_path, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE) {
            tdb_view_set_err(v, "cannot open the trace's summaries %s: %s", summary_path, sqlite3_errmsg(db));
            goto fail;
        }
        v->schema = "sum";
    }
    char e2[256];
    int complete = tdb_summary_is_complete(db, v->schema, e2, sizeof e2);
    if (complete != 1) {
        tdb_view_set_err(v, "%s: %s", path, complete < 0 ? e2 : "its viewer summaries are missing or incomplete");
        goto fail;
    }
    v->base_ns = trace_time_clamp(tdb_base_ns(db));
    if (load_processes(v) || load_lanes(v))
        goto fail;
    compute_span(v);
    v->st_chunk = tdb_view_prep(v, "SELECT chunk, start_state, end_state, buckets, data FROM \"%w\".summary_chunk"
                          " WHERE lane = ?1 AND level = ?2 AND chunk <= ?3 ORDER BY chunk DESC LIMIT 1");
    v->st_pack = tdb_view_prep(v, "SELECT events, data FROM \"%w\".summary_events WHERE lane = ?1 AND chunk = ?2");
    v->st_pack_before = tdb_view_prep(v, "SELECT chunk FROM \"%w\".summary_events WHERE lane = ?1 AND chunk < ?2"
                                " ORDER BY chunk DESC LIMIT 1");
    v->st_pack_after = tdb_view_prep(v, "SELECT chunk FROM \"%w\".summary_events WHERE lane = ?1 AND chunk > ?2"
                               " ORDER BY chunk LIMIT 1");
    if (!v->st_chunk || !v->st_pack || !v->st_pack_before || !v->st_pack_after)
        goto fail;
    return v;

fail:
    snprintf(err, n, "%s", v->err);
    tdb_view_close(v);
    return NULL;
}

/* `path` as an SQLite URI that opens it read-only ("file:...?mode=ro");
 * sqlite3_free it. NULL when out of memory. */
static char *uri_of(const char *path)
{
    sqlite3_str *s = sqlite3_str_new(NULL);
    sqlite3_str_appendall(s, path[0] == '/' ? "file://" : "file:"); /* file:///abs, file:rel */
    for (const char *c = path; *c; c++) {
        if (*c == '%' || *c == '?' || *c == '#')
            sqlite3_str_appendf(s, "%%%02X", (unsigned)(unsigned char)*c);
        else
            sqlite3_str_appendchar(s, 1, *c);
    }
    sqlite3_str_appendall(s, "?mode=ro");
    return sqlite3_str_finish(s);
}

/* Build the summaries `path` lacks into a private temporary database (its
 * name into *tmp_out, to attach): the trace itself is never modified. */
static int build_summaries(const char *path, const struct tdb_view_options *opt, char **tmp_out, char *err,
                           size_t n)
{
    *tmp_out = NULL;
    /* the trace is an input: opened read-only (mode=ro), never written; the
     * connection may write only the temporary database attached below */
    char *uri = uri_of(path);
    sqlite3 *rw = NULL;
    if (!uri || sqlite3_open_v2(uri, &rw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, NULL) !=
                    SQLITE_OK) {
        snprintf(err, n, "cannot open %s: %s", path, rw ? sqlite3_errmsg(rw) : "out of memory");
        sqlite3_close(rw);
        sqlite3_free(uri);
        return -1;
    }
    sqlite3_free(uri);
    assert(sqlite3_db_readonly(rw, "main") == 1);
    sqlite3_busy_timeout(rw, 10000);
    sqlite3_exec(rw, "PRAGMA cache_size = -65536", NULL, NULL, NULL);
    tdb_summary_progress_fn progress = opt ? opt->progress : NULL;
    void *pctx = opt ? opt->progress_ctx : NULL;
    /* the summaries go to a private temporary file */
    const char *dir = getenv("TMPDIR");
    char *tmp = sqlite3_mprintf("%s/gilview-summary-XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = tmp ? mkstemp(tmp) : -1;
    if (fd < 0) {
        snprintf(err, n, "cannot build summaries of %s: no temporary file can be made in %s (%s); set TMPDIR",
                 path, dir && *dir ? dir : "/tmp", strerror(errno));
        sqlite3_free(tmp);
        sqlite3_close(rw);
        return -1;
    }
    close(fd);
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(rw, "ATTACH ?1 AS sum", -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, tmp, -1, SQLITE_STATIC);
        rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
        sqlite3_finalize(st);
    }
    if (rc != SQLITE_OK || sqlite3_exec(rw, "PRAGMA sum.journal_mode = OFF", NULL, NULL, NULL) != SQLITE_OK ||
        tdb_summary_build(rw, "sum", progress, pctx, err, n) != 0) {
        if (rc != SQLITE_OK)
            snprintf(err, n, "cannot create temporary summaries: %s", sqlite3_errmsg(rw));
        sqlite3_close(rw);
        unlink(tmp);
        sqlite3_free(tmp);
        return -1;
    }
    sqlite3_close(rw);
    *tmp_out = strdup(tmp);
    sqlite3_free(tmp);
    return *tmp_out ? 0 : -1;
}

struct tdb_view *tdb_view_open(const char *path, const struct tdb_view_options *opt, char *err, size_t n)
{
    sqlite3 *db = tdb_open_read(path, err, n);
    if (!db)
        return NULL;
    int complete = tdb_summary_is_complete(db, "main", err, n);
    if (complete < 0) {
        sqlite3_close(db);
        return NULL;
    }
    if (complete == 1)
        return view_init(path, db, NULL, true, opt, err, n);
    sqlite3_close(db);
    if (opt && opt->no_build) {
        snprintf(err, n, "%s has no viewer summaries", path);
        return NULL;
    }
    char *tmp = NULL;
    if (build_summaries(path, opt, &tmp, err, n))
        return NULL;
    db = tdb_open_read(path, err, n);
    if (!db) {
        if (tmp)
            unlink(tmp);
        free(tmp);
        return NULL;
    }
    struct tdb_view *v = view_init(path, db, tmp, true, opt, err, n);
    free(tmp);
    if (v)
        v->built = true;
    return v;
}

struct tdb_view *tdb_view_reopen(const struct tdb_view *o, char *err, size_t n)
{
    sqlite3 *db = tdb_open_read(o->path, err, n);
    if (!db)
        return NULL;
    struct tdb_view_options opt = {.cache_bytes = o->cache_limit};
    return view_init(o->path, db, o->summary_path, false, &opt, err, n);
}

void tdb_view_close(struct tdb_view *v)
{
    if (!v)
        return;
    if (v->htab)
        tdb_view_cache_clear(v);
    free(v->htab);
    sqlite3_finalize(v->st_chunk);
    sqlite3_finalize(v->st_pack);
    sqlite3_finalize(v->st_pack_before);
    sqlite3_finalize(v->st_pack_after);
    sqlite3_close(v->db);
    if (v->owns_summary && v->summary_path)
        unlink(v->summary_path);
    free(v->summary_path);
    free(v->path);
    free(v->name);
    for (size_t i = 0; i < v->nstrings; i++)
        free(v->strings[i]);
    free(v->strings);
    free(v->procs);
    free(v->lanes);
    free(v->acc);
    free(v->ev);
    free(v->waits);
    free(v);
}

const char *tdb_view_path(const struct tdb_view *v) { return v->path; }

const char *tdb_view_name(const struct tdb_view *v)
{
    const char *slash = strrchr(v->path, '/');
    return v->name ? v->name : slash ? slash + 1 : v->path;
}
int64_t tdb_view_base_ns(const struct tdb_view *v) { return v->base_ns; }
bool tdb_view_built_summaries(const struct tdb_view *v) { return v->built; }
size_t tdb_view_process_count(const struct tdb_view *v) { return v->nproc; }
const struct tdb_view_process *tdb_view_process(const struct tdb_view *v, size_t i) { return &v->procs[i]; }
size_t tdb_view_lane_count(const struct tdb_view *v) { return v->nlanes; }
const struct tdb_view_lane *tdb_view_lane(const struct tdb_view *v, size_t i) { return &v->lanes[i]; }
uint64_t tdb_view_event_count(const struct tdb_view *v) { return v->events; }

void tdb_view_span(const struct tdb_view *v, int64_t *start_t, int64_t *end_t)
{
    *start_t = v->span_start;
    *end_t = v->span_end;
}
