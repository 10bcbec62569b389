/*
 * recorder.h — the recording path: one event into the calling thread's chunk.
 *
 * The GIL's critical sections (while its mutex M or switch mutex is held)
 * are where every other thread that wants the GIL waits; who wins the GIL
 * after a drop is a race of microseconds. So the work is split:
 *   - rec_prepare(), called by the interposed lock(M) *before* the real lock,
 *     does everything that can be done ahead: claims the thread's first
 *     chunk, and its next one (the spare) once the current one is half
 *     full, populating their pages; warms the cache line the next record
 *     goes to. Stack capture happens there too (gil_events.c).
 *   - events are recorded outside wherever they are known ahead or can be
 *     stored after: a holder's RELEASE is stamped and stored before
 *     drop_gil's lock(M), an ACQUIRE after take_gil's unlock(M); the clock
 *     is read before lock(M) for a waiter's BUSY and before lock(SM) for a
 *     FORCED_SWITCH (gil_events.c). A handoff stores nothing inside M.
 *     A clock read costs ~10 ns (rdtsc) to ~25 ns (kvm-clock).
 *   - inside the critical section, for the events that belong there (a
 *     waiter's BUSY and wake-ups), rec_event_stamped() stores one 16-byte
 *     record into memory the thread alone writes: no lookup, no shared
 *     cache line, no page fault, no syscall, no lock, no allocation. Only
 *     the wake-ups of a waiter (RETRY, TIMEOUT, DROP_REQUEST), which no
 *     earlier moment can stand for, read the clock there (rec_event).
 *     When the chunk is full it moves to the spare (a few stores). Only a
 *     thread that records more than half a chunk inside one take_gil wait
 *     (about 2,000 wake-ups) claims a chunk inside the critical section, and
 *     with --stacks, a BUSY that lock(M) did not foresee (the GIL was taken
 *     between its check and the lock) has its stack captured inside.
 * Once an append-mode ring is full, a lost event costs one store into the
 * thread's own last chunk header.
 *
 * Order: a RELEASE is stamped before the real lock(M) of drop_gil, so before
 * its unlock lets another thread in, and an ACQUIRE after take_gil's lock is
 * really taken and let go of (fenced: rec_clock.h), so a RELEASE always
 * sorts before the next ACQUIRE by timestamp, and a hold as recorded lies
 * within the hold as it was (by the time the lock(M) waited, at most).
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

/* Room for one more record: true, or false with the event counted lost. */
static inline bool rec_room(struct shim_entered self)
{
    return __builtin_expect(self.t->pos != self.t->end, 1) || rec_next_chunk(self, true);
}

/* Store one event record stamped `ts` on `cpu`; rec_room() said yes. */
static inline void rec_store(struct shim_entered self, unsigned kind, unsigned gil, uint64_t ts, unsigned cpu)
{
    struct shim_thread *t = self.t;
    struct ring_record *r = t->pos++;
    r->raw_ts = ts;
    /* The tail commits the record: it must not become visible before raw_ts. */
    __atomic_store_n(&r->tail, ring_record_tail(kind, gil, cpu, t->next_check++ ^ RING_CHECK_KEY),
                     __ATOMIC_RELEASE);
}

/* Record `kind` (enum ring_event_kind) on GIL `gil` for the calling thread.
 * Returns the raw timestamp stored, or 0 when the event was lost. */
static inline uint64_t rec_event(struct shim_entered self, unsigned kind, unsigned gil)
{
    if (!rec_room(self))
        return 0;
    unsigned cpu;
    uint64_t ts = rec_clock_now(rec_kind_follows_lock(kind), &cpu);
    rec_store(self, kind, gil, ts, cpu);
    return ts;
}

/* Read the clock for an event that a critical section about to begin (or
 * just ended) will record: the clock, ~25 ns on a kvm-clock guest, is then
 * read outside it, and the critical section only stores. Fenced: the read
 * keeps its place in the thread's order of events, before the lock it
 * precedes or after the unlock it follows. */
static inline struct shim_stamp rec_stamp(void)
{
    struct shim_stamp s;
    s.raw = rec_clock_now(true, &s.cpu);
    s.set = 1;
    return s;
}

/* Record `kind` with the time in `*s` if it is set (and clear it), else
 * with the clock read now. Returns the raw timestamp stored, or 0. */
static inline uint64_t rec_event_stamped(struct shim_entered self, unsigned kind, unsigned gil, struct shim_stamp *s)
{
    if (!s->set)
        return rec_event(self, kind, gil);
    s->set = 0;
    if (!rec_room(self))
        return 0;
    rec_store(self, kind, gil, s->raw, s->cpu);
    return s->raw;
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
