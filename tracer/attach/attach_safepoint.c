/*
 * attach_safepoint.c — which stopped thread may run a call. See
 * attach_safepoint.h.
 */
#include "attach_safepoint.h"

#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "attach_call.h"
#include "attach_unwind.h"

#define MAX_FRAMES 256
#define CLEAN_STACK_NEEDED (256u * 1024)
#define ANY_STACK_NEEDED (32u * 1024)

/* Blocked in a system call that was interrupted to stop it. */
static bool interrupted_call(const struct user_regs_struct *r)
{
    long rax = (long)r->rax;
    return (long)r->orig_rax >= 0 && rax <= -512 && rax >= -516;
}

/* In a call that installed a signal mask of its own for its duration
 * (glibc's select and poll use pselect6 and ppoll, with none). */
static bool temporary_sigmask(pid_t tid, const struct user_regs_struct *r)
{
    uint64_t mask = 0;
    switch ((long)r->orig_rax) {
    case SYS_rt_sigsuspend:
        return true;
    case SYS_ppoll:
        return r->r10 != 0;
    case SYS_epoll_pwait:
    case SYS_epoll_pwait2:
        return r->r8 != 0;
    case SYS_pselect6:
    case SYS_io_pgetevents: { /* the last argument points to {sigset pointer, size} */
        struct iovec local = {&mask, sizeof mask}, remote = {(void *)r->r9, sizeof mask};
        return r->r9 && (process_vm_readv(tid, &local, 1, &remote, 1, 0) != sizeof mask || mask != 0);
    }
    default:
        return false;
    }
}

static bool in_object(const struct attach_object *o, uintptr_t addr)
{
    return addr >= o->lo && addr < o->hi;
}

struct stack_check {
    const struct attach_target *t;
    const char *bad;
    char name[128];
};

/* One frame: the dynamic loader and the deny list are out. */
static bool frame_allowed(void *ctx, uintptr_t addr)
{
    struct stack_check *c = ctx;
    if (in_object(&c->t->ldso, addr)) {
        c->bad = "in the dynamic loader";
        return false;
    }
    const struct attach_range *r = in_object(&c->t->libc, addr) ? attach_target_denied(c->t, addr) : NULL;
    if (r) {
        snprintf(c->name, sizeof c->name, "inside %s", r->name);
        c->bad = c->name;
    }
    return !r;
}

/* Walk the stack of stopped thread `tid`; NULL if nothing on it is denied. */
static const char *check_stack(const struct attach_target *t, struct attach_unwinder *u, pid_t tid, char *buf,
                               size_t n)
{
    struct stack_check c = {.t = t};
    switch (attach_unwind_frames(u, tid, MAX_FRAMES, frame_allowed, &c)) {
    case ATTACH_UNWIND_DONE:
        return NULL;
    case ATTACH_UNWIND_STOPPED:
        snprintf(buf, n, "%s", c.bad);
        return buf;
    case ATTACH_UNWIND_DEEP:
        return "its stack is too deep to check";
    default:
        return "its stack cannot be unwound";
    }
}

static const char *judge(const struct attach_target *t, struct attach_unwinder *u, const struct attach_thread *th,
                         enum attach_need need, char *buf, size_t n)
{
    const struct user_regs_struct *r = &th->regs;
    if (!th->stopped || !th->interrupted)
        return "stopped by a signal";
    if ((long)r->orig_rax >= 0 && temporary_sigmask(th->tid, r))
        return "in a call with a temporary signal mask";
    if (!attach_call_resumable(r))
        return "in a call a signal return cannot resume (a relative sleep)";
    const struct attach_mapping *stack = attach_maps_find(&t->maps, r->rsp);
    size_t needed = need == ATTACH_NEED_CLEAN_STACK ? CLEAN_STACK_NEEDED : ANY_STACK_NEEDED;
    if (!stack || (strcmp(stack->path, "[stack]") != 0 && r->rsp - stack->lo < needed))
        return "too little stack left";
    if (need == ATTACH_NEED_ANY)
        return NULL;
    if ((long)r->orig_rax < 0 && (in_object(&t->libc, r->rip) || in_object(&t->ldso, r->rip)))
        return "running inside libc";
    return check_stack(t, u, th->tid, buf, n);
}

int attach_safepoint_choose(const struct attach_threads *set, const struct attach_target *t, enum attach_need need,
                            char *why, size_t why_len)
{
    struct attach_unwinder *u = attach_unwind_new(set->pid, &t->maps);
    if (!u) {
        snprintf(why, why_len, "libunwind cannot be used");
        return -1;
    }
    size_t used = 0;
    why[0] = '\0';
    int chosen = -1;
    /* Pass 0: blocked in a call; pass 1: just out of one; pass 2: running. */
    for (int pass = 0; pass < 3 && chosen < 0; pass++) {
        for (size_t i = 0; i < set->count && chosen < 0; i++) {
            const struct attach_thread *th = &set->t[i];
            bool in_call = (long)th->regs.orig_rax >= 0;
            int kind = interrupted_call(&th->regs) ? 0 : in_call ? 1 : 2;
            if (kind != pass)
                continue;
            char buf[128];
            const char *bad = judge(t, u, th, need, buf, sizeof buf);
            if (!bad) {
                chosen = (int)i;
            } else if (used < why_len) {
                int w = snprintf(why + used, why_len - used, "%sthread %d: %s", used ? "; " : "", (int)th->tid, bad);
                used += w > 0 ? (size_t)w : 0;
            }
        }
    }
    attach_unwind_free(u);
    if (chosen < 0 && !why[0])
        snprintf(why, why_len, "no thread is stopped");
    return chosen;
}
