/*
 * rec_clock.h — how the recording path reads the time.
 *
 * The ring's clock (formats/ring/ring_clock.h) is the TSC where the kernel trusts
 * it. Reading it costs ~11 ns with rdtsc and ~23 ns with rdtscp or
 * lfence+rdtsc, so the recorder uses the fence only where order matters: an
 * event recorded just after taking a lock that another thread released
 * (ACQUIRE, TIMEOUT and DROP_REQUEST, all recorded after (re)locking the GIL
 * mutex) must not read the TSC before the lock is really taken, or it could
 * be stamped earlier than the other thread's RELEASE. Events recorded before
 * letting go of a lock need no fence: rdtsc executes before the later store
 * that publishes the unlock.
 *
 * The CPU number comes from the thread's rseq area, which glibc 2.35+
 * registers and the kernel keeps current (one load from TLS; its offset
 * from the thread pointer is looked up at run time, never assumed from the
 * build machine's glibc); without one, from rdpid, or rdtscp's TSC_AUX on
 * CPUs without rdpid; on the CLOCK_MONOTONIC fallback without rseq it is
 * left unknown rather than asked of the kernel per event.
 */
#ifndef GILTRACE_REC_CLOCK_H
#define GILTRACE_REC_CLOCK_H

#include <stdbool.h>

#include "ring_clock.h"

enum rec_clock_mode {
    REC_CLOCK_MONOTONIC,   /* clock_gettime; the CPU from rseq, or unknown */
    REC_CLOCK_RDTSCP,      /* rdtscp: ordered, with the CPU */
    REC_CLOCK_RDTSC_RDPID, /* rdtsc (+ lfence when ordered), rdpid */
    REC_CLOCK_RDTSC_RSEQ   /* rdtsc (+ lfence when ordered), the CPU from rseq */
};

/* enum ring_clock of this process's rings, and how it is read; both set by
 * rec_clock_setup() before any ring exists. */
extern unsigned rec_clock_kind;
extern unsigned rec_clock_mode;

/* Offset from the thread pointer of the rseq area's cpu_id (glibc's
 * __rseq_offset + 4), or 0 when glibc registered no rseq area. */
extern long rec_rseq_cpu;

/* Choose the clock and the way to read it on this machine. */
void rec_clock_setup(void);

/* The CPU the calling thread runs on, from its rseq area. */
static inline unsigned rec_clock_rseq_cpu(void)
{
    int32_t c = *(const volatile int32_t *)((const char *)__builtin_thread_pointer() + rec_rseq_cpu);
    return c >= 0 ? (unsigned)c : RING_CPU_UNKNOWN;
}

static inline uint64_t rec_clock_now(bool after_lock, unsigned *cpu)
{
#if defined(__x86_64__)
    if (__builtin_expect(rec_clock_mode == REC_CLOCK_RDTSC_RSEQ, 1)) {
        if (after_lock)
            _mm_lfence();
        uint64_t t = __rdtsc();
        *cpu = rec_clock_rseq_cpu();
        return t;
    }
    if (rec_clock_mode == REC_CLOCK_RDTSC_RDPID) {
        if (after_lock)
            _mm_lfence();
        uint64_t t = __rdtsc();
        uint64_t aux;
        __asm__ volatile("rdpid %0" : "=r"(aux));
        *cpu = (unsigned)aux & 0xfffu; /* Linux keeps the CPU number in TSC_AUX[11:0] */
        return t;
    }
    if (rec_clock_mode == REC_CLOCK_RDTSCP)
        return ring_clock_read(rec_clock_kind, cpu);
#endif
    (void)after_lock;
    *cpu = rec_rseq_cpu ? rec_clock_rseq_cpu() : RING_CPU_UNKNOWN;
    return ring_clock_monotonic_ns();
}

static inline struct ring_calibration rec_clock_calibrate(void)
{
    return ring_clock_pair(rec_clock_kind);
}

#endif
