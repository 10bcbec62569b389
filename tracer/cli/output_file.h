/*
 * output_file.h — writing a trace without ever leaving half a file or
 * destroying one by accident: check and claim the output path first (an
 * empty temporary file beside it), write the database there, then rename it
 * into place.
 */
#ifndef GILTRACE_OUTPUT_FILE_H
#define GILTRACE_OUTPUT_FILE_H

#include <stdbool.h>
#include <stddef.h>

/* Claim `output` by the rules of formats/ring/out_file.h (no directory, device,
 * FIFO or socket; an existing file or symlink only with `force`; "-" is
 * refused: the commands that take it handle it first), leaving an empty
 * 0600 temporary file beside it whose path goes into `tmp`. Returns 0, or -1
 * after telling the user why (cli_warn). */
int output_file_begin(const char *output, bool force, char *tmp, size_t cap);

/* What the commands that write one file (recover, snapshot, export) take. */
struct output_options {
    const char *output; /* -o, --output */
    bool force;         /* -f, --force */
    bool quiet;         /* -q, --quiet */
    const char *format; /* --format: taken only by a command that sets a
                           default here (export); an unknown option otherwise */
};

/* Take getopt_long's result `c` for subcommand `cmd` (whose help text is
 * `usage`): one of those options, --help, or else a missing value or an
 * unknown option. Returns -1 to go on, else the exit status to end with (0
 * after --help, 2 after a usage error). Commands with options of their own
 * (run, attach: cli_trace_output.h) pass on what they do not know. */
int output_option(const char *cmd, const char *usage, int c, char **argv, struct output_options *o);

/* Parse those options for subcommand `cmd` (whose help text is `usage`),
 * leaving optind at the first operand. Returns -1 to go on, else the exit
 * status to end with (0 after --help, 2 after a usage error). */
int output_options_parse(int argc, char **argv, const char *cmd, const char *usage, struct output_options *o);

/* Rename the finished temporary file into place (out_file_commit): with
 * `force` over a regular file or symlink; without, never over a file that
 * appeared meanwhile: this one then goes to "<output>.N", with one line that
 * says so. The path the file ends at goes into `final`. Returns 0, or -1
 * with `err` (tmp is then left as it is). */
int output_file_commit(const char *tmp, const char *output, bool force, char *final, size_t final_cap, char *err,
                       size_t err_len);

#endif
