/*
 * fmt_output.c — creating an output file safely. See fmt_output.h.
 */
#include "fmt_output.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif

int fmt_output_claim_tmp(const char *path, char *tmp, size_t cap)
{
    int n = snprintf(tmp, cap, "%s.tmp-XXXXXX", path);
    if (n < 0 || (size_t)n >= cap) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = mkostemp(tmp, O_CLOEXEC); /* O_CREAT|O_EXCL, 0600 */
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

int fmt_output_link_new(const char *tmp, const char *path)
{
#ifdef SYS_renameat2
    if (syscall(SYS_renameat2, AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return -1;
#endif
    /* A file system without RENAME_NOREPLACE: link() never replaces either. */
    if (link(tmp, path) != 0)
        return -1;
    unlink(tmp);
    return 0;
}
