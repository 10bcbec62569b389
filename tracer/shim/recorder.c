/*
 * recorder.c — the out-of-line part of the recording path: claiming chunks
 * ahead of need, moving to the next one, and native stacks.
 * See recorder.h.
 */
#include "recorder.h"

#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
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

uint32_t rec_stack_capture(uintptr_t from)
{
    struct shim_thread *t = &shim_self;
    struct ring_aux *a = ring_writer_aux(true);
    if (!a || t->in_unwind || !t->stack_top)
        return 0;
    t->in_unwind = 1;
    uintptr_t ips[RING_STACK_MAX_DEPTH];
    bool truncated;
    unsigned n = stack_unwind(from, t->stack_top, ips, RING_STACK_MAX_DEPTH, &truncated);
    uint32_t id = n ? stack_table_intern(a, ips, n, truncated) : 0;
    t->in_unwind = 0;
    return id;
}

void rec_stack_store(struct shim_entered self, uint32_t id)
{
    if (id && rec_raw(self, RING_REC_STACK, id))
        return;
    struct ring_aux *a = ring_writer_aux(true);
    if (a)
        __atomic_fetch_add(&a->lost_stacks, 1, __ATOMIC_RELAXED);
}

/* Claim a chunk for `t`; false (and ring_full set) when there is none. */
static bool claim(struct shim_thread *t, struct ring_chunk_header **chunk, uint64_t *seq)
{
    shim_thread_tid(t);
    *chunk = ring_writer_claim_chunk(t->tid, seq);
    t->ring_full = *chunk == NULL;
    return *chunk != NULL;
}

/* Start writing into chunk `c` claimed as `seq`; the one before is done. */
static void switch_to(struct shim_thread *t, struct ring_chunk_header *c, uint64_t seq)
{
    if (t->chunk)
        ring_writer_chunk_done(t->chunk);
    t->chunk = c;
    t->pos = ring_chunk_records(c);
    t->end = t->pos + RING_RECORDS_PER_CHUNK;
    t->next_check = (uint32_t)(seq << 12);
}

void rec_prepare_chunks(struct shim_entered self)
{
    struct shim_thread *t = self.t;
    if (t->ring_full && ring_writer_exhausted())
        return;
    struct ring_chunk_header *c;
    uint64_t seq;
    if (t->pos == t->end) {
        if (t->spare) {
            switch_to(t, t->spare, t->spare_seq);
            t->spare = NULL;
        } else if (claim(t, &c, &seq)) {
            switch_to(t, c, seq);
        }
        return;
    }
    if (!t->spare && claim(t, &c, &seq)) {
        t->spare = c;
        t->spare_seq = seq;
    }
}

bool rec_next_chunk(struct shim_entered self, bool count_lost)
{
    struct shim_thread *t = self.t;
    struct ring_chunk_header *c;
    uint64_t seq;
    if (t->spare) {
        switch_to(t, t->spare, t->spare_seq);
        t->spare = NULL;
        return true;
    }
    /* The rare claim inside a critical section (recorder.h), never retried
     * once the ring is known to be full. */
    if (!t->ring_full && claim(t, &c, &seq)) {
        switch_to(t, c, seq);
        return true;
    }
    if (count_lost)
        ring_writer_count_lost(t->chunk, 1);
    return false;
}
