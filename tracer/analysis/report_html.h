/*
 * report_html.h — `giltrace report --html FILE`: the report as one
 * self-contained HTML page (inline CSS, the charts and a timeline picture as
 * data: URIs, nothing fetched), the file a person attaches to a bug report.
 */
#ifndef GILTRACE_REPORT_HTML_H
#define GILTRACE_REPORT_HTML_H

#include <stddef.h>

#include <stdbool.h>

#include "report.h"

/* Write the page of the reports of `n` processes of trace `db_path` into
 * `path`: per process its header, thread, GIL, blame and (with stacks) site
 * tables, then the report's charts (report_png) and a timeline of the whole
 * trace (the viewer's renderer), and the text report. The page checks
 * itself when opened: <html data-check="OK"> once every table has rows and
 * every picture has decoded, else "FAIL: why". The file follows the output
 * rules (formats/ring/out_file.h): an existing `path` is replaced only with
 * `force`. Returns 0, or -1 with one line in `err`. */
int report_html(const char *path, bool force, const struct report_process *procs, size_t n, const char *db_path,
                char *err, size_t err_len);

#endif
