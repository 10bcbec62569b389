/*
 * export_chrome.h — a trace as Chrome's Trace Event Format (JSON), which
 * Perfetto UI (ui.perfetto.dev), chrome://tracing and speedscope load. Mapping:
 *   - one process per traced process, one track per thread (its tid); a
 *     thread's lane on a subinterpreter GIL k gets a track of its own with a
 *     synthetic tid (k * 10000000 + tid) named "<name> [GIL k]";
 *   - holds ("holds GIL") and waits ("waits for GIL") as begin/end pairs
 *     (ph "B"/"E"), a slice's end and the next one's begin written from the
 *     same nanosecond, so no viewer nests one in the other; RETRY, TIMEOUT,
 *     DROP_REQUEST, FORCED_SWITCH and GIL_DISABLED/ENABLED as thread-scoped
 *     instants (ph "i");
 *   - handoffs as flow arrows (ph "s"/"f") from a hold to the next hold on
 *     that GIL by another thread; a counter (ph "C") per GIL, "GIL k held",
 *     its utilisation in 1000 bins of the process's life;
 *   - with stacks, "release site"/"wait site" instants whose "sf" names
 *     their innermost frame in "stackFrames" (each frame's caller its parent);
 *   - process and thread names as metadata (ph "M");
 *   - ts in microseconds (fractions keep the nanoseconds) from the start of
 *     the earliest process; otherData.base_ns is that start in
 *     CLOCK_MONOTONIC ns, otherData.base_unix_ns the same instant in Unix
 *     time (when the trace records the clocks' offset).
 * Details in tracer/analysis/REPORT.md.
 */
#ifndef GILTRACE_EXPORT_CHROME_H
#define GILTRACE_EXPORT_CHROME_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "trace_model.h"

/* Synthetic tid of a thread's lane on GIL `gil` (its own tid for GIL 0). */
static inline int64_t export_chrome_track(uint32_t tid, unsigned gil)
{
    return gil ? (int64_t)gil * 10000000 + tid : (int64_t)tid;
}

struct export_chrome_options {
    int64_t unix_minus_monotonic_ns; /* meta.unix_minus_monotonic_ns */
    bool have_unix_offset;
    /* called now and then with the trace's events done so far and in all,
     * and once at the end (NULL: none) */
    void (*progress)(void *ctx, uint64_t done, uint64_t total);
    void *progress_ctx;
};

/* Write the trace events of `n` processes to `out` (`o` may be NULL).
 * Returns 0, or -1 (out of memory or a write error); *events is the number
 * of trace events written. */
int export_chrome(FILE *out, const struct trace_process *procs, size_t n, const char *db_path,
                  const struct export_chrome_options *o, uint64_t *events);

#endif
