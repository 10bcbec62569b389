/*
 * report_png.h — `giltrace report --png FILE`: charts of the report drawn
 * with the project's renderer (viewer/) and written with libpng: a
 * wait-latency histogram per thread and each GIL's utilisation over time.
 */
#ifndef GILTRACE_REPORT_PNG_H
#define GILTRACE_REPORT_PNG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "report.h"

/* Draw the charts of `n` processes into the PNG file `path` (replacing an
 * existing file only with `force`: png_io_write_rgb). Returns 0, or -1 with a
 * one-line reason in `err`. */
int report_png(const char *path, bool force, const struct report_process *procs, size_t n, const char *db_path,
               char *err,
               size_t err_len);

/* The top of a histogram's count axis for a tallest bin of `max` waits:
 * the smallest 1, 2 or 5 x 10^k at or above it (1 for 0). */
uint64_t report_png_count_top(uint64_t max);

#endif
