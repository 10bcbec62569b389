/*
 * output_file.c — claiming, then committing, an output path. See output_file.h.
 */
#include "output_file.h"

#include <errno.h>
#include <fcntl.h>
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
