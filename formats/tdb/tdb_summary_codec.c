/*
 * tdb_summary_codec.c — decoding a stored chunk of bucket records and a
 * pack of raw events. See tdb_summary.h for the formats.
 */

#include "tdb_summary_impl.h"

/* ---------------------------------------------------------------- varints */

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

int tdb_summary_decode(const uint8_t *blob, size_t len, int level, int64_t chunk, int start_state,
                       struct tdb_bucket *out, int max)
{
    int shift = tdb_summary_unit_shift(level);
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
