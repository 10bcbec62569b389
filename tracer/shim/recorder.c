/*
 * recorder.c — the out-of-line part of the recording path: claiming chunks
 * ahead of need, moving to the next one, and native stacks.
 * See recorder.h.
 */
#include "recorder.h"

#include "ring_writer.h"
#include "stack_table.h"
#include "stack_unwind.h"

bool rec_stacks_on;

uint32_t rec_stack_capture(uintptr_t from)
{
    struct shim_thread *t = &shim_self;
    struct ring_aux *a = ring_writer_aux(true);
    if (!a || t->in_unwind || !t->stack_top)
        return 0;
    t->in_unwind = 1;
    uintptr_t ips[RING_STACK_MAX_DEPTH];
    bool truncated;
    unsigned n = stack_unwind(from, t->stack_top, ips, RING_STACK_MAX_DEPTH, &truncated);
    uint32_t id = n ? stack_table_intern(a, ips, n, truncated) : 0;
    t->in_unwind = 0;
    return id;
}

void rec_stack_store(struct shim_entered self, uint32_t id)
{
    if (id && rec_raw(self, RING_REC_STACK, id))
        return;
    struct ring_aux *a = ring_writer_aux(true);
    if (a)
        __atomic_fetch_add(&a->lost_stacks, 1, __ATOMIC_RELAXED);
}

/* Claim a chunk for `t`; false (and ring_full set) when there is none. */
static bool claim(struct shim_thread *t, struct ring_chunk_header **chunk, uint64_t *seq)
{
    shim_thread_tid(t);
    *chunk = ring_writer_claim_chunk(t->tid, seq);
    t->ring_full = *chunk == NULL;
    return *chunk != NULL;
}

/* Start writing into chunk `c` claimed as `seq`; the one before is done. */
static void switch_to(struct shim_thread *t, struct ring_chunk_header *c, uint64_t seq)
{
    if (t->chunk)
        ring_writer_chunk_done(t->chunk);
    t->chunk = c;
    t->pos = ring_chunk_records(c);
    t->end = t->pos + RING_RECORDS_PER_CHUNK;
    t->next_check = (uint32_t)(seq << 12);
}

void rec_prepare_chunks(struct shim_entered self)
{
    struct shim_thread *t = self.t;
    if (t->ring_full && ring_writer_exhausted())
        return;
    struct ring_chunk_header *c;
    uint64_t seq;
    if (t->pos == t->end) {
        if (t->spare) {
            switch_to(t, t->spare, t->spare_seq);
            t->spare = NULL;
        } else if (claim(t, &c, &seq)) {
            switch_to(t, c, seq);
        }
        return;
    }
    if (!t->spare && claim(t, &c, &seq)) {
        t->spare = c;
        t->spare_seq = seq;
    }
}

bool rec_next_chunk(struct shim_entered self, bool count_lost)
{
    struct shim_thread *t = self.t;
    struct ring_chunk_header *c;
    uint64_t seq;
    if (t->spare) {
        switch_to(t, t->spare, t->spare_seq);
        t->spare = NULL;
        return true;
    }
    /* The rare claim inside a critical section (recorder.h), never retried
     * once the ring is known to be full. */
    if (!t->ring_full && claim(t, &c, &seq)) {
        switch_to(t, c, seq);
        return true;
    }
    if (count_lost)
        ring_writer_count_lost(t->chunk, 1);
    return false;
}
