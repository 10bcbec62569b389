/*
 * cmd_snapshot.c — `giltrace snapshot PID -o snap.db`: what a running traced
 * process has recorded so far, as a trace database, without stopping or
 * pausing it. Its ring is read as it is being written (see formats/ring/ring.h:
 * every record is committed on its own, and a chunk overwritten during the
 * read is left out), so the snapshot is consistent.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "output_file.h"
#include "proc_ring.h"
#include "run_summary.h"
#include "cli_trace_set.h"

static const char usage[] =
    "usage: giltrace snapshot PID [-o snap.db] [-f]\n"
    "\n"
    "Write what the traced process PID has recorded so far into a trace\n"
    "database, while it keeps running (it is neither stopped nor paused). PID\n"
    "must run under giltrace run or in env-only mode. In a flight-recorder\n"
    "ring (--ring-mode overwrite) that is its last events.\n"
    "\n"
    "options:\n"
    "  -o, --output FILE   trace database to write (default: snapshot-PID.db)\n"
    "  -f, --force         replace FILE if it exists (a regular file or a symlink)\n"
    "  -q, --quiet         print no summary\n"
    "  -h, --help          show this help\n";

int cmd_snapshot(int argc, char **argv)
{
    struct output_options o = {.output = NULL};
    int r0 = output_options_parse(argc, argv, "snapshot", usage, &o);
    if (r0 >= 0)
        return r0;
    const char *output = o.output;
    bool force = o.force, quiet = o.quiet;
    uint64_t pid;
    if (optind != argc - 1 || !cli_parse_u64(argv[optind], 1, INT_MAX, &pid))
        return cli_usage_error("snapshot", "give the pid of one traced process");
    char default_output[64];
    snprintf(default_output, sizeof default_output, "snapshot-%llu.db", (unsigned long long)pid);
    if (!output)
        output = default_output;

    char ring[PATH_MAX], err[1024];
    if (proc_ring_path((pid_t)pid, ring, sizeof ring, err, sizeof err)) {
        cli_warn("%s", err);
        return 1;
    }
    char tmp[PATH_MAX], final[PATH_MAX];
    if (output_file_begin(output, force, tmp, sizeof tmp))
        return 2;
    struct cli_trace_set set;
    char command[PATH_MAX + 32];
    snprintf(command, sizeof command, "giltrace snapshot %llu", (unsigned long long)pid);
    if (cli_trace_set_read_file(ring, &set, err, sizeof err) || cli_trace_set_write(&set, tmp, command, err, sizeof err) ||
        output_file_commit(tmp, output, force, final, sizeof final, err, sizeof err)) {
        cli_warn("%s", err);
        unlink(tmp);
        return 1;
    }
    struct stat st;
    uint64_t bytes = stat(final, &st) == 0 ? (uint64_t)st.st_size : 0;
    if (!quiet)
        run_summary_print(stderr, &set, final, bytes);
    cli_trace_set_free(&set);
    return 0;
}
