/*
 * tdb_view_cache.c — the view's decoded summary chunks and event packs, in
 * an LRU cache bounded in bytes. See tdb_view_impl.h.
 */

#include <assert.h>
#include <stdlib.h>

#include "search.h"
#include "tdb_view_impl.h"

/* ------------------------------------------------------------- chunk cache */

static size_t hash_key(size_t lane, int level, int64_t chunk)
{
    uint64_t h = (uint64_t)chunk * 0x9e3779b97f4a7c15ull ^ (uint64_t)lane * 0xc2b2ae3d27d4eb4full ^
                 (uint64_t)level * 0x165667b19e3779f9ull;
    return (size_t)(h >> 40) % HASH_SIZE;
}

static void lru_unlink(struct tdb_view *v, struct chunk_entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        v->lru_head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        v->lru_tail = e->prev;
    e->prev = e->next = NULL;
}

static void lru_push(struct tdb_view *v, struct chunk_entry *e)
{
    e->prev = NULL;
    e->next = v->lru_head;
    if (v->lru_head)
        v->lru_head->prev = e;
    v->lru_head = e;
    if (!v->lru_tail)
        v->lru_tail = e;
}

static void evict(struct tdb_view *v, struct chunk_entry *e)
{
    lru_unlink(v, e);
    struct chunk_entry **pp = &v->htab[hash_key(e->lane, e->level, e->chunk)];
    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    v->cache_bytes -= e->bytes;
    free(e->b);
    free(e->ev_t);
    free(e->ev_kc);
    free(e);
}

void tdb_view_cache_clear(struct tdb_view *v)
{
    while (v->lru_tail)
        evict(v, v->lru_tail);
}

static void cache_insert(struct tdb_view *v, struct chunk_entry *e, size_t h)
{
    e->hnext = v->htab[h];
    v->htab[h] = e;
    lru_push(v, e);
    v->cache_bytes += e->bytes;
    while (v->cache_bytes > v->cache_limit && v->lru_tail && v->lru_tail != e)
        evict(v, v->lru_tail);
}

/* Read and decode event pack e->chunk of lane e->lane into e and cache it. */
static struct chunk_entry *load_pack(struct tdb_view *v, struct chunk_entry *e, size_t h)
{
    const struct tdb_view_lane *ln = &v->lanes[e->lane];
    sqlite3_stmt *st = v->st_pack;
    sqlite3_bind_int64(st, 1, ln->id);
    sqlite3_bind_int64(st, 2, e->chunk);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        int n = sqlite3_column_int(st, 0);
        const uint8_t *blob = sqlite3_column_blob(st, 1);
        size_t len = (size_t)sqlite3_column_bytes(st, 1);
        e->ev_t = n > 0 ? malloc((size_t)n * sizeof *e->ev_t) : NULL;
        e->ev_kc = n > 0 ? malloc((size_t)n * sizeof *e->ev_kc) : NULL;
        int64_t start = ln->sum.origin + ((e->chunk << TDB_SUMMARY_CHUNK_BITS) << ln->sum.base_level);
        int got = e->ev_t && e->ev_kc ? tdb_summary_decode_events(blob, len, start, e->ev_t, e->ev_kc, n) : -1;
        if (got != n) {
            sqlite3_reset(st);
            tdb_view_set_err(v, "the trace's summaries are damaged (lane %lld events %lld)", (long long)ln->id,
                    (long long)e->chunk);
            free(e->ev_t);
            free(e->ev_kc);
            free(e);
            return NULL;
        }
        e->present = true;
        e->nev = n;
    } else if (rc != SQLITE_DONE) {
        tdb_view_set_err(v, "cannot read the trace's summaries: %s", sqlite3_errmsg(v->db));
        sqlite3_reset(st);
        free(e);
        return NULL;
    }
    sqlite3_reset(st);
    e->bytes = sizeof *e + (size_t)e->nev * (sizeof *e->ev_t + sizeof *e->ev_kc);
    cache_insert(v, e, h);
    return e;
}

/* Chunk `chunk` of level `level` of lane index `li`, decoded (level
 * TDB_SUMMARY_EVENTS_LEVEL: an event pack); NULL on a database error.
 * Valid until the next tdb_view_get_chunk. */
struct chunk_entry *tdb_view_get_chunk(struct tdb_view *v, size_t li, int level, int64_t chunk)
{
    assert(li < v->nlanes); /* lane bounds: checked by the public calls */
    size_t h = hash_key(li, level, chunk);
    for (struct chunk_entry *e = v->htab[h]; e; e = e->hnext)
        if (e->lane == li && e->level == level && e->chunk == chunk) {
            if (v->lru_head != e) {
                lru_unlink(v, e);
                lru_push(v, e);
            }
            return e;
        }
    struct chunk_entry *e = calloc(1, sizeof *e);
    if (!e) {
        tdb_view_set_err(v, "out of memory");
        return NULL;
    }
    e->lane = li;
    e->level = level;
    e->chunk = chunk;
    if (level == TDB_SUMMARY_EVENTS_LEVEL)
        return load_pack(v, e, h);
    sqlite3_stmt *st = v->st_chunk;
    sqlite3_bind_int64(st, 1, v->lanes[li].id);
    sqlite3_bind_int(st, 2, level);
    sqlite3_bind_int64(st, 3, chunk);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && sqlite3_column_int64(st, 0) == chunk) {
        e->present = true;
        e->start_state = (uint8_t)sqlite3_column_int(st, 1);
        e->end_state = (uint8_t)sqlite3_column_int(st, 2);
        int nb = sqlite3_column_int(st, 3);
        const uint8_t *blob = sqlite3_column_blob(st, 4);
        size_t len = (size_t)sqlite3_column_bytes(st, 4);
        e->b = nb > 0 && nb <= TDB_SUMMARY_CHUNK_SLOTS ? malloc((size_t)nb * sizeof *e->b) : NULL;
        int got = e->b ? tdb_summary_decode(blob, len, level, chunk, e->start_state, e->b, nb) : -1;
        if (got != nb) {
            free(e->b);
            free(e);
            sqlite3_reset(st);
            tdb_view_set_err(v, "the trace's summaries are damaged (lane %lld level %d chunk %lld)",
                    (long long)v->lanes[li].id, level, (long long)chunk);
            return NULL;
        }
        e->nb = nb;
    } else if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
        e->present = false;
        e->start_state = e->end_state = rc == SQLITE_ROW ? (uint8_t)sqlite3_column_int(st, 2) : 0;
    } else {
        tdb_view_set_err(v, "cannot read the trace's summaries: %s", sqlite3_errmsg(v->db));
        sqlite3_reset(st);
        free(e);
        return NULL;
    }
    sqlite3_reset(st);
    e->bytes = sizeof *e + (size_t)e->nb * sizeof *e->b;
    cache_insert(v, e, h);
    return e;
}

static bool bucket_from(const void *ctx, size_t i)
{
    const struct chunk_key *c = ctx;
    return c->e->b[i].idx >= c->key;
}

/* First bucket of `e` with idx >= bidx. */
int tdb_view_lower_bound(const struct chunk_entry *e, int64_t bidx)
{
    assert(e->nb >= 0);
    return (int)search_first((size_t)e->nb, bucket_from, &(struct chunk_key){e, bidx});
}
