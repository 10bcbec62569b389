/*
 * report_png.h — `giltrace report --png FILE`: charts of the report drawn
 * with the project's renderer (viewer/) and written with libpng: a
 * wait-latency histogram per thread and each GIL's utilisation over time.
 */
#ifndef GILTRACE_REPORT_PNG_H
#define GILTRACE_REPORT_PNG_H

#include <stdbool.h>
#include <stddef.h>

#include "report.h"

/* Draw the charts of `n` processes into the PNG file `path` (replacing an
 * existing file only with `force`: png_write_rgb). Returns 0, or -1 with a
 * one-line reason in `err`. */
int report_png(const char *path, bool force, const struct report_process *procs, size_t n, const char *db_path,
               char *err,
               size_t err_len);

#endif
