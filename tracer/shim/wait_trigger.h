/*
 * wait_trigger.h — the snapshot trigger on the recording path (giltrace run
 * --trigger-wait-ms): a GIL wait longer than the threshold asks the watching
 * giltrace for a snapshot, once per wait.
 *
 * A wait is timed with the raw timestamps of the thread's own events (BUSY,
 * then each RETRY and the ACQUIRE), so inside the GIL's critical sections
 * the trigger costs a subtraction and a compare, and no clock read. The
 * threshold in raw clock units is worked out outside them
 * (wait_trigger_prepare), once the clock has run long enough to be measured.
 */
#ifndef GILTRACE_WAIT_TRIGGER_H
#define GILTRACE_WAIT_TRIGGER_H

#include <stdint.h>

#include "shim_thread.h"

/* The threshold in raw clock units; 0 = no trigger, or not known yet. */
extern uint64_t wait_trigger_raw;

/* Outside the critical sections (a GIL mutex about to be locked): work out
 * the threshold if a trigger is set and it is not known yet. */
void wait_trigger_prepare(void);

/* Thread `t`'s wait began at raw time `ts` (0: its BUSY was lost). */
static inline void wait_trigger_began(struct shim_thread *t, uint64_t ts)
{
    t->wait_start_raw = ts;
    t->triggered = 0;
}

/* A wait that passed the threshold: tell the watcher (rare: once per wait). */
void wait_trigger_fire(struct shim_thread *t, uint64_t waited_raw);

/* Thread `t` is still (or no longer) waiting at raw time `ts`. */
static inline void wait_trigger_check(struct shim_thread *t, uint64_t ts)
{
    uint64_t limit = __atomic_load_n(&wait_trigger_raw, __ATOMIC_RELAXED);
    if (__builtin_expect(limit == 0, 1) || t->triggered || !t->wait_start_raw || ts < t->wait_start_raw)
        return;
    if (ts - t->wait_start_raw > limit)
        wait_trigger_fire(t, ts - t->wait_start_raw);
}

#endif
