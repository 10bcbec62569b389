/*
 * run_summary.h — what `giltrace run` prints when the traced command is
 * done: where the trace went, how big it is, what was lost, and per thread
 * how long it held and waited for the GIL.
 */
#ifndef GILTRACE_RUN_SUMMARY_H
#define GILTRACE_RUN_SUMMARY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cli_trace_set.h"

/* Lines that must be said even with --quiet: lost events, dropped records,
 * Python processes whose GIL was not identified. To stderr. */
void run_summary_warnings(const struct cli_trace_set *s);

/* The summary table, to `out`. `db_bytes` is the size of the written trace. */
void run_summary_print(FILE *out, const struct cli_trace_set *s, const char *db_path, uint64_t db_bytes);

#endif
