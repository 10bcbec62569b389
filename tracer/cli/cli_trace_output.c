/*
 * cli_trace_output.c — the options, ring directory and final database that
 * giltrace run and giltrace attach share. See cli_trace_output.h.
 */
#include "cli_trace_output.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ring.h"
#include "cli.h"
#include "output_file.h"
#include "run_summary.h"
#include "cli_trace_set.h"

void cli_trace_output_defaults(struct cli_trace_output_options *o)
{
    *o = (struct cli_trace_output_options){.file.output = "trace.db", .buffer_mb = RING_DEFAULT_MB};
}

int cli_trace_output_option(const char *cmd, const char *usage, int c, char **argv, struct cli_trace_output_options *o)
{
    uint64_t v;
    switch (c) {
    case TRACE_OPT_BUFFER_MB:
        if (!cli_parse_u64(optarg, RING_MIN_MB, RING_MAX_MB, &v))
            return cli_usage_error(cmd, "--buffer-mb wants a size in MiB from %u to %u, not \"%s\"", RING_MIN_MB,
                                   RING_MAX_MB, optarg);
        o->buffer_mb = (uint32_t)v;
        return -1;
    case TRACE_OPT_RING_DIR:
        o->ring_base = optarg;
        return -1;
    default:
        return output_option(cmd, usage, c, argv, &o->file);
    }
}

static const char *default_ring_base(void)
{
    const char *tmp = getenv("TMPDIR");
    if (access("/dev/shm", W_OK | X_OK) == 0)
        return "/dev/shm";
    if (tmp && tmp[0] == '/' && access(tmp, W_OK | X_OK) == 0)
        return tmp;
    return "/tmp";
}

int cli_trace_output_ring_dir(const char *base, const char *kind, char *dir, size_t cap)
{
    if (!base)
        base = default_ring_base();
    snprintf(dir, cap, "%s/giltrace-%s-XXXXXX", base, kind);
    if (!mkdtemp(dir)) {
        cli_warn("cannot make a ring directory in %s: %s (choose another with --ring-dir)", base, strerror(errno));
        return -1;
    }
    return 0;
}

void cli_trace_output_remove_ring_dir(const char *dir)
{
    char path[PATH_MAX];
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d)))
            if (de->d_name[0] != '.') {
                snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
                unlink(path);
            }
        closedir(d);
    }
    rmdir(dir);
}

int cli_trace_output_finish(const char *ring_dir, const char *tmp, const char *output, bool force, const char *command,
                        const char *experiment, bool quiet)
{
    char final[PATH_MAX];
    struct cli_trace_set set;
    char err[1024];
    int bad = cli_trace_set_read_dir(ring_dir, &set, err, sizeof err);
    if (!bad) {
        set.experiment = experiment;
        bad = cli_trace_set_write(&set, tmp, command, err, sizeof err);
    }
    if (bad) {
        cli_warn("%s; the rings are kept in %s", err, ring_dir);
        unlink(tmp);
        return -1;
    }
    if (output_file_commit(tmp, output, force, final, sizeof final, err, sizeof err)) {
        cli_warn("%s; the rings are kept in %s", err, ring_dir);
        cli_trace_set_free(&set);
        return -1;
    }
    if (set.unreadable == 0)
        cli_trace_output_remove_ring_dir(ring_dir);
    else
        cli_warn("unreadable rings are kept in %s", ring_dir);

    struct stat st;
    uint64_t bytes = stat(final, &st) == 0 ? (uint64_t)st.st_size : 0;
    run_summary_warnings(&set);
    if (!quiet)
        run_summary_print(stderr, &set, final, bytes);
    cli_trace_set_free(&set);
    return 0;
}
