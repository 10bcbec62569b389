/*
 * recorder.h — the recording path: one event into the calling thread's chunk.
 *
 * Events are recorded inside the GIL's critical sections (while its mutex M
 * or switch mutex is held), where every other thread that wants the GIL
 * waits; who wins the GIL after a drop is a race of microseconds. So the
 * work is split in two:
 *   - rec_prepare(), called by the interposed lock(M) *before* the real lock,
 *     does everything that can be done ahead: claims the thread's first
 *     chunk, and its next one (the spare) once the current one is half
 *     full, populating their pages; warms the cache line the next record
 *     goes to. Stack capture happens there too (gil_events.c).
 *   - rec_event(), inside the critical section, reads the clock and stores
 *     one 16-byte record into memory the thread alone writes: no lookup, no
 *     shared cache line, no page fault, no syscall, no lock, no allocation.
 *     When the chunk is full it moves to the spare (a few stores). Only a
 *     thread that records more than half a chunk inside one take_gil wait
 *     (about 2,000 wake-ups) claims a chunk inside the critical section, and
 *     with --stacks, a BUSY that lock(M) did not foresee (the GIL was taken
 *     between its check and the lock) has its stack captured inside.
 * Once an append-mode ring is full, a lost event costs one store into the
 * thread's own last chunk header.
 *
 * Order: a RELEASE is stamped before the real unlock lets another thread
 * in, and an ACQUIRE after its lock is really taken (rec_clock.h), so a
 * RELEASE always sorts before the next ACQUIRE by timestamp.
 *
 * None of these functions changes errno except where said; the wrappers in
 * gil_events.c save it once around their own work.
 */
#ifndef GILTRACE_RECORDER_H
#define GILTRACE_RECORDER_H

#include <stdbool.h>

#include "rec_clock.h"
#include "shim_thread.h"

/* A thread whose current chunk has fewer records left than this claims its
 * spare at its next rec_prepare(). */
#define REC_SPARE_AT (RING_RECORDS_PER_CHUNK / 2u)

/* Out of line, outside any critical section: claim the first or the spare
 * chunk (see rec_prepare). May change errno. */
void rec_prepare_chunks(struct shim_entered self);

/* Out of line, inside a critical section: move to the spare chunk (or, with
 * none, claim one: the rare case above). Returns false, counting the event as
 * lost, when there is no room. May change errno. */
bool rec_next_chunk(struct shim_entered self, bool count_lost);

/* Before the real lock of a GIL mutex: make sure the critical section finds
 * room for its records. May change errno. */
static inline void rec_prepare(struct shim_entered self)
{
    struct shim_thread *t = self.t;
    if (__builtin_expect(t->pos == t->end || (!t->spare && (size_t)(t->end - t->pos) < REC_SPARE_AT), 0))
        rec_prepare_chunks(self);
    if (t->pos)
        __builtin_prefetch(t->pos, 1, 3);
}

/* Kinds recorded right after (re)taking a GIL mutex: they need an ordered
 * timestamp (see rec_clock.h). RELEASE and GIL_DISABLED are recorded before
 * letting go of M, BUSY in the same critical section as the lock before it
 * (no other thread's event can fall in between). */
static inline bool rec_kind_follows_lock(unsigned kind)
{
    return kind != RING_EV_RELEASE && kind != RING_EV_BUSY && kind != RING_EV_GIL_DISABLED;
}

/* Record `kind` (enum ring_event_kind) on GIL `gil` for the calling thread.
 * Returns the raw timestamp stored, or 0 when the event was lost. */
static inline uint64_t rec_event(struct shim_entered self, unsigned kind, unsigned gil)
{
    struct shim_thread *t = self.t;
    if (__builtin_expect(t->pos == t->end, 0) && !rec_next_chunk(self, true))
        return 0;
    unsigned cpu;
    uint64_t ts = rec_clock_now(rec_kind_follows_lock(kind), &cpu);
    struct ring_record *r = t->pos++;
    r->raw_ts = ts;
    /* The tail commits the record: it must not become visible before raw_ts. */
    __atomic_store_n(&r->tail, ring_record_tail(kind, gil, cpu, t->next_check++ ^ RING_CHECK_KEY),
                     __ATOMIC_RELEASE);
    return ts;
}

/* Store a record that is no event (RING_REC_STACK: raw = a stack id).
 * Returns false when it could not be stored (the ring is full). */
static inline bool rec_raw(struct shim_entered self, unsigned kind, uint64_t raw)
{
    struct shim_thread *t = self.t;
    if (__builtin_expect(t->pos == t->end, 0) && !rec_next_chunk(self, false))
        return false;
    struct ring_record *r = t->pos++;
    r->raw_ts = raw;
    __atomic_store_n(&r->tail, ring_record_tail(kind, 0, RING_CPU_UNKNOWN, t->next_check++ ^ RING_CHECK_KEY),
                     __ATOMIC_RELEASE);
    return true;
}

/* Stacks are recorded (giltrace run --stacks). */
extern bool rec_stacks_on;

static inline bool rec_stacks(void)
{
    return __builtin_expect(__atomic_load_n(&rec_stacks_on, __ATOMIC_RELAXED), 0);
}

/* Capture the calling thread's native stack from the frame whose
 * instruction is `from` and intern it; its id, or 0 (none could be had).
 * Out of line, lock- and allocation-free; for outside critical sections.
 * May change errno. */
uint32_t rec_stack_capture(uintptr_t from);

/* Record stack `id` (from rec_stack_capture) after the event just recorded,
 * or count that event as left without a stack (id 0, or no room). */
void rec_stack_store(struct shim_entered self, uint32_t id);

#endif
