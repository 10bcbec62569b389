/*
 * trace_output.h — the files a tracing command makes around its trace: the
 * temporary file beside the database (made before anything is traced, so
 * that an unwritable output is refused early), the private ring directory,
 * and at the end the database written from the rings, moved into place,
 * and summarised.
 */
#ifndef GILTRACE_TRACE_OUTPUT_H
#define GILTRACE_TRACE_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>

/* Create an empty temporary file beside `output` (its name into `tmp`).
 * Refuses a directory, and an existing file unless `force`. Returns 0, or
 * -1 after saying why (cli_warn). */
int trace_output_temp(const char *output, bool force, char *tmp, size_t cap);

/* Make a private (0700) ring directory "<base>/giltrace-<kind>-XXXXXX";
 * `base` NULL means /dev/shm, else $TMPDIR, else /tmp. Returns 0, or -1
 * after saying why (and what --ring-dir is for). */
int trace_output_ring_dir(const char *base, const char *kind, char *dir, size_t cap);

/* Remove a ring directory and the files in it. */
void trace_output_remove_ring_dir(const char *dir);

/* Turn the rings in `ring_dir` into the database `output` (written as
 * `tmp`, then renamed), remove the rings, say what must be said (lost
 * events...) and, unless `quiet`, print the summary. `command` goes into
 * meta. Returns 0, or -1 after saying why (the rings are then kept). */
int trace_output_finish(const char *ring_dir, const char *tmp, const char *output, const char *command, bool quiet);

#endif
