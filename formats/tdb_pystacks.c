/*
 * tdb_pystacks.c — storing Python stacks. See tdb_pystacks.h.
 */
#include "tdb_pystacks.h"

#include <stdint.h>
#include <stdlib.h>

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

static int insert_codes(sqlite3_stmt *st, const struct trace_process *p)
{
    for (size_t i = 0; i < p->py_code_count; i++) {
        const struct trace_py_code *c = &p->py_codes[i];
        sqlite3_bind_int(st, 1, p->pid);
        sqlite3_bind_int64(st, 2, (int64_t)i + 1);
        sqlite3_bind_text(st, 3, c->qualname, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, c->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, c->filename, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 6, c->first_line);
        if (step(st))
            return -1;
    }
    return 0;
}

static int insert_stacks(sqlite3_stmt *stk, sqlite3_stmt *frm, const struct trace_process *p)
{
    for (size_t i = 0; i < p->py_stack_count; i++) {
        const struct trace_py_stack *s = &p->py_stacks[i];
        sqlite3_bind_int(stk, 1, p->pid);
        sqlite3_bind_int64(stk, 2, (int64_t)i + 1);
        sqlite3_bind_int(stk, 3, (int)s->depth);
        sqlite3_bind_int(stk, 4, s->truncated);
        if (step(stk))
            return -1;
        for (uint32_t k = 0; k < s->depth; k++) {
            const struct trace_py_frame *f = &s->frames[k];
            sqlite3_bind_int(frm, 1, p->pid);
            sqlite3_bind_int64(frm, 2, (int64_t)i + 1);
            sqlite3_bind_int(frm, 3, (int)k);
            if (f->code)
                sqlite3_bind_int64(frm, 4, f->code);
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
static int insert_events(sqlite3_stmt *st, int64_t base_ns, const struct trace_process *p)
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
            sqlite3_bind_int64(st, 6, t->py_marks[m].stack);
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
    if (insert_codes(code, p) || insert_stacks(stk, frm, p) || insert_events(ev, base_ns, p))
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
