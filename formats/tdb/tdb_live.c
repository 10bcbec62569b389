/*
 * tdb_live.c — a live trace database fed poll by poll: lanes, their
 * builders kept across commits, and the rows each commit replaces. See
 * tdb_live.h; the process and thread rows are in tdb_live_rows.c.
 */
#include "tdb_live.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt_error.h"
#include "ring.h"
#include "tdb_live_impl.h"
#include "tdb_schema.h"
#include "tdb_summary.h"
#include "trace_intervals.h"

static int grow(void **p, size_t *cap, size_t want, size_t size)
{
    if (want <= *cap)
        return 0;
    size_t c = *cap ? *cap * 2 : 64;
    while (c < want)
        c *= 2;
    void *q = realloc(*p, c * size);
    if (!q)
        return -1;
    *p = q;
    *cap = c;
    return 0;
}

int tdb_live_open(const char *path, struct tdb_live **out, char *err, size_t n)
{
    *out = NULL;
    struct tdb_live *l = calloc(1, sizeof *l);
    if (!l)
        return fmt_error(err, n, "out of memory");
    l->young = TDB_LIVE_YOUNG_EVENTS;
    if (sqlite3_open_v2(path, &l->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        fmt_error(err, n, "cannot open %s: %s", path, l->db ? sqlite3_errmsg(l->db) : "out of memory");
        tdb_live_close(l);
        return -1;
    }
    if (tdb_live_rows_init(l, err, n)) {
        tdb_live_close(l);
        return -1;
    }
    *out = l;
    return 0;
}

void tdb_live_set_young(struct tdb_live *l, uint64_t young)
{
    l->young = young ? young : 1;
}

uint64_t tdb_live_events(const struct tdb_live *l)
{
    return l->events;
}

static struct live_thread *thread_of(struct tdb_live *l, uint32_t tid)
{
    for (size_t i = 0; i < l->nthreads; i++)
        if (l->threads[i].tid == tid)
            return &l->threads[i];
    if (grow((void **)&l->threads, &l->cap_threads, l->nthreads + 1, sizeof *l->threads))
        return NULL;
    struct live_thread *t = &l->threads[l->nthreads++];
    *t = (struct live_thread){.tid = tid, .first_ns = INT64_MAX, .last_ns = INT64_MIN};
    return t;
}

static struct live_lane *lane_of(struct tdb_live *l, uint32_t tid, unsigned gil)
{
    if (l->last_lane < l->nlanes && l->lanes[l->last_lane]->tid == tid && l->lanes[l->last_lane]->gil == gil)
        return l->lanes[l->last_lane];
    for (size_t i = 0; i < l->nlanes; i++)
        if (l->lanes[i]->tid == tid && l->lanes[i]->gil == gil) {
            l->last_lane = i;
            return l->lanes[i];
        }
    if (grow((void **)&l->lanes, &l->cap_lanes, l->nlanes + 1, sizeof *l->lanes))
        return NULL;
    struct live_lane *ln = calloc(1, sizeof *ln);
    if (!ln)
        return NULL;
    ln->tid = tid;
    ln->gil = gil;
    ln->young = true;
    ln->prev_ts = INT64_MIN;
    ln->written_end = INT64_MIN;
    l->last_lane = l->nlanes;
    l->lanes[l->nlanes++] = ln;
    return ln;
}

int tdb_live_add(struct tdb_live *l, uint32_t tid, const struct trace_event *e, uint32_t py_stack)
{
    if (l->broken)
        return -1;
    struct live_thread *t = thread_of(l, tid);
    struct live_lane *ln = t ? lane_of(l, tid, e->gil) : NULL;
    if (!ln || grow((void **)&ln->queue, &ln->cap_queue, ln->nqueue + 1, sizeof *ln->queue)) {
        l->broken = true;
        return -1;
    }
    if (e->ts_ns < t->first_ns)
        t->first_ns = e->ts_ns;
    if (e->ts_ns > t->last_ns)
        t->last_ns = e->ts_ns;
    long long kc = tdb_pack_kc(e->kind, e->cpu, e->cpu != RING_CPU_UNKNOWN, 0);
    ln->queue[ln->nqueue++] = (struct live_queued){{e->ts_ns, kc}, py_stack};
    return 0;
}

/* The chunk callback of the copies finished at a commit: the chunk is
 * stored and remembered, to be deleted by the next commit. */
static int store_provisional(void *ctx, int level, int64_t chunk, int start_state, int end_state, uint32_t nrec,
                             const uint8_t *blob, size_t len)
{
    struct live_lane *ln = ctx;
    if (grow((void **)&ln->prov, &ln->cap_prov, ln->nprov + 1, sizeof *ln->prov))
        return -1;
    ln->prov[ln->nprov++] = (struct live_key){level, chunk};
    return tdb_summary_store_chunk(&ln->cctx, level, chunk, start_state, end_state, nrec, blob, len);
}

/* Fix a young lane's base level from what it has gathered: its builder
 * takes its events, kept until now. */
static int graduate(struct live_lane *ln)
{
    int64_t first = ln->hist[0].t, last = ln->hist[ln->nhist - 1].t;
    int64_t end = ln->end_t > last ? ln->end_t : last;
    int base = tdb_summary_base_level(ln->count, end - first);
    ln->b = tdb_sum_builder_new_growing(ln->id, base, first, tdb_summary_store_chunk, &ln->cctx);
    if (!ln->b)
        return -1;
    for (size_t i = 0; i < ln->nhist; i++)
        if (tdb_sum_builder_event(ln->b, ln->hist[i].t, ln->hist[i].kc))
            return -1;
    free(ln->hist);
    ln->hist = NULL;
    ln->nhist = ln->cap_hist = 0;
    ln->young = false;
    return 0;
}

/* Take the lane's queued events: times made strictly increasing, as the
 * writer does (tdb_write_events.c), then into its builder or its history. */
static int take_queue(struct tdb_live *l, struct live_lane *ln, const struct trace_process *p,
                      const struct tdb_live_names *names)
{
    for (size_t i = 0; i < ln->nqueue; i++) {
        const struct live_event *e = &ln->queue[i].e;
        int64_t ts = e->t;
        if (ts <= ln->prev_ts && ln->prev_ts < INT64_MAX)
            ts = ln->prev_ts + 1;
        ln->prev_ts = ts;
        int64_t t = ts - l->base_ns;
        if (ln->count++ == 0)
            ln->first_t = t;
        ln->last_t = t;
        if (ln->queue[i].py_stack &&
            tdb_live_rows_py_event(l, p, names, ln, t, (unsigned)(e->kc & 15), ln->queue[i].py_stack))
            return -1;
        if (ln->young) {
            if (grow((void **)&ln->hist, &ln->cap_hist, ln->nhist + 1, sizeof *ln->hist))
                return -1;
            ln->hist[ln->nhist++] = (struct live_event){t, e->kc};
        } else if (tdb_sum_builder_event(ln->b, t, e->kc)) {
            return -1;
        }
    }
    l->events += ln->nqueue;
    ln->nqueue = 0;
    return 0;
}

/* Bring lane `ln`'s rows up to date: its new events, then its summary as
 * of its end now, in rows the next commit replaces. */
static int commit_lane(struct tdb_live *l, struct live_lane *ln, const struct trace_process *p,
                       const struct tdb_live_names *names)
{
    bool fresh = ln->nqueue > 0;
    if (!fresh) {
        if (ln->count == 0 || trace_open_end(p, ln->last_t + l->base_ns) - l->base_ns == ln->written_end)
            return 0; /* nothing new: its rows stand */
    }
    /* first: the rows of the last commit's copy, which the builder may now finish for good */
    if (tdb_live_rows_drop_provisional(l, ln) || take_queue(l, ln, p, names))
        return -1;
    ln->end_t = trace_open_end(p, ln->last_t + l->base_ns) - l->base_ns;
    if (ln->young && ln->count >= l->young && graduate(ln))
        return -1;
    struct tdb_sum_builder *b;
    if (ln->young) {
        b = tdb_sum_builder_new(ln->id, ln->count, ln->first_t, ln->last_t, ln->end_t, store_provisional, ln);
        for (size_t i = 0; b && i < ln->nhist; i++)
            if (tdb_sum_builder_event(b, ln->hist[i].t, ln->hist[i].kc)) {
                tdb_sum_builder_free(b);
                return -1;
            }
    } else {
        b = tdb_sum_builder_copy(ln->b, ln->end_t, store_provisional, ln);
    }
    if (!b)
        return -1;
    struct tdb_lane_summary sum;
    const struct tdb_wait_span *waits;
    size_t nwaits;
    int r = tdb_sum_builder_finish(b, &sum, &waits, &nwaits);
    if (r == 0)
        r = tdb_live_rows_lane(l, ln, &sum, waits, nwaits);
    tdb_sum_builder_free(b);
    if (r == 0)
        ln->written_end = ln->end_t;
    return r;
}

int tdb_live_commit(struct tdb_live *l, const struct trace_process *p, const struct tdb_live_names *names, char *err,
                    size_t n)
{
    if (l->broken)
        return fmt_error(err, n, "the live trace database failed earlier");
    if (!l->have_base) {
        l->base_ns = p->start_ns;
        l->have_base = true;
    }
    if (tdb_live_rows_begin(l, p, err, n)) {
        l->broken = true;
        return -1;
    }
    for (size_t i = 0; i < l->nlanes; i++) {
        struct live_lane *ln = l->lanes[i];
        if ((ln->id == 0 && tdb_live_rows_new_lane(l, p->pid, ln)) || commit_lane(l, ln, p, names)) {
            l->broken = true;
            fmt_error(err, n, "cannot store the live trace: %s",
                      sqlite3_errcode(l->db) == SQLITE_OK ? "out of memory" : sqlite3_errmsg(l->db));
            sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
            return -1;
        }
    }
    if (tdb_live_rows_end(l, p, names, err, n)) {
        l->broken = true;
        return -1;
    }
    return 0;
}

void tdb_live_close(struct tdb_live *l)
{
    if (!l)
        return;
    tdb_live_rows_finalize(l);
    sqlite3_close(l->db);
    for (size_t i = 0; i < l->nlanes; i++) {
        struct live_lane *ln = l->lanes[i];
        tdb_sum_builder_free(ln->b);
        free(ln->queue);
        free(ln->hist);
        free(ln->prov);
        free(ln);
    }
    free(l->lanes);
    free(l->threads);
    free(l->py_stored);
    free(l);
}
