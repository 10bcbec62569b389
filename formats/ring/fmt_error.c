/*
 * fmt_error.c — one-line errors for formats/ functions. See fmt_error.h.
 */
#include "fmt_error.h"

#include <stdarg.h>
#include <stdio.h>

int fmt_error(char *err, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (n)
        vsnprintf(err, n, fmt, ap);
    va_end(ap);
    return -1;
}
