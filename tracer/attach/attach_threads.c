/*
 * attach_threads.c — stopping and releasing a process's threads. See
 * attach_threads.h.
 */
#include "attach_threads.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ring_clock.h"

#define CAP_SYS_PTRACE_BIT 19

int attach_wait(pid_t tid, int *status, int64_t deadline_ns)
{
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    for (;;) {
        pid_t r = waitpid(tid, status, WNOHANG | __WALL);
        if (r == tid)
            return 0;
        if (r < 0 && errno != EINTR)
            return -1;
        int64_t left = deadline_ns - (int64_t)ring_clock_monotonic_ns();
        if (left <= 0)
            return 1;
        struct timespec ts = {(time_t)(left / 1000000000), (long)(left % 1000000000)};
        sigtimedwait(&chld, NULL, &ts);
    }
}

struct attach_thread *attach_threads_find(struct attach_threads *set, pid_t tid)
{
    for (size_t i = 0; i < set->count; i++)
        if (set->t[i].tid == tid)
            return &set->t[i];
    return NULL;
}

static void forget(struct attach_threads *set, size_t i)
{
    set->t[i] = set->t[--set->count];
}

/* Seize and interrupt each thread of the task list not in the set yet.
 * Returns how many were added, or -1 with errno. */
static int seize_new(struct attach_threads *set)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)set->pid);
    DIR *d = opendir(path);
    if (!d) {
        errno = ESRCH;
        return -1;
    }
    int added = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        pid_t tid = (pid_t)atoi(de->d_name);
        if (tid <= 0 || attach_threads_find(set, tid))
            continue;
        if (set->count == set->cap) {
            size_t cap = set->cap ? set->cap * 2 : 16;
            struct attach_thread *t = realloc(set->t, cap * sizeof *t);
            if (!t) {
                closedir(d);
                errno = ENOMEM;
                return -1;
            }
            set->t = t;
            set->cap = cap;
        }
        if (ptrace(PTRACE_SEIZE, tid, NULL, (void *)(long)PTRACE_O_TRACESYSGOOD) != 0) {
            if (errno == ESRCH)
                continue; /* it exited meanwhile */
            int e = errno;
            closedir(d);
            errno = e;
            return -1;
        }
        if (!set->stopped_ns)
            set->stopped_ns = (int64_t)ring_clock_monotonic_ns();
        ptrace(PTRACE_INTERRUPT, tid, NULL, NULL);
        set->t[set->count++] = (struct attach_thread){.tid = tid};
        added++;
    }
    closedir(d);
    return added;
}

/* Wait until thread i has stopped (or is gone: then it leaves the set).
 * Returns 0, or 1 on timeout. */
static int wait_stopped(struct attach_threads *set, size_t i, int64_t deadline)
{
    struct attach_thread *t = &set->t[i];
    int st;
    int r = attach_wait(t->tid, &st, deadline);
    if (r == 1)
        return 1;
    if (r < 0 || WIFEXITED(st) || WIFSIGNALED(st)) {
        forget(set, i);
        return 0;
    }
    t->stopped = true;
    if (st >> 16 == PTRACE_EVENT_STOP)
        t->interrupted = WSTOPSIG(st) == SIGTRAP; /* else a group stop */
    else
        t->signal = WSTOPSIG(st); /* a signal arrived first: pass it on later */
    return 0;
}

int attach_threads_stop(pid_t pid, unsigned timeout_ms, struct attach_threads *set, char *err, size_t n)
{
    memset(set, 0, sizeof *set);
    set->pid = pid;
    int64_t deadline = (int64_t)ring_clock_monotonic_ns() + (int64_t)timeout_ms * 1000000;
    for (;;) {
        int added = seize_new(set);
        if (added < 0) {
            int e = errno;
            snprintf(err, n, "cannot trace process %d: %s", (int)pid, strerror(e));
            attach_threads_release(set, 0);
            errno = e;
            return -1;
        }
        if (added == 0)
            break;
        for (size_t i = 0; i < set->count;) {
            if (set->t[i].stopped) {
                i++;
                continue;
            }
            size_t before = set->count;
            if (wait_stopped(set, i, deadline)) {
                bool gone = attach_process_gone(pid);
                if (gone)
                    snprintf(err, n, "process %d exited", (int)pid);
                else
                    snprintf(err, n, "thread %d of process %d did not stop within %u ms (an uninterruptible wait?); "
                                     "try again", (int)set->t[i].tid, (int)pid, timeout_ms);
                attach_threads_release(set, 0);
                errno = gone ? ESRCH : ETIMEDOUT;
                return -1;
            }
            if (set->count == before)
                i++;
        }
    }
    if (!attach_threads_find(set, pid)) {
        snprintf(err, n, "process %d exited", (int)pid);
        attach_threads_release(set, 0);
        errno = ESRCH;
        return -1;
    }
    for (size_t i = 0; i < set->count; i++)
        if (ptrace(PTRACE_GETREGS, set->t[i].tid, NULL, &set->t[i].regs) != 0)
            set->t[i].stopped = set->t[i].interrupted = false; /* not usable; released with the rest */
    return 0;
}

void attach_threads_release(struct attach_threads *set, pid_t keep)
{
    for (size_t i = 0; i < set->count; i++) {
        struct attach_thread *t = &set->t[i];
        if (t->tid == keep || !t->stopped)
            continue;
        ptrace(PTRACE_DETACH, t->tid, NULL, (void *)(long)t->signal);
        t->stopped = t->interrupted = false;
    }
    if (!set->released_ns)
        set->released_ns = (int64_t)ring_clock_monotonic_ns();
}

int64_t attach_threads_pause(const struct attach_threads *set)
{
    return set->stopped_ns && set->released_ns ? set->released_ns - set->stopped_ns : 0;
}

void attach_threads_free(struct attach_threads *set)
{
    free(set->t);
    memset(set, 0, sizeof *set);
}

void attach_test_point(const char *point)
{
    const char *die = getenv("GILTRACE_TEST_DIE_AT"), *pause = getenv("GILTRACE_TEST_PAUSE_AT");
    if (die && strcmp(die, point) == 0)
        kill(getpid(), SIGKILL);
    struct timespec second = {1, 0};
    if (pause && strcmp(pause, point) == 0)
        while (nanosleep(&second, &second) != 0 && errno == EINTR)
            ;
}

bool attach_process_gone(pid_t pid)
{
    char path[64], state = 0;
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return true;
    if (fscanf(f, "%*d (%*[^)]) %c", &state) != 1) /* a comm with ')' only makes this conservative */
        state = 0;
    fclose(f);
    return state == 'Z' || state == 'X';
}

static int read_int_file(const char *path, int fallback)
{
    FILE *f = fopen(path, "re");
    int v = fallback;
    if (f) {
        if (fscanf(f, "%d", &v) != 1)
            v = fallback;
        fclose(f);
    }
    return v;
}

static bool have_cap_sys_ptrace(void)
{
    FILE *f = fopen("/proc/self/status", "re");
    char line[256];
    unsigned long long caps = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "CapEff: %llx", &caps) == 1)
            break;
    if (f)
        fclose(f);
    return caps >> CAP_SYS_PTRACE_BIT & 1;
}

void attach_threads_explain_eperm(pid_t pid, uid_t target_uid, char *out, size_t cap)
{
    int scope = read_int_file("/proc/sys/kernel/yama/ptrace_scope", -1);
    bool capable = have_cap_sys_ptrace();
    const char *why;
    if (scope == 3)
        why = "kernel.yama.ptrace_scope is 3, which forbids ptrace until the next boot; use giltrace run instead";
    else if (capable)
        why = "not permitted even with CAP_SYS_PTRACE (a seccomp filter or a container's policy?); in Docker, run "
              "with --cap-add=SYS_PTRACE and a seccomp profile that allows ptrace";
    else if (target_uid != geteuid())
        why = "it belongs to another user; run giltrace attach as root or with CAP_SYS_PTRACE";
    else if (scope == 2)
        why = "kernel.yama.ptrace_scope is 2, so only CAP_SYS_PTRACE may trace; run as root or with CAP_SYS_PTRACE";
    else if (scope == 1)
        why = "kernel.yama.ptrace_scope is 1, so only a process's ancestors may trace it; run as root, with "
              "CAP_SYS_PTRACE, or after sysctl kernel.yama.ptrace_scope=0";
    else
        why = "it is not dumpable (it changed its user or group, or set PR_SET_DUMPABLE 0); tracing it needs root "
              "or CAP_SYS_PTRACE";
    snprintf(out, cap, "cannot trace process %d: operation not permitted: %s", (int)pid, why);
}
