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
#include "stack_table.h"
#include "stack_unwind.h"

__thread struct shim_thread shim_self __attribute__((tls_model("initial-exec")));
uint32_t shim_session;
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
    uintptr_t top = t->stack_top;
    memset(t, 0, sizeof *t);
    t->stack_top = top;
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

bool rec_stacks_on;

/* Capture the calling thread's stack from `from` and record its id after the
 * event just recorded. */
void rec_stack(uintptr_t from)
{
    struct shim_thread *t = &shim_self;
    struct ring_aux *a = ring_writer_aux(true);
    if (!a || t->in_unwind)
        return;
    int saved_errno = errno;
    uint32_t id = 0;
    if (t->stack_top) {
        t->in_unwind = 1;
        uintptr_t ips[RING_STACK_MAX_DEPTH];
        bool truncated;
        unsigned n = stack_unwind(from, t->stack_top, ips, RING_STACK_MAX_DEPTH, &truncated);
        id = n ? stack_table_intern(a, ips, n, truncated) : 0;
        t->in_unwind = 0;
    }
    if (id == 0 || !rec_raw(RING_REC_STACK, id))
        __atomic_fetch_add(&a->lost_stacks, 1, __ATOMIC_RELAXED);
    errno = saved_errno;
}

static bool refill(struct shim_thread *t, bool count_lost)
{
    int saved_errno = errno;
    shim_thread_tid(t);
    uint64_t seq;
    struct ring_record *first = ring_writer_claim_chunk(t->tid, &t->chunk, &seq);
    if (!first) {
        t->pos = t->end = NULL;
        if (count_lost)
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

bool rec_refill(struct shim_thread *t)
{
    return refill(t, true);
}

bool rec_refill_quiet(struct shim_thread *t)
{
    return refill(t, false);
}
