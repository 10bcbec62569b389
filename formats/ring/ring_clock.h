/*
 * ring_clock.h — the clocks a ring file's timestamps can be in, read the
 * same way by the shim's recording path and by readers taking their own
 * calibration pair (formats/ring/ring.h, enum ring_clock); and the one
 * CLOCK_MONOTONIC reader every tool and test times itself with.
 */
#ifndef GILTRACE_RING_CLOCK_H
#define GILTRACE_RING_CLOCK_H

#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "ring.h"

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

static inline uint64_t ring_clock_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The same clock in seconds: what tools time their own work with. */
static inline double ring_clock_monotonic_s(void)
{
    return (double)ring_clock_monotonic_ns() * 1e-9;
}

/* Now, in `clock` (enum ring_clock), and the CPU it was read on
 * (RING_CPU_UNKNOWN if not known). No syscall on x86-64; errno untouched. */
static inline uint64_t ring_clock_read(unsigned clock, unsigned *cpu)
{
#if defined(__x86_64__)
    if (__builtin_expect(clock == RING_CLOCK_TSC, 1)) {
        unsigned aux;
        uint64_t t = __rdtscp(&aux);
        *cpu = aux & 0xfffu; /* Linux keeps the CPU number in TSC_AUX[11:0] */
        return t;
    }
#else
    (void)clock;
#endif
    int c = sched_getcpu();
    *cpu = c < 0 ? RING_CPU_UNKNOWN : (unsigned)c;
    return ring_clock_monotonic_ns();
}

/* The best clock on this machine: RING_CLOCK_TSC on x86-64 with an invariant
 * TSC and rdtscp that the kernel trusts (its clocksource, or one it lists as
 * available: a KVM guest keeps kvm-clock over a stable TSC), otherwise
 * RING_CLOCK_MONOTONIC. Reads CPUID and up to two sysfs files. */
unsigned ring_clock_best(void);

/* One moment on `clock` and on CLOCK_MONOTONIC (raw is the midpoint of two
 * reads around clock_gettime). */
struct ring_calibration ring_clock_pair(unsigned clock);

/* This boot's id, 16 raw bytes; false (and zeros) if unreadable. */
bool ring_clock_boot_id(uint8_t out[16]);

#endif
