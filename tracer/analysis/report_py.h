/*
 * report_py.h — the report's Python sections, for traces recorded with
 * Python stacks (giltrace run --stacks; tracer/analysis/REPORT.md "Python sites"):
 *   - release sites: the innermost Python frame (function, file, line) at
 *     each RELEASE, with how many of those releases ended a forced hold;
 *   - wait sites: the innermost Python frame at each BUSY, with the time
 *     waited from there;
 *   - blame: each wait is split over the holds of other threads on its GIL
 *     that overlap it, and each part is charged to the Python frame at the
 *     RELEASE that ended that hold ("which line made others wait");
 *   - folded stacks (flamegraph.pl, speedscope): holds weighted by their
 *     length under the stack at the RELEASE that ended them, or waits under
 *     the stack at their BUSY.
 * A site is one line of one code object.
 */
#ifndef GILTRACE_REPORT_PY_H
#define GILTRACE_REPORT_PY_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "trace_model.h"

struct report_py_site {
    uint32_t code;      /* p->py_codes[code - 1]; 0 for "no Python frame" */
    int32_t line;       /* -1 when not known */
    uint64_t count;     /* releases, waits or blamed waits */
    uint64_t forced;    /* releases: those that ended a forced hold */
    int64_t ns;         /* waits: total waited; blame: time others waited */
    int64_t max_ns;     /* waits: the longest */
};

struct report_py {
    size_t nrelease, nwait, nblame; /* by count, by ns, by ns: most first */
    struct report_py_site *release, *wait, *blame;
    uint64_t stacked_events;         /* RELEASE/BUSY events that have a Python stack */
};

/* Compute the Python sections of `p`, keeping at most `max_sites` of each
 * (0: 10). A process without Python stacks gives empty sections. Returns 0,
 * or -1 when out of memory. */
int report_py_compute(const struct trace_process *p, size_t max_sites, struct report_py *out);

void report_py_free(struct report_py *r);

/* A site as "function (file:line)", or what is known of it, into `buf`:
 * code object `code` of `p` (0: none), line `line` (-1: unknown), the file
 * by its base name unless `full_path`. */
void report_py_site_text(const struct trace_process *p, uint32_t code, int32_t line, bool full_path, char *buf,
                         size_t cap);

/* The text sections of `p` (nothing when the trace has no Python stacks). */
void report_py_text(FILE *out, const struct trace_process *p, size_t max_sites);

/* The JSON "python_sites" object of `p` (tracer/analysis/REPORT.md), or NULL when
 * the trace has no Python stacks or memory ran out. */
json_t *report_py_json(const struct trace_process *p, size_t max_sites);

/* Folded stacks of `p`, one "outer;...;inner NS" line per distinct stack,
 * frames as "function (file:line)": holds (`waits` false) or waits. Stacks
 * without a Python frame are "[no Python frame]". Returns 0, or -1 when out
 * of memory or on a write error. */
int report_py_folded(FILE *out, const struct trace_process *p, bool waits);

/* The Python stack of the event of thread `t` at `ts_ns` of kind `kind`
 * (RING_EV_RELEASE, RING_EV_BUSY) as text, innermost first: "f (file:line)
 * < g (file:line) < ...", cut to fit `cap`; "" (false) when it has none. */
bool report_py_stack_text(const struct trace_process *p, const struct trace_thread *t, int64_t ts_ns,
                          unsigned kind, char *buf, size_t cap);

#endif
