/*
 * recorder.c — the out-of-line part of the recording path: claiming a chunk.
 * See recorder.h.
 */
#include "recorder.h"

#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ring_writer.h"

__thread struct shim_thread shim_self __attribute__((tls_model("initial-exec")));
unsigned rec_clock_kind = RING_CLOCK_MONOTONIC;
unsigned rec_clock_mode = REC_CLOCK_MONOTONIC;

#if defined(__x86_64__)
#include <cpuid.h>

static bool cpu_has_rdpid(void)
{
    unsigned a, b, c, d;
    return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (c >> 22) & 1;
}
#endif

void rec_clock_setup(void)
{
    rec_clock_kind = ring_clock_best();
    rec_clock_mode = REC_CLOCK_MONOTONIC;
#if defined(__x86_64__)
    if (rec_clock_kind == RING_CLOCK_TSC)
        rec_clock_mode = cpu_has_rdpid() ? REC_CLOCK_RDTSC_RDPID : REC_CLOCK_RDTSCP;
#endif
}

void shim_thread_reset(struct shim_thread *t)
{
    memset(t, 0, sizeof *t);
}

uint32_t shim_thread_tid(struct shim_thread *t)
{
    if (__builtin_expect(t->tid == 0, 0)) {
        int saved_errno = errno;
        t->tid = (uint32_t)syscall(SYS_gettid);
        errno = saved_errno;
    }
    return t->tid;
}

bool rec_refill(struct shim_thread *t)
{
    int saved_errno = errno;
    shim_thread_tid(t);
    uint64_t seq;
    struct ring_record *first = ring_writer_claim_chunk(t->tid, &t->chunk, &seq);
    if (!first) {
        t->pos = t->end = NULL;
        ring_writer_count_lost(1);
        errno = saved_errno;
        return false;
    }
    t->pos = first;
    t->end = first + RING_RECORDS_PER_CHUNK;
    t->next_check = (uint32_t)(seq << 12);
    errno = saved_errno;
    return true;
}
