/*
 * attach_safepoint.h — choosing the stopped thread that will run a call for
 * `giltrace attach`.
 *
 * dlopen allocates and takes the loader's locks. A thread hijacked while it
 * holds one of them (inside malloc, the dynamic loader, fork, thread
 * creation, stdio) would wait for itself forever. So for dlopen a thread
 * qualifies when it is stopped by our interrupt, either blocked in a system
 * call or running code outside libc and the loader, with none of the
 * functions of attach_target.h's deny list and no loader frame anywhere on
 * its stack (unwound with libunwind's ptrace accessors from the call frame
 * information, so stripped builds work), and with stack to spare. Threads
 * blocked in a call come first: their pause costs the program nothing.
 * A thread inside ppoll, pselect, epoll_pwait or sigsuspend is never used:
 * those install a temporary signal mask whose original cannot be read from
 * outside.
 *
 * The stop entry point takes no lock and allocates nothing: any thread with
 * stack to spare will do, wherever it is.
 */
#ifndef GILTRACE_ATTACH_SAFEPOINT_H
#define GILTRACE_ATTACH_SAFEPOINT_H

#include <stddef.h>

#include "attach_target.h"
#include "attach_threads.h"

enum attach_need {
    ATTACH_NEED_CLEAN_STACK, /* for dlopen and the start entry */
    ATTACH_NEED_ANY          /* for the stop entry */
};

/* The index in `set` of a thread that may run a call of kind `need`, or -1
 * with, in `why`, what kept each thread out ("thread 12: inside malloc"). */
int attach_safepoint_choose(const struct attach_threads *set, const struct attach_target *t, enum attach_need need,
                            char *why, size_t why_len);

#endif
