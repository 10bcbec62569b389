/*
 * shim_share.c — a copy of the shim that other users can load. See shim_share.h.
 */
#include "shim_share.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim_locate.h"

bool shim_share_reachable(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0 || !(st.st_mode & S_IROTH))
        return false;
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s", path);
    for (char *slash = strrchr(p, '/'); slash && slash != p; slash = strrchr(p, '/')) {
        *slash = '\0';
        if (stat(p, &st) != 0 || !(st.st_mode & S_IXOTH))
            return false;
    }
    return true;
}

/* Copy `from` to the new file `to` (mode 0755). Returns 0 or -1. */
static int copy_file(const char *from, const char *to)
{
    int in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return -1;
    int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0755);
    if (out < 0) {
        close(in);
        return -1;
    }
    char buf[65536];
    ssize_t n;
    int r = 0;
    while ((n = read(in, buf, sizeof buf)) > 0 && r == 0)
        for (ssize_t off = 0; off < n && r == 0;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0 && errno != EINTR)
                r = -1;
            off += w > 0 ? w : 0;
        }
    if (n < 0 || fchmod(out, 0755) != 0) /* whatever the umask */
        r = -1;
    if (close(out) != 0)
        r = -1;
    close(in);
    return r;
}

int shim_share(const char *shim, const char *base, char *out, size_t out_cap, char *dir, size_t dir_cap)
{
    snprintf(out, out_cap, "%s", shim);
    dir[0] = '\0';
    if (shim_share_reachable(shim))
        return 0;
    const char *bases[] = {base, getenv("TMPDIR"), "/tmp"};
    if (!base)
        bases[0] = "/dev/shm";
    for (size_t i = 0; i < sizeof bases / sizeof *bases; i++) {
        if (!bases[i] || !*bases[i])
            continue;
        char d[PATH_MAX], copy[PATH_MAX + 32];
        if ((size_t)snprintf(d, sizeof d, "%s/giltrace-shim-XXXXXX", bases[i]) >= sizeof d || !mkdtemp(d))
            continue;
        snprintf(copy, sizeof copy, "%s/" SHIM_PRELOAD_NAME, d);
        if (chmod(d, 0755) == 0 && copy_file(shim, copy) == 0 && shim_share_reachable(copy) &&
            (size_t)snprintf(dir, dir_cap, "%s", d) < dir_cap) {
            snprintf(out, out_cap, "%s", copy);
            return 1;
        }
        unlink(copy);
        rmdir(d);
        dir[0] = '\0';
        if (base)
            break; /* --ring-dir given: nowhere else */
    }
    return 0;
}

void shim_share_remove(const char *dir)
{
    if (!dir[0])
        return;
    char copy[PATH_MAX + 32];
    snprintf(copy, sizeof copy, "%s/" SHIM_PRELOAD_NAME, dir);
    unlink(copy);
    rmdir(dir);
}
