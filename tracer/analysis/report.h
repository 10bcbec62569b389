/*
 * report.h — what `giltrace report` computes from a trace: per thread, per
 * GIL and per process, in C over the events of tdb_read_process() and the
 * intervals of trace_intervals() (the same rules as the holds and waits
 * views, without their window functions). tracer/analysis/REPORT.md documents every
 * figure and the JSON shape.
 *
 *   struct report_process r;
 *   if (report_compute(&proc, NULL, &r) == 0) { report_text(stdout, &r); report_free(&r); }
 */
#ifndef GILTRACE_REPORT_H
#define GILTRACE_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "trace_model.h"
#include "histogram.h"

/* A thread is flagged as caught in a convoy when at least this many of its
 * waits were convoy episodes, and they were at least half of its waits that
 * followed a voluntary release. */
#define REPORT_CONVOY_MIN_EPISODES 10

/* A release after which the thread asks for the GIL again within this time
 * is a yield (2.7's periodic check, time.sleep(0)), not a release for I/O:
 * it starts no convoy episode. */
#define REPORT_YIELD_NS 2000

/* Convoy threshold when the process's switch interval is unknown (2.7). */
#define REPORT_DEFAULT_INTERVAL_NS 5000000

struct report_thread {
    uint32_t tid;
    const char *name;         /* NULL when unknown (points into the process) */
    int64_t first_ns, end_ns; /* life: first event to its last event or interval end */
    int64_t held_ns, waited_ns;
    uint64_t acquires;
    uint64_t releases_voluntary, releases_forced;
    uint64_t events[16];      /* by enum ring_event_kind */
    struct histogram wait;         /* every wait's length */
    /* Convoys: a voluntary release (not a yield), then the thread's next
     * wait lasting at least the switch interval. */
    uint64_t waits_after_voluntary; /* waits that followed a voluntary release */
    uint64_t convoys;
    int64_t convoy_wait_ns, convoy_max_ns;
    bool convoy;              /* flagged: see REPORT_CONVOY_MIN_EPISODES */
};

struct report_gil {
    unsigned index;
    bool subinterpreter;
    int64_t held_ns;           /* all threads' holds */
    uint64_t holds;
    uint64_t handoffs;         /* ACQUIREs by a different thread than the last holder */
    uint64_t forced_releases;  /* holds that ended in a forced release (not FORCED_SWITCH events) */
    bool forced_observable;    /* false on 2.7 (no drop requests there) */
    struct histogram handoff;       /* RELEASE with a waiter -> next ACQUIRE */
    size_t bins;               /* utilisation over time: `bins` bins of bin_ns */
    int64_t bin_ns;
    double *utilisation;       /* share of each bin the GIL was held, 0..1 */
};

/* A site: a native stack, with what happened there (giltrace run --stacks). */
struct report_site {
    uint32_t stack;            /* stack id in the process */
    const char *label;         /* the most telling frame ("time.sleep"...) */
    uint64_t count;            /* events with this stack */
    uint64_t forced;           /* releases: holds that ended forced */
    int64_t wait_ns;           /* waits: total time waited from here */
    int64_t wait_max_ns;
};

struct report_blame {
    uint32_t waiter, holder; /* indexes into report_process.threads; holder nthreads: nobody */
    int64_t ns;
};

struct report_process {
    const struct trace_process *p; /* borrowed: must outlive the report */
    int64_t duration_ns;
    int64_t convoy_threshold_ns;
    size_t nthreads;
    struct report_thread *threads; /* by first event */
    size_t ngils;
    struct report_gil *gils;
    /* Blame: the time thread `waiter` waited while thread `holder` held the
     * GIL it waited for (holder == nthreads: while nobody held it), for the
     * pairs that have any, by waiter then holder. Each waiter's entries sum
     * to its waited_ns. */
    size_t nblame;
    struct report_blame *blame;
    uint64_t convoys;
    size_t nrelease_sites, nwait_sites; /* by count / by time waited, most first */
    struct report_site *release_sites, *wait_sites;
    bool have_stacks;
};

struct report_options {
    size_t bins;   /* utilisation bins (0: 100) */
    size_t sites;  /* most release/wait sites kept (0: 10) */
};

/* Compute the report of one process. Returns 0, or -1 when out of memory. */
int report_compute(const struct trace_process *p, const struct report_options *o, struct report_process *out);

void report_free(struct report_process *r);

/* The time thread `waiter` waited while `holder` held the GIL (holder ==
 * r->nthreads: nobody held it); 0 for a pair with none. */
int64_t report_blame_ns(const struct report_process *r, size_t waiter, size_t holder);

/* Plain text for people. */
void report_text(FILE *out, const struct report_process *procs, size_t n, const char *db_path);

#endif
