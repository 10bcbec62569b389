/*
 * attach_session.c — starting and stopping a session in a running CPython.
 * See attach_session.h.
 */
#include "attach_session.h"

#include <assert.h>
#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>

#include "ring_clock.h"
#include "attach_call.h"
#include "attach_safepoint.h"
#include "attach_threads.h"

#define STOP_TIMEOUT_MS 1000u /* for every thread to stop */
#define SAFE_POINT_MS 2000u   /* for a thread at a safe point to show up */
#define VALVE_MS 50u          /* a call this slow may wait for a stopped thread: let them run */
#define CALL_LIMIT_MS 10000u  /* then stop waiting for it */

static struct attach_call_limits limits(const struct attach_target *t)
{
    return (struct attach_call_limits){.restore_rt = t->restore_rt, .valve_ms = VALVE_MS, .limit_ms = CALL_LIMIT_MS};
}

static void pause_ms(unsigned ms)
{
    struct timespec ts = {0, (long)ms * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Stop every thread and pick one for `need`, retrying until SAFE_POINT_MS.
 * Returns the thread, with `set` stopped; or NULL (nothing stopped). */
static struct attach_thread *stop_at_safe_point(struct attach_target *t, enum attach_need need,
                                                struct attach_threads *set, struct attach_stats *st, char *err,
                                                size_t n)
{
    int64_t give_up = (int64_t)ring_clock_monotonic_ns() + (int64_t)SAFE_POINT_MS * 1000000;
    unsigned wait_ms = 1;
    char why[1024];
    for (st->rounds = 1;; st->rounds++) {
        if (attach_threads_stop(t->pid, STOP_TIMEOUT_MS, set, err, n)) {
            if (errno == EPERM)
                attach_threads_explain_eperm(t->pid, t->uid, err, n);
            attach_threads_free(set);
            return NULL;
        }
        int i = attach_safepoint_choose(set, t, need, why, sizeof why);
        assert(i < (int)set->count && set->pid == t->pid); /* a thread of the stopped set, of this process */
        if (i >= 0)
            return &set->t[i];
        attach_threads_release(set, 0);
        attach_threads_free(set);
        if ((int64_t)ring_clock_monotonic_ns() > give_up) {
            snprintf(err, n, "no thread of process %d was at a safe point within %u ms (%s); nothing was changed, "
                     "try again", (int)t->pid, SAFE_POINT_MS, why);
            return NULL;
        }
        pause_ms(wait_ms);
        wait_ms = wait_ms < 16 ? wait_ms * 2 : 20;
    }
}

/* Load the library in thread `th` (dlopen with the path on its stack). */
static int load_library(struct attach_target *t, struct attach_threads *set, struct attach_thread *th,
                        bool *released, char *err, size_t n)
{
    char path[sizeof t->lib_path];
    memcpy(path, t->lib_path, sizeof path);
    struct attach_call call = {.name = "dlopen", .fn = t->dlopen, .stack_data = path, .stack_len = strlen(path) + 1,
                               .arg2 = RTLD_NOW | RTLD_LOCAL};
    struct attach_call_limits lim = limits(t);
    if (attach_call_run(set, th, &call, &lim, released, err, n))
        return -1;
    if (attach_target_refresh(t)) {
        snprintf(err, n, "process %d exited during the attach", (int)t->pid);
        return -1;
    }
    if (!t->lib_loaded) {
        snprintf(err, n, "process %d could not load %s (its dlopen failed: can its user read the file, and has it "
                 "room left for static TLS?)", (int)t->pid, t->lib_path);
        return -1;
    }
    return 0;
}

/* Call an entry point of the loaded library in thread `th`, with `req`
 * written into the library's request, and read the answer back. */
static int call_entry(struct attach_target *t, struct attach_threads *set, struct attach_thread *th, const char *name,
                      uintptr_t entry, struct attach_request *req, bool *released, char *err, size_t n)
{
    /* the library is loaded, and the call made in one of the stopped threads */
    assert(t->lib_loaded && entry && th >= set->t && th < set->t + set->count);
    uintptr_t at = t->lib.base + t->request;
    req->status = ATTACH_PENDING;
    struct iovec local = {req, sizeof *req}, remote = {(void *)at, sizeof *req};
    if (process_vm_writev(t->pid, &local, 1, &remote, 1, 0) != (ssize_t)sizeof *req) {
        snprintf(err, n, "cannot write the request into process %d: %s", (int)t->pid, strerror(errno));
        return -1;
    }
    struct attach_call call = {.name = name, .fn = t->lib.base + entry, .arg1 = at,
                               .flag = at + offsetof(struct attach_request, status), .flag_pending = ATTACH_PENDING};
    struct attach_call_limits lim = limits(t);
    if (attach_call_run(set, th, &call, &lim, released, err, n))
        return -1;
    if (process_vm_readv(t->pid, &local, 1, &remote, 1, 0) != (ssize_t)sizeof *req) {
        snprintf(err, n, "cannot read the answer from process %d: %s", (int)t->pid, strerror(errno));
        return -1;
    }
    return 0;
}

/* Let everything go; a failure because the process went away says so. */
static int finish(struct attach_threads *set, struct attach_thread *th, struct attach_stats *st, int r, char *err,
                  size_t n)
{
    if (r && attach_process_gone(set->pid))
        snprintf(err, n, "process %d exited during the attach", (int)set->pid);
    if (th)
        st->thread = th->tid;
    attach_threads_release(set, 0);
    st->pause_ns = attach_threads_pause(set);
    attach_threads_free(set);
    return r;
}

int attach_session_start(struct attach_target *t, struct attach_request *req, struct attach_stats *st, char *err,
                         size_t n)
{
    memset(st, 0, sizeof *st);
    struct attach_threads set;
    struct attach_thread *th = stop_at_safe_point(t, ATTACH_NEED_CLEAN_STACK, &set, st, err, n);
    if (!th)
        return -1;
    attach_test_point("stopped"); /* every thread stopped, nothing changed yet */
    bool released = false;
    if (!t->lib_loaded) {
        if (load_library(t, &set, th, &released, err, n))
            return finish(&set, th, st, -1, err, n);
        st->loaded = true;
    }
    int r = call_entry(t, &set, th, ATTACH_ENTRY_START, t->entry_start, req, &released, err, n);
    return finish(&set, th, st, r, err, n);
}

int attach_session_stop(struct attach_target *t, struct attach_request *req, struct attach_stats *st, char *err,
                        size_t n)
{
    memset(st, 0, sizeof *st);
    if (attach_process_gone(t->pid) || attach_target_refresh(t)) {
        snprintf(err, n, "process %d has exited", (int)t->pid);
        return -1;
    }
    if (!t->lib_loaded) {
        snprintf(err, n, "process %d has no giltrace library loaded: nothing to detach", (int)t->pid);
        return -1;
    }
    struct attach_threads set;
    struct attach_thread *th = stop_at_safe_point(t, ATTACH_NEED_ANY, &set, st, err, n);
    if (!th)
        return -1;
    bool released = false;
    int r = call_entry(t, &set, th, ATTACH_ENTRY_STOP, t->entry_stop, req, &released, err, n);
    return finish(&set, th, st, r, err, n);
}
