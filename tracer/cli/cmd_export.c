/*
 * cmd_export.c — `giltrace export TRACE.db --format chrome -o FILE`: the
 * trace in a format other tools load (export_chrome.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "export_chrome.h"
#include "output_file.h"
#include "trace_load.h"

static const char usage[] =
    "usage: giltrace export [options] TRACE.db -o FILE\n"
    "\n"
    "Write a trace in another tool's format.\n"
    "\n"
    "options:\n"
    "  --format chrome   Trace Event Format JSON for Perfetto UI (ui.perfetto.dev)\n"
    "                    and chrome://tracing: a track per thread, holds and waits\n"
    "                    as slices, the other GIL events as instants (the default)\n"
    "  -o, --output FILE where to write it (mode 0600; \"-\": standard output)\n"
    "  -f, --force       replace FILE if it exists (a regular file or a symlink)\n"
    "  -q, --quiet       no warning when the export is too big for chrome://tracing\n"
    "  -h, --help        show this help\n";

/* The chrome viewer struggles beyond about this many events. */
#define CHROME_COMFORTABLE_EVENTS 1000000u

int cmd_export(int argc, char **argv)
{
    struct output_options o = {.format = "chrome"};
    int r0 = output_options_parse(argc, argv, "export", usage, &o);
    if (r0 >= 0)
        return r0;
    const char *format = o.format, *output = o.output;
    if (strcmp(format, "chrome") != 0)
        return cli_usage_error("export", "unknown format \"%s\" (known: chrome)", format);
    if (optind >= argc)
        return cli_usage_error("export", "no trace given");
    if (optind + 1 < argc)
        return cli_usage_error("export", "one trace at a time (got \"%s\" too)", argv[optind + 1]);
    if (!output || !*output)
        return cli_usage_error("export", "give the file to write with -o FILE (or -o - for standard output)");
    const char *path = argv[optind];
    bool to_stdout = strcmp(output, "-") == 0;
    char tmp[4096];
    if (!to_stdout && output_file_begin(output, o.force, tmp, sizeof tmp))
        return 2;

    char err[1024];
    struct trace_process *procs;
    size_t n;
    if (trace_load(path, &procs, &n, err, sizeof err)) {
        cli_warn("%s", err);
        if (!to_stdout)
            unlink(tmp);
        return 1;
    }
    FILE *out = to_stdout ? stdout : fopen(tmp, "w");
    if (!out) {
        cli_warn("cannot write %s: %s", output, strerror(errno));
        unlink(tmp);
        trace_load_free(procs, n);
        return 1;
    }
    uint64_t events = 0;
    int r = export_chrome(out, procs, n, path, &events);
    trace_load_free(procs, n);
    if (to_stdout) {
        if (r || fflush(stdout) != 0) {
            cli_warn("cannot write the export to standard output");
            return 1;
        }
    } else {
        if (fclose(out) != 0 || r) {
            cli_warn("cannot write %s", output);
            unlink(tmp);
            return 1;
        }
        char final[4096];
        if (output_file_commit(tmp, output, o.force, final, sizeof final, err, sizeof err)) {
            cli_warn("%s", err);
            unlink(tmp);
            return 1;
        }
    }
    if (events > CHROME_COMFORTABLE_EVENTS && !o.quiet)
        cli_warn("%s: %llu trace events; chrome://tracing struggles beyond about a million (Perfetto UI copes "
                 "better)", to_stdout ? "export" : output, (unsigned long long)events);
    return 0;
}
