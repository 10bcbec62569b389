/*
 * shim_thread.c — the shim's per-thread state and session. See shim_thread.h.
 */
#include "shim_thread.h"

#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

__thread struct shim_thread shim_self __attribute__((tls_model("initial-exec")));
uint32_t shim_session;

void shim_thread_reset(struct shim_thread *t)
{
    uintptr_t top = t->stack_top;
    memset(t, 0, sizeof *t);
    t->stack_top = top;
}

uint32_t shim_thread_tid_fetch(struct shim_thread *t)
{
    int saved_errno = errno;
    t->tid = (uint32_t)syscall(SYS_gettid);
    errno = saved_errno;
    return t->tid;
}
