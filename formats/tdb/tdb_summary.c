/*
 * tdb_summary.c — building level-of-detail summaries. See tdb_summary.h
 * for the model and formats/SUMMARY.md for the tables.
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
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt_error.h"
#include "ring.h"
#include "tdb_read.h"

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

static inline int get_varint(const uint8_t *p, size_t len, size_t *pos, uint64_t *out)
{
    if (*pos < len && p[*pos] < 0x80) { /* most values fit one byte */
        *out = p[(*pos)++];
        return 0;
    }
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (*pos >= len)
            return -1;
        uint8_t byte = p[(*pos)++];
        v |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

/* ---------------------------------------------------------------- builder */

/* Field presence bits of an encoded bucket; the header varint is
 * end_state | mask << 2. */
enum { F_HELD = 1, F_WAIT = 2, F_MAXWAIT = 4, F_LO = 8, F_SPAN = 16, F_COUNT0 = 32 };
#define MAX_RECORD_BYTES (2 * 10 + 10 + 5 * 10 + TDB_N_COUNTS * 5)

struct sum_level {
    struct tdb_bucket acc; /* the open bucket */
    int64_t cur;           /* lane-relative time accounted up to */
    uint8_t state;         /* the lane's state at `cur` */
    bool open, dirty;      /* dirty: saw an event or a state change */
    /* the chunk being filled */
    bool chunk_open;
    int64_t chunk, last_idx;
    uint8_t chunk_start_state, chunk_end_state;
    uint32_t nrec;
    uint8_t *buf;
    size_t len, cap;
};

/* The pack of raw events being filled (base-level chunk grid). */
struct event_pack {
    bool open;
    int64_t chunk, prev; /* prev: lane-relative time of the last event put in */
    uint32_t n;
    uint8_t *buf;
    size_t len, cap;
};

struct tdb_sum_builder {
    int64_t lane, origin, first_t, last_t, end_t;
    struct event_pack pack;
    int base, top, nlev;
    struct sum_level *lv;
    tdb_sum_chunk_fn fn;
    void *ctx;
    bool failed, finished;
    /* the lane's holds and waits (base level), in lane-relative times */
    struct trace_walker walk;
    /* events of one ns, applied in kc order */
    int64_t pend_t, prev_t;
    bool have_pend;
    int64_t *pend;
    size_t npend, cap_pend;
    /* the longest waits: a min-heap on duration, then sorted at finish */
    struct tdb_wait_span *heap;
    size_t nheap;
    struct tdb_bucket total;
};

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

/* Times in a bucket of `level` are stored in units of 2^unit_shift ns. */
static int unit_shift(int level)
{
    return level > TDB_SUMMARY_FRACTION_BITS ? level - TDB_SUMMARY_FRACTION_BITS : 0;
}

static uint64_t quantise(int64_t v, int shift)
{
    return shift ? ((uint64_t)v + (UINT64_C(1) << (shift - 1))) >> shift : (uint64_t)v;
}

/* Append a finished bucket to level k's chunk. */
static int store_bucket(struct tdb_sum_builder *b, int k, const struct tdb_bucket *exact)
{
    /* stored values: quantised, so that coarse levels stay small */
    int shift = unit_shift(b->base + k);
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

int tdb_summary_decode(const uint8_t *blob, size_t len, int level, int64_t chunk, int start_state,
                       struct tdb_bucket *out, int max)
{
    int shift = unit_shift(level);
    size_t pos = 0;
    int n = 0;
    int64_t idx = chunk * TDB_SUMMARY_CHUNK_SLOTS - 1, limit = (chunk + 1) * TDB_SUMMARY_CHUNK_SLOTS;
    uint8_t state = (uint8_t)start_state;
    while (pos < len) {
        uint64_t delta, hdr, v;
        if (n >= max || n >= TDB_SUMMARY_CHUNK_SLOTS || get_varint(blob, len, &pos, &delta) ||
            get_varint(blob, len, &pos, &hdr))
            return -1;
        if (delta >= (uint64_t)(limit - idx - 1))
            return -1;
        struct tdb_bucket *r = &out[n++];
        *r = (struct tdb_bucket){0};
        idx += (int64_t)delta + 1;
        r->idx = idx;
        r->start_state = state;
        r->end_state = state = (uint8_t)(hdr & 3);
        unsigned mask = (unsigned)(hdr >> 2);
        if ((mask & F_HELD) && !get_varint(blob, len, &pos, &v))
            r->held_ns = (int64_t)v;
        if ((mask & F_WAIT) && !get_varint(blob, len, &pos, &v))
            r->wait_ns = (int64_t)v;
        if ((mask & F_MAXWAIT) && !get_varint(blob, len, &pos, &v))
            r->max_wait_ns = (int64_t)v;
        if ((mask & F_LO) && !get_varint(blob, len, &pos, &v))
            r->lo = (int64_t)v;
        r->hi = r->lo;
        if ((mask & F_SPAN) && !get_varint(blob, len, &pos, &v))
            r->hi = r->lo + (int64_t)v;
        r->held_ns <<= shift;
        r->wait_ns <<= shift;
        r->max_wait_ns <<= shift;
        r->lo <<= shift;
        r->hi <<= shift;
        for (unsigned m = mask / F_COUNT0, i = 0; m; m >>= 1, i++)
            if ((m & 1) && !get_varint(blob, len, &pos, &v))
                r->n[i] = (uint32_t)v;
        if (pos > len)
            return -1;
    }
    return n;
}

int tdb_summary_decode_events(const uint8_t *blob, size_t len, int64_t pack_start_t, int64_t *t, uint32_t *kc,
                              int max)
{
    size_t pos = 0;
    int n = 0;
    int64_t cur = pack_start_t;
    while (pos < len) {
        uint64_t d, k;
        /* a damaged trace may span nearly all of int64: any delta that
         * keeps the time representable is one the builder could write */
        if (n >= max || get_varint(blob, len, &pos, &d) || get_varint(blob, len, &pos, &k) || d > INT64_MAX ||
            __builtin_add_overflow(cur, (int64_t)d, &cur))
            return -1;
        t[n] = cur;
        kc[n] = (uint32_t)k;
        n++;
    }
    return n;
}

/* ---------------------------------------------------------------- tables */

static int exec_fmt(sqlite3 *db, char *err, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *sql = sqlite3_vmprintf(fmt, ap);
    va_end(ap);
    if (!sql)
        return fmt_error(err, n, "out of memory");
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    sqlite3_free(sql);
    if (rc == SQLITE_OK)
        return 0;
    fmt_error(err, n, "trace summaries: %s", msg ? msg : sqlite3_errmsg(db));
    sqlite3_free(msg);
    return -1;
}

static sqlite3_stmt *prepare_fmt(sqlite3 *db, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *sql = sqlite3_vmprintf(fmt, ap);
    va_end(ap);
    sqlite3_stmt *st = NULL;
    if (sql && sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK)
        st = NULL;
    sqlite3_free(sql);
    return st;
}

/* One integer from `sql` (formatted with %w / %Q for the schema), or `fallback`. */
static int64_t query_int(sqlite3 *db, int64_t fallback, const char *fmt, const char *schema)
{
    sqlite3_stmt *st = prepare_fmt(db, fmt, schema, schema, schema);
    if (!st)
        return fallback;
    int64_t v = fallback;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

int tdb_summary_create_tables(sqlite3 *db, const char *s, char *err, size_t n)
{
    return exec_fmt(db, err, n,
                    "CREATE TABLE IF NOT EXISTS \"%w\".summary_meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;"
                    "INSERT OR IGNORE INTO \"%w\".summary_meta VALUES ('version', %d);"
                    "CREATE TABLE IF NOT EXISTS \"%w\".summary_lane(lane INTEGER PRIMARY KEY,"
                    " origin INTEGER NOT NULL, base_level INTEGER NOT NULL, top_level INTEGER NOT NULL,"
                    " first_t INTEGER NOT NULL,"
                    " last_t INTEGER NOT NULL, end_t INTEGER NOT NULL, events INTEGER NOT NULL,"
                    " held_ns INTEGER NOT NULL, wait_ns INTEGER NOT NULL, acquires INTEGER NOT NULL,"
                    " retries INTEGER NOT NULL, timeouts INTEGER NOT NULL, drop_requests INTEGER NOT NULL,"
                    " forced_switches INTEGER NOT NULL, toggles INTEGER NOT NULL,"
                    " longest_wait_ns INTEGER NOT NULL);"
                    "CREATE TABLE IF NOT EXISTS \"%w\".summary_chunk(lane INTEGER NOT NULL,"
                    " level INTEGER NOT NULL, chunk INTEGER NOT NULL, start_state INTEGER NOT NULL,"
                    " end_state INTEGER NOT NULL, buckets INTEGER NOT NULL, data BLOB NOT NULL,"
                    " PRIMARY KEY(lane, level, chunk));"
                    "CREATE TABLE IF NOT EXISTS \"%w\".summary_wait(lane INTEGER NOT NULL,"
                    " start_t INTEGER NOT NULL, end_t INTEGER NOT NULL, retries INTEGER NOT NULL,"
                    " timeouts INTEGER NOT NULL);"
                    "CREATE TABLE IF NOT EXISTS \"%w\".summary_events(lane INTEGER NOT NULL,"
                    " chunk INTEGER NOT NULL, events INTEGER NOT NULL, data BLOB NOT NULL,"
                    " PRIMARY KEY(lane, chunk));",
                    s, s, TDB_SUMMARY_VERSION, s, s, s, s);
}

static bool has_tables(sqlite3 *db, const char *s)
{
    return query_int(db, 0,
                     "SELECT count(*) FROM \"%w\".sqlite_schema WHERE type = 'table' AND name IN"
                     " ('summary_meta', 'summary_lane', 'summary_chunk', 'summary_wait', 'summary_events')",
                     s) == 5;
}

int tdb_summary_is_complete(sqlite3 *db, const char *s, char *err, size_t n)
{
    if (!has_tables(db, s))
        return 0;
    if (query_int(db, -1, "SELECT value FROM \"%w\".summary_meta WHERE key = 'version'", s) != TDB_SUMMARY_VERSION)
        return 0;
    int64_t missing = query_int(db, -1,
                                "SELECT count(*) FROM main.lane WHERE id NOT IN"
                                " (SELECT lane FROM \"%w\".summary_lane)",
                                s);
    if (missing < 0)
        return fmt_error(err, n, "cannot read the trace's lanes: %s", sqlite3_errmsg(db));
    return missing == 0;
}

/* Rows going into the summary tables of one schema. */
struct sum_store {
    sqlite3 *db;
    sqlite3_stmt *chunk, *lane, *wait, *events;
};

static int store_prepare(struct sum_store *st, sqlite3 *db, const char *s)
{
    st->db = db;
    st->chunk = prepare_fmt(db, "INSERT INTO \"%w\".summary_chunk VALUES (?,?,?,?,?,?,?)", s);
    st->lane = prepare_fmt(db, "INSERT INTO \"%w\".summary_lane VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", s);
    st->wait = prepare_fmt(db, "INSERT INTO \"%w\".summary_wait VALUES (?,?,?,?,?)", s);
    st->events = prepare_fmt(db, "INSERT INTO \"%w\".summary_events VALUES (?,?,?,?)", s);
    return st->chunk && st->lane && st->wait && st->events ? 0 : -1;
}

static void store_finalize(struct sum_store *st)
{
    sqlite3_finalize(st->chunk);
    sqlite3_finalize(st->lane);
    sqlite3_finalize(st->wait);
    sqlite3_finalize(st->events);
}

struct chunk_ctx {
    struct sum_store *store;
    int64_t lane;
};

static int store_chunk(void *ctx, int level, int64_t chunk, int start_state, int end_state, uint32_t nrec,
                       const uint8_t *blob, size_t len)
{
    struct chunk_ctx *c = ctx;
    if (level == TDB_SUMMARY_EVENTS_LEVEL) {
        sqlite3_stmt *ev = c->store->events;
        sqlite3_bind_int64(ev, 1, c->lane);
        sqlite3_bind_int64(ev, 2, chunk);
        sqlite3_bind_int64(ev, 3, nrec);
        sqlite3_bind_blob(ev, 4, blob, (int)len, SQLITE_STATIC);
        int rc = sqlite3_step(ev);
        sqlite3_reset(ev);
        return rc == SQLITE_DONE ? 0 : -1;
    }
    sqlite3_stmt *st = c->store->chunk;
    sqlite3_bind_int64(st, 1, c->lane);
    sqlite3_bind_int(st, 2, level);
    sqlite3_bind_int64(st, 3, chunk);
    sqlite3_bind_int(st, 4, start_state);
    sqlite3_bind_int(st, 5, end_state);
    sqlite3_bind_int64(st, 6, nrec);
    sqlite3_bind_blob(st, 7, blob, (int)len, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

static int store_lane(struct sum_store *s, const struct tdb_lane_summary *ls, const struct tdb_wait_span *w,
                      size_t nw)
{
    sqlite3_stmt *st = s->lane;
    const struct tdb_bucket *t = &ls->total;
    sqlite3_bind_int64(st, 1, ls->lane);
    sqlite3_bind_int64(st, 2, ls->origin);
    sqlite3_bind_int(st, 3, ls->base_level);
    sqlite3_bind_int(st, 4, ls->top_level);
    sqlite3_bind_int64(st, 5, ls->first_t);
    sqlite3_bind_int64(st, 6, ls->last_t);
    sqlite3_bind_int64(st, 7, ls->end_t);
    sqlite3_bind_int64(st, 8, t->n[TDB_N_EVENTS]);
    sqlite3_bind_int64(st, 9, t->held_ns);
    sqlite3_bind_int64(st, 10, t->wait_ns);
    sqlite3_bind_int64(st, 11, t->n[TDB_N_ACQUIRE]);
    sqlite3_bind_int64(st, 12, t->n[TDB_N_RETRY]);
    sqlite3_bind_int64(st, 13, t->n[TDB_N_TIMEOUT]);
    sqlite3_bind_int64(st, 14, t->n[TDB_N_DROP]);
    sqlite3_bind_int64(st, 15, t->n[TDB_N_FORCED]);
    sqlite3_bind_int64(st, 16, t->n[TDB_N_TOGGLE]);
    sqlite3_bind_int64(st, 17, t->max_wait_ns);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    for (size_t i = 0; i < nw && rc == SQLITE_DONE; i++) {
        sqlite3_bind_int64(s->wait, 1, w[i].lane);
        sqlite3_bind_int64(s->wait, 2, w[i].start_t);
        sqlite3_bind_int64(s->wait, 3, w[i].end_t);
        sqlite3_bind_int64(s->wait, 4, w[i].retries);
        sqlite3_bind_int64(s->wait, 5, w[i].timeouts);
        rc = sqlite3_step(s->wait);
        sqlite3_reset(s->wait);
    }
    return rc == SQLITE_DONE ? 0 : -1;
}

/* ------------------------------------------------- building while writing */

struct tdb_summary_lane {
    struct sum_store store;
    struct chunk_ctx cctx;
    struct tdb_sum_builder *b;
};

int tdb_summary_lane_begin(sqlite3 *db, int64_t lane, uint64_t events, int64_t first_t, int64_t last_t,
                           int64_t end_t, struct tdb_summary_lane **out, char *err, size_t n)
{
    *out = NULL;
    if (tdb_summary_create_tables(db, "main", err, n))
        return -1;
    if (query_int(db, -1, "SELECT value FROM \"%w\".summary_meta WHERE key = 'version'", "main") !=
        TDB_SUMMARY_VERSION)
        return 0; /* summaries of another version: the next open rebuilds them all */
    sqlite3_stmt *st = prepare_fmt(db, "SELECT 1 FROM summary_lane WHERE lane = ?");
    if (!st)
        return fmt_error(err, n, "trace summaries: %s", sqlite3_errmsg(db));
    sqlite3_bind_int64(st, 1, lane);
    bool exists = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    if (exists) {
        char sql[256];
        snprintf(sql, sizeof sql,
                 "DELETE FROM summary_lane WHERE lane = %lld; DELETE FROM summary_chunk WHERE lane = %lld;"
                 "DELETE FROM summary_wait WHERE lane = %lld; DELETE FROM summary_events WHERE lane = %lld;",
                 (long long)lane, (long long)lane, (long long)lane, (long long)lane);
        return exec_fmt(db, err, n, "%s", sql);
    }
    struct tdb_summary_lane *s = calloc(1, sizeof *s);
    if (!s)
        return fmt_error(err, n, "out of memory");
    if (store_prepare(&s->store, db, "main")) {
        fmt_error(err, n, "trace summaries: %s", sqlite3_errmsg(db));
        goto fail_prepare;
    }
    s->cctx = (struct chunk_ctx){&s->store, lane};
    s->b = tdb_sum_builder_new(lane, events, first_t, last_t, end_t, store_chunk, &s->cctx);
    if (!s->b) {
        fmt_error(err, n, "out of memory");
        goto fail_prepare;
    }
    *out = s;
    return 0;

fail_prepare:
    store_finalize(&s->store);
    free(s);
    return -1;
}

int tdb_summary_lane_event(struct tdb_summary_lane *s, int64_t t, int64_t kc)
{
    return s ? tdb_sum_builder_event(s->b, t, kc) : 0;
}

void tdb_summary_lane_abort(struct tdb_summary_lane *s)
{
    if (!s)
        return;
    tdb_sum_builder_free(s->b);
    store_finalize(&s->store);
    free(s);
}

int tdb_summary_lane_end(struct tdb_summary_lane *s, char *err, size_t n)
{
    if (!s)
        return 0;
    struct tdb_lane_summary ls;
    const struct tdb_wait_span *w;
    size_t nw;
    int r = 0;
    if (tdb_sum_builder_finish(s->b, &ls, &w, &nw) || store_lane(&s->store, &ls, w, nw))
        r = fmt_error(err, n, "cannot store trace summaries: %s", sqlite3_errmsg(s->store.db));
    tdb_summary_lane_abort(s);
    return r;
}

/* ------------------------------------------- building from the event table */

/* Summaries count time from meta.base_ns; schema 4 stores absolute times
 * (tdb_read.h's layouts). */
#define BASE_NS "coalesce((SELECT value FROM main.meta WHERE key = 'base_ns'), 0)"

struct lane_todo {
    int64_t lane, end_t, events, first_t, last_t;
};

static int list_lanes(sqlite3 *db, const char *s, enum tdb_event_layout layout, struct lane_todo **out, size_t *count,
                      uint64_t *total)
{
    sqlite3_stmt *st = prepare_fmt(db,
                                   /* a lane of a process that lost events ends at its last
                                    * event (NULL here): trace_open_end's rule */
                                   "SELECT l.id, (SELECT CASE WHEN max(lost_events) > 0 THEN NULL ELSE max(end_ns) END"
                                   " FROM main.process p WHERE p.pid = l.pid)"
                                   " - coalesce((SELECT value FROM main.meta WHERE key = 'base_ns'), 0)"
                                   " FROM main.lane l WHERE l.id NOT IN (SELECT lane FROM \"%w\".summary_lane)"
                                   " ORDER BY l.id",
                                   s);
    /* counts alone are a fast scan; first and last as index look-ups */
    sqlite3_stmt *cnt = prepare_fmt(
        db, layout == TDB_LAYOUT_ABS
                ? "SELECT count(*), (SELECT ts FROM main.event WHERE lane = ?1 ORDER BY ts LIMIT 1) - " BASE_NS ","
                  " (SELECT ts FROM main.event WHERE lane = ?1 ORDER BY ts DESC LIMIT 1) - " BASE_NS
                  " FROM main.event WHERE lane = ?1"
            : layout == TDB_LAYOUT_ONE
                ? "SELECT count(*), (SELECT t FROM main.event WHERE lane = ?1 ORDER BY t LIMIT 1),"
                  " (SELECT t FROM main.event WHERE lane = ?1 ORDER BY t DESC LIMIT 1)"
                  " FROM main.event WHERE lane = ?1"
                : "SELECT count(*) + count(k1) + count(k2) + count(k3),"
                  " (SELECT t FROM main.event WHERE lane = ?1 ORDER BY t LIMIT 1),"
                  " (SELECT t + coalesce(o3, o2, o1, 0) FROM main.event WHERE lane = ?1 ORDER BY t DESC LIMIT 1)"
                  " FROM main.event WHERE lane = ?1");
    size_t n = 0, cap = 0;
    struct lane_todo *v = NULL;
    int rc = st && cnt ? SQLITE_ROW : SQLITE_ERROR;
    *total = 0;
    while (rc == SQLITE_ROW && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            struct lane_todo *p = realloc(v, cap * sizeof *p);
            if (!p) {
                rc = SQLITE_NOMEM;
                break;
            }
            v = p;
        }
        struct lane_todo *l = &v[n];
        l->lane = sqlite3_column_int64(st, 0);
        l->end_t = sqlite3_column_type(st, 1) == SQLITE_NULL ? INT64_MIN : sqlite3_column_int64(st, 1);
        sqlite3_bind_int64(cnt, 1, l->lane);
        if (sqlite3_step(cnt) != SQLITE_ROW) {
            rc = SQLITE_ERROR;
            break;
        }
        l->events = sqlite3_column_int64(cnt, 0);
        l->first_t = sqlite3_column_int64(cnt, 1);
        l->last_t = sqlite3_column_int64(cnt, 2);
        sqlite3_reset(cnt);
        if (l->events > 0) {
            *total += (uint64_t)l->events;
            n++;
        }
    }
    sqlite3_finalize(st);
    sqlite3_finalize(cnt);
    if (rc != SQLITE_DONE) {
        free(v);
        return -1;
    }
    *out = v;
    *count = n;
    return 0;
}

/* The aggregate that feeds one lane's events, in (t, kc) order, to a builder. */
struct feed_ctx {
    struct tdb_sum_builder *b;
    int64_t prev;
    uint64_t k, done, total;
    tdb_summary_progress_fn progress;
    void *pctx;
    int failed; /* 1: the builder failed, 2: rows out of order */
};

static int feed_one(sqlite3_context *ctx, struct feed_ctx *f, int64_t t, int64_t kc)
{
    if (t < f->prev) {
        f->failed = 2;
        sqlite3_result_error(ctx, "events out of order", -1);
        return -1;
    }
    f->prev = t;
    if (tdb_sum_builder_event(f->b, t, kc)) {
        f->failed = 1;
        sqlite3_result_error(ctx, "cannot store summaries", -1);
        return -1;
    }
    if ((++f->k & 0xfffff) == 0 && f->progress)
        f->progress(f->pctx, f->done + f->k, f->total);
    return 0;
}

/* Arguments: (t, kc) for one event a row, or (t, k0, o1, k1, o2, k2, o3, k3). */
static void feed_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    struct feed_ctx *f = sqlite3_user_data(ctx);
    if (f->failed)
        return;
    int64_t t = sqlite3_value_int64(argv[0]);
    if (feed_one(ctx, f, t, sqlite3_value_int64(argv[1])))
        return;
    for (int k = 2; k + 1 < argc; k += 2)
        if (sqlite3_value_type(argv[k + 1]) != SQLITE_NULL &&
            feed_one(ctx, f, t + sqlite3_value_int64(argv[k]), sqlite3_value_int64(argv[k + 1])))
            return;
}

static void feed_final(sqlite3_context *ctx)
{
    sqlite3_result_null(ctx);
}

int tdb_summary_build(sqlite3 *db, const char *s, tdb_summary_progress_fn progress, void *pctx, char *err,
                      size_t n)
{
    if (exec_fmt(db, err, n, "BEGIN IMMEDIATE"))
        return -1;
    struct lane_todo *todo = NULL;
    size_t ntodo = 0;
    uint64_t total = 0, done = 0;
    struct sum_store store = {0};
    sqlite3_stmt *scan = NULL;
    struct tdb_sum_builder *b = NULL;

    /* summaries of another version (or a partial set of tables): start afresh */
    if ((!has_tables(db, s) ||
         query_int(db, -1, "SELECT value FROM \"%w\".summary_meta WHERE key = 'version'", s) != TDB_SUMMARY_VERSION) &&
        exec_fmt(db, err, n,
                 "DROP TABLE IF EXISTS \"%w\".summary_meta; DROP TABLE IF EXISTS \"%w\".summary_lane;"
                 " DROP TABLE IF EXISTS \"%w\".summary_chunk; DROP TABLE IF EXISTS \"%w\".summary_wait;"
                 " DROP TABLE IF EXISTS \"%w\".summary_events;",
                 s, s, s, s, s))
        goto fail;
    if (tdb_summary_create_tables(db, s, err, n))
        goto fail;
    /* chunks or waits of a lane without its lane row are left-overs of an
     * interrupted build: drop them */
    if (exec_fmt(db, err, n,
                 "DELETE FROM \"%w\".summary_chunk WHERE lane NOT IN (SELECT lane FROM \"%w\".summary_lane);"
                 "DELETE FROM \"%w\".summary_wait WHERE lane NOT IN (SELECT lane FROM \"%w\".summary_lane);"
                 "DELETE FROM \"%w\".summary_events WHERE lane NOT IN (SELECT lane FROM \"%w\".summary_lane);",
                 s, s, s, s, s, s))
        goto fail;
    enum tdb_event_layout layout = tdb_event_layout(db, "main");
    if (layout == TDB_LAYOUT_UNKNOWN) {
        fmt_error(err, n, "cannot summarise the trace: its event table has a layout this giltrace does not know");
        goto fail;
    }
    if (list_lanes(db, s, layout, &todo, &ntodo, &total)) {
        fmt_error(err, n, "cannot read the trace's lanes: %s", sqlite3_errmsg(db));
        goto fail;
    }
    if (store_prepare(&store, db, s)) {
        fmt_error(err, n, "trace summaries: %s", sqlite3_errmsg(db));
        goto fail;
    }
    /* the events go to the builder from inside SQLite's scan (an aggregate),
     * which costs about half of stepping through them row by row */
    struct feed_ctx feed = {0};
    if (sqlite3_create_function_v2(db, "giltrace_summary_feed", -1, SQLITE_UTF8 | SQLITE_DIRECTONLY, &feed, NULL,
                                   feed_step, feed_final, NULL) != SQLITE_OK) {
        fmt_error(err, n, "cannot summarise the trace: %s", sqlite3_errmsg(db));
        goto fail;
    }
    /* the primary key gives each lane's rows in (t, kc) order; the feed
     * checks it and fails rather than build from rows out of order */
    scan = prepare_fmt(db, layout == TDB_LAYOUT_ABS
                               ? "SELECT giltrace_summary_feed(ts - " BASE_NS ", kc) FROM main.event WHERE lane = ?"
                           : layout == TDB_LAYOUT_ONE
                               ? "SELECT giltrace_summary_feed(t, kc) FROM main.event WHERE lane = ?"
                               : "SELECT giltrace_summary_feed(t, k0, o1, k1, o2, k2, o3, k3) FROM main.event"
                                 " WHERE lane = ?");
    if (!scan) {
        fmt_error(err, n, "cannot read the trace's events: %s", sqlite3_errmsg(db));
        goto fail;
    }
    for (size_t i = 0; i < ntodo; i++) {
        struct lane_todo *l = &todo[i];
        struct chunk_ctx cctx = {&store, l->lane};
        b = tdb_sum_builder_new(l->lane, (uint64_t)l->events, l->first_t, l->last_t, l->end_t, store_chunk, &cctx);
        if (!b) {
            fmt_error(err, n, "out of memory");
            goto fail;
        }
        sqlite3_bind_int64(scan, 1, l->lane);
        feed = (struct feed_ctx){.b = b, .prev = INT64_MIN, .progress = progress, .pctx = pctx, .done = done,
                                 .total = total};
        int rc = sqlite3_step(scan);
        if (rc == SQLITE_ROW)
            rc = sqlite3_step(scan);
        sqlite3_reset(scan);
        if (rc != SQLITE_DONE || feed.failed) {
            fmt_error(err, n, "cannot summarise the trace: %s",
                 feed.failed == 2 ? "events out of order" : sqlite3_errmsg(db));
            goto fail;
        }
        struct tdb_lane_summary ls;
        const struct tdb_wait_span *w;
        size_t nw;
        if (tdb_sum_builder_finish(b, &ls, &w, &nw) || store_lane(&store, &ls, w, nw)) {
            fmt_error(err, n, "cannot store trace summaries: %s", sqlite3_errmsg(db));
            goto fail;
        }
        tdb_sum_builder_free(b);
        b = NULL;
        done += (uint64_t)l->events;
        if (progress)
            progress(pctx, done, total);
    }
    sqlite3_finalize(scan);
    sqlite3_create_function_v2(db, "giltrace_summary_feed", -1, SQLITE_UTF8, NULL, NULL, NULL, NULL, NULL);
    store_finalize(&store);
    free(todo);
    return exec_fmt(db, err, n, "COMMIT");

fail:
    tdb_sum_builder_free(b);
    sqlite3_finalize(scan);
    sqlite3_create_function_v2(db, "giltrace_summary_feed", -1, SQLITE_UTF8, NULL, NULL, NULL, NULL, NULL);
    store_finalize(&store);
    free(todo);
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}
