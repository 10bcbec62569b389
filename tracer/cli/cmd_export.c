/*
 * cmd_export.c — `giltrace export TRACE.db --format chrome -o FILE`: the
 * trace in a format other tools load (export_chrome.h), gzip-compressed
 * when FILE ends in .gz, with progress on stderr for long exports.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "progress_bar.h"
#include "tdb_read.h"
#include "cli.h"
#include "human.h"
#include "export_chrome.h"
#include "output_file.h"
#include "analysis_trace_load.h"
#include "analysis_trace_load.h"

static const char usage[] =
    "usage: giltrace export [options] TRACE.db -o FILE\n"
    "\n"
    "Write a trace in another tool's format.\n"
    "\n"
    "options:\n"
    "  --format chrome   Trace Event Format JSON for Perfetto UI (ui.perfetto.dev)\n"
    "                    and chrome://tracing: a track per thread, holds and waits\n"
    "                    as slices, the other GIL events as instants (the default)\n"
    "                    (speedscope too); handoffs as arrows, a utilisation\n"
    "                    counter per GIL, native stack frames, absolute time\n"
    "  -o, --output FILE where to write it (mode 0600; \"-\": standard output); a\n"
    "                    name ending in .gz is written gzip-compressed\n"
    "  -f, --force       replace FILE if it exists (a regular file or a symlink)\n"
    "  -q, --quiet       no progress, no count at the end, no warning when the\n"
    "                    export is too big for chrome://tracing\n"
    "  -h, --help        show this help\n";

/* The chrome viewer struggles beyond about this many events. */
#define CHROME_COMFORTABLE_EVENTS 1000000u

static ssize_t gz_write(void *cookie, const char *buf, size_t size)
{
    if (size == 0)
        return 0;
    int n = gzwrite((gzFile)cookie, buf, (unsigned)size);
    return n > 0 ? n : -1;
}

static int gz_close(void *cookie)
{
    return gzclose((gzFile)cookie) == Z_OK ? 0 : -1;
}

/* `path` opened for writing, through gzip when `gzip`. */
static FILE *open_output(const char *path, bool gzip)
{
    if (!gzip)
        return fopen(path, "w");
    gzFile z = gzopen(path, "wb6");
    if (!z)
        return NULL;
    gzbuffer(z, 1 << 17);
    FILE *f = fopencookie(z, "w", (cookie_io_functions_t){.write = gz_write, .close = gz_close});
    if (!f)
        gzclose(z);
    return f;
}

static bool ends_with(const char *s, const char *tail)
{
    size_t a = strlen(s), b = strlen(tail);
    return a >= b && strcmp(s + a - b, tail) == 0;
}

static void on_progress(void *ctx, uint64_t done, uint64_t total)
{
    progress_bar_update(ctx, done, total, NULL);
}

/* meta.unix_minus_monotonic_ns of the trace, if it has one. */
static void read_clock_offset(const char *path, struct export_chrome_options *o)
{
    char err[256];
    sqlite3 *db = tdb_open_read(path, err, sizeof err);
    if (db) {
        o->have_unix_offset = tdb_meta_int(db, "unix_minus_monotonic_ns", &o->unix_minus_monotonic_ns);
        sqlite3_close(db);
    }
}

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
    if (analysis_trace_load(path, &procs, &n, err, sizeof err)) {
        cli_warn("%s", err);
        if (!to_stdout)
            unlink(tmp);
        return 1;
    }
    bool gzip = !to_stdout && ends_with(output, ".gz");
    FILE *out = to_stdout ? stdout : open_output(tmp, gzip);
    if (!out) {
        cli_warn("cannot write %s: %s", output, strerror(errno));
        unlink(tmp);
        analysis_trace_load_free(procs, n);
        return 1;
    }
    uint64_t events = 0, total = 0;
    for (size_t i = 0; i < n; i++)
        total += trace_process_event_count(&procs[i]);
    struct progress_bar bar;
    progress_bar_start(&bar, "giltrace: exporting", total);
    struct export_chrome_options eo = {.progress = o.quiet ? NULL : on_progress, .progress_ctx = &bar};
    read_clock_offset(path, &eo);
    int r = export_chrome(out, procs, n, path, &eo, &events);
    progress_bar_done(&bar);
    analysis_trace_load_free(procs, n);
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
    if (!o.quiet) {
        char count[32], in[32];
        human_count(count, sizeof count, events);
        human_count(in, sizeof in, total);
        fprintf(stderr, "giltrace: export: %s trace events from %s GIL events written to %s%s\n", count, in,
                to_stdout ? "standard output" : output, gzip ? " (gzip)" : "");
    }
    if (events > CHROME_COMFORTABLE_EVENTS && !o.quiet)
        cli_warn("%s: %llu trace events; chrome://tracing struggles beyond about a million (Perfetto UI copes "
                 "better)", to_stdout ? "export" : output, (unsigned long long)events);
    return 0;
}
