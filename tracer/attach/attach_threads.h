/*
 * attach_threads.h — stopping every thread of a process with ptrace and
 * letting them go again.
 *
 * Threads are seized (PTRACE_SEIZE: no SIGSTOP is sent, nothing the process
 * can see) and stopped with PTRACE_INTERRUPT; the task list is read again
 * until no new thread shows up. A thread in a blocking system call is
 * stopped with the call interrupted, to be restarted when it goes on
 * (attach_call.h). If giltrace dies at any point, the kernel detaches every
 * thread and they run on as if nothing had happened: nothing here is ever
 * left for the target to undo.
 *
 * Waiting uses SIGCHLD, which the caller must keep blocked (and not
 * ignored) for as long as it traces.
 */
#ifndef GILTRACE_ATTACH_THREADS_H
#define GILTRACE_ATTACH_THREADS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

struct attach_thread {
    pid_t tid;
    bool stopped;        /* in a ptrace stop now */
    bool interrupted;    /* that stop is our PTRACE_INTERRUPT, not a signal or group stop */
    int signal;          /* the signal it stopped for, delivered when it is let go */
    struct user_regs_struct regs; /* read when it stopped */
};

struct attach_threads {
    pid_t pid;
    size_t count, cap;
    struct attach_thread *t;
    int64_t stopped_ns;  /* when the first thread was interrupted */
    int64_t released_ns; /* when threads were first let go again */
};

/* Wait for a ptrace event of `tid` until `deadline_ns` (CLOCK_MONOTONIC).
 * Returns 0 with `*status` set, 1 on timeout, -1 with errno (ECHILD: the
 * thread is gone and reaped). */
int attach_wait(pid_t tid, int *status, int64_t deadline_ns);

/* Seize and stop every thread of `pid` within `timeout_ms`, and read each
 * one's registers. Returns 0, or -1 with errno (EPERM: not allowed, ESRCH:
 * the process is gone, ETIMEDOUT: a thread did not stop, e.g. in an
 * uninterruptible wait) and a one-line reason in `err`. After a failure
 * every thread that stopped has been let go; a thread that had not stopped
 * yet is let go when giltrace exits. */
int attach_threads_stop(pid_t pid, unsigned timeout_ms, struct attach_threads *set, char *err, size_t err_len);

/* Let every stopped thread go on, except `keep` (a tid, or 0), delivering
 * the signal it stopped for. */
void attach_threads_release(struct attach_threads *set, pid_t keep);

/* How long the process was stopped as a whole: from the first interrupt
 * until threads were first let go (ns). */
int64_t attach_threads_pause(const struct attach_threads *set);

/* The thread `tid` of the set, or NULL. */
struct attach_thread *attach_threads_find(struct attach_threads *set, pid_t tid);

void attach_threads_free(struct attach_threads *set);

/* For tests: at `point`, SIGKILL giltrace itself if $GILTRACE_TEST_DIE_AT
 * names it (the target must survive a tracer killed at any step), or wait
 * a second if $GILTRACE_TEST_PAUSE_AT does (for the target to go away). */
void attach_test_point(const char *point);

/* Has process `pid` exited (gone, or a zombie)? */
bool attach_process_gone(pid_t pid);

/* Why ptrace said EPERM for `pid`, and what would allow it: one line. */
void attach_threads_explain_eperm(pid_t pid, uid_t target_uid, char *out, size_t cap);

#endif
