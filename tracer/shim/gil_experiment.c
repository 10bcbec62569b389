/*
 * gil_experiment.c — the scheduling experiments of giltrace run
 * --experiment: which deadline a GIL waiter's timed wait gets. See
 * gil_experiment.h.
 */
#include "gil_experiment.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "experiment_spec.h"
#include "gil.h"

bool gil_experiment_on;

static struct experiment_spec policy;

bool gil_experiment_parse(const char *spec, char *why, size_t why_len)
{
    return experiment_spec_parse(spec, &policy, why, why_len);
}

void gil_experiment_enable(void)
{
    __atomic_store_n(&gil_experiment_on, policy.priority || policy.nrules, __ATOMIC_RELEASE);
}

void gil_experiment_thread_named(struct shim_thread *t, const char *name)
{
    for (unsigned i = 0; i < policy.nrules; i++)
        if (!policy.rules[i].tid && strcmp(policy.rules[i].name, name) == 0)
            t->exp_interval_us = policy.rules[i].interval_us;
}

void gil_experiment_note_release(struct shim_thread *t, struct gil *g)
{
    t->exp_voluntary = !g->exp_drop_requested;
}

void gil_experiment_note_drop_request(struct gil *g)
{
    g->exp_drop_requested = 1;
}

void gil_experiment_note_acquire(struct gil *g)
{
    if (g->exp_drop_requested)
        g->exp_drop_requested = 0; /* no store (a shared line) when there is nothing to clear */
}

/* `buf` = now + `us` on `clock`, if that is before `abstime`. */
static const struct timespec *sooner(clockid_t clock, uint32_t us, const struct timespec *abstime,
                                     struct timespec *buf)
{
    int saved_errno = errno;
    int r = clock_gettime(clock, buf);
    errno = saved_errno;
    if (r != 0)
        return abstime;
    buf->tv_nsec += (long)(us % 1000000u) * 1000;
    buf->tv_sec += (time_t)(us / 1000000u) + buf->tv_nsec / 1000000000;
    buf->tv_nsec %= 1000000000;
    if (abstime && (abstime->tv_sec < buf->tv_sec || (abstime->tv_sec == buf->tv_sec && abstime->tv_nsec <= buf->tv_nsec)))
        return abstime;
    return buf;
}

const struct timespec *gil_experiment_deadline(struct shim_thread *t, const struct gil *g,
                                               const struct timespec *abstime, struct timespec *buf)
{
    if (!t->exp_resolved) {
        t->exp_resolved = 1;
        for (unsigned i = 0; i < policy.nrules; i++)
            if (policy.rules[i].tid && policy.rules[i].tid == shim_thread_tid(t))
                t->exp_interval_us = policy.rules[i].interval_us;
    }
    if (policy.priority && t->exp_voluntary) {
        if (t->waits == 1) {
            /* A deadline long past: the wait times out at once (after
             * taking a signal already pending, if any). */
            buf->tv_sec = 0;
            buf->tv_nsec = 0;
            return buf;
        }
        return sooner(g->cond_clock, EXPERIMENT_PRIORITY_RETRY_US, abstime, buf);
    }
    if (t->exp_interval_us)
        return sooner(g->cond_clock, t->exp_interval_us, NULL, buf);
    return abstime;
}
