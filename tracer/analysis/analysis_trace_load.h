/*
 * analysis_trace_load.h — every process of a trace database, read into memory for
 * the commands that analyse a whole trace (report, export).
 */
#ifndef GILTRACE_ANALYSIS_TRACE_LOAD_H
#define GILTRACE_ANALYSIS_TRACE_LOAD_H

#include <stddef.h>

#include "trace_model.h"

/* Read every process of the trace at `path`, in the order they started.
 * Returns 0, or -1 with a one-line reason in `err`. */
int analysis_trace_load(const char *path, struct trace_process **procs, size_t *n, char *err, size_t err_len);

void analysis_trace_load_free(struct trace_process *procs, size_t n);

#endif
