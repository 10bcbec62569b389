/*
 * export_chrome.h — a trace as Chrome's Trace Event Format (JSON), which
 * Perfetto UI (ui.perfetto.dev) and chrome://tracing load. Mapping:
 *   - one process per traced process, one track per thread (its tid); a
 *     thread's lane on a subinterpreter GIL k gets a track of its own with a
 *     synthetic tid (k * 10000000 + tid) named "<name> [GIL k]";
 *   - holds ("holds GIL") and waits ("waits for GIL") as complete slices
 *     (ph "X"); RETRY, TIMEOUT, DROP_REQUEST, FORCED_SWITCH and
 *     GIL_DISABLED/ENABLED as thread-scoped instants (ph "i");
 *   - process and thread names as metadata (ph "M");
 *   - ts/dur in microseconds (fractions keep the nanoseconds) from the
 *     start of the earliest process; otherData.base_ns is that start in
 *     CLOCK_MONOTONIC ns.
 * Details in formats/REPORT.md.
 */
#ifndef GILTRACE_EXPORT_CHROME_H
#define GILTRACE_EXPORT_CHROME_H

#include <stdint.h>
#include <stdio.h>

#include "../../formats/trace_model.h"

/* Synthetic tid of a thread's lane on GIL `gil` (its own tid for GIL 0). */
static inline int64_t export_chrome_track(uint32_t tid, unsigned gil)
{
    return gil ? (int64_t)gil * 10000000 + tid : (int64_t)tid;
}

/* Write the trace events of `n` processes to `out`. Returns 0, or -1 (out of
 * memory or a write error); *events is the number of trace events written. */
int export_chrome(FILE *out, const struct trace_process *procs, size_t n, const char *db_path, uint64_t *events);

#endif
