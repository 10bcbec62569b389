/*
 * attach_call.h — making one stopped thread of another process call a
 * function, and bringing it back exactly as it was.
 *
 * The thread's whole state is saved where the kernel itself would save it
 * for a signal handler: an rt_sigframe written below its stack's red zone,
 * with its general registers, its XSTATE (x87, SSE, AVX... as read with
 * PTRACE_GETREGSET) and its signal mask. The call is then set up as if
 * that handler were being entered: the function's return address is
 * glibc's __restore_rt, whose rt_sigreturn reloads everything from the
 * frame. So the thread comes back by itself, whether or not giltrace is
 * still there to see it: a giltrace killed during the call leaves a target
 * that simply carries on.
 *
 * A thread stopped in an interrupted system call is restarted as the
 * kernel would have done it: for -ERESTARTSYS, -ERESTARTNOINTR and
 * -ERESTARTNOHAND the frame resumes at the `syscall` instruction with the
 * call's number (orig_rax) in rax (its arguments are still in their
 * registers). Meanwhile orig_rax is -1, so the kernel does not apply its
 * own restart to the call's registers. -ERESTART_RESTARTBLOCK cannot be
 * resumed that way in general: the kernel keeps what is left of the call
 * (a relative sleep's remaining time) in the thread, and rt_sigreturn
 * discards it, so restart_syscall would fail with EINTR. The one such call
 * that matters, a futex wait with an absolute deadline (how glibc waits on
 * a condition variable or semaphore with a timeout: every GIL waiter), is
 * simply issued again, which is what its restart does; any other is
 * refused. The frame's alternate signal
 * stack field holds an invalid mode, which rt_sigreturn ignores: the
 * thread's sigaltstack, which cannot be read from outside, is left alone.
 *
 * The caller sees the return by a syscall stop (PTRACE_SYSCALL) at the
 * rt_sigreturn of this frame; the thread is left stopped just after it,
 * ready for another call or to be let go. Or it watches a flag the
 * function sets last in memory of its own, and stops the thread wherever
 * it is then.
 */
#ifndef GILTRACE_ATTACH_CALL_H
#define GILTRACE_ATTACH_CALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/user.h>

#include "attach_threads.h"

struct attach_call {
    const char *name; /* for messages ("dlopen") */
    uintptr_t fn;     /* the function, in the target */
    /* The first argument: where `stack_data` (stack_len bytes, a path say)
     * is copied below the thread's stack; without stack_data, arg1. */
    const void *stack_data;
    size_t stack_len;
    uint64_t arg1, arg2;
    /* 0: wait for the return itself, through syscall stops. Else the
     * address, in the target, of an int32 the function sets last, changing
     * it from flag_pending: wait for that instead, with no syscall stops on
     * the way, so that a call making many system calls keeps the target
     * paused far less. It must be memory that outlives the call (not the
     * thread's stack, which the thread reuses as soon as it is back). */
    uintptr_t flag;
    int32_t flag_pending;
};

struct attach_call_limits {
    uintptr_t restore_rt; /* glibc's __restore_rt in the target */
    unsigned valve_ms;    /* after this long, let the other threads run (one of them may hold a lock the call waits for) */
    unsigned limit_ms;    /* after this long, give up waiting: the thread is let go and finishes the call alone */
};

/* Can a thread stopped with registers `r` make a call and resume exactly? */
bool attach_call_resumable(const struct user_regs_struct *r);

/* Make stopped thread `th` of `set` call `call->fn(arg1, arg2)`. Returns 0
 * with `th` stopped again: in its original state (th->regs re-read: a
 * restart is now spelled out in them), or with a `flag` wherever it was
 * when the flag changed; or -1 with
 * a reason in `err` and errno: ESRCH (the process or thread is gone),
 * ETIMEDOUT (no return within limit_ms; `th` was let go), EFAULT (its stack
 * cannot be written), EINVAL (not resumable), or another ptrace error. `*released` becomes true
 * once the other threads have been let go. */
int attach_call_run(struct attach_threads *set, struct attach_thread *th, const struct attach_call *call,
                    const struct attach_call_limits *lim, bool *released, char *err, size_t err_len);

#endif
