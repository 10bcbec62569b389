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

void shim_thread_reset(struct shim_thread *t)
{
    memset(t, 0, sizeof *t);
}

bool rec_refill(struct shim_thread *t)
{
    int saved_errno = errno;
    if (t->tid == 0)
        t->tid = (uint32_t)syscall(SYS_gettid);
    uint64_t seq;
    struct ring_record *first = ring_writer_claim_chunk(t->tid, &seq);
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
