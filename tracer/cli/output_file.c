/*
 * output_file.c — claiming, then committing, an output path. See output_file.h.
 */
#include "output_file.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

int output_file_begin(const char *output, bool force, char *tmp, size_t cap)
{
    struct stat st;
    bool exists = lstat(output, &st) == 0;
    if (exists && S_ISDIR(st.st_mode)) {
        cli_warn("%s is a directory; give -o a file name", output);
        return -1;
    }
    if (exists && !force) {
        cli_warn("%s already exists; pass --force to replace it or -o to choose another file", output);
        return -1;
    }
    if ((size_t)snprintf(tmp, cap, "%s.tmp-XXXXXX", output) >= cap) {
        cli_warn("output path is too long: %s", output);
        return -1;
    }
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        cli_warn("cannot write the trace to %s: %s", output, strerror(errno));
        return -1;
    }
    close(fd);
    return 0;
}

int output_file_commit(const char *tmp, const char *output, char *err, size_t n)
{
    if (rename(tmp, output) == 0)
        return 0;
    snprintf(err, n, "cannot move the trace into place (%s -> %s): %s", tmp, output, strerror(errno));
    return -1;
}

int output_option(const char *cmd, const char *usage, int c, char **argv, struct output_options *o)
{
    switch (c) {
    case 'o':
        o->output = optarg;
        return -1;
    case 'f':
        o->force = true;
        return -1;
    case 'q':
        o->quiet = true;
        return -1;
    case 'F':
        if (!o->format)
            return cli_usage_error(cmd, "unknown option %s", argv[optind - 1]);
        o->format = optarg;
        return -1;
    case 'h':
        fputs(usage, stdout);
        return 0;
    case ':':
        return cli_usage_error(cmd, "%s needs a value", argv[optind - 1]);
    default:
        return cli_usage_error(cmd, "unknown option %s", argv[optind - 1]);
    }
}

int output_options_parse(int argc, char **argv, const char *cmd, const char *usage, struct output_options *o)
{
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'}, {"force", no_argument, NULL, 'f'},
        {"quiet", no_argument, NULL, 'q'},        {"help", no_argument, NULL, 'h'},
        {"format", required_argument, NULL, 'F'}, {NULL, 0, NULL, 0},
    };
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "o:fqh", longopts, NULL)) != -1) {
        int r = output_option(cmd, usage, c, argv, o);
        if (r >= 0)
            return r;
    }
    return -1;
}
