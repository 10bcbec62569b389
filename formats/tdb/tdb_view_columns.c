/*
 * tdb_view_columns.c — a lane's pixel columns and range figures from the
 * summary level whose buckets are at most a pixel wide: each pixel adds up
 * the 1-3 buckets it overlaps (a bucket cut by a pixel edge is shared:
 * exactly before its first and after its last event, in proportion between)
 * and the constant stretches between stored buckets. See tdb_view.h.
 */

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tdb_view_impl.h"

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
                e = tdb_view_get_chunk(v, li, level, c);
                if (!e)
                    return -1;
                ec = c;
                pos = tdb_view_lower_bound(e, bidx);
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

int tdb_view_columns(struct tdb_view *v, size_t lane, double t0, double w, int n, struct tdb_column *out)
{
    if (n <= 0)
        return 0;
    if (lane >= v->nlanes || !(w > 0)) {
        memset(out, 0, (size_t)n * sizeof *out);
        return 0;
    }
    int level = level_for(&v->lanes[lane], w);
    int rc = level < 0 ? tdb_view_columns_raw(v, lane, t0, w, n, out) : columns_summary(v, lane, level, t0, w, n, out);
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
        tdb_view_set_err(v, "out of memory");
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
