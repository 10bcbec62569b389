/*
 * top_figures.h — the running figures of `giltrace top`: per thread, what
 * it held and waited for over the whole run and over the last second, fed
 * with the new events of each poll (formats/ring_follow.h), never the whole
 * trace again.
 *
 * The intervals are the model's (formats/trace_intervals.h, run over each
 * thread's events from the start of its oldest interval still open), the
 * shares and rates those of formats/trace_figures.h, the convoy episodes
 * and flag the report's (report.h, formats/REPORT.md). What differs from
 * `giltrace report` of the same run, by construction:
 *   - an interval still open is counted up to `now` (the report: to the
 *     process's end), and a thread's life ends at `now` while it holds or
 *     waits;
 *   - a hold is forced when a drop request read by the poll that closed it
 *     falls inside it; one read at a later poll is missed;
 *   - the convoy rule is applied per thread over all its GILs (the report:
 *     per GIL).
 * Last-second figures are over [now - 1 s, now] from the thread's first
 * event on (not to its last: a thread between events, or ended, still
 * counts the time), so that the threads' shares of one GIL sum to at most
 * 100%; "longest recent wait" is over the last TOP_RECENT_S seconds.
 */
#ifndef GILTRACE_TOP_FIGURES_H
#define GILTRACE_TOP_FIGURES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ring_follow.h"

#define TOP_WINDOW_NS INT64_C(1000000000)
#define TOP_RECENT_S 10

struct top_figures;

/* One thread's figures at a moment. */
struct top_row {
    uint32_t tid;
    const char *name;          /* NULL when unknown; valid until the next top_figures call */
    int64_t life_ns;
    double held_share, waited_share;       /* of its life */
    double held_share_1s, waited_share_1s; /* of the last second of its life */
    double waits_per_s, forced_per_s;      /* in the last second */
    uint64_t waits, forced;                /* whole run */
    int64_t longest_wait_ns;               /* of the waits of the last TOP_RECENT_S s, open ones included */
    uint64_t convoys;                      /* convoy episodes */
    bool convoy;                           /* flagged (report.h) */
    bool holding, waiting;                 /* now */
};

/* A release or wait site. */
struct top_site {
    char label[160];
    uint64_t count;   /* releases, or waits */
    uint64_t forced;  /* releases that ended a forced hold */
    int64_t ns;       /* waits: time waited from here */
};

struct top_figures *top_figures_new(void);
void top_figures_free(struct top_figures *t);

/* The sink to give ring_follow_poll(); then top_figures_update(). */
struct ring_follow_sink top_figures_sink(struct top_figures *t);

/* Close the intervals the new events ended, as of `now_ns`, for process
 * `p` (ring_follow_process; its switch interval and lost events decide the
 * rules) with thread names from `f`. Returns 0, or -1 when out of memory. */
int top_figures_update(struct top_figures *t, struct ring_follow *f, int64_t now_ns);

/* The rows as of the last update, one per thread, in no order; `*n` rows. */
const struct top_row *top_figures_rows(const struct top_figures *t, size_t *n);

/* The most telling sites, most first (releases by count, waits by time),
 * at most `max` each, Python frames where recorded, else native; labels
 * from `f` (frames named with stack_symbols where possible). Returns the
 * count written into `out`. */
size_t top_figures_sites(struct top_figures *t, struct ring_follow *f, bool waits, struct top_site *out, size_t max);

#endif
