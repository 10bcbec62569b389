/*
 * stack_table.c — interning stacks in a ring. See stack_table.h.
 */
#include "stack_table.h"

#include <string.h>

#define MAX_PROBES 64

static uint64_t hash_stack(const uint64_t *ips, unsigned n, uint32_t flags)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ n ^ ((uint64_t)flags << 20);
    for (unsigned i = 0; i < n; i++) {
        h ^= ips[i];
        h *= 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    return h | 1; /* 0 marks an empty slot */
}

_Static_assert(sizeof(uintptr_t) == sizeof(uint64_t), "a native frame is one pool word");

uint32_t stack_table_intern(struct ring_aux *a, const uintptr_t *ips, unsigned n, bool truncated)
{
    return stack_table_intern_words(a, (const uint64_t *)ips, n, truncated ? RING_STACK_TRUNCATED : 0);
}

uint32_t stack_table_intern_words(struct ring_aux *a, const uint64_t *ips, unsigned n, uint32_t flags)
{
    if (n == 0 || n > RING_STACK_MAX_DEPTH || a->slots_cap == 0)
        return 0;
    struct ring_stack_slot *slots = (struct ring_stack_slot *)((char *)a + a->slots_offset);
    uint64_t *pool = (uint64_t *)((char *)a + a->pool_offset);
    uint32_t depth = n | flags;
    uint64_t h = hash_stack(ips, n, flags);
    uint32_t mask = a->slots_cap - 1;
    for (uint32_t probe = 0, i = (uint32_t)h & mask; probe < MAX_PROBES; probe++, i = (i + 1) & mask) {
        struct ring_stack_slot *s = &slots[i];
        uint64_t cur = __atomic_load_n(&s->hash, __ATOMIC_ACQUIRE);
        if (cur == 0) {
            if (__atomic_compare_exchange_n(&s->hash, &cur, h, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
                /* ours: copy the frames, then publish where they are */
                uint64_t at = __atomic_fetch_add(&a->pool_used, n, __ATOMIC_RELAXED);
                if (at + n > a->pool_cap || at + n > RING_STACK_DEAD) {
                    __atomic_store_n(&s->frames, RING_STACK_DEAD, __ATOMIC_RELEASE);
                    return 0;
                }
                for (unsigned k = 0; k < n; k++)
                    pool[at + k] = ips[k];
                s->depth = depth;
                __atomic_store_n(&s->frames, (uint32_t)at, __ATOMIC_RELEASE);
                return i + 1;
            }
        }
        if (cur != h)
            continue;
        uint32_t at = __atomic_load_n(&s->frames, __ATOMIC_ACQUIRE);
        if (at == 0 || at == RING_STACK_DEAD || s->depth != depth)
            continue; /* being written, or another stack with this hash */
        if (memcmp(&pool[at], ips, (size_t)n * sizeof *ips) == 0)
            return i + 1;
    }
    return 0;
}
