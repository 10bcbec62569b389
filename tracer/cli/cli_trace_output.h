/*
 * cli_trace_output.h — what the tracing commands (giltrace run, giltrace attach)
 * share around their trace: their common options, the private ring
 * directory, and at the end the database written from the rings, moved into
 * place (output_file.h claims the path first), and summarised.
 */
#ifndef GILTRACE_CLI_TRACE_OUTPUT_H
#define GILTRACE_CLI_TRACE_OUTPUT_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "output_file.h"

/* The options every tracing command has (giltrace run, giltrace attach). */
struct cli_trace_output_options {
    struct output_options file; /* -o (default trace.db), -f, -q */
    uint32_t buffer_mb;         /* --buffer-mb */
    const char *ring_base;      /* --ring-dir (NULL: the default) */
};

/* A command numbers its own long-only options from TRACE_OPT_END. */
enum { TRACE_OPT_BUFFER_MB = 256, TRACE_OPT_RING_DIR, TRACE_OPT_END };

/* Their getopt_long entries and letters, to put beside a command's own. */
#define TRACE_OUTPUT_LONGOPTS                                                                          \
    {"output", required_argument, NULL, 'o'}, {"force", no_argument, NULL, 'f'},                      \
        {"buffer-mb", required_argument, NULL, TRACE_OPT_BUFFER_MB},                                   \
        {"ring-dir", required_argument, NULL, TRACE_OPT_RING_DIR}, {"quiet", no_argument, NULL, 'q'},  \
        {"help", no_argument, NULL, 'h'}
#define TRACE_OUTPUT_SHORTOPTS "o:fqh"

void cli_trace_output_defaults(struct cli_trace_output_options *o);

/* Take getopt_long's result `c` for command `cmd` (whose help text is
 * `usage`): one of the shared options, or else an unknown option or a
 * missing value. Returns -1 to go on, or the exit status the command must
 * return now: 0 after printing --help, 2 after saying what was wrong. */
int cli_trace_output_option(const char *cmd, const char *usage, int c, char **argv, struct cli_trace_output_options *o);

/* Make a private (0700) ring directory "<base>/giltrace-<kind>-XXXXXX";
 * `base` NULL means /dev/shm, else $TMPDIR, else /tmp. Returns 0, or -1
 * after saying why (and what --ring-dir is for). */
int cli_trace_output_ring_dir(const char *base, const char *kind, char *dir, size_t cap);

/* Remove a ring directory and the files in it. */
void cli_trace_output_remove_ring_dir(const char *dir);

/* Turn the rings in `ring_dir` into the database `output` (written as
 * `tmp`, the file output_file_begin claimed, then renamed by
 * output_file_commit with `force`), remove the rings, say what must be said (lost
 * events...) and, unless `quiet`, print the summary. `command` goes into
 * meta, and `experiment` (giltrace run --experiment; NULL: none) too, and
 * into the summary. Returns 0, or -1 after saying why (the rings are then
 * kept). */
int cli_trace_output_finish(const char *ring_dir, const char *tmp, const char *output, bool force, const char *command,
                        const char *experiment, bool quiet);

#endif
