/*
 * shim_locate.h — where libgiltrace.so is: $GILTRACE_SHIM if set, else
 * beside the giltrace program (build tree), else in the installed library
 * directory relative to it.
 */
#ifndef GILTRACE_SHIM_LOCATE_H
#define GILTRACE_SHIM_LOCATE_H

#include <stddef.h>

/* Absolute path of the shim into `out`; 0, or -1 if it cannot be found. */
int shim_locate(char *out, size_t cap);

#endif
