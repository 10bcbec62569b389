/*
 * proc_ring.c — finding a running process's ring file. See proc_ring.h.
 */
#include "proc_ring.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ring.h"

/* Does `path` start like a ring of process `pid`? */
static int is_ring_of(const char *path, pid_t pid)
{
    struct ring_header h;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return 0;
    ssize_t got = pread(fd, &h, sizeof h, 0);
    close(fd);
    return got == (ssize_t)sizeof h && memcmp(h.magic, RING_MAGIC, sizeof h.magic) == 0 && h.pid == pid;
}

int proc_ring_path(pid_t pid, char *out, size_t cap, char *err, size_t n)
{
    char maps[64];
    snprintf(maps, sizeof maps, "/proc/%d/maps", (int)pid);
    FILE *f = fopen(maps, "re");
    if (!f) {
        if (errno == ENOENT)
            snprintf(err, n, "there is no process %d", (int)pid);
        else
            snprintf(err, n, "cannot read %s: %s (it must be your process, or run as root)", maps, strerror(errno));
        return -1;
    }
    char line[4608];
    int found = 0;
    while (!found && fgets(line, sizeof line, f)) {
        char *path = strchr(line, '/');
        if (!path)
            continue;
        path[strcspn(path, "\n")] = '\0';
        size_t len = strlen(path);
        if (len > 5 && strcmp(path + len - 5, ".ring") == 0 && is_ring_of(path, pid) && len < cap) {
            memcpy(out, path, len + 1);
            found = 1;
        }
    }
    fclose(f);
    if (!found)
        snprintf(err, n, "process %d is not being traced by giltrace (no ring file is mapped in it)", (int)pid);
    return found ? 0 : -1;
}
