/*
 * tdb_view.c — a trace opened for drawing. See tdb_view.h.
 *
 * A window's pixels come from the summary level whose buckets are at most
 * a pixel wide: each pixel adds up the 1-3 buckets it overlaps (a bucket
 * cut by a pixel edge is shared: exactly before its first and after its
 * last event, in proportion between) and the constant stretches between
 * stored buckets. When even the base level is too coarse
 * for the pixel width, the lane's raw events in the window are read and
 * replayed exactly. Decoded summary chunks stay in an LRU cache, so panning
 * and redrawing touch the database only at the window's new edges.
 */
#include "tdb_view.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ring.h"
#include "search.h"
#include "tdb_pystacks.h"
#include "tdb_read.h"
#include "tdb_schema.h"

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

static void set_err(struct tdb_view *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_err(struct tdb_view *v, const char *fmt, ...)
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

static sqlite3_stmt *prep(struct tdb_view *v, const char *fmt)
{
    char *sql = sqlite3_mprintf(fmt, v->schema, v->schema);
    sqlite3_stmt *st = NULL;
    if (!sql || sqlite3_prepare_v3(v->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
        set_err(v, "cannot read the trace: %s", sqlite3_errmsg(v->db));
        st = NULL;
    }
    sqlite3_free(sql);
    return st;
}

/* ------------------------------------------------------------- chunk cache */

static size_t hash_key(size_t lane, int level, int64_t chunk)
{
    uint64_t h = (uint64_t)chunk * 0x9e3779b97f4a7c15ull ^ (uint64_t)lane * 0xc2b2ae3d27d4eb4full ^
                 (uint64_t)level * 0x165667b19e3779f9ull;
    return (size_t)(h >> 40) % HASH_SIZE;
}

static void lru_unlink(struct tdb_view *v, struct chunk_entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        v->lru_head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        v->lru_tail = e->prev;
    e->prev = e->next = NULL;
}

static void lru_push(struct tdb_view *v, struct chunk_entry *e)
{
    e->prev = NULL;
    e->next = v->lru_head;
    if (v->lru_head)
        v->lru_head->prev = e;
    v->lru_head = e;
    if (!v->lru_tail)
        v->lru_tail = e;
}

static void evict(struct tdb_view *v, struct chunk_entry *e)
{
    lru_unlink(v, e);
    struct chunk_entry **pp = &v->htab[hash_key(e->lane, e->level, e->chunk)];
    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    v->cache_bytes -= e->bytes;
    free(e->b);
    free(e->ev_t);
    free(e->ev_kc);
    free(e);
}

static void cache_clear(struct tdb_view *v)
{
    while (v->lru_tail)
        evict(v, v->lru_tail);
}

static void cache_insert(struct tdb_view *v, struct chunk_entry *e, size_t h)
{
    e->hnext = v->htab[h];
    v->htab[h] = e;
    lru_push(v, e);
    v->cache_bytes += e->bytes;
    while (v->cache_bytes > v->cache_limit && v->lru_tail && v->lru_tail != e)
        evict(v, v->lru_tail);
}

/* Read and decode event pack e->chunk of lane e->lane into e and cache it. */
static struct chunk_entry *load_pack(struct tdb_view *v, struct chunk_entry *e, size_t h)
{
    const struct tdb_view_lane *ln = &v->lanes[e->lane];
    sqlite3_stmt *st = v->st_pack;
    sqlite3_bind_int64(st, 1, ln->id);
    sqlite3_bind_int64(st, 2, e->chunk);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        int n = sqlite3_column_int(st, 0);
        const uint8_t *blob = sqlite3_column_blob(st, 1);
        size_t len = (size_t)sqlite3_column_bytes(st, 1);
        e->ev_t = n > 0 ? malloc((size_t)n * sizeof *e->ev_t) : NULL;
        e->ev_kc = n > 0 ? malloc((size_t)n * sizeof *e->ev_kc) : NULL;
        int64_t start = ln->sum.origin + ((e->chunk << TDB_SUMMARY_CHUNK_BITS) << ln->sum.base_level);
        int got = e->ev_t && e->ev_kc ? tdb_summary_decode_events(blob, len, start, e->ev_t, e->ev_kc, n) : -1;
        if (got != n) {
            sqlite3_reset(st);
            set_err(v, "the trace's summaries are damaged (lane %lld events %lld)", (long long)ln->id,
                    (long long)e->chunk);
            free(e->ev_t);
            free(e->ev_kc);
            free(e);
            return NULL;
        }
        e->present = true;
        e->nev = n;
    } else if (rc != SQLITE_DONE) {
        set_err(v, "cannot read the trace's summaries: %s", sqlite3_errmsg(v->db));
        sqlite3_reset(st);
        free(e);
        return NULL;
    }
    sqlite3_reset(st);
    e->bytes = sizeof *e + (size_t)e->nev * (sizeof *e->ev_t + sizeof *e->ev_kc);
    cache_insert(v, e, h);
    return e;
}

/* Chunk `chunk` of level `level` of lane index `li`, decoded (level
 * TDB_SUMMARY_EVENTS_LEVEL: an event pack); NULL on a database error.
 * Valid until the next get_chunk. */
static struct chunk_entry *get_chunk(struct tdb_view *v, size_t li, int level, int64_t chunk)
{
    assert(li < v->nlanes); /* lane bounds: checked by the public calls */
    size_t h = hash_key(li, level, chunk);
    for (struct chunk_entry *e = v->htab[h]; e; e = e->hnext)
        if (e->lane == li && e->level == level && e->chunk == chunk) {
            if (v->lru_head != e) {
                lru_unlink(v, e);
                lru_push(v, e);
            }
            return e;
        }
    struct chunk_entry *e = calloc(1, sizeof *e);
    if (!e) {
        set_err(v, "out of memory");
        return NULL;
    }
    e->lane = li;
    e->level = level;
    e->chunk = chunk;
    if (level == TDB_SUMMARY_EVENTS_LEVEL)
        return load_pack(v, e, h);
    sqlite3_stmt *st = v->st_chunk;
    sqlite3_bind_int64(st, 1, v->lanes[li].id);
    sqlite3_bind_int(st, 2, level);
    sqlite3_bind_int64(st, 3, chunk);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && sqlite3_column_int64(st, 0) == chunk) {
        e->present = true;
        e->start_state = (uint8_t)sqlite3_column_int(st, 1);
        e->end_state = (uint8_t)sqlite3_column_int(st, 2);
        int nb = sqlite3_column_int(st, 3);
        const uint8_t *blob = sqlite3_column_blob(st, 4);
        size_t len = (size_t)sqlite3_column_bytes(st, 4);
        e->b = nb > 0 && nb <= TDB_SUMMARY_CHUNK_SLOTS ? malloc((size_t)nb * sizeof *e->b) : NULL;
        int got = e->b ? tdb_summary_decode(blob, len, level, chunk, e->start_state, e->b, nb) : -1;
        if (got != nb) {
            free(e->b);
            free(e);
            sqlite3_reset(st);
            set_err(v, "the trace's summaries are damaged (lane %lld level %d chunk %lld)",
                    (long long)v->lanes[li].id, level, (long long)chunk);
            return NULL;
        }
        e->nb = nb;
    } else if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
        e->present = false;
        e->start_state = e->end_state = rc == SQLITE_ROW ? (uint8_t)sqlite3_column_int(st, 2) : 0;
    } else {
        set_err(v, "cannot read the trace's summaries: %s", sqlite3_errmsg(v->db));
        sqlite3_reset(st);
        free(e);
        return NULL;
    }
    sqlite3_reset(st);
    e->bytes = sizeof *e + (size_t)e->nb * sizeof *e->b;
    cache_insert(v, e, h);
    return e;
}

/* search_first conditions on a chunk: bucket i at or past bucket index
 * `key`; event i at or past time `key`; event i after time `key`. */
struct chunk_key {
    const struct chunk_entry *e;
    int64_t key;
};

static bool bucket_from(const void *ctx, size_t i)
{
    const struct chunk_key *c = ctx;
    return c->e->b[i].idx >= c->key;
}

static bool event_from(const void *ctx, size_t i)
{
    const struct chunk_key *c = ctx;
    return c->e->ev_t[i] >= c->key;
}

static bool event_after(const void *ctx, size_t i)
{
    const struct chunk_key *c = ctx;
    return c->e->ev_t[i] > c->key;
}

/* First bucket of `e` with idx >= bidx. */
static int lower_bound(const struct chunk_entry *e, int64_t bidx)
{
    assert(e->nb >= 0);
    return (int)search_first((size_t)e->nb, bucket_from, &(struct chunk_key){e, bidx});
}

/* ------------------------------------------------------------------ open */

static int load_processes(struct tdb_view *v)
{
    sqlite3_stmt *st = prep(v,
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
        set_err(v, "cannot read the trace's processes: %s", sqlite3_errmsg(v->db));
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
    sqlite3_stmt *st = prep(v,
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
        set_err(v, "cannot read the trace's lanes: %s", sqlite3_errmsg(v->db));
        return -1;
    }
    if (n > 1)
        qsort(tmp, n, sizeof *tmp, by_display_order);
    v->lanes = calloc(n ? n : 1, sizeof *v->lanes);
    if (!v->lanes) {
        free(tmp);
        set_err(v, "out of memory");
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
        set_err(v, "out of memory");
        goto fail;
    }
    if (summary_path) {
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(db, "ATTACH ?1 AS sum", -1, &st, NULL) != SQLITE_OK) {
            set_err(v, "cannot open the trace's summaries: %s", sqlite3_errmsg(db));
            goto fail;
        }
        sqlite3_bind_text(st, 1, summary_path, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE) {
            set_err(v, "cannot open the trace's summaries %s: %s", summary_path, sqlite3_errmsg(db));
            goto fail;
        }
        v->schema = "sum";
    }
    char e2[256];
    int complete = tdb_summary_is_complete(db, v->schema, e2, sizeof e2);
    if (complete != 1) {
        set_err(v, "%s: %s", path, complete < 0 ? e2 : "its viewer summaries are missing or incomplete");
        goto fail;
    }
    v->base_ns = trace_time_clamp(tdb_base_ns(db));
    if (load_processes(v) || load_lanes(v))
        goto fail;
    compute_span(v);
    v->st_chunk = prep(v, "SELECT chunk, start_state, end_state, buckets, data FROM \"%w\".summary_chunk"
                          " WHERE lane = ?1 AND level = ?2 AND chunk <= ?3 ORDER BY chunk DESC LIMIT 1");
    v->st_pack = prep(v, "SELECT events, data FROM \"%w\".summary_events WHERE lane = ?1 AND chunk = ?2");
    v->st_pack_before = prep(v, "SELECT chunk FROM \"%w\".summary_events WHERE lane = ?1 AND chunk < ?2"
                                " ORDER BY chunk DESC LIMIT 1");
    v->st_pack_after = prep(v, "SELECT chunk FROM \"%w\".summary_events WHERE lane = ?1 AND chunk > ?2"
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
        cache_clear(v);
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

/* ---------------------------------------------------------------- columns */

/* The summary level for pixels of width w: buckets at most a pixel wide
 * (a bucket's first and last events are kept, so a lone edge stays sharp);
 * below the lane's base level, -1 (raw events). */
static int level_for(const struct tdb_view_lane *l, double w)
{
    if (!(w > 0))
        return -1;
    int e;
    frexp(w, &e); /* w = m * 2^e, m in [0.5, 1): floor(log2 w) = e - 1 */
    int level = e - 1;
    if (level < l->sum.base_level)
        return -1;
    return level > l->sum.top_level ? l->sum.top_level : level;
}

bool tdb_view_is_raw(const struct tdb_view *v, size_t lane, double w)
{
    return level_for(&v->lanes[lane], w) < 0;
}

static void add_counts(struct tdb_column *c, const struct tdb_bucket *b)
{
    for (int k = 0; k < TDB_N_COUNTS; k++)
        c->n[k] += b->n[k];
    if (b->max_wait_ns > c->max_wait_ns)
        c->max_wait_ns = b->max_wait_ns;
}

/* One state bit's ns of stored bucket b within [x, e): exact before its
 * first event and after its last one (the bucket's start and end states),
 * the rest spread evenly between them; `total` is the bucket's ns in that
 * state. Quantised times can make the edges claim more than the total:
 * then they are scaled down, so a bucket never adds more than it holds. */
static double bucket_share(const struct tdb_bucket *b, unsigned bit, double total, double bs, double bw, double x,
                           double e)
{
    double lo = bs + (double)b->lo, hi = bs + (double)b->hi;
    double before = b->start_state & bit ? (double)b->lo : 0, after = b->end_state & bit ? bw - (double)b->hi : 0;
    double scale = before + after > total && before + after > 0 ? total / (before + after) : 1;
    double middle = total - (before + after) * scale;
    double sum = 0;
    if (before > 0) {
        double e1 = e < lo ? e : lo;
        if (e1 > x)
            sum += (e1 - x) * scale;
    }
    if (after > 0) {
        double a3 = x > hi ? x : hi;
        if (e > a3)
            sum += (e - a3) * scale;
    }
    if (middle > 0 && hi > lo) {
        double a2 = x > lo ? x : lo, e2 = e < hi ? e : hi;
        if (e2 > a2)
            sum += middle * (e2 - a2) / (hi - lo);
    }
    return sum;
}

/* Add the held and waiting ns of stored bucket b (starting at bs) within [x, e). */
static void bucket_part(const struct tdb_bucket *b, double bs, double bw, double x, double e, double *held,
                        double *wait)
{
    if (b->held_ns || (b->start_state | b->end_state) & TDB_STATE_HELD)
        *held += bucket_share(b, TDB_STATE_HELD, (double)b->held_ns, bs, bw, x, e);
    if (b->wait_ns || (b->start_state | b->end_state) & TDB_STATE_WAIT)
        *wait += bucket_share(b, TDB_STATE_WAIT, (double)b->wait_ns, bs, bw, x, e);
}

static int columns_summary(struct tdb_view *v, size_t li, int level, double t0, double w, int n,
                           struct tdb_column *out)
{
    const struct tdb_view_lane *ln = &v->lanes[li];
    double origin = (double)ln->sum.origin;
    double bw = ldexp(1.0, level), inv_bw = ldexp(1.0, -level); /* exact: powers of two */
    int64_t end_idx = (ln->sum.end_t - ln->sum.origin) >> level;
    double idle_from = (double)(end_idx + 1) * bw; /* after the lane's last bucket: idle */
    struct chunk_entry *e = NULL;
    int64_t ec = INT64_MIN;
    int pos = 0;
    for (int i = 0; i < n; i++) {
        struct tdb_column *col = &out[i];
        memset(col, 0, sizeof *col);
        double ps = (t0 + (double)i * w) - origin, pe = (t0 + (double)(i + 1) * w) - origin;
        double held = 0, wait = 0, pe_all = pe;
        double x = ps < 0 ? 0 : ps;
        if (pe > idle_from)
            pe = idle_from;
        while (x < pe) {
            int64_t bidx = (int64_t)floor(x * inv_bw);
            int64_t c = bidx >> TDB_SUMMARY_CHUNK_BITS;
            if (c != ec) {
                e = get_chunk(v, li, level, c);
                if (!e)
                    return -1;
                ec = c;
                pos = lower_bound(e, bidx);
            } else {
                while (pos < e->nb && e->b[pos].idx < bidx)
                    pos++;
            }
            double seg_end;
            if (pos < e->nb && e->b[pos].idx == bidx) {
                const struct tdb_bucket *b = &e->b[pos];
                double bs = (double)bidx * bw;
                seg_end = bs + bw < pe ? bs + bw : pe;
                if (x == bs && seg_end == bs + bw) { /* the whole bucket: most of them */
                    held += (double)b->held_ns;
                    wait += (double)b->wait_ns;
                } else {
                    bucket_part(b, bs, bw, x, seg_end, &held, &wait);
                }
                double first = bs + (double)b->lo;
                if (first >= ps && first < pe_all)
                    add_counts(col, b);
            } else {
                unsigned st = pos > 0 ? e->b[pos - 1].end_state : e->start_state;
                double gap_end = pos < e->nb ? (double)e->b[pos].idx * bw
                                             : (double)((c + 1) * TDB_SUMMARY_CHUNK_SLOTS) * bw;
                seg_end = gap_end < pe ? gap_end : pe;
                if (st & TDB_STATE_HELD)
                    held += seg_end - x;
                if (st & TDB_STATE_WAIT)
                    wait += seg_end - x;
            }
            x = seg_end;
        }
        col->held = (float)(held / w);
        col->wait = (float)(wait / w);
    }
    return 0;
}

/* The lane's state at the start of ns `a` (before its events) and where to
 * start reading events to replay up to `a`. */
static int state_at(struct tdb_view *v, size_t li, int64_t a, unsigned *state, int64_t *from)
{
    assert(li < v->nlanes);
    const struct tdb_view_lane *ln = &v->lanes[li];
    *from = a;
    *state = 0;
    if (a < ln->sum.first_t || a > ln->sum.end_t)
        return 0;
    int level = ln->sum.base_level;
    int64_t bidx = (a - ln->sum.origin) >> level;
    struct chunk_entry *e = get_chunk(v, li, level, bidx >> TDB_SUMMARY_CHUNK_BITS);
    if (!e)
        return -1;
    int pos = lower_bound(e, bidx);
    if (pos < e->nb && e->b[pos].idx == bidx) {
        *state = e->b[pos].start_state;
        *from = ln->sum.origin + (bidx << level);
    } else {
        *state = pos > 0 ? e->b[pos - 1].end_state : e->start_state;
    }
    return 0;
}

/* Read the lane's events in [from, to) into v->ev, in (t, kc) order, from
 * its event packs. */
static int read_events(struct tdb_view *v, size_t li, int64_t from, int64_t to)
{
    assert(li < v->nlanes);
    const struct tdb_view_lane *ln = &v->lanes[li];
    v->nev = 0;
    if (from < ln->sum.first_t)
        from = ln->sum.first_t;
    if (to > ln->sum.last_t + 1)
        to = ln->sum.last_t + 1;
    if (to <= from)
        return 0;
    int base = ln->sum.base_level;
    int64_t c0 = ((from - ln->sum.origin) >> base) >> TDB_SUMMARY_CHUNK_BITS;
    int64_t c1 = ((to - 1 - ln->sum.origin) >> base) >> TDB_SUMMARY_CHUNK_BITS;
    for (int64_t c = c0; c <= c1; c++) {
        struct chunk_entry *e = get_chunk(v, li, TDB_SUMMARY_EVENTS_LEVEL, c);
        if (!e)
            return -1;
        assert(e->nev >= 0);
        int lo = (int)search_first((size_t)e->nev, event_from, &(struct chunk_key){e, from});
        int end = lo;
        while (end < e->nev && e->ev_t[end] < to)
            end++;
        size_t need = v->nev + (size_t)(end - lo);
        if (need > v->ev_cap) {
            size_t cap = v->ev_cap ? v->ev_cap : 4096;
            while (cap < need)
                cap *= 2;
            struct raw_event *p = realloc(v->ev, cap * sizeof *p);
            if (!p) {
                set_err(v, "out of memory");
                return -1;
            }
            v->ev = p;
            v->ev_cap = cap;
        }
        for (int k = lo; k < end; k++) {
            assert(k == lo || e->ev_t[k] >= e->ev_t[k - 1]); /* a pack decodes in time order: the replay relies on it */
            v->ev[v->nev].t = e->ev_t[k];
            v->ev[v->nev].kc = e->ev_kc[k];
            v->nev++;
        }
    }
    return 0;
}

/* The next pack of lane li before (dir < 0) or after chunk c that exists;
 * -1 if none (or on error). */
static int64_t neighbour_pack(struct tdb_view *v, size_t li, int64_t c, int dir)
{
    sqlite3_stmt *st = dir < 0 ? v->st_pack_before : v->st_pack_after;
    sqlite3_bind_int64(st, 1, v->lanes[li].id);
    sqlite3_bind_int64(st, 2, c);
    int64_t r = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_reset(st);
    return r;
}

/* t of the lane's last event of kind k1 or k2 at or before `t` (`after`
 * false), or of its first one after `t`; `fallback` if none. Walks the
 * lane's event packs from the one holding t. */
static int64_t find_event(struct tdb_view *v, size_t li, int64_t t, bool after, unsigned k1, unsigned k2,
                          int64_t fallback)
{
    const struct tdb_view_lane *ln = &v->lanes[li];
    int base = ln->sum.base_level;
    int64_t x = t < ln->sum.origin ? 0 : t - ln->sum.origin;
    int64_t c = (x >> base) >> TDB_SUMMARY_CHUNK_BITS;
    for (int guard = 0; c >= 0 && guard < 1000000; guard++) {
        struct chunk_entry *e = get_chunk(v, li, TDB_SUMMARY_EVENTS_LEVEL, c);
        if (!e)
            return fallback;
        int lo = (int)search_first((size_t)e->nev, event_after, &(struct chunk_key){e, t});
        if (after) {
            for (int k = lo; k < e->nev; k++)
                if ((e->ev_kc[k] & 15) == k1 || (e->ev_kc[k] & 15) == k2)
                    return e->ev_t[k];
        } else {
            for (int k = lo - 1; k >= 0; k--)
                if ((e->ev_kc[k] & 15) == k1 || (e->ev_kc[k] & 15) == k2)
                    return e->ev_t[k];
        }
        c = neighbour_pack(v, li, c, after ? 1 : -1);
    }
    return fallback;
}

/* Pixel of time t in a window of n pixels: ps(i) <= t < ps(i+1), clamped. */
static int pixel_of(double t0, double w, int n, double t)
{
    double f = floor((t - t0) / w);
    int i = f < 0 ? 0 : f >= n ? n - 1 : (int)f;
    while (i > 0 && t0 + (double)i * w > t)
        i--;
    while (i + 1 < n && t0 + (double)(i + 1) * w <= t)
        i++;
    return i;
}

/* Add a stretch [s, e) in state st to the pixels it covers; `hint` is a
 * pixel at or before the one holding s. */
static void add_segment(double *held, double *wait, double t0, double w, int n, double s, double e, unsigned st,
                        int hint)
{
    if (!st || !(e > s))
        return;
    int i = hint;
    if (t0 + (double)(i + 1) * w <= s)
        i = pixel_of(t0, w, n, s);
    for (; i < n; i++) {
        double ps = t0 + (double)i * w, pe = t0 + (double)(i + 1) * w;
        if (ps >= e)
            break;
        double ov = (e < pe ? e : pe) - (s > ps ? s : ps);
        if (ov > 0) {
            if (st & TDB_STATE_HELD)
                held[i] += ov;
            if (st & TDB_STATE_WAIT)
                wait[i] += ov;
        }
    }
}

static int columns_raw(struct tdb_view *v, size_t li, double t0, double w, int n, struct tdb_column *out)
{
    const struct tdb_view_lane *ln = &v->lanes[li];
    double t1 = t0 + (double)n * w;
    memset(out, 0, (size_t)n * sizeof *out);
    if (v->acc_cap < 2 * (size_t)n) {
        double *p = realloc(v->acc, 2 * (size_t)n * sizeof *p);
        if (!p) {
            set_err(v, "out of memory");
            return -1;
        }
        v->acc = p;
        v->acc_cap = 2 * (size_t)n;
    }
    double *held = v->acc, *wait = v->acc + n;
    memset(v->acc, 0, 2 * (size_t)n * sizeof *v->acc);
    if (t1 <= (double)ln->sum.first_t || t0 > (double)ln->sum.end_t)
        return 0;
    int64_t a = (int64_t)floor(t0);
    unsigned st;
    int64_t from;
    if (state_at(v, li, a, &st, &from))
        return -1;
    int64_t to = (int64_t)ceil(t1);
    if (read_events(v, li, from, to))
        return -1;
    int64_t wait_start = INT64_MIN;
    if (st & TDB_STATE_WAIT)
        wait_start = find_event(v, li, from - 1, false, RING_EV_BUSY, RING_EV_BUSY, INT64_MIN);
    double cur = t0;
    int px = 0; /* pixel of the latest event: events come in time order */
    for (size_t k = 0; k < v->nev; k++) {
        int64_t t = v->ev[k].t;
        unsigned kind = (unsigned)(v->ev[k].kc & 15);
        bool inside = (double)t >= t0;
        if (inside) {
            add_segment(held, wait, t0, w, n, cur, (double)t, st, px);
            cur = (double)t;
            while (px + 1 < n && t0 + (double)(px + 1) * w <= (double)t)
                px++;
        }
        int i = inside ? px : -1;
        if (trace_ends_wait(st, kind)) {
            if (i >= 0 && wait_start != INT64_MIN && t - wait_start > out[i].max_wait_ns)
                out[i].max_wait_ns = t - wait_start;
        }
        if (kind == RING_EV_BUSY)
            wait_start = t;
        if (i >= 0) {
            out[i].n[TDB_N_EVENTS]++;
            int c = tdb_count_of_kind(kind);
            if (c >= 0)
                out[i].n[c]++;
        }
        st = trace_state_next(st, kind);
    }
    double end = (double)ln->sum.end_t;
    if (end >= t0) {
        add_segment(held, wait, t0, w, n, cur, end < t1 ? end : t1, st, px);
        if ((st & TDB_STATE_WAIT) && end < t1 && wait_start != INT64_MIN) {
            int i = pixel_of(t0, w, n, end);
            if (ln->sum.end_t - wait_start > out[i].max_wait_ns)
                out[i].max_wait_ns = ln->sum.end_t - wait_start;
        }
    }
    for (int i = 0; i < n; i++) {
        out[i].held = (float)(held[i] / w);
        out[i].wait = (float)(wait[i] / w);
    }
    return 0;
}

int tdb_view_columns(struct tdb_view *v, size_t lane, double t0, double w, int n, struct tdb_column *out)
{
    if (n <= 0)
        return 0;
    if (lane >= v->nlanes || !(w > 0)) {
        memset(out, 0, (size_t)n * sizeof *out);
        return 0;
    }
    int level = level_for(&v->lanes[lane], w);
    int rc = level < 0 ? columns_raw(v, lane, t0, w, n, out) : columns_summary(v, lane, level, t0, w, n, out);
    if (rc)
        memset(out, 0, (size_t)n * sizeof *out);
    return rc;
}

int tdb_view_stats(struct tdb_view *v, size_t lane, double t0, double t1, struct tdb_range_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!(t1 > t0))
        return 0;
    struct tdb_column *cols = malloc(STATS_COLUMNS * sizeof *cols);
    if (!cols) {
        set_err(v, "out of memory");
        return -1;
    }
    double w = (t1 - t0) / STATS_COLUMNS;
    int rc = tdb_view_columns(v, lane, t0, w, STATS_COLUMNS, cols);
    for (int i = 0; rc == 0 && i < STATS_COLUMNS; i++) {
        out->held_ns += cols[i].held * w;
        out->wait_ns += cols[i].wait * w;
        for (int k = 0; k < TDB_N_COUNTS; k++)
            out->n[k] += cols[i].n[k];
        if (cols[i].max_wait_ns > out->longest_wait_ns)
            out->longest_wait_ns = cols[i].max_wait_ns;
    }
    free(cols);
    return rc;
}

double tdb_view_life_within(struct tdb_view *v, size_t lane, double t0, double t1)
{
    if (lane >= v->nlanes)
        return 0;
    const struct tdb_lane_summary *l = &v->lanes[lane].sum;
    double end = (double)l->last_t;
    struct tdb_range_stats after;
    if (l->end_t > l->last_t && tdb_view_stats(v, lane, (double)l->last_t, (double)l->end_t, &after) == 0 &&
        after.held_ns + after.wait_ns > 0)
        end = (double)l->end_t;
    double lo = fmax(t0, (double)l->first_t), hi = fmin(t1, end);
    return hi > lo ? hi - lo : 0;
}

int tdb_view_probe(struct tdb_view *v, size_t lane, double t, double w, struct tdb_probe *out)
{
    memset(out, 0, sizeof *out);
    if (lane >= v->nlanes || !(w > 0))
        return 0;
    const struct tdb_view_lane *ln = &v->lanes[lane];
    double px = floor(t / w) * w;
    if (tdb_view_columns(v, lane, px, w, 1, &out->col))
        return -1;
    out->raw = tdb_view_is_raw(v, lane, w);
    if (!out->raw)
        return 0;
    int64_t ti = (int64_t)floor(t);
    /* the state after every event at or before ti */
    unsigned st;
    int64_t from;
    if (state_at(v, lane, ti, &st, &from) || read_events(v, lane, from, ti + 1))
        return -1;
    for (size_t k = 0; k < v->nev; k++)
        st = trace_state_next(st, (unsigned)(v->ev[k].kc & 15));
    if (ti >= ln->sum.end_t)
        st = 0;
    out->state = st;
    if (st & TDB_STATE_HELD) {
        out->start_t = find_event(v, lane, ti, false, RING_EV_ACQUIRE, RING_EV_ACQUIRE, ln->sum.first_t);
        out->end_t = find_event(v, lane, ti, true, RING_EV_ACQUIRE, RING_EV_RELEASE, ln->sum.end_t);
    } else if (st & TDB_STATE_WAIT) {
        out->start_t = find_event(v, lane, ti, false, RING_EV_BUSY, RING_EV_BUSY, ln->sum.first_t);
        out->end_t = find_event(v, lane, ti, true, RING_EV_ACQUIRE, RING_EV_BUSY, ln->sum.end_t);
    } else if (ti < ln->sum.first_t) {
        out->start_t = v->span_start;
        out->end_t = ln->sum.first_t;
    } else if (ti >= ln->sum.end_t) {
        out->start_t = ln->sum.end_t;
        out->end_t = v->span_end > ln->sum.end_t ? v->span_end : ln->sum.end_t;
    } else {
        out->start_t = find_event(v, lane, ti, false, RING_EV_RELEASE, RING_EV_RELEASE, ln->sum.first_t);
        out->end_t = find_event(v, lane, ti, true, RING_EV_ACQUIRE, RING_EV_BUSY, ln->sum.end_t);
    }
    double r = PROBE_EVENT_PX * w;
    int64_t lo = (int64_t)floor(t - r), hi = (int64_t)ceil(t + r);
    if (read_events(v, lane, lo, hi + 1))
        return -1;
    int64_t best = INT64_MAX;
    for (size_t k = 0; k < v->nev; k++) {
        int64_t d = v->ev[k].t > ti ? v->ev[k].t - ti : ti - v->ev[k].t;
        if (d < best) {
            best = d;
            out->has_event = true;
            out->event_t = v->ev[k].t;
            out->event_kind = (unsigned)(v->ev[k].kc & 15);
            out->event_cpu = tdb_kc_cpu(v->ev[k].kc);
        }
    }
    return 0;
}

static int by_wait_length(const void *a, const void *b)
{
    const struct tdb_wait_span *x = a, *y = b;
    int64_t dx = x->end_t - x->start_t, dy = y->end_t - y->start_t;
    if (dx != dy)
        return dx > dy ? -1 : 1;
    return x->start_t < y->start_t ? -1 : x->start_t > y->start_t;
}

const struct tdb_wait_span *tdb_view_longest_waits(struct tdb_view *v, size_t *count)
{
    if (!v->waits_loaded) {
        v->waits_loaded = true;
        sqlite3_stmt *st = prep(v, "SELECT lane, start_t, end_t, retries, timeouts FROM \"%w\".summary_wait");
        while (st && sqlite3_step(st) == SQLITE_ROW) {
            int64_t id = sqlite3_column_int64(st, 0);
            size_t li = SIZE_MAX;
            for (size_t i = 0; i < v->nlanes; i++)
                if (v->lanes[i].id == id)
                    li = i;
            if (li == SIZE_MAX)
                continue;
            struct tdb_wait_span *p = realloc(v->waits, (v->nwaits + 1) * sizeof *p);
            if (!p)
                break;
            v->waits = p;
            v->waits[v->nwaits++] = (struct tdb_wait_span){(int64_t)li, sqlite3_column_int64(st, 1),
                                                           sqlite3_column_int64(st, 2),
                                                           (uint32_t)sqlite3_column_int64(st, 3),
                                                           (uint32_t)sqlite3_column_int64(st, 4)};
        }
        sqlite3_finalize(st);
        if (v->nwaits)
            qsort(v->waits, v->nwaits, sizeof *v->waits, by_wait_length);
    }
    *count = v->nwaits;
    return v->waits;
}

bool tdb_view_py_site(struct tdb_view *v, size_t lane, int64_t t, char *buf, size_t cap)
{
    if (cap)
        buf[0] = '\0';
    if (lane >= v->nlanes)
        return false;
    const struct tdb_view_lane *l = &v->lanes[lane];
    return tdb_pystacks_site(v->db, l->pid, l->tid, l->gil, t, buf, cap);
}
