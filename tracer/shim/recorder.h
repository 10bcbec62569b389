/*
 * recorder.h — the recording path: one event into the calling thread's chunk.
 *
 * rec_event() is the only code that runs for every GIL event. It takes no
 * lock, makes no syscall and does not allocate (a chunk is claimed once per
 * RING_RECORDS_PER_CHUNK events, out of line); it leaves errno alone.
 */
#ifndef GILTRACE_RECORDER_H
#define GILTRACE_RECORDER_H

#include <stdbool.h>

#include "rec_clock.h"
#include "shim_thread.h"

/* Give `t` a fresh chunk. Returns false, counting the event as lost, when
 * the ring is full or tracing is off. Preserves errno. */
bool rec_refill(struct shim_thread *t);

/* The same, for records that are no events: nothing is counted as lost. */
bool rec_refill_quiet(struct shim_thread *t);

/* Events recorded right after (re)taking the GIL mutex: they need an
 * ordered timestamp (see rec_clock.h). */
static inline bool rec_kind_follows_lock(unsigned kind)
{
    return kind == RING_EV_ACQUIRE || kind == RING_EV_TIMEOUT || kind == RING_EV_DROP_REQUEST;
}

/* Record `kind` (enum ring_event_kind) on GIL `gil` for the calling thread. */
static inline void rec_event(unsigned kind, unsigned gil)
{
    struct shim_thread *t = &shim_self;
    if (__builtin_expect(t->pos == t->end, 0) && !rec_refill(t))
        return;
    unsigned cpu;
    uint64_t ts = rec_clock_now(rec_kind_follows_lock(kind), &cpu);
    struct ring_record *r = t->pos++;
    r->raw_ts = ts;
    /* The tail commits the record: it must not become visible before raw_ts. */
    __atomic_store_n(&r->tail, ring_record_tail(kind, gil, cpu, t->next_check++ ^ RING_CHECK_KEY),
                     __ATOMIC_RELEASE);
}

/* Store a record that is no event (RING_REC_STACK: raw = a stack id).
 * Returns false when it could not be stored (the ring is full). */
static inline bool rec_raw(unsigned kind, uint64_t raw)
{
    struct shim_thread *t = &shim_self;
    if (__builtin_expect(t->pos == t->end, 0) && !rec_refill_quiet(t))
        return false;
    struct ring_record *r = t->pos++;
    r->raw_ts = raw;
    __atomic_store_n(&r->tail, ring_record_tail(kind, 0, RING_CPU_UNKNOWN, t->next_check++ ^ RING_CHECK_KEY),
                     __ATOMIC_RELEASE);
    return true;
}

/* Stacks are recorded (giltrace run --stacks). */
extern bool rec_stacks_on;

/* Record the native stack of the event just recorded, from the frame whose
 * instruction is `from`. Out of line; lock- and allocation-free. */
void rec_stack(uintptr_t from);

#endif
