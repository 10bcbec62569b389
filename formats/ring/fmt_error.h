/*
 * fmt_error.h — the formats/ convention for errors: a function that fails
 * writes one line into a caller's buffer and returns -1.
 */
#ifndef GILTRACE_FMT_ERROR_H
#define GILTRACE_FMT_ERROR_H

#include <stddef.h>

/* printf into err[0..n) and return -1, so that `return fmt_error(...)` both
 * explains and fails. */
int fmt_error(char *err, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
