/*
 * rec_clock.c — choosing how the recording path reads the time. See
 * rec_clock.h.
 */
#include "rec_clock.h"

#include <dlfcn.h>
#include <stddef.h>

unsigned rec_clock_kind = RING_CLOCK_MONOTONIC;
unsigned rec_clock_mode = REC_CLOCK_MONOTONIC;
long rec_rseq_cpu;

#if defined(__x86_64__)
#include <cpuid.h>

static bool cpu_has_rdpid(void)
{
    unsigned a, b, c, d;
    return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (c >> 22) & 1;
}
#endif

/* Where glibc keeps the rseq area it registered for each thread (2.35+:
 * __rseq_offset and __rseq_size, looked up here so that an older glibc
 * simply has none); 0 if none is registered. */
static long rseq_cpu_offset(void)
{
    const ptrdiff_t *offset = dlsym(RTLD_DEFAULT, "__rseq_offset");
    const unsigned *size = dlsym(RTLD_DEFAULT, "__rseq_size");
    if (!offset || !size || *size < 8)
        return 0;
    long at = (long)*offset + 4; /* struct rseq: u32 cpu_id_start, u32 cpu_id */
    /* The kernel fills cpu_id at registration: -1 would mean it did not. */
    int32_t c = *(const volatile int32_t *)((const char *)__builtin_thread_pointer() + at);
    return c >= 0 && at != 0 ? at : 0;
}

void rec_clock_setup(void)
{
    rec_clock_kind = ring_clock_best();
    rec_clock_mode = REC_CLOCK_MONOTONIC;
    rec_rseq_cpu = rseq_cpu_offset();
#if defined(__x86_64__)
    if (rec_clock_kind == RING_CLOCK_TSC)
        rec_clock_mode = rec_rseq_cpu       ? REC_CLOCK_RDTSC_RSEQ
                         : cpu_has_rdpid() ? REC_CLOCK_RDTSC_RDPID
                                           : REC_CLOCK_RDTSCP;
#endif
}
