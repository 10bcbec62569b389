/*
 * attach_call.c — a function call made by a stopped thread of another
 * process, returning through a signal frame. See attach_call.h.
 */
#include "attach_call.h"

#include <elf.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "ring_clock.h"

#define RED_ZONE 128u
#define XSTATE_MAX 16384u
#define FXSAVE_SIZE 512u
#define SW_RESERVED_OFFSET 464u /* struct _fpx_sw_bytes (signal.h) inside the FXSAVE area */
#define UC_FP_XSTATE 0x1u
#define UC_SIGCONTEXT_SS 0x2u
#define UC_STRICT_RESTORE_SS 0x4u
#define EFLAGS_TF 0x100u
#define EFLAGS_DF 0x400u
#define ERESTARTSYS 512
#define ERESTARTNOINTR 513
#define ERESTARTNOHAND 514
#define ERESTART_RESTARTBLOCK 516

/* The kernel's x86-64 struct ucontext and struct rt_sigframe. */
struct kernel_ucontext {
    uint64_t uc_flags;
    uint64_t uc_link;
    stack_t uc_stack;
    struct sigcontext uc_mcontext;
    uint64_t uc_sigmask;
};

struct rt_sigframe {
    uint64_t pretcode;
    struct kernel_ucontext uc;
    siginfo_t info;
};

_Static_assert(offsetof(struct kernel_ucontext, uc_mcontext) == 40, "ucontext layout");
_Static_assert(offsetof(struct kernel_ucontext, uc_sigmask) == 296, "ucontext layout");
_Static_assert(sizeof(struct rt_sigframe) == 440, "rt_sigframe layout");

static int fail(char *err, size_t n, int e, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t n, int e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, n, fmt, ap);
    va_end(ap);
    errno = e;
    return -1;
}

/* The thread's XSTATE (or only its FXSAVE area), made ready to sit in a
 * signal frame. Returns its size (without the trailing magic). */
static size_t read_fpstate(pid_t tid, uint8_t *buf, bool *xstate)
{
    struct iovec io = {buf, XSTATE_MAX};
    memset(buf, 0, XSTATE_MAX + 4);
    *xstate = ptrace(PTRACE_GETREGSET, tid, (void *)NT_X86_XSTATE, &io) == 0 && io.iov_len > FXSAVE_SIZE;
    if (!*xstate) {
        if (ptrace(PTRACE_GETFPREGS, tid, NULL, buf) != 0)
            return 0;
        memset(buf + SW_RESERVED_OFFSET, 0, sizeof(struct _fpx_sw_bytes)); /* no magic: FXRSTOR only */
        return FXSAVE_SIZE;
    }
    /* ptrace keeps XCR0 where a signal frame keeps its software bytes. */
    uint64_t xcr0;
    memcpy(&xcr0, buf + SW_RESERVED_OFFSET, sizeof xcr0);
    struct _fpx_sw_bytes sw = {
        .magic1 = FP_XSTATE_MAGIC1,
        .extended_size = (uint32_t)io.iov_len + FP_XSTATE_MAGIC2_SIZE,
        .xstate_bv = xcr0,
        .xstate_size = (uint32_t)io.iov_len,
    };
    memcpy(buf + SW_RESERVED_OFFSET, &sw, sizeof sw);
    uint32_t magic2 = FP_XSTATE_MAGIC2;
    memcpy(buf + io.iov_len, &magic2, sizeof magic2);
    return io.iov_len;
}

/* The signals the thread blocks, from /proc (SigBlk). */
static bool read_sigmask(pid_t pid, pid_t tid, uint64_t *mask)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/task/%d/status", (int)pid, (int)tid);
    FILE *f = fopen(path, "re");
    bool found = false;
    while (f && !found && fgets(line, sizeof line, f))
        found = sscanf(line, "SigBlk: %" SCNx64, mask) == 1;
    if (f)
        fclose(f);
    return found;
}

/* How the interrupted system call of a thread must be resumed. */
enum resume { RESUME_AS_IS, RESUME_REISSUE, RESUME_IMPOSSIBLE };

static enum resume resume_kind(const struct user_regs_struct *r)
{
    long rax = (long)r->rax;
    if ((long)r->orig_rax < 0)
        return RESUME_AS_IS;
    if (rax == -ERESTARTSYS || rax == -ERESTARTNOINTR || rax == -ERESTARTNOHAND)
        return RESUME_REISSUE;
    if (rax != -ERESTART_RESTARTBLOCK)
        return RESUME_AS_IS; /* finished, or failed with what it returns */
    bool absolute_futex_wait = (long)r->orig_rax == SYS_futex && (r->rsi & FUTEX_CMD_MASK) == FUTEX_WAIT_BITSET && r->r10;
    return absolute_futex_wait ? RESUME_REISSUE : RESUME_IMPOSSIBLE;
}

bool attach_call_resumable(const struct user_regs_struct *r)
{
    return resume_kind(r) != RESUME_IMPOSSIBLE;
}

/* Where the thread resumes: its own registers, with an interrupted system
 * call to be issued again by executing its `syscall` instruction anew. */
static bool resume_point(pid_t pid, const struct user_regs_struct *r, struct sigcontext *sc)
{
    memset(sc, 0, sizeof *sc);
    sc->r8 = r->r8, sc->r9 = r->r9, sc->r10 = r->r10, sc->r11 = r->r11;
    sc->r12 = r->r12, sc->r13 = r->r13, sc->r14 = r->r14, sc->r15 = r->r15;
    sc->rdi = r->rdi, sc->rsi = r->rsi, sc->rbp = r->rbp, sc->rbx = r->rbx;
    sc->rdx = r->rdx, sc->rax = r->rax, sc->rcx = r->rcx, sc->rsp = r->rsp;
    sc->rip = r->rip, sc->eflags = r->eflags;
    sc->cs = (unsigned short)r->cs;
    sc->__pad0 = (unsigned short)r->ss;
    enum resume kind = resume_kind(r);
    if (kind != RESUME_REISSUE)
        return kind == RESUME_AS_IS;
    uint8_t insn[2];
    struct iovec local = {insn, 2}, remote = {(void *)(r->rip - 2), 2};
    if (process_vm_readv(pid, &local, 1, &remote, 1, 0) != 2 || insn[0] != 0x0f || insn[1] != 0x05)
        return false; /* not stopped right after a `syscall`: cannot rewind */
    sc->rip = r->rip - 2;
    sc->rax = r->orig_rax;
    return true;
}

#define POLL_NS 50000 /* how often a flag is looked at */

/* Stop a running traced thread (our interrupt, or a signal that came
 * first: kept for delivery). Returns false if it is gone. */
static bool interrupt(struct attach_thread *th, int64_t deadline)
{
    ptrace(PTRACE_INTERRUPT, th->tid, NULL, NULL);
    int st;
    for (;;) {
        if (attach_wait(th->tid, &st, deadline) != 0 || !WIFSTOPPED(st))
            return false;
        if (WSTOPSIG(st) == (SIGTRAP | 0x80)) { /* a syscall stop queued before the interrupt */
            ptrace(PTRACE_CONT, th->tid, NULL, NULL);
            continue;
        }
        if (st >> 16 == 0)
            th->signal = WSTOPSIG(st);
        th->stopped = true;
        return true;
    }
}

static bool flag_changed(pid_t pid, uintptr_t flag, int32_t pending)
{
    int32_t v = pending;
    struct iovec local = {&v, sizeof v}, remote = {(void *)flag, sizeof v};
    return process_vm_readv(pid, &local, 1, &remote, 1, 0) == sizeof v && v != pending;
}

/* Let the prepared thread run the call until it is over: until its
 * rt_sigreturn at `frame` completed (no flag: it is then stopped just
 * after), or until the call's flag changed (it is then stopped wherever it
 * was, maybe still on its way back). */
static int run_call(struct attach_threads *set, struct attach_thread *th, const struct attach_call *call,
                    uintptr_t frame, const struct attach_call_limits *lim, bool *released, char *err, size_t n)
{
    uintptr_t flag = call->flag;
    int64_t start = (int64_t)ring_clock_monotonic_ns();
    int64_t valve = start + (int64_t)lim->valve_ms * 1000000, limit = start + (int64_t)lim->limit_ms * 1000000;
    bool returning = false;
    int sig = 0;
    th->stopped = false;
    for (;;) {
        if (ptrace(flag ? PTRACE_CONT : PTRACE_SYSCALL, th->tid, NULL, (void *)(long)sig) != 0)
            return fail(err, n, ESRCH, "thread %d of process %d vanished during the call to %s", (int)th->tid,
                        (int)set->pid, call->name);
        attach_test_point(call->name);
        sig = 0;
        int st, r;
        for (;;) {
            int64_t now = (int64_t)ring_clock_monotonic_ns();
            if (flag && flag_changed(set->pid, flag, call->flag_pending)) {
                if (!interrupt(th, now + 1000000000))
                    return fail(err, n, ESRCH, "process %d exited during the attach", (int)set->pid);
                return 0;
            }
            if (now >= valve && !*released) {
                attach_threads_release(set, th->tid);
                *released = true;
            }
            if (now >= limit) {
                if (interrupt(th, now + 200000000))
                    ptrace(PTRACE_DETACH, th->tid, NULL, (void *)(long)th->signal);
                th->stopped = false;
                return fail(err, n, ETIMEDOUT, "the call to %s in thread %d of process %d did not return within %u "
                            "ms; it was let go and finishes by itself", call->name, (int)th->tid, (int)set->pid,
                            lim->limit_ms);
            }
            int64_t wake = *released ? limit : valve;
            if (flag && wake > now + POLL_NS)
                wake = now + POLL_NS;
            if ((r = attach_wait(th->tid, &st, wake)) != 1)
                break;
        }
        if (r < 0 || WIFEXITED(st) || WIFSIGNALED(st))
            return fail(err, n, ESRCH, "process %d exited during the attach", (int)set->pid);
        if (WSTOPSIG(st) == (SIGTRAP | 0x80)) {
            struct __ptrace_syscall_info info;
            if (ptrace(PTRACE_GET_SYSCALL_INFO, th->tid, (void *)sizeof info, &info) <= 0)
                continue;
            if (returning && info.op == PTRACE_SYSCALL_INFO_EXIT)
                break;
            if (info.op == PTRACE_SYSCALL_INFO_ENTRY && info.entry.nr == SYS_rt_sigreturn &&
                info.stack_pointer == frame + 8)
                returning = true;
        } else if (st >> 16 == 0) {
            sig = WSTOPSIG(st); /* a signal for the program: deliver it, its handler nests on our frame */
        }
    }
    th->stopped = true;
    if (ptrace(PTRACE_GETREGS, th->tid, NULL, &th->regs) != 0)
        return fail(err, n, errno, "cannot read thread %d's registers: %s", (int)th->tid, strerror(errno));
    return 0;
}

int attach_call_run(struct attach_threads *set, struct attach_thread *th, const struct attach_call *call,
                    const struct attach_call_limits *lim, bool *released, char *err, size_t n)
{
    static uint8_t fp[XSTATE_MAX + 4];
    const struct user_regs_struct *r = &th->regs;
    bool xstate;
    size_t fp_size = read_fpstate(th->tid, fp, &xstate);
    uint64_t sigmask;
    if (!fp_size || !read_sigmask(set->pid, th->tid, &sigmask))
        return fail(err, n, ESRCH, "cannot read the state of thread %d of process %d", (int)th->tid, (int)set->pid);

    struct rt_sigframe frame;
    memset(&frame, 0, sizeof frame);
    if (!resume_point(set->pid, r, &frame.uc.uc_mcontext))
        return fail(err, n, EINVAL, "thread %d of process %d is in a system call that a signal return cannot "
                    "resume", (int)th->tid, (int)set->pid);
    uintptr_t data = ((uintptr_t)r->rsp - RED_ZONE - call->stack_len) & ~(uintptr_t)63;
    uintptr_t fpstate = (data - fp_size - 4) & ~(uintptr_t)63;
    uintptr_t frame_at = ((fpstate - sizeof frame) & ~(uintptr_t)15) - 8; /* as if `call` had pushed it */
    frame.pretcode = lim->restore_rt;
    frame.uc.uc_flags = (xstate ? UC_FP_XSTATE : 0) | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS;
    frame.uc.uc_stack.ss_flags = SS_ONSTACK | SS_DISABLE; /* invalid: the altstack stays as it is */
    frame.uc.uc_mcontext.fpstate = (struct _fpstate *)fpstate;
    frame.uc.uc_sigmask = sigmask;

    struct iovec local[3] = {{&frame, sizeof frame}, {fp, fp_size + 4}, {(void *)call->stack_data, call->stack_len}};
    struct iovec remote[3] = {{(void *)frame_at, sizeof frame},
                              {(void *)fpstate, fp_size + 4},
                              {(void *)data, call->stack_len}};
    ssize_t want = (ssize_t)(sizeof frame + fp_size + 4 + call->stack_len);
    if (process_vm_writev(set->pid, local, call->stack_data ? 3 : 2, remote, call->stack_data ? 3 : 2, 0) != want)
        return fail(err, n, EFAULT, "cannot write below the stack of thread %d of process %d", (int)th->tid,
                    (int)set->pid);

    struct user_regs_struct regs = *r;
    regs.rip = call->fn;
    regs.rdi = call->stack_data ? data : call->arg1;
    regs.rsi = call->arg2;
    regs.rsp = frame_at;
    regs.rax = 0;
    regs.orig_rax = (unsigned long long)-1; /* no restart applied to these registers */
    regs.eflags &= ~(unsigned long long)(EFLAGS_TF | EFLAGS_DF);
    if (ptrace(PTRACE_SETREGS, th->tid, NULL, &regs) != 0)
        return fail(err, n, errno, "cannot set thread %d's registers: %s", (int)th->tid, strerror(errno));
    return run_call(set, th, call, frame_at, lim, released, err, n);
}
