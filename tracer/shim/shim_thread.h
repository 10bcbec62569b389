/*
 * shim_thread.h — what the shim keeps per thread, in initial-exec TLS so that
 * reaching it costs one %fs-relative access and never allocates.
 */
#ifndef GILTRACE_SHIM_THREAD_H
#define GILTRACE_SHIM_THREAD_H

#include <stdint.h>
#include <time.h>

#include "../../formats/ring.h"

struct gil;

struct shim_thread {
    /* Recording cursor in this thread's current chunk; pos == end means the
     * next event must claim a chunk first (also true before the first). */
    struct ring_record *pos;
    struct ring_record *end;
    struct ring_chunk_header *chunk; /* the chunk pos points into, or NULL */
    uint32_t next_check; /* (seq << 12 | index) of *pos, before the key */
    uint32_t tid;        /* 0 until the first event */

    /* Where the thread is in CPython's take_gil. */
    uint32_t waits;      /* timed waits on the GIL condvar since its last ACQUIRE */
    uint8_t sem_waiting; /* 2.7: BUSY recorded, ACQUIRE not yet */
    uint8_t triggered;   /* this wait already passed the trigger threshold */
    uint64_t wait_start_ns; /* CLOCK_MONOTONIC at BUSY, kept only with a trigger set */
    uint8_t holds_gil;   /* an ACQUIRE not yet followed by a RELEASE */
    uint8_t in_unwind;   /* capturing a stack (no re-entry) */

    /* The highest stack address unwinding may read (0: unknown). Kept
     * across shim_thread_reset: the stack is the same after a fork. */
    uintptr_t stack_top;

    /* The create_gil() signature: mutex_init x2 then cond_init x2. */
    uint8_t init_len;
    uintptr_t init_addr[4];
    clockid_t init_cond_clock;
};

extern __thread struct shim_thread shim_self __attribute__((tls_model("initial-exec")));

/* Forget the recording cursor and call state (fork child, tests). */
void shim_thread_reset(struct shim_thread *t);

/* The calling thread's kernel tid (fetched once). */
uint32_t shim_thread_tid(struct shim_thread *t);

#endif
