/*
 * tdb_summary_live.c — summary builders of lanes still being recorded: a
 * builder whose levels grow as time passes, and the copy of a builder that
 * is finished to show a live lane so far while the builder goes on. See
 * tdb_summary.h; the builder itself is in tdb_summary.c.
 */
#include "tdb_summary.h"

#include <stdlib.h>
#include <string.h>

#include "tdb_summary_impl.h"

struct tdb_sum_builder *tdb_sum_builder_new_growing(int64_t lane, int base_level, int64_t first_t,
                                                    tdb_sum_chunk_fn fn, void *ctx)
{
    struct tdb_sum_builder *b = tdb_sum_builder_new(lane, 0, first_t, first_t, first_t, fn, ctx);
    if (!b)
        return NULL;
    if (base_level < 0)
        base_level = 0;
    if (base_level > TDB_SUMMARY_MAX_LEVEL)
        base_level = TDB_SUMMARY_MAX_LEVEL;
    free(b->lv);
    b->lv = calloc(TDB_SUMMARY_MAX_LEVEL + 1, sizeof *b->lv);
    if (!b->lv) {
        tdb_sum_builder_free(b);
        return NULL;
    }
    b->base = b->top = base_level;
    b->nlev = 1;
    b->growing = true;
    return b;
}

/* A copy of `len` bytes of `src` with room to grow (the builder doubles
 * buffers of at least 4096 bytes); *out NULL when `src` is. 0 or -1. */
static int dup_buf(const uint8_t *src, size_t len, uint8_t **out, size_t *cap)
{
    *out = NULL;
    *cap = 0;
    if (!src)
        return 0;
    *cap = len + 4096;
    *out = malloc(*cap);
    if (!*out)
        return -1;
    memcpy(*out, src, len);
    return 0;
}

struct tdb_sum_builder *tdb_sum_builder_copy(const struct tdb_sum_builder *b, int64_t end_t, tdb_sum_chunk_fn fn,
                                             void *ctx)
{
    struct tdb_sum_builder *c = malloc(sizeof *c);
    if (!c)
        return NULL;
    *c = *b;
    c->lv = NULL;
    c->pack.buf = NULL;
    c->pend = NULL;
    c->heap = NULL;
    c->fn = fn;
    c->ctx = ctx;
    c->end_t = end_t;
    size_t room = b->growing ? TDB_SUMMARY_MAX_LEVEL + 1 : (size_t)b->nlev;
    c->lv = calloc(room, sizeof *c->lv);
    c->heap = malloc(TDB_SUMMARY_TOP_WAITS * sizeof *c->heap);
    c->pend = b->cap_pend ? malloc(b->cap_pend * sizeof *c->pend) : NULL;
    if (!c->lv || !c->heap || (b->cap_pend && !c->pend))
        goto fail;
    for (int k = 0; k < b->nlev; k++) {
        c->lv[k] = b->lv[k];
        if (dup_buf(b->lv[k].buf, b->lv[k].len, &c->lv[k].buf, &c->lv[k].cap))
            goto fail;
    }
    if (dup_buf(b->pack.buf, b->pack.len, &c->pack.buf, &c->pack.cap))
        goto fail;
    memcpy(c->heap, b->heap, b->nheap * sizeof *c->heap);
    if (b->npend)
        memcpy(c->pend, b->pend, b->npend * sizeof *c->pend);
    return c;
fail:
    tdb_sum_builder_free(c);
    return NULL;
}
