/*
 * output_file.c — claiming, then committing, an output path. See output_file.h.
 */
#include "output_file.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "out_file.h"

int output_file_begin(const char *output, bool force, char *tmp, size_t cap)
{
    if (strcmp(output, "-") == 0) {
        cli_warn("this command cannot write to standard output (-o -): give -o a file name");
        return -1;
    }
    char err[PATH_MAX + 128];
    int fd = out_file_claim(output, force, tmp, cap, err, sizeof err);
    if (fd < 0) {
        cli_warn("%s", err);
        return -1;
    }
    close(fd);
    return 0;
}

int output_file_commit(const char *tmp, const char *output, bool force, char *final, size_t final_cap, char *err,
                       size_t n)
{
    char kept[PATH_MAX];
    int r = out_file_commit(tmp, output, force, kept, sizeof kept, err, n);
    if (r < 0)
        return -1;
    if (r == 1)
        cli_warn("%s appeared while this one was being written (another giltrace?); not replacing it: this one is "
                 "%s", output, kept);
    snprintf(final, final_cap, "%s", r == 1 ? kept : output);
    return 0;
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
