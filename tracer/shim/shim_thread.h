/*
 * shim_thread.h — what the shim keeps per thread, in initial-exec TLS so that
 * reaching it costs one %fs-relative access and never allocates.
 */
#ifndef GILTRACE_SHIM_THREAD_H
#define GILTRACE_SHIM_THREAD_H

#include <stdint.h>
#include <time.h>

#include "ring.h"

struct gil;

/* A timestamp read outside a GIL critical section for an event recorded
 * inside it (recorder.h, rec_stamp). */
struct shim_stamp {
    uint64_t raw;
    unsigned cpu;
    uint8_t set;
};

struct shim_thread {
    /* Recording cursor in this thread's current chunk; pos == end means the
     * next event must move to another chunk first (also true before the
     * first, when both are NULL). */
    struct ring_record *pos;
    struct ring_record *end;
    struct ring_chunk_header *chunk; /* the chunk pos points into, or the last one filled, or NULL */
    uint32_t next_check; /* (seq << 12 | index) of *pos, before the key */
    uint32_t tid;        /* 0 until the first event */
    /* The chunk to move to when this one is full, claimed ahead of need
     * outside any GIL critical section (recorder.h), or NULL. */
    struct ring_chunk_header *spare;
    uint64_t spare_seq;
    uint8_t ring_full;   /* the last claim failed: no claim is tried inside a critical section */

    /* Where the thread is in CPython's take_gil. */
    uint32_t waits;      /* timed waits on the GIL condvar since its last ACQUIRE */
    uint8_t sem_waiting; /* 2.7: BUSY recorded, ACQUIRE not yet */
    uint8_t triggered;   /* this wait already passed the trigger threshold */
    uint8_t holds_gil;   /* an ACQUIRE not yet followed by a RELEASE */
    uint8_t in_unwind;   /* capturing a stack (no re-entry) */
    /* giltrace run --experiment (gil_experiment.h) */
    uint8_t exp_voluntary;    /* its last RELEASE was voluntary */
    uint8_t exp_resolved;     /* the tid rules were looked up */
    uint32_t exp_interval_us; /* its own switch interval (0: the interpreter's) */
    uint64_t wait_start_raw;  /* raw timestamp of its BUSY, kept only with a trigger set */
    uint64_t trigger_waited;  /* a wait past the trigger, in raw ticks, to report outside the mutex */

    /* Stacks captured before the GIL mutex was taken, for the RELEASE or
     * BUSY recorded inside it. */
    struct shim_stacks {
        uint32_t native; /* stack id (0: none) */
        uint32_t python; /* Python stack id (0: none) */
        uint8_t ready;   /* captured; else they are taken inside, late */
    } stacks_release, stacks_busy;

    /* Clocks read before the real lock(M) for the event its critical
     * section will record: by a GIL holder (drop_gil: its RELEASE) and by a
     * thread that finds the GIL taken (take_gil: its BUSY). */
    struct shim_stamp stamp_release, stamp_busy;
    /* The GIL whose mutex M the thread last locked (prepare): where its
     * next condvar or switch-mutex call most likely belongs. A cache only:
     * each use compares the address, and M's owner decides the rest. */
    struct gil *locked_gil;
    /* An ACQUIRE seen inside M (signal(SC) in take_gil), recorded once the
     * real unlock of M has returned: M's address (0: none pending) and the
     * GIL's index. The rest of it (wait count, holds_gil) is settled then. */
    uintptr_t acquire_mutex;
    uint8_t acquire_gil;
    /* What makes the wrappers called inside M cheap, set by lock(M)'s
     * prepare outside it: a holder in drop_gil whose RELEASE is already
     * recorded leaves its signal(C) nothing to do (`released_cond`: C's
     * address, else 0); a thread in take_gil locks SM inside M with nothing
     * to record (`taking_sm`: SM's address until its ACQUIRE, else 0). */
    uintptr_t released_cond;
    uintptr_t taking_sm;

    /* The highest stack address unwinding may read (0: unknown). Kept
     * across shim_thread_reset: the stack is the same after a fork. */
    uintptr_t stack_top;

    /* The create_gil() signature: mutex_init x2 then cond_init x2. */
    uint8_t init_len;
    uintptr_t init_addr[4];
    clockid_t init_cond_clock;

    uint32_t session; /* shim_session this state belongs to */
};

extern __thread struct shim_thread shim_self __attribute__((tls_model("initial-exec")));

/* Bumped when `giltrace attach` starts a session; always 0 under LD_PRELOAD.
 * A thread's state from an earlier session (its cursor points into a ring
 * that is gone, its wait count is stale) is forgotten at its next GIL call. */
extern uint32_t shim_session;

/* Forget the recording cursor and call state (fork child, tests). */
void shim_thread_reset(struct shim_thread *t);

/* A thread's state as shim_thread_enter() hands it out: checked against
 * the current session. The recording functions take only this type, so
 * nothing records through a cursor left over from an earlier session. */
struct shim_entered {
    struct shim_thread *t;
};

/* The calling thread's state, reset first if it belongs to an earlier
 * session. Every slow path that may record starts here. */
static inline struct shim_entered shim_thread_enter(void)
{
    struct shim_thread *t = &shim_self;
    uint32_t session = __atomic_load_n(&shim_session, __ATOMIC_ACQUIRE);
    if (__builtin_expect(t->session != session, 0)) {
        shim_thread_reset(t);
        t->session = session;
    }
    return (struct shim_entered){t};
}

/* The calling thread's kernel tid, fetched by the first call. */
uint32_t shim_thread_tid_fetch(struct shim_thread *t);

static inline uint32_t shim_thread_tid(struct shim_thread *t)
{
    return __builtin_expect(t->tid != 0, 1) ? t->tid : shim_thread_tid_fetch(t);
}

#endif
