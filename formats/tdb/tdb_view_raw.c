/*
 * tdb_view_raw.c — a lane's raw events, read and replayed exactly: columns
 * when even the base summary level is too coarse, the probe under the
 * pointer, the longest waits, the Python line at a time. See tdb_view.h.
 */

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ring.h"
#include "search.h"
#include "tdb_pystacks.h"
#include "tdb_schema.h"
#include "tdb_view_impl.h"

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
    struct chunk_entry *e = tdb_view_get_chunk(v, li, level, bidx >> TDB_SUMMARY_CHUNK_BITS);
    if (!e)
        return -1;
    int pos = tdb_view_lower_bound(e, bidx);
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
        struct chunk_entry *e = tdb_view_get_chunk(v, li, TDB_SUMMARY_EVENTS_LEVEL, c);
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
                tdb_view_set_err(v, "out of memory");
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
        struct chunk_entry *e = tdb_view_get_chunk(v, li, TDB_SUMMARY_EVENTS_LEVEL, c);
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

int tdb_view_columns_raw(struct tdb_view *v, size_t li, double t0, double w, int n, struct tdb_column *out)
{
    const struct tdb_view_lane *ln = &v->lanes[li];
    double t1 = t0 + (double)n * w;
    memset(out, 0, (size_t)n * sizeof *out);
    if (v->acc_cap < 2 * (size_t)n) {
        double *p = realloc(v->acc, 2 * (size_t)n * sizeof *p);
        if (!p) {
            tdb_view_set_err(v, "out of memory");
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
        sqlite3_stmt *st = tdb_view_prep(v, "SELECT lane, start_t, end_t, retries, timeouts FROM \"%w\".summary_wait");
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
