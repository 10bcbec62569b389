/*
 * shim_locate.h — where giltrace's libraries are: the LD_PRELOAD shim
 * (libgiltrace.so, or $GILTRACE_SHIM) and the library `giltrace attach`
 * loads (libgiltrace-attach.so, or $GILTRACE_ATTACH_SHIM): beside the
 * giltrace program (build tree), else in the installed library directory
 * relative to it.
 */
#ifndef GILTRACE_SHIM_LOCATE_H
#define GILTRACE_SHIM_LOCATE_H

#include <stddef.h>

#define SHIM_PRELOAD_NAME "libgiltrace.so"
#define SHIM_PRELOAD_ENV "GILTRACE_SHIM"
#define SHIM_ATTACH_NAME "libgiltrace-attach.so"
#define SHIM_ATTACH_ENV "GILTRACE_ATTACH_SHIM"

/* Absolute real path of library `name` (or of $`env` if set) into `out`;
 * 0, or -1 if it cannot be found. */
int shim_locate(const char *name, const char *env, char *out, size_t cap);

#endif
