/*
 * cli_trace_set.h — the processes of one traced run, read from a directory of
 * ring files, and written into one trace database.
 */
#ifndef GILTRACE_CLI_TRACE_SET_H
#define GILTRACE_CLI_TRACE_SET_H

#include <stddef.h>
#include <stdint.h>

#include "trace_model.h"

struct cli_trace_set {
    size_t count;
    struct trace_process *procs; /* by start time */
    size_t unreadable;           /* ring files that could not be decoded */
    const char *experiment;      /* giltrace run --experiment, for meta and the summary; NULL: none */
};

/* Read every "*.ring" in `dir`. A file that cannot be decoded is reported
 * with cli_warn and counted, and the others are still read. Returns 0, or -1
 * with `err` if the directory itself cannot be read. */
int cli_trace_set_read_dir(const char *dir, struct cli_trace_set *out, char *err, size_t err_len);

/* The one process in ring file `path` (it may still be written). */
int cli_trace_set_read_file(const char *path, struct cli_trace_set *out, char *err, size_t err_len);

/* Write all processes into a new database at `db_path` (an empty file),
 * showing progress on a terminal; `command` goes into meta. Returns 0 or -1. */
int cli_trace_set_write(const struct cli_trace_set *s, const char *db_path, const char *command, char *err,
                    size_t err_len);

uint64_t cli_trace_set_event_count(const struct cli_trace_set *s);

void cli_trace_set_free(struct cli_trace_set *s);

#endif
