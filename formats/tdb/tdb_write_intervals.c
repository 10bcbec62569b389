/*
 * tdb_write_intervals.c — holds and waits stored at dump time. See
 * tdb_write_intervals.h; the tables are in tdb_schema.c.
 *
 * Rows go in BATCH at a time, one INSERT of many rows: SQLite's cost is
 * mostly per statement step, not per row.
 */
#include "tdb_write_intervals.h"

#include <stdio.h>
#include <stdlib.h>

#include "fmt_error.h"
#include "trace_intervals.h"

#define BATCH 64
#define NULL_VALUE INT64_MIN /* a row value stored as NULL */
#define COLUMNS 7 /* pid, tid, gil, start_ns, dur, then forced (holds) or retries, timeouts (waits) */

/* Rows of one table waiting to be inserted. */
struct batch {
    sqlite3_stmt *many, *one; /* BATCH rows; one row */
    int columns;
    int n;
    int64_t v[BATCH][COLUMNS];
};

/* What a thread's intervals add up to (all its GILs). */
struct thread_sum {
    int64_t held_ns, waited_ns, end_ns;
};

struct sink_ctx {
    struct batch holds, waits;
    struct thread_sum *sum; /* of the thread being walked */
    int32_t pid;
    uint32_t tid;
    unsigned gil;
    int rc; /* first failure; SQLITE_DONE while all is well */
};

static void bind(sqlite3_stmt *st, int column, int64_t v)
{
    if (v == NULL_VALUE)
        sqlite3_bind_null(st, column);
    else
        sqlite3_bind_int64(st, column, v);
}

static void run(struct sink_ctx *c, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (c->rc == SQLITE_DONE && rc != SQLITE_DONE)
        c->rc = rc;
}

/* Insert what `b` holds: in one statement when it is full, else row by row. */
static void flush(struct sink_ctx *c, struct batch *b)
{
    if (b->n == BATCH) {
        for (int r = 0; r < BATCH; r++)
            for (int k = 0; k < b->columns; k++)
                bind(b->many, 1 + r * b->columns + k, b->v[r][k]);
        run(c, b->many);
    } else {
        for (int r = 0; r < b->n; r++) {
            for (int k = 0; k < b->columns; k++)
                bind(b->one, 1 + k, b->v[r][k]);
            run(c, b->one);
        }
    }
    b->n = 0;
}

static int64_t *row(struct sink_ctx *c, struct batch *b, int64_t start, int64_t end)
{
    int64_t *v = b->v[b->n];
    v[0] = c->pid;
    v[1] = c->tid;
    v[2] = c->gil;
    v[3] = start;
    v[4] = end - start;
    return v;
}

static void added(struct sink_ctx *c, struct batch *b)
{
    if (++b->n == BATCH)
        flush(c, b);
}

static void note_end(struct thread_sum *s, int64_t end)
{
    if (end > s->end_ns)
        s->end_ns = end;
}

static void on_hold(void *ctx, const struct trace_hold *h)
{
    struct sink_ctx *c = ctx;
    c->sum->held_ns += h->end_ns - h->start_ns;
    note_end(c->sum, h->end_ns);
    /* a hold still open when the trace ended was not released, forced or not: NULL */
    row(c, &c->holds, h->start_ns, h->end_ns)[5] = h->open ? NULL_VALUE : h->forced;
    added(c, &c->holds);
}

static void on_wait(void *ctx, const struct trace_wait *w)
{
    struct sink_ctx *c = ctx;
    c->sum->waited_ns += w->end_ns - w->start_ns;
    note_end(c->sum, w->end_ns);
    int64_t *v = row(c, &c->waits, w->start_ns, w->end_ns);
    v[5] = w->retries;
    v[6] = w->timeouts;
    added(c, &c->waits);
}

/* Prepare "INSERT INTO table(cols) VALUES (?,..),..." for 1 and BATCH rows. */
static int prepare(sqlite3 *db, struct batch *b, const char *table, const char *cols, int columns)
{
    char sql[BATCH * (COLUMNS * 2 + 3) + 256];
    b->columns = columns;
    for (int pass = 0; pass < 2; pass++) {
        int rows = pass ? BATCH : 1;
        size_t len = (size_t)snprintf(sql, sizeof sql, "INSERT INTO %s(%s) VALUES ", table, cols);
        for (int r = 0; r < rows; r++)
            for (int k = 0; k < columns; k++)
                len += (size_t)snprintf(sql + len, sizeof sql - len, "%s?%s", k ? "," : r ? ",(" : "(",
                                        k == columns - 1 ? ")" : "");
        if (sqlite3_prepare_v2(db, sql, -1, pass ? &b->many : &b->one, NULL) != SQLITE_OK)
            return -1;
    }
    return 0;
}

/* Add each thread's sums to its row (threads(): thread_totals view). */
static int store_sums(sqlite3 *db, const struct trace_process *p, const struct thread_sum *sums)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "UPDATE thread SET held_ns = held_ns + ?3, waited_ns = waited_ns + ?4,"
                           " end_ns = max(coalesce(end_ns, ?5), ?5) WHERE pid = ?1 AND tid = ?2",
                           -1, &st, NULL) != SQLITE_OK)
        return -1;
    int rc = SQLITE_DONE;
    for (size_t i = 0; i < p->thread_count && rc == SQLITE_DONE; i++) {
        if (p->threads[i].count == 0)
            continue;
        const struct thread_sum *t = &sums[i];
        int64_t last = p->threads[i].events[p->threads[i].count - 1].ts_ns;
        sqlite3_bind_int(st, 1, p->pid);
        sqlite3_bind_int64(st, 2, p->threads[i].tid);
        sqlite3_bind_int64(st, 3, t->held_ns);
        sqlite3_bind_int64(st, 4, t->waited_ns);
        sqlite3_bind_int64(st, 5, t->end_ns > last ? t->end_ns : last);
        rc = sqlite3_step(st);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int tdb_write_intervals(sqlite3 *db, const struct trace_process *p, char *err, size_t n)
{
    struct sink_ctx c = {.pid = p->pid, .rc = SQLITE_DONE};
    struct thread_sum *sums = calloc(p->thread_count ? p->thread_count : 1, sizeof *sums);
    if (!sums)
        return fmt_error(err, n, "out of memory");
    for (size_t i = 0; i < p->thread_count; i++)
        sums[i].end_ns = INT64_MIN;
    int r = 0;
    if (prepare(db, &c.holds, "hold", "pid, tid, gil, start_ns, dur, forced", 6) ||
        prepare(db, &c.waits, "wait", "pid, tid, gil, start_ns, dur, retries, timeouts", 7)) {
        r = fmt_error(err, n, "cannot store holds and waits: %s", sqlite3_errmsg(db));
        goto done;
    }
    uint64_t seen[4] = {0}; /* GIL numbers with events */
    for (size_t i = 0; i < p->thread_count; i++)
        for (size_t k = 0; k < p->threads[i].count; k++)
            seen[p->threads[i].events[k].gil / 64] |= 1ull << (p->threads[i].events[k].gil % 64);
    for (unsigned g = 0; g < 256 && r == 0; g++) {
        if (!(seen[g / 64] >> (g % 64) & 1))
            continue;
        int64_t *drops;
        ptrdiff_t nd = trace_drop_requests(p, g, &drops);
        if (nd < 0) {
            r = fmt_error(err, n, "out of memory");
            break;
        }
        c.gil = g;
        struct trace_interval_sink sink = {on_hold, on_wait, &c};
        for (size_t i = 0; i < p->thread_count && c.rc == SQLITE_DONE; i++) {
            c.tid = p->threads[i].tid;
            c.sum = &sums[i];
            trace_intervals(p, &p->threads[i], g, drops, (size_t)nd, &sink);
        }
        free(drops);
    }
    flush(&c, &c.holds);
    flush(&c, &c.waits);
    if (r == 0 && c.rc != SQLITE_DONE)
        r = fmt_error(err, n, "cannot store holds and waits: %s", sqlite3_errstr(c.rc));
    if (r == 0 && store_sums(db, p, sums))
        r = fmt_error(err, n, "cannot store the threads' totals: %s", sqlite3_errmsg(db));
done:
    free(sums);
    sqlite3_finalize(c.holds.one);
    sqlite3_finalize(c.holds.many);
    sqlite3_finalize(c.waits.one);
    sqlite3_finalize(c.waits.many);
    return r;
}
