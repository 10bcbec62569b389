/*
 * tdb_read_image.c — a process image read back from a trace as written:
 * its identity and argv, GILs, threads with their events in the image's
 * time window, and modules, stacks and frames. See tdb_read.h.
 */
#include "tdb_read.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tdb_pystacks.h"
#include "tdb_read_impl.h"

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
    return tdb_read_query_int(db, sql, 0, &ok) == 1;
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
    p->stacks_recorded = tdb_read_query_int(db, sql, 0, &ok) != 0;
    snprintf(sql, sizeof sql, "SELECT lost_stacks FROM process WHERE id = %lld", (long long)id);
    p->lost_stacks = (uint64_t)tdb_read_query_int(db, sql, 0, &ok);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM stack_module WHERE pid = %d", pid);
    int64_t nmod = tdb_read_query_int(db, sql, 0, &ok);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM stack WHERE pid = %d", pid);
    int64_t nstack = tdb_read_query_int(db, sql, 0, &ok);
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
