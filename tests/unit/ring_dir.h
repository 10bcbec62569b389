/*
 * ring_dir.h — test helper: run a traced program with GILTRACE_RUN_DIR set to
 * a fresh private directory, then decode the one ring it left there.
 */
#ifndef GILTRACE_TEST_RING_DIR_H
#define GILTRACE_TEST_RING_DIR_H

#include <stddef.h>

#include "trace_model.h"

/* Run argv (argv[0] a path) traced; its stdout goes to `out` (NUL-terminated,
 * truncated to cap). Returns its exit status, or -1 if it could not be run. */
int run_traced(char *const argv[], char *out, size_t cap, struct trace_process *proc);

#endif
