/*
 * tdb_pystacks.c — storing Python stacks. See tdb_pystacks.h.
 */
#include "tdb_pystacks.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt_error.h"
#include "ring.h"

#define BASE_NS "(SELECT value FROM meta WHERE key = 'base_ns')"

const char tdb_pystacks_schema_sql[] =
    "CREATE TABLE IF NOT EXISTS py_process(pid INTEGER PRIMARY KEY, recorded INTEGER NOT NULL,\n"
    "  lost_stacks INTEGER NOT NULL);\n"
    "CREATE TABLE IF NOT EXISTS py_code(pid INTEGER NOT NULL, code INTEGER NOT NULL, qualname TEXT NOT NULL,\n"
    "  name TEXT NOT NULL, filename TEXT NOT NULL, first_line INTEGER, PRIMARY KEY(pid, code)) WITHOUT ROWID;\n"
    "CREATE TABLE IF NOT EXISTS py_stack(pid INTEGER NOT NULL, stack INTEGER NOT NULL, depth INTEGER NOT NULL,\n"
    "  truncated INTEGER NOT NULL, PRIMARY KEY(pid, stack)) WITHOUT ROWID;\n"
    "CREATE TABLE IF NOT EXISTS py_stack_frame(pid INTEGER NOT NULL, stack INTEGER NOT NULL,\n"
    "  frame INTEGER NOT NULL, code INTEGER, offset INTEGER NOT NULL, line INTEGER,\n"
    "  PRIMARY KEY(pid, stack, frame)) WITHOUT ROWID;\n"
    "CREATE TABLE IF NOT EXISTS py_event(pid INTEGER NOT NULL, tid INTEGER NOT NULL, gil INTEGER NOT NULL,\n"
    "  t INTEGER NOT NULL, kind INTEGER NOT NULL, stack INTEGER NOT NULL,\n"
    "  PRIMARY KEY(pid, tid, gil, t)) WITHOUT ROWID;\n"
    "CREATE VIEW IF NOT EXISTS py_event_stacks AS\n"
    "  SELECT e.pid, e.tid, e.gil, e.t + " BASE_NS " AS ts_ns, k.name AS kind, e.stack AS py_stack_id\n"
    "  FROM py_event e JOIN event_kind k ON k.id = e.kind;\n"
    "CREATE VIEW IF NOT EXISTS py_stacks AS SELECT pid, stack AS py_stack_id, depth, truncated FROM py_stack;\n"
    "CREATE VIEW IF NOT EXISTS py_frames AS\n"
    "  SELECT f.pid, f.stack AS py_stack_id, f.frame, c.qualname AS function, c.name, c.filename, f.line,\n"
    "         c.first_line, f.offset\n"
    "  FROM py_stack_frame f LEFT JOIN py_code c ON c.pid = f.pid AND c.code = f.code;\n"
    "CREATE VIEW IF NOT EXISTS py_event_sites AS\n"
    "  SELECT e.pid, e.tid, e.gil, e.ts_ns, e.kind, e.py_stack_id, f.function, f.filename, f.line\n"
    "  FROM py_event_stacks e JOIN py_frames f ON f.pid = e.pid AND f.py_stack_id = e.py_stack_id\n"
    "   AND f.frame = 0;\n";

static int fail(sqlite3 *db, char *err, size_t n, const char *what)
{
    return fmt_error(err, n, "%s: %s", what, sqlite3_errmsg(db));
}

static int step(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* The largest id `sql` finds for `pid`, 0 if none. */
static int64_t max_id(sqlite3 *db, const char *sql, int32_t pid)
{
    sqlite3_stmt *st;
    int64_t v = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_int(st, 1, pid);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static int insert_codes(sqlite3_stmt *st, const struct trace_process *p, int64_t code_base)
{
    for (size_t i = 0; i < p->py_code_count; i++) {
        const struct trace_py_code *c = &p->py_codes[i];
        sqlite3_bind_int(st, 1, p->pid);
        sqlite3_bind_int64(st, 2, code_base + (int64_t)i + 1);
        sqlite3_bind_text(st, 3, c->qualname, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, c->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, c->filename, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 6, c->first_line);
        if (step(st))
            return -1;
    }
    return 0;
}

static int insert_stacks(sqlite3_stmt *stk, sqlite3_stmt *frm, const struct trace_process *p, int64_t code_base,
                         int64_t stack_base)
{
    for (size_t i = 0; i < p->py_stack_count; i++) {
        const struct trace_py_stack *s = &p->py_stacks[i];
        sqlite3_bind_int(stk, 1, p->pid);
        sqlite3_bind_int64(stk, 2, stack_base + (int64_t)i + 1);
        sqlite3_bind_int(stk, 3, (int)s->depth);
        sqlite3_bind_int(stk, 4, s->truncated);
        if (step(stk))
            return -1;
        for (uint32_t k = 0; k < s->depth; k++) {
            const struct trace_py_frame *f = &s->frames[k];
            sqlite3_bind_int(frm, 1, p->pid);
            sqlite3_bind_int64(frm, 2, stack_base + (int64_t)i + 1);
            sqlite3_bind_int(frm, 3, (int)k);
            if (f->code)
                sqlite3_bind_int64(frm, 4, code_base + f->code);
            else
                sqlite3_bind_null(frm, 4);
            sqlite3_bind_int64(frm, 5, f->offset);
            if (f->line >= 0)
                sqlite3_bind_int(frm, 6, f->line);
            else
                sqlite3_bind_null(frm, 6);
            if (step(frm))
                return -1;
        }
    }
    return 0;
}

/* The marked events of each thread, at the times the event table has them
 * (tdb_write.c lane_time: ns since base, strictly increasing per lane). */
static int insert_events(sqlite3_stmt *st, int64_t base_ns, const struct trace_process *p, int64_t stack_base)
{
    int64_t *prev = malloc(256 * sizeof *prev);
    if (!prev)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < p->thread_count && rc == 0; i++) {
        const struct trace_thread *t = &p->threads[i];
        if (!t->py_mark_count)
            continue;
        for (unsigned g = 0; g < 256; g++)
            prev[g] = INT64_MIN;
        size_t m = 0;
        for (size_t k = 0; k < t->count && m < t->py_mark_count && rc == 0; k++) {
            const struct trace_event *e = &t->events[k];
            int64_t rel = e->ts_ns - base_ns;
            if (rel <= prev[e->gil])
                rel = prev[e->gil] + 1;
            prev[e->gil] = rel;
            if (t->py_marks[m].event != k)
                continue;
            sqlite3_bind_int(st, 1, p->pid);
            sqlite3_bind_int64(st, 2, t->tid);
            sqlite3_bind_int(st, 3, e->gil);
            sqlite3_bind_int64(st, 4, rel);
            sqlite3_bind_int(st, 5, e->kind);
            sqlite3_bind_int64(st, 6, stack_base + t->py_marks[m].stack);
            rc = step(st);
            m++;
        }
    }
    free(prev);
    return rc;
}

int tdb_pystacks_insert(sqlite3 *db, int64_t base_ns, const struct trace_process *p, char *err, size_t n)
{
    if (sqlite3_exec(db, tdb_pystacks_schema_sql, NULL, NULL, NULL) != SQLITE_OK)
        return fail(db, err, n, "cannot create the Python stack tables");
    sqlite3_stmt *proc = NULL, *code = NULL, *stk = NULL, *frm = NULL, *ev = NULL;
    int rc = -1;
    if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO py_process VALUES (?, ?, ?)", -1, &proc, NULL) ||
        sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO py_code VALUES (?, ?, ?, ?, ?, ?)", -1, &code, NULL) ||
        sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO py_stack VALUES (?, ?, ?, ?)", -1, &stk, NULL) ||
        sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO py_stack_frame VALUES (?, ?, ?, ?, ?, ?)", -1, &frm, NULL) ||
        sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO py_event VALUES (?, ?, ?, ?, ?, ?)", -1, &ev, NULL))
        goto done;
    if (p->py_stacks_recorded) {
        sqlite3_bind_int(proc, 1, p->pid);
        sqlite3_bind_int(proc, 2, 1);
        sqlite3_bind_int64(proc, 3, (int64_t)p->lost_py_stacks);
        if (step(proc))
            goto done;
    }
    /* Ids after those of the pid's earlier images (a process that exec'd). */
    int64_t code_base = max_id(db, "SELECT max(code) FROM py_code WHERE pid = ?", p->pid);
    int64_t stack_base = max_id(db, "SELECT max(stack) FROM py_stack WHERE pid = ?", p->pid);
    if (insert_codes(code, p, code_base) || insert_stacks(stk, frm, p, code_base, stack_base) ||
        insert_events(ev, base_ns, p, stack_base))
        goto done;
    rc = 0;
done:
    if (rc)
        fail(db, err, n, "cannot store the Python stacks");
    sqlite3_finalize(proc);
    sqlite3_finalize(code);
    sqlite3_finalize(stk);
    sqlite3_finalize(frm);
    sqlite3_finalize(ev);
    return rc;
}

static char *column_text(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    return strdup(t ? (const char *)t : "");
}

static int read_codes(sqlite3 *db, struct trace_process *p)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT code, qualname, name, filename, first_line FROM py_code WHERE pid = ? "
                               "ORDER BY code", -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int(st, 1, p->pid);
    int rc, r = 0;
    while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        size_t id = (size_t)sqlite3_column_int64(st, 0);
        if (id == 0 || id > ((size_t)1 << 24))
            continue;
        if (id > p->py_code_count) {
            struct trace_py_code *more = realloc(p->py_codes, id * sizeof *more);
            if (!more) {
                r = -1;
                break;
            }
            memset(more + p->py_code_count, 0, (id - p->py_code_count) * sizeof *more);
            p->py_codes = more;
            p->py_code_count = id;
        }
        struct trace_py_code *c = &p->py_codes[id - 1];
        free(c->qualname);
        free(c->name);
        free(c->filename);
        c->qualname = column_text(st, 1);
        c->name = column_text(st, 2);
        c->filename = column_text(st, 3);
        c->first_line = sqlite3_column_int(st, 4);
        if (!c->qualname || !c->name || !c->filename)
            r = -1;
    }
    sqlite3_finalize(st);
    if (r)
        return r;
    for (size_t i = 0; i < p->py_code_count; i++) /* ids never stored: empty names */
        if (!p->py_codes[i].qualname) {
            p->py_codes[i].qualname = strdup("");
            p->py_codes[i].name = strdup("");
            p->py_codes[i].filename = strdup("");
            if (!p->py_codes[i].qualname || !p->py_codes[i].name || !p->py_codes[i].filename)
                return -1;
        }
    return 0;
}

static int read_py_stacks(sqlite3 *db, struct trace_process *p)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT s.stack, s.depth, s.truncated, f.frame, f.code, f.offset, f.line "
                               "FROM py_stack s JOIN py_stack_frame f ON f.pid = s.pid AND f.stack = s.stack "
                               "WHERE s.pid = ? ORDER BY s.stack, f.frame", -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int(st, 1, p->pid);
    int rc, r = 0;
    while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        size_t id = (size_t)sqlite3_column_int64(st, 0);
        uint32_t depth = (uint32_t)sqlite3_column_int(st, 1), frame = (uint32_t)sqlite3_column_int(st, 3);
        if (id == 0 || id > ((size_t)1 << 24) || depth == 0 || depth > RING_STACK_MAX_DEPTH || frame >= depth)
            continue;
        if (id > p->py_stack_count) {
            struct trace_py_stack *more = realloc(p->py_stacks, id * sizeof *more);
            if (!more) {
                r = -1;
                break;
            }
            memset(more + p->py_stack_count, 0, (id - p->py_stack_count) * sizeof *more);
            p->py_stacks = more;
            p->py_stack_count = id;
        }
        struct trace_py_stack *s = &p->py_stacks[id - 1];
        if (!s->frames) {
            s->frames = calloc(depth, sizeof *s->frames);
            if (!s->frames) {
                r = -1;
                break;
            }
            s->depth = depth;
            s->truncated = sqlite3_column_int(st, 2) != 0;
        }
        if (frame >= s->depth)
            continue;
        int64_t code = sqlite3_column_int64(st, 4);
        s->frames[frame] = (struct trace_py_frame){
            .code = code > 0 && (size_t)code <= p->py_code_count ? (uint32_t)code : 0,
            .offset = (uint32_t)sqlite3_column_int64(st, 5),
            .line = sqlite3_column_type(st, 6) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 6),
        };
    }
    sqlite3_finalize(st);
    return r;
}

/* Mark each thread's events that have a Python stack: rows of py_event
 * match events by GIL and time, both in time order. */
static int read_marks(sqlite3 *db, struct trace_process *p)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT gil, t + " BASE_NS ", stack FROM py_event WHERE pid = ? AND tid = ? "
                               "ORDER BY t, gil", -1, &st, NULL) != SQLITE_OK)
        return -1;
    int r = 0;
    for (size_t i = 0; i < p->thread_count && r == 0; i++) {
        struct trace_thread *t = &p->threads[i];
        sqlite3_bind_int(st, 1, p->pid);
        sqlite3_bind_int64(st, 2, t->tid);
        size_t k = 0;
        while (r == 0 && sqlite3_step(st) == SQLITE_ROW) {
            int gil = sqlite3_column_int(st, 0);
            int64_t ts = sqlite3_column_int64(st, 1);
            int64_t stack = sqlite3_column_int64(st, 2);
            while (k < t->count && t->events[k].ts_ns < ts)
                k++;
            size_t at = k;
            while (at < t->count && t->events[at].ts_ns == ts && t->events[at].gil != gil)
                at++;
            if (at < t->count && t->events[at].ts_ns == ts && stack > 0 && (size_t)stack <= p->py_stack_count &&
                p->py_stacks[stack - 1].frames)
                r = trace_thread_add_py_mark(t, at, (uint32_t)stack);
        }
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    return r;
}

int tdb_pystacks_read(sqlite3 *db, struct trace_process *p)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT recorded, lost_stacks FROM py_process WHERE pid = ?", -1, &st, NULL) !=
        SQLITE_OK)
        return 0; /* a trace from before Python stacks */
    sqlite3_bind_int(st, 1, p->pid);
    if (sqlite3_step(st) == SQLITE_ROW) {
        p->py_stacks_recorded = sqlite3_column_int(st, 0) != 0;
        p->lost_py_stacks = (uint64_t)sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    if (!p->py_stacks_recorded)
        return 0;
    return read_codes(db, p) || read_py_stacks(db, p) || read_marks(db, p) ? -1 : 0;
}

bool tdb_pystacks_site(sqlite3 *db, int32_t pid, uint32_t tid, unsigned gil, int64_t t, char *buf, size_t cap)
{
    if (cap)
        buf[0] = '\0';
    sqlite3_stmt *st;
    if (cap == 0 || sqlite3_prepare_v2(db,
                                       "SELECT c.qualname, c.filename, f.line FROM py_event e "
                                       "JOIN py_stack_frame f ON f.pid = e.pid AND f.stack = e.stack AND f.frame = 0 "
                                       "LEFT JOIN py_code c ON c.pid = f.pid AND c.code = f.code "
                                       "WHERE e.pid = ? AND e.tid = ? AND e.gil = ? AND e.t = ?",
                                       -1, &st, NULL) != SQLITE_OK)
        return false;
    sqlite3_bind_int(st, 1, pid);
    sqlite3_bind_int64(st, 2, tid);
    sqlite3_bind_int(st, 3, (int)gil);
    sqlite3_bind_int64(st, 4, t);
    bool found = sqlite3_step(st) == SQLITE_ROW;
    if (found) {
        const char *fn = (const char *)sqlite3_column_text(st, 0);
        const char *file = (const char *)sqlite3_column_text(st, 1);
        const char *base = file ? strrchr(file, '/') : NULL;
        base = base ? base + 1 : file ? file : "?";
        if (sqlite3_column_type(st, 2) == SQLITE_NULL)
            snprintf(buf, cap, "%s (%s)", fn ? fn : "?", base);
        else
            snprintf(buf, cap, "%s (%s:%d)", fn ? fn : "?", base, sqlite3_column_int(st, 2));
    }
    sqlite3_finalize(st);
    return found;
}
