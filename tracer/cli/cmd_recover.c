/*
 * cmd_recover.c — `giltrace recover DIR|RINGFILE -o trace.db`: turn the ring
 * files that processes left behind (killed in env-only mode, or a run whose
 * database could not be written) into a trace database. The rings are read,
 * never changed or removed: run it again with other options if you like.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "output_file.h"
#include "run_summary.h"
#include "cli_trace_set.h"

static const char usage[] =
    "usage: giltrace recover DIR|RINGFILE [-o trace.db] [-f]\n"
    "\n"
    "Write the events held in ring files into a trace database: every *.ring in\n"
    "DIR (e.g. GILTRACE_RING_DIR, or a run directory giltrace run kept), or the\n"
    "one RINGFILE. Processes that died are included up to their last complete\n"
    "event; a record torn by the crash is dropped and counted. The rings are\n"
    "left as they are. The exit status is 1 when a ring could not be read or\n"
    "was cut short (what could be read is still written).\n"
    "\n"
    "options:\n"
    "  -o, --output FILE   trace database to write (default: recovered.db)\n"
    "  -f, --force         replace FILE if it exists (a regular file or a symlink)\n"
    "  -q, --quiet         print no summary\n"
    "  -h, --help          show this help\n";

int cmd_recover(int argc, char **argv)
{
    struct output_options o = {.output = "recovered.db"};
    int r0 = output_options_parse(argc, argv, "recover", usage, &o);
    if (r0 >= 0)
        return r0;
    const char *output = o.output;
    bool force = o.force, quiet = o.quiet;
    if (optind != argc - 1)
        return cli_usage_error("recover", "give one ring directory or ring file");
    const char *source = argv[optind];
    struct stat st;
    if (stat(source, &st) != 0) {
        cli_warn("cannot read %s: %s", source, strerror(errno));
        return 1;
    }

    char tmp[PATH_MAX], final[PATH_MAX];
    if (output_file_begin(output, force, tmp, sizeof tmp))
        return 2;
    struct cli_trace_set set;
    char err[1024];
    int r = S_ISDIR(st.st_mode) ? cli_trace_set_read_dir(source, &set, err, sizeof err)
                                : cli_trace_set_read_file(source, &set, err, sizeof err);
    if (r == 0 && set.count == 0 && set.unreadable == 0) {
        snprintf(err, sizeof err, "%s holds no ring files", source);
        r = -1;
    }
    char command[PATH_MAX + 32];
    snprintf(command, sizeof command, "giltrace recover %s", source);
    if (r == 0)
        r = cli_trace_set_write(&set, tmp, command, err, sizeof err);
    if (r == 0)
        r = output_file_commit(tmp, output, force, final, sizeof final, err, sizeof err);
    if (r != 0) {
        cli_warn("%s", err);
        unlink(tmp);
        if (set.procs)
            cli_trace_set_free(&set);
        return 1;
    }
    uint64_t bytes = stat(final, &st) == 0 ? (uint64_t)st.st_size : 0;
    run_summary_warnings(&set);
    if (!quiet)
        run_summary_print(stderr, &set, final, bytes);
    /* a partial recovery is written, and the exit status says it was partial */
    int status = set.unreadable ? 1 : 0;
    for (size_t i = 0; i < set.count; i++)
        if (set.procs[i].chunks_missing)
            status = 1;
    cli_trace_set_free(&set);
    return status;
}
