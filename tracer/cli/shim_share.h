/*
 * shim_share.h — making the preloaded shim loadable by a process of the run
 * that becomes another user (subprocess.run(..., user=...), setpriv, su):
 * the dynamic loader must open the shim as that user, and otherwise prints
 * "ERROR: ld.so: object ... cannot be preloaded" into the program's stderr.
 * A build under a private home (mode 0700, Debian's default) is such a
 * case. Such a process then runs untraced without a word (it cannot write
 * the private rings), as the shim intends.
 */
#ifndef GILTRACE_SHIM_SHARE_H
#define GILTRACE_SHIM_SHARE_H

#include <stdbool.h>
#include <stddef.h>

/* Can any user read `path` (o+x on every folder above it, o+r on it)? */
bool shim_share_reachable(const char *path);

/* If `shim` is not reachable by other users, copy it into a new folder of
 * mode 0755 made in `base` (NULL: /dev/shm, else $TMPDIR, else /tmp, as for
 * ring folders), owned by us and writable by no one else, and put the
 * copy's path in `out` and the folder in `dir`. Returns 1 when copied, 0
 * when the shim is fine where it is (out = shim, dir = ""), or 0 as well
 * when no reachable copy could be made (the run goes on: only processes
 * that change user are affected). shim_share_remove(dir) undoes it. */
int shim_share(const char *shim, const char *base, char *out, size_t out_cap, char *dir, size_t dir_cap);

/* Remove the copy and its folder made by shim_share (nothing if dir is ""). */
void shim_share_remove(const char *dir);

#endif
