/*
 * tdb_write_events.c — a thread's events into the trace: its lanes, the
 * event rows, and times moved apart where they clash. See tdb_write_impl.h.
 */

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fmt_error.h"
#include "ring.h"
#include "tdb_summary.h"
#include "tdb_write_impl.h"

static int lane_id(struct tdb_writer *w, int32_t pid, uint32_t tid, unsigned gil, int64_t *id)
{
    sqlite3_stmt *st[2] = {w->insert_lane, w->select_lane};
    int rc = SQLITE_ERROR;
    for (int i = 0; i < 2; i++) {
        sqlite3_bind_int(st[i], 1, pid);
        sqlite3_bind_int64(st[i], 2, tid);
        sqlite3_bind_int(st[i], 3, (int)gil);
        rc = sqlite3_step(st[i]);
        if (i == 1 && rc == SQLITE_ROW)
            *id = sqlite3_column_int64(st[i], 0);
        sqlite3_reset(st[i]);
    }
    return rc == SQLITE_ROW ? 0 : -1;
}

/* One row of the event table: one event of a lane. */
struct event_row {
    int64_t ts; /* absolute, ns */
    long long kc;
};

static void bind_row(sqlite3_stmt *st, int first, int64_t lane, const struct event_row *r)
{
    sqlite3_bind_int64(st, first, lane);
    sqlite3_bind_int64(st, first + 1, r->ts);
    sqlite3_bind_int64(st, first + 2, r->kc);
}

/* Store `n` rows of one lane: BATCH at a time, the rest one by one. */
static int insert_rows(struct tdb_writer *w, int64_t lane, const struct event_row *rows, size_t n)
{
    size_t i = 0;
    for (; i + BATCH <= n; i += BATCH) {
        sqlite3_stmt *st = w->insert_event_batch;
        for (int k = 0; k < BATCH; k++)
            bind_row(st, 1 + k * ROW_COLUMNS, lane, &rows[i + (size_t)k]);
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
            return -1;
    }
    for (; i < n; i++) {
        bind_row(w->insert_event, 1, lane, &rows[i]);
        int rc = sqlite3_step(w->insert_event);
        sqlite3_reset(w->insert_event);
        if (rc != SQLITE_DONE)
            return -1;
    }
    return 0;
}

/* Times within a lane key the event table, so they must strictly increase:
 * an event at or before its lane's previous one (two events in one ns, which
 * no clock we use produces, or a corrupt ring) is moved to 1 ns after it.
 * Counts the events of `p` that move; with `fixed` (a copy of p->threads'
 * events, thread by thread), writes the moved times there. */
static uint64_t move_clashes(const struct trace_process *p, struct trace_event **fixed)
{
    uint64_t moved = 0;
    for (size_t i = 0; i < p->thread_count; i++) {
        int64_t prev[256];
        for (int g = 0; g < 256; g++)
            prev[g] = INT64_MIN;
        for (size_t k = 0; k < p->threads[i].count; k++) {
            const struct trace_event *e = &p->threads[i].events[k];
            int64_t ts = e->ts_ns;
            if (ts <= prev[e->gil] && prev[e->gil] < INT64_MAX) {
                ts = prev[e->gil] + 1;
                moved++;
            }
            prev[e->gil] = ts;
            if (fixed)
                fixed[i][k].ts_ns = ts;
        }
    }
    return moved;
}

/* `p` with every lane's times strictly increasing: `p` itself when they are
 * (the rule), else a copy in `copy` whose thread and event arrays are new.
 * Returns NULL when out of memory. */
const struct trace_process *tdb_write_without_clashes(struct tdb_writer *w, const struct trace_process *p,
                                                      struct trace_process *copy, struct trace_event ***fixed)
{
    *fixed = NULL;
    uint64_t moved = move_clashes(p, NULL);
    if (moved == 0)
        return p;
    *copy = *p;
    copy->threads = calloc(p->thread_count, sizeof *copy->threads);
    *fixed = calloc(p->thread_count, sizeof **fixed);
    for (size_t i = 0; copy->threads && *fixed && i < p->thread_count; i++) {
        copy->threads[i] = p->threads[i];
        (*fixed)[i] = malloc((p->threads[i].count ? p->threads[i].count : 1) * sizeof *(*fixed)[i]);
        if (!(*fixed)[i])
            break;
        memcpy((*fixed)[i], p->threads[i].events, p->threads[i].count * sizeof *(*fixed)[i]);
        copy->threads[i].events = (*fixed)[i];
    }
    bool ok = copy->threads && *fixed;
    for (size_t i = 0; ok && i < p->thread_count; i++)
        ok = (*fixed)[i] != NULL;
    if (!ok)
        return NULL;
    move_clashes(p, *fixed);
    w->adjusted_timestamps += moved;
    return copy;
}

void tdb_write_free_fixed(const struct trace_process *p, struct trace_process *copy, struct trace_event **fixed)
{
    if (fixed)
        for (size_t i = 0; i < p->thread_count; i++)
            free(fixed[i]);
    free(fixed);
    if (copy->threads != p->threads)
        free(copy->threads);
}

/* Insert the events of thread `t` of `p` that are on GIL `gil`, in order,
 * and summarise them for viewers (tdb_summary.h). */
int tdb_write_insert_lane_events(struct tdb_writer *w, const struct trace_process *p, const struct trace_thread *t,
                                 unsigned gil, char *err, size_t n)
{
    int32_t pid = p->pid;
    int64_t lane = 0;
    if (lane_id(w, pid, t->tid, gil, &lane))
        return tdb_write_sql_fail(w, err, n, "cannot store a lane");
    uint64_t count = 0;
    int64_t first = 0, last = 0;
    for (size_t i = 0; i < t->count; i++)
        if (t->events[i].gil == gil) {
            last = t->events[i].ts_ns - w->base_ns;
            if (count++ == 0)
                first = last;
        }
    struct tdb_summary_lane *sum;
    /* the lane's state ends by the open-interval rule (trace_open_end) */
    if (tdb_summary_lane_begin(w->db, lane, count, first, last, trace_open_end(p, last + w->base_ns) - w->base_ns,
                               &sum, err, n))
        return -1;
    enum { CHUNK = 16384 };
    struct event_row *rows = malloc(CHUNK * sizeof *rows);
    if (!rows) {
        tdb_summary_lane_abort(sum);
        return fmt_error(err, n, "out of memory");
    }
    size_t fill = 0;
    int r = 0;
    int64_t prev = INT64_MIN;
    for (size_t i = 0; i < t->count && r == 0; i++) {
        const struct trace_event *e = &t->events[i];
        if (e->gil != gil)
            continue;
        if (e->ts_ns <= prev) /* only where tdb_write_without_clashes() could not move it: the key would clash */
            r = -1;
        prev = e->ts_ns;
        long long kc = tdb_pack_kc(e->kind, e->cpu, e->cpu != RING_CPU_UNKNOWN,
                                   e->stack ? (unsigned)(w->stack_base + e->stack) : 0);
        if (fill == CHUNK) {
            r = insert_rows(w, lane, rows, fill);
            fill = 0;
        }
        rows[fill++] = (struct event_row){e->ts_ns, kc};
        if (r == 0 && tdb_summary_lane_event(sum, e->ts_ns - w->base_ns, kc)) {
            free(rows);
            tdb_summary_lane_abort(sum);
            return tdb_write_sql_fail(w, err, n, "cannot summarise the trace");
        }
        if (++w->events_written % PROGRESS_EVERY == 0 && w->progress)
            w->progress(w->progress_ctx, w->events_written);
    }
    if (r == 0)
        r = insert_rows(w, lane, rows, fill);
    free(rows);
    if (r != 0) {
        tdb_summary_lane_abort(sum);
        return tdb_write_sql_fail(w, err, n, "cannot store an event");
    }
    return tdb_summary_lane_end(sum, err, n);
}
