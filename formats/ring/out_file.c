/*
 * out_file.c — claiming and committing output files. See out_file.h.
 */
#include "out_file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fmt_error.h"

/* What may be replaced with --force: a regular file, or a symlink itself. */
static bool replaceable(const struct stat *st)
{
    return S_ISREG(st->st_mode) || S_ISLNK(st->st_mode);
}

/* Split `path` into its directory (into dir) and the offset of its last component. */
static size_t dir_of(const char *path, char *dir, size_t cap)
{
    const char *slash = strrchr(path, '/');
    if (!slash) {
        snprintf(dir, cap, ".");
        return 0;
    }
    size_t len = (size_t)(slash - path);
    snprintf(dir, cap, "%.*s", len ? (int)len : 1, len ? path : "/");
    return len + 1;
}

/* Remove "<name>.tmp-<pid>-XXXXXX" beside `path` whose pid is gone and
 * which we own: what a killed giltrace left behind. */
static void remove_stale(const char *path)
{
    char dir[PATH_MAX];
    size_t base = dir_of(path, dir, sizeof dir);
    const char *name = path + base;
    size_t nlen = strlen(name);
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *s = e->d_name;
        if (strncmp(s, name, nlen) != 0 || strncmp(s + nlen, ".tmp-", 5) != 0)
            continue;
        char *end;
        long pid = strtol(s + nlen + 5, &end, 10);
        if (pid <= 0 || *end != '-' || strlen(end + 1) != 6)
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue; /* alive (or not ours to ask about) */
        struct stat st;
        if (fstatat(dirfd(d), s, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid())
            unlinkat(dirfd(d), s, 0);
    }
    closedir(d);
}

int out_file_claim(const char *path, bool force, char *tmp, size_t cap, char *err, size_t n)
{
    struct stat st;
    if (lstat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return fmt_error(err, n, "%s is a directory; give a file name", path);
        if (!replaceable(&st))
            return fmt_error(err, n, "%s is not a regular file (a device, FIFO or socket); not replacing it", path);
        if (!force)
            return fmt_error(err, n, "%s already exists; pass --force to replace it or choose another file", path);
    } else if (errno != ENOENT) {
        return fmt_error(err, n, "cannot write %s: %s", path, strerror(errno));
    }
    remove_stale(path);
    int fd = out_file_make_tmp(path, tmp, cap);
    if (fd < 0 && errno == ENAMETOOLONG)
        return fmt_error(err, n, "output path is too long: %s", path);
    if (fd < 0)
        return fmt_error(err, n, "cannot write %s: %s", path, strerror(errno));
    return fd;
}

int out_file_make_tmp(const char *path, char *tmp, size_t cap)
{
    if ((size_t)snprintf(tmp, cap, "%s.tmp-%ld-XXXXXX", path, (long)getpid()) >= cap) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return mkostemp(tmp, O_CLOEXEC); /* 0600, O_EXCL: never an existing file */
}

int out_file_rename_new(const char *from, const char *to)
{
    if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return -1;
    if (link(from, to) != 0)
        return -1;
    unlink(from);
    return 0;
}

int out_file_commit(const char *tmp, const char *path, bool force, char *kept, size_t kept_cap, char *err,
                    size_t n)
{
    if (force) {
        struct stat st;
        if (lstat(path, &st) == 0 && !replaceable(&st))
            return fmt_error(err, n, "%s became something other than a regular file; not replacing it", path);
        if (rename(tmp, path) == 0)
            return 0;
        return fmt_error(err, n, "cannot move %s into place: %s", path, strerror(errno));
    }
    if (out_file_rename_new(tmp, path) == 0)
        return 0;
    if (errno != EEXIST)
        return fmt_error(err, n, "cannot move %s into place: %s", path, strerror(errno));
    for (int i = 1; i < 1000; i++) {
        if ((size_t)snprintf(kept, kept_cap, "%s.%d", path, i) >= kept_cap)
            break;
        if (out_file_rename_new(tmp, kept) == 0)
            return 1;
        if (errno != EEXIST)
            break;
    }
    return fmt_error(err, n, "%s appeared while it was being written, and so did %s.1 to .999; not replacing them",
                     path, path);
}
