/*
 * fmt_output.h — creating an output file safely in a directory others may
 * write to (/tmp, /var/tmp): the data goes into a new file of our own,
 * made exclusively beside the final name (mode 0600, never through a
 * symlink), which is then put in place without replacing or following
 * anything that appeared there meanwhile.
 */
#ifndef GILTRACE_FMT_OUTPUT_H
#define GILTRACE_FMT_OUTPUT_H

#include <stddef.h>

/* Create the empty file "<path>.tmp-XXXXXX" (O_CREAT|O_EXCL, mode 0600)
 * and put its name in `tmp`. Returns 0, or -1 with errno set
 * (ENAMETOOLONG when the name does not fit in `cap`). */
int fmt_output_claim_tmp(const char *path, char *tmp, size_t cap);

/* Give the file `tmp` the name `path` if nothing has that name: never
 * replaces a file, never follows a symlink. Returns 0 (`tmp` is gone), or
 * -1 with errno (EEXIST: `path` exists; `tmp` is left as it was). */
int fmt_output_link_new(const char *tmp, const char *path);

#endif
