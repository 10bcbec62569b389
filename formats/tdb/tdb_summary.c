/*
 * tdb_summary.c — building level-of-detail summaries. See tdb_summary.h
 * for the model and formats/SUMMARY.md for the tables. Decoding is in
 * tdb_summary_codec.c, storing in tdb_summary_store.c, building from a
 * trace's event table in tdb_summary_rebuild.c, builders of live lanes
 * (growing, copied) in tdb_summary_live.c.
 *
 * The builder keeps one open bucket per level. Events land in the base
 * level; when time moves past a bucket that saw an event, the bucket is
 * stored (appended to its level's chunk) and added into its parent, one
 * level up, so each stored bucket is touched once per level above it: the
 * build is O(events + stored buckets). Buckets that saw no event are never
 * materialised: their state is constant, and the parent accounts for their
 * time when the next stored child arrives.
 */
#include "tdb_summary.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "ring.h"
#include "tdb_summary_impl.h"

/* ---------------------------------------------------------------- varints */

static size_t put_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

/* ---------------------------------------------------------------- builder */

/* a - b, saturated to int64 (lane times of a damaged trace can be anything) */
static int64_t sat_sub(int64_t a, int64_t b)
{
    int64_t d;
    if (__builtin_sub_overflow(a, b, &d))
        return b < 0 ? INT64_MAX : INT64_MIN;
    return d;
}

/* Where bucket `idx` of `level` ends: (idx + 1) << level, or INT64_MAX for
 * the bucket that reaches the end of int64 (it then holds that end too). */
static int64_t bucket_end(int64_t idx, int level)
{
    assert(idx >= 0);
    return idx >= (INT64_MAX >> level) ? INT64_MAX : (idx + 1) << level;
}

int tdb_summary_base_level(uint64_t events, int64_t span_ns)
{
    if (events == 0 || span_ns <= 0)
        return 0;
    double per = (double)span_ns * TDB_SUMMARY_EVENTS_PER_BUCKET / (double)events;
    int level = 0;
    while (level < TDB_SUMMARY_MAX_LEVEL && (double)(INT64_C(1) << (level + 1)) <= per)
        level++;
    return level;
}

struct tdb_sum_builder *tdb_sum_builder_new(int64_t lane, uint64_t events, int64_t first_t, int64_t last_t,
                                            int64_t end_t, tdb_sum_chunk_fn fn, void *ctx)
{
    struct tdb_sum_builder *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    if (last_t < first_t)
        last_t = first_t;
    if (end_t < last_t)
        end_t = last_t;
    b->lane = lane;
    /* buckets count from t = 0, where tiles and fitted windows start, so
     * that their pixels of power-of-two widths are whole buckets */
    b->origin = first_t < 0 ? first_t : 0;
    b->first_t = first_t;
    b->last_t = last_t;
    b->end_t = end_t;
    b->fn = fn;
    b->ctx = ctx;
    b->prev_t = first_t;
    b->base = tdb_summary_base_level(events, sat_sub(end_t, first_t));
    b->top = b->base;
    while (b->top < TDB_SUMMARY_MAX_LEVEL && (sat_sub(end_t, b->origin) >> b->top) != 0)
        b->top++;
    b->nlev = b->top - b->base + 1;
    b->lv = calloc((size_t)b->nlev, sizeof *b->lv);
    b->heap = malloc(TDB_SUMMARY_TOP_WAITS * sizeof *b->heap);
    if (!b->lv || !b->heap) {
        tdb_sum_builder_free(b);
        return NULL;
    }
    return b;
}

void tdb_sum_builder_free(struct tdb_sum_builder *b)
{
    if (!b)
        return;
    for (int k = 0; b->lv && k < b->nlev; k++)
        free(b->lv[k].buf);
    free(b->lv);
    free(b->pack.buf);
    free(b->pend);
    free(b->heap);
    free(b);
}

static int flush_chunk(struct tdb_sum_builder *b, int k)
{
    struct sum_level *lv = &b->lv[k];
    if (!lv->chunk_open)
        return 0;
    lv->chunk_open = false;
    if (b->fn(b->ctx, b->base + k, lv->chunk, lv->chunk_start_state, lv->chunk_end_state, lv->nrec, lv->buf,
              lv->len) != 0)
        return -1;
    return 0;
}

static uint64_t quantise(int64_t v, int shift)
{
    return shift ? ((uint64_t)v + (UINT64_C(1) << (shift - 1))) >> shift : (uint64_t)v;
}

/* Append a finished bucket to level k's chunk. */
static int store_bucket(struct tdb_sum_builder *b, int k, const struct tdb_bucket *exact)
{
    /* stored values: quantised, so that coarse levels stay small */
    int shift = tdb_summary_unit_shift(b->base + k);
    struct tdb_bucket q = *exact, *r = &q;
    q.held_ns = (int64_t)quantise(exact->held_ns, shift);
    q.wait_ns = (int64_t)quantise(exact->wait_ns, shift);
    q.max_wait_ns = exact->max_wait_ns ? (int64_t)quantise(exact->max_wait_ns, shift) : 0;
    if (exact->max_wait_ns && !q.max_wait_ns)
        q.max_wait_ns = 1;
    q.lo = (int64_t)quantise(exact->lo, shift);
    q.hi = (int64_t)quantise(exact->hi, shift);
    struct sum_level *lv = &b->lv[k];
    int64_t chunk = r->idx >> TDB_SUMMARY_CHUNK_BITS;
    if (lv->chunk_open && chunk != lv->chunk && flush_chunk(b, k))
        return -1;
    if (!lv->chunk_open) {
        lv->chunk_open = true;
        lv->chunk = chunk;
        lv->chunk_start_state = r->start_state;
        lv->last_idx = chunk * TDB_SUMMARY_CHUNK_SLOTS - 1;
        lv->nrec = 0;
        lv->len = 0;
    }
    if (lv->cap - lv->len < MAX_RECORD_BYTES) {
        size_t cap = lv->cap ? lv->cap * 2 : 4096;
        uint8_t *p = realloc(lv->buf, cap);
        if (!p)
            return -1;
        lv->buf = p;
        lv->cap = cap;
    }
    unsigned mask = (r->held_ns ? F_HELD : 0) | (r->wait_ns ? F_WAIT : 0) | (r->max_wait_ns ? F_MAXWAIT : 0) |
                    (r->lo ? F_LO : 0) | (r->hi != r->lo ? F_SPAN : 0);
    for (int i = 0; i < TDB_N_COUNTS; i++)
        if (r->n[i])
            mask |= (unsigned)F_COUNT0 << i;
    uint8_t *p = lv->buf + lv->len;
    /* buckets come in order, each in its chunk */
    assert(r->idx > lv->last_idx && r->idx >> TDB_SUMMARY_CHUNK_BITS == lv->chunk);
    size_t n = put_varint(p, (uint64_t)(r->idx - lv->last_idx - 1));
    n += put_varint(p + n, (uint64_t)r->end_state | (uint64_t)mask << 2);
    if (r->held_ns)
        n += put_varint(p + n, (uint64_t)r->held_ns);
    if (r->wait_ns)
        n += put_varint(p + n, (uint64_t)r->wait_ns);
    if (r->max_wait_ns)
        n += put_varint(p + n, (uint64_t)r->max_wait_ns);
    if (r->lo)
        n += put_varint(p + n, (uint64_t)r->lo);
    if (r->hi != r->lo)
        n += put_varint(p + n, (uint64_t)(r->hi - r->lo));
    for (int i = 0; i < TDB_N_COUNTS; i++)
        if (r->n[i])
            n += put_varint(p + n, r->n[i]);
    lv->len += n;
    lv->last_idx = r->idx;
    lv->nrec++;
    lv->chunk_end_state = r->end_state;
    return 0;
}

static inline void add_span(struct sum_level *lv, int64_t d)
{
    if (lv->state & TDB_STATE_HELD)
        lv->acc.held_ns += d;
    if (lv->state & TDB_STATE_WAIT)
        lv->acc.wait_ns += d;
}

static void open_bucket(struct sum_level *lv, int level, int64_t x)
{
    int64_t idx = x >> level;
    memset(&lv->acc, 0, sizeof lv->acc);
    lv->acc.idx = idx;
    lv->acc.start_state = lv->state;
    lv->cur = idx << level;
    lv->open = true;
    lv->dirty = false;
}

static int parent_add(struct tdb_sum_builder *b, int k, const struct tdb_bucket *child);

/* Close level k's open bucket: store it if it saw anything, and add it into
 * the level above. */
static int close_bucket(struct tdb_sum_builder *b, int k)
{
    struct sum_level *lv = &b->lv[k];
    lv->open = false;
    if (!lv->dirty)
        return 0;
    lv->acc.end_state = lv->state;
    if (store_bucket(b, k, &lv->acc))
        return -1;
    if (k + 1 < b->nlev)
        return parent_add(b, k + 1, &lv->acc);
    /* the top level: one bucket, unless events ran past the announced span */
    struct tdb_bucket *t = &b->total;
    t->held_ns += lv->acc.held_ns;
    t->wait_ns += lv->acc.wait_ns;
    if (lv->acc.max_wait_ns > t->max_wait_ns)
        t->max_wait_ns = lv->acc.max_wait_ns;
    for (int i = 0; i < TDB_N_COUNTS; i++)
        t->n[i] += lv->acc.n[i];
    t->end_state = lv->acc.end_state;
    return 0;
}

/* Account level k's constant state up to lane-relative time x. */
static int level_advance(struct tdb_sum_builder *b, int k, int64_t x)
{
    struct sum_level *lv = &b->lv[k];
    int level = b->base + k;
    if (!lv->open)
        open_bucket(lv, level, x);
    assert(x >= lv->cur); /* time only moves forward: the builder's input is in lane order */
    for (;;) {
        int64_t end = bucket_end(lv->acc.idx, level);
        if (x < end || end == INT64_MAX) {
            add_span(lv, x - lv->cur);
            lv->cur = x;
            return 0;
        }
        add_span(lv, end - lv->cur);
        lv->cur = end;
        if (k + 1 == b->nlev)
            tdb_sum_builder_grow(b); /* a growing lane's top bucket gets a parent */
        if (close_bucket(b, k))
            return -1;
        open_bucket(lv, level, x);
        if (k + 1 == b->nlev) {
            /* the buckets skipped have no parent to account for them: only
             * at TDB_SUMMARY_MAX_LEVEL, with lane times beyond 2^60 ns */
            int64_t gap = lv->cur - end;
            if (lv->state & TDB_STATE_HELD)
                b->total.held_ns += gap;
            if (lv->state & TDB_STATE_WAIT)
                b->total.wait_ns += gap;
        }
    }
}

static int parent_add(struct tdb_sum_builder *b, int k, const struct tdb_bucket *c)
{
    struct sum_level *lv = &b->lv[k];
    int child_level = b->base + k - 1;
    int64_t cs = c->idx << child_level;
    if (!lv->open)
        lv->state = c->start_state;
    if (level_advance(b, k, cs))
        return -1;
    assert(lv->state == c->start_state);
    struct tdb_bucket *a = &lv->acc;
    int64_t off = cs - (a->idx << (child_level + 1));
    if (!lv->dirty)
        a->lo = off + c->lo;
    a->hi = off + c->hi;
    a->held_ns += c->held_ns;
    a->wait_ns += c->wait_ns;
    if (c->max_wait_ns > a->max_wait_ns)
        a->max_wait_ns = c->max_wait_ns;
    for (int i = 0; i < TDB_N_COUNTS; i++)
        a->n[i] += c->n[i];
    lv->dirty = true;
    lv->cur = bucket_end(c->idx, child_level);
    lv->state = c->end_state;
    return 0;
}

static int wait_cmp(const struct tdb_wait_span *a, const struct tdb_wait_span *b)
{
    int64_t da = a->end_t - a->start_t, db = b->end_t - b->start_t;
    if (da != db)
        return da < db ? -1 : 1;
    return a->start_t > b->start_t ? -1 : a->start_t < b->start_t; /* earlier first among equals */
}

static void heap_sift_down(struct tdb_wait_span *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < n && wait_cmp(&h[l], &h[m]) < 0)
            m = l;
        if (l + 1 < n && wait_cmp(&h[l + 1], &h[m]) < 0)
            m = l + 1;
        if (m == i)
            return;
        struct tdb_wait_span t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

/* The walker's sink: each wait as it ends. */
static void keep_wait(void *ctx, const struct trace_wait *tw)
{
    struct tdb_sum_builder *b = ctx;
    struct tdb_wait_span w = {b->lane, b->origin + tw->start_ns, b->origin + tw->end_ns, tw->retries, tw->timeouts};
    struct tdb_bucket *acc = &b->lv[0].acc;
    if (tw->end_ns - tw->start_ns > acc->max_wait_ns)
        acc->max_wait_ns = tw->end_ns - tw->start_ns;
    if (b->nheap < TDB_SUMMARY_TOP_WAITS) {
        size_t i = b->nheap++;
        b->heap[i] = w;
        while (i > 0 && wait_cmp(&b->heap[i], &b->heap[(i - 1) / 2]) < 0) {
            struct tdb_wait_span t = b->heap[i];
            b->heap[i] = b->heap[(i - 1) / 2];
            b->heap[(i - 1) / 2] = t;
            i = (i - 1) / 2;
        }
    } else if (wait_cmp(&w, &b->heap[0]) > 0) {
        b->heap[0] = w;
        heap_sift_down(b->heap, b->nheap, 0);
    }
}

/* Note an event (or the lane's end) at lane-relative x in the open base bucket. */
static void mark_event(struct sum_level *lv, int level, int64_t x)
{
    int64_t off = x - (lv->acc.idx << level);
    if (!lv->dirty)
        lv->acc.lo = off;
    lv->acc.hi = off;
    lv->dirty = true;
}

static int flush_pack(struct tdb_sum_builder *b)
{
    struct event_pack *p = &b->pack;
    if (!p->open)
        return 0;
    p->open = false;
    return b->fn(b->ctx, TDB_SUMMARY_EVENTS_LEVEL, p->chunk, 0, 0, p->n, p->buf, p->len);
}

/* Put an event at lane-relative x into its pack. */
static int pack_event(struct tdb_sum_builder *b, int64_t x, int64_t kc)
{
    struct event_pack *p = &b->pack;
    int64_t chunk = (x >> b->base) >> TDB_SUMMARY_CHUNK_BITS;
    if (p->open && chunk != p->chunk && flush_pack(b))
        return -1;
    if (!p->open) {
        p->open = true;
        p->chunk = chunk;
        p->prev = (chunk << TDB_SUMMARY_CHUNK_BITS) << b->base;
        p->n = 0;
        p->len = 0;
    }
    if (p->cap - p->len < 20) {
        size_t cap = p->cap ? p->cap * 2 : 4096;
        uint8_t *q = realloc(p->buf, cap);
        if (!q)
            return -1;
        p->buf = q;
        p->cap = cap;
    }
    assert(x >= p->prev && chunk == p->chunk); /* events in time order, in their pack */
    p->len += put_varint(p->buf + p->len, (uint64_t)(x - p->prev));
    p->len += put_varint(p->buf + p->len, (uint64_t)kc & 0xffffffffu);
    p->prev = x;
    p->n++;
    return 0;
}

/* Apply one event at lane-relative time x (after level_advance to x). */
static void apply_event(struct tdb_sum_builder *b, int64_t x, int64_t kc)
{
    struct sum_level *lv = &b->lv[0];
    unsigned kind = (unsigned)(kc & 15);
    mark_event(lv, b->base, x);
    lv->acc.n[TDB_N_EVENTS]++;
    int c = tdb_count_of_kind(kind);
    if (c >= 0)
        lv->acc.n[c]++;
    lv->dirty = true;
    assert(lv->state == b->walk.state); /* level 0 follows the walker */
    const struct trace_interval_sink waits = {NULL, keep_wait, b};
    trace_walker_event(&b->walk, &waits, x, kind, 0);
    lv->state = (uint8_t)b->walk.state;
}

static int flush_pending(struct tdb_sum_builder *b)
{
    if (!b->have_pend)
        return 0;
    int64_t x = sat_sub(b->pend_t, b->origin);
    if (x < 0)
        x = 0;
    if (level_advance(b, 0, x))
        return -1;
    /* insertion sort: ties are rare and short */
    for (size_t i = 1; i < b->npend; i++) {
        int64_t v = b->pend[i];
        size_t j = i;
        while (j > 0 && b->pend[j - 1] > v) {
            b->pend[j] = b->pend[j - 1];
            j--;
        }
        b->pend[j] = v;
    }
    for (size_t i = 0; i < b->npend; i++) {
        apply_event(b, x, b->pend[i]);
        if (pack_event(b, x, b->pend[i]))
            return -1;
    }
    b->npend = 0;
    b->have_pend = false;
    return 0;
}

int tdb_sum_builder_event(struct tdb_sum_builder *b, int64_t t, int64_t kc)
{
    if (b->failed || b->finished)
        return -1;
    if (t < b->prev_t)
        t = b->prev_t;
    b->prev_t = t;
    if (t > b->last_t)
        b->last_t = t;
    if (b->have_pend && t != b->pend_t && flush_pending(b)) {
        b->failed = true;
        return -1;
    }
    if (b->npend == b->cap_pend) {
        size_t cap = b->cap_pend ? b->cap_pend * 2 : 8;
        int64_t *p = realloc(b->pend, cap * sizeof *p);
        if (!p) {
            b->failed = true;
            return -1;
        }
        b->pend = p;
        b->cap_pend = cap;
    }
    b->pend[b->npend++] = kc;
    b->pend_t = t;
    b->have_pend = true;
    return 0;
}

static int by_length_desc(const void *x, const void *y)
{
    return -wait_cmp(x, y);
}

int tdb_sum_builder_finish(struct tdb_sum_builder *b, struct tdb_lane_summary *out,
                           const struct tdb_wait_span **waits, size_t *nwaits)
{
    if (b->failed || b->finished)
        return -1;
    b->finished = true;
    if (flush_pending(b))
        return -1;
    if (b->end_t < b->last_t)
        b->end_t = b->last_t;
    int64_t end_x = sat_sub(b->end_t, b->origin);
    /* a growing lane's top bucket holds it all, as when its end was known */
    while ((end_x >> b->top) != 0 && tdb_sum_builder_grow(b))
        ;
    struct sum_level *lv = &b->lv[0];
    if (end_x < lv->cur)
        end_x = lv->cur;
    if (level_advance(b, 0, end_x))
        return -1;
    if (lv->state) {
        const struct trace_interval_sink waits = {NULL, keep_wait, b};
        trace_walker_end(&b->walk, &waits, end_x);
        lv->state = 0;
        mark_event(lv, b->base, end_x);
    }
    for (int k = 0; k < b->nlev; k++)
        if (b->lv[k].open && close_bucket(b, k))
            return -1;
    for (int k = 0; k < b->nlev; k++)
        if (flush_chunk(b, k))
            return -1;
    if (flush_pack(b))
        return -1;
    qsort(b->heap, b->nheap, sizeof *b->heap, by_length_desc);
    memset(out, 0, sizeof *out);
    out->lane = b->lane;
    out->origin = b->origin;
    out->first_t = b->first_t;
    out->base_level = b->base;
    out->top_level = b->top;
    out->last_t = b->last_t;
    out->end_t = b->origin + end_x;
    out->total = b->total;
    *waits = b->heap;
    *nwaits = b->nheap;
    return 0;
}
