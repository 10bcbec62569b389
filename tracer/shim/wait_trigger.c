/*
 * wait_trigger.c — the snapshot trigger's threshold and its report. See
 * wait_trigger.h.
 */
#include "wait_trigger.h"

#include "rec_clock.h"
#include "ring_writer.h"

/* The clock must have run this long before its rate is taken. */
#define RATE_SPAN_NS 10000000u

uint64_t wait_trigger_raw;
static double raw_per_ns; /* set before wait_trigger_raw is published */

void wait_trigger_prepare(void)
{
    uint64_t limit_ns = ring_writer_trigger_ns();
    if (__builtin_expect(limit_ns == 0, 1) || __atomic_load_n(&wait_trigger_raw, __ATOMIC_ACQUIRE))
        return;
    struct ring_calibration start;
    if (!ring_writer_start_calibration(&start))
        return;
    struct ring_calibration now = rec_clock_calibrate();
    if (now.mono_ns < start.mono_ns + RATE_SPAN_NS || now.raw <= start.raw)
        return;
    raw_per_ns = (double)(now.raw - start.raw) / (double)(now.mono_ns - start.mono_ns);
    uint64_t raw = (uint64_t)((double)limit_ns * raw_per_ns);
    __atomic_store_n(&wait_trigger_raw, raw ? raw : 1, __ATOMIC_RELEASE);
}

void wait_trigger_fire(struct shim_thread *t, uint64_t waited_raw)
{
    t->triggered = 1;
    ring_writer_trigger(shim_thread_tid(t), (uint64_t)((double)waited_raw / raw_per_ns));
}
