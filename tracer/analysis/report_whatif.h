/*
 * report_whatif.h — giltrace report --what-if: replay a trace's demands on
 * its main GIL under another scheduling policy and predict the waits.
 *
 * The model (docs/WHATIF.md says it for users):
 *   - Demands. Per thread, from its holds and waits (trace_intervals.h):
 *     the first moment it wanted the GIL, then jobs: a job is the CPU time
 *     held from one voluntary release to the next (the holds between,
 *     which ended in forced releases, are summed: a forced-off thread
 *     wants the GIL back at once), followed by the gap until it wanted the
 *     GIL again (I/O, sleep, anything done without it). Gaps and CPU times
 *     are kept as recorded: the model assumes they do not depend on the
 *     policy.
 *   - Policy. CPython's take_gil: a waiter's timed wait lasts the switch
 *     interval; when it times out and no switch happened since it began,
 *     it asks the holder to drop the GIL, which the holder does at once;
 *     a release hands the GIL to the longest waiter (the forced-off
 *     holder cannot take it back first), after the trace's median handoff
 *     latency. priority-gil: a waiter whose last release was voluntary
 *     asks at once, and again every EXPERIMENT_PRIORITY_RETRY_US.
 *   - Baseline. The same replay under the policy the trace was recorded
 *     with shows how well the model reproduces what happened.
 * It fails where a gap depends on the schedule: threads that wait for each
 * other (queues, locks, joins) inside one process, a client whose request
 * rate follows the server's replies, CPU contention outside the GIL.
 */
#ifndef GILTRACE_REPORT_WHATIF_H
#define GILTRACE_REPORT_WHATIF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "trace_model.h"

struct whatif_policy {
    int64_t interval_ns; /* 0: the trace's switch interval */
    bool priority;       /* priority-gil */
};

/* Parse "priority-gil", "switch-interval=T" (T: a number with ms, us or s;
 * ms when bare) or both joined by a comma. Returns 0, or -1 with `why`. */
int whatif_policy_parse(const char *spec, struct whatif_policy *out, char *why, size_t why_len);

/* The policy a trace was recorded under, from its experiment label (NULL:
 * none): what its baseline replay uses. */
void whatif_policy_recorded(const char *label, struct whatif_policy *out);

/* One replay's figures for a thread. */
struct whatif_figures {
    uint64_t waits;    /* waits that lasted longer than 0 */
    int64_t wait_ns, wait_max_ns;
    int64_t span_ns;   /* first want to the end of its last job */
};

struct whatif_thread {
    uint32_t tid;
    const char *name;  /* borrowed from the process; NULL when unknown */
    uint64_t jobs;     /* voluntary releases + 1: its request/reply cycles */
    int64_t cpu_ns, gap_ns;
    struct whatif_figures recorded, baseline, predicted;
};

struct whatif_result {
    int64_t interval_ns; /* the trace's switch interval (or the default) */
    int64_t handoff_ns;  /* median handoff latency, used in every replay */
    size_t nthreads;
    struct whatif_thread *threads;
};

/* Replay the main GIL of `p` under `baseline` and `what`. Returns 0, or -1
 * when out of memory. */
int whatif_run(const struct trace_process *p, const struct whatif_policy *baseline, const struct whatif_policy *what,
               struct whatif_result *out);

void whatif_free(struct whatif_result *r);

/* The prediction as text: per thread, recorded vs baseline vs predicted. */
void whatif_text(FILE *out, const struct trace_process *p, const struct whatif_result *r, const char *what_spec,
                 const char *recorded_label);

#endif
