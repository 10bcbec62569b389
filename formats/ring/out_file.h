/*
 * out_file.h — the rules every output file of giltrace and gilview follows
 * (traces, exports, pictures): never write through a symlink, never replace
 * anything but a regular file (or a symlink itself) and that only when
 * asked, never leave half a file under the real name, never replace a file
 * that appeared while we wrote, and create it private (0600).
 *
 * Claim the path first (an empty temporary file beside it), write there,
 * then commit: the temporary file is renamed into place.
 */
#ifndef GILTRACE_OUT_FILE_H
#define GILTRACE_OUT_FILE_H

#include <stdbool.h>
#include <stddef.h>

/* Check that `path` may be written: refuse a directory, a device, a FIFO or
 * a socket, and an existing file or symlink unless `force`. Then remove
 * stale temporary files of this naming beside it (left by a giltrace that
 * was killed: their pid is gone and they are ours), and create an empty
 * temporary file "<path>.tmp-<pid>-XXXXXX", mode 0600, beside `path`; its
 * name goes into `tmp`. Returns a descriptor open for writing on it, or -1
 * with a one-line reason in `err`. */
int out_file_claim(const char *path, bool force, char *tmp, size_t tmp_cap, char *err, size_t err_len);

/* Move the finished `tmp` to `path`. With `force`, replace what is there if
 * it is a regular file or a symlink (the link, never its target). Without,
 * never replace anything: if `path` appeared since the claim, the file is
 * moved to the first free "<path>.N" (N = 1, 2, ...), named in `kept`, and
 * 1 is returned. Returns 0 when in place, 1 when kept beside, or -1 with a
 * reason in `err` (tmp is then left as it is). */
int out_file_commit(const char *tmp, const char *path, bool force, char *kept, size_t kept_cap, char *err,
                    size_t err_len);

/* The two steps beneath, for a writer with rules of its own (the env-only
 * dump, which appends to an existing trace of the same user):
 * create the empty file "<path>.tmp-<pid>-XXXXXX" (O_EXCL, mode 0600)
 * beside `path`, its name in `tmp`; returns a descriptor open on it, or -1
 * with errno (ENAMETOOLONG when the name does not fit in `cap`). */
int out_file_make_tmp(const char *path, char *tmp, size_t cap);

/* Give the file `from` the name `to` only if nothing has that name: never
 * replaces a file, never follows a symlink (renameat2 RENAME_NOREPLACE, or
 * link() then unlink() where the file system lacks it). Returns 0, or -1
 * with errno (EEXIST: `to` exists; `from` is left as it was). */
int out_file_rename_new(const char *from, const char *to);

#endif
