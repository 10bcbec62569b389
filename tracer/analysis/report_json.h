/*
 * report_json.h — the report as JSON (shape: tracer/analysis/REPORT.md).
 */
#ifndef GILTRACE_REPORT_JSON_H
#define GILTRACE_REPORT_JSON_H

#include <stdio.h>

#include "report.h"

/* Write the reports of `n` processes of trace `db_path` as one JSON
 * document. Returns 0, or -1 when out of memory or on a write error. */
int report_json(FILE *out, const struct report_process *procs, size_t n, const char *db_path);

#endif
